// Self-write ledger: what this process (or, with a shared ledger, a peer) is about to change on the
// cluster, so that the change-notify echo of our own mutation can be recognised and dropped.
// Qumulo notifications carry no user or origin (docs/qumulo-api.md §3.3), so "who did it" is unknowable
// from the event itself; the ledger is an lsyncd-style list of expected own writes
// (anchors.md §2.5), keyed by file id and path, with the notification types each write may cause.
//
// Matching is on the event's `receivedAt` (when the watcher saw it) against the time the intent
// was recorded, never on the time the guard happens to process the event: events may wait in a
// Redis queue for minutes, and a clock taken at processing time would let late echoes through and
// drop genuine events that were merely delayed.

import type { NotificationType, QumuloEvent } from '../event';
import type { MutationIntent, MutationKind } from '../qumulo/types';

export interface LedgerMatchWindow {
  /** How long after the mutation its echo may be received by a watcher. */
  echoWindowMs: number;
  /** Once the first echo of an intent arrives, the rest must follow within this window. */
  settleMs: number;
  /** Tolerance for an event stamped slightly *before* the intent (clocks of different hosts). */
  localSkewMs: number;
  /** Same, for intents recorded by another instance (shared ledger): different hosts, different clocks. */
  remoteSkewMs: number;
}

/**
 * Echoes reach the watcher within milliseconds on a healthy cluster (receivedAt is stamped by the
 * watcher, so time in a queue does not count); related echoes of one change arrive together, in
 * one `data:` array. The windows are generous for that, and short, because a user's change of an
 * expected type on the same file inside a window is taken for our echo.
 */
export const DEFAULT_MATCH_WINDOW: Readonly<LedgerMatchWindow> = {
  echoWindowMs: 5_000,
  settleMs: 500,
  localSkewMs: 0,
  remoteSkewMs: 250,
};

export interface LedgerCapacity {
  /** How long entries stay in memory (processing clock); covers events queued in Redis. */
  retentionMs: number;
  /** Hard cap on entries; the oldest go first. */
  maxEntries: number;
}

export const DEFAULT_LEDGER_CAPACITY: Readonly<LedgerCapacity> = {
  retentionMs: 10 * 60_000,
  maxEntries: 50_000,
};

/** Who recorded an intent: this process, or a peer instance through the shared ledger. */
export const LOCAL_SOURCE = 'local';

export interface LedgerEntry {
  readonly serial: number;
  readonly kind: MutationKind;
  readonly paths: readonly string[];
  readonly fileIds: readonly string[];
  readonly expectedTypes: ReadonlySet<NotificationType>;
  /** Epoch ms at which the intent was recorded (before the request was sent). */
  readonly recordedAt: number;
  /** `LOCAL_SOURCE` or the peer instance id. */
  readonly source: string;
  readonly origin?: string;
  /** receivedAt of the first recognised echo; starts the settle window. */
  firstEchoAt: number | null;
  /**
   * Recognised echoes, so each watch consumes each echo type once: pairs of `watchId \u0000 type`
   * and seq, flat ([key, seq, key, seq…]). Null until the first echo. Not a Map: most entries see
   * one or two echoes, and a Map each would cost more than the rest of the entry; the list is
   * bounded by watches × expected types.
   */
  consumed: Array<string | number> | null;
  echoCount: number;
  /** Set when the entry left the ledger (expired or evicted). */
  removed: boolean;
}

export interface LedgerStats {
  entries: number;
  recorded: number;
  recordedRemote: number;
  recognised: number;
  evicted: number;
  expired: number;
}

/**
 * In-memory ledger of mutation intents, indexed by file id and by path. Memory is bounded by
 * `maxEntries` and `retentionMs`; expiry is swept lazily on `record` (no timers).
 */
export class SelfWriteLedger {
  private readonly byFileId = new Map<string, LedgerEntry[]>();
  /** Every entry by path: for events without a file id (no spine). */
  private readonly byPath = new Map<string, LedgerEntry[]>();
  /**
   * Entries that know no file id, by path. An event with a file id can only match an entry that
   * has that id or has none, so it needs this (usually empty) map, not `byPath`: one lookup less
   * on the hot path.
   */
  private readonly byPathWithoutId = new Map<string, LedgerEntry[]>();
  /**
   * Entries in recording order; `head` is the index of the oldest live one. Slots before it are
   * emptied as their entries leave: the array is compacted only once that dead prefix is half of
   * it, and an entry kept there until then would hold its paths and ids that long (at the cap,
   * as many dead entries as live ones: the slow heap growth of the 200 files/s soak).
   */
  private queue: Array<LedgerEntry | undefined> = [];
  private head = 0;
  private serial = 0;
  private capacity: LedgerCapacity;
  private readonly stats: LedgerStats = { entries: 0, recorded: 0, recordedRemote: 0, recognised: 0, evicted: 0, expired: 0 };

