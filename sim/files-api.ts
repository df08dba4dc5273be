// The /v1/files handlers: attributes, entries (create / rename), data, delete, resolve, file locks.
// Every change is made for real on the backing directory with synchronous fs calls, then the
// index is refreshed and the change is announced, all in one turn of the event loop, so the disk
// watcher finds nothing left to report and notifications keep the order of the API calls.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NotificationType } from '../core/event';
import { buildAttributes, formatNs, parseRfc3339, type IdDetails, type Sidecar, type SidecarStore } from './attributes';
import { ApiError, badRequest, entryExists, notFound, readOnly } from './errors';
import { DATA_BODY_LIMIT, fsError, parseFlag, parsePositiveInt, readBody, readJson, readJsonObject, sendEmpty, sendJson } from './http-util';
import { apiPathToRel, isWithin, joinRel, relToApi, validateName, type RootJail } from './paths';
import type { SnapshotStore } from './snapshots';
import { fileTypeOf, lstatQuiet, ROOT_ID, type Change, type FsTree, type Operation } from './tree';

export interface FilesContext {
  jail: RootJail;
  tree: FsTree;
  sidecars: SidecarStore;
  snapshots: SnapshotStore;
  publish(op: Operation): void;
  /** The simulator's current fault settings (lock answer variants). */
  faults?(): { lockShortenAnswer: 'error-400' | 'error-403' | 'unchanged-200'; lockAnswerOmitsLock: boolean };
}

export interface Located {
  rel: string;
  disk: string;
  stat: fs.BigIntStats;
  id: string;
  isDir: boolean;
}

const DEFAULT_PAGE_LIMIT = 1000;

export class FilesApi {
  constructor(private readonly ctx: FilesContext) {}

  /** `{ref}` → root-relative path: a decimal id, or a URL-encoded absolute path. */
  refToRel(rawRef: string): string {
    let ref: string;
    try {
      ref = decodeURIComponent(rawRef);
    } catch {
      throw badRequest('malformed URL encoding in file reference');
    }
    if (/^\d+$/.test(ref)) {
      const rel = this.ctx.tree.pathOfId(ref);
      if (rel === undefined) throw notFound(`id ${ref}`);
      return rel;
    }
    return apiPathToRel(ref);
  }

  locate(rawRef: string): Located {
    return this.locateRel(this.refToRel(rawRef));
  }

  locateRel(rel: string): Located {
    const disk = this.ctx.jail.safeDisk(rel);
    const stat = lstatQuiet(disk);
    if (!stat) throw notFound(relToApi(rel, false));
    const isDir = fileTypeOf(stat.mode) === 'FS_FILE_TYPE_DIRECTORY';
    return { rel, disk, stat, id: rel === '' ? ROOT_ID : stat.ino.toString(), isDir };
  }

  attributesOf(at: Located, withLock: boolean): Record<string, unknown> {
    const childCount = at.isDir ? (this.ctx.tree.childNames(at.rel)?.size ?? safeCount(at.disk)) : 0;
    return buildAttributes({
      rel: at.rel,
      id: at.id,
      stat: at.stat,
      sidecar: this.ctx.sidecars.get(at.id),
      childCount,
      lock: withLock ? this.ctx.sidecars.lockOf(at.id) : undefined,
    });
  }

  private fresh(rel: string, withLock = false): Record<string, unknown> {
    return this.attributesOf(this.locateRel(rel), withLock);
  }

  private change(type: NotificationType, rel: string, spine = this.ctx.tree.spineOf(rel)): Change {
    return { type, rel, spine };
  }

  private assertUnlocked(at: Located): void {
    if (!at.isDir && this.ctx.sidecars.isLocked(at.id)) throw readOnly(relToApi(at.rel, false));
  }

  // ---- GET/PATCH /v1/files/{ref}/info/attributes ---------------------------------------

  getAttributes(rawRef: string, query: URLSearchParams, res: ServerResponse): void {
    const withLock = parseFlag(query.get('retrieve-file-lock'), 'retrieve-file-lock', false);
    const snapshot = query.get('snapshot');
    if (snapshot !== null && snapshot !== '') {
      sendJson(res, 200, this.snapshotAttributes(rawRef, snapshot, withLock));
      return;
    }
    sendJson(res, 200, this.attributesOf(this.locate(rawRef), withLock));
  }

