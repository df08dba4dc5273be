// The self-write ledger shared through Redis, so several Node-RED instances acting on the same
// cluster recognise each other's writes (without it, instance B acts on the echo of instance A's
// action, A acts on B's echo, and so on).
//
// Design: one Redis stream per cluster identity. Each instance XADDs its intents to it *before*
// the mutation is sent (the client awaits its mutation listeners), and reads its peers' intents
// into its local in-memory ledger, so matching stays a local Map lookup.
//
// Consistency: a peer's intent is in Redis before the cluster even receives the mutation, hence
// before the watcher can see the echo. So before deciding on an event received at time E, the guard
// makes sure it has read the stream as of a moment later than E: a "read barrier". Events that
// waited in a queue are already covered and cost nothing; live events cost at most one XREAD per
// batch (reads are coalesced: one read covers every event received before it was issued).
// Clocks: E is stamped by the watcher's host and the barrier by ours (`watcherSkewMs`); the
// peer's intent time is compared with E by the ledger's `remoteSkewMs`.
// If Redis is unreachable the guard fails open (local ledger only, errors reported): the hop
// limit and the breaker still bound any ping-pong that results.

import type { NotificationType } from '../event';
import type { MutationIntent, MutationKind } from '../qumulo/types';
import type { GuardCore, IntentRecord } from './guard';
import { LOCAL_SOURCE } from './ledger';

/** The few Redis commands used; an ioredis client satisfies it. */
export interface RedisCommandRunner {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

export interface SharedLedgerOptions {
  /** Stream key, one per cluster identity. */
  streamKey: string;
  /** Distinguishes this process's intents from its peers'. */
  instanceId: string;
  /** Approximate cap on the stream length (XADD MAXLEN ~). */
  maxLength: number;
  /** Key TTL, and how far back a starting instance reads. */
  retentionMs: number;
  /**
   * How far the clock of the host whose watcher stamped `receivedAt` may run ahead of ours (0 when
   * the watcher runs in this process, the usual case; raise it when events come through a Redis
   * queue from a watcher on another host). Live events wait this long for the read barrier.
   */
  watcherSkewMs: number;
  /** Entries per XREAD. */
  readCount: number;
  /**
   * How long a publish (which holds back the mutation) or a read barrier (which holds back the
   * guard's decision) may wait for Redis before the guard goes on without it (fail open).
   */
  timeoutMs: number;
}

export const DEFAULT_SHARED_LEDGER_OPTIONS: Omit<SharedLedgerOptions, 'streamKey' | 'instanceId'> = {
  maxLength: 100_000,
  retentionMs: 10 * 60_000,
  watcherSkewMs: 0,
  readCount: 1_000,
  timeoutMs: 1_000,
};

export function sharedLedgerStreamKey(clusterIdentity: string): string {
  return `qumulo-flow:guard:{${clusterIdentity}}:intents`;
}

export interface SharedLedgerStats {
  published: number;
  applied: number;
  reads: number;
  errors: number;
  lastError: string | null;
  /** Epoch ms of the last failed / successful Redis call: failing while lastErrorAt > lastOkAt. */
  lastErrorAt: number;
  lastOkAt: number;
}

export class SharedLedger {
  private readonly options: SharedLedgerOptions;
  private lastId = '0-0';
  /** Our clock when the latest complete read was issued: every peer intent before it is applied. */
  private coveredUntil = 0;
  private runningRead: Promise<boolean> | null = null;
  private runningIssuedAt = 0;
  private queuedRead: Promise<boolean> | null = null;
  private removePublisher: (() => void) | null = null;
  private stopped = false;
  private readonly stats: SharedLedgerStats = { published: 0, applied: 0, reads: 0, errors: 0, lastError: null, lastErrorAt: 0, lastOkAt: 0 };

  constructor(
    private readonly core: GuardCore,
    private readonly redis: RedisCommandRunner,
    options: Pick<SharedLedgerOptions, 'streamKey' | 'instanceId'> & Partial<SharedLedgerOptions>,
    private readonly onError: (error: Error) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...DEFAULT_SHARED_LEDGER_OPTIONS, ...options };
  }

  /**
   * Starts publishing local intents and reads the stream from `fromId` (where an earlier reader in
   * this process stopped, so nothing is applied twice) or else from `retentionMs` ago.
   */
  async start(fromId?: string): Promise<void> {
    this.lastId = fromId ?? `${Math.max(0, this.now() - this.options.retentionMs)}-0`;
    this.removePublisher = this.core.addPublisher((record) => this.publish(record));
    await this.sync();
  }

  stop(): void {
    this.stopped = true;
    this.removePublisher?.();
    this.removePublisher = null;
  }

  /** True while the latest Redis call failed (the guard decides with its local ledger). */
  get failing(): boolean {
    return this.stats.lastErrorAt > this.stats.lastOkAt;
  }

  /** Id of the last stream entry read. */
  get position(): string {
    return this.lastId;
  }

  getStats(): SharedLedgerStats {
    return { ...this.stats };
  }

  /**
   * Null when every peer intent that could have caused an event received at `receivedAt` is
   * already in the local ledger; otherwise a promise that settles once it is (never rejects; on a
   * Redis error it settles anyway and the guard decides with what it has: fail open).
   */
  barrier(receivedAt: number): Promise<void> | null {
    const needed = receivedAt + this.options.watcherSkewMs;
    if (needed < this.coveredUntil || this.stopped) return null;
    return this.withinTimeout(this.coverUntil(needed), 'read barrier');
  }

