// Healing without snapshots: walk the watched tree with paged directory listings (a few
// directories in flight at once) and emit every entry whose creation or modification time falls
// inside the blind window. Slower than the diff (it lists every entry), and blind to what the
// listing cannot show: deletions, and moves or metadata changes that keep both times.

import { type NotificationType, type QumuloEvent, joinWatchPath } from '../event';
import { isNotFound } from '../qumulo/errors';
import type { FileAttributes } from '../qumulo/types';
import { throwIfAborted } from './concurrency';
import { isDuplicate } from './dedup';
import { DEFAULT_PAGE_SIZE, type HealContext, type HealTally } from './diff';
import { countKind, parseTime, relativeInScope, syntheticEvent, typeInScope } from './events';

export const DEFAULT_WALK_CONCURRENCY = 4;

export async function healByWalk(ctx: HealContext): Promise<HealTally> {
  const tally: HealTally = { entries: 0, counts: { created: 0, modified: 0, deleted: 0 }, found: 0, duplicates: 0, ignored: 0, scanned: 0 };
  const limit = Math.max(1, ctx.concurrency ?? DEFAULT_WALK_CONCURRENCY);
  // A stack (depth first) keeps the pending list short on wide trees.
  const pending: string[] = [ctx.scope.watchRoot];

  const listDirectory = async (dir: string): Promise<void> => {
    for await (const page of ctx.client.listEntries(dir, { limit: ctx.pageSize ?? DEFAULT_PAGE_SIZE, signal: ctx.signal })) {
      throwIfAborted(ctx.signal);
      const events: QumuloEvent[] = [];
      const receivedAt = Date.now();
      for (const entry of page?.files ?? []) {
        tally.scanned = (tally.scanned ?? 0) + 1;
        const candidate = examine(ctx, entry, pending);
        if (candidate === null) continue;
        if (candidate === 'ignored') {
          tally.ignored++;
          continue;
        }
        tally.found++;
        const duplicate = isDuplicate({
          ledger: ctx.ledger,
          path: joinWatchPath(ctx.scope.watchRoot, candidate.relativePath),
          type: candidate.type,
          lastChange: candidate.lastChange,
          window: ctx.window,
          lookedFrom: ctx.lookedFrom,
          toleranceMs: ctx.toleranceMs,
        });
        if (duplicate) {
          tally.duplicates++;
          continue;
        }
        events.push(syntheticEvent(ctx.scope, { type: candidate.type, relativePath: candidate.relativePath, fileId: candidate.fileId, seq: ctx.nextSeq(), receivedAt }));
        countKind(tally.counts, candidate.type);
      }
      tally.entries += events.length;
      if (events.length > 0) ctx.emit(events);
      ctx.progress?.add(page?.files?.length ?? 0);
    }
  };

  await new Promise<void>((resolve, reject) => {
    let running = 0;
    let failed = false;
    const pump = (): void => {
      if (failed) return;
      while (running < limit && pending.length > 0) {
        const dir = pending.pop() as string;
        running++;
        listDirectory(dir)
          .catch((err: unknown) => {
            // A directory removed while we walk is simply gone (its removal is not ours to report).
            if (isNotFound(err) && dir !== ctx.scope.watchRoot) return;
            failed = true;
            reject(err);
          })
          .finally(() => {
            running--;
            pump();
          });
      }
      if (running === 0 && pending.length === 0 && !failed) resolve();
    };
    pump();
  });
  return tally;
}

interface WalkCandidate {
  type: NotificationType;
  relativePath: string;
  fileId: string | null;
  lastChange: number;
}

/** Queues sub-directories; returns the candidate, 'ignored' (out of the type filter), or null. */
function examine(ctx: HealContext, entry: FileAttributes, pending: string[]): WalkCandidate | 'ignored' | null {
  const isDirectory = entry.type === 'FS_FILE_TYPE_DIRECTORY';
  const relativePath = relativeInScope(ctx.scope, String(entry.path ?? ''));
  if (relativePath === null) return null;
  if (isDirectory && ctx.scope.recursive) pending.push(joinWatchPath(ctx.scope.watchRoot, relativePath));
  const created = parseTime(entry.creation_time);
  const modified = parseTime(entry.modification_time);
  const isNew = created !== null && created >= ctx.lookedFrom;
  const isModified = modified !== null && modified >= ctx.lookedFrom;
  if (!isNew && !isModified) return null;
  // A directory whose entries changed is not news: its entries are listed and reported themselves.
  const type: NotificationType | null = isNew ? (isDirectory ? 'child_dir_added' : 'child_file_added') : isDirectory ? null : 'child_data_written';
  if (type === null) return null;
  if (!typeInScope(ctx.scope, type)) return 'ignored';
  const fileId = entry.id !== undefined && entry.id !== null ? String(entry.id) : null;
  return { type, relativePath, fileId, lastChange: Math.max(created ?? 0, modified ?? 0) };
}
