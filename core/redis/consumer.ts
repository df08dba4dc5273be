// The consumer-group reader behind qumulo-redis-in: at-least-once delivery with bounded memory.
//
// - Start: XGROUP CREATE … MKSTREAM (if missing), then re-read this consumer's own pending
//   entries (XREADGROUP … 0: what it was given before a crash or restart), then new ones (`>`),
//   in blocking batches on a dedicated connection.
// - At most `maxInFlight` entries are held between delivery and settlement (ack confirmed by
//   Redis, failure recorded, or timeout), whatever the backlog: reads ask only for free slots.
// - Entries left pending longer than `claimIdleMs` (dead consumer, or a failed attempt) are taken
//   over with XAUTOCLAIM and delivered again. Entries this process still works on are kept fresh
//   with XCLAIM … JUSTID (no delivery-count bump) so nobody else claims them.
// - An entry delivered more than `maxDeliveries` times, or one that cannot be decoded, is copied
//   to the dead-letter stream with the last recorded error, then acknowledged.
// - New entries are read with a script that returns only each id and event JSON, packed into one
//   string (a fraction of the client CPU of decoding full XREADGROUP replies); when it finds
//   nothing, a blocking XREADGROUP waits for the next ones. Where scripts are refused, plain
//   XREADGROUP does everything.
import type { RedisClient } from './connection';
import { decodeEvent, decodeEventJson, type StoredEvent } from './encoding';
import { READ_SCRIPT, scriptingRefused, unpackReadReply } from './scripts';
import { countRedis, setRedisBacklog } from '../metrics';

export interface StreamConsumerOptions {
  /** Full stream key (prefix applied). */
  stream: string;
  group: string;
  consumer: string;
  /** Where a newly created group starts: `0` = whole stream (default), `$` = only new entries. */
  startId?: '0' | '$';
  /** Entries per XREADGROUP / XAUTOCLAIM (default 100). */
  batchSize?: number;
  /** BLOCK time of one read, ms (default 2000). */
  blockMs?: number;
  /** Most entries delivered and not yet settled (default 1000). */
  maxInFlight?: number;
  /** Pending entries idle longer than this are claimed and redelivered, ms (default 30000). */
  claimIdleMs?: number;
  /** Deliveries allowed before an entry goes to the dead-letter stream (default 5). */
  maxDeliveries?: number;
  /** An entry delivered but not settled after this long is released (not acked), ms; 0 = never (default 300000). */
  ackTimeoutMs?: number;
  /** Full key of the dead-letter stream (default `<stream>:dead`). */
  deadLetterStream?: string;
  /** `MAXLEN ~` for the dead-letter stream; 0 = no trim (default 100000). */
  deadLetterMaxLen?: number;
  /** How often to refresh pending/lag figures, ms; 0 = never (default 2000). */
  statsIntervalMs?: number;
  /** Read new entries with the read script while there are some (default true). */
  useScripts?: boolean;
  /**
   * Whether re-reading this consumer's own pending entries at start counts a delivery (default
   * true: after a crash, so an entry that crashes the process ends in the dead-letter stream).
   * False when the consumer takes over from one that a deploy stopped in the same process: those
   * entries were in the flow, not failing, and deploys must not push them to the dead letters.
   */
  countOwnPending?: boolean;
}

export interface DeliveredEntry {
  id: string;
  /** Redis' delivery count for this entry, 1 on first delivery. */
  deliveries: number;
  event: StoredEvent;
}

export interface DeadLetterReport {
  id: string;
  deadLetterId: string;
  deadLetterStream: string;
  deliveries: number;
  error: string;
  /** Decoded event when the entry could be decoded. */
  event?: StoredEvent;
}

export interface ConsumerStats {
  inFlight: number;
  /** Entries delivered to the group and not acknowledged (all consumers), from XINFO GROUPS. */
  pending?: number;
  /** Entries not yet delivered to the group (Redis 7+), from XINFO GROUPS. */
  lag?: number | null;
  delivered: number;
  acked: number;
  failed: number;
  deadLettered: number;
}

