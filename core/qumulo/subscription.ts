// One change-notify subscription (docs/qumulo-api.md §3): an eventsource v4 EventSource per connection
// attempt, fed through the client's authorizedFetch (token, TLS, keep-alive). The subscription
// owns reconnection itself — capped exponential backoff with jitter, re-login on 401 (eventsource
// gives up for good on any non-200), an idle watchdog — and records every disconnection as a gap:
// the stream has no resume, so whatever happened in [start, end] may have been missed.

import { EventEmitter } from 'node:events';
import { EventSource } from 'eventsource';
import { type NotificationType, type QumuloEvent, normalizeDirPath, normalizeNotification } from '../event';
import type { QumuloClient, FetchInit } from './client';
import { QumuloAuthError, QumuloTlsError, QumuloError } from './errors';
import { isFileId, normalizeAbsolutePath } from './refs';
import { type MalformedReport, NotifyPayloadParser, DEFAULT_MAX_LINE_LENGTH } from './sse';

export type SubscriptionState = 'connecting' | 'watching' | 'reconnecting' | 'error' | 'closed';

/** Why the stream was lost. */
export type GapReason = 'stream-end' | 'error' | 'overflow' | 'auth' | 'idle';

/** What kind of problem the last failure was (drives the status text and whether it is 'error'). */
export type FailureKind = 'network' | 'http' | 'auth' | 'tls' | 'permission' | 'not-found' | 'overflow' | 'idle' | 'stream-end' | 'line-too-long';

/** A period during which notifications may have been lost (the stream cannot resume). */
export interface GapRecord {
  watchId: string;
  watchRoot: string;
  /** Epoch ms when the stream was lost. */
  start: number;
  /** Epoch ms when a new stream was open again; null while still disconnected. */
  end: number | null;
  reason: GapReason;
  detail: string;
  /** Connection attempts made during the gap. */
  attempts: number;
  /** seq of the last event received before the gap (0 if none). */
  lastSeqBefore: number;
}

export interface SubscriptionStatus {
  state: SubscriptionState;
  /** Failed attempts since the last successful connection. */
  attempt: number;
  /** Epoch ms since when the subscription has no working stream (null while watching). */
  disconnectedSince: number | null;
  lastError: string | null;
  failureKind: FailureKind | null;
  /** Notifications delivered so far (seq numbers also go to events made up by gap healing). */
  events: number;
  malformed: number;
  gaps: number;
  watchRoot: string | null;
}

export interface SubscriptionOptions {
  client: QumuloClient;
  /** Directory to watch: absolute path or file id. */
  ref: string;
  recursive?: boolean;
  /** Notification types to ask for; null/empty = all. */
  types?: readonly NotificationType[] | null;
  /** Identifier copied into every event's `watchId`. */
  watchId: string;
  /** First reconnect delay (default 1 s). */
  backoffInitialMs?: number;
  /** Longest reconnect delay (default 30 s). */
  backoffMaxMs?: number;
  /** No byte (not even a keep-alive) for this long → reconnect (default 60 s, like the Python SDK). */
  idleTimeoutMs?: number;
  /** Longest data line (characters, default 1 MiB); see `streamLineLimitBytes` for the stream guard. */
  maxLineLength?: number;
  /**
   * A stream counts as healthy once it has stayed open this long (default 10 s); only then does
   * the reconnect back-off start again from `backoffInitialMs`. A server that accepts and at once
   * closes the stream is retried with growing delays, not every second.
   */
  healthyAfterMs?: number;
}

/**
 * Bytes a stream may send without a line break before it is dropped: room for the longest line the
 * parser accepts in any UTF-8 (at most 4 bytes per character) plus the `data: ` field name, and
 * small enough that a server sending an endless line cannot fill the heap (4 MiB by default). A
 * line over `maxLineLength` but under this guard is still read, reported as too large and skipped,
 * and the stream goes on.
 */
export function streamLineLimitBytes(maxLineLength: number): number {
  return maxLineLength * 4 + 64;
}

