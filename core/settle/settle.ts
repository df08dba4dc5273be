// Settle: hold events per file until the file has been quiet (no data-written / size-changed
// notification) for `quietMs`, then emit one coalesced event. Entries live in a Map kept in order
// of last activity, so the next one to settle is always the first: one timer for all files, O(1)
// per event, and "evict the oldest" on overflow is just "take the first".

import type { QumuloEvent } from '../event';

/** Notification types that mean "the file is still being written". */
export const SETTLE_ACTIVITY_TYPES: ReadonlySet<string> = new Set([
  'child_data_written',
  'child_size_changed',
  'child_stream_data_written',
  'child_stream_size_changed',
]);

export interface SettleEntry<T> {
  key: string;
  /** The latest item seen for the key (what gets emitted). */
  latest: T;
  count: number;
  /** Epoch ms of the first and the latest item. */
  firstAt: number;
  lastAt: number;
  /** Epoch ms of the latest activity (or of the first item); the quiet time counts from here. */
  lastActivityAt: number;
  /** Distinct notification types seen, in first-seen order. */
  types: string[];
}

export type SettleReason = 'quiet' | 'overflow' | 'flush';

export interface SettleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: SettleClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface SettlerOptions {
  quietMs: number;
  /** Most files held at once; beyond it the least recently active is emitted early. */
  maxPending: number;
}

export class Settler<T> {
  private readonly entries = new Map<string, SettleEntry<T>>();
  private timer: unknown = null;
  private timerDue = Infinity;
  private stopped = false;
  /** Entries emitted early because the cap was reached. */
  overflowCount = 0;

  constructor(
    private readonly options: SettlerOptions,
    private readonly emit: (entry: SettleEntry<T>, reason: SettleReason) => void,
    private readonly clock: SettleClock = systemClock,
  ) {
    if (!(options.quietMs >= 0)) throw new Error('quiet time must be >= 0');
    if (!(options.maxPending >= 1)) throw new Error('maximum pending files must be >= 1');
  }

  get size(): number {
    return this.entries.size;
  }

  /** Adds an item; `activity` restarts the key's quiet time (the first item always starts it). */
  add(key: string, item: T, type: string, activity: boolean): void {
    const now = this.clock.now();
    const entry = this.entries.get(key);
    if (entry) {
      entry.latest = item;
      entry.count++;
      entry.lastAt = now;
      if (!entry.types.includes(type)) entry.types.push(type);
      if (activity) {
        entry.lastActivityAt = now;
        // Re-insert: the Map stays ordered by last activity, i.e. by deadline.
        this.entries.delete(key);
        this.entries.set(key, entry);
      }
    } else {
      if (this.entries.size >= this.options.maxPending) {
        const oldest = this.entries.values().next().value as SettleEntry<T>;
        this.entries.delete(oldest.key);
        this.overflowCount++;
        this.emit(oldest, 'overflow');
      }
      this.entries.set(key, { key, latest: item, count: 1, firstAt: now, lastAt: now, lastActivityAt: now, types: [type] });
    }
    this.schedule();
  }

  /** Emits everything held, oldest activity first. */
  flush(): number {
    const all = this.take();
    for (const e of all) this.emit(e, 'flush');
    return all.length;
  }

  /** Removes and returns everything held without emitting (for handing over to a successor). */
  take(): SettleEntry<T>[] {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.cancelTimer();
    return all;
  }

  /** Takes over entries from a predecessor, keeping their timestamps (their quiet time goes on). */
  adopt(entries: readonly SettleEntry<T>[]): void {
    const merged = [...this.entries.values(), ...entries].sort((a, b) => a.lastActivityAt - b.lastActivityAt);
    this.entries.clear();
    for (const e of merged) {
      const existing = this.entries.get(e.key);
      if (existing) {
        existing.count += e.count;
        existing.firstAt = Math.min(existing.firstAt, e.firstAt);
        if (e.lastAt >= existing.lastAt) {
          existing.latest = e.latest;
          existing.lastAt = e.lastAt;
        }
        for (const t of e.types) if (!existing.types.includes(t)) existing.types.push(t);
        existing.lastActivityAt = Math.max(existing.lastActivityAt, e.lastActivityAt);
      } else {
        this.entries.set(e.key, { ...e, types: [...e.types] });
      }
    }
    while (this.entries.size > this.options.maxPending) {
      const oldest = this.entries.values().next().value as SettleEntry<T>;
      this.entries.delete(oldest.key);
      this.overflowCount++;
      this.emit(oldest, 'overflow');
    }
    this.schedule();
  }

  /** Stops the timer for good (the owner flushes or hands over first). */
  stop(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
  }

  private schedule(): void {
    if (this.stopped) return;
    const head = this.entries.values().next().value as SettleEntry<T> | undefined;
    if (!head) {
      this.cancelTimer();
      return;
    }
    const due = head.lastActivityAt + this.options.quietMs;
    if (this.timer !== null && this.timerDue === due) return;
    this.cancelTimer();
    this.timerDue = due;
    this.timer = this.clock.setTimeout(() => this.onTimer(), Math.max(0, due - this.clock.now()));
  }

  private onTimer(): void {
    this.timer = null;
    this.timerDue = Infinity;
    const now = this.clock.now();
    for (const entry of this.entries.values()) {
      if (entry.lastActivityAt + this.options.quietMs > now) break;
      this.entries.delete(entry.key);
      this.emit(entry, 'quiet');
    }
    this.schedule();
  }
}

/** Settle key of an event: its file id (follows renames) or, without one, its path. */
export function settleKey(event: Pick<QumuloEvent, 'fileId' | 'path'>): string {
  return event.fileId ? `id:${event.fileId}` : `path:${event.path}`;
}