  private snapshotAttributes(rawRef: string, snapshot: string, withLock: boolean): Record<string, unknown> {
    if (!/^\d+$/.test(snapshot)) throw badRequest('snapshot must be a snapshot id');
    const ref = decodeURIComponent(rawRef);
    const found = /^\d+$/.test(ref)
      ? this.ctx.snapshots.lookup(Number(snapshot), { id: ref })
      : this.ctx.snapshots.lookup(Number(snapshot), { rel: apiPathToRel(ref) });
    if (!found) throw notFound(`${ref} in snapshot ${snapshot}`);
    const { rel, entry } = found;
    const isDir = entry.fileType === 'FS_FILE_TYPE_DIRECTORY';
    const mtime = formatNs(entry.mtimeNs);
    const attributes: Record<string, unknown> = {
      path: relToApi(rel, isDir),
      name: rel.slice(rel.lastIndexOf('/') + 1),
      type: entry.fileType,
      id: entry.id,
      file_number: entry.id,
      mode: '0' + entry.mode.toString(8).padStart(3, '0'),
      owner: String(entry.uid),
      group: String(entry.gid),
      size: entry.size.toString(),
      modification_time: mtime,
      change_time: formatNs(entry.ctimeNs),
      creation_time: mtime,
    };
    if (withLock) attributes.lock = entry.lock ?? { legal_hold: false, retention_period: null };
    return attributes;
  }

  async patchAttributes(rawRef: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = readJsonObject(await readJson(req));
    const at = this.locate(rawRef);
    this.assertUnlocked(at);
    // validate everything before changing anything
    let mode: number | undefined;
    if (body.mode !== undefined) {
      if (typeof body.mode !== 'string' || !/^0*[0-7]{1,4}$/.test(body.mode)) throw badRequest('mode must be an octal string such as "0644"');
      if (at.stat.isSymbolicLink()) throw badRequest('cannot change the mode of a symlink');
      mode = parseInt(body.mode, 8);
    }
    const owner = idField(body, 'owner', 'NFS_UID');
    const group = idField(body, 'group', 'NFS_GID');
    const times: Partial<Record<'modification_time' | 'access_time' | 'creation_time', bigint>> = {};
    for (const field of ['modification_time', 'access_time', 'creation_time'] as const) {
      if (body[field] === undefined) continue;
      const ns = parseRfc3339(body[field]);
      if (ns === null) throw badRequest(`${field} must be an RFC 3339 timestamp`);
      times[field] = ns;
    }
    let size: number | undefined;
    if (body.size !== undefined) {
      if (at.isDir) throw new ApiError(400, 'fs_is_directory_error', 'cannot set the size of a directory');
      if (typeof body.size !== 'string' || !/^\d+$/.test(body.size)) throw badRequest('size must be a decimal string');
      size = Number(body.size);
    }

    const types: NotificationType[] = [];
    const sidecar: Partial<Sidecar> = {};
    try {
      if (size !== undefined) {
        fs.truncateSync(at.disk, size);
        types.push('child_size_changed');
      }
      if (mode !== undefined) {
        fs.chmodSync(at.disk, mode);
        types.push('child_acl_changed');
      }
      if (times.modification_time !== undefined || times.access_time !== undefined) {
        const toSeconds = (ns: bigint): number => Number(ns / 1000n) / 1e6;
        const atime = times.access_time ?? at.stat.atimeNs;
        const mtime = times.modification_time ?? at.stat.mtimeNs;
        fs.utimesSync(at.disk, toSeconds(atime), toSeconds(mtime));
        if (times.modification_time !== undefined) types.push('child_mtime_changed');
        if (times.access_time !== undefined) {
          sidecar.atimeNs = times.access_time;
          types.push('child_atime_changed');
        }
      }
    } catch (err) {
      throw fsError(err, relToApi(at.rel, at.isDir));
    }
    if (owner) {
      sidecar.owner = owner.id;
      sidecar.ownerDetails = owner.details;
      types.push('child_owner_changed');
    }
    if (group) {
      sidecar.group = group.id;
      sidecar.groupDetails = group.details;
      types.push('child_group_changed');
    }
    if (times.creation_time !== undefined) {
      sidecar.btimeNs = times.creation_time;
      types.push('child_btime_changed');
    }
    if (Object.keys(sidecar).length > 0) this.ctx.sidecars.update(at.id, sidecar);
    this.ctx.tree.refresh([at.rel]);
    if (types.length > 0) {
      const spine = this.ctx.tree.spineOf(at.rel);
      this.ctx.publish(types.map((type) => this.change(type, at.rel, spine)));
    }
    sendJson(res, 200, this.fresh(at.rel));
  }

