// Everything that builds a path or a file name from event data goes through here. Event data is
// untrusted: a file name can hold `..`, control characters, bidi overrides that make `gpj.exe`
// read as `exe.jpg`, NUL, or separators. Names are either *refused* (quarantine: the target must
// mirror the source exactly or not at all) or *sanitized* (rename templates: the user asked for a
// new name, so odd characters are replaced).

/** Longest name Qumulo (like most file systems) accepts, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

export class UnsafePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

// C0/C1 controls and DEL; Unicode format characters (Cf: bidi embeddings/overrides/isolates,
// zero-width joiners, BOM, soft hyphen…); line/paragraph separators; private-use, unassigned and
// lone surrogates; plus the noncharacters U+FFFE/U+FFFF.
const UNSAFE_CHAR = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}]/u;
const UNSAFE_CHAR_GLOBAL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}]/gu;

/** Why a single path component is unsafe, or null when it is a plain name. */
export function nameProblem(name: string): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'empty name';
  if (name === '.' || name === '..') return `"${name}" is not a name`;
  if (name.includes('/') || name.includes('\\')) return 'name contains a path separator';
  if (name.includes('\0')) return 'name contains NUL';
  const odd = UNSAFE_CHAR.exec(name);
  if (odd) return `name contains U+${odd[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} (control or invisible formatting character)`;
  if (name.trim() === '') return 'name is blank';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `name is longer than ${MAX_NAME_BYTES} bytes`;
  return null;
}

export function assertSafeName(name: string, what = 'name'): void {
  const problem = nameProblem(name);
  if (problem) throw new UnsafePathError(`unsafe ${what} ${JSON.stringify(name)}: ${problem}`);
}

/**
 * Splits a relative path (as in `event.relativePath`) into components, refusing anything that
 * could leave the directory it is joined to: absolute paths, `..`, `.`, empty components,
 * backslashes, control and formatting characters.
 */
export function safeRelativeComponents(relative: string): string[] {
  if (typeof relative !== 'string' || relative.length === 0) throw new UnsafePathError('empty relative path');
  if (relative.startsWith('/')) throw new UnsafePathError(`relative path ${JSON.stringify(relative)} is absolute`);
  const parts = relative.split('/');
  for (const part of parts) assertSafeName(part, 'path component');
  return parts;
}

/**
 * Validates an absolute directory path given in a node's configuration (quarantine root, target
 * directory): must start with `/`, no `..`/`.`, no unsafe characters. Returns it normalized
 * (no trailing slash, no `//`).
 */
export function safeAbsoluteDir(path: string, what = 'directory'): string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new UnsafePathError(`${what} ${JSON.stringify(path)} must be an absolute path`);
  const parts = path.split('/').filter((p) => p.length > 0);
  for (const part of parts) assertSafeName(part, `${what} component`);
  return '/' + parts.join('/');
}

/** Joins an absolute directory and safe components; re-checks containment as a second line. */
export function joinInside(root: string, components: readonly string[]): string {
  const base = safeAbsoluteDir(root, 'root');
  for (const c of components) assertSafeName(c, 'path component');
  const joined = components.length === 0 ? base : (base === '/' ? '' : base) + '/' + components.join('/');
  if (!isInside(base, joined)) throw new UnsafePathError(`${joined} escapes ${base}`);
  return joined;
}

/** True when `path` is `root` itself or below it (string-wise, both normalized absolute paths). */
export function isInside(root: string, path: string): boolean {
  if (root === '/') return path.startsWith('/');
  return path === root || path.startsWith(root + '/');
}

/** Splits a name into stem and extension; dotfiles (`.env`) have no extension. */
export function splitExtension(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return { stem: name, ext: '' };
  return { stem: name.slice(0, dot), ext: name.slice(dot) };
}

/**
 * Turns any text into a usable single file name: separators, controls and invisible formatting
 * characters become `_`, surrounding whitespace goes, `.`/`..`/empty become `_`, and the result is
 * cut to 255 UTF-8 bytes keeping the extension.
 */
