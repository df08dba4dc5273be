// Process-level registry of change-notify subscriptions, so a watch survives Node-RED deploys.
//
// Key = (connection identity, path, recursive, types): every node asking the same thing shares
// one cluster subscription. Each consumer (a watch node, identified by its node id) has a slot.
// When a consumer is released without `removed` (a deploy restarts it) its slot stays for a grace
// period and buffers events (bounded, overflow counted); the consumer that comes back — same id,
// or else a newcomer for the key once every returning node has reclaimed its own slot — drains
// the slot in order before live events. Nothing is dropped or duplicated across deploys. A release with `removed`, or the grace
// period running out, frees the slot; the subscription closes with its last slot.
//
// Scale-out (spec.election): several instances run the same flow against one Redis. The entry
// then holds a lease (core/scale/lease.ts) and opens the cluster subscription only while it leads;
// standbys keep their slots and wait. The lease lives here, not in the node, so a deploy that
// restarts the watch node on the leader keeps leadership (and the stream). Every event carries
// the fence of the term that produced it (fenceOf), which the Redis append checks.

import { createHash } from 'node:crypto';
import type { NotificationType, QumuloEvent } from '../event';
import type { QumuloClientOptions } from '../qumulo/client';
import { type ClientLease, ClientPool, clientPool, connectionKey } from '../qumulo/pool';
import type { MalformedReport } from '../qumulo/sse';
import { type GapRecord, NotifySubscription, type SubscriptionStatus } from '../qumulo/subscription';
import type { RedisClient } from '../redis/connection';
import { type Fence, LeaderLease, type LeaseInfo, leaseKeys } from '../scale/lease';
import { RedisMarkerStore, markersKey } from '../scale/markers';

/** One active ingester per watch across instances, elected through Redis. */
export interface ElectionSpec {
  /** Opens a Redis client for the lease (the registry owns it and closes it with the watch). */
  connect(): RedisClient;
  /** Key prefix of the Redis config. */
  keyPrefix: string;
  /** This instance, as standbys see it (host, process). */
  holder: string;
  /** Lease time in ms: a dead leader is replaced within it. */
  leaseMs: number;
}

/** The lease term that produced each event (live or healed); absent without an election. */
const fences = new WeakMap<QumuloEvent, Fence>();

/** The fence to append `event` with, undefined when its watch has no election. */
export function fenceOf(event: QumuloEvent): Fence | undefined {
  return fences.get(event);
}

export interface WatchSpec {
  /** Connection settings and credentials of the cluster (from the qumulo-cluster config node). */
  client: QumuloClientOptions;
  /** Directory to watch: absolute path or file id. */
  ref: string;
  recursive: boolean;
  /** Notification types; null or empty = all. */
  types: readonly NotificationType[] | null;
  /** Elect one active ingester across instances (absent: this instance always watches). */
  election?: ElectionSpec;
}

/** Events dropped from a consumer's buffer because it grew past the limit. */
export interface BufferOverflow {
  dropped: number;
  firstSeq: number;
  lastSeq: number;
}

export interface WatchConsumer {
  /** Stable identity (the Node-RED node id): a restarted node gets its own buffer back. */
  readonly id: string;
  onEvent(event: QumuloEvent): void;
  onStatus?(status: SubscriptionStatus): void;
  /** The stream was lost; events may be missed until it is back. */
  onDisconnected?(gap: GapRecord): void;
  /** The stream is back; `gap` says when events may have been lost. */
  onGap?(gap: GapRecord): void;
  onMalformed?(report: MalformedReport): void;
  /** Delivered on resume when the buffer overflowed while the consumer was away. */
  onBufferOverflow?(overflow: BufferOverflow): void;
  /** With an election: this instance became leader or standby (also while paused; read handle.role on resume). */
  onRole?(info: LeaseInfo): void;
}

