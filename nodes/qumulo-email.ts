// qumulo-email: mails a digest of the events it receives — one mail per window (default 60 s)
// listing up to N events and counting the rest — through SMTP (nodemailer). Needs no cluster
// and is never stopped by an all-stop (alerts must keep flowing then, above all).
//
// Each input's result is emitted when its digest mail has been accepted by the SMTP server (or
// has failed: then done(err) as well). Inputs beyond the held-events cap are counted in the mail
// but not listed, and are answered at once (outcome `skipped`). On close the open digest is sent
// before the node goes (within Node-RED's close timeout).

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { QumuloEvent } from '../core/event';
import {
  compileMailTemplates,
  composeDigestMail,
  Digest,
  eventProblem,
  Mailer,
  parseAddressList,
  type ActionResult,
  type DigestBatch,
  type DigestItem,
  type SmtpSecurity,
} from '../core/actions';
import { attachResult, isTrue, type ResultMessage } from './lib/action-node';
import { finishAfterSettled } from './lib/lifecycle';
import { Throttle, status, type StatusDot } from './lib/status';

interface EmailConfig extends NodeDef {
  host?: string;
  port?: string | number;
  security?: SmtpSecurity;
  verifyTls?: boolean | string;
  ca?: string;
  from?: string;
  to?: string;
  subject?: string;
  line?: string;
  body?: string;
  windowSeconds?: string | number;
  maxListed?: string | number;
  maxHeld?: string | number;
  dryRun?: boolean | string;
}

interface EmailCredentials {
  user?: string;
  password?: string;
}

interface Held {
  msg: ResultMessage;
  send: (msg: NodeMessage) => void;
  done: (err?: Error) => void;
  item: DigestItem;
  receivedAt: number;
}

const CLOSE_WAIT_MS = 12_000;
const STATUS_INTERVAL_MS = 500;

