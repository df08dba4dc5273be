// qumulo-all-stop: the emergency brake. Any message (e.g. a canary file was modified) activates
// the all-stop for its cluster (host:port): every qumulo action node on that cluster then refuses
// to act (outcome `skipped`, detail "all-stop active since …", status red "ALL-STOP") until an
// operator resets it — with the Reset button in this node's dialog or a message whose
// `msg.topic` is "reset". The state is a JSON file in Node-RED's user directory, so it survives
// deploys and restarts. Optionally a Qumulo snapshot of a configured path is taken on activation.
// What a message does is in core/allstop/switch.ts; this file wires it to Node-RED.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { Request, Response } from 'express';
import type { AllStopState } from '../core/allstop/allstop';
import { allStopSettings, AllStopSwitch, isResetTopic, type AllStopOutcome, type AllStopSettings } from '../core/allstop/switch';
import { adminGuard } from './lib/admin-guard';
import { allStopFor, attachResult, shortTime, type ResultMessage } from './lib/action-node';
import { getCluster } from './lib/cluster';
import { refuseSettings, registerNodeType } from './lib/runtime';
import { status, type StatusDot } from './lib/status';

/** What the admin endpoints use of a deployed all-stop node. */
type AllStopNode = Node & { allStop?: { switch: AllStopSwitch; resetByButton(by: string): AllStopState } };
export type AllStopMessage = ResultMessage & { allStop?: AllStopState & { clusterKey: string; changed: boolean; action: 'trigger' | 'reset' } };

function describeState(state: AllStopState): StatusDot {
  if (state.active) return status.error(`ALL-STOP since ${shortTime(state.since)}${state.triggerCount > 1 ? ` (${state.triggerCount} triggers)` : ''}`);
  return status.ok('armed');
}

export = function register(RED: NodeAPI): void {
  function QumuloAllStopNode(this: AllStopNode, config: NodeDef & { cluster?: string; snapshotPath?: string; snapshotExpiration?: string }): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const cluster = getCluster(RED, node, config.cluster);
    let settings: AllStopSettings | null = null;
    let configError: string | null = cluster ? null : 'no usable qumulo-cluster configured';
    try {
      settings = allStopSettings(config);
    } catch (err) {
      configError = (err as Error).message;
    }
    if (!cluster || !settings || configError) {
      const message = configError ?? 'not configured';
      // Without a cluster, getCluster has logged why already.
      return refuseSettings(node, message, cluster ? `qumulo-all-stop: ${message}` : null, new Error(`qumulo-all-stop is not configured: ${message}`));
    }
    const { store, key } = allStopFor(RED, cluster);
    const allStop = new AllStopSwitch(store, key, settings, cluster.client!, (text) => node.warn(text));
    let closed = false;
    const unsubscribe = store.onChange(() => {
      if (!closed) node.status(describeState(allStop.state));
    });
    node.status(describeState(allStop.state));
    cluster.register(node);

    /** The one place a message leaves: with the result and `msg.allStop`; done(err) when the snapshot failed. */
    const reply = (msg: AllStopMessage, send: (msg: NodeMessage) => void, outcome: AllStopOutcome, done?: (err?: Error) => void) => {
      attachResult(msg, outcome.result);
      msg.allStop = { ...outcome.state, clusterKey: key, changed: outcome.changed, action: outcome.action };
      send(msg);
      if (outcome.error) done?.(outcome.error);
      else done?.();
    };
    // The dialog's Reset button also produces an alert message for the flow.
    node.allStop = {
      switch: allStop,
      resetByButton: (by: string) => {
        const outcome = allStop.reset(by, true);
        reply({ topic: 'reset', payload: undefined } as unknown as AllStopMessage, (msg) => node.send(msg), outcome);
        return outcome.state;
      },
    };

    node.on('input', (rawMsg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      const msg = rawMsg as AllStopMessage;
      if (isResetTopic(msg.topic)) reply(msg, send, allStop.reset(`message to ${node.name || node.id}`), done);
      else allStop.trigger({ nodeId: node.id, nodeName: node.name || undefined, topic: msg.topic, payload: msg.payload }, (outcome) => reply(msg, send, outcome, done));
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

  registerNodeType(RED, 'qumulo-all-stop', QumuloAllStopNode);

  const findDeployed = (id: string): AllStopNode['allStop'] | null => {
    const target = RED.nodes.getNode(id) as AllStopNode | null;
    return target && target.type === 'qumulo-all-stop' && target.allStop ? target.allStop : null;
  };
  const deployedNode = (req: Request, res: Response): AllStopNode['allStop'] | null => {
    const allStop = findDeployed(String(req.params.id));
    if (!allStop) res.status(404).json({ error: 'This all-stop node is not deployed (or not configured): deploy it first.' });
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
    if (allStop) res.json({ deployed: true, clusterKey: allStop.switch.key, state: allStop.switch.state });
  });

  // The dialog's Reset button: same permission as editing the node.
  RED.httpAdmin.post('/qumulo-flow/all-stop/:id/reset', adminGuard, RED.auth.needsPermission('qumulo-all-stop.write'), (req: Request, res: Response) => {
    const allStop = deployedNode(req, res);
    if (!allStop) return;
    const user = (req as Request & { user?: { username?: string } }).user?.username;
    const state = allStop.resetByButton(`editor${user ? ` (${user})` : ''}`);
    res.json({ clusterKey: allStop.switch.key, state });
  });
};