export interface WatchHandle {
  readonly key: string;
  readonly watchId: string;
  readonly status: SubscriptionStatus;
  /**
   * Delivers what was buffered (in order) and then live events. Call once the consumer can send.
   * Returns true when the consumer continues a slot that kept buffering while its node was away
   * (a deploy restarted it, or it took over a waiting slot): nothing was missed in between.
   */
  resume(): boolean;
  /** The next seq of the subscription's numbering (for events made up by gap healing). */
  nextSeq(): number;
  /** Delivers events to this consumer only, through its slot (buffered while paused or away). */
  deliver(events: readonly QumuloEvent[]): void;
  /**
   * Buffers events again until the next resume() (e.g. while a deploy restarts the nodes this
   * consumer sends to: Node-RED drops messages addressed to a node that is being replaced).
   */
  pause(): void;
  release(options?: { removed?: boolean }): void;
  /** The election state, null without an election. */
  readonly role: LeaseInfo | null;
  /** Heal markers shared through Redis (null without an election). */
  readonly sharedMarkers: RedisMarkerStore | null;
}

export interface RegistryOptions {
  /** How long a released (not removed) consumer's slot keeps buffering (default 30 s). */
  graceMs?: number;
  /** Events buffered per slot at most (default 100,000); the rest are counted as dropped. */
  bufferLimit?: number;
  /** Reconnect/idle settings handed to new subscriptions. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  idleTimeoutMs?: number;
  /** How long a stream must stay open before the back-off starts over (default 10 s). */
  healthyAfterMs?: number;
}

type Notice =
  | { kind: 'disconnected'; gap: GapRecord }
  | { kind: 'gap'; gap: GapRecord }
  | { kind: 'malformed'; report: MalformedReport };

const MAX_NOTICES = 200;

/** Events and notices in arrival order, so a replayed gap sits between the right events. */
type Buffered = QumuloEvent | Notice;

function isNotice(item: Buffered): item is Notice {
  return 'kind' in item;
}

interface Slot {
  id: string;
  consumer: WatchConsumer | null;
  paused: boolean;
  /** Created for an id not seen before: may adopt a waiting slot at its first resume. */
  fresh: boolean;
  buffer: Buffered[];
  bufferedEvents: number;
  bufferedNotices: number;
  overflow: BufferOverflow | null;
  graceTimer: NodeJS.Timeout | null;
  /** Leadership was lost since the consumer last resumed: the next resume does not continue. */
  termBroken: boolean;
}

interface Election {
  lease: LeaderLease;
  client: RedisClient;
  markers: RedisMarkerStore;
  /** The fence of the subscription now open (null while standby). */
  fence: Fence | null;
}

interface Entry {
  key: string;
  watchId: string;
  spec: WatchSpec;
  /** Closed (never started) while this instance stands by. */
  subscription: NotifySubscription;
  election: Election | null;
  lease: ClientLease;
  /** Older clients the open stream may still use; released once a newer connection is up. */
  retired: ClientLease[];
  slots: Map<string, Slot>;
}

export interface WatchInfo {
  key: string;
  watchId: string;
  status: SubscriptionStatus;
  consumers: number;
  waiting: number;
  buffered: number;
}

export function watchKey(spec: WatchSpec): string {
  const types = spec.types && spec.types.length > 0 ? [...new Set(spec.types)].sort().join(',') : '*';
  return `${connectionKey(spec.client)}|ref=${spec.ref}|recursive=${spec.recursive !== false}|types=${types}`;
}

export class WatchRegistry {
  private readonly entries = new Map<string, Entry>();
  private options: Required<RegistryOptions>;

  constructor(
    options: RegistryOptions = {},
    private readonly pool: ClientPool = clientPool,
  ) {
    this.options = {
      graceMs: options.graceMs ?? 30_000,
      bufferLimit: options.bufferLimit ?? 100_000,
      backoffInitialMs: options.backoffInitialMs ?? 1_000,
      backoffMaxMs: options.backoffMaxMs ?? 30_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      healthyAfterMs: options.healthyAfterMs ?? 10_000,
    };
  }

