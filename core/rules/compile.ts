// Compiles a validated rule set into plain synchronous predicates plus candidate indexes, so that an
// event is only tested against the rules that could possibly match it:
//   - every rule gets its *necessary* keys: a set of notification types, a set of extensions or a
//     set of directory prefixes the event must have for the rule to match (derived through
//     all/any/not, globs and directory conditions);
//   - each rule is filed under the one key kind that is expected to be the most selective;
//   - rules without any such key are evaluated for every event.
// Matching allocates nothing: `matchInto` writes rule indexes into a caller-owned buffer.

import { NOTIFICATION_TYPES } from '../event';
import type { QumuloEvent } from '../event';
import { conditionToDocument, ruleSetHash } from './canonical';
import { lowerCaseExtension, minimalDirs, NO_INDEX_KEYS, predicateOf } from './predicates';
import type { CompileContext, EventPredicate, IndexKeys } from './predicates';
import type { Condition, Rule, RuleSet } from './types';

export type { EventPredicate } from './predicates';
export { lowerCaseExtension } from './predicates';

export interface CompileOptions {
  /** Clock for time-based predicates (epoch ms); Date.now when not given. */
  now?: () => number;
}

/** What the output message says about a matched rule. */
export interface RuleSummary {
  name: string;
  actions: string[];
  tags: string[];
}

export interface CompiledRule {
  /** Position in the rule set (disabled rules keep their position). */
  readonly index: number;
  readonly rule: Rule;
  readonly test: EventPredicate;
  /** Which index the rule is filed under. */
  readonly indexedBy: 'type' | 'extension' | 'directory' | 'always' | 'never';
}

export interface IndexStats {
  rules: number;
  enabled: number;
  byType: number;
  byExtension: number;
  byDirectory: number;
  always: number;
  never: number;
}

// ---------------------------------------------------------------------------------------------
// Conditions

const SLASH = 47;

/** Rough evaluation cost, used to test cheap conditions first inside all/any. */
function cost(condition: Condition): number {
  switch (condition.kind) {
    case 'not':
      return cost(condition.item);
    case 'all':
    case 'any':
      return condition.items.reduce((sum, item) => sum + cost(item), 0);
    default:
      return predicateOf(condition).cost(condition);
  }
}

/** Flattens all-in-all / any-in-any and orders members cheapest first (predicates are pure). */
function flatten(kind: 'all' | 'any', items: Condition[]): Condition[] {
  const out: Condition[] = [];
  for (const item of items) {
    if (item.kind === kind) out.push(...flatten(kind, item.items));
    else out.push(item);
  }
  return out.map((item, order) => ({ item, order, cost: cost(item) })).sort((a, b) => a.cost - b.cost || a.order - b.order).map((x) => x.item);
}

/**
 * Compiles a condition into a predicate. Identical sub-conditions (same canonical form) share one
 * predicate through `memo`, so 10,000 rules built from a few templates touch few distinct closures.
 */
export function compileCondition(condition: Condition, memo: Map<string, EventPredicate> = new Map(), context: CompileContext = { now: Date.now }): EventPredicate {
  const key = JSON.stringify(conditionToDocument(condition));
  let predicate = memo.get(key);
  if (predicate === undefined) {
    predicate = compileFresh(condition, memo, context);
    memo.set(key, predicate);
  }
  return predicate;
}

function compileFresh(condition: Condition, memo: Map<string, EventPredicate>, context: CompileContext): EventPredicate {
  const compile = (item: Condition) => compileCondition(item, memo, context);
  switch (condition.kind) {
    case 'all': {
      const parts = flatten('all', condition.items).map(compile);
      if (parts.length === 1) return parts[0];
      if (parts.length === 2) {
        const [a, b] = parts;
        return (e) => a(e) && b(e);
      }
      if (parts.length === 3) {
        const [a, b, c] = parts;
        return (e) => a(e) && b(e) && c(e);
      }
      return (e) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i](e)) return false;
        return true;
      };
    }
    case 'any': {
      const parts = flatten('any', condition.items).map(compile);
      if (parts.length === 1) return parts[0];
      if (parts.length === 2) {
        const [a, b] = parts;
        return (e) => a(e) || b(e);
      }
      return (e) => {
        for (let i = 0; i < parts.length; i++) if (parts[i](e)) return true;
        return false;
      };
    }
    case 'not': {
      const inner = compile(condition.item);
      return (e) => !inner(e);
    }
    default:
      return predicateOf(condition).compile(condition, context);
  }
}

// ---------------------------------------------------------------------------------------------
// Necessary keys

type NecessaryKeys = IndexKeys;
const NO_KEYS = NO_INDEX_KEYS;

