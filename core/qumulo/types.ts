// Wire types of the Qumulo REST API subset qumulo-flow uses (docs/qumulo-api.md), and the
// contract between the core client, the simulator and the loop guard. 64-bit values stay strings.

import type { NotificationType } from '../event';

export type FileType =
  | 'FS_FILE_TYPE_FILE'
  | 'FS_FILE_TYPE_DIRECTORY'
  | 'FS_FILE_TYPE_SYMLINK'
  | 'FS_FILE_TYPE_UNIX_PIPE'
  | 'FS_FILE_TYPE_UNIX_CHARACTER_DEVICE'
  | 'FS_FILE_TYPE_UNIX_BLOCK_DEVICE'
  | 'FS_FILE_TYPE_UNIX_SOCKET';

/** `lock` as returned with `?retrieve-file-lock=true` (§4.2). */
export interface WireFileLock {
  legal_hold: boolean;
  retention_period: string | null;
}

/** Attributes object (§2), the fields we read. Directories' `path` ends with `/`. */
export interface FileAttributes {
  path: string;
  name: string;
  id: string;
  file_number?: string;
  type: FileType | string;
  mode: string;
  owner: string;
  group: string;
  size: string;
  child_count?: number;
  num_links?: number;
  modification_time: string;
  creation_time: string;
  change_time?: string;
  access_time?: string;
  lock?: WireFileLock;
}

/** Directory listing page (§2). `paging.next` is a URI (relative to the API root) or `''`. */
export interface DirectoryPage {
  path: string;
  id: string;
  child_count?: number;
  files: FileAttributes[];
  paging: { next: string; prev?: string };
}

/** Error body (§8). Every field optional: a 401 may carry no body at all (§1.2). */
export interface WireError {
  module?: string;
  error_class?: string;
  description?: string;
  stack?: string[];
  user_visible?: boolean;
  inner?: WireError;
}

export interface Snapshot {
  id: number;
  name: string;
  timestamp: string;
  source_file_id: string;
  policy_id: number | null;
  expiration: string | null;
  in_delete: boolean;
}

export type SnapshotChangeOp = 'CREATE' | 'MODIFY' | 'DELETE';

export interface SnapshotChange {
  op: SnapshotChangeOp;
  path: string;
}

/** `GET /v2/snapshots/{newer}/changes-since/{older}` page (§9). */
export interface SnapshotChangesPage {
  entries: SnapshotChange[];
  paging: { next: string | null };
}

export interface WhoAmI {
  id: string;
  name: string;
  privileges?: string[];
  [key: string]: unknown;
}

/** Body of PATCH /v1/files/{ref}/file-lock (§4.1): send only the fields being changed. */
export interface FileLockPatch {
  retention_period?: string;
  legal_hold?: boolean;
}

/** Body of PATCH /v1/files/{ref}/info/attributes (§6): omit what is unchanged. */
export interface AttributesPatch {
  mode?: string;
  owner?: string;
  group?: string;
  modification_time?: string;
  creation_time?: string;
}

/** What kind of change a client call makes; the loop guard maps these to expected echoes. */
export type MutationKind = 'lock' | 'rename' | 'mkdir' | 'delete' | 'set-attributes' | 'create-file' | 'write-data' | 'snapshot';

/**
 * Announced by the client to every mutation listener *before* the request is sent, so a
 * self-write ledger can recognise the change-notify echo even when it races the HTTP reply.
 * `paths` are absolute (both sides of a move); `fileIds` are known ids (may be empty when only a
 * path is known); `expectedTypes` are the notification types this change may cause.
 */
export interface MutationIntent {
  kind: MutationKind;
  paths: string[];
  fileIds: string[];
  expectedTypes: NotificationType[];
  /** Free-form correlation, e.g. the rule or node that asked for the change. */
  origin?: string;
}

/** Listeners may be async (e.g. a ledger kept in Redis); the client awaits them before sending. */
export type MutationListener = (intent: MutationIntent) => void | Promise<void>;

/**
 * Notification types each mutation may cause. The exact types a lock or chmod emits on a real
 * cluster are UNCONFIRMED (docs/qumulo-api.md §3.4), so the lists are deliberately generous; the
 * simulator emits a subset of each (see sim/).
 */
export const EXPECTED_ECHOES: Readonly<Record<MutationKind, readonly NotificationType[]>> = {
  lock: ['child_extra_attrs_changed', 'child_acl_changed', 'child_mtime_changed', 'child_btime_changed'],
  rename: ['child_file_moved_from', 'child_file_moved_to', 'child_dir_moved_from', 'child_dir_moved_to'],
  mkdir: ['child_dir_added'],
  delete: ['child_file_removed', 'child_dir_removed'],
  'set-attributes': [
    'child_acl_changed',
    'child_extra_attrs_changed',
    'child_owner_changed',
    'child_group_changed',
    'child_mtime_changed',
    'child_btime_changed',
  ],
  'create-file': ['child_file_added'],
  'write-data': ['child_data_written', 'child_size_changed', 'child_mtime_changed'],
  snapshot: [],
};