  // ---- GET /v1/files/{ref}/aggregates/ --------------------------------------------------

  /**
   * Totals below a directory (not counting it). The real cluster keeps these up to date as it goes
   * and sends 64-bit counts as strings; the field names are UNCONFIRMED (core/heal/progress.ts).
   */
  aggregates(rawRef: string, res: ServerResponse): void {
    const at = this.locate(rawRef);
    const totals = { files: 0, directories: 0, symlinks: 0, other: 0, data: 0n };
    const visit = (disk: string): void => {
      let names: string[];
      try {
        names = fs.readdirSync(disk);
      } catch {
        return; // removed while counting
      }
      for (const name of names) {
        const child = path.join(disk, name);
        const stat = lstatQuiet(child);
        if (!stat) continue;
        if (stat.isDirectory()) {
          totals.directories++;
          visit(child);
        } else if (stat.isSymbolicLink()) totals.symlinks++;
        else if (stat.isFile()) {
          totals.files++;
          totals.data += stat.size;
        } else totals.other++;
      }
    };
    if (at.isDir) visit(at.disk);
    else if (at.stat.isFile()) totals.data = at.stat.size;
    sendJson(res, 200, {
      path: relToApi(at.rel, at.isDir),
      id: at.id,
      total_files: String(totals.files),
      total_directories: String(totals.directories),
      total_symlinks: String(totals.symlinks),
      total_other: String(totals.other),
      total_data: totals.data.toString(),
    });
  }

  // ---- GET/POST /v1/files/{ref}/entries/ -----------------------------------------------

  listEntries(rawRef: string, query: URLSearchParams, res: ServerResponse): void {
    const at = this.locate(rawRef);
    if (!at.isDir) throw new ApiError(400, 'fs_not_a_directory_error', `not a directory: ${relToApi(at.rel, false)}`);
    const limit = parsePositiveInt(query.get('limit'), 'limit', DEFAULT_PAGE_LIMIT);
    const after = query.get('after');
    let names: string[];
    try {
      names = fs.readdirSync(at.disk);
    } catch (err) {
      throw fsError(err, relToApi(at.rel, true));
    }
    names.sort(compareNames);
    let start = 0;
    if (after !== null && after !== '') {
      while (start < names.length && compareNames(names[start], after) <= 0) start++;
    }
    const files: Record<string, unknown>[] = [];
    let index = start;
    for (; index < names.length && files.length < limit; index++) {
      const childRel = joinRel(at.rel, names[index]);
      const childDisk = path.join(at.disk, names[index]);
      const stat = lstatQuiet(childDisk);
      if (!stat) continue; // removed while listing
      files.push(this.attributesOf({ rel: childRel, disk: childDisk, stat, id: stat.ino.toString(), isDir: stat.isDirectory() }, false));
    }
    const last = files.length > 0 ? String(files[files.length - 1].name) : '';
    const next = index < names.length ? `/v1/files/${rawRef}/entries/?limit=${limit}&after=${encodeURIComponent(last)}` : '';
    sendJson(res, 200, { path: relToApi(at.rel, true), id: at.id, child_count: names.length, files, paging: { next, prev: '' } });
  }

  async createEntry(rawRef: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = readJsonObject(await readJson(req));
    const parent = this.locate(rawRef);
    if (!parent.isDir) throw new ApiError(400, 'fs_not_a_directory_error', `not a directory: ${relToApi(parent.rel, false)}`);
    switch (body.action) {
      case 'CREATE_FILE':
      case 'CREATE_DIRECTORY': {
        const rel = joinRel(parent.rel, validateName(body.name));
        const isDir = body.action === 'CREATE_DIRECTORY';
        const disk = this.ctx.jail.safeDisk(rel);
        try {
          if (isDir) fs.mkdirSync(disk);
          else fs.writeFileSync(disk, '', { flag: 'wx' });
        } catch (err) {
          throw fsError(err, relToApi(rel, isDir));
        }
        this.ctx.tree.refresh([rel]);
        this.ctx.publish([this.change(isDir ? 'child_dir_added' : 'child_file_added', rel)]);
        sendJson(res, 200, this.fresh(rel));
        return;
      }
      case 'RENAME':
        this.rename(parent, body, res);
        return;
      default:
        throw badRequest(`unsupported action ${JSON.stringify(body.action)} (the simulator knows CREATE_FILE, CREATE_DIRECTORY, RENAME)`);
    }
  }