export interface SubscriptionEvents {
  event: [QumuloEvent];
  status: [SubscriptionStatus];
  /** A watching stream was lost: gap opened (end is null). */
  disconnected: [GapRecord];
  /** A new stream is open after a loss: the gap is complete. */
  gap: [GapRecord];
  malformed: [MalformedReport];
}

interface Connection {
  es: EventSource | null;
  opened: boolean;
  httpError: { status: number; errorClass: string; description: string } | null;
  fetchError: unknown;
  ended: boolean;
  healthyTimer: NodeJS.Timeout | null;
}

export class NotifySubscription extends EventEmitter<SubscriptionEvents> {
  readonly watchId: string;
  readonly ref: string;
  readonly recursive: boolean;
  readonly types: readonly NotificationType[] | null;

  private client: QumuloClient;
  private watchRoot: string | null;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly idleTimeoutMs: number;
  private readonly healthyAfterMs: number;
  private readonly lineLimitBytes: number;
  private readonly parser: NotifyPayloadParser;

  private state: SubscriptionState = 'connecting';
  private attempt = 0;
  /** Last seq handed out: to notifications, and to healed events through allocateSeq(). */
  private seq = 0;
  private delivered = 0;
  private lastDeliveredSeq = 0;
  private gaps = 0;
  private lastError: string | null = null;
  private failureKind: FailureKind | null = null;
  private disconnectedSince: number | null = null;
  private openGap: GapRecord | null = null;
  private current: Connection | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastActivity = 0;
  private started = false;
  private everWatched = false;

  constructor(options: SubscriptionOptions) {
    super();
    this.client = options.client;
    this.watchId = options.watchId;
    this.ref = isFileId(options.ref) ? options.ref : normalizeAbsolutePath(options.ref);
    this.watchRoot = isFileId(this.ref) ? null : this.ref;
    this.recursive = options.recursive !== false;
    this.types = options.types && options.types.length > 0 ? [...options.types] : null;
    this.backoffInitialMs = options.backoffInitialMs ?? 1_000;
    this.backoffMaxMs = Math.max(options.backoffMaxMs ?? 30_000, this.backoffInitialMs);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.healthyAfterMs = options.healthyAfterMs ?? 10_000;
    const maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.lineLimitBytes = streamLineLimitBytes(maxLineLength);
    this.parser = new NotifyPayloadParser({
      maxLineLength,
      onMalformed: (report) => this.emitSafely('malformed', report),
    });
  }

  get status(): SubscriptionStatus {
    return {
      state: this.state,
      attempt: this.attempt,
      disconnectedSince: this.disconnectedSince,
      lastError: this.lastError,
      failureKind: this.failureKind,
      events: this.delivered,
      malformed: this.parser.malformedCount,
      gaps: this.gaps,
      watchRoot: this.watchRoot,
    };
  }

  /**
   * Hands out the next seq for an event that did not come from the stream (gap healing), so seq
   * stays unique and increasing per subscription across live and healed events.
   */
  allocateSeq(): number {
    return ++this.seq;
  }

  /** The gap currently open (stream lost and not yet back), if any. */
  get currentGap(): GapRecord | null {
    return this.openGap ? { ...this.openGap } : null;
  }

  get currentClient(): QumuloClient {
    return this.client;
  }

  start(): void {
    if (this.started || this.state === 'closed') return;
    this.started = true;
    this.setState('connecting');
    const interval = Math.max(10, Math.min(5_000, Math.floor(this.idleTimeoutMs / 4)));
    this.idleTimer = setInterval(() => this.checkIdle(), interval);
    this.idleTimer.unref();
    void this.connect();
  }

  /**
   * Uses another client from now on (the cluster config changed credentials). The open stream
   * keeps running; the next connection uses the new client. If the subscription is failing,
   * it retries right away.
   */
  setClient(client: QumuloClient): void {
    if (client === this.client) return;
    this.client = client;
    if (this.state === 'error' || this.state === 'reconnecting') {
      this.attempt = 0;
      this.scheduleConnect(0);
    }
  }

