// Email action core: a digest window (one mail per window listing its events, with a cap on
// listed lines and on held events) so a burst of 10,000 events sends a handful of mails; mail
// composition from templates; header safety; SMTP through nodemailer with a few retries on
// transient failures.
//
// Header safety: event text (file names are attacker-controlled) never reaches a header raw.
// Subjects are rendered, stripped of every control character (CR/LF included) and handed to
// nodemailer, which RFC 2047-encodes anything non-ASCII; addresses come only from configuration
// and are validated. In the body, control characters are shown escaped (`\u000d`) so a name
// cannot forge extra lines either.

import * as nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { QumuloEvent } from '../event';
import { systemClock, type SettleClock } from '../settle/settle';
import { compileTemplate, EVENT_FIELDS, eventTemplateValues, type CompiledTemplate } from './template';

export const MAX_SUBJECT_LENGTH = 200;
export const MAX_LINE_LENGTH = 1000;

/** Removes every control/format/separator character and folds whitespace: safe as a header value. */
export function headerSafe(text: string, maxLength = MAX_SUBJECT_LENGTH): string {
  const cleaned = String(text ?? '')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (cleaned.length <= maxLength) return cleaned;
  return Array.from(cleaned).slice(0, maxLength - 1).join('') + '…';
}

/** Body text: control and invisible formatting characters become visible escapes; tabs stay. */
export function bodySafe(text: string, maxLength = MAX_LINE_LENGTH): string {
  const escaped = String(text ?? '').replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (ch) =>
    ch === '\t' ? ch : `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`,
  );
  return escaped.length <= maxLength ? escaped : escaped.slice(0, maxLength - 1) + '…';
}