function intersect(a: Set<string> | null, b: Set<string> | null): Set<string> | null {
  if (a === null) return b;
  if (b === null) return a;
  return new Set([...a].filter((x) => b.has(x)));
}

function union(sets: Array<Set<string> | null>): Set<string> | null {
  const out = new Set<string>();
  for (const set of sets) {
    if (set === null) return null;
    for (const x of set) out.add(x);
  }
  return out;
}

function necessaryKeys(condition: Condition): NecessaryKeys {
  switch (condition.kind) {
    case 'all': {
      let types: Set<string> | null = null;
      let extensions: Set<string> | null = null;
      let dirs: string[] | null = null;
      for (const item of condition.items) {
        const keys = necessaryKeys(item);
        types = intersect(types, keys.types);
        extensions = intersect(extensions, keys.extensions);
        // Any member's directories are necessary; keep the deepest (most selective) set.
        if (keys.dirs !== null && (dirs === null || depthScore(keys.dirs) > depthScore(dirs))) dirs = keys.dirs;
      }
      return { types, extensions, dirs };
    }
    case 'any': {
      const parts = condition.items.map(necessaryKeys);
      const dirLists = parts.map((p) => p.dirs);
      return {
        types: union(parts.map((p) => p.types)),
        extensions: union(parts.map((p) => p.extensions)),
        dirs: dirLists.some((d) => d === null) ? null : minimalDirs(dirLists.flat() as string[]),
      };
    }
    case 'not':
      if (condition.item.kind === 'type') {
        const excluded = new Set<string>(condition.item.types);
        return { ...NO_KEYS, types: new Set(NOTIFICATION_TYPES.filter((t) => !excluded.has(t))) };
      }
      if (condition.item.kind === 'not') return necessaryKeys(condition.item.item);
      return NO_KEYS;
    default: {
      const predicate = predicateOf(condition);
      return predicate.indexKeys ? predicate.indexKeys(condition) : NO_KEYS;
    }
  }
}

function depthOf(dir: string): number {
  let depth = 0;
  for (let i = 0; i < dir.length; i++) if (dir.charCodeAt(i) === SLASH) depth++;
  return depth;
}

function depthScore(dirs: string[]): number {
  return dirs.length === 0 ? Infinity : Math.min(...dirs.map(depthOf)) - Math.log2(dirs.length);
}

// ---------------------------------------------------------------------------------------------
// Index selection

/** Share of events assumed to carry one given type / extension (documented heuristics). */
const TYPE_SHARE = 1 / 16;
const EXTENSION_SHARE = 1 / 20;
/** A rule whose best key still hits this share of events is simply evaluated every time. */
const ALWAYS_THRESHOLD = 0.5;

/**
 * Estimated share of events under each directory: 1 at `/`, divided at each level by the number of
 * distinct sibling directories the rule set names there (at least 4).
 */
function directoryShares(allDirs: string[]): (dir: string) => number {
  const children = new Map<string, Set<string>>();
  for (const dir of allDirs) {
    let parent = '/';
    for (const part of dir.split('/').filter(Boolean)) {
      const set = children.get(parent) ?? new Set<string>();
      set.add(part);
      children.set(parent, set);
      parent = parent === '/' ? '/' + part : parent + '/' + part;
    }
  }
  const cache = new Map<string, number>();
  const share = (dir: string): number => {
    if (dir === '/') return 1;
    const cached = cache.get(dir);
    if (cached !== undefined) return cached;
    const cut = dir.lastIndexOf('/');
    const parent = cut <= 0 ? '/' : dir.slice(0, cut);
    const value = share(parent) / Math.max(4, children.get(parent)?.size ?? 1);
    cache.set(dir, value);
    return value;
  };
  return share;
}

function rollingHash(text: string, end: number): number {
  let hash = 0;
  for (let i = 0; i < end; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) & 0x3fffffff;
  return hash;
}

/** Rules filed under one key: their tests and their positions, in rule order. */
class Bucket {
  readonly tests: EventPredicate[] = [];
  readonly indexes: number[] = [];
  add(rule: CompiledRule): void {
    this.tests.push(rule.test);
    this.indexes.push(rule.index);
  }
}

interface DirectoryBucket extends Bucket {
  readonly dir: string;
}

// ---------------------------------------------------------------------------------------------
// The compiled rule set

export class CompiledRuleSet {
  /** All rules in document order (disabled ones included, never matched). */
  readonly rules: readonly CompiledRule[];
  readonly hash: string;
  readonly stats: IndexStats;
  /** True when a rule reads the object's attributes (size, owner…: so enrichment could matter). */
  readonly needsAttributes: boolean;
  /** Per-rule summaries for output messages (treat as read-only; copy before handing out). */
  readonly summaries: readonly RuleSummary[];