  constructor(capacity: Partial<LedgerCapacity> = {}, private readonly now: () => number = Date.now) {
    this.capacity = { ...DEFAULT_LEDGER_CAPACITY, ...capacity };
  }

  /** Raises (never lowers) capacity, so a guard asking for a longer retention gets it. */
  ensureCapacity(capacity: Partial<LedgerCapacity>): void {
    this.capacity = {
      retentionMs: Math.max(this.capacity.retentionMs, capacity.retentionMs ?? 0),
      maxEntries: Math.max(this.capacity.maxEntries, capacity.maxEntries ?? 0),
    };
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  record(intent: MutationIntent, recordedAt: number = this.now(), source: string = LOCAL_SOURCE): LedgerEntry | null {
    if (intent.expectedTypes.length === 0) return null; // e.g. a snapshot: nothing to recognise
    const entry: LedgerEntry = {
      serial: ++this.serial,
      kind: intent.kind,
      paths: intent.paths.slice(),
      fileIds: intent.fileIds.slice(),
      expectedTypes: internTypes(intent.expectedTypes),
      recordedAt,
      source,
      origin: intent.origin,
      firstEchoAt: null,
      consumed: null,
      echoCount: 0,
      removed: false,
    };
    forEachDistinct(entry.fileIds, (fileId) => pushIndex(this.byFileId, fileId, entry));
    forEachDistinct(entry.paths, (path) => {
      pushIndex(this.byPath, path, entry);
      if (entry.fileIds.length === 0) pushIndex(this.byPathWithoutId, path, entry);
    });
    this.queue.push(entry);
    this.stats.recorded++;
    if (source !== LOCAL_SOURCE) this.stats.recordedRemote++;
    this.sweep();
    return entry;
  }

  /**
   * Finds the oldest live entry this event is an echo of, and consumes that echo. A match needs
   * (fileId or path) AND type ∈ expected types AND receivedAt inside the entry's window. The same
   * notification seen again (same watch, type and seq: a Redis redelivery, or a second guard on
   * the same stream) matches again; a *new* notification of an already consumed type does not.
   */
  recognise(event: QumuloEvent, window: LedgerMatchWindow = DEFAULT_MATCH_WINDOW): LedgerEntry | null {
    let viaId: LedgerEntry[] | undefined;
    let viaPath: LedgerEntry[] | undefined;
    if (event.fileId !== null) {
      viaId = this.byFileId.get(event.fileId);
      if (this.byPathWithoutId.size > 0) viaPath = this.byPathWithoutId.get(event.path);
    } else {
      viaPath = this.byPath.get(event.path);
    }
    if (viaId === undefined && viaPath === undefined) return null; // the hot path: not ours
    const found = oldestMatch(viaId, event, window, oldestMatch(viaPath, event, window, null));
    if (found === null) return null;
    const consumeKey = event.watchId + '\u0000' + event.type;
    if (consumedSeq(found, consumeKey) === undefined) {
      if (found.consumed === null) found.consumed = [consumeKey, event.seq];
      else found.consumed.push(consumeKey, event.seq);
      found.echoCount++;
      if (found.firstEchoAt === null || event.receivedAt < found.firstEchoAt) found.firstEchoAt = event.receivedAt;
    }
    this.stats.recognised++;
    return found;
  }

  /** Entries currently held for a file id or path (diagnostics and the shared-ledger tests). */
  entriesFor(key: { fileId?: string | null; path?: string }): LedgerEntry[] {
    const result = new Set<LedgerEntry>();
    if (key.fileId) for (const e of this.byFileId.get(key.fileId) ?? []) result.add(e);
    if (key.path) for (const e of this.byPath.get(key.path) ?? []) result.add(e);
    return [...result].sort((a, b) => a.serial - b.serial);
  }

  getStats(): LedgerStats {
    return { ...this.stats, entries: this.size };
  }

  /** Drops expired entries from the front and enforces the cap. */
  sweep(now: number = this.now()): void {
    const oldestAllowed = now - this.capacity.retentionMs;
    while (this.head < this.queue.length) {
      const oldest = this.queue[this.head]!;
      const overCap = this.queue.length - this.head > this.capacity.maxEntries;
      if (!overCap && oldest.recordedAt >= oldestAllowed) break;
      this.remove(oldest);
      if (overCap) this.stats.evicted++;
      else this.stats.expired++;
      this.queue[this.head++] = undefined;
    }
    // Compact the queue array once the dead prefix dominates (amortised O(1)).
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private remove(entry: LedgerEntry): void {
    entry.removed = true;
    forEachDistinct(entry.fileIds, (fileId) => dropIndex(this.byFileId, fileId, entry));
    forEachDistinct(entry.paths, (path) => {
      dropIndex(this.byPath, path, entry);
      if (entry.fileIds.length === 0) dropIndex(this.byPathWithoutId, path, entry);
    });
  }
}

/** The end of an entry's echo window: the full window, shrunk to the settle window once an echo came. */
export function echoDeadline(entry: LedgerEntry, window: LedgerMatchWindow): number {
  const full = entry.recordedAt + window.echoWindowMs;
  return entry.firstEchoAt === null ? full : Math.min(full, entry.firstEchoAt + window.settleMs);
}

function matches(entry: LedgerEntry, event: QumuloEvent, window: LedgerMatchWindow): boolean {
  if (entry.removed || !entry.expectedTypes.has(event.type)) return false;
  // Same path but another file id: a different file now lives there (not our echo).
  if (event.fileId !== null && entry.fileIds.length > 0 && !entry.fileIds.includes(event.fileId)) return false;
  const skew = entry.source === LOCAL_SOURCE ? window.localSkewMs : window.remoteSkewMs;
  if (event.receivedAt < entry.recordedAt - skew) return false; // happened before we acted
  if (event.receivedAt > echoDeadline(entry, window)) return false;
  if (entry.consumed === null) return true;
  const seenSeq = consumedSeq(entry, event.watchId + '\u0000' + event.type);
  return seenSeq === undefined || seenSeq === event.seq;
}

function oldestMatch(
  entries: LedgerEntry[] | undefined,
  event: QumuloEvent,
  window: LedgerMatchWindow,
  best: LedgerEntry | null,
): LedgerEntry | null {
  if (entries === undefined) return best;
  for (const entry of entries) {
    if (best !== null && entry.serial >= best.serial) break; // index arrays are in recording order
    if (matches(entry, event, window)) return entry;
  }
  return best;
}

function consumedSeq(entry: LedgerEntry, key: string): number | undefined {
  const consumed = entry.consumed;
  if (consumed === null) return undefined;
  for (let i = 0; i < consumed.length; i += 2) if (consumed[i] === key) return consumed[i + 1] as number;
  return undefined;
}

/**
 * The expected types of an intent as a shared, frozen set: intents of one kind expect the same
 * types, and a Set per entry would be a third of the entry's memory. Few distinct lists exist
 * (one per mutation kind), so the cache stays small; past its cap a list gets its own set.
 */
const internedTypes = new Map<string, ReadonlySet<NotificationType>>();
const MAX_INTERNED_TYPE_LISTS = 256;

function internTypes(types: readonly NotificationType[]): ReadonlySet<NotificationType> {
  const key = types.join(',');
  let set = internedTypes.get(key);
  if (set === undefined) {
    set = new Set(types);
    if (internedTypes.size < MAX_INTERNED_TYPE_LISTS) internedTypes.set(key, set);
  }
  return set;
}

/** Calls `visit` once per distinct value (no Set for the usual one- or two-element lists). */
function forEachDistinct(values: readonly string[], visit: (value: string) => void): void {
  if (values.length > 8) {
    for (const value of new Set(values)) visit(value);
    return;
  }
  for (let i = 0; i < values.length; i++) {
    if (values.indexOf(values[i]) === i) visit(values[i]);
  }
}

function pushIndex(index: Map<string, LedgerEntry[]>, key: string, entry: LedgerEntry): void {
  const list = index.get(key);
  if (list === undefined) index.set(key, [entry]);
  else list.push(entry);
}

function dropIndex(index: Map<string, LedgerEntry[]>, key: string, entry: LedgerEntry): void {
  const list = index.get(key);
  if (list === undefined) return;
  const at = list.indexOf(entry);
  if (at >= 0) list.splice(at, 1);
  if (list.length === 0) index.delete(key);
}
