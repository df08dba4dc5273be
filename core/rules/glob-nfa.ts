// A linear-time glob matcher. File names are chosen by whoever writes to the cluster, so matching
// must never backtrack: a glob is parsed into a small automaton (Thompson construction) and a name
// is matched by walking all live states in step, once per character — time O(name × glob), no
// matter how many stars the glob has (`*-*-*-*-*.tmp` on 250 characters is ~250 steps).
//
// Syntax and meaning are picomatch 4's with `{dot: true}` on the normalized paths events carry
// (test/core/rules/rules-glob.test.ts checks them against picomatch), with these deliberate differences:
//   - `**` crosses `/` only when it is a whole path segment; elsewhere (`a**b`, `**.pdf`) it is `*`
//     (picomatch documents this too, but some of its shapes let it cross);
//   - `[!ab]` / `[^ab]` are negated classes (never matching `/`), as in a shell;
//   - every character is an ordinary character: `*` matches tabs and newlines too;
//   - `{1..10}` is the numbers 1 to 10 (picomatch turns it into the class `[1-10]`);
//   - a negated extglob `!(…)` and an unclosed `{` are refused (write `not:` / close the brace).

const SLASH = 47;

/** One character test: a literal code unit, or a class of ranges (possibly negated). */
interface CharClass {
  /** Inclusive [low, high] code-unit pairs. */
  readonly ranges: readonly number[];
  readonly negate: boolean;
  /** Whether `/` may match (never for `?`, `*` and negated classes). */
  readonly slash: boolean;
}

type Node =
  | { t: 'char'; code: number }
  | { t: 'class'; cls: CharClass }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'opt'; item: Node }
  | { t: 'star'; item: Node }
  | { t: 'plus'; item: Node }
  /** Zero-width checks picomatch puts before some stars (see `Assertion`). */
  | { t: 'assert'; what: Assertion };

/**
 * Before a star that starts a segment: at least one character follows and it does not start a `.`
 * or `..` segment. Before a star right after a `.`: at least one character follows, it is not `/`,
 * and it is not a lone `.` before the segment ends (`a.*` does not match `a..`).
 */
type Assertion = 'segmentStar' | 'afterDotStar' | 'notEnd' | 'atEnd';

export class GlobSyntaxError extends Error {}

const NOT_SLASH: CharClass = { ranges: [], negate: true, slash: false };
const ANYTHING: CharClass = { ranges: [], negate: true, slash: true };

/** Limits that keep a hostile glob from building a huge automaton. */
export const MAX_GLOB_LENGTH = 4096;
const MAX_STATES = 20_000;
const MAX_NESTING = 32;
const MAX_RANGE_ITEMS = 1000;

const POSIX_CLASSES: Record<string, number[]> = {
  alnum: [48, 57, 65, 90, 97, 122],
  alpha: [65, 90, 97, 122],
  ascii: [0, 127],
  blank: [9, 9, 32, 32],
  cntrl: [0, 31, 127, 127],
  digit: [48, 57],
  graph: [33, 126],
  lower: [97, 122],
  print: [32, 126],
  punct: [33, 47, 58, 64, 91, 96, 123, 126],
  space: [9, 13, 32, 32],
  upper: [65, 90],
  word: [48, 57, 65, 90, 95, 95, 97, 122],
  xdigit: [48, 57, 65, 70, 97, 102],
};

/** The shapes picomatch matches through its shortcut table (`*`, `**\/*.*`, … plus `.ext` suffixes). */
const PICOMATCH_SHORTCUT = /^(\*|\.\*|\*\.\*|\*\/\*|\*\*|\*\*\/\*|\*\*\/\*\.\*|\*\*\/\.\*)(\.\w+)*$/;

const ANY_RUN: Node = { t: 'star', item: { t: 'class', cls: ANYTHING } };
const NAME_RUN: Node = { t: 'star', item: { t: 'class', cls: NOT_SLASH } };

function literal(text: string): Node {
  const items: Node[] = [];
  for (let i = 0; i < text.length; i++) items.push({ t: 'char', code: text.charCodeAt(i) });
  return items.length === 1 ? items[0] : { t: 'seq', items };
}

class Parser {
  private i = 0;
  /** picomatch's shortcut for `*.*` and `**\/*.*` (plus `.ext` suffixes) wants a character after the dot. */
  private readonly dotStarNeedsChar: boolean;
  constructor(private readonly glob: string) {
    this.dotStarNeedsChar = /^(\*\*\/)?\*\.\*(\.\w+)*$/.test(glob);
  }