  /** Changes the settings (new subscriptions get the reconnect settings; grace/buffer apply at once). */
  configure(options: RegistryOptions): void {
    this.options = { ...this.options, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  }

  get settings(): Readonly<Required<RegistryOptions>> {
    return this.options;
  }

  acquire(spec: WatchSpec, consumer: WatchConsumer): WatchHandle {
    const key = watchKey(spec);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = this.createEntry(key, spec);
    } else {
      this.maybeSwitchClient(entry, spec);
    }
    const slot = this.attachSlot(entry, consumer);
    const current = entry;
    let released = false;
    return {
      key,
      watchId: entry.watchId,
      get status() {
        return current.subscription.status;
      },
      resume: () => (released ? false : this.resume(current, slot, consumer)),
      nextSeq: () => current.subscription.allocateSeq(),
      deliver: (events) => {
        if (removedSlot(current, slot)) return;
        const fence = current.election?.fence;
        for (const event of events) {
          if (fence && !fences.has(event)) fences.set(event, fence);
          this.toSlot(slot, event);
        }
      },
      get role() {
        return current.election ? current.election.lease.info : null;
      },
      get sharedMarkers() {
        return current.election ? current.election.markers : null;
      },
      pause: () => {
        if (!released && slot.consumer === consumer) slot.paused = true;
      },
      release: (options) => {
        if (released) return;
        released = true;
        this.release(current, slot, consumer, options?.removed === true);
      },
    };
  }

  /** Diagnostics: one line per subscription. */
  list(): WatchInfo[] {
    return [...this.entries.values()].map((entry) => ({
      key: entry.key,
      watchId: entry.watchId,
      status: entry.subscription.status,
      consumers: [...entry.slots.values()].filter((s) => s.consumer && !s.paused).length,
      waiting: [...entry.slots.values()].filter((s) => !s.consumer || s.paused).length,
      buffered: [...entry.slots.values()].reduce((n, s) => n + s.bufferedEvents, 0),
    }));
  }

  /** The subscription behind a key (tests, gap healing). */
  subscriptionOf(key: string): NotifySubscription | undefined {
    return this.entries.get(key)?.subscription;
  }

  /**
   * The process is shutting down: every lease this instance holds is handed over at once (the
   * standbys need not wait for it to run out). Subscriptions close with their nodes as usual.
   */
  handOverLeases(): Promise<void> {
    const work: Array<Promise<void>> = [];
    for (const entry of this.entries.values()) {
      const election = entry.election;
      if (!election) continue;
      work.push(election.markers.flushed().then(() => election.lease.handOver()));
    }
    return Promise.all(work).then(() => undefined);
  }

  /** Closes every subscription now (process shutdown, tests). */
  closeAll(): void {
    for (const entry of [...this.entries.values()]) this.closeEntry(entry);
  }

  // ----- internals ----------------------------------------------------------------------------

  private createEntry(key: string, spec: WatchSpec): Entry {
    const lease = this.pool.acquire(spec.client);
    const watchId = createHash('sha256').update(key).digest('hex').slice(0, 12);
    const entry: Entry = { key, watchId, spec, subscription: this.newSubscription(spec, watchId, lease), election: null, lease, retired: [], slots: new Map() };
    this.entries.set(key, entry);
    if (!spec.election) {
      this.openSubscription(entry);
      return entry;
    }
    // Stand by (subscription closed) until the lease is ours.
    entry.subscription.close();
    const client = spec.election.connect();
    const keys = leaseKeys(spec.election.keyPrefix, watchId);
    const leader = new LeaderLease({ client, key: keys.key, counterKey: keys.counterKey, holder: spec.election.holder, leaseMs: spec.election.leaseMs });
    const election: Election = { lease: leader, client, fence: null, markers: new RedisMarkerStore(client, markersKey(spec.election.keyPrefix, watchId), () => leader.fence) };
    entry.election = election;
    leader.on('role', (info: LeaseInfo) => this.roleChanged(entry, info));
    leader.start();
    return entry;
  }

  private newSubscription(spec: WatchSpec, watchId: string, lease: ClientLease): NotifySubscription {
    return new NotifySubscription({
      client: lease.client,
      ref: spec.ref,
      recursive: spec.recursive,
      types: spec.types,
      watchId,
      backoffInitialMs: this.options.backoffInitialMs,
      backoffMaxMs: this.options.backoffMaxMs,
      idleTimeoutMs: this.options.idleTimeoutMs,
      healthyAfterMs: this.options.healthyAfterMs,
    });
  }