export function sanitizeName(text: string, replacement = '_'): string {
  let name = String(text)
    .normalize('NFC')
    .replace(UNSAFE_CHAR_GLOBAL, replacement)
    .replace(/[/\\]/g, replacement)
    .trim();
  if (name === '' || name === '.' || name === '..') name = replacement;
  return truncateName(name);
}

/** Cuts a name to MAX_NAME_BYTES without splitting a character, keeping the extension if it fits. */
export function truncateName(name: string, maxBytes = MAX_NAME_BYTES): string {
  if (Buffer.byteLength(name, 'utf8') <= maxBytes) return name;
  const { stem, ext } = splitExtension(name);
  const extBytes = Buffer.byteLength(ext, 'utf8');
  if (extBytes >= maxBytes / 2) return cutToBytes(name, maxBytes);
  return cutToBytes(stem, maxBytes - extBytes) + ext;
}

function cutToBytes(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > maxBytes) break;
    out += ch;
    bytes += b;
  }
  return out;
}

/** How a name taken in the target is made unique (the editor's option lists are built from these). */
export const COLLISION_STYLES = ['number', 'file-id'] as const;
export type CollisionStyle = (typeof COLLISION_STYLES)[number];
/** A move may also give up on a taken name: skip the file, or fail it. */
export const MOVE_COLLISIONS = [...COLLISION_STYLES, 'skip', 'fail'] as const;

/**
 * The n-th collision-free candidate for a name: 0 is the name itself; `number` gives
 * `report (1).pdf`, `report (2).pdf`…; `file-id` gives `report.<fileId>.pdf` first, then numbers
 * after it. Candidates stay within MAX_NAME_BYTES.
 */
export function collisionCandidate(name: string, attempt: number, style: CollisionStyle, fileId?: string | null): string {
  if (attempt === 0) return name;
  const { stem, ext } = splitExtension(name);
  let suffix: string;
  if (style === 'file-id' && fileId) {
    suffix = attempt === 1 ? `.${fileId}` : `.${fileId} (${attempt - 1})`;
  } else {
    suffix = ` (${attempt})`;
  }
  const room = MAX_NAME_BYTES - Buffer.byteLength(suffix + ext, 'utf8');
  return cutToBytes(stem, Math.max(1, room)) + suffix + ext;
}

/**
 * The components of a relative path for a target we create (quarantine): anything that could
 * leave the directory it is joined to — absolute, `..`, `.`, empty components, NUL — is refused,
 * while legal-but-unusual names (tab, newline, zero-width, bidi overrides, backslash) are
 * sanitized into safe names (`sanitizeName`). `changed` says whether any component was rewritten.
 */
export function sanitizedRelativeComponents(relative: string): { components: string[]; changed: boolean } {
  if (typeof relative !== 'string' || relative.length === 0) throw new UnsafePathError('empty relative path');
  if (relative.startsWith('/')) throw new UnsafePathError(`relative path ${JSON.stringify(relative)} is absolute`);
  const parts = relative.split('/');
  let changed = false;
  const components = parts.map((part) => {
    if (part === '' || part === '.' || part === '..') throw new UnsafePathError(`relative path ${JSON.stringify(relative)} has a ${part === '' ? 'empty' : `"${part}"`} component`);
    if (part.includes('\0')) throw new UnsafePathError(`relative path ${JSON.stringify(relative)} contains NUL`);
    if (nameProblem(part) === null) return part;
    changed = true;
    return sanitizeName(part);
  });
  return { components, changed };
}

/** Parent directory and last component of an absolute path. */
export function splitPath(path: string): { dir: string; name: string } {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const idx = trimmed.lastIndexOf('/');
  if (idx < 0) return { dir: '/', name: trimmed };
  return { dir: idx === 0 ? '/' : trimmed.slice(0, idx), name: trimmed.slice(idx + 1) };
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? '/' + name : dir.replace(/\/+$/, '') + '/' + name;
}
