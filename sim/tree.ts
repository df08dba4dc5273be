// The simulator's index of the backing directory: path → {inode, size, mtime, mode, owner, type}.
// File ids are inode numbers (root: "2"), so they survive renames as on Qumulo. The index is the
// source of spines, and diffing it against the disk turns direct disk changes (touch, mv, rm,
// chmod, mkdir -p …) into change-notify operations. API handlers refresh the index themselves
// right after their own change, so the disk watcher finds nothing left to report.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NotificationType } from '../core/event';
import type { FileType } from '../core/qumulo/types';
import { baseName, depthOf, joinRel, parentOf, type RootJail } from './paths';

export const ROOT_ID = '2';

export interface IndexEntry {
  id: string;
  isDir: boolean;
  fileType: FileType;
  size: bigint;
  mtimeNs: bigint;
  mode: number;
  uid: number;
  gid: number;
}

/** One notification before it is fanned out: path relative to the root, spine from the root. */
export interface Change {
  type: NotificationType;
  rel: string;
  spine: string[];
  streamName?: string | null;
}

/** The changes one operation caused; published as one `data:` line per watcher. */
export type Operation = Change[];

export function fileTypeOf(mode: bigint | number): FileType {
  switch (Number(mode) & 0o170000) {
    case 0o040000: return 'FS_FILE_TYPE_DIRECTORY';
    case 0o120000: return 'FS_FILE_TYPE_SYMLINK';
    case 0o010000: return 'FS_FILE_TYPE_UNIX_PIPE';
    case 0o020000: return 'FS_FILE_TYPE_UNIX_CHARACTER_DEVICE';
    case 0o060000: return 'FS_FILE_TYPE_UNIX_BLOCK_DEVICE';
    case 0o140000: return 'FS_FILE_TYPE_UNIX_SOCKET';
    default: return 'FS_FILE_TYPE_FILE';
  }
}