  private openSubscription(entry: Entry): void {
    const subscription = entry.subscription;
    subscription.on('event', (event) => {
      if (entry.subscription !== subscription) return;
      const fence = entry.election?.fence;
      if (fence) fences.set(event, fence);
      this.dispatch(entry, event);
    });
    subscription.on('status', (status) => {
      if (status.state === 'watching') this.releaseRetired(entry);
      for (const slot of entry.slots.values()) if (slot.consumer) call(() => slot.consumer?.onStatus?.(status));
    });
    subscription.on('disconnected', (gap) => this.notify(entry, { kind: 'disconnected', gap }));
    subscription.on('gap', (gap) => this.notify(entry, { kind: 'gap', gap }));
    subscription.on('malformed', (report) => this.notify(entry, { kind: 'malformed', report }));
    subscription.start();
  }

  /** Leader: open the stream under the new term. Anything else: close it and stand by. */
  private roleChanged(entry: Entry, info: LeaseInfo): void {
    const election = entry.election;
    if (!election || this.entries.get(entry.key) !== entry) return;
    if (info.role === 'leader') {
      election.fence = election.lease.fence;
      if (entry.subscription.status.state === 'closed') {
        entry.subscription = this.newSubscription(entry.spec, entry.watchId, entry.lease);
        this.openSubscription(entry);
      }
    } else {
      const wasLeading = election.fence !== null;
      election.fence = null;
      entry.subscription.close();
      if (wasLeading) for (const slot of entry.slots.values()) slot.termBroken = true;
    }
    for (const slot of entry.slots.values()) if (slot.consumer) call(() => slot.consumer?.onRole?.(info));
  }

  /** Same connection identity, other credentials: use the new client for the next connection. */
  private maybeSwitchClient(entry: Entry, spec: WatchSpec): void {
    const lease = this.pool.acquire(spec.client);
    if (lease.fingerprint === entry.lease.fingerprint) {
      lease.release();
      return;
    }
    entry.retired.push(entry.lease);
    entry.lease = lease;
    entry.subscription.setClient(lease.client);
  }

  private releaseRetired(entry: Entry): void {
    if (entry.retired.length === 0 || entry.subscription.currentClient !== entry.lease.client) return;
    for (const old of entry.retired.splice(0)) old.release();
  }

  private attachSlot(entry: Entry, consumer: WatchConsumer): Slot {
    let slot = entry.slots.get(consumer.id);
    if (!slot) {
      slot = { id: consumer.id, consumer: null, paused: true, fresh: true, buffer: [], bufferedEvents: 0, bufferedNotices: 0, overflow: null, graceTimer: null, termBroken: false };
      entry.slots.set(consumer.id, slot);
    }
    if (slot.graceTimer) clearTimeout(slot.graceTimer);
    slot.graceTimer = null;
    slot.consumer = consumer;
    slot.paused = true;
    return slot;
  }

  /**
   * A consumer with an id the registry has not seen inherits a slot still waiting for its node
   * (e.g. a node pasted back with a new id). Done at the first resume, not at acquire, so that
   * every node of the same deploy has reclaimed its own slot by id first. The waiting slot has
   * buffered since before the newcomer existed, so its buffer covers the newcomer's own.
   */
  private adoptWaitingSlot(entry: Entry, slot: Slot): boolean {
    slot.fresh = false;
    for (const candidate of entry.slots.values()) {
      if (candidate === slot || candidate.consumer) continue;
      slot.buffer = candidate.buffer;
      slot.bufferedEvents = candidate.bufferedEvents;
      slot.bufferedNotices = candidate.bufferedNotices;
      slot.overflow = candidate.overflow;
      if (candidate.graceTimer) clearTimeout(candidate.graceTimer);
      entry.slots.delete(candidate.id);
      return true;
    }
    return false;
  }

