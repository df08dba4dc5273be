// Glob handling for the rule language. Semantics are picomatch 4's with `{ dot: true }` (so `*` and
// `**` also match names that start with a dot), case-sensitive, `/` as the only separator; the few
// deliberate differences are listed in glob-nfa.ts. The compiler turns the common shapes
// (`/a/b/**`, `**/*.pdf`, literals, `*.tmp`, `~*`) into startsWith/endsWith checks; everything
// else runs our own linear-time automaton (glob-nfa.ts) — never a backtracking RegExp, because
// anyone who can create a file chooses the names matched here. The shortcuts are exact for the
// normalized paths events carry (no `//`, no `.`/`..` segments, no trailing slash);
// test/core/rules/rules-glob.test.ts checks shortcuts and automaton against picomatch itself.

import { checkGlobSyntax, compileGlobAutomaton, GlobSyntaxError } from './glob-nfa';

export const GLOB_OPTIONS = Object.freeze({ dot: true, windows: false });

export type StringPredicate = (value: string) => boolean;

/** Where a glob is matched; decides which shapes are legal. */
export type GlobTarget = 'path' | 'relativePath' | 'name';

/** Characters with a meaning in a glob; a run without them is literal text. */
const GLOB_SPECIAL = /[*?[\]{}()!+@\\|^$]/;
// A control character in a glob is always a mistake (event paths never carry them).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function isLiteral(text: string): boolean {
  return !GLOB_SPECIAL.test(text);
}

/** `.`-only strings are special to picomatch (`.`/`..` segments); keep them off the fast paths. */
function isAllDots(text: string): boolean {
  return /^\.+$/.test(text);
}

/**
 * Returns a human-readable reason why `glob` cannot be used for `target`, or null when it can.
 * The messages say what to write instead.
 */
export function checkGlob(glob: string, target: GlobTarget): string | null {
  if (glob.length === 0) return 'empty glob';
  if (CONTROL_CHARS.test(glob)) return 'glob contains a control character';
  if (glob.startsWith('!')) return `negated glob "${glob}": write not: {${target}: "${glob.slice(1)}"} instead`;
  if (target === 'name') {
    if (glob.includes('/')) return `name glob "${glob}" contains "/": a name is the last path component; use path: for paths`;
  } else {
    if (target === 'path' && !glob.startsWith('/') && !glob.startsWith('**')) {
      return `path glob "${glob}" is matched against absolute paths: start it with / (e.g. "/projects/**") or **/ (e.g. "**/*.pdf"), or use relativePath: for paths relative to the watch root`;
    }
    if (target === 'relativePath' && glob.startsWith('/')) {
      return `relativePath glob "${glob}" starts with "/": relative paths have no leading slash (use path: for absolute paths)`;
    }
    if (glob.length > 1 && glob.endsWith('/')) {
      const bare = glob.replace(/\/+$/, '');
      return `glob "${glob}" ends with "/" and event paths never do: write "${bare}" for the directory itself or "${bare}/**" for everything in it`;
    }
    if (glob.includes('//')) return `glob "${glob}" contains "//": event paths never do`;
    if (/(^|\/)\.\.?(\/|$)/.test(glob)) return `glob "${glob}" contains a "." or ".." segment: event paths are normalized and never do`;
  }
  try {
    checkGlobSyntax(glob);
  } catch (err) {
    if (err instanceof GlobSyntaxError) return `invalid glob "${glob.length > 80 ? glob.slice(0, 80) + '…' : glob}": ${err.message}`;
    throw err;
  }
  return null;
}

/** The straightforward matcher (the automaton, no shortcuts); used by the reference evaluator. */
export function referenceGlobMatcher(glob: string): StringPredicate {
  return compileGlobAutomaton(glob);
}

function automatonMatcher(glob: string): StringPredicate {
  return compileGlobAutomaton(glob);
}

/** `/a/b/**`, `**` */
function prefixSubtree(prefix: string): StringPredicate {
  const withSlash = prefix + '/';
  return (value) => value === prefix || value.startsWith(withSlash);
}

