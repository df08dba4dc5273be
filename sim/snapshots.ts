// Snapshots (docs/qumulo-api.md §9): a snapshot is a record of every entry under its source directory
// at creation time (path, id, size, mtime, mode, owner, lock), made by walking the backing
// directory once. `changes-since` compares two records with maps: CREATE / MODIFY / DELETE by
// absolute path, directories with a trailing `/`; a rename is DELETE old + CREATE new.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FileType, Snapshot, SnapshotChange, WireFileLock } from '../core/qumulo/types';
import { formatNs } from './attributes';
import { relToApi, type RootJail } from './paths';
import { fileTypeOf, ROOT_ID } from './tree';

export interface SnapshotEntry {
  id: string;
  fileType: FileType;
  size: bigint;
  mtimeNs: bigint;
  /** Status change time: metadata changes (chmod, chown, rename) move it, unlike mtime. */
  ctimeNs: bigint;
  mode: number;
  uid: number;
  gid: number;
  lock: WireFileLock | null;
}

interface SnapshotRecord {
  meta: Snapshot;
  expiresNs: bigint | null;
  entries: Map<string, SnapshotEntry>;
  relById: Map<string, string>;
}

/** Walks `sourceRel` once (lstat, never following symlinks) into a path-keyed record. */
export function recordTree(jail: RootJail, sourceRel: string, lockOf: (id: string) => WireFileLock | null): Map<string, SnapshotEntry> {
  const entries = new Map<string, SnapshotEntry>();
  // disk paths are carried down and concatenated: path.join per entry costs more than the lstat
  const visit = (rel: string, disk: string, stat: fs.BigIntStats): void => {
    const id = rel === '' ? ROOT_ID : stat.ino.toString();
    const fileType = fileTypeOf(stat.mode);
    entries.set(rel, {
      id,
      fileType,
      size: fileType === 'FS_FILE_TYPE_DIRECTORY' ? 0n : stat.size,
      mtimeNs: stat.mtimeNs,
      ctimeNs: stat.ctimeNs,
      mode: Number(stat.mode & 0o7777n),
      uid: Number(stat.uid),
      gid: Number(stat.gid),
      lock: lockOf(id),
    });
    if (fileType !== 'FS_FILE_TYPE_DIRECTORY') return;
    let names: string[];
    try {
      names = fs.readdirSync(disk);
    } catch {
      return; // vanished while walking
    }
    for (const name of names) {
      const childDisk = disk + path.sep + name;
      const childStat = fs.lstatSync(childDisk, { bigint: true, throwIfNoEntry: false });
      if (childStat) visit(rel === '' ? name : rel + '/' + name, childDisk, childStat);
    }
  };
  const sourceDisk = jail.disk(sourceRel);
  visit(sourceRel, sourceDisk, fs.lstatSync(sourceDisk, { bigint: true }));
  return entries;
}

function sameState(a: SnapshotEntry, b: SnapshotEntry): boolean {
  return (
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.lock?.legal_hold === b.lock?.legal_hold &&
    a.lock?.retention_period === b.lock?.retention_period
  );
}

export class SnapshotStore {
  private readonly records = new Map<number, SnapshotRecord>();
  private readonly diffs = new Map<string, SnapshotChange[]>();
  private nextId = 1;

  create(sourceId: string, suffix: string | undefined, expiration: string | null, expiresNs: bigint | null, entries: Map<string, SnapshotEntry>): Snapshot {
    const id = this.nextId++;
    const meta: Snapshot = {
      id,
      name: `${id}_${suffix && suffix.length > 0 ? suffix : 'OnDemand'}`,
      timestamp: formatNs(BigInt(Date.now()) * 1_000_000n),
      source_file_id: sourceId,
      policy_id: null,
      expiration,
      in_delete: false,
    };
    const relById = new Map<string, string>();
    for (const [rel, entry] of entries) relById.set(entry.id, rel);
    this.records.set(id, { meta, expiresNs, entries, relById });
    return meta;
  }

  list(): Snapshot[] {
    this.expire();
    return [...this.records.values()].map((record) => record.meta);
  }

  get(id: number): Snapshot | undefined {
    this.expire();
    return this.records.get(id)?.meta;
  }

  delete(id: number): boolean {
    const deleted = this.records.delete(id);
    if (deleted) for (const key of [...this.diffs.keys()]) if (key.split('/').includes(String(id))) this.diffs.delete(key);
    return deleted;
  }

  /** An entry as it was in the snapshot, looked up by root-relative path or by id. */
  lookup(snapshotId: number, ref: { rel?: string; id?: string }): { rel: string; entry: SnapshotEntry } | undefined {
    const record = this.records.get(snapshotId);
    if (!record) return undefined;
    const rel = ref.rel ?? (ref.id !== undefined ? record.relById.get(ref.id) : undefined);
    if (rel === undefined) return undefined;
    const entry = record.entries.get(rel);
    return entry ? { rel, entry } : undefined;
  }

  /** Changes between two snapshots of the same source, sorted by path (cached for paging). */
  changesSince(newerId: number, olderId: number): SnapshotChange[] | 'missing' | 'mismatch' {
    this.expire();
    const newer = this.records.get(newerId);
    const older = this.records.get(olderId);
    if (!newer || !older) return 'missing';
    if (newer.meta.source_file_id !== older.meta.source_file_id || newerId <= olderId) return 'mismatch';
    const key = `${newerId}/${olderId}`;
    const cached = this.diffs.get(key);
    if (cached) return cached;
    const deletes: SnapshotChange[] = [];
    const others: SnapshotChange[] = [];
    const pathOf = (rel: string, entry: SnapshotEntry): string => relToApi(rel, entry.fileType === 'FS_FILE_TYPE_DIRECTORY');
    for (const [rel, now] of newer.entries) {
      const before = older.entries.get(rel);
      if (!before) others.push({ op: 'CREATE', path: pathOf(rel, now) });
      else if (before.id !== now.id) {
        deletes.push({ op: 'DELETE', path: pathOf(rel, before) });
        others.push({ op: 'CREATE', path: pathOf(rel, now) });
      } else if (!sameState(before, now)) others.push({ op: 'MODIFY', path: pathOf(rel, now) });
    }
    for (const [rel, before] of older.entries) if (!newer.entries.has(rel)) deletes.push({ op: 'DELETE', path: pathOf(rel, before) });
    // by path; at the same path (a replaced object) DELETE comes before CREATE
    const changes = [...deletes, ...others].sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : (a.op === 'DELETE' ? 0 : 1) - (b.op === 'DELETE' ? 0 : 1),
    );
    this.diffs.set(key, changes);
    return changes;
  }

  private expire(): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    for (const [id, record] of this.records) if (record.expiresNs !== null && record.expiresNs <= nowNs) this.delete(id);
  }
}