  private resume(entry: Entry, slot: Slot, consumer: WatchConsumer): boolean {
    if (slot.consumer !== consumer || !slot.paused) return false;
    const adopted = slot.fresh ? this.adoptWaitingSlot(entry, slot) : true;
    const continued = adopted && !slot.termBroken;
    slot.termBroken = false;
    call(() => consumer.onStatus?.(entry.subscription.status));
    // Drain synchronously: nothing can interleave, so buffered events stay ahead of live ones.
    const buffered = slot.buffer;
    slot.buffer = [];
    slot.bufferedEvents = 0;
    slot.bufferedNotices = 0;
    for (const item of buffered) {
      if (isNotice(item)) deliverNotice(consumer, item);
      else call(() => consumer.onEvent(item));
    }
    if (slot.overflow) {
      const overflow = slot.overflow;
      slot.overflow = null;
      call(() => consumer.onBufferOverflow?.(overflow));
    }
    slot.paused = false;
    return continued;
  }

  private release(entry: Entry, slot: Slot, consumer: WatchConsumer, removed: boolean): void {
    if (slot.consumer !== consumer) return;
    if (removed) {
      this.dropSlot(entry, slot);
      return;
    }
    slot.consumer = null;
    slot.paused = true;
    slot.graceTimer = setTimeout(() => this.dropSlot(entry, slot), this.options.graceMs);
    slot.graceTimer.unref();
  }

  private dropSlot(entry: Entry, slot: Slot): void {
    if (slot.graceTimer) clearTimeout(slot.graceTimer);
    slot.graceTimer = null;
    slot.buffer = [];
    slot.bufferedEvents = 0;
    if (entry.slots.get(slot.id) === slot) entry.slots.delete(slot.id);
    if (entry.slots.size === 0) this.closeEntry(entry);
  }

  private closeEntry(entry: Entry): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.entries.delete(entry.key);
    for (const slot of entry.slots.values()) if (slot.graceTimer) clearTimeout(slot.graceTimer);
    entry.slots.clear();
    entry.subscription.close();
    entry.lease.release();
    for (const old of entry.retired.splice(0)) old.release();
    const election = entry.election;
    if (election) {
      election.fence = null;
      // Graceful handover: the lease is deleted, a standby takes over at its next try.
      void election.markers
        .flushed()
        .then(() => election.lease.stop(true))
        .finally(() => election.client.quit().catch(() => election.client.disconnect()));
    }
  }

  private dispatch(entry: Entry, event: QumuloEvent): void {
    for (const slot of entry.slots.values()) this.toSlot(slot, event);
  }

  /** To the consumer when it can take it, else into the slot's bounded buffer. */
  private toSlot(slot: Slot, event: QumuloEvent): void {
    if (slot.consumer && !slot.paused) {
      const consumer = slot.consumer;
      call(() => consumer.onEvent(event));
    } else if (slot.bufferedEvents < this.options.bufferLimit && !slot.overflow) {
      slot.buffer.push(event);
      slot.bufferedEvents++;
    } else if (slot.overflow) {
      slot.overflow.dropped++;
      slot.overflow.lastSeq = event.seq;
    } else {
      slot.overflow = { dropped: 1, firstSeq: event.seq, lastSeq: event.seq };
    }
  }

  private notify(entry: Entry, notice: Notice): void {
    for (const slot of entry.slots.values()) {
      if (slot.consumer && !slot.paused) {
        deliverNotice(slot.consumer, notice);
      } else if (slot.bufferedNotices < MAX_NOTICES) {
        slot.buffer.push(notice);
        slot.bufferedNotices++;
      }
    }
  }
}

/** The slot is gone (released with `removed`, grace over, or the subscription closed). */
function removedSlot(entry: Entry, slot: Slot): boolean {
  return entry.slots.get(slot.id) !== slot;
}

function deliverNotice(consumer: WatchConsumer, notice: Notice): void {
  if (notice.kind === 'disconnected') call(() => consumer.onDisconnected?.(notice.gap));
  else if (notice.kind === 'gap') call(() => consumer.onGap?.(notice.gap));
  else call(() => consumer.onMalformed?.(notice.report));
}

/** A consumer's exception must not reach the subscription (or the other consumers). */
function call(fn: () => void): void {
  try {
    fn();
  } catch {
    // The node adapter reports its own errors; nothing sensible to do here.
  }
}

/** The registry the Node-RED nodes share (one per process). */
export const watchRegistry = new WatchRegistry();