export interface ConsumerHandlers {
  /**
   * Hand an entry to the flow. Throwing counts as a failed attempt. May return a tag (the
   * message id) that comes back with timedOut, so the caller needs no id map of its own.
   */
  deliver(entry: DeliveredEntry): string | void;
  deadLettered?(report: DeadLetterReport): void;
  /** An entry was not settled within ackTimeoutMs: given up locally (not acked), it will be redelivered. */
  timedOut?(id: string, afterMs: number, tag: string | undefined): void;
  warning?(text: string): void;
  /** The read loop hit an error (reported once until it recovers). */
  error?(err: Error): void;
  /** The read loop is reading again after an error (or for the first time). */
  healthy?(): void;
  stats?(stats: ConsumerStats): void;
}

type RawEntry = [string, string[] | null];
type ReadReply = Array<[string, RawEntry[]]> | null;

interface InFlight {
  deliveries: number;
  deliveredAt: number;
  touchedAt: number;
  /**
   * delivered: with the flow; acking: XACK sent; early: acknowledged on receipt, the slot is
   * held until the flow is done with it; dead: being dead-lettered.
   */
  state: 'delivered' | 'acking' | 'early' | 'dead';
  /** What deliver() returned. */
  tag: string | undefined;
}

interface AckBatch {
  ids: string[];
  clearErrors: string[];
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

const DEFAULTS = {
  startId: '0' as const,
  batchSize: 100,
  blockMs: 2000,
  maxInFlight: 1000,
  claimIdleMs: 30_000,
  maxDeliveries: 5,
  ackTimeoutMs: 300_000,
  deadLetterMaxLen: 100_000,
  statsIntervalMs: 2000,
};

/** How much longer than BLOCK a read may take before the connection is considered dead. */
const WATCHDOG_GRACE_MS = 15_000;

/** Failure records live this long after the last failure of any entry in the stream. */
const ERROR_RECORD_TTL_SECONDS = 7 * 24 * 3600;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  // Error-like, also from another realm (a function node's sandbox throws its own Error class).
  if (typeof error === 'object' && error !== null && typeof (error as Error).message === 'string') {
    const { name, message } = error as Error;
    return name && name !== 'Error' ? `${name}: ${message}` : message || String(name);
  }
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

export class StreamConsumer {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly deadLetterStream: string;
  /** Hash of last failure per entry id, read when dead-lettering (shared by the group's consumers). */
  readonly errorsKey: string;
  private readonly startId: '0' | '$';
  private readonly batchSize: number;
  private readonly blockMs: number;
  private readonly maxInFlight: number;
  private readonly claimIdleMs: number;
  private readonly maxDeliveries: number;
  private readonly ackTimeoutMs: number;
  private readonly deadLetterMaxLen: number;
  private readonly statsIntervalMs: number;
  private scriptReads: boolean;
  /** The last read filled its count: more entries are probably waiting (read them by script). */
  private backlog = true;
  private countOwnPending: boolean;

  private readonly inFlight = new Map<string, InFlight>();
  private capacityWaiters: Array<() => void> = [];
  private openBatch: AckBatch | undefined;
  private acksInProgress = 0;
  private claimCursor = '0-0';
  private lastClaimAt = 0;
  private lastStatsAt = 0;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Entries still held when stop() returned (for handOver()). */
  private leftover: string[] = [];
  private loopFailing = false;
  private readonly counters = { delivered: 0, acked: 0, failed: 0, deadLettered: 0 };
  private lastGroupInfo: { pending?: number; lag?: number | null } = {};

