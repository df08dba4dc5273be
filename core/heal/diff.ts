// Healing through the snapshot tree diff (docs/qumulo-api.md §9): page through
// `changes-since(snapshot taken now, checkpoint taken before the gap)` and emit one synthetic event
// per created / modified / deleted path. A rename shows as DELETE old + CREATE new, exactly what
// the diff says. Attributes (for the file id and the last change time) are read from the new
// snapshot only for paths the live stream has also reported, to tell duplicates apart; every other
// path goes out without a lookup (fileId null).

import { type NotificationType, type QumuloEvent, joinWatchPath } from '../event';
import type { QumuloClient } from '../qumulo/client';
import { isNotFound } from '../qumulo/errors';
import type { SnapshotChangeOp } from '../qumulo/types';
import { mapLimit, throwIfAborted, yieldToEventLoop } from './concurrency';
import { isDuplicate, newestTime } from './dedup';
import { countKind, relativeInScope, syntheticEvent, typeForChange, typeInScope } from './events';
import type { LiveLedger } from './ledger';
import type { ProgressMeter } from './progress';
import type { BlindWindow, CheckpointRef, HealCounts, WatchScope } from './types';

export interface HealTally {
  entries: number;
  counts: HealCounts;
  found: number;
  duplicates: number;
  ignored: number;
  scanned?: number;
}

export interface HealContext {
  client: QumuloClient;
  scope: WatchScope;
  window: BlindWindow;
  /** Changes from this instant on count (window.start minus tolerance and look-back). */
  lookedFrom: number;
  toleranceMs: number;
  ledger: LiveLedger;
  /** Receives each page's synthetic events, in order. */
  emit(events: QumuloEvent[]): void;
  /** seq for the next synthetic event. */
  nextSeq(): number;
  signal?: AbortSignal;
  /** Attribute lookups / directory listings in flight at once (the client's limit applies too). */
  concurrency?: number;
  /** Entries per page asked from the cluster (default 1000). */
  pageSize?: number;
  /** Counts the entries looked at (progress of a long heal). */
  progress?: ProgressMeter;
}

export interface DiffHealContext extends HealContext {
  baseline: CheckpointRef;
  snapshot: CheckpointRef;
}

interface Candidate {
  op: SnapshotChangeOp;
  type: NotificationType;
  relativePath: string;
  eventPath: string;
}

interface Decision {
  emit: boolean;
  fileId: string | null;
}

export const DEFAULT_PAGE_SIZE = 1000;
export const DEFAULT_CONCURRENCY = 8;

export async function healByDiff(ctx: DiffHealContext): Promise<HealTally> {
  const tally: HealTally = { entries: 0, counts: { created: 0, modified: 0, deleted: 0 }, found: 0, duplicates: 0, ignored: 0 };
  const sinceBaseline = ctx.baseline.takenAt - ctx.toleranceMs;
  // Did this ledger see every live event since the checkpoint? (Not after a restart.)
  const ledgerComplete = ctx.ledger.covers(sinceBaseline);
  const pages = ctx.client.snapshotChanges(ctx.snapshot.id, ctx.baseline.id, { limit: ctx.pageSize ?? DEFAULT_PAGE_SIZE, signal: ctx.signal });
  for await (const page of pages) {
    throwIfAborted(ctx.signal);
    const candidates: Candidate[] = [];
    for (const entry of page?.entries ?? []) {
      const path = String(entry?.path ?? '');
      const isDirectory = path.endsWith('/');
      const relativePath = relativeInScope(ctx.scope, path);
      const type = relativePath === null ? null : typeForChange(entry.op, isDirectory);
      if (relativePath === null || type === null || !typeInScope(ctx.scope, type)) {
        tally.ignored++;
        continue;
      }
      candidates.push({ op: entry.op, type, relativePath, eventPath: joinWatchPath(ctx.scope.watchRoot, relativePath) });
    }
    tally.found += candidates.length;
    const decisions = await mapLimit(candidates, ctx.concurrency ?? DEFAULT_CONCURRENCY, (c) => decide(ctx, c, ledgerComplete, sinceBaseline));
    throwIfAborted(ctx.signal);
    const events: QumuloEvent[] = [];
    const receivedAt = Date.now();
    candidates.forEach((c, i) => {
      if (!decisions[i].emit) {
        tally.duplicates++;
        return;
      }
      events.push(syntheticEvent(ctx.scope, { type: c.type, relativePath: c.relativePath, fileId: decisions[i].fileId, seq: ctx.nextSeq(), receivedAt }));
      countKind(tally.counts, c.type);
    });
    tally.entries += events.length;
    if (events.length > 0) ctx.emit(events);
    ctx.progress?.add(page?.entries?.length ?? 0);
    await yieldToEventLoop();
  }
  return tally;
}

async function decide(ctx: DiffHealContext, c: Candidate, ledgerComplete: boolean, sinceBaseline: number): Promise<Decision> {
  if (c.op === 'DELETE') {
    // No times for what is gone: only the ledger can say the removal was already reported.
    return { emit: !(ledgerComplete && ctx.ledger.removedSince(c.eventPath, sinceBaseline)), fileId: null };
  }
  const question = { ledger: ctx.ledger, path: c.eventPath, type: c.type, window: ctx.window, lookedFrom: ctx.lookedFrom, toleranceMs: ctx.toleranceMs };
  if (isDuplicate({ ...question, lastChange: null })) return { emit: false, fileId: null };
  // Never reported live since the checkpoint: nothing to compare, no lookup needed.
  if (ledgerComplete && !ctx.ledger.seenSince(c.eventPath, sinceBaseline)) return { emit: true, fileId: null };
  let attrs;
  try {
    attrs = await ctx.client.getAttributes(c.eventPath, { snapshot: ctx.snapshot.id, signal: ctx.signal });
  } catch (err) {
    if (isNotFound(err)) return { emit: true, fileId: null };
    throw err;
  }
  const lastChange = newestTime(attrs.change_time, attrs.modification_time, attrs.creation_time);
  const fileId = attrs.id !== undefined && attrs.id !== null ? String(attrs.id) : null;
  return { emit: !isDuplicate({ ...question, lastChange }), fileId };
}