  private rename(parent: Located, body: Record<string, unknown>, res: ServerResponse): void {
    if (typeof body.old_path !== 'string') throw badRequest('old_path must be an absolute path');
    const source = this.locateRel(apiPathToRel(body.old_path));
    const targetRel = joinRel(parent.rel, validateName(body.name));
    const clobber = body.clobber === true;
    if (source.rel === '') throw badRequest('cannot rename the root directory');
    if (source.isDir && isWithin(targetRel, source.rel)) {
      if (targetRel === source.rel) {
        sendJson(res, 200, this.attributesOf(source, false));
        return;
      }
      throw badRequest('cannot move a directory into itself');
    }
    this.assertUnlocked(source);
    const targetDisk = this.ctx.jail.safeDisk(targetRel);
    const targetStat = lstatQuiet(targetDisk);
    if (targetStat && targetRel === source.rel) {
      sendJson(res, 200, this.attributesOf(source, false));
      return;
    }
    let replaced: Change | null = null;
    if (targetStat) {
      if (!clobber) throw entryExists(relToApi(targetRel, targetStat.isDirectory()));
      const target = this.locateRel(targetRel);
      this.assertUnlocked(target);
      replaced = this.change(target.isDir ? 'child_dir_removed' : 'child_file_removed', targetRel);
    }
    const fromSpine = this.ctx.tree.spineOf(source.rel);
    try {
      fs.renameSync(source.disk, targetDisk);
    } catch (err) {
      throw fsError(err, relToApi(targetRel, source.isDir));
    }
    this.ctx.tree.refresh([source.rel, targetRel]);
    if (replaced) this.ctx.publish([replaced]);
    const kind = source.isDir ? 'dir' : 'file';
    this.ctx.publish([
      this.change(`child_${kind}_moved_from`, source.rel, fromSpine),
      this.change(`child_${kind}_moved_to`, targetRel),
    ]);
    sendJson(res, 200, this.fresh(targetRel));
  }

  // ---- PUT/GET /v1/files/{ref}/data -----------------------------------------------------

  async putData(rawRef: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const data = await readBody(req, DATA_BODY_LIMIT);
    const at = this.locate(rawRef);
    if (at.isDir) throw new ApiError(400, 'fs_is_directory_error', `is a directory: ${relToApi(at.rel, true)}`);
    this.assertUnlocked(at);
    try {
      const fd = fs.openSync(at.disk, fs.constants.O_WRONLY | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW);
      try {
        fs.writeFileSync(fd, data);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      throw fsError(err, relToApi(at.rel, false));
    }
    this.ctx.tree.refresh([at.rel]);
    const spine = this.ctx.tree.spineOf(at.rel);
    const op = [this.change('child_data_written', at.rel, spine)];
    if (BigInt(data.length) !== at.stat.size) op.push(this.change('child_size_changed', at.rel, spine));
    this.ctx.publish(op);
    sendJson(res, 200, this.fresh(at.rel));
  }

  getData(rawRef: string, res: ServerResponse): void {
    const at = this.locate(rawRef);
    if (at.isDir) throw new ApiError(400, 'fs_is_directory_error', `is a directory: ${relToApi(at.rel, true)}`);
    let data: Buffer;
    try {
      const fd = fs.openSync(at.disk, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        data = fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      throw fsError(err, relToApi(at.rel, false));
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length });
    res.end(data);
  }

  // ---- DELETE /v1/files/{ref} ---------------------------------------------------------

  delete(rawRef: string, res: ServerResponse): void {
    const at = this.locate(rawRef);
    if (at.rel === '') throw badRequest('cannot delete the root directory');
    this.assertUnlocked(at);
    const removed = this.change(at.isDir ? 'child_dir_removed' : 'child_file_removed', at.rel);
    try {
      if (at.isDir) fs.rmdirSync(at.disk);
      else fs.unlinkSync(at.disk);
    } catch (err) {
      throw fsError(err, relToApi(at.rel, at.isDir));
    }
    this.ctx.tree.refresh([at.rel]);
    this.ctx.publish([removed]);
    sendEmpty(res, 200);
  }

  // ---- POST /v1/files/resolve ---------------------------------------------------------

  async resolve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (!Array.isArray(body)) throw badRequest('body must be a JSON array of file ids');
    const resolved = body.map((value) => {
      const id = String(value);
      if (!/^\d+$/.test(id)) throw badRequest(`not a file id: ${JSON.stringify(value)}`);
      const rel = this.ctx.tree.pathOfId(id);
      if (rel === undefined) throw notFound(`id ${id}`);
      return { id, path: relToApi(rel, this.ctx.tree.get(rel)?.isDir ?? false) };
    });
    sendJson(res, 200, resolved);
  }