function positiveInt(value: unknown, fallback: number, what: string): number {
  const text = String(value ?? '').trim();
  if (text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a whole number >= 1, not ${JSON.stringify(text)}`);
  return n;
}

function ruleNames(msg: NodeMessage): string[] {
  const rules = (msg as { rules?: unknown }).rules;
  if (!Array.isArray(rules)) return [];
  return rules.map((r) => (r && typeof r === 'object' && 'name' in r ? String((r as { name: unknown }).name) : String(r)));
}

export = function register(RED: NodeAPI): void {
  function QumuloEmailNode(this: Node, config: EmailConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const credentials = ((node as unknown as { credentials?: EmailCredentials }).credentials ?? {}) as EmailCredentials;
    const dryRun = isTrue(config.dryRun);
    const sending = new Set<Promise<void>>();
    const counts = { mails: 0, events: 0, failed: 0 };
    let closed = false;
    let lastError: string | null = null;

    let mailer: Mailer | null = null;
    let digest: Digest<Held>;
    let to: string[];
    let templates: ReturnType<typeof compileMailTemplates>;
    try {
      const security: SmtpSecurity = config.security === 'tls' || config.security === 'none' ? config.security : 'starttls';
      const port = positiveInt(config.port, security === 'tls' ? 465 : 587, 'port');
      const from = parseAddressList(String(config.from ?? ''), 'From')[0];
      to = parseAddressList(String(config.to ?? ''), 'To');
      templates = compileMailTemplates(String(config.subject ?? ''), String(config.line ?? ''), String(config.body ?? ''), positiveInt(config.maxListed, 100, 'listed lines'));
      const windowSeconds = Number(String(config.windowSeconds ?? '').trim() || '60');
      if (!Number.isFinite(windowSeconds) || windowSeconds < 1 || windowSeconds > 86400) throw new Error('digest window must be 1–86400 seconds');
      const maxHeld = positiveInt(config.maxHeld, 1000, 'held events');
      if (!dryRun) {
        mailer = new Mailer(
          {
            host: String(config.host ?? '').trim(),
            port,
            security,
            // Verification is on unless explicitly switched off.
            rejectUnauthorized: !(config.verifyTls === false || config.verifyTls === 'false'),
            ca: config.ca,
            user: credentials.user || undefined,
            password: credentials.password,
          },
          { from, to },
        );
      }
      digest = new Digest<Held>({ windowMs: Math.round(windowSeconds * 1000), maxHeld }, (batch) => onBatch(batch));
    } catch (err) {
      const message = (err as Error).message;
      node.status(status.error(message));
      node.error(`qumulo-email: ${message}`);
      node.on('input', (_msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => done(new Error(`qumulo-email is not configured: ${message}`)));
      return;
    }

    // The status text is built when it is shown (at most every 500 ms), not per message.
    const statusThrottle = new Throttle<null>(STATUS_INTERVAL_MS, () => {
      if (!closed) node.status(describe());
    });
    const describe = (): StatusDot => {
      const text = `${dryRun ? 'dry-run · ' : ''}${digest.pending} waiting · ${counts.mails} mail(s)${counts.failed ? ` · ${counts.failed} failed` : ''}`;
      return lastError ? status.error(`${text} (${lastError})`) : status.ok(text);
    };
    node.status(describe());

    const finishAll = (batch: DigestBatch<Held>, outcome: ActionResult['outcome'], detail: string, extra: Record<string, unknown>, error?: Error) => {
      const now = Date.now();
      for (const held of batch.items) {
        attachResult(held.msg, {
          action: 'email',
          path: held.item.event.path,
          fileId: held.item.event.fileId ?? null,
          outcome,
          detail,
          durationMs: now - held.receivedAt,
          ...(dryRun ? { dryRun: true } : {}),
          ...extra,
        });
        held.send(held.msg);
        if (error) held.done(error);
        else held.done();
      }
      statusThrottle.push(null);
    };

    function onBatch(batch: DigestBatch<Held>): void {
      const mail = composeDigestMail({ ...batch, items: batch.items.map((h) => h.item) }, templates);
      const digestInfo = { count: batch.total, listed: mail.listed, omitted: mail.omitted };
      if (!mailer) {
        finishAll(batch, 'dry-run', `would mail "${mail.subject}" to ${to.join(', ')} (digest of ${batch.total})`, { digest: digestInfo, mail: { to, subject: mail.subject, text: mail.text } });
        return;
      }
      const work = mailer
        .send(mail)
        .then((info) => {
          counts.mails++;
          counts.events += batch.total;
          lastError = null;
          finishAll(batch, 'done', `mailed to ${to.join(', ')} in a digest of ${batch.total}`, { messageId: info.messageId, digest: digestInfo, to });
        })
        .catch((err: unknown) => {
          counts.failed++;
          const error = err instanceof Error ? err : new Error(String(err));
          lastError = (error as { code?: string }).code ?? 'send failed';
          const failure = new Error(`qumulo-email: sending the digest of ${batch.total} event(s) failed: ${error.message}`);
          finishAll(batch, 'failed', failure.message, { digest: digestInfo, to, error: { message: error.message } }, failure);
        });
      sending.add(work);
      void work.finally(() => sending.delete(work));
    }

    node.on('input', (rawMsg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      const msg = rawMsg as ResultMessage;
      const problem = eventProblem(msg.payload);
      if (problem) {
        attachResult(msg, { action: 'email', path: '', outcome: 'failed', detail: problem, durationMs: 0, error: { message: problem } });
        send(msg);
        done(new Error(`qumulo-email: ${problem}`));
        return;
      }
      const event = msg.payload as QumuloEvent;
      const held: Held = { msg, send, done, item: { event, rules: ruleNames(msg) }, receivedAt: Date.now() };
      if (digest.add(held) === 'counted') {
        attachResult(msg, {
          action: 'email',
          path: event.path,
          fileId: event.fileId ?? null,
          outcome: 'skipped',
          detail: 'digest full: this event is counted in the next mail but not listed',
          durationMs: 0,
        });
        send(msg);
        done();
      }
      statusThrottle.push(null);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      digest.flush();
      finishAfterSettled(sending, CLOSE_WAIT_MS, () => {
        closed = true;
        statusThrottle.cancel();
        mailer?.close();
        done();
      });
    });
  }

  RED.nodes.registerType('qumulo-email', QumuloEmailNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1], {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  } as unknown as Parameters<NodeAPI['nodes']['registerType']>[2]);
};
