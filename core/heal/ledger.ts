// What the live stream delivered lately, per path and type, so a heal can drop what the watch
// already reported (the snapshot diff spans from the last checkpoint, which is usually before the
// gap; the walk looks a little before the gap). Bounded: the least recently touched paths are
// evicted first, and the ledger then stops claiming to cover the time they were seen.

import type { QumuloEvent } from '../event';

const REMOVALS: ReadonlySet<string> = new Set(['child_file_removed', 'child_dir_removed', 'child_file_moved_from', 'child_dir_moved_from']);
const ARRIVALS: ReadonlySet<string> = new Set(['child_file_added', 'child_dir_added', 'child_file_moved_to', 'child_dir_moved_to']);

interface PathRecord {
  /** Latest receivedAt of any event for the path. */
  last: number;
  /** Latest receivedAt per notification type. */
  types: Map<string, number>;
  lastRemoval: number | null;
  lastArrival: number | null;
}

export const DEFAULT_LEDGER_PATHS = 200_000;

export class LiveLedger {
  private readonly paths = new Map<string, PathRecord>();
  /** receivedAt of the newest record evicted for room (it no longer covers up to there). */
  private evictedUpTo = Number.NEGATIVE_INFINITY;
  /** Deliveries before this were forgotten on purpose (prune). */
  private prunedBefore = Number.NEGATIVE_INFINITY;

  /** `since`: when recording began (this process, this node instance). */
  constructor(
    readonly since: number,
    private readonly maxPaths = DEFAULT_LEDGER_PATHS,
  ) {}

  get size(): number {
    return this.paths.size;
  }

  /** Records a live event. Synthetic (resync) events are not live deliveries and are ignored. */
  record(event: Pick<QumuloEvent, 'path' | 'type' | 'receivedAt' | 'resync'>): void {
    if (event.resync) return;
    let record = this.paths.get(event.path);
    if (record) {
      // Keep the map in least-recently-touched order (eviction and pruning take from the front).
      this.paths.delete(event.path);
    } else {
      record = { last: 0, types: new Map(), lastRemoval: null, lastArrival: null };
    }
    const at = event.receivedAt;
    record.last = Math.max(record.last, at);
    record.types.set(event.type, Math.max(record.types.get(event.type) ?? 0, at));
    if (REMOVALS.has(event.type)) record.lastRemoval = Math.max(record.lastRemoval ?? 0, at);
    if (ARRIVALS.has(event.type)) record.lastArrival = Math.max(record.lastArrival ?? 0, at);
    this.paths.set(event.path, record);
    while (this.paths.size > this.maxPaths) {
      const oldest = this.paths.entries().next().value as [string, PathRecord];
      this.paths.delete(oldest[0]);
      this.evictedUpTo = Math.max(this.evictedUpTo, oldest[1].last);
    }
  }

  /** Whether every live event received from `time` on is still known here. */
  covers(time: number): boolean {
    return this.since <= time && this.evictedUpTo < time && this.prunedBefore <= time;
  }

  /** receivedAt of the latest live event of `type` for `path`, if any. */
  lastSeen(path: string, type: string): number | undefined {
    return this.paths.get(path)?.types.get(type);
  }

  /** Whether any live event for `path` arrived at or after `time`. */
  seenSince(path: string, time: number): boolean {
    const record = this.paths.get(path);
    return record !== undefined && record.last >= time;
  }

  /** Whether the latest live word on `path` since `time` was that it went away (removed or moved off). */
  removedSince(path: string, time: number): boolean {
    const record = this.paths.get(path);
    if (!record || record.lastRemoval === null || record.lastRemoval < time) return false;
    return record.lastArrival === null || record.lastRemoval >= record.lastArrival;
  }

  /** Forgets paths last seen before `time` (no heal will ask about them any more). */
  prune(time: number): void {
    this.prunedBefore = Math.max(this.prunedBefore, time);
    for (const [path, record] of this.paths) {
      if (record.last >= time) break;
      this.paths.delete(path);
    }
  }
}
