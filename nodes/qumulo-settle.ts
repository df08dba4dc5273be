// qumulo-settle: holds events per file until the file has been quiet (no data-written /
// size-changed notification) for a configurable time, then sends one coalesced message: the
// latest event, with `msg.settle = {count, firstAt, lastAt, types, reason}`. Bounded: at most
// `maxPending` files are held; beyond that the least recently active is sent early (counted).
//
// Deploys: when the node restarts (close without removal) its pending files are handed to the
// instance that replaces it, which keeps their quiet-time clocks and sends them once flows have
// started — sending from a closing node would lose them, because the nodes downstream are being
// restarted too. When the node is removed or disabled, everything pending is sent immediately.
//
// Completion: a message is done() once the coalesced message it became part of has been sent, not
// when it arrives, so a source that waits for the flow (qumulo-redis-in "ack when done", the
// watch's at-least-once) keeps it open while it is held here. Messages held by an instance that a
// deploy stops are never done() by it: the source sees them cut and delivers them again.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { QumuloEvent } from '../core/event';
import { eventProblem } from '../core/actions';
import { SETTLE_ACTIVITY_TYPES, settleKey, Settler, type SettleEntry, type SettleReason } from '../core/settle/settle';
import { Throttle, status, type StatusDot } from './lib/status';

interface SettleConfig extends NodeDef {
  quietSeconds?: string | number;
  maxPending?: string | number;
}

type SettleMessage = NodeMessage & { payload: QumuloEvent; settle?: Record<string, unknown> };

/** Pending entries of restarting nodes, by node id, until their successor adopts them. */
const handovers = new Map<string, { entries: SettleEntry<SettleMessage>[]; timer: NodeJS.Timeout }>();
const HANDOVER_GRACE_MS = 60_000;
const START_FALLBACK_MS = 10_000;
const STATUS_INTERVAL_MS = 500;

function settleSettings(config: { quietSeconds?: unknown; maxPending?: unknown }): { quietMs: number; maxPending: number } {
  const quietText = String(config.quietSeconds ?? '').trim();
  const quiet = quietText === '' ? 5 : Number(quietText);
  if (!Number.isFinite(quiet) || quiet < 0 || quiet > 86400) throw new Error(`quiet time must be 0–86400 seconds, not ${JSON.stringify(quietText)}`);
  const maxText = String(config.maxPending ?? '').trim();
  const maxPending = maxText === '' ? 10_000 : Number(maxText);
  if (!Number.isInteger(maxPending) || maxPending < 1) throw new Error(`maximum held files must be a whole number >= 1, not ${JSON.stringify(maxText)}`);
  return { quietMs: Math.round(quiet * 1000), maxPending };
}

export = function register(RED: NodeAPI): void {
  function QumuloSettleNode(this: Node, config: SettleConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    let settings: { quietMs: number; maxPending: number };
    try {
      settings = settleSettings(config);
    } catch (err) {
      node.status(status.error((err as Error).message));
      node.error(`qumulo-settle: ${(err as Error).message}`);
      node.on('input', (_msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => done(err as Error));
      return;
    }

    let sent = 0;
    let closed = false;
    let ready = false;
    const waiting: Array<{ entry: SettleEntry<SettleMessage>; reason: SettleReason }> = [];
    // The status text is built when it is shown (at most every 500 ms), not per message.
    const statusThrottle = new Throttle<null>(STATUS_INTERVAL_MS, () => {
      if (!closed) node.status(describe());
    });
    const describe = (): StatusDot => {
      const text = `holding ${settler.size} · sent ${sent}${settler.overflowCount ? ` · ${settler.overflowCount} early (full)` : ''}`;
      return settler.overflowCount ? status.warning(text) : status.ok(text);
    };

    /** done() callbacks of the messages held per settle key, called once their coalesced message is sent. */
    const holding = new Map<string, Array<() => void>>();
    const deliver = (entry: SettleEntry<SettleMessage>, reason: SettleReason) => {
      const msg = entry.latest;
      msg.settle = { count: entry.count, firstAt: entry.firstAt, lastAt: entry.lastAt, types: entry.types, reason, key: entry.key };
      sent++;
      node.send(msg);
      const dones = holding.get(entry.key);
      if (dones) {
        holding.delete(entry.key);
        for (const done of dones) done();
      }
      statusThrottle.push(null);
    };
    const emit = (entry: SettleEntry<SettleMessage>, reason: SettleReason) => {
      // Until every node of the flow exists, sends would go nowhere: queue them.
      if (ready) deliver(entry, reason);
      else waiting.push({ entry, reason });
    };
    const settler = new Settler<SettleMessage>(settings, emit);

    const previous = handovers.get(node.id);
    if (previous) {
      handovers.delete(node.id);
      clearTimeout(previous.timer);
      settler.adopt(previous.entries);
    }

    const start = () => {
      if (ready || closed) return;
      ready = true;
      clearTimeout(fallback);
      RED.events.removeListener('flows:started', start);
      for (const w of waiting.splice(0)) deliver(w.entry, w.reason);
    };
    RED.events.on('flows:started', start);
    const fallback = setTimeout(start, START_FALLBACK_MS);
    fallback.unref();
    node.status(describe());

    node.on('input', (rawMsg: NodeMessage, _send: unknown, done: (err?: Error) => void) => {
      const msg = rawMsg as SettleMessage;
      const problem = eventProblem(msg.payload);
      if (problem) {
        done(new Error(`qumulo-settle: ${problem}`));
        return;
      }
      // A message that arrives means the flow runs: no need to wait for flows:started any more.
      start();
      const event = msg.payload;
      const key = settleKey(event);
      const dones = holding.get(key);
      if (dones) dones.push(done);
      else holding.set(key, [done]);
      settler.add(key, msg, String(event.type), SETTLE_ACTIVITY_TYPES.has(String(event.type)));
      statusThrottle.push(null);
    });

    node.on('close', (removed: boolean, done: () => void) => {
      if (removed) {
        ready = true;
        for (const w of waiting.splice(0)) deliver(w.entry, w.reason);
        settler.flush();
      } else {
        // Entries still held plus any settled but not yet delivered (flows never started).
        const entries = [...waiting.splice(0).map((w) => w.entry), ...settler.take()];
        if (entries.length > 0) {
          const timer = setTimeout(() => {
            handovers.delete(node.id);
            RED.log.warn(`qumulo-settle ${node.id}: ${entries.length} held event(s) dropped: no node took them over within ${HANDOVER_GRACE_MS / 1000} s after a restart`);
          }, HANDOVER_GRACE_MS);
          timer.unref();
          handovers.set(node.id, { entries, timer });
        }
      }
      closed = true;
      settler.stop();
      clearTimeout(fallback);
      RED.events.removeListener('flows:started', start);
      statusThrottle.cancel();
      if (removed) node.status({});
      done();
    });
  }

  RED.nodes.registerType('qumulo-settle', QumuloSettleNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
