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

/**
 * One recorded intent. The ledger holds up to `maxEntries` (50,000) of them per cluster, so an entry
 * is kept small: a lone path or file id (the usual case) is stored as the string itself, not a
 * one-element array; the first recognised echo is kept in three fields, not a list with a
 * concatenated key; watch ids and types are interned. (Per locked file in bench:guard-memory,
 * about half of what an object with arrays and a consumed list took.)
 */
export class LedgerEntry {
  /** Set when the entry left the ledger (expired or evicted). */
  removed = false;
  /** receivedAt of the first recognised echo; starts the settle window. */
  firstEchoAt: number | null = null;
  echoCount = 0;
  /** The first recognised echo (watch, type, seq): each watch consumes each echo type once. */
  private echoWatch: string | null = null;
  private echoType: string | null = null;
  private echoSeq = 0;
  /**
   * Further recognised echoes as flat triples [watchId, type, seq, …]; null until a second one.
   * Bounded by watches × expected types.
   */
  private moreEchoes: Array<string | number> | null = null;

  constructor(
    readonly serial: number,
    readonly kind: MutationKind,
    /** One path, or several (a rename's source and destination). */
    private readonly pathOrPaths: string | readonly string[],
    /** One file id, several, or none (the caller knew only paths). */
    private readonly idOrIds: string | readonly string[] | null,
    readonly expectedTypes: ReadonlySet<NotificationType>,
    /** Epoch ms at which the intent was recorded (before the request was sent). */
    readonly recordedAt: number,
    /** `LOCAL_SOURCE` or the peer instance id. */
    readonly source: string,
    readonly origin: string | undefined,
  ) {}

  get paths(): readonly string[] {
    return typeof this.pathOrPaths === 'string' ? [this.pathOrPaths] : this.pathOrPaths;
  }

  get fileIds(): readonly string[] {
    const ids = this.idOrIds;
    return ids === null ? [] : typeof ids === 'string' ? [ids] : ids;
  }

  /** Whether the entry knows any file id. */
  get hasFileIds(): boolean {
    return this.idOrIds !== null;
  }

  /** Whether the entry knows this file id. */
  hasFileId(fileId: string): boolean {
    const ids = this.idOrIds;
    return ids !== null && (typeof ids === 'string' ? ids === fileId : ids.includes(fileId));
  }

  /** The seq of the echo of this type this watch already consumed, if any. */
  consumedSeq(watchId: string, type: string): number | undefined {
    if (this.echoWatch === null) return undefined;
    if (this.echoWatch === watchId && this.echoType === type) return this.echoSeq;
    const more = this.moreEchoes;
    if (more !== null) for (let i = 0; i < more.length; i += 3) if (more[i] === watchId && more[i + 1] === type) return more[i + 2] as number;
    return undefined;
  }

  /** Records a recognised echo not yet consumed by its watch (see consumedSeq). */
  consume(watchId: string, type: string, seq: number): void {
    if (this.echoWatch === null) {
      this.echoWatch = intern(watchId);
      this.echoType = intern(type);
      this.echoSeq = seq;
    } else if (this.moreEchoes === null) {
      this.moreEchoes = [intern(watchId), intern(type), seq];
    } else {
      this.moreEchoes.push(intern(watchId), intern(type), seq);
    }
  }

  /** Calls `visit` once per distinct path. */
  forEachPath(visit: (path: string) => void): void {
    forEachDistinct(this.pathOrPaths, visit);
  }