/** Compiles one glob for `target` into the cheapest exact predicate. Call `checkGlob` first. */
export function compileGlob(glob: string, target: GlobTarget): StringPredicate {
  if (isLiteral(glob)) return (value) => value === glob;

  if (target !== 'name') {
    if (glob === '**') return (value) => value.length > 0;
    // L/**  (L literal)
    if (glob.endsWith('/**')) {
      const prefix = glob.slice(0, -3);
      if (isLiteral(prefix) && (prefix === '' || target === 'path' || !prefix.startsWith('/'))) {
        if (prefix === '') return (value) => value.startsWith('/');
        return prefixSubtree(prefix);
      }
    }
    // **/*S, **/S  (S literal, no slash)
    if (glob.startsWith('**/')) {
      const last = glob.slice(3);
      if (last.startsWith('*') && !last.startsWith('**')) {
        const suffix = last.slice(1);
        if (suffix.length > 0 && isLiteral(suffix) && !suffix.includes('/') && !isAllDots(suffix)) {
          return (value) => value.endsWith(suffix);
        }
      } else if (last.length > 0 && isLiteral(last) && !last.includes('/') && !isAllDots(last)) {
        const slashed = '/' + last;
        return (value) => value === last || value.endsWith(slashed);
      }
    }
    // L/**/*S, L/**/S
    const deep = glob.indexOf('/**/');
    if (deep > 0) {
      const prefix = glob.slice(0, deep);
      const last = glob.slice(deep + 4);
      if (isLiteral(prefix) && !last.includes('/')) {
        const head = prefix + '/';
        if (last.startsWith('*') && !last.startsWith('**')) {
          const suffix = last.slice(1);
          if (suffix.length > 0 && isLiteral(suffix) && !isAllDots(suffix)) {
            const minLength = head.length + suffix.length;
            return (value) => value.length >= minLength && value.startsWith(head) && value.endsWith(suffix);
          }
        } else if (last.length > 0 && isLiteral(last) && !isAllDots(last)) {
          const slashed = '/' + last;
          const minLength = head.length + last.length;
          return (value) => value.length >= minLength && value.startsWith(head) && value.endsWith(slashed);
        }
      }
    }
    // L/*S  (one more segment)
    const lastSlash = glob.lastIndexOf('/');
    if (lastSlash >= 0) {
      const prefix = glob.slice(0, lastSlash);
      const last = glob.slice(lastSlash + 1);
      if (isLiteral(prefix) && last.startsWith('*') && !last.startsWith('**')) {
        const suffix = last.slice(1);
        if (isLiteral(suffix) && !isAllDots(suffix)) {
          const head = prefix + '/';
          const minLength = head.length + Math.max(1, suffix.length);
          return (value) =>
            value.length >= minLength && value.startsWith(head) && value.indexOf('/', head.length) === -1 && value.endsWith(suffix) && !isDotSegment(value, head.length);
        }
      }
    }
    return automatonMatcher(glob);
  }

  // Name globs: *S, P*, P*S, *  (P, S literal)
  const star = glob.indexOf('*');
  if (star >= 0 && star === glob.lastIndexOf('*')) {
    const prefix = glob.slice(0, star);
    const suffix = glob.slice(star + 1);
    if (isLiteral(prefix) && isLiteral(suffix) && !isAllDots(prefix + suffix)) {
      const minLength = Math.max(1, prefix.length + suffix.length);
      return (value) =>
        value.length >= minLength && value.startsWith(prefix) && value.endsWith(suffix) && value.indexOf('/') === -1 && !isDotSegment(value, 0);
    }
  }
  return automatonMatcher(glob);
}

/** True when value.slice(from) is exactly `.` or `..` (picomatch never lets a star match those). */
function isDotSegment(value: string, from: number): boolean {
  const length = value.length - from;
  if (length === 1) return value.charCodeAt(from) === 46;
  if (length === 2) return value.charCodeAt(from) === 46 && value.charCodeAt(from + 1) === 46;
  return false;
}

/**
 * The literal directory every path matched by an absolute `path` glob lies in or equals
 * (`/projects/*\/incoming/**` -> `/projects`), or null when there is none beyond `/`.
 */
export function globBaseDirectory(glob: string): string | null {
  if (!glob.startsWith('/') || glob.includes('\\')) return null;
  if (isLiteral(glob)) return glob;
  // The literal text before the first special character, up to its last slash.
  const special = glob.search(GLOB_SPECIAL);
  const base = glob.slice(0, glob.lastIndexOf('/', special));
  if (base.length <= 1) return null;
  return base.replace(/\/+$/, '');
}

/**
 * The extensions (lower-cased, `''` = none) any name matched by the glob's last segment must have,
 * or null when the glob does not pin them (`*.pdf` -> {pdf, ''} because `.pdf` is a dotfile).
 */
export function globExtensions(glob: string): string[] | null {
  const last = glob.slice(glob.lastIndexOf('/') + 1);
  let literalTail: string;
  let mayBeWholeName: boolean;
  if (isLiteral(last)) {
    literalTail = last;
    mayBeWholeName = false;
  } else if (last.startsWith('*') && !last.startsWith('**') && isLiteral(last.slice(1))) {
    literalTail = last.slice(1);
    mayBeWholeName = true;
  } else {
    return null;
  }
  const dot = literalTail.lastIndexOf('.');
  if (dot < 0) return mayBeWholeName ? null : [''];
  const extension = literalTail.slice(dot + 1).toLowerCase();
  if (!mayBeWholeName) {
    // A literal name: its own extension (a leading-dot name is a dotfile without one).
    return [dot > 0 && extension !== '' ? extension : ''];
  }
  if (extension === '') return [''];
  return dot === 0 ? [extension, ''] : [extension];
}
