// qumulo-loop-guard: sits in front of action nodes and stops actions from triggering themselves.
// Thin adapter over core/guard: the per-cluster GuardCore (process level, survives deploys) is
// attached to the configured cluster's client, so every action node using that cluster records its
// mutation intents in the ledger with no wiring. Outputs: 1 passed, 2 tripped (and, if asked,
// suppressed echoes), 3 metrics.

import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { QumuloEvent } from '../core/event';
import { LoopGuard, type LoopGuardOptions } from '../core/guard/guard';
import { GuardMonitor, guardOptionsFromSettings, routeDecision, type GuardMessageInfo, type GuardSettings } from '../core/guard/node-support';
import { guardCoreFor, type SharedLedgerLease } from '../core/guard/registry';
import { clusterIdentity } from '../core/qumulo/identity';
import { recordGuardDecision } from '../core/metrics';
import { asEvent, GUARDED_FIELDS, ruleNames } from '../core/message';
import { BarrierQueue } from '../core/ordered';
import { isTrue } from '../core/settings';
import { getCluster } from './lib/cluster';
import { attachClusterClients, openSharedLedger } from './lib/guard-wiring';
import { refuseSettings, registerNodeType } from './lib/runtime';
import { Throttle, status, statusDot } from './lib/status';

type LoopGuardNodeDef = NodeDef & GuardSettings & { cluster?: string; redis?: string; watcherSkew?: unknown; emitSuppressed?: unknown };
type Job = { msg: NodeMessageInFlow & { guard?: GuardMessageInfo }; event: QumuloEvent; send: (msg: Array<NodeMessage | null>) => void; done: (err?: Error) => void };

const STATUS_INTERVAL_MS = 500;

export = function register(RED: NodeAPI): void {
  function QumuloLoopGuardNode(this: Node, config: LoopGuardNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    let options: LoopGuardOptions;
    try {
      options = guardOptionsFromSettings(config);
    } catch (err) {
      return refuseSettings(node, 'invalid settings', `Loop guard settings: ${(err as Error).message}`);
    }
    const cluster = getCluster(RED, node, config.cluster);
    if (!cluster || !cluster.client || !cluster.clientOptions) return;
    const clusterId = clusterIdentity(cluster.clientOptions);
    const core = guardCoreFor(clusterId, { ledger: { retentionMs: Math.max(10 * 60_000, options.echo.echoWindowMs * 4) } });
    const emitSuppressed = isTrue(config.emitSuppressed);
    const monitor = new GuardMonitor((text) => node.warn(text));
    let closed = false;
    let shared: SharedLedgerLease | null = null;
    // Status: recomputed at most every STATUS_INTERVAL_MS, never per message.
    const statusThrottle = new Throttle<null>(STATUS_INTERVAL_MS, () => {
      if (closed) return;
      node.status(statusDot(monitor.status(guard.counts(), shared === null || shared.ledger.failing)));
    });
    const refreshStatus = () => statusThrottle.push(null);
    const guard = new LoopGuard(core, options, (alert) => (monitor.tripped(alert), refreshStatus()));
    const detachClients = attachClusterClients(RED, node, core, clusterId, cluster.client);
    shared = config.redis ? openSharedLedger(RED, node, config.redis, config.watcherSkew, clusterId, monitor, refreshStatus) : null;
    refreshStatus();

    // Events wait for the shared ledger's read barrier in arrival order (never overtaking).
    const queue = new BarrierQueue<Job>(
      (job) => shared?.ledger.barrier(job.event.receivedAt) ?? null,
      ({ msg, event, send, done }) => {
        const decision = guard.evaluate(event, ruleNames(msg.rules));
        recordGuardDecision(node.id, decision, event);
        const route = routeDecision(decision, options.hopLimit, emitSuppressed);
        if (route) {
          msg.guard = route.guard;
          send(route.output === 0 ? [msg, null, null] : [null, msg, null]);
        }
        refreshStatus();
        done();
      },
    );

    node.on('input', (msg: Job['msg'], send: Job['send'], done: Job['done']) => {
      if (msg.topic === 'metrics') {
        const payload = { ...guard.metrics(), cluster: clusterId, sharedLedger: shared ? shared.ledger.getStats() : null, lastTrip: monitor.lastTripInfo() };
        send([null, null, { ...msg, topic: 'metrics', payload }]);
        done();
        return;
      }
      const event = asEvent(msg.payload, GUARDED_FIELDS);
      if (event === null) {
        // done(err) is Node-RED's node.error(err, msg): Catch nodes see it once.
        node.status(status.error('not a Qumulo event'));
        done(new Error('msg.payload is not a Qumulo event (expected the output of qumulo-watch, a filter or qumulo-redis-in)'));
        return;
      }
      queue.push({ msg, event, send, done });
    });

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      // Whatever still waits for the barrier is decided now with what the ledger knows.
      queue.close();
      statusThrottle.cancel();
      guard.close();
      detachClients(removed);
      const lease = shared;
      shared = null;
      if (lease === null) done();
      else lease.release().then(done, done);
    });
  }

  registerNodeType(RED, 'qumulo-loop-guard', QumuloLoopGuardNode);
};