const ADDRESS = /^[^\s@<>(),;:"\\[\]]+@[A-Za-z0-9.-]+$/;

/**
 * Parses a configured address list (`a@x.org, Ops <ops@x.org>`); refuses control characters and
 * anything that does not look like an address, so a list can never add headers or recipients
 * nobody configured.
 */
export function parseAddressList(text: string, what = 'address'): string[] {
  if (/[\p{Cc}\p{Cf}]/u.test(String(text ?? ''))) throw new Error(`${what} contains control characters`);
  const items = String(text ?? '')
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new Error(`${what} is empty`);
  for (const item of items) {
    const m = /^(?:"?([^"<>]*)"?\s*)?<([^<>]+)>$/.exec(item);
    const address = m ? m[2].trim() : item;
    if (!ADDRESS.test(address)) throw new Error(`${what} "${item}" is not an e-mail address`);
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// Digest

export interface DigestBatch<T> {
  /** Items held for this mail, in arrival order. */
  items: T[];
  /** Items that arrived while the hold was full: counted in the mail, not listed, not held. */
  counted: number;
  /** items.length + counted */
  total: number;
  windowStart: number;
  windowEnd: number;
}

export interface DigestOptions {
  windowMs: number;
  /** Most items held per window (each keeps its message until the mail is sent). */
  maxHeld: number;
}

/**
 * Collects items for `windowMs` from the first one, then hands the batch over. At most one batch
 * per window: a burst of any size becomes one mail per window.
 */
export class Digest<T> {
  private items: T[] = [];
  private counted = 0;
  private windowStart = 0;
  private timer: unknown = null;

  constructor(
    private readonly options: DigestOptions,
    private readonly onBatch: (batch: DigestBatch<T>) => void,
    private readonly clock: SettleClock = systemClock,
  ) {
    if (!(options.windowMs > 0)) throw new Error('digest window must be > 0');
    if (!(options.maxHeld >= 1)) throw new Error('held events must be >= 1');
  }

  get pending(): number {
    return this.items.length + this.counted;
  }

  /** `held`: the item is in the batch; `counted`: the hold is full, the mail only counts it. */
  add(item: T): 'held' | 'counted' {
    if (this.items.length === 0 && this.counted === 0) {
      this.windowStart = this.clock.now();
      this.timer = this.clock.setTimeout(() => this.flush(), this.options.windowMs);
    }
    if (this.items.length >= this.options.maxHeld) {
      this.counted++;
      return 'counted';
    }
    this.items.push(item);
    return 'held';
  }

  /** Ends the current window now (also on close); no-op when empty. */
  flush(): DigestBatch<T> | null {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.items.length === 0 && this.counted === 0) return null;
    const batch: DigestBatch<T> = {
      items: this.items,
      counted: this.counted,
      total: this.items.length + this.counted,
      windowStart: this.windowStart,
      windowEnd: this.clock.now(),
    };
    this.items = [];
    this.counted = 0;
    this.onBatch(batch);
    return batch;
  }
}

// ---------------------------------------------------------------------------------------------
// Composition

export interface DigestItem {
  event: QumuloEvent;
  /** Names of the rules that matched (msg.rules), for `{rules}`. */
  rules: string[];
}

export const DIGEST_FIELDS = ['count', 'listed', 'omitted', 'windowStart', 'windowEnd'] as const;
export const SUBJECT_FIELDS = [...EVENT_FIELDS, 'rules', ...DIGEST_FIELDS] as const;
export const LINE_FIELDS = [...EVENT_FIELDS, 'rules'] as const;
export const BODY_FIELDS = [...EVENT_FIELDS, 'rules', ...DIGEST_FIELDS, 'events'] as const;

export const DEFAULT_SUBJECT = 'qumulo-flow: {count} event(s), first {type} {path}';
export const DEFAULT_LINE = '{datetime} {type} {path}';
export const DEFAULT_BODY = 'qumulo-flow saw {count} matching event(s) between {windowStart} and {windowEnd}.\n\n{events}\n';

export interface MailTemplates {
  subject: CompiledTemplate;
  line: CompiledTemplate;
  body: CompiledTemplate;
  /** Most event lines listed in one mail; the rest are counted. */
  maxListed: number;
}

export function compileMailTemplates(subject: string, line: string, body: string, maxListed: number): MailTemplates {
  if (!(Number.isInteger(maxListed) && maxListed >= 1)) throw new Error('listed lines must be a whole number >= 1');
  return {
    subject: compileTemplate(subject || DEFAULT_SUBJECT, SUBJECT_FIELDS),
    line: compileTemplate(line || DEFAULT_LINE, LINE_FIELDS),
    body: compileTemplate(body || DEFAULT_BODY, BODY_FIELDS),
    maxListed,
  };
}

function itemValues(item: DigestItem): Record<string, string> {
  return { ...eventTemplateValues(item.event), rules: item.rules.join(', ') };
}

export interface ComposedMail {
  subject: string;
  text: string;
  listed: number;
  omitted: number;
}

export function composeDigestMail(batch: DigestBatch<DigestItem>, templates: MailTemplates): ComposedMail {
  const listedItems = batch.items.slice(0, templates.maxListed);
  const omitted = batch.total - listedItems.length;
  const lines = listedItems.map((item) => bodySafe(templates.line.render(itemValues(item))));
  if (omitted > 0) lines.push(`… and ${omitted} more event(s) not listed.`);
  const digest: Record<string, string> = {
    count: String(batch.total),
    listed: String(listedItems.length),
    omitted: String(omitted),
    windowStart: new Date(batch.windowStart).toISOString(),
    windowEnd: new Date(batch.windowEnd).toISOString(),
  };
  const first = batch.items[0] ? itemValues(batch.items[0]) : {};
  const subject = headerSafe(templates.subject.render({ ...first, ...digest }));
  // First-event values in the body are escaped too; the `events` block is escaped per line.
  const safeFirst = Object.fromEntries(Object.entries(first).map(([k, v]) => [k, bodySafe(v)]));
  const text = templates.body.render({ ...safeFirst, ...digest, events: lines.join('\n') });
  return { subject, text, listed: listedItems.length, omitted };
}

// ---------------------------------------------------------------------------------------------
// SMTP

export const SMTP_SECURITY = ['starttls', 'tls', 'none'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

export interface SmtpSettings {
  host: string;
  port: number;
  /** `tls`: implicit TLS (465); `starttls`: plain connect then STARTTLS, required; `none`: no TLS. */
  security: SmtpSecurity;
  /** Verify the server certificate (on unless explicitly switched off). */
  rejectUnauthorized: boolean;
  /** Extra CA certificate(s), PEM. */
  ca?: string;
  user?: string;
  password?: string;
  /** Connection/greeting/socket timeouts, ms. */
  timeoutMs?: number;
}

export function smtpTransportOptions(s: SmtpSettings): SMTPTransport.Options {
  if (!s.host) throw new Error('SMTP host is empty');
  if (!(Number.isInteger(s.port) && s.port > 0 && s.port < 65536)) throw new Error(`SMTP port ${s.port} is not valid`);
  const timeout = s.timeoutMs ?? 30000;
  return {
    host: s.host,
    port: s.port,
    secure: s.security === 'tls',
    requireTLS: s.security === 'starttls',
    ignoreTLS: s.security === 'none',
    auth: s.user ? { user: s.user, pass: s.password ?? '' } : undefined,
    tls: { rejectUnauthorized: s.rejectUnauthorized, ...(s.ca && s.ca.trim() ? { ca: s.ca } : {}) },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  };
}

export interface MailEnvelope {
  from: string;
  to: string[];
}

export interface SentMail {
  messageId: string;
  accepted: string[];
  attempts: number;
}

/** SMTP 4xx replies and network errors are worth another try; 5xx replies and auth errors are not. */
export function isTransientMailError(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string } | null;
  if (e && typeof e.responseCode === 'number') return e.responseCode >= 400 && e.responseCode < 500;
  if (e?.code === 'EAUTH' || e?.code === 'EENVELOPE' || e?.code === 'EMESSAGE') return false;
  return true;
}

export class Mailer {
  private readonly transport: nodemailer.Transporter<SMTPTransport.SentMessageInfo>;

  constructor(
    settings: SmtpSettings,
    private readonly envelope: MailEnvelope,
    private readonly retry = { attempts: 3, baseDelayMs: 1000 },
  ) {
    this.transport = nodemailer.createTransport(smtpTransportOptions(settings));
  }

  async send(mail: ComposedMail): Promise<SentMail> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      try {
        const info = await this.transport.sendMail({
          from: this.envelope.from,
          to: this.envelope.to,
          subject: mail.subject,
          text: mail.text,
          // No html part and no headers from event data: the body is plain text only.
          disableFileAccess: true,
          disableUrlAccess: true,
        });
        return { messageId: info.messageId, accepted: info.accepted.map(String), attempts: attempt };
      } catch (err) {
        lastError = err;
        if (!isTransientMailError(err) || attempt === this.retry.attempts) break;
        await new Promise((r) => setTimeout(r, this.retry.baseDelayMs * 2 ** (attempt - 1)));
      }
    }
    throw lastError;
  }

  close(): void {
    this.transport.close();
  }
}
