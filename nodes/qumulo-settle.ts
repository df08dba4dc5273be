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
// The logic is in core/settle/outbox.ts; this file wires it to Node-RED.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { SettleEntry, SettlerOptions } from '../core/settle/settle';
import { eventProblem } from '../core/message';
import { Handovers, SettleOutbox, settleSettings, type SettleMessage } from '../core/settle/outbox';
import { whenFlowsRun } from './lib/lifecycle';
import { refuseSettings, registerNodeType } from './lib/runtime';
import { Throttle, statusDot } from './lib/status';

type SettleNodeMessage = NodeMessage & SettleMessage;

/** Pending files of restarting nodes, by node id, until their successor adopts them. */
const HANDOVER_GRACE_MS = 60_000;
const handovers = new Handovers<SettleEntry<SettleNodeMessage>>(HANDOVER_GRACE_MS);
const STATUS_INTERVAL_MS = 500;

export = function register(RED: NodeAPI): void {
  function QumuloSettleNode(this: Node, config: NodeDef & { quietSeconds?: unknown; maxPending?: unknown }): void {
    RED.nodes.createNode(this, config);
    const node = this;
    let settings: SettlerOptions;
    try {
      settings = settleSettings(config);
    } catch (err) {
      return refuseSettings(node, (err as Error).message, `qumulo-settle: ${(err as Error).message}`, err as Error);
    }
    let closed = false;
    // The status text is built when it is shown (at most every 500 ms), not per message.
    const statusThrottle = new Throttle<null>(STATUS_INTERVAL_MS, () => {
      if (!closed) node.status(statusDot(outbox.status()));
    });
    const outbox = new SettleOutbox<SettleNodeMessage>(settings, (msg) => {
      node.send(msg);
      statusThrottle.push(null);
    });
    outbox.adopt(handovers.take(node.id));
    // Until every node of the flow exists, sends would go nowhere: the outbox holds them.
    const stopWaiting = whenFlowsRun(RED.events, { started: () => outbox.open() });
    node.status(statusDot(outbox.status()));

    node.on('input', (rawMsg: NodeMessage, _send: unknown, done: (err?: Error) => void) => {
      const msg = rawMsg as SettleNodeMessage;
      const problem = eventProblem(msg.payload);
      if (problem) {
        done(new Error(`qumulo-settle: ${problem}`));
        return;
      }
      // A message that arrives means the flow runs: no need to wait for flows:started any more.
      outbox.open();
      outbox.add(msg, done);
      statusThrottle.push(null);
    });

    node.on('close', (removed: boolean, done: () => void) => {
      if (removed) outbox.flushAll();
      else {
        // Files still held plus any settled but not yet sent (flows never started).
        handovers.park(node.id, outbox.takeAll(), (count) => {
          RED.log.warn(`qumulo-settle ${node.id}: ${count} held event(s) dropped: no node took them over within ${HANDOVER_GRACE_MS / 1000} s after a restart`);
        });
      }
      closed = true;
      outbox.stop();
      stopWaiting();
      statusThrottle.cancel();
      if (removed) node.status({});
      done();
    });
  }

  registerNodeType(RED, 'qumulo-settle', QumuloSettleNode);
};