  constructor(
    private readonly commands: RedisClient,
    private readonly blocking: RedisClient,
    options: StreamConsumerOptions,
    private readonly handlers: ConsumerHandlers,
  ) {
    this.stream = options.stream;
    this.group = options.group;
    this.consumer = options.consumer;
    this.startId = options.startId ?? DEFAULTS.startId;
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULTS.batchSize));
    this.blockMs = Math.max(1, Math.floor(options.blockMs ?? DEFAULTS.blockMs));
    this.maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? DEFAULTS.maxInFlight));
    this.claimIdleMs = Math.max(10, Math.floor(options.claimIdleMs ?? DEFAULTS.claimIdleMs));
    this.maxDeliveries = Math.max(1, Math.floor(options.maxDeliveries ?? DEFAULTS.maxDeliveries));
    this.ackTimeoutMs = Math.max(0, Math.floor(options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs));
    this.deadLetterStream = options.deadLetterStream || `${options.stream}:dead`;
    this.deadLetterMaxLen = Math.max(0, Math.floor(options.deadLetterMaxLen ?? DEFAULTS.deadLetterMaxLen));
    this.statsIntervalMs = Math.max(0, Math.floor(options.statsIntervalMs ?? DEFAULTS.statsIntervalMs));
    this.errorsKey = `${options.stream}:errors:${options.group}`;
    this.scriptReads = options.useScripts !== false;
    this.countOwnPending = options.countOwnPending !== false;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  isInFlight(id: string): boolean {
    return this.inFlight.has(id);
  }

  /** Delivered here and neither acknowledged (or being acknowledged) nor given up yet. */
  isAwaitingAck(id: string): boolean {
    return this.inFlight.get(id)?.state === 'delivered';
  }

  stats(): ConsumerStats {
    return { inFlight: this.inFlight.size, ...this.lastGroupInfo, ...this.counters };
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
    this.scheduleMaintenance();
  }

  /**
   * Stops reading, waits up to `drainMs` for delivered entries to be settled (their acks still
   * go out), then returns. Entries still held stay pending in Redis and come back on restart.
   */
  async stop(drainMs = 0): Promise<void> {
    if (this.stopping) {
      await this.loop;
      return;
    }
    this.stopping = true;
    if (this.maintenanceTimer) clearTimeout(this.maintenanceTimer);
    this.wakeCapacityWaiters();
    this.blocking.disconnect(); // aborts a blocking XREADGROUP at once
    await this.loop;
    const deadline = Date.now() + drainMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await sleep(Math.min(20, drainMs));
    if (this.openBatch) this.flushAcks();
    while (this.acksInProgress > 0 && Date.now() < deadline + 2000) await sleep(10);
    this.leftover = [...this.inFlight].filter(([, entry]) => entry.state === 'delivered').map(([id]) => id);
    this.inFlight.clear();
  }

  /**
   * Graceful handover, after stop(): the entries this consumer still held become claimable by the
   * group's other consumers at their next scan (idle time set to the claim time), instead of one
   * claim time later. A consumer of the same name that starts at once re-reads them first.
   * Resolves with how many were handed over.
   */
  async handOver(): Promise<number> {
    const ids = this.leftover;
    this.leftover = [];
    for (let i = 0; i < ids.length; i += 500) {
      await this.commands.call('XCLAIM', this.stream, this.group, this.consumer, '0', ...ids.slice(i, i + 500), 'IDLE', String(this.claimIdleMs), 'JUSTID');
    }
    return ids.length;
  }

  /** Acknowledge `id` (batched with others of the same turn). Resolves when Redis confirmed. */
  ack(id: string): Promise<void> {
    const entry = this.inFlight.get(id);
    if (entry) {
      if (entry.state === 'dead') return Promise.resolve(); // the dead-letter move acks it
      if (entry.state === 'acking' && this.openBatch?.ids.includes(id)) return this.openBatch.promise;
      entry.state = 'acking';
    }
    return this.enqueueAck(id, !entry || entry.deliveries > 1);
  }

  /**
   * The flow failed on `id`: record the error for the dead letter, free the slot and leave the
   * entry pending, so it is redelivered after `claimIdleMs` (and dead-lettered after the limit).
   */
  fail(id: string, error: unknown): void {
    const entry = this.inFlight.get(id);
    if (!entry || entry.state !== 'delivered') return;
    this.counters.failed++;
    countRedis('failed', this.stream, this.group);
    const text = errorText(error);
    this.commands.hset(this.errorsKey, id, text).catch(() => undefined);
    this.commands.expire(this.errorsKey, ERROR_RECORD_TTL_SECONDS).catch(() => undefined);
    this.settle(id);
  }

  /**
   * Acknowledge on receipt: XACK now, but keep the in-flight slot until release(id), so memory
   * stays bounded while the flow works on it.
   */
  ackEarly(id: string): void {
    const entry = this.inFlight.get(id);
    if (!entry || entry.state !== 'delivered') return;
    entry.state = 'early';
    this.enqueueAck(id, entry.deliveries > 1).catch(() => undefined);
  }

  /**
   * Frees the slot of `id`. An unacknowledged entry is given up locally (it is redelivered after
   * the claim idle time); an early-acked one is simply done.
   */
  release(id: string): void {
    const state = this.inFlight.get(id)?.state;
    if (state === 'early' || state === 'delivered') this.settle(id);
  }

  /**
   * The flow lost the message carrying `id` (a deploy cut it): deliver the entry again now
   * instead of after the claim idle time. `countDelivery` false (a deploy cut) leaves the
   * entry's delivery count alone, so deploys never push an entry to the dead-letter stream;
   * true counts it, so an entry the flow keeps losing outside deploys ends there.
   */
  async redeliver(id: string, countDelivery: boolean): Promise<void> {
    const entry = this.inFlight.get(id);
    if (!entry || entry.state !== 'delivered' || this.stopping) return;
    this.settle(id);
    try {
      let fields: string[] | null = null;
      let deliveries = entry.deliveries;
      if (countDelivery) {
        const claimed = (await this.commands.call('XCLAIM', this.stream, this.group, this.consumer, '0', id)) as RawEntry[];
        if (claimed.length === 0) return; // no longer pending (acked or claimed elsewhere)
        fields = claimed[0][1];
        deliveries++;
      } else {
        const claimed = (await this.commands.call('XCLAIM', this.stream, this.group, this.consumer, '0', id, 'JUSTID')) as string[];
        if (claimed.length === 0) return;
        const entries = (await this.commands.xrange(this.stream, id, id)) as RawEntry[];
        fields = entries[0]?.[1] ?? null;
      }
      if (this.stopping) return; // still pending: the next start re-reads it
      this.handle(id, fields, deliveries);
    } catch (err) {
      // Still pending in Redis: re-read at the next start or claimed after the idle time.
      this.handlers.warning?.(`could not deliver entry ${id} again at once (${errorText(err)}); it stays pending and comes back after the claim idle time`);
    }
  }

  // ---- read loop ---------------------------------------------------------------------------

  private async run(): Promise<void> {
    let backoffMs = 100;
    while (!this.stopping) {
      try {
        await this.ensureGroup();
        await this.readOwnPending();
        this.markHealthy();
        backoffMs = 100;
        while (!this.stopping) {
          await this.waitForCapacity();
          if (this.stopping) break;
          await this.readNew();
          this.markHealthy();
        }
      } catch (err) {
        if (this.stopping) break;
        if (!this.loopFailing) {
          this.loopFailing = true;
          this.handlers.error?.(err instanceof Error ? err : new Error(String(err)));
        }
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  }

  private markHealthy(): void {
    if (this.loopFailing || !this.healthyReported) {
      this.loopFailing = false;
      this.healthyReported = true;
      this.handlers.healthy?.();
    }
  }
  private healthyReported = false;

  /**
   * Runs a command on the blocking connection with a watchdog: a reply overdue by
   * WATCHDOG_GRACE_MS (half-open TCP, a stuck proxy) drops the connection, which fails the
   * command and lets the loop start over on a fresh one.
   */
  private async onBlockingConnection<T>(command: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no reply from Redis within ${this.blockMs + WATCHDOG_GRACE_MS} ms; reconnecting`));
        if (!this.stopping) this.blocking.disconnect(true);
      }, this.blockMs + WATCHDOG_GRACE_MS);
    });
    try {
      return await Promise.race([command(), watchdog]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.onBlockingConnection(() => this.blocking.xgroup('CREATE', this.stream, this.group, this.startId, 'MKSTREAM'));
    } catch (err) {
      if (!/BUSYGROUP/.test(errorText(err))) throw err;
    }
  }

  /** Re-reads what the group already gave this consumer name (before a crash/restart/reconnect). */
  private async readOwnPending(): Promise<void> {
    if (!this.countOwnPending) {
      await this.readOwnPendingUncounted();
      // Later re-reads (a reconnect) find these in flight and skip them; a new consumer name's
      // crash recovery is not this one's business.
      return;
    }
    let cursor = '0';
    while (!this.stopping) {
      await this.waitForCapacity();
      if (this.stopping) return;
      const count = Math.min(this.batchSize, this.freeSlots());
      const reply = (await this.onBlockingConnection(() =>
        this.blocking.xreadgroup('GROUP', this.group, this.consumer, 'COUNT', count, 'STREAMS', this.stream, cursor),
      )) as ReadReply;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) return;
      cursor = entries[entries.length - 1][0];
      const deliveries = await this.deliveryCounts(entries.map((entry) => entry[0]), true);
      for (const [id, fields] of entries) this.handle(id, fields, deliveries.get(id) ?? 1);
    }
  }

  /**
   * The same without counting a delivery: the PEL (XPENDING for this consumer) gives the ids and
   * their counts, XRANGE the fields. Used once, after a deploy restarted the consumer.
   */
  private async readOwnPendingUncounted(): Promise<void> {
    this.countOwnPending = true;
    type PendingRow = [string, string, number, number];
    let start = '-';
    while (!this.stopping) {
      await this.waitForCapacity();
      if (this.stopping) return;
      const count = Math.min(this.batchSize, this.freeSlots());
      const rows = (await this.commands.xpending(this.stream, this.group, start, '+', count, this.consumer)) as PendingRow[];
      if (rows.length === 0) return;
      start = '(' + rows[rows.length - 1][0];
      const ranges = await Promise.all(rows.map((row) => this.commands.xrange(this.stream, row[0], row[0]) as Promise<RawEntry[]>));
      rows.forEach((row, i) => this.handle(row[0], ranges[i][0]?.[1] ?? null, Number(row[3])));
    }
  }

  /**
   * Reads new entries. While there is a backlog (the last read filled its count) the read script
   * takes them; once caught up, one blocking XREADGROUP waits for the next ones and returns them,
   * instead of an empty script call first (one round trip per batch instead of two; the blocking
   * reply costs the client more to decode, which a caught-up reader can afford).
   */
  private async readNew(): Promise<void> {
    const count = Math.min(this.batchSize, this.freeSlots());
    if (this.scriptReads && this.backlog) {
      const read = await this.readNewByScript(count);
      this.backlog = read >= count;
      if (read > 0) return;
    }
    const reply = (await this.onBlockingConnection(() =>
      this.blocking.xreadgroup('GROUP', this.group, this.consumer, 'COUNT', count, 'BLOCK', this.blockMs, 'STREAMS', this.stream, '>'),
    )) as ReadReply;
    const entries = reply?.[0]?.[1];
    if (!entries) return;
    this.backlog = entries.length >= count;
    for (const [id, fields] of entries) this.handle(id, fields, 1);
  }

  /**
   * Reads up to `count` new entries with the read script; how many it read (0 when there were
   * none or scripts are refused: the caller then waits with a blocking read).
   */
  private async readNewByScript(count: number): Promise<number> {
    let reply: unknown;
    try {
      reply = await this.onBlockingConnection(() => READ_SCRIPT.runBuffer(this.blocking, this.stream, [this.group, this.consumer, count]));
    } catch (err) {
      if (!scriptingRefused(err)) throw err;
      this.scriptReads = false;
      this.handlers.warning?.(`Redis refused the read script (${(err as Error).message}); reading with plain XREADGROUP (more client CPU per entry)`);
      return 0;
    }
    const list = Buffer.isBuffer(reply) ? unpackReadReply(reply) : [];
    for (let i = 0; i + 1 < list.length; i += 2) {
      const id = String(list[i]);
      const json = list[i + 1];
      if (typeof json === 'string' && this.handleJson(id, json)) continue;
      // Not a version-1 entry with an event, or its JSON does not parse: read it in full so the
      // usual path reports or dead-letters it with all its fields.
      const entries = (await this.commands.xrange(this.stream, id, id)) as RawEntry[];
      this.handle(id, entries[0]?.[1] ?? null, 1);
    }
    return list.length / 2;
  }

  /**
   * A first delivery of a new entry whose `event` JSON the read script returned; false when the
   * JSON does not decode (the caller then reads the entry in full).
   */
  private handleJson(id: string, json: string): boolean {
    if (this.inFlight.has(id)) return true;
    let event: StoredEvent;
    try {
      event = decodeEventJson(json);
    } catch {
      return false;
    }
    this.deliverDecoded(id, 1, event);
    return true;
  }

  /** Delivery counts from the PEL; `ownRange` asks one XPENDING for the id range of this consumer. */
  private async deliveryCounts(ids: string[], ownRange: boolean): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (ids.length === 0) return counts;
    type PendingRow = [string, string, number, number];
    if (ownRange) {
      const rows = (await this.commands.xpending(
        this.stream, this.group, ids[0], ids[ids.length - 1], ids.length, this.consumer,
      )) as PendingRow[];
      for (const row of rows) counts.set(row[0], Number(row[3]));
      return counts;
    }
    const rows = await Promise.all(
      ids.map((id) => this.commands.xpending(this.stream, this.group, id, id, 1) as Promise<PendingRow[]>),
    );
    for (const list of rows) for (const row of list) counts.set(row[0], Number(row[3]));
    return counts;
  }

  /** One entry read from Redis: deliver it, dead-letter it, or drop a deleted one. */
  private handle(id: string, fields: string[] | null, deliveries: number): void {
    if (this.inFlight.has(id)) return; // already with the flow here (reconnect re-read)
    if (fields === null) {
      // The entry was trimmed (MAXLEN) or deleted before it was processed: nothing to deliver.
      this.handlers.warning?.(`entry ${id} of ${this.stream} no longer exists (trimmed by MAXLEN or deleted) before it was processed; acknowledging it`);
      this.enqueueAck(id, true).catch(() => undefined);
      return;
    }
    if (deliveries > this.maxDeliveries) {
      void this.deadLetter(id, fields, deliveries, undefined);
      return;
    }
    let event: StoredEvent;
    try {
      event = decodeEvent(fields);
    } catch (err) {
      void this.deadLetter(id, fields, deliveries, `cannot decode entry: ${(err as Error).message}`);
      return;
    }
    this.deliverDecoded(id, deliveries, event);
  }

  private deliverDecoded(id: string, deliveries: number, event: StoredEvent): void {
    const now = Date.now();
    const record: InFlight = { deliveries, deliveredAt: now, touchedAt: now, state: 'delivered', tag: undefined };
    this.inFlight.set(id, record);
    this.counters.delivered++;
    countRedis('read', this.stream, this.group);
    try {
      const tag = this.handlers.deliver({ id, deliveries, event });
      if (typeof tag === 'string') record.tag = tag;
    } catch (err) {
      this.fail(id, err);
    }
  }

  // ---- capacity ----------------------------------------------------------------------------

  private freeSlots(): number {
    return Math.max(0, this.maxInFlight - this.inFlight.size);
  }

  private waitForCapacity(): Promise<void> {
    if (this.stopping || this.inFlight.size < this.maxInFlight) return Promise.resolve();
    return new Promise((resolve) => this.capacityWaiters.push(resolve));
  }

  private wakeCapacityWaiters(): void {
    if (this.capacityWaiters.length === 0) return;
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private settle(id: string): void {
    if (this.inFlight.delete(id) && (this.stopping || this.inFlight.size < this.maxInFlight)) this.wakeCapacityWaiters();
  }

  // ---- acks --------------------------------------------------------------------------------

  private enqueueAck(id: string, clearError: boolean): Promise<void> {
    let batch = this.openBatch;
    if (!batch) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => undefined); // callers that ignore the result must not cause unhandled rejections
      batch = { ids: [], clearErrors: [], promise, resolve, reject };
      this.openBatch = batch;
      setImmediate(() => this.flushAcks());
    }
    batch.ids.push(id);
    if (clearError) batch.clearErrors.push(id);
    if (batch.ids.length >= 1000) this.flushAcks();
    return batch.promise;
  }

  private flushAcks(): void {
    const batch = this.openBatch;
    if (!batch || batch.ids.length === 0) return;
    this.openBatch = undefined;
    this.acksInProgress++;
    const xack = this.commands.xack(this.stream, this.group, ...batch.ids);
    // Separate commands rather than one pipeline: in Cluster mode the hash may live in another slot.
    const hdel = batch.clearErrors.length > 0 ? this.commands.hdel(this.errorsKey, ...batch.clearErrors).catch(() => 0) : Promise.resolve(0);
    Promise.all([xack, hdel]).then(
      () => {
        this.acksInProgress--;
        for (const id of batch.ids) {
          if (this.inFlight.get(id)?.state === 'acking') {
            this.counters.acked++;
            countRedis('acked', this.stream, this.group);
            this.settle(id);
          }
        }
        batch.resolve();
      },
      (err: Error) => {
        this.acksInProgress--;
        batch.reject(err);
        // Keep the slots and try again: the work is done, only the XACK is missing.
        if (this.stopping) return;
        setTimeout(() => {
          for (const id of batch.ids) {
            if (this.inFlight.get(id)?.state === 'acking') this.enqueueAck(id, batch.clearErrors.includes(id)).catch(() => undefined);
          }
        }, 500).unref();
      },
    );
  }

  // ---- dead letters ------------------------------------------------------------------------

  private async deadLetter(id: string, fields: string[], deliveries: number, reason: string | undefined): Promise<void> {
    const now = Date.now();
    this.inFlight.set(id, { deliveries, deliveredAt: now, touchedAt: now, state: 'dead', tag: undefined });
    try {
      let error = reason;
      if (error === undefined) {
        const recorded = await this.commands.hget(this.errorsKey, id);
        const attempts = deliveries - 1;
        error = recorded
          ? `failed ${attempts} time${attempts === 1 ? '' : 's'} (limit ${this.maxDeliveries}); last error: ${recorded}`
          : `not acknowledged after ${attempts} deliveries (limit ${this.maxDeliveries}); no error recorded (consumer crashed, timed out or dropped the message)`;
      }
      const deadFields = fields.concat([
        'dead.id', id,
        'dead.stream', this.stream,
        'dead.group', this.group,
        'dead.consumer', this.consumer,
        'dead.deliveries', String(deliveries),
        'dead.error', error,
        'dead.at', new Date(now).toISOString(),
      ]);
      const trim = this.deadLetterMaxLen > 0 ? ['MAXLEN', '~', String(this.deadLetterMaxLen)] : [];
      // Copy first, ack second: a crash in between duplicates the dead letter, never loses it.
      const deadLetterId = String(await this.commands.xadd(this.deadLetterStream, ...trim, '*', ...deadFields));
      await Promise.all([this.commands.xack(this.stream, this.group, id), this.commands.hdel(this.errorsKey, id)]);
      this.counters.deadLettered++;
      countRedis('dead-lettered', this.stream, this.group);
      let event: StoredEvent | undefined;
      try {
        event = decodeEvent(fields);
      } catch {
        event = undefined;
      }
      this.handlers.deadLettered?.({ id, deadLetterId, deadLetterStream: this.deadLetterStream, deliveries, error, event });
    } catch (err) {
      // Still pending in Redis: the claimer tries again later.
      this.handlers.warning?.(`could not move entry ${id} to ${this.deadLetterStream}: ${errorText(err)}`);
    } finally {
      this.settle(id);
    }
  }

  // ---- maintenance: heartbeat, timeouts, claiming, stats -----------------------------------

  private tickMs(): number {
    return Math.max(20, Math.min(Math.floor(this.claimIdleMs / 3), 5000));
  }

  private scheduleMaintenance(): void {
    if (this.stopping) return;
    this.maintenanceTimer = setTimeout(() => {
      this.maintain().finally(() => this.scheduleMaintenance());
    }, this.tickMs());
    this.maintenanceTimer.unref();
  }

  private async maintain(): Promise<void> {
    const now = Date.now();
    try {
      await this.heartbeatAndTimeouts(now);
      if (now - this.lastClaimAt >= Math.max(this.tickMs(), Math.floor(this.claimIdleMs / 2))) {
        this.lastClaimAt = now;
        await this.claimIdle();
      }
      if (this.statsIntervalMs > 0 && now - this.lastStatsAt >= this.statsIntervalMs) {
        this.lastStatsAt = now;
        await this.refreshStats();
      }
    } catch {
      // Connection trouble: the read loop reports it; maintenance just tries again next tick.
    }
  }

  private async heartbeatAndTimeouts(now: number): Promise<void> {
    const touch: string[] = [];
    const third = Math.floor(this.claimIdleMs / 3);
    for (const [id, entry] of this.inFlight) {
      if (entry.state !== 'delivered' && entry.state !== 'early') continue;
      if (this.ackTimeoutMs > 0 && now - entry.deliveredAt > this.ackTimeoutMs) {
        const wasPending = entry.state === 'delivered';
        this.release(id);
        if (wasPending) this.handlers.timedOut?.(id, this.ackTimeoutMs, entry.tag);
        continue;
      }
      if (entry.state === 'early') continue; // no longer pending in Redis: nothing to keep fresh
      // Once our last touch is older than the claim idle time another consumer may own it: leave it.
      const sinceTouch = now - entry.touchedAt;
      if (sinceTouch >= third && sinceTouch < this.claimIdleMs) {
        entry.touchedAt = now;
        touch.push(id);
      }
    }
    for (let i = 0; i < touch.length; i += 500) {
      // XCLAIM to ourselves with JUSTID resets the idle time without counting a delivery.
      await this.commands.call('XCLAIM', this.stream, this.group, this.consumer, '0', ...touch.slice(i, i + 500), 'JUSTID');
    }
  }

  /** XAUTOCLAIM entries idle longer than claimIdleMs (any consumer, including failed ones of ours). */
  private async claimIdle(): Promise<void> {
    for (let round = 0; round < 10 && !this.stopping; round++) {
      const free = this.freeSlots();
      if (free === 0) return;
      const reply = (await this.commands.xautoclaim(
        this.stream, this.group, this.consumer, this.claimIdleMs, this.claimCursor, 'COUNT', Math.min(this.batchSize, free),
      )) as [string, RawEntry[], string[]?];
      const [next, entries] = reply;
      this.claimCursor = next;
      const fresh = entries.filter(([id]) => !this.inFlight.has(id));
      if (fresh.length > 0) {
        const deliveries = await this.deliveryCounts(fresh.map((entry) => entry[0]), false);
        for (const [id, fields] of fresh) this.handle(id, fields, deliveries.get(id) ?? 2);
      }
      // Stop when the scan wrapped around. A window with nothing idle is not the end: with many
      // entries pending (live consumers' among them) a dead consumer's may lie further on, and
      // stopping here would leave them for the next tick (half a claim time later).
      if (next === '0-0') return;
    }
  }

  private async refreshStats(): Promise<void> {
    const groups = (await this.commands.xinfo('GROUPS', this.stream)) as unknown[][];
    for (const group of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < group.length; i += 2) info.set(String(group[i]), group[i + 1]);
      if (info.get('name') !== this.group) continue;
      const lag = info.get('lag');
      this.lastGroupInfo = {
        pending: Number(info.get('pending') ?? 0),
        lag: lag === undefined || lag === null ? null : Number(lag),
      };
    }
    setRedisBacklog(this.stream, this.group, this.lastGroupInfo.pending, this.lastGroupInfo.lag);
    this.handlers.stats?.(this.stats());
  }
}