  /** Calls `visit` once per distinct file id. */
  forEachFileId(visit: (fileId: string) => void): void {
    if (this.idOrIds !== null) forEachDistinct(this.idOrIds, visit);
  }
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
  private readonly byFileId = new Map<string, IndexSlot>();
  /** Every entry by path: for events without a file id (no spine). */
  private readonly byPath = new Map<string, IndexSlot>();
  /**
   * Entries that know no file id, by path. An event with a file id can only match an entry that
   * has that id or has none, so it needs this (usually empty) map, not `byPath`: one lookup less
   * on the hot path.
   */
  private readonly byPathWithoutId = new Map<string, IndexSlot>();
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
    const entry = new LedgerEntry(
      ++this.serial,
      intent.kind,
      oneOrCopy(intent.paths) ?? [],
      oneOrCopy(intent.fileIds),
      internTypes(intent.expectedTypes),
      recordedAt,
      source,
      intent.origin,
    );
    entry.forEachFileId((fileId) => pushIndex(this.byFileId, fileId, entry));
    entry.forEachPath((path) => {
      pushIndex(this.byPath, path, entry);
      if (!entry.hasFileIds) pushIndex(this.byPathWithoutId, path, entry);
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
    let viaId: IndexSlot | undefined;
    let viaPath: IndexSlot | undefined;
    if (event.fileId !== null) {
      viaId = this.byFileId.get(event.fileId);
      if (this.byPathWithoutId.size > 0) viaPath = this.byPathWithoutId.get(event.path);
    } else {
      viaPath = this.byPath.get(event.path);
    }
    if (viaId === undefined && viaPath === undefined) return null; // the hot path: not ours
    const found = oldestMatch(viaId, event, window, oldestMatch(viaPath, event, window, null));
    if (found === null) return null;
    if (found.consumedSeq(event.watchId, event.type) === undefined) {
      found.consume(event.watchId, event.type, event.seq);
      found.echoCount++;
      if (found.firstEchoAt === null || event.receivedAt < found.firstEchoAt) found.firstEchoAt = event.receivedAt;
    }
    this.stats.recognised++;
    return found;
  }

  /** Entries currently held for a file id or path (diagnostics and the shared-ledger tests). */
  entriesFor(key: { fileId?: string | null; path?: string }): LedgerEntry[] {
    const result = new Set<LedgerEntry>();
    if (key.fileId) for (const e of slotEntries(this.byFileId.get(key.fileId))) result.add(e);
    if (key.path) for (const e of slotEntries(this.byPath.get(key.path))) result.add(e);
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
    entry.forEachFileId((fileId) => dropIndex(this.byFileId, fileId, entry));
    entry.forEachPath((path) => {
      dropIndex(this.byPath, path, entry);
      if (!entry.hasFileIds) dropIndex(this.byPathWithoutId, path, entry);
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
  if (event.fileId !== null && entry.hasFileIds && !entry.hasFileId(event.fileId)) return false;
  const skew = entry.source === LOCAL_SOURCE ? window.localSkewMs : window.remoteSkewMs;
  if (event.receivedAt < entry.recordedAt - skew) return false; // happened before we acted
  if (event.receivedAt > echoDeadline(entry, window)) return false;
  const seenSeq = entry.consumedSeq(event.watchId, event.type);
  return seenSeq === undefined || seenSeq === event.seq;
}

function oldestMatch(
  slot: IndexSlot | undefined,
  event: QumuloEvent,
  window: LedgerMatchWindow,
  best: LedgerEntry | null,
): LedgerEntry | null {
  if (slot === undefined) return best;
  if (slot instanceof LedgerEntry) {
    if (best !== null && slot.serial >= best.serial) return best;
    return matches(slot, event, window) ? slot : best;
  }
  for (const entry of slot) {
    if (best !== null && entry.serial >= best.serial) break; // index arrays are in recording order
    if (matches(entry, event, window)) return entry;
  }
  return best;
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

/**
 * Watch ids and notification types of consumed echoes, shared: each event brings its own copy of
 * these strings (parsed from Redis), and an entry would otherwise keep it. Few distinct values
 * exist; past the cap a string is kept as it is.
 */
const interned = new Map<string, string>();
const MAX_INTERNED = 4096;

function intern(value: string): string {
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(value, value);
  return value;
}

/** The lone value of a one-element list, a copy of a longer one, null for none. */
function oneOrCopy(values: readonly string[]): string | readonly string[] | null {
  return values.length === 0 ? null : values.length === 1 ? values[0] : values.slice();
}

/** Calls `visit` once per distinct value (no Set for the usual one- or two-element lists). */
function forEachDistinct(values: string | readonly string[], visit: (value: string) => void): void {
  if (typeof values === 'string') {
    visit(values);
    return;
  }
  if (values.length > 8) {
    for (const value of new Set(values)) visit(value);
    return;
  }
  for (let i = 0; i < values.length; i++) {
    if (values.indexOf(values[i]) === i) visit(values[i]);
  }
}

/**
 * What an index holds for a key: the entry itself when it is the only one (nearly always: one
 * intent per file at a time), an array in recording order when there are more.
 */
type IndexSlot = LedgerEntry | LedgerEntry[];

function slotEntries(slot: IndexSlot | undefined): readonly LedgerEntry[] {
  return slot === undefined ? [] : slot instanceof LedgerEntry ? [slot] : slot;
}

function pushIndex(index: Map<string, IndexSlot>, key: string, entry: LedgerEntry): void {
  const slot = index.get(key);
  if (slot === undefined) index.set(key, entry);
  else if (slot instanceof LedgerEntry) index.set(key, [slot, entry]);
  else slot.push(entry);
}

function dropIndex(index: Map<string, IndexSlot>, key: string, entry: LedgerEntry): void {
  const slot = index.get(key);
  if (slot === undefined) return;
  if (slot instanceof LedgerEntry) {
    if (slot === entry) index.delete(key);
    return;
  }
  const at = slot.indexOf(entry);
  if (at >= 0) slot.splice(at, 1);
  if (slot.length === 1) index.set(key, slot[0]);
  else if (slot.length === 0) index.delete(key);
}
