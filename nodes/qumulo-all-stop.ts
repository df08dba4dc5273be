// qumulo-all-stop: the emergency brake. Any message (e.g. a canary file was modified) activates
// the all-stop for its cluster (host:port): every qumulo action node on that cluster then refuses
// to act (outcome `skipped`, detail "all-stop active since …", status red "ALL-STOP") until an
// operator resets it — with the Reset button in this node's dialog or a message whose
// `msg.topic` is "reset". The state is a JSON file in Node-RED's user directory, so it survives
// deploys and restarts. Optionally a Qumulo snapshot of a configured path is taken on activation.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { Request, Response } from 'express';
import type { QumuloEvent } from '../core/event';
import { displaySafe } from '../core/display';
import { safeAbsoluteDir } from '../core/actions';
import { type AllStopState, type AllStopStore } from '../core/allstop/allstop';
import { formatRetention, parseRetentionSpec, resolveRetention, type RetentionSpec } from '../core/time/duration';
import { adminGuard } from './lib/admin-guard';
import { allStopFor, attachResult, shortTime, type ResultMessage } from './lib/action-node';
import { getCluster, type QumuloClusterNode } from './lib/cluster';
import { status, type StatusDot } from './lib/status';

interface AllStopConfig extends NodeDef {
  cluster?: string;
  snapshotPath?: string;
  snapshotExpiration?: string;
}

/** What the admin endpoints need from a deployed all-stop node. */
interface AllStopNode extends Node {
  allStop?: { store: AllStopStore; key: string; reset(by: string): AllStopState };
}

export type AllStopMessage = ResultMessage & { allStop?: AllStopState & { clusterKey: string; changed: boolean; action: 'trigger' | 'reset' } };

function describeState(state: AllStopState): StatusDot {
  if (state.active) return status.error(`ALL-STOP since ${shortTime(state.since)}${state.triggerCount > 1 ? ` (${state.triggerCount} triggers)` : ''}`);
  return status.ok('armed');
}