export function lstatQuiet(diskPath: string): fs.BigIntStats | undefined {
  try {
    return fs.lstatSync(diskPath, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR and friends: the path does not exist as asked
  }
}

function entryOf(stat: fs.BigIntStats, isRoot: boolean): IndexEntry {
  const fileType = fileTypeOf(stat.mode);
  return {
    id: isRoot ? ROOT_ID : stat.ino.toString(),
    isDir: fileType === 'FS_FILE_TYPE_DIRECTORY',
    fileType,
    size: stat.size,
    mtimeNs: stat.mtimeNs,
    mode: Number(stat.mode & 0o7777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
  };
}

interface Removal { rel: string; entry: IndexEntry; spine: string[] }
interface Addition { rel: string; entry: IndexEntry }

/** First id handed out for paths that exist nowhere (injected notifications). */
const SYNTHETIC_ID_BASE = 9_000_000_000_000;
const DISK_SETTLE_MS = 20;

export interface TreeHooks {
  /** Operations derived from disk changes, in order. */
  publish(ops: Operation[]): void;
  /** An id disappeared for good (not renamed): drop its sidecar state. */
  forget(id: string): void;
}

export class FsTree {
  private readonly entries = new Map<string, IndexEntry>();
  private readonly children = new Map<string, Set<string>>();
  private readonly pathById = new Map<string, string>();
  private readonly syntheticIds = new Map<string, string>();
  private nextSyntheticId = SYNTHETIC_ID_BASE;
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private dirty = new Set<string>();
  private settleTimer: NodeJS.Timeout | null = null;
  private watching = false;
  private watchFailureReported = false;

  constructor(
    private readonly jail: RootJail,
    private readonly hooks: TreeHooks,
  ) {}

  /** Indexes the whole backing tree silently; starts the disk watchers when asked. */
  start(watchDisk: boolean): void {
    this.watching = watchDisk;
    const rootStat = lstatQuiet(this.jail.root);
    if (!rootStat) throw new Error(`simulator root vanished: ${this.jail.root}`);
    this.addSubtree('', entryOf(rootStat, true), []);
  }

  stop(): void {
    this.watching = false;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    this.dirty.clear();
  }

  get(rel: string): IndexEntry | undefined {
    return this.entries.get(rel);
  }

  pathOfId(id: string): string | undefined {
    return this.pathById.get(id);
  }

  childNames(rel: string): ReadonlySet<string> | undefined {
    return this.children.get(rel);
  }

  /** Ids from the root ("2") down to `rel`; unknown components get a stable synthetic id. */
  spineOf(rel: string): string[] {
    const spine = [ROOT_ID];
    if (rel === '') return spine;
    let prefix = '';
    let start = 0;
    while (start <= rel.length) {
      let end = rel.indexOf('/', start);
      if (end < 0) end = rel.length;
      prefix = rel.slice(0, end);
      spine.push(this.idOrSynthetic(prefix));
      start = end + 1;
    }
    return spine;
  }

  private idOrSynthetic(rel: string): string {
    const known = this.entries.get(rel)?.id ?? this.syntheticIds.get(rel);
    if (known !== undefined) return known;
    const stat = lstatQuiet(this.jail.disk(rel));
    if (stat) return stat.ino.toString();
    const id = String(this.nextSyntheticId++);
    this.syntheticIds.set(rel, id);
    return id;
  }

  /**
   * Brings the index in line with the disk for the given paths and returns the operations the
   * differences amount to. API handlers call this after their own change and discard the result
   * (they announce their change themselves); the disk watcher publishes it.
   */
  refresh(rels: Iterable<string>): Operation[] {
    const removals: Removal[] = [];
    const additions: Addition[] = [];
    const modifications: Array<{ rel: string; types: NotificationType[] }> = [];
    const pending = [...new Set(rels)].sort((a, b) => depthOf(a) - depthOf(b));
    for (const rel of pending) this.reconcilePath(rel, removals, additions, modifications);
    return this.pair(removals, additions, modifications);
  }

  private reconcilePath(
    rel: string,
    removals: Removal[],
    additions: Addition[],
    modifications: Array<{ rel: string; types: NotificationType[] }>,
  ): void {
    const old = this.entries.get(rel);
    const stat = lstatQuiet(this.jail.disk(rel));
    if (!old && !stat) return;
    if (rel === '') {
      if (stat && old) this.reconcileChildren(rel, removals, additions, modifications);
      return; // the root itself never appears or disappears
    }
    if (!stat) {
      this.removeSubtree(rel, removals);
      return;
    }
    const current = entryOf(stat, false);
    if (!old) {
      const parent = parentOf(rel);
      if (!this.entries.get(parent)?.isDir) {
        // parent not indexed yet (its own event is still on the way): index it first
        this.reconcilePath(parent, removals, additions, modifications);
        if (this.entries.has(rel)) return;
        if (!this.entries.get(parent)?.isDir) return;
      }
      this.addSubtree(rel, current, additions);
      return;
    }
    if (old.id !== current.id || old.isDir !== current.isDir) {
      this.removeSubtree(rel, removals);
      this.addSubtree(rel, current, additions);
      return;
    }
    const types = changeTypes(old, current);
    this.entries.set(rel, current);
    if (types.length > 0) modifications.push({ rel, types });
    if (current.isDir) this.reconcileChildren(rel, removals, additions, modifications);
  }

  /** Catches children whose own events were missed (created before a watcher was attached). */
  private reconcileChildren(
    rel: string,
    removals: Removal[],
    additions: Addition[],
    modifications: Array<{ rel: string; types: NotificationType[] }>,
  ): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.jail.disk(rel));
    } catch {
      return;
    }
    const known = this.children.get(rel) ?? new Set<string>();
    const onDisk = new Set(names);
    for (const name of [...known]) if (!onDisk.has(name)) this.removeSubtree(joinRel(rel, name), removals);
    for (const name of names) if (!known.has(name)) this.reconcilePath(joinRel(rel, name), removals, additions, modifications);
  }

  private addSubtree(rel: string, entry: IndexEntry, additions: Addition[], disk = this.jail.disk(rel)): void {
    this.entries.set(rel, entry);
    this.pathById.set(entry.id, rel);
    this.syntheticIds.delete(rel);
    if (rel !== '') {
      const siblings = this.children.get(parentOf(rel));
      if (siblings) siblings.add(baseName(rel));
    }
    additions.push({ rel, entry });
    if (!entry.isDir) return;
    const names = new Set<string>();
    this.children.set(rel, names);
    this.watchDirectory(rel, entry.id); // before reading it, so nothing created meanwhile is missed
    let listing: string[];
    try {
      listing = fs.readdirSync(disk);
    } catch {
      return;
    }
    for (const name of listing) {
      // disk paths are concatenated, not joined: on large trees path.join costs more than lstat
      const childDisk = disk + path.sep + name;
      const stat = lstatQuiet(childDisk);
      if (!stat) continue;
      names.add(name);
      this.addSubtree(joinRel(rel, name), entryOf(stat, false), additions, childDisk);
    }
  }

  /** Removes `rel` and everything below it, deepest first, recording the spines they had. */
  private removeSubtree(rel: string, removals: Removal[]): void {
    const entry = this.entries.get(rel);
    if (!entry) return;
    const spine = this.spineOf(rel);
    const collect = (at: string, atEntry: IndexEntry, atSpine: string[]): void => {
      const names = this.children.get(at);
      if (names) {
        for (const name of names) {
          const childRel = joinRel(at, name);
          const child = this.entries.get(childRel);
          if (child) collect(childRel, child, [...atSpine, child.id]);
        }
      }
      removals.push({ rel: at, entry: atEntry, spine: atSpine });
      this.entries.delete(at);
      this.children.delete(at);
      if (this.pathById.get(atEntry.id) === at) this.pathById.delete(atEntry.id);
      const watcher = this.watchers.get(atEntry.id);
      if (watcher && this.pathById.get(atEntry.id) === undefined) {
        watcher.close();
        this.watchers.delete(atEntry.id);
      }
    };
    collect(rel, entry, spine);
    this.children.get(parentOf(rel))?.delete(baseName(rel));
  }

  /** Turns removals/additions into operations; the same id on both sides is a move. */
  private pair(
    removals: Removal[],
    additions: Addition[],
    modifications: Array<{ rel: string; types: NotificationType[] }>,
  ): Operation[] {
    const removedById = new Map<string, Removal>();
    for (const removal of removals) removedById.set(removal.entry.id, removal);
    const moves: Array<{ from: Removal; to: Addition }> = [];
    const movedDirs = new Map<string, string>();
    const paired = new Set<Removal>();
    const added: Addition[] = [];
    for (const addition of additions) {
      const from = removedById.get(addition.entry.id);
      if (from && !paired.has(from)) {
        paired.add(from);
        moves.push({ from, to: addition });
        if (addition.entry.isDir) movedDirs.set(from.rel, addition.rel);
      } else {
        added.push(addition);
      }
    }
    const ops: Operation[] = [];
    for (const removal of removals) {
      if (paired.has(removal)) continue;
      ops.push([{ type: removal.entry.isDir ? 'child_dir_removed' : 'child_file_removed', rel: removal.rel, spine: removal.spine }]);
      if (this.pathById.get(removal.entry.id) === undefined) this.hooks.forget(removal.entry.id);
    }
    const afterMoves: Operation[] = [];
    for (const { from, to } of moves) {
      // children of a moved directory travel with it silently
      const carriedByParent = movedDirs.get(parentOf(from.rel)) === parentOf(to.rel) && baseName(from.rel) === baseName(to.rel);
      if (!carriedByParent) {
        const kind = to.entry.isDir ? 'dir' : 'file';
        ops.push([
          { type: `child_${kind}_moved_from`, rel: from.rel, spine: from.spine },
          { type: `child_${kind}_moved_to`, rel: to.rel, spine: this.spineOf(to.rel) },
        ]);
      }
      const types = changeTypes(from.entry, to.entry);
      if (types.length > 0) afterMoves.push(types.map((type) => ({ type, rel: to.rel, spine: this.spineOf(to.rel) })));
    }
    for (const { rel, entry } of added) {
      const spine = this.spineOf(rel);
      ops.push([{ type: entry.isDir ? 'child_dir_added' : 'child_file_added', rel, spine }]);
      if (!entry.isDir && entry.size > 0n) {
        ops.push([
          { type: 'child_data_written', rel, spine },
          { type: 'child_size_changed', rel, spine },
        ]);
      }
    }
    ops.push(...afterMoves);
    for (const { rel, types } of modifications) {
      const spine = this.spineOf(rel);
      ops.push(types.map((type) => ({ type, rel, spine })));
    }
    return ops;
  }

  // ---- disk watching ---------------------------------------------------------------------

  private watchDirectory(rel: string, id: string): void {
    if (!this.watching || this.watchers.has(id)) return;
    try {
      const watcher = fs.watch(this.jail.disk(rel), (_event, filename) => this.onDiskEvent(id, filename));
      watcher.on('error', () => {
        watcher.close();
        if (this.watchers.get(id) === watcher) this.watchers.delete(id);
      });
      this.watchers.set(id, watcher);
    } catch (err) {
      if (!this.watchFailureReported) {
        this.watchFailureReported = true;
        process.emitWarning(`qumulo-sim: cannot watch ${rel || '/'} for disk changes: ${(err as Error).message}`);
      }
    }
  }

  private onDiskEvent(dirId: string, filename: string | Buffer | null): void {
    if (!this.watching) return;
    const dirRel = this.pathById.get(dirId);
    if (dirRel === undefined) return;
    const name = filename === null ? null : filename.toString();
    // events about the watched directory itself carry its own (possibly stale) name
    if (name === null || name === baseName(dirRel)) this.dirty.add(dirRel);
    if (name !== null && name.length > 0) this.dirty.add(joinRel(dirRel, name));
    if (!this.settleTimer) this.settleTimer = setTimeout(() => this.flushDisk(), DISK_SETTLE_MS);
  }

  /** Reports pending disk changes now (also called before snapshots and on stop). */
  flushDisk(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    if (this.dirty.size === 0) return;
    const dirty = this.dirty;
    this.dirty = new Set();
    const ops = this.refresh(dirty);
    if (ops.length > 0) this.hooks.publish(ops);
  }
}

/** Notification types a same-inode attribute difference amounts to. */
function changeTypes(before: IndexEntry, after: IndexEntry): NotificationType[] {
  const types: NotificationType[] = [];
  if (!after.isDir) {
    if (before.size !== after.size) types.push('child_data_written', 'child_size_changed');
    else if (before.mtimeNs !== after.mtimeNs) types.push('child_data_written');
  }
  if (before.mode !== after.mode) types.push('child_acl_changed');
  if (before.uid !== after.uid) types.push('child_owner_changed');
  if (before.gid !== after.gid) types.push('child_group_changed');
  return types;
}
