// Path handling for the simulator. Inside the simulator every object is named by its path
// relative to the backing root, without leading or trailing slash ('' is the root itself).
// Nothing built from request data may leave the root: `..`, `.`, NUL and symlinked ancestors
// that resolve outside the root are refused. Like a real cluster, existing paths may hold any
// other character (tab, newline, bidi); names the API creates may not hold control characters.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiError, badRequest } from './errors';

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Converts an absolute API path (`/a/b/`) into a root-relative path (`a/b`). */
export function apiPathToRel(apiPath: string): string {
  if (!apiPath.startsWith('/')) throw badRequest(`path must be absolute: ${JSON.stringify(apiPath)}`);
  const parts = apiPath.split('/').filter((part) => part.length > 0);
  for (const part of parts) {
    if (part === '.' || part === '..') throw badRequest(`path may not contain '.' or '..': ${JSON.stringify(apiPath)}`);
    if (part.includes('\0')) throw badRequest('path may not contain NUL');
  }
  return parts.join('/');
}

/** The API spelling of a root-relative path: leading slash, directories end with `/`. */
export function relToApi(rel: string, isDir: boolean): string {
  if (rel === '') return '/';
  return '/' + rel + (isDir ? '/' : '');
}

/** Checks a single directory-entry name (CREATE_*, RENAME `name`). */
export function validateName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 255 || name === '.' || name === '..' || name.includes('/') || CONTROL_CHARS.test(name)) {
    throw new ApiError(400, 'fs_invalid_name_error', `invalid name: ${JSON.stringify(name)}`);
  }
  return name;
}

export function joinRel(parent: string, name: string): string {
  return parent === '' ? name : parent + '/' + name;
}

export function parentOf(rel: string): string {
  const idx = rel.lastIndexOf('/');
  return idx < 0 ? '' : rel.slice(0, idx);
}

export function baseName(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

export function depthOf(rel: string): number {
  if (rel === '') return 0;
  let depth = 1;
  for (let i = 0; i < rel.length; i++) if (rel.charCodeAt(i) === 47) depth++;
  return depth;
}

/** `true` when `rel` is `ancestor` itself or lies below it. */
export function isWithin(rel: string, ancestor: string): boolean {
  return ancestor === '' || rel === ancestor || rel.startsWith(ancestor + '/');
}

/** Maps root-relative paths to disk paths and refuses symlinked ancestors leading outside. */
export class RootJail {
  readonly root: string;
  private readonly realRoot: string;

  constructor(root: string) {
    fs.mkdirSync(root, { recursive: true });
    this.root = path.resolve(root);
    this.realRoot = fs.realpathSync(this.root);
  }

  /** Disk path of a validated relative path (no check of symlinks). */
  disk(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  /**
   * Disk path for an operation on `rel`: the parent directory must resolve inside the root. The
   * final component itself is never followed by the simulator (lstat, O_NOFOLLOW).
   */
  safeDisk(rel: string): string {
    if (rel === '') return this.root;
    const parentDisk = this.disk(parentOf(rel));
    let realParent: string;
    try {
      realParent = fs.realpathSync(parentDisk);
    } catch {
      return this.disk(rel); // a missing parent makes the operation fail with 404 later
    }
    if (realParent !== this.realRoot && !realParent.startsWith(this.realRoot + path.sep)) {
      throw badRequest('path leads outside the simulator root');
    }
    return path.join(realParent, baseName(rel));
  }
}