  private readonly always = new Bucket();
  private readonly byType = new Map<string, Bucket>();
  private readonly byExtension = new Map<string, Bucket>();
  private readonly byDirectoryHash = new Map<number, DirectoryBucket[]>();
  private readonly hasDirectoryIndex: boolean;
  /** Bit d set: the directory index has a directory with d components (bit 31: 31 or more). */
  private directoryDepths = 0;
  private maxDirectoryDepth = 0;
  private readonly scratch: Int32Array;

  constructor(readonly ruleSet: RuleSet, options: CompileOptions = {}) {
    const context: CompileContext = { now: options.now ?? Date.now };
    this.hash = ruleSetHash(ruleSet);
    const keysPerRule = ruleSet.rules.map((rule) => (rule.enabled ? necessaryKeys(rule.when) : null));
    const allDirs = keysPerRule.flatMap((keys) => keys?.dirs ?? []);
    const dirShare = directoryShares(allDirs);
    const stats: IndexStats = { rules: ruleSet.rules.length, enabled: 0, byType: 0, byExtension: 0, byDirectory: 0, always: 0, never: 0 };
    let needsAttributes = false;

    const memo = new Map<string, EventPredicate>();
    this.rules = ruleSet.rules.map((rule, index) => {
      const keys = keysPerRule[index];
      const test = compileCondition(rule.when, memo, context);
      if (keys === null) return { index, rule, test, indexedBy: 'never' as const };
      stats.enabled++;
      if (usesAttributes(rule.when)) needsAttributes = true;
      const options: Array<{ by: CompiledRule['indexedBy']; share: number }> = [];
      if (keys.types !== null) options.push({ by: 'type', share: keys.types.size * TYPE_SHARE });
      if (keys.extensions !== null) options.push({ by: 'extension', share: keys.extensions.size * EXTENSION_SHARE });
      if (keys.dirs !== null) options.push({ by: 'directory', share: keys.dirs.reduce((sum, dir) => sum + dirShare(dir), 0) });
      options.sort((a, b) => a.share - b.share);
      let indexedBy: CompiledRule['indexedBy'] = 'always';
      if (options.length > 0) {
        const best = options[0];
        // An empty key set means the rule can never match: file it nowhere.
        const empty = (best.by === 'type' && keys.types!.size === 0) || (best.by === 'extension' && keys.extensions!.size === 0) || (best.by === 'directory' && keys.dirs!.length === 0);
        if (empty) indexedBy = 'never';
        else if (best.share < ALWAYS_THRESHOLD) indexedBy = best.by;
      }
      const compiled: CompiledRule = { index, rule, test, indexedBy };
      this.file(compiled, keys);
      return compiled;
    });
    for (const rule of this.rules) {
      if (rule.indexedBy === 'type') stats.byType++;
      else if (rule.indexedBy === 'extension') stats.byExtension++;
      else if (rule.indexedBy === 'directory') stats.byDirectory++;
      else if (rule.indexedBy === 'always') stats.always++;
      else if (rule.rule.enabled) stats.never++;
    }
    this.stats = stats;
    this.needsAttributes = needsAttributes;
    this.hasDirectoryIndex = this.byDirectoryHash.size > 0;
    this.summaries = ruleSet.rules.map((rule) => ({ name: rule.name, actions: rule.actions, tags: rule.tags }));
    this.scratch = new Int32Array(Math.max(1, ruleSet.rules.length));
  }

  private file(rule: CompiledRule, keys: NecessaryKeys): void {
    const bucketFor = (map: Map<string, Bucket>, key: string) => {
      let bucket = map.get(key);
      if (bucket === undefined) map.set(key, (bucket = new Bucket()));
      return bucket;
    };
    switch (rule.indexedBy) {
      case 'always':
        this.always.add(rule);
        break;
      case 'type':
        for (const type of keys.types!) bucketFor(this.byType, type).add(rule);
        break;
      case 'extension':
        for (const extension of keys.extensions!) bucketFor(this.byExtension, extension).add(rule);
        break;
      case 'directory':
        for (const dir of keys.dirs!) {
          const hash = rollingHash(dir, dir.length);
          let list = this.byDirectoryHash.get(hash);
          if (list === undefined) this.byDirectoryHash.set(hash, (list = []));
          const components = Math.min(31, depthOf(dir));
          this.directoryDepths |= 1 << components;
          this.maxDirectoryDepth = Math.max(this.maxDirectoryDepth, depthOf(dir));
          let bucket = list.find((b) => b.dir === dir);
          if (bucket === undefined) {
            bucket = Object.assign(new Bucket(), { dir });
            list.push(bucket);
          }
          bucket.add(rule);
        }
        break;
      default:
        break;
    }
  }