  /** Drops the current stream and reconnects (tests, manual retry). */
  reconnectNow(reason: GapReason = 'error', detail = 'reconnect requested'): void {
    if (this.current) this.connectionLost(this.current, reason, detail, 'network');
    else this.scheduleConnect(0);
  }

  close(): void {
    if (this.state === 'closed') return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.reconnectTimer = null;
    this.idleTimer = null;
    const conn = this.current;
    this.current = null;
    if (conn?.healthyTimer) clearTimeout(conn.healthyTimer);
    conn?.es?.close();
    this.setState('closed');
    this.removeAllListeners();
  }

  // ----- connection ---------------------------------------------------------------------------

  private async connect(): Promise<void> {
    if (this.state === 'closed') return;
    const conn: Connection = { es: null, opened: false, httpError: null, fetchError: null, ended: false, healthyTimer: null };
    this.current = conn;
    this.lastActivity = Date.now();
    if (this.openGap) this.openGap.attempts++;
    const client = this.client;
    try {
      if (this.watchRoot === null) {
        // Watching by file id: the events carry paths relative to the directory, so learn its path.
        const attrs = await client.getAttributes(this.ref);
        this.watchRoot = normalizeDirPath(String(attrs.path));
      }
    } catch (err) {
      conn.fetchError = err;
      this.connectionLost(conn, 'error', errorMessage(err), classify(err, null));
      return;
    }
    if (conn !== this.current) return;
    const url = client.notifyUrl(this.ref, { recursive: this.recursive, filter: this.types });
    const fetchForConnection = async (input: string | URL, init?: FetchInit): Promise<Response> => {
      this.lastActivity = Date.now();
      let response: Response;
      try {
        response = await client.authorizedFetch(input, init);
      } catch (err) {
        conn.fetchError = err;
        throw err;
      }
      if (response.status !== 200) {
        const text = await response.text().catch(() => '');
        conn.httpError = { status: response.status, ...errorFields(text) };
        return new Response(null, { status: response.status === 204 ? 500 : response.status });
      }
      if (!response.body) return response;
      // Watch every byte (keep-alive comments included) for the idle watchdog, count the bytes
      // since the last line break as they arrive (a line without end would otherwise be buffered
      // without limit by the SSE reader), and present the stream as text/event-stream whatever
      // Content-Type the cluster sends (UNCONFIRMED).
      let sinceLineBreak = 0;
      const limit = this.lineLimitBytes;
      const tap = new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => {
          this.lastActivity = Date.now();
          sinceLineBreak = bytesAfterLastLineBreak(chunk, sinceLineBreak, limit);
          if (sinceLineBreak > limit) {
            const detail = `the cluster sent more than ${limit} bytes without a line break (the longest accepted line is ${this.parser.maxLineLength} characters); stream dropped`;
            // Report and drop first (so the reader's own error cannot claim the failure), then
            // stop the pipe: nothing more of this stream is read or buffered.
            this.lineTooLong(conn, detail);
            try {
              controller.error(new Error(detail));
            } catch {
              // Already closed by the abort above.
            }
            return;
          }
          controller.enqueue(chunk);
        },
      });
      return new Response(response.body.pipeThrough(tap), { status: 200, headers: { 'content-type': 'text/event-stream' } });
    };
    const es = new EventSource(url, { fetch: fetchForConnection as unknown as typeof fetch });
    conn.es = es;
    es.onopen = () => {
      try {
        if (conn === this.current) this.connectionOpened(conn);
      } catch (err) {
        this.lastError = errorMessage(err);
      }
    };
    es.onmessage = (message: MessageEvent) => {
      try {
        if (conn === this.current) this.handleData(String(message.data));
      } catch (err) {
        // Never let a consumer's exception escape into the EventTarget (it would crash the process).
        this.lastError = errorMessage(err);
      }
    };
    es.onerror = (event: Event & { code?: number; message?: string }) => {
      try {
        if (conn !== this.current) return;
        this.handleFailure(conn, event.code, event.message);
      } catch (err) {
        this.lastError = errorMessage(err);
      }
    };
  }

  private connectionOpened(conn: Connection): void {
    conn.opened = true;
    this.everWatched = true;
    // The back-off starts over only once this stream proved healthy (stayed open), not on open.
    conn.healthyTimer = setTimeout(() => {
      conn.healthyTimer = null;
      if (conn === this.current) this.attempt = 0;
    }, this.healthyAfterMs);
    conn.healthyTimer.unref();
    this.lastError = null;
    this.failureKind = null;
    this.disconnectedSince = null;
    const gap = this.openGap;
    this.openGap = null;
    this.setState('watching');
    if (gap) {
      gap.end = Date.now();
      this.gaps++;
      this.emitSafely('gap', gap);
    }
  }

  private handleData(data: string): void {
    const notifications = this.parser.parse(data);
    if (notifications.length === 0) return;
    const receivedAt = Date.now();
    const watchRoot = this.watchRoot ?? '/';
    for (const raw of notifications) {
      this.seq++;
      this.delivered++;
      this.lastDeliveredSeq = this.seq;
      const event = normalizeNotification(raw, { watchId: this.watchId, watchRoot, seq: this.seq, receivedAt });
      this.emitSafely('event', event);
    }
  }

  private handleFailure(conn: Connection, code: number | undefined, message: string | undefined): void {
    if (code !== undefined && code !== 200) {
      const http = conn.httpError;
      const errorClass = http?.errorClass ?? '';
      const detail = `HTTP ${code}${errorClass ? ' ' + errorClass : ''}${http?.description ? ': ' + http.description : ''}`;
      if (errorClass === 'fs_watcher_missed_events_error') {
        this.connectionLost(conn, 'overflow', `the cluster dropped notifications (${detail})`, 'overflow');
      } else if (code === 401) {
        this.connectionLost(conn, 'auth', `token rejected (${detail})`, 'auth');
      } else if (code === 403) {
        const hint = this.recursive ? ' — a recursive watch needs the DATA_ADMINISTRATOR privilege' : ' — the user needs read access to the directory';
        this.connectionLost(conn, 'error', `access denied (${detail})${hint}`, 'permission');
      } else if (code === 404) {
        this.connectionLost(conn, 'error', `${this.ref} not found (${detail})`, 'not-found');
      } else {
        this.connectionLost(conn, 'error', detail || message || 'HTTP error', 'http');
      }
      return;
    }
    if (conn.fetchError) {
      this.connectionLost(conn, conn.fetchError instanceof QumuloAuthError ? 'auth' : 'error', errorMessage(conn.fetchError), classify(conn.fetchError, null));
      return;
    }
    if (!message) {
      // eventsource reports a cleanly ended body as an error without message.
      this.connectionLost(conn, 'stream-end', 'the cluster closed the stream', 'stream-end');
    } else {
      this.connectionLost(conn, 'error', message, 'network');
    }
  }

  /** The stream guard tripped: report it like a malformed line, then drop and reconnect. */
  private lineTooLong(conn: Connection, detail: string): void {
    if (conn !== this.current || this.state === 'closed') return;
    this.parser.reportExternal('too-large', detail, '', this.lineLimitBytes);
    this.connectionLost(conn, 'error', detail, 'line-too-long');
  }

  private checkIdle(): void {
    const conn = this.current;
    if (!conn || this.state === 'closed' || !conn.es) return;
    const idleFor = Date.now() - this.lastActivity;
    if (idleFor > this.idleTimeoutMs) {
      this.connectionLost(conn, 'idle', `no data or keep-alive for ${Math.round(idleFor / 1000)} s`, 'idle');
    }
  }

  private connectionLost(conn: Connection, reason: GapReason, detail: string, kind: FailureKind): void {
    if (conn !== this.current || this.state === 'closed') return;
    this.current = null;
    if (conn.healthyTimer) clearTimeout(conn.healthyTimer);
    conn.healthyTimer = null;
    conn.es?.close();
    const now = Date.now();
    if (conn.opened || (this.everWatched && !this.openGap)) {
      // A stream that went silent was dead since its last byte, not since the watchdog noticed.
      const start = reason === 'idle' && this.lastActivity > 0 ? Math.min(now, this.lastActivity) : now;
      this.openGap = { watchId: this.watchId, watchRoot: this.watchRoot ?? this.ref, start, end: null, reason, detail, attempts: 0, lastSeqBefore: this.lastDeliveredSeq };
      this.disconnectedSince = start;
      this.emitSafely('disconnected', { ...this.openGap });
    } else if (this.openGap && reason === 'overflow') {
      // Learned on reconnect that the cluster had dropped events: say so in the gap.
      this.openGap.reason = 'overflow';
      this.openGap.detail = detail;
    }
    if (this.disconnectedSince === null) this.disconnectedSince = now;
    this.attempt++;
    this.lastError = detail;
    this.failureKind = kind;
    const renewable = kind === 'auth' && reason === 'auth' && this.client.canLogin && !(conn.fetchError instanceof QumuloAuthError);
    const permanent = (kind === 'auth' && !renewable) || kind === 'tls' || kind === 'permission' || kind === 'not-found';
    this.setState(permanent ? 'error' : 'reconnecting');
    // A rejected session token is renewed by the next connection's login: try at once, once.
    const delay = renewable && this.attempt === 1 ? 0 : this.backoffDelay(this.attempt);
    this.scheduleConnect(delay);
  }

  private backoffDelay(attempt: number): number {
    const ceiling = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(attempt - 1, 30));
    // "Equal jitter": at least half the ceiling, so many watchers do not reconnect in lockstep.
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  private scheduleConnect(delayMs: number): void {
    if (this.state === 'closed') return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.current?.es) {
        // setClient while a stream is open: keep it.
        return;
      }
      void this.connect();
    }, delayMs);
  }

  private setState(state: SubscriptionState): void {
    this.state = state;
    this.emitSafely('status', this.status);
  }

  private emitSafely<K extends keyof SubscriptionEvents>(name: K, ...args: SubscriptionEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: SubscriptionEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      this.lastError = `listener of ${String(name)} failed: ${errorMessage(err)}`;
    }
  }
}