  /** Settles when `work` does or after `timeoutMs`, whichever is first; a timeout is reported. */
  private withinTimeout(work: Promise<void>, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.fail(new Error(`${what}: no answer from Redis within ${this.options.timeoutMs} ms, going on with the local ledger`));
        resolve();
      }, this.options.timeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  /** Reads every peer intent added so far. Never rejects. */
  async sync(): Promise<void> {
    await this.nextRead(this.now());
  }

  private async coverUntil(needed: number): Promise<void> {
    while (!this.stopped && needed >= this.coveredUntil) {
      // A read only covers what was added before it was issued: wait until our clock is past
      // the event (at most a millisecond for a watcher in this process), then read.
      const wait = needed - this.now() + 1;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!(await this.nextRead(needed))) return;
    }
  }

  /**
   * A read that covers `needed`: the running one if it was issued after it, else the one queued
   * behind it (not issued yet, so it covers every caller that joins it).
   */
  private nextRead(needed: number): Promise<boolean> {
    if (this.runningRead !== null && this.runningIssuedAt > needed) return this.runningRead;
    if (this.queuedRead !== null) return this.queuedRead;
    if (this.runningRead === null) return this.runRead();
    const queued = this.runningRead.then(() => {
      this.queuedRead = null;
      return this.runRead();
    });
    this.queuedRead = queued;
    return queued;
  }

  private runRead(): Promise<boolean> {
    this.runningIssuedAt = this.now();
    const running = this.readAll(this.runningIssuedAt);
    this.runningRead = running;
    void running.then(() => {
      if (this.runningRead === running) this.runningRead = null;
    });
    return running;
  }

  private publish(record: IntentRecord): Promise<void> {
    if (record.source !== LOCAL_SOURCE || this.stopped) return Promise.resolve();
    return this.withinTimeout(this.append(record), 'publishing an intent');
  }

  private async append(record: IntentRecord): Promise<void> {
    const { intent } = record;
    const fields: string[] = ['src', this.options.instanceId, 't', String(record.recordedAt), 'k', intent.kind];
    fields.push('p', JSON.stringify(intent.paths), 'f', JSON.stringify(record.fileIds), 'x', JSON.stringify(intent.expectedTypes));
    if (intent.origin !== undefined) fields.push('o', intent.origin);
    try {
      await this.redis.call('XADD', this.options.streamKey, 'MAXLEN', '~', this.options.maxLength, '*', ...fields);
      this.stats.published++;
      this.stats.lastOkAt = this.now();
      if (this.stats.published % 256 === 1) {
        void this.redis.call('PEXPIRE', this.options.streamKey, this.options.retentionMs).catch((err: unknown) => this.fail(err));
      }
    } catch (err) {
      this.fail(err); // fail open: the mutation still goes ahead, the hop limit bounds any ping-pong
    }
  }

  private async readAll(issuedAt: number): Promise<boolean> {
    try {
      for (;;) {
        this.stats.reads++;
        const reply = await this.redis.call('XREAD', 'COUNT', this.options.readCount, 'STREAMS', this.options.streamKey, this.lastId);
        const entries = streamEntries(reply);
        for (const [id, fields] of entries) {
          this.lastId = id;
          this.apply(fields);
        }
        if (entries.length < this.options.readCount) break;
      }
      this.coveredUntil = Math.max(this.coveredUntil, issuedAt);
      this.stats.lastOkAt = this.now();
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  private apply(fields: string[]): void {
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i], fields[i + 1]);
    const source = map.get('src');
    if (source === undefined || source === this.options.instanceId) return; // our own: already local
    const recordedAt = Number(map.get('t'));
    const intent = parseIntent(map);
    if (!Number.isFinite(recordedAt) || intent === null) return;
    this.core.recordIntent(intent, recordedAt, source);
    this.stats.applied++;
  }

  private fail(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.stats.errors++;
    this.stats.lastError = error.message;
    this.stats.lastErrorAt = this.now();
    this.onError(error);
  }
}

function parseIntent(map: Map<string, string>): MutationIntent | null {
  try {
    const paths = JSON.parse(map.get('p') ?? '[]') as unknown;
    const fileIds = JSON.parse(map.get('f') ?? '[]') as unknown;
    const expectedTypes = JSON.parse(map.get('x') ?? '[]') as unknown;
    if (!isStringArray(paths) || !isStringArray(fileIds) || !isStringArray(expectedTypes)) return null;
    return {
      kind: (map.get('k') ?? 'set-attributes') as MutationKind,
      paths,
      fileIds,
      expectedTypes: expectedTypes as NotificationType[],
      origin: map.get('o'),
    };
  } catch {
    return null;
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** `[[key, [[id, [field, value, …]], …]]]` (RESP2 shape) → entries; tolerant of null. */
function streamEntries(reply: unknown): [string, string[]][] {
  if (!Array.isArray(reply)) return [];
  const result: [string, string[]][] = [];
  for (const stream of reply) {
    if (!Array.isArray(stream) || !Array.isArray(stream[1])) continue;
    for (const entry of stream[1] as unknown[]) {
      if (Array.isArray(entry) && typeof entry[0] === 'string' && Array.isArray(entry[1])) {
        result.push([entry[0], (entry[1] as unknown[]).map(String)]);
      }
    }
  }
  return result;
}
