// qumulo-email: mails a digest of the events it receives — one mail per window (default 60 s)
// listing up to N events and counting the rest — through SMTP (nodemailer). Needs no cluster
// and is never stopped by an all-stop (alerts must keep flowing then, above all).
//
// Each input's result is emitted when its digest mail has been accepted by the SMTP server (or
// has failed: then done(err) as well). Inputs beyond the held-events cap are counted in the mail
// but not listed, and are answered at once (outcome `skipped`). On close the open digest is sent
// before the node goes (within Node-RED's close timeout). The logic is in core/actions/email-outbox.ts.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { ActionResult } from '../core/actions';
import { EmailOutbox, type EmailCredentials, type EmailSettings, type HeldEvent } from '../core/actions/email-outbox';
import { eventProblem, ruleNames } from '../core/message';
import { attachResult, auditRecorderFor, closeAfterRecorded, passOnRecorded, withAuditFailures, type ResultMessage } from './lib/action-node';
import { refuseSettings, registerNodeType } from './lib/runtime';
import { Throttle, statusDot } from './lib/status';

type Send = (msg: NodeMessage) => void;
type Done = (err?: Error) => void;
type Held = HeldEvent & { msg: ResultMessage; send: Send; done: Done };

const CLOSE_WAIT_MS = 12_000;
const STATUS_INTERVAL_MS = 500;

export = function register(RED: NodeAPI): void {
  function QumuloEmailNode(this: Node & { credentials?: EmailCredentials }, config: NodeDef & EmailSettings & { audit?: boolean | string }): void {
    RED.nodes.createNode(this, config);
    const node = this;
    let closed = false;
    const recorder = auditRecorderFor(RED, node, config);
    /** The one place a message leaves this node: with its result (recorded first with the audit option), and done(err) when it failed. */
    const reply = (msg: ResultMessage, send: Send, done: Done, result: ActionResult, error?: Error) => {
      attachResult(msg, result);
      passOnRecorded(recorder, 'qumulo-email', msg, send, done, error, showStatus);
      showStatus();
    };
    let outbox: EmailOutbox<Held>;
    try {
      outbox = new EmailOutbox<Held>(config, node.credentials ?? {}, (held, result, error) => reply(held.msg, held.send, held.done, result, error));
    } catch (err) {
      const message = (err as Error).message;
      if (recorder) void recorder.close();
      return refuseSettings(node, message, `qumulo-email: ${message}`, new Error(`qumulo-email is not configured: ${message}`));
    }
    // The status text is built when it is shown (at most every 500 ms), not per message.
    const statusThrottle = new Throttle<null>(STATUS_INTERVAL_MS, () => {
      if (!closed) node.status(statusDot(withAuditFailures(outbox.status(), recorder)));
    });
    const showStatus = (): void => statusThrottle.push(null);
    node.status(statusDot(outbox.status()));

    node.on('input', (rawMsg: NodeMessage, send: Send, done: Done) => {
      const msg = rawMsg as ResultMessage;
      const problem = eventProblem(msg.payload);
      if (problem) {
        reply(msg, send, done, { action: 'email', path: '', outcome: 'failed', detail: problem, durationMs: 0, error: { message: problem } }, new Error(`qumulo-email: ${problem}`));
        return;
      }
      const held: Held = { msg, send, done, item: { event: msg.payload, rules: ruleNames(msg.rules).slice() }, receivedAt: Date.now() };
      const counted = outbox.add(held);
      if (counted) reply(msg, send, done, counted);
      else statusThrottle.push(null);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      outbox.flush();
      closeAfterRecorded(
        outbox.inFlight,
        recorder,
        CLOSE_WAIT_MS,
        () => {
          closed = true;
          statusThrottle.cancel();
          outbox.close();
        },
        done,
      );
    });
  }

  registerNodeType(RED, 'qumulo-email', QumuloEmailNode, { credentials: { user: { type: 'text' }, password: { type: 'password' } } });
};