/**
 * Bytes after the last CR or LF once `chunk` is appended to a line that already had `carried`
 * bytes; returns early with a value above `limit` as soon as any line passes it.
 */
export function bytesAfterLastLineBreak(chunk: Uint8Array, carried: number, limit: number): number {
  let run = carried;
  let from = 0;
  // Each kind of break is searched again only once passed: a stream without CRs would otherwise
  // be scanned to its end for a CR at every LF (quadratic in the lines per chunk).
  let lf = chunk.indexOf(10);
  let cr = chunk.indexOf(13);
  for (;;) {
    const next = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
    if (next < 0) return run + (chunk.length - from);
    if (run + (next - from) > limit) return run + (next - from);
    run = 0;
    from = next + 1;
    if (lf >= 0 && lf < from) lf = chunk.indexOf(10, from);
    if (cr >= 0 && cr < from) cr = chunk.indexOf(13, from);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function classify(err: unknown, _status: number | null): FailureKind {
  if (err instanceof QumuloTlsError) return 'tls';
  if (err instanceof QumuloAuthError) return 'auth';
  if (err instanceof QumuloError && 'status' in err) {
    const status = (err as { status: number }).status;
    if (status === 403) return 'permission';
    if (status === 404) return 'not-found';
    return 'http';
  }
  return 'network';
}

function errorFields(text: string): { errorClass: string; description: string } {
  try {
    const body = JSON.parse(text) as { error_class?: unknown; description?: unknown };
    return { errorClass: typeof body.error_class === 'string' ? body.error_class : '', description: typeof body.description === 'string' ? body.description : '' };
  } catch {
    return { errorClass: '', description: text.slice(0, 200) };
  }
}