  parse(): Node {
    const node = this.sequence('', 0);
    if (this.i < this.glob.length) throw new GlobSyntaxError(`unexpected "${this.glob[this.i]}" at position ${this.i + 1}`);
    // picomatch lets a glob that ends in a star or a class (and its shortcut shapes) match a
    // trailing slash too; of the values events carry only the root "/" ends in one.
    const items = node.t === 'seq' ? node.items : [node];
    const last = items[items.length - 1];
    if (last === NAME_RUN || (last !== undefined && last.t === 'class' && last.cls !== NOT_SLASH) || PICOMATCH_SHORTCUT.test(this.glob)) {
      return { t: 'seq', items: [...items, { t: 'opt', item: { t: 'char', code: SLASH } }] };
    }
    return node;
  }

  /** Parses until one of `stops` (not consumed) or the end. */
  private sequence(stops: string, depth: number): Node {
    if (depth > MAX_NESTING) throw new GlobSyntaxError(`groups are nested more than ${MAX_NESTING} levels deep`);
    const glob = this.glob;
    const items: Node[] = [];
    const start = this.i;
    while (this.i < glob.length) {
      const c = glob[this.i];
      if (stops.includes(c)) break;
      const previous = this.i > 0 ? glob[this.i - 1] : '';
      const next = glob[this.i + 1] ?? '';
      if (c === '\\') {
        if (this.i + 1 >= glob.length) throw new GlobSyntaxError('the glob ends with a lone "\\"');
        items.push({ t: 'char', code: glob.charCodeAt(this.i + 1) });
        this.i += 2;
      } else if (c === '*' && next === '(' && this.hasClosingParen(this.i + 1)) {
        this.i += 2;
        items.push({ t: 'star', item: this.extglobBody(depth) });
      } else if (c === '*') {
        let end = this.i;
        while (glob[end] === '*') end++;
        const run = end - this.i;
        const atSegmentStart = this.i === 0 || previous === '/';
        // Inside a group a segment may also start/end at the group's own delimiters: `{**/a,b}`.
        const startsPart = atSegmentStart || (depth > 0 && this.i === start && '{,(|'.includes(previous));
        const endsPart = end >= glob.length || glob[end] === '/' || (depth > 0 && '},|)'.includes(glob[end]));
        this.i = end;
        if (run === 2 && startsPart && endsPart) {
          this.globstar(items, depth);
        } else {
          // picomatch's lookaheads before a single star (a longer run has none).
          const dotAt = this.i - run - 1;
          if (run === 1 && atSegmentStart && depth === 0) items.push({ t: 'assert', what: 'segmentStar' });
          else if (run === 1 && previous === '.' && (dotAt === 0 || glob[dotAt - 1] === '/')) items.push({ t: 'assert', what: 'afterDotStar' });
          else if (run === 1 && previous === '.' && this.dotStarNeedsChar) items.push({ t: 'assert', what: 'notEnd' });
          items.push(NAME_RUN);
        }
      } else if (c === '?' && next === '(' && this.hasClosingParen(this.i + 1)) {
        this.i += 2;
        items.push({ t: 'opt', item: this.extglobBody(depth) });
      } else if (c === '?') {
        items.push({ t: 'class', cls: NOT_SLASH });
        this.i++;
      } else if ((c === '+' || c === '@') && next === '(' && this.hasClosingParen(this.i + 1)) {
        this.i += 2;
        const body = this.extglobBody(depth);
        items.push(c === '+' ? { t: 'plus', item: body } : body);
      } else if (c === '!' && next === '(' && this.hasClosingParen(this.i + 1)) {
        throw new GlobSyntaxError('negated extglobs "!(…)" are not supported: write not: {…} around a condition instead');
      } else if (c === '(' && this.hasClosingParen(this.i)) {
        this.i += 1;
        items.push(this.extglobBody(depth));
      } else if (c === '[') {
        const cls = this.bracket();
        if (cls === null) {
          items.push({ t: 'char', code: 91 });
          this.i++;
        } else {
          items.push({ t: 'class', cls });
        }
      } else if (c === '{') {
        items.push(this.brace(depth));
      } else {
        items.push({ t: 'char', code: glob.charCodeAt(this.i) });
        this.i++;
      }
    }
    return items.length === 1 ? items[0] : { t: 'seq', items };
  }

