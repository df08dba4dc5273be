// What the qumulo-email node adds around Digest and Mailer (core/actions/email.ts): its settings,
// one mail per digest window, and one result per input once its mail has been accepted or has
// failed. No Node-RED in here: the node hands in each message and gets its result back.

import { compileMailTemplates, composeDigestMail, Digest, Mailer, parseAddressList, type ActionResult, type DigestBatch, type DigestItem, type MailTemplates, type SmtpSecurity, type SmtpSettings } from './index';
import { isTrue, numberSetting, positiveInt } from '../settings';

/** The dialog's fields. */
export interface EmailSettings {
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

export interface EmailCredentials {
  user?: string;
  password?: string;
}

/** One input waiting for its digest mail. */
export interface HeldEvent {
  item: DigestItem;
  receivedAt: number;
}

type ResultOf = (held: HeldEvent, outcome: ActionResult['outcome'], detail: string, extra?: Record<string, unknown>) => ActionResult;

/**
 * Collects inputs into digest mails and reports each input's result through `finish` once its
 * mail has been sent (or would be, in dry-run), with the error when sending failed.
 */
export class EmailOutbox<H extends HeldEvent> {
  readonly dryRun: boolean;
  readonly counts = { mails: 0, events: 0, failed: 0 };
  /** The last send error's code, until a mail goes through again. */
  lastError: string | null = null;
  private readonly sending = new Set<Promise<void>>();
  private readonly mailer: Mailer | null = null;
  private readonly digest: Digest<H>;
  private readonly to: string[];
  private readonly templates: MailTemplates;

  /** Throws a user-facing message when the settings are invalid. */
  constructor(
    config: EmailSettings,
    credentials: EmailCredentials,
    private readonly finish: (held: H, result: ActionResult, error?: Error) => void,
  ) {
    this.dryRun = isTrue(config.dryRun);
    const security: SmtpSecurity = config.security === 'tls' || config.security === 'none' ? config.security : 'starttls';
    const port = positiveInt(config.port, security === 'tls' ? 465 : 587, 'port');
    const from = parseAddressList(String(config.from ?? ''), 'From')[0];
    this.to = parseAddressList(String(config.to ?? ''), 'To');
    this.templates = compileMailTemplates(String(config.subject ?? ''), String(config.line ?? ''), String(config.body ?? ''), positiveInt(config.maxListed, 100, 'listed lines'));
    const windowSeconds = numberSetting(config.windowSeconds, 60, { what: 'digest window (seconds)', min: 1, max: 86400 });
    const maxHeld = positiveInt(config.maxHeld, 1000, 'held events');
    if (!this.dryRun) {
      const smtp: SmtpSettings = {
        host: String(config.host ?? '').trim(),
        port,
        security,
        // Verification is on unless explicitly switched off.
        rejectUnauthorized: !(config.verifyTls === false || config.verifyTls === 'false'),
        ca: config.ca,
        user: credentials.user || undefined,
        password: credentials.password,
      };
      this.mailer = new Mailer(smtp, { from, to: this.to });
    }
    this.digest = new Digest<H>({ windowMs: Math.round(windowSeconds * 1000), maxHeld }, (batch) => this.onBatch(batch));
  }

  /** Events waiting for the next mail. */
  get pending(): number {
    return this.digest.pending;
  }

  /** Sends still under way (a closing node waits for them). */
  get inFlight(): Iterable<Promise<void>> {
    return this.sending;
  }

  /** Holds the event for the next mail; when the digest is full, returns its result at once (counted, not listed). */
  add(held: H): ActionResult | null {
    if (this.digest.add(held) === 'held') return null;
    return this.result(held, 'skipped', 'digest full: this event is counted in the next mail but not listed', {});
  }

  /** Ends the current window now (on close). */
  flush(): void {
    this.digest.flush();
  }

  close(): void {
    this.mailer?.close();
  }

  status(): { level: 'ok' | 'error'; text: string } {
    const text = `${this.dryRun ? 'dry-run · ' : ''}${this.digest.pending} waiting · ${this.counts.mails} mail(s)${this.counts.failed ? ` · ${this.counts.failed} failed` : ''}`;
    return this.lastError ? { level: 'error', text: `${text} (${this.lastError})` } : { level: 'ok', text };
  }

  private readonly result: ResultOf = (held, outcome, detail, extra = {}) => ({
    action: 'email',
    path: held.item.event.path,
    fileId: held.item.event.fileId ?? null,
    outcome,
    detail,
    durationMs: outcome === 'skipped' ? 0 : Date.now() - held.receivedAt,
    ...(this.dryRun && outcome !== 'skipped' ? { dryRun: true } : {}),
    ...extra,
  });

  private finishAll(batch: DigestBatch<H>, outcome: ActionResult['outcome'], detail: string, extra: Record<string, unknown>, error?: Error): void {
    for (const held of batch.items) this.finish(held, this.result(held, outcome, detail, extra), error);
  }

  private onBatch(batch: DigestBatch<H>): void {
    const mail = composeDigestMail({ ...batch, items: batch.items.map((h) => h.item) }, this.templates);
    const digest = { count: batch.total, listed: mail.listed, omitted: mail.omitted };
    const to = this.to;
    if (!this.mailer) {
      this.finishAll(batch, 'dry-run', `would mail "${mail.subject}" to ${to.join(', ')} (digest of ${batch.total})`, { digest, mail: { to, subject: mail.subject, text: mail.text } });
      return;
    }
    const work = this.mailer
      .send(mail)
      .then((info) => {
        this.counts.mails++;
        this.counts.events += batch.total;
        this.lastError = null;
        this.finishAll(batch, 'done', `mailed to ${to.join(', ')} in a digest of ${batch.total}`, { messageId: info.messageId, digest, to });
      })
      .catch((err: unknown) => {
        this.counts.failed++;
        const error = err instanceof Error ? err : new Error(String(err));
        this.lastError = (error as { code?: string }).code ?? 'send failed';
        const failure = new Error(`qumulo-email: sending the digest of ${batch.total} event(s) failed: ${error.message}`);
        this.finishAll(batch, 'failed', failure.message, { digest, to, error: { message: error.message } }, failure);
      });
    this.sending.add(work);
    void work.finally(() => this.sending.delete(work));
  }
}