  /**
   * Writes the positions of the rules `event` matches into `out` in rule order and returns how
   * many. `out` needs room for every rule (`ruleCount`). Allocates nothing.
   */
  matchInto(event: QumuloEvent, out: Int32Array): number {
    let count = 0;
    const always = this.always;
    for (let i = 0; i < always.tests.length; i++) if (always.tests[i](event)) out[count++] = always.indexes[i];

    const byType = this.byType.get(event.type);
    if (byType !== undefined) for (let i = 0; i < byType.tests.length; i++) if (byType.tests[i](event)) out[count++] = byType.indexes[i];

    if (this.byExtension.size > 0) {
      const byExtension = this.byExtension.get(lowerCaseExtension(event.extension));
      if (byExtension !== undefined) for (let i = 0; i < byExtension.tests.length; i++) if (byExtension.tests[i](event)) out[count++] = byExtension.indexes[i];
    }

    if (this.hasDirectoryIndex) count = this.matchDirectories(event, out, count);

    // Buckets are each in rule order; merge them (a handful of matches: insertion sort).
    for (let i = 1; i < count; i++) {
      const value = out[i];
      let j = i - 1;
      while (j >= 0 && out[j] > value) {
        out[j + 1] = out[j];
        j--;
      }
      out[j + 1] = value;
    }
    return count;
  }

  /**
   * Walks the path once, looking up ancestor-or-self prefixes by their rolling hash — only at the
   * depths the index has directories for, and no further than the deepest one.
   */
  private matchDirectories(event: QumuloEvent, out: Int32Array, count: number): number {
    const path = event.path;
    const length = path.length;
    const depths = this.directoryDepths;
    const maxDepth = this.maxDirectoryDepth;
    let hash = 0;
    let depth = 0;
    for (let i = 0; i <= length; i++) {
      const code = i < length ? path.charCodeAt(i) : SLASH;
      if (code === SLASH && i > 0) {
        depth++;
        if ((depths >>> (depth < 31 ? depth : 31)) & 1) {
          const buckets = this.byDirectoryHash.get(hash);
          if (buckets !== undefined) {
            for (let b = 0; b < buckets.length; b++) {
              const bucket = buckets[b];
              if (bucket.dir.length !== i || !path.startsWith(bucket.dir)) continue;
              const tests = bucket.tests;
              for (let r = 0; r < tests.length; r++) if (tests[r](event)) out[count++] = bucket.indexes[r];
            }
          }
        }
        if (depth >= maxDepth) break;
      }
      if (i < length) hash = (Math.imul(hash, 31) + code) & 0x3fffffff; // stays a small integer: no boxing
    }
    return count;
  }

  /**
   * How many rule predicates `matchInto` would run for `event` (the candidates the indexes let
   * through). For tests and benchmarks; walks the same indexes without evaluating anything.
   */
  countCandidates(event: QumuloEvent): number {
    let count = this.always.tests.length;
    count += this.byType.get(event.type)?.tests.length ?? 0;
    if (this.byExtension.size > 0) count += this.byExtension.get(lowerCaseExtension(event.extension))?.tests.length ?? 0;
    const path = event.path;
    for (let i = 1; i <= path.length; i++) {
      if (i < path.length && path.charCodeAt(i) !== SLASH) continue;
      const prefix = path.slice(0, i);
      for (const bucket of this.byDirectoryHash.get(rollingHash(prefix, prefix.length)) ?? []) if (bucket.dir === prefix) count += bucket.tests.length;
    }
    return count;
  }

  /** Number of rules (size for `matchInto` buffers). */
  get ruleCount(): number {
    return this.rules.length;
  }

  /** Convenience form of `matchInto`: the matched compiled rules, in rule order. */
  match(event: QumuloEvent): CompiledRule[] {
    const count = this.matchInto(event, this.scratch);
    const out: CompiledRule[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = this.rules[this.scratch[i]];
    return out;
  }
}

function usesAttributes(condition: Condition): boolean {
  switch (condition.kind) {
    case 'all':
    case 'any':
      return condition.items.some(usesAttributes);
    case 'not':
      return usesAttributes(condition.item);
    default:
      return predicateOf(condition).attributes;
  }
}

/** Compiles a validated rule set; `options.now` is the clock time-based predicates read. */
export function compileRuleSet(ruleSet: RuleSet, options: CompileOptions = {}): CompiledRuleSet {
  return new CompiledRuleSet(ruleSet, options);
}