  /** `**` as a whole segment: any number of segments, including none (picomatch's variants). */
  private globstar(items: Node[], depth: number): void {
    const glob = this.glob;
    // `/**/**` is `/**`.
    while (glob.startsWith('/**', this.i) && (this.i + 3 >= glob.length || glob[this.i + 3] === '/')) this.i += 3;
    const last = items[items.length - 1];
    const afterSlash = last !== undefined && last.t === 'char' && last.code === SLASH;
    if (glob[this.i] === '/') {
      this.i++;
      const anyDirs: Node = { t: 'seq', items: [ANY_RUN, { t: 'char', code: SLASH }] };
      if (afterSlash && depth === 0 && items.length === 1) {
        // `/**/x`: picomatch wants a slash on both sides (it does not match `/x`).
        items.push(anyDirs);
      } else if (afterSlash && depth === 0) {
        // `x/**/rest`: `x/rest`, `x/…/rest`, or `x` alone when the rest can match nothing.
        items.pop();
        items.push({ t: 'alt', items: [{ t: 'seq', items: [{ t: 'char', code: SLASH }, { t: 'opt', item: anyDirs }] }, { t: 'assert', what: 'atEnd' }] });
      } else {
        // `**/` at the start: nothing, or anything that ends with a slash.
        items.push({ t: 'opt', item: anyDirs });
      }
      return;
    }
    if (last !== undefined && last.t === 'char' && last.code === SLASH) {
      // `x/**` at the end: `x` itself or anything below it — except after a star (`*/**`), where
      // picomatch requires the slash.
      items.pop();
      const slashAny: Node = { t: 'seq', items: [{ t: 'char', code: SLASH }, ANY_RUN] };
      items.push(items[items.length - 1] === NAME_RUN ? slashAny : { t: 'opt', item: slashAny });
      return;
    }
    items.push(ANY_RUN);
  }

  /** True when the `(` at `open` has a matching `)` (otherwise picomatch reads it literally). */
  private hasClosingParen(open: number): boolean {
    let depth = 0;
    for (let i = open; i < this.glob.length; i++) {
      const c = this.glob[i];
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return true;
    }
    return false;
  }

  /** After `(`: alternatives separated by `|` up to the matching `)`. */
  private extglobBody(depth: number): Node {
    const alternatives: Node[] = [];
    for (;;) {
      alternatives.push(this.sequence('|)', depth + 1));
      const c = this.glob[this.i++];
      if (c === ')') break;
      if (c !== '|') throw new GlobSyntaxError('unclosed "(" group');
    }
    return alternatives.length === 1 ? alternatives[0] : { t: 'alt', items: alternatives };
  }

  /** `[...]` at this.i; null when there is no closing `]` (then `[` is literal). */
  private bracket(): CharClass | null {
    const glob = this.glob;
    let i = this.i + 1;
    let negate = false;
    if (glob[i] === '!' || glob[i] === '^') {
      negate = true;
      i++;
    }
    const ranges: number[] = [];
    let first = true;
    while (i < glob.length) {
      const c = glob[i];
      if (c === ']' && !first) {
        this.i = i + 1;
        return { ranges, negate, slash: !negate };
      }
      first = false;
      if (c === '[' && glob[i + 1] === ':') {
        const close = glob.indexOf(':]', i + 2);
        const name = close > 0 ? glob.slice(i + 2, close) : '';
        const posix = POSIX_CLASSES[name];
        if (posix !== undefined) {
          ranges.push(...posix);
          i = close + 2;
          continue;
        }
      }
      let low: number;
      if (c === '\\' && i + 1 < glob.length) {
        low = glob.charCodeAt(i + 1);
        i += 2;
      } else {
        low = glob.charCodeAt(i);
        i++;
      }
      let high = low;
      if (glob[i] === '-' && i + 1 < glob.length && glob[i + 1] !== ']') {
        if (glob[i + 1] === '\\' && i + 2 < glob.length) {
          high = glob.charCodeAt(i + 2);
          i += 3;
        } else {
          high = glob.charCodeAt(i + 1);
          i += 2;
        }
        if (high < low) throw new GlobSyntaxError(`range out of order in character class "${glob.slice(this.i, i)}"`);
      }
      ranges.push(low, high);
    }
    return null;
  }

