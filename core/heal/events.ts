// Synthetic events: a created/modified/deleted path found by the snapshot diff or the tree walk,
// turned into the one normalized event shape (core/event.ts) with `resync: true`, so the filter,
// the loop guard and the actions treat it like a live notification.

import { type NotificationType, type QumuloEvent, normalizeDirPath, normalizeNotification } from '../event';
import type { SnapshotChangeOp } from '../qumulo/types';
import type { HealCounts, WatchScope } from './types';

/** The nearest notification type for a diff entry; null for what the live stream would not report. */
export function typeForChange(op: SnapshotChangeOp, isDirectory: boolean): NotificationType | null {
  if (op === 'CREATE') return isDirectory ? 'child_dir_added' : 'child_file_added';
  if (op === 'DELETE') return isDirectory ? 'child_dir_removed' : 'child_file_removed';
  // A directory "modified" in a diff means its entries changed; those entries come as their own
  // events (and the live stream does not report directory mtime changes either).
  return isDirectory ? null : 'child_data_written';
}

export function countKind(counts: HealCounts, type: NotificationType): void {
  if (type === 'child_file_added' || type === 'child_dir_added') counts.created++;
  else if (type === 'child_file_removed' || type === 'child_dir_removed') counts.deleted++;
  else counts.modified++;
}

/**
 * The path relative to the watch root when the live watch would report it: under the root (not the
 * root itself), within reach (direct children only for a non-recursive watch), and safe (no `.`/`..`
 * components, no NUL). Other odd characters (tab, newline, bidi) are legal in names and, like the
 * live stream's, flow on. `absolutePath` may end with `/` (directories).
 */
export function relativeInScope(scope: WatchScope, absolutePath: string): string | null {
  if (typeof absolutePath !== 'string' || !absolutePath.startsWith('/') || absolutePath.includes('\0')) return null;
  const parts = absolutePath.split('/').filter((p) => p.length > 0);
  for (const part of parts) if (part === '.' || part === '..') return null;
  const root = normalizeDirPath(scope.watchRoot);
  const rootParts = root === '/' ? [] : root.split('/').slice(1);
  if (parts.length <= rootParts.length) return null;
  for (let i = 0; i < rootParts.length; i++) if (parts[i] !== rootParts[i]) return null;
  const relative = parts.slice(rootParts.length);
  if (!scope.recursive && relative.length !== 1) return null;
  return relative.join('/');
}

export function typeInScope(scope: WatchScope, type: NotificationType): boolean {
  return scope.types === null || scope.types.has(type);
}

export interface SyntheticSpec {
  type: NotificationType;
  relativePath: string;
  fileId: string | null;
  seq: number;
  receivedAt: number;
}

/** One synthetic event in the normal shape; `spine` stays empty (the diff does not give one). */
export function syntheticEvent(scope: WatchScope, spec: SyntheticSpec): QumuloEvent {
  const event = normalizeNotification(
    { type: spec.type, path: spec.relativePath, spine: null, stream_name: null },
    { watchId: scope.watchId, watchRoot: scope.watchRoot, seq: spec.seq, receivedAt: spec.receivedAt },
  );
  event.fileId = spec.fileId;
  event.resync = true;
  return event;
}

/** Epoch ms of an RFC 3339 timestamp (ns precision is fine); null when missing or unreadable. */
export function parseTime(value: unknown): number | null {
  if (typeof value !== 'string' || value.length === 0) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}
