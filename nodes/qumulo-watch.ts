// qumulo-watch: emits one message per change notification of a directory on a Qumulo cluster.
// The subscription lives in the process-level registry (core/watch/registry.ts), not in this
// node, so a deploy that restarts the node does not drop or repeat events: while the node is
// away its slot buffers, and the node that replaces it drains the buffer once flows have started.
//
// Gap healing (core/heal, run by core/watch/healing.ts): whatever the stream could not deliver —
// it was lost, overflowed, or Node-RED was not running — is found once the stream is back
// (snapshot diff against a checkpoint, or a tree walk) and sent on the first output like live
// events, with `resync: true`. One result message per heal leaves on the second output
// (`msg.topic` "qumulo/heal").
//
// Scale-out: with a Redis server selected, the instances running this flow elect one active
// ingester per watch through a lease (core/scale/lease.ts, held by the registry so deploys keep
// it); the others stand by. Each event message carries `msg.lease` (the term's fencing token),
// which qumulo-redis-out hands to Redis so a stale leader's appends are refused. The leader's heal
// marker lives in Redis, so the next leader heals what no one watched.
//
// This adapter wires core/watch/feed.ts (the node's consumer, status and reports) to the runtime;
// settings are read by core/watch/settings.ts.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { QumuloEvent } from '../core/event';
import { fenceOf, watchRegistry } from '../core/watch/registry';
import { WatchFeed } from '../core/watch/feed';
import { isRecursive, parseHealSettings, parseTypes, watchRef, watchTuning, type HealSettings, type WatchSettings } from '../core/watch/settings';
import { countHeal, countWatchEvent, countWatchGap, countWatchReconnect, noteWatchNode } from '../core/metrics';
import { getCluster } from './lib/cluster';
import { electionFor } from './lib/election';
import { whenFlowsRun } from './lib/lifecycle';
import { refuseSettings, registerNodeType, stateDirectory } from './lib/runtime';
import { status, statusDot } from './lib/status';
import { trackSends } from './lib/tracked-sends';

type WatchNodeDef = NodeDef & WatchSettings & { cluster?: string; redis?: string; lease?: string };

/** Messages still in the flow after this long are no longer tracked (a node that never finishes). */
const JOURNEY_LIMIT_MS = 10 * 60_000;
/** Runtimes whose shutdown hands leases over (one listener per runtime, however often this loads). */
const handoverInstalled = new WeakSet<object>();

export = function register(RED: NodeAPI): void {
  const tuning = watchTuning((RED.settings as unknown as { qumuloWatch?: unknown }).qumuloWatch);
  if (tuning) watchRegistry.configure(tuning);
  // Shutdown (flows stopped, not by a deploy): hand scale-out leases over right away.
  if (!handoverInstalled.has(RED.events)) {
    handoverInstalled.add(RED.events);
    RED.events.on('runtime-event', (event: { id?: string; payload?: { state?: string; deploy?: boolean } }) => {
      if (event?.id === 'runtime-state' && event.payload?.state === 'stop' && !event.payload.deploy) void watchRegistry.handOverLeases();
    });
  }
  function QumuloWatchNode(this: Node, config: WatchNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const cluster = getCluster(RED, node, config.cluster);
    if (!cluster || !cluster.clientOptions) return;
    let ref: string;
    let heal: HealSettings | null;
    try {
      ref = watchRef(config.path);
    } catch (err) {
      return refuseSettings(node, 'invalid path', `Invalid watch path: ${(err as Error).message}`);
    }
    const recursive = isRecursive(config.recursive);
    const types = parseTypes(config.types);
    try {
      heal = parseHealSettings(config);
    } catch (err) {
      return refuseSettings(node, 'invalid heal settings', `Invalid gap healing settings: ${(err as Error).message}`);
    }
    const election = electionFor(RED, node, config.redis, config.lease);
    if (election === null) return;
    cluster.register(node);
    node.status(status.connecting(`connecting to ${ref}`));

    // At-least-once through deploys: each event's message is tracked until every node it reached
    // is done with it. One that a deploy cut goes back into this node's slot (feed.cut). Done or
    // failed (the failing node reported it; the plain pipeline has no durable store to retry
    // from — use the Redis pipeline for that): forgotten.
    const sends = trackSends(RED, node, (event, ending) => ending.kind === 'cut' && feed.cut(event as QumuloEvent), { port: 0, staleAfterMs: JOURNEY_LIMIT_MS });
    const feed: WatchFeed = new WatchFeed({ client: cluster.clientOptions, ref, recursive, types, election }, {
      id: node.id,
      endpoint: cluster.endpoint,
      heal,
      client: () => {
        if (!cluster.client) throw new Error(`the client of ${cluster.endpoint} is closed`);
        return cluster.client;
      },
      // null (no marker, so no restart healing) only in runtimes without a userDir (unit tests).
      stateDirectory: stateDirectory(RED, null),
      sendEvent: (event, resent) => {
        noteWatchNode(event.watchId, node.id); // so the per-watch event age (sidebar, metrics) names this node
        const msg = { _msgid: sends.nextId(), payload: event, topic: event.type } as NodeMessage & { _msgid: string; redelivered?: number; lease?: unknown };
        if (resent) msg.redelivered = resent;
        const fence = fenceOf(event);
        if (fence) msg.lease = fence;
        sends.send(msg, event, () => node.send([msg, null]));
      },
      sendResult: (result) => node.send([null, { topic: 'qumulo/heal', payload: result } as NodeMessage]),
      status: (shown) => node.status(statusDot(shown)),
      log: (text) => node.log(text),
      warn: (text) => node.warn(text),
      error: (text, msg) => (msg ? node.error(text, msg as NodeMessage) : node.error(text)),
      observer: { event: (type) => countWatchEvent(node.id, type), reconnect: () => countWatchReconnect(node.id), gap: () => countWatchGap(node.id), heal: (result) => countHeal(node.id, result) },
    });

    // Send only while the flows are running: before the first 'flows:started' the nodes this one
    // is wired to may not exist yet, and between 'flows:stopping' and 'flows:started' a deploy may
    // be replacing them (Node-RED drops messages addressed to a node that is not there).
    const unsubscribeLifecycle = whenFlowsRun(RED.events, { started: () => feed.flowsStarted(), stopping: () => feed.flowsStopping() });

    node.on('close', (removed: boolean, done: () => void) => {
      unsubscribeLifecycle();
      // Removed: nothing replaces this node, so nothing can take its messages again. Otherwise
      // the journeys stay tracked: what the deploy cuts goes back into the slot.
      sends.close(removed);
      const finish = () => {
        feed.release(removed);
        cluster.deregister(node);
        if (removed) node.status({});
        done();
      };
      const closing = feed.close(removed);
      if (closing) void closing.finally(finish);
      else finish();
    });
  }

  registerNodeType(RED, 'qumulo-watch', QumuloWatchNode);
};