  /** `{a,b}`, `{1..5}`, `{a..e}`; a brace without a comma or range is literal text. */
  private brace(depth: number): Node {
    const glob = this.glob;
    const open = this.i;
    const close = this.matchingBrace(open);
    if (close < 0) throw new GlobSyntaxError(`unclosed "{" at position ${open + 1}: close it with "}" or write "\\{" for a literal brace`);
    const inner = glob.slice(open + 1, close);
    const range = /^(-?\d+)\.\.(-?\d+)$|^([^\\])\.\.([^\\])$/.exec(inner);
    if (range !== null) {
      this.i = close + 1;
      const items: Node[] = [];
      if (range[1] !== undefined) {
        const a = Number(range[1]);
        const b = Number(range[2]);
        if (Math.abs(b - a) >= MAX_RANGE_ITEMS) throw new GlobSyntaxError(`the range {${inner}} has more than ${MAX_RANGE_ITEMS} values`);
        const step = a <= b ? 1 : -1;
        for (let n = a; n !== b + step; n += step) items.push(literal(String(n)));
      } else {
        const a = range[3].charCodeAt(0);
        const b = range[4].charCodeAt(0);
        return { t: 'class', cls: { ranges: [Math.min(a, b), Math.max(a, b)], negate: false, slash: true } };
      }
      return { t: 'alt', items };
    }
    if (!this.hasTopLevelComma(open + 1, close)) {
      // `{a}`: picomatch reads it literally; so do we (nested groups inside still work).
      this.i++;
      const body = this.sequence('}', depth + 1);
      this.i++; // the `}`
      return { t: 'seq', items: [{ t: 'char', code: 123 }, body, { t: 'char', code: 125 }] };
    }
    this.i++;
    const alternatives: Node[] = [];
    for (;;) {
      alternatives.push(this.sequence(',}', depth + 1));
      const c = glob[this.i++];
      if (c === '}') break;
      if (c !== ',') throw new GlobSyntaxError(`unclosed "{" at position ${open + 1}`);
    }
    return { t: 'alt', items: alternatives };
  }

