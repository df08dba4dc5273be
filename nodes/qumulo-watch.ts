// qumulo-watch: emits one message per change notification of a directory on a Qumulo cluster.
// The subscription lives in the process-level registry (core/watch/registry.ts), not in this
// node, so a deploy that restarts the node does not drop or repeat events: while the node is
// away its slot buffers, and the node that replaces it drains the buffer once flows have started.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { NOTIFICATION_TYPES, type NotificationType, type QumuloEvent, isNotificationType } from '../core/event';
import { isFileId, normalizeAbsolutePath } from '../core/qumulo/refs';
import type { MalformedReport } from '../core/qumulo/sse';
import type { GapRecord, SubscriptionStatus } from '../core/qumulo/subscription';
import { type BufferOverflow, type WatchHandle, watchRegistry } from '../core/watch/registry';
import { getCluster } from './lib/cluster';
import { onFlowLifecycle } from './lib/lifecycle';
import { Throttle, shortDuration, status, type StatusDot } from './lib/status';

interface WatchConfig {
  name?: string;
  cluster?: string;
  path?: string;
  recursive?: boolean | string;
  /** Selected notification types; empty or all 24 = no filter. */
  types?: string[] | string;
}

type WatchNodeDef = NodeDef & WatchConfig;

/** Fallback if the runtime never says flows have started (it always should). */
const START_FALLBACK_MS = 10_000;
const STATUS_INTERVAL_MS = 500;

function parseTypes(value: WatchConfig['types']): NotificationType[] | null {
  const list = Array.isArray(value) ? value : typeof value === 'string' && value.trim() ? value.split(',') : [];
  const types = [...new Set(list.map((t) => String(t).trim()).filter(isNotificationType))];
  return types.length === 0 || types.length === NOTIFICATION_TYPES.length ? null : types;
}

export = function register(RED: NodeAPI): void {
  function QumuloWatchNode(this: Node, config: WatchNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const cluster = getCluster(RED, node, config.cluster);
    if (!cluster || !cluster.clientOptions) return;

    let ref: string;
    try {
      const raw = String(config.path ?? '').trim() || '/';
      ref = isFileId(raw) ? raw : normalizeAbsolutePath(raw);
    } catch (err) {
      node.status(status.error('invalid path'));
      node.error(`Invalid watch path: ${(err as Error).message}`);
      return;
    }
    const recursive = config.recursive !== false && config.recursive !== 'false';
    const types = parseTypes(config.types);

    let events = 0;
    let lastGap: GapRecord | null = null;
    let subscriptionStatus: SubscriptionStatus | null = null;
    let closed = false;
    const statusThrottle = new Throttle<StatusDot>(STATUS_INTERVAL_MS, (dot) => {
      if (!closed) node.status(dot);
    });

    const describe = (): StatusDot => {
      const s = subscriptionStatus;
      const where = s?.watchRoot ?? ref;
      if (!s || s.state === 'connecting') return status.connecting(`connecting to ${where}`);
      if (s.state === 'watching') {
        const base = `watching ${where} (${events})`;
        return lastGap ? status.ok(`${base} · gap ${shortDuration((lastGap.end ?? Date.now()) - lastGap.start)}`) : status.ok(base);
      }
      if (s.state === 'reconnecting') return status.connecting(`reconnecting (${s.attempt}): ${s.failureKind ?? ''}`.trim());
      if (s.state === 'error') return status.error(`${s.failureKind ?? 'error'}: ${s.lastError ?? ''}`);
      return status.error('closed');
    };

    cluster.register(node);
    node.status(status.connecting(`connecting to ${ref}`));

    const handle: WatchHandle = watchRegistry.acquire(
      { client: cluster.clientOptions, ref, recursive, types },
      {
        id: node.id,
        onEvent(event: QumuloEvent) {
          events++;
          node.send({ payload: event, topic: event.type } as NodeMessage);
          statusThrottle.push(describe());
        },
        onStatus(s: SubscriptionStatus) {
          const previous = subscriptionStatus?.state;
          subscriptionStatus = s;
          if (s.state === 'error' && previous !== 'error') {
            node.error(`Watch on ${cluster.endpoint}${s.watchRoot ?? ref}: ${s.lastError ?? 'failed'}`);
          }
          statusThrottle.now(describe());
        },
        onDisconnected(gap: GapRecord) {
          node.warn(`Change-notify stream for ${gap.watchRoot} lost (${gap.reason}: ${gap.detail}); reconnecting. Events after seq ${gap.lastSeqBefore} may be missed until it is back.`);
        },
        onGap(gap: GapRecord) {
          lastGap = gap;
          const end = gap.end ?? Date.now();
          node.warn(
            `Change-notify stream for ${gap.watchRoot} is back after ${shortDuration(end - gap.start)} (${gap.reason}). ` +
              `Events between ${new Date(gap.start).toISOString()} and ${new Date(end).toISOString()} may have been lost (the stream cannot resume).`,
          );
          statusThrottle.now(describe());
        },
        onMalformed(report: MalformedReport) {
          // A synthetic message so Catch nodes see it; the stream itself keeps flowing.
          const msg = { topic: 'qumulo/malformed', payload: report } as NodeMessage;
          node.error(`Malformed change notification #${report.total} (${report.kind}): ${report.detail}`, msg);
        },
        onBufferOverflow(overflow: BufferOverflow) {
          node.warn(`${overflow.dropped} events (seq ${overflow.firstSeq}–${overflow.lastSeq}) were dropped while this node was restarting: the buffer limit was reached.`);
          statusThrottle.now(status.warning(`buffer overflow: ${overflow.dropped} dropped`));
        },
      },
    );

    // Send only while the flows are running: before the first 'flows:started' the nodes this one
    // is wired to may not exist yet, and between 'flows:stopping' and 'flows:started' a deploy may
    // be replacing them (Node-RED drops messages addressed to a node that is not there). In
    // between, the registry buffers; resume() drains in order.
    let started = false;
    const onStarted = () => {
      if (closed) return;
      started = true;
      clearTimeout(fallback);
      handle.resume();
    };
    const onStopping = () => {
      if (!closed) handle.pause();
    };
    const unsubscribeLifecycle = onFlowLifecycle(RED.events, { started: onStarted, stopping: onStopping });
    const fallback = setTimeout(() => {
      if (!started) onStarted();
    }, START_FALLBACK_MS);
    fallback.unref();

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(fallback);
      unsubscribeLifecycle();
      statusThrottle.cancel();
      handle.release({ removed });
      cluster.deregister(node);
      if (removed) node.status({});
      done();
    });
  }

  RED.nodes.registerType('qumulo-watch', QumuloWatchNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