  // ---- GET/PATCH /v1/files/{ref}/file-lock --------------------------------------------

  getLock(rawRef: string, res: ServerResponse): void {
    const at = this.locate(rawRef);
    if (at.isDir) throw badRequest('directories cannot be locked');
    sendJson(res, 200, this.attributesOf(at, true));
  }

  async patchLock(rawRef: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = readJsonObject(await readJson(req));
    const at = this.locate(rawRef);
    if (at.isDir) throw badRequest('directories cannot be locked');
    const current = this.ctx.sidecars.get(at.id)?.lock ?? { legalHold: false, retention: null, retentionNs: null };
    const next = { ...current };
    if (body.legal_hold !== undefined) {
      if (typeof body.legal_hold !== 'boolean') throw badRequest('legal_hold must be a boolean');
      next.legalHold = body.legal_hold;
    }
    if (body.retention_period !== undefined) {
      if (body.retention_period === null) {
        if (current.retention !== null) throw badRequest('a retention period cannot be removed, only extended');
      } else {
        const ns = parseRfc3339(body.retention_period);
        if (ns === null) throw badRequest('retention_period must be an RFC 3339 timestamp');
        if (current.retentionNs !== null && ns < current.retentionNs) {
          const answer = this.ctx.faults?.().lockShortenAnswer ?? 'error-400';
          if (answer === 'error-403') throw readOnly(relToApi(at.rel, false));
          if (answer === 'error-400') throw badRequest(`retention period can only be extended (currently ${current.retention})`);
          // 'unchanged-200': the longer lock stays, the answer shows it
        }
        if (current.retentionNs === null || ns > current.retentionNs) {
          next.retention = body.retention_period as string;
          next.retentionNs = ns;
        }
      }
    }
    const changed = next.legalHold !== current.legalHold || next.retentionNs !== current.retentionNs;
    if (changed) {
      this.ctx.sidecars.update(at.id, { lock: next });
      this.ctx.publish([this.change('child_extra_attrs_changed', at.rel)]);
    }
    const answer = this.attributesOf(at, true);
    if (this.ctx.faults?.().lockAnswerOmitsLock) delete answer.lock;
    sendJson(res, 200, answer);
  }
}

/** Directory listings are ordered by name, byte-wise, so `after` keys page stably. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function safeCount(disk: string): number {
  try {
    return fs.readdirSync(disk).length;
  } catch {
    return 0;
  }
}

/** `owner` (auth id string) or `owner_details` ({id_type, id_value}); same for group. */
function idField(body: Record<string, unknown>, name: 'owner' | 'group', defaultType: string): { id: string; details: IdDetails } | null {
  const plain = body[name];
  const details = body[`${name}_details`];
  if (plain === undefined && details === undefined) return null;
  if (details !== undefined) {
    const d = details as Partial<IdDetails> | null;
    if (!d || typeof d !== 'object' || typeof d.id_type !== 'string' || typeof d.id_value !== 'string') {
      throw badRequest(`${name}_details must be {"id_type": "...", "id_value": "..."}`);
    }
    return { id: typeof plain === 'string' ? plain : d.id_value, details: { id_type: d.id_type, id_value: d.id_value } };
  }
  if (typeof plain !== 'string' || plain.length === 0) throw badRequest(`${name} must be a non-empty string`);
  return { id: plain, details: { id_type: defaultType, id_value: plain } };
}