  private matchingBrace(open: number): number {
    let depth = 0;
    for (let i = open; i < this.glob.length; i++) {
      const c = this.glob[i];
      if (c === '\\') i++;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) return i;
    }
    return -1;
  }

  private hasTopLevelComma(from: number, to: number): boolean {
    let depth = 0;
    for (let i = from; i < to; i++) {
      const c = this.glob[i];
      if (c === '\\') i++;
      else if (c === '{' || c === '(') depth++;
      else if (c === '}' || c === ')') depth--;
      else if (c === ',' && depth === 0) return true;
    }
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The automaton

const CHAR = 0;
const CLASS = 1;
const SPLIT = 2;
const SEGMENT_STAR = 3;
const AFTER_DOT_STAR = 5;
const NOT_END = 6;
const AT_END = 7;
const MATCH = 4;

class Automaton {
  kind: number[] = [];
  out: number[] = [];
  out2: number[] = [];
  code: number[] = [];
  classes: Array<CharClass | null> = [];

  add(kind: number, out: number, out2 = -1, code = -1, cls: CharClass | null = null): number {
    if (this.kind.length >= MAX_STATES) throw new GlobSyntaxError(`the glob is too complex (more than ${MAX_STATES} automaton states)`);
    this.kind.push(kind);
    this.out.push(out);
    this.out2.push(out2);
    this.code.push(code);
    this.classes.push(cls);
    return this.kind.length - 1;
  }

  /** Builds `node` so that it continues at state `next`; returns its entry state. */
  build(node: Node, next: number): number {
    switch (node.t) {
      case 'char':
        return this.add(CHAR, next, -1, node.code);
      case 'class':
        return this.add(CLASS, next, -1, -1, node.cls);
      case 'assert':
        return this.add({ segmentStar: SEGMENT_STAR, afterDotStar: AFTER_DOT_STAR, notEnd: NOT_END, atEnd: AT_END }[node.what], next);
      case 'seq': {
        let entry = next;
        for (let i = node.items.length - 1; i >= 0; i--) entry = this.build(node.items[i], entry);
        return entry;
      }
      case 'alt': {
        let entry = this.build(node.items[node.items.length - 1], next);
        for (let i = node.items.length - 2; i >= 0; i--) entry = this.add(SPLIT, this.build(node.items[i], next), entry);
        return entry;
      }
      case 'opt':
        return this.add(SPLIT, this.build(node.item, next), next);
      case 'star': {
        const loop = this.add(SPLIT, -1, next);
        this.out[loop] = this.build(node.item, loop);
        return loop;
      }
      case 'plus': {
        const loop = this.add(SPLIT, -1, next);
        const body = this.build(node.item, loop);
        this.out[loop] = body;
        return body;
      }
    }
  }
}

function classHas(cls: CharClass, code: number): boolean {
  if (code === SLASH && !cls.slash) return false;
  const ranges = cls.ranges;
  let inside = false;
  for (let i = 0; i < ranges.length; i += 2) {
    if (code >= ranges[i] && code <= ranges[i + 1]) {
      inside = true;
      break;
    }
  }
  return inside !== cls.negate;
}

function segmentEndsAt(value: string, pos: number): boolean {
  return pos >= value.length || value.charCodeAt(pos) === SLASH;
}

function assertionHolds(kind: number, value: string, pos: number): boolean {
  const DOT = 46;
  if (kind === AT_END) return pos >= value.length;
  if (pos >= value.length) return false;
  if (kind === NOT_END) return true;
  if (kind === SEGMENT_STAR) {
    if (value.charCodeAt(pos) !== DOT) return true;
    if (segmentEndsAt(value, pos + 1)) return false;
    return !(value.charCodeAt(pos + 1) === DOT && segmentEndsAt(value, pos + 2));
  }
  if (value.charCodeAt(pos) === SLASH) return false;
  return !(value.charCodeAt(pos) === DOT && segmentEndsAt(value, pos + 1));
}

/** Parses a glob; throws GlobSyntaxError with a readable reason. */
function parseGlob(glob: string): Node {
  if (glob.length > MAX_GLOB_LENGTH) throw new GlobSyntaxError(`the glob is longer than ${MAX_GLOB_LENGTH} characters`);
  return new Parser(glob).parse();
}

/** Throws GlobSyntaxError when `glob` cannot be compiled. */
export function checkGlobSyntax(glob: string): void {
  const automaton = new Automaton();
  automaton.build(parseGlob(glob), automaton.add(MATCH, -1));
}

/**
 * Compiles `glob` into a predicate that runs in time linear in the value's length. Like picomatch's
 * matcher it also accepts a value equal to the glob text itself.
 */
export function compileGlobAutomaton(glob: string): (value: string) => boolean {
  const automaton = new Automaton();
  const entry = automaton.build(parseGlob(glob), automaton.add(MATCH, -1));
  const kind = Int8Array.from(automaton.kind);
  const out = Int32Array.from(automaton.out);
  const out2 = Int32Array.from(automaton.out2);
  const code = Int32Array.from(automaton.code);
  const classes = automaton.classes;
  const size = kind.length;
  // Scratch space reused by every call (matching is synchronous and never re-entered).
  let current = new Int32Array(size);
  let following = new Int32Array(size);
  const seen = new Int32Array(size);
  const stack = new Int32Array(size * 2 + 2);
  let generation = 0;

  /** Adds `state` and everything reachable at `value[pos]` without consuming it; returns the new count. */
  const addClosure = (list: Int32Array, count: number, state: number, value: string, pos: number): number => {
    let top = 0;
    stack[top++] = state;
    while (top > 0) {
      const s = stack[--top];
      if (seen[s] === generation) continue;
      seen[s] = generation;
      const k = kind[s];
      if (k === SPLIT) {
        stack[top++] = out2[s];
        stack[top++] = out[s];
      } else if (k >= SEGMENT_STAR && k !== MATCH) {
        if (assertionHolds(k, value, pos)) stack[top++] = out[s];
      } else {
        list[count++] = s;
      }
    }
    return count;
  };

  const nextGeneration = () => {
    if (++generation === 0x7fffffff) {
      seen.fill(0);
      generation = 1;
    }
  };

  return (value: string): boolean => {
    if (value === glob) return true;
    const length = value.length;
    // Like picomatch, nothing matches an empty value (the relativePath of the watch root itself).
    if (length === 0) return false;
    nextGeneration();
    let count = addClosure(current, 0, entry, value, 0);
    for (let pos = 0; pos < length && count > 0; pos++) {
      const c = value.charCodeAt(pos);
      nextGeneration();
      let nextCount = 0;
      for (let j = 0; j < count; j++) {
        const s = current[j];
        const k = kind[s];
        if ((k === CHAR && code[s] === c) || (k === CLASS && classHas(classes[s]!, c))) nextCount = addClosure(following, nextCount, out[s], value, pos + 1);
      }
      const swap = current;
      current = following;
      following = swap;
      count = nextCount;
    }
    for (let j = 0; j < count; j++) if (kind[current[j]] === MATCH) return true;
    return false;
  };
}
