// `{ref}` handling (docs/qumulo-api.md §0 "{ref}"): a numeric file id is sent
// as-is, an absolute path fully URL-encoded including its slashes. Relative paths, `.`/`..`
// components and NUL are refused so no caller can escape the tree it means. Other control
// characters are legal in file names (a tab, a newline) and travel URL-encoded: an action must be
// able to lock or quarantine a file whatever its name. Names we create are stricter
// (checkEntryName).

import { QumuloPathError } from './errors';

/** A file id (`"5007655"`) or an absolute path (`"/data/x.txt"`). */
export type FileRef = string;

const FILE_ID = /^\d+$/;
/** `//`, a trailing `/` (except `/` itself), or a `.`/`..` component; no nested quantifiers (linear). */
const NEEDS_NORMALIZING = /\/\/|.\/$|\/\.\.?(?:\/|$)/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export function isFileId(ref: string): boolean {
  return FILE_ID.test(ref);
}

/**
 * Checks and normalizes an absolute path: must start with `/`, no `.`/`..` components, no NUL;
 * duplicate and trailing slashes are dropped (`/` stays `/`).
 */
export function normalizeAbsolutePath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) throw new QumuloPathError('A path is required');
  if (!path.startsWith('/')) throw new QumuloPathError(`Path must be absolute (start with /): ${JSON.stringify(path)}`);
  if (path.includes('\0')) throw new QumuloPathError(`Path contains NUL: ${JSON.stringify(path)}`);
  // Already normal (the usual case, once per REST request): no split and join.
  if (!NEEDS_NORMALIZING.test(path)) return path;
  const parts = path.split('/').filter((p) => p.length > 0);
  for (const part of parts) {
    if (part === '..' || part === '.') throw new QumuloPathError(`Path must not contain "${part}" components: ${JSON.stringify(path)}`);
  }
  return '/' + parts.join('/');
}

/** Checks a single directory entry name (rename target, mkdir, create). */
export function checkEntryName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new QumuloPathError('A name is required');
  if (name === '.' || name === '..' || name.includes('/') || CONTROL_CHARS.test(name)) {
    throw new QumuloPathError(`Not a valid entry name: ${JSON.stringify(name)}`);
  }
  return name;
}

/** encodeURIComponent plus `!'()*`, as the Python SDK quotes path components. */
export function encodePathSegment(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** The `{ref}` URL segment for a file id or an absolute path. */
export function encodeRef(ref: FileRef): string {
  if (typeof ref === 'number') return String(ref);
  if (typeof ref !== 'string') throw new QumuloPathError('A file id or absolute path is required');
  if (isFileId(ref)) return ref;
  return encodePathSegment(normalizeAbsolutePath(ref));
}

/** Joins a directory path and an entry name into an absolute path. */
export function joinPath(dir: string, name: string): string {
  const base = normalizeAbsolutePath(dir);
  checkEntryName(name);
  return base === '/' ? '/' + name : base + '/' + name;
}

/** Parent directory of an absolute path (`/` for top-level entries and for `/`). */
export function parentOf(path: string): string {
  const norm = normalizeAbsolutePath(path);
  const idx = norm.lastIndexOf('/');
  return idx <= 0 ? '/' : norm.slice(0, idx);
}

export function baseName(path: string): string {
  const norm = normalizeAbsolutePath(path);
  return norm.slice(norm.lastIndexOf('/') + 1);
}
