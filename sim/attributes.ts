// Attributes objects (docs/qumulo-api.md §2) built from a real lstat, plus the sidecar state the disk
// cannot hold: owner/group set through the API, creation time, and file locks (§4). Sidecar
// state is keyed by file id, so it follows renames.

import type * as fs from 'node:fs';
import type { FileAttributes, WireFileLock } from '../core/qumulo/types';
import { relToApi, baseName } from './paths';
import { fileTypeOf } from './tree';

export interface IdDetails {
  id_type: string;
  id_value: string;
}

export interface Sidecar {
  owner?: string;
  ownerDetails?: IdDetails;
  group?: string;
  groupDetails?: IdDetails;
  btimeNs?: bigint;
  atimeNs?: bigint;
  lock?: { legalHold: boolean; retention: string | null; retentionNs: bigint | null };
}

export const NO_LOCK: WireFileLock = Object.freeze({ legal_hold: false, retention_period: null }) as WireFileLock;

export class SidecarStore {
  private readonly byId = new Map<string, Sidecar>();

  get(id: string): Sidecar | undefined {
    return this.byId.get(id);
  }

  update(id: string, patch: Partial<Sidecar>): void {
    this.byId.set(id, { ...this.byId.get(id), ...patch });
  }

  forget(id: string): void {
    this.byId.delete(id);
  }

  lockOf(id: string): WireFileLock {
    const lock = this.byId.get(id)?.lock;
    return lock ? { legal_hold: lock.legalHold, retention_period: lock.retention } : { ...NO_LOCK };
  }

  /** Locked = legal hold, or a retention period that has not passed yet. */
  isLocked(id: string, nowMs = Date.now()): boolean {
    const lock = this.byId.get(id)?.lock;
    if (!lock) return false;
    return lock.legalHold || (lock.retentionNs !== null && lock.retentionNs > BigInt(nowMs) * 1_000_000n);
  }
}

/** RFC 3339 with nanoseconds, UTC: `2024-02-04T00:29:32.967968707Z`. */
export function formatNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // …T00:29:32.967Z
  const fraction = (((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/** Parses an RFC 3339 timestamp into epoch nanoseconds; null when it is not one. */
export function parseRfc3339(text: unknown): bigint | null {
  if (typeof text !== 'string') return null;
  const match = RFC3339.exec(text);
  if (!match) return null;
  const ms = Date.parse(match[1] + (match[3].toUpperCase() === 'Z' ? 'Z' : match[3]));
  if (Number.isNaN(ms)) return null;
  const fraction = BigInt((match[2] ?? '').padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + fraction;
}

export interface AttributeSource {
  rel: string;
  id: string;
  stat: fs.BigIntStats;
  sidecar: Sidecar | undefined;
  childCount: number;
  lock?: WireFileLock;
}

export function buildAttributes(src: AttributeSource): FileAttributes & Record<string, unknown> {
  const { stat, sidecar } = src;
  const fileType = fileTypeOf(stat.mode);
  const isDir = fileType === 'FS_FILE_TYPE_DIRECTORY';
  const uid = stat.uid.toString();
  const gid = stat.gid.toString();
  const btimeNs = sidecar?.btimeNs ?? (stat.birthtimeNs > 0n ? stat.birthtimeNs : stat.ctimeNs);
  const attributes: FileAttributes & Record<string, unknown> = {
    path: relToApi(src.rel, isDir),
    name: src.rel === '' ? '' : baseName(src.rel),
    num_links: Number(stat.nlink),
    type: fileType,
    major_minor_numbers: { major: 0, minor: 0 },
    symlink_target_type: 'FS_FILE_TYPE_UNKNOWN',
    file_number: src.id,
    id: src.id,
    mode: '0' + (Number(stat.mode) & 0o7777).toString(8).padStart(3, '0'),
    owner: sidecar?.owner ?? uid,
    owner_details: sidecar?.ownerDetails ?? { id_type: 'NFS_UID', id_value: uid },
    group: sidecar?.group ?? gid,
    group_details: sidecar?.groupDetails ?? { id_type: 'NFS_GID', id_value: gid },
    blocks: stat.blocks.toString(),
    datablocks: stat.blocks.toString(),
    metablocks: '1',
    size: isDir ? '0' : stat.size.toString(),
    access_time: formatNs(sidecar?.atimeNs ?? stat.atimeNs),
    modification_time: formatNs(stat.mtimeNs),
    change_time: formatNs(stat.ctimeNs),
    creation_time: formatNs(btimeNs),
    child_count: src.childCount,
    extended_attributes: {
      read_only: false, hidden: false, system: false, archive: false, temporary: false,
      compressed: false, not_content_indexed: false, sparse_file: false, offline: false,
    },
    directory_entry_hash_policy: isDir ? 'FS_DIRECTORY_HASH_VERSION_FOLDED' : null,
    data_revision: stat.mtimeNs.toString(),
    user_metadata_revision: '0',
  };
  if (src.lock) attributes.lock = src.lock;
  return attributes;
}
