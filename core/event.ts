// The one normalized event shape that flows through every qumulo-flow node.
// Built from a Qumulo change-notify notification (see docs/qumulo-api.md §3.3) plus what the
// watcher knows (its root, its id, arrival order). Everything here is plain JSON so it survives
// Redis encoding, Node-RED message cloning and the debug sidebar.

/** The 24 documented change-notify types (docs/qumulo-api.md §3.4). */
export const NOTIFICATION_TYPES = [
  'child_file_added',
  'child_dir_added',
  'child_file_removed',
  'child_dir_removed',
  'child_file_moved_from',
  'child_file_moved_to',
  'child_dir_moved_from',
  'child_dir_moved_to',
  'child_btime_changed',
  'child_mtime_changed',
  'child_atime_changed',
  'child_size_changed',
  'child_data_written',
  'child_extra_attrs_changed',
  'child_acl_changed',
  'child_owner_changed',
  'child_group_changed',
  'child_stream_added',
  'child_stream_removed',
  'child_stream_moved_from',
  'child_stream_moved_to',
  'child_stream_size_changed',
  'child_stream_data_written',
  'self_removed',
] as const;

export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

const NOTIFICATION_TYPE_SET: ReadonlySet<string> = new Set(NOTIFICATION_TYPES);

export function isNotificationType(value: unknown): value is NotificationType {
  return typeof value === 'string' && NOTIFICATION_TYPE_SET.has(value);
}

/** Types that by themselves say the object is a directory / a file. Others leave it unknown. */
const DIRECTORY_TYPES: ReadonlySet<string> = new Set([
  'child_dir_added',
  'child_dir_removed',
  'child_dir_moved_from',
  'child_dir_moved_to',
  'self_removed',
]);
const FILE_TYPES: ReadonlySet<string> = new Set([
  'child_file_added',
  'child_file_removed',
  'child_file_moved_from',
  'child_file_moved_to',
  'child_data_written',
  'child_size_changed',
  'child_stream_added',
  'child_stream_removed',
  'child_stream_moved_from',
  'child_stream_moved_to',
  'child_stream_size_changed',
  'child_stream_data_written',
]);

/** A raw notification object as it arrives inside a `data:` array. */
export interface RawNotification {
  type: string;
  path: string;
  spine?: string[] | null;
  stream_name?: string | null;
}

/** Attributes fetched for an event by an optional enrichment step (subset of §2). */
export interface EventAttributes {
  size?: number;
  owner?: string;
  group?: string;
  mode?: string;
  modificationTime?: string;
  creationTime?: string;
  lock?: { legalHold: boolean; retentionPeriod: string | null };
}

export interface QumuloEvent {
  /** Notification type, e.g. `child_file_added`. */
  type: NotificationType;
  /** Absolute path on the cluster, no trailing slash (`/` only for the root itself). */
  path: string;
  /** Path relative to the watch root, no leading slash (`''` for the root itself). */
  relativePath: string;
  /** Last path component (`''` for the root). */
  name: string;
  /** Extension without the dot, as written (`PDF`, `gz`); `''` when none or for dotfiles like `.env`. */
  extension: string;
  /** Absolute path of the parent directory. */
  parentDir: string;
  /** File id of the changed object (last spine element), when the cluster sent a spine. */
  fileId: string | null;
  /** File ids from the oldest ancestor down to the object itself; `[]` when absent. */
  spine: string[];
  /** true/false when the notification type says so, null when the type does not tell. */
  isDirectory: boolean | null;
  /** Alternate data stream name, null for the default stream. */
  streamName: string | null;
  /** Identifies the subscription that produced the event (cluster + path + options). */
  watchId: string;
  /** Absolute path of the watched directory. */
  watchRoot: string;
  /** Per-subscription sequence number, 1-based, strictly increasing in arrival order. */
  seq: number;
  /** Epoch milliseconds at which the watcher received the notification. */
  receivedAt: number;
  /** Set on synthetic events produced by gap healing (not live notifications). */
  resync?: boolean;
  /** Filled by enrichment when asked for (rules on size/owner/mode). */
  attributes?: EventAttributes;
}

/** Normalizes an absolute directory path: leading slash, no trailing slash, no `//`. */
export function normalizeDirPath(dir: string): string {
  const parts = dir.split('/').filter((p) => p.length > 0);
  return '/' + parts.join('/');
}

/** Joins the watch root and a notification's relative path into an absolute path. */
export function joinWatchPath(root: string, relative: string): string {
  const rel = relative.replace(/^\/+/, '').replace(/\/+$/, '');
  const base = normalizeDirPath(root);
  if (rel === '') return base;
  return base === '/' ? '/' + rel : base + '/' + rel;
}

export function splitName(path: string): { name: string; parentDir: string; extension: string } {
  if (path === '/' || path === '') return { name: '', parentDir: '/', extension: '' };
  const idx = path.lastIndexOf('/');
  const name = path.slice(idx + 1);
  const parentDir = idx <= 0 ? '/' : path.slice(0, idx);
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && dot < name.length - 1 ? name.slice(dot + 1) : '';
  return { name, parentDir, extension };
}

export function isDirectoryType(type: string): boolean | null {
  if (DIRECTORY_TYPES.has(type)) return true;
  if (FILE_TYPES.has(type)) return false;
  return null;
}

export interface EventContext {
  watchId: string;
  watchRoot: string;
  seq: number;
  receivedAt: number;
}

/**
 * Builds the normalized event from a raw notification. The caller has validated `type` and
 * `path` (see core/qumulo/sse.ts); this function never throws on a valid notification.
 */
export function normalizeNotification(raw: RawNotification & { type: NotificationType }, ctx: EventContext): QumuloEvent {
  const relativePath = raw.path.replace(/^\/+/, '').replace(/\/+$/, '');
  const path = joinWatchPath(ctx.watchRoot, relativePath);
  const { name, parentDir, extension } = splitName(path);
  const spine = Array.isArray(raw.spine) ? raw.spine.map(String) : [];
  return {
    type: raw.type,
    path,
    relativePath,
    name,
    extension,
    parentDir,
    fileId: spine.length > 0 ? spine[spine.length - 1] : null,
    spine,
    isDirectory: isDirectoryType(raw.type),
    streamName: raw.stream_name ?? null,
    watchId: ctx.watchId,
    watchRoot: normalizeDirPath(ctx.watchRoot),
    seq: ctx.seq,
    receivedAt: ctx.receivedAt,
  };
}