export = function register(RED: NodeAPI): void {
  function QumuloAllStopNode(this: AllStopNode, config: AllStopConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const cluster = getCluster(RED, node, config.cluster);
    let snapshotPath: string | null = null;
    let expiration: RetentionSpec | null = null;
    let configError: string | null = cluster ? null : 'no usable qumulo-cluster configured';
    try {
      const pathText = String(config.snapshotPath ?? '').trim();
      snapshotPath = pathText ? safeAbsoluteDir(pathText, 'snapshot path') : null;
      const expirationText = String(config.snapshotExpiration ?? '').trim();
      expiration = expirationText ? parseRetentionSpec(expirationText) : null;
    } catch (err) {
      configError = (err as Error).message;
    }
    if (!cluster || configError) {
      const message = configError ?? 'not configured';
      node.status(status.error(message));
      if (cluster) node.error(`qumulo-all-stop: ${message}`);
      node.on('input', (_msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => done(new Error(`qumulo-all-stop is not configured: ${message}`)));
      return;
    }
    const { store, key } = allStopFor(RED, cluster as QumuloClusterNode);
    let closed = false;
    const unsubscribe = store.onChange(() => {
      if (!closed) node.status(describeState(store.get(key)));
    });
    node.status(describeState(store.get(key)));
    cluster.register(node);

    const alert = (msg: AllStopMessage, state: AllStopState, changed: boolean, action: 'trigger' | 'reset'): AllStopMessage => {
      msg.allStop = { ...state, clusterKey: key, changed, action };
      return msg;
    };

    const reset = (by: string): AllStopState => {
      const { state, changed } = store.reset(key, by);
      if (changed) node.warn(`ALL-STOP on ${key} reset by ${by}: actions resume`);
      return state;
    };
    node.allStop = {
      store,
      key,
      reset: (by: string) => {
        const state = reset(by);
        // The dialog's Reset button also produces an alert message for the flow.
        const msg = alert({ topic: 'reset', payload: undefined } as unknown as AllStopMessage, state, true, 'reset');
        attachResult(msg, { action: 'all-stop', path: '', outcome: 'done', detail: `all-stop reset by ${by}`, durationMs: 0 });
        node.send(msg);
        return state;
      },
    };

    async function takeSnapshot(): Promise<AllStopState['snapshot']> {
      const client = (cluster as QumuloClusterNode).client!;
      const attrs = await client.getAttributes(snapshotPath!);
      const snapshot = await client.createSnapshot(
        {
          sourceFileId: String(attrs.id),
          nameSuffix: 'qumulo-flow-all-stop',
          expiration: expiration ? formatRetention(resolveRetention(expiration, new Date())) : null,
        },
        { origin: `qumulo-all-stop:${node.id}` },
      );
      return { id: snapshot.id, name: snapshot.name, path: snapshotPath! };
    }

    node.on('input', (rawMsg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      const msg = rawMsg as AllStopMessage;
      const started = Date.now();
      if (String(msg.topic ?? '').toLowerCase() === 'reset') {
        const before = store.get(key).active;
        const state = reset(`message to ${node.name || node.id}`);
        attachResult(msg, { action: 'all-stop', path: '', outcome: before ? 'done' : 'skipped', detail: before ? 'all-stop reset' : 'all-stop was not active', durationMs: 0 });
        send(alert(msg, state, before, 'reset'));
        done();
        return;
      }
      const event = msg.payload && typeof msg.payload === 'object' ? (msg.payload as Partial<QumuloEvent>) : null;
      const where = event?.path ? `${event.type ?? 'event'} on ${event.path}` : `message${msg.topic ? ` "${String(msg.topic)}"` : ''}`;
      const { state, changed } = store.activate(key, `triggered by ${where}`, {
        nodeId: node.id,
        nodeName: node.name || undefined,
        path: event?.path,
        type: event?.type,
        topic: msg.topic === undefined ? undefined : String(msg.topic),
      });
      const path = typeof event?.path === 'string' ? event.path : '';
      if (!changed) {
        attachResult(msg, { action: 'all-stop', path, outcome: 'skipped', detail: `all-stop already active since ${state.since}`, durationMs: Date.now() - started });
        send(alert(msg, state, false, 'trigger'));
        done();
        return;
      }
      // The reason names the triggering file: shown escaped (control/bidi characters).
      node.warn(displaySafe(`ALL-STOP activated on ${key}: ${state.reason}. Every action node on this cluster refuses to act until reset.`));
      if (!snapshotPath) {
        attachResult(msg, { action: 'all-stop', path, outcome: 'done', detail: `all-stop activated on ${key}`, durationMs: Date.now() - started });
        send(alert(msg, state, true, 'trigger'));
        done();
        return;
      }
      takeSnapshot()
        .then((snapshot) => {
          store.setSnapshot(key, snapshot);
          attachResult(msg, { action: 'all-stop', path, outcome: 'done', detail: `all-stop activated on ${key}; snapshot ${snapshot!.name} of ${snapshotPath}`, durationMs: Date.now() - started });
          send(alert(msg, store.get(key), true, 'trigger'));
          done();
        })
        .catch((err: unknown) => {
          // The stop stays active: only the snapshot failed.
          const error = new Error(`all-stop activated on ${key}, but the snapshot of ${snapshotPath} failed: ${(err as Error).message}`);
          attachResult(msg, {
            action: 'all-stop',
            path,
            outcome: 'failed',
            detail: error.message,
            durationMs: Date.now() - started,
            error: { message: (err as Error).message },
          });
          send(alert(msg, store.get(key), true, 'trigger'));
          done(error);
        });
    });

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      unsubscribe();
      delete node.allStop;
      cluster.deregister(node);
      if (removed) node.status({});
      done();
    });
  }

  RED.nodes.registerType('qumulo-all-stop', QumuloAllStopNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);

  const findDeployed = (id: string): AllStopNode['allStop'] | null => {
    const target = RED.nodes.getNode(id) as AllStopNode | null;
    return target && target.type === 'qumulo-all-stop' && target.allStop ? target.allStop : null;
  };

  const deployedNode = (req: Request, res: Response): AllStopNode['allStop'] | null => {
    const allStop = findDeployed(String(req.params.id));
    if (!allStop) {
      res.status(404).json({ error: 'This all-stop node is not deployed (or not configured): deploy it first.' });
      return null;
    }
    return allStop;
  };

  // State for the dialog. The dialog asks with ?probe: there a node that is not deployed yet is a
  // normal answer (200, deployed: false), not an HTTP error the browser would log in its console.
  RED.httpAdmin.get('/qumulo-flow/all-stop/:id', adminGuard, RED.auth.needsPermission('qumulo-all-stop.read'), (req: Request, res: Response) => {
    if (req.query.probe !== undefined && !findDeployed(String(req.params.id))) {
      res.json({ deployed: false });
      return;
    }
    const allStop = deployedNode(req, res);
    if (allStop) res.json({ deployed: true, clusterKey: allStop.key, state: allStop.store.get(allStop.key) });
  });

  // The dialog's Reset button: same permission as editing the node.
  RED.httpAdmin.post('/qumulo-flow/all-stop/:id/reset', adminGuard, RED.auth.needsPermission('qumulo-all-stop.write'), (req: Request, res: Response) => {
    const allStop = deployedNode(req, res);
    if (!allStop) return;
    const user = (req as Request & { user?: { username?: string } }).user?.username;
    const state = allStop.reset(`editor${user ? ` (${user})` : ''}`);
    res.json({ clusterKey: allStop.key, state });
  });
};
