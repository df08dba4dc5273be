// When is a heal candidate a duplicate of something the live stream already delivered?
//
// A candidate is (path, type, lastChange): lastChange is the object's newest change time on the
// cluster clock (max of modification, change and creation time) when known. The window says when
// the watch went blind (`start`), when the stream was back (`end`), and `lookedFrom`: start minus
// the tolerance for clock skew and notifications still in flight when the stream broke.
//
// Duplicate when:
//  - the live stream delivered the same type for the path after it came back (that delivery
//    reflects a state at least as new as the one the heal found), or
//  - the object last changed before `lookedFrom`: the stream was healthy then and delivered it, or
//  - a live delivery of the same type came clearly after the change, or around a change made
//    before the stream broke (it was that change's notification).
// An arrival (`child_*_added`) needs live evidence — an added or moved-to notification for the
// path — before any of the time rules apply: a file moved in keeps its old times, and whether the
// cluster bumps change_time on a rename is not documented.
// Anything else is emitted: a duplicate costs an idempotent action, a miss costs compliance.

import type { NotificationType } from '../event';
import type { LiveLedger } from './ledger';
import type { BlindWindow } from './types';

export interface DuplicateQuestion {
  ledger: LiveLedger;
  /** Event path (absolute, no trailing slash). */
  path: string;
  type: NotificationType;
  /** Cluster time of the object's last change, epoch ms; null when unknown. */
  lastChange: number | null;
  window: BlindWindow;
  lookedFrom: number;
  toleranceMs: number;
}

const ARRIVAL_EVIDENCE: Partial<Record<NotificationType, NotificationType>> = {
  child_file_added: 'child_file_moved_to',
  child_dir_added: 'child_dir_moved_to',
};

export function isDuplicate(q: DuplicateQuestion): boolean {
  const movedIn = ARRIVAL_EVIDENCE[q.type];
  const seen = newest(q.ledger.lastSeen(q.path, q.type), movedIn ? q.ledger.lastSeen(q.path, movedIn) : undefined);
  if (seen !== undefined && seen >= q.window.end) return true;
  if (q.lastChange === null) return false;
  if (movedIn && seen === undefined) return false;
  if (q.lastChange < q.lookedFrom) return true;
  if (seen === undefined) return false;
  return seen >= q.lastChange + q.toleranceMs || (q.lastChange < q.window.start && seen >= q.lastChange - q.toleranceMs);
}

function newest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.max(a, b);
}

/** Newest of the given RFC 3339 times, epoch ms; null when none is readable. */
export function newestTime(...values: unknown[]): number | null {
  let newest: number | null = null;
  for (const value of values) {
    if (typeof value !== 'string' || value.length === 0) continue;
    const ms = Date.parse(value);
    if (Number.isFinite(ms) && (newest === null || ms > newest)) newest = ms;
  }
  return newest;
}
