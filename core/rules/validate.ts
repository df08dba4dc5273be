// Turns a rule document (parsed YAML, the dialog's JSON, or a message payload) into a normalized
// `RuleSet`, collecting every problem with the rule name and document location (and line/column
// when a YAML locator is given). Groups and rule entries are read here; each condition key is read
// by its entry in the predicate table (predicates.ts). Grammar: docs/rules.md.

import { NOTIFICATION_TYPES, normalizeDirPath, isNotificationType } from '../event';
import type { NotificationType } from '../event';
import { checkGlob } from './glob';
import type { GlobTarget } from './glob';
import { PREDICATES, predicateFor } from './predicates';
import type { ValueChecks } from './predicates';
import type { Condition, Rule, RuleProblem, RuleSet } from './types';
import { describe, isPlainObject } from './values';
import type { Plain } from './values';
import type { DocPath, Locator } from './yaml';

export { formatMode, parseMode, parseSize } from './values';

export const TOP_LEVEL_KEYS = ['version', 'rules', 'watched'] as const;
export const RULE_KEYS = ['name', 'description', 'enabled', 'actions', 'tags', 'when'] as const;
export const WATCHED_KEYS = ['name', 'description', 'enabled', 'actions', 'tags', 'directories', 'files', 'extensions', 'types'] as const;
export const GROUP_KEYS = ['all', 'any', 'not'] as const;
/** Every condition key, from the predicate table. */
export const CONDITION_KEYS: readonly string[] = PREDICATES.map((p) => p.key);
const ALL_CONDITION_KEYS: readonly string[] = [...GROUP_KEYS, ...CONDITION_KEYS];

/** Guards validation against alias bombs and absurd inputs. */
const MAX_VISITED_NODES = 200_000;
const MAX_DEPTH = 64;
/** Most values one condition may list (globs, directories, extensions, owners…). */
export const MAX_LIST_ITEMS = 10_000;
/** Most rules (rules + watched entries) in one rule set. */
export const MAX_RULES = 50_000;

export interface ValidateOptions {
  /** Maps document locations to YAML line/column. */
  locator?: Locator;
  /** File name to put into problems. */
  file?: string;
}

export interface ValidationResult {
  ruleSet: RuleSet | null;
  problems: RuleProblem[];
}

function formatPath(path: DocPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += (out ? '.' : '') + part;
  }
  return out;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previousDiagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previousDiagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      previousDiagonal = saved;
    }
  }
  return row[b.length];
}

/** `did you mean "x"?` for near misses (typos, plural forms, case). */
function suggestion(word: string, candidates: readonly string[]): string {
  const lower = word.toLowerCase();
  let best = '';
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    const distance = c === lower || c + 's' === lower || c + 'es' === lower ? 0 : editDistance(lower, c);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

class Validator implements ValueChecks {
  readonly problems: RuleProblem[] = [];
  private visited = 0;
  private rule: string | undefined;

  constructor(private readonly options: ValidateOptions) {}

  problem(path: DocPath, message: string, atKey = false): void {
    const problem: RuleProblem = { message, at: formatPath(path) };
    if (this.rule !== undefined) problem.rule = this.rule;
    if (this.options.file !== undefined) problem.file = this.options.file;
    const position = this.options.locator ? (atKey ? this.options.locator.keyAt(path) : this.options.locator.valueAt(path)) : undefined;
    if (position) {
      problem.line = position.line;
      problem.column = position.column;
    }
    this.problems.push(problem);
  }

  private tick(path: DocPath): boolean {
    this.visited++;
    if (this.visited === MAX_VISITED_NODES) this.problem(path, `the rule set is too large (more than ${MAX_VISITED_NODES} values; check for runaway YAML aliases)`);
    return this.visited < MAX_VISITED_NODES;
  }

  /** Reports keys not in `known`; returns true when there were none. */
  unknownKeys(object: Plain, path: DocPath, known: readonly string[], what: string): boolean {
    let clean = true;
    for (const key of Object.keys(object)) {
      if (known.includes(key)) continue;
      this.problem([...path, key], `unknown key "${key}" in ${what}${suggestion(key, known)}; allowed: ${known.join(', ')}`, true);
      clean = false;
    }
    return clean;
  }

  /** A string or a list of strings (numbers accepted and turned into text when `numbersAsText`). */
  stringList(value: unknown, path: DocPath, what: string, options: { allowEmptyList?: boolean; allowEmptyString?: boolean; numbersAsText?: boolean } = {}): string[] | null {
    const items = Array.isArray(value) ? value : [value];
    if (Array.isArray(value) && value.length === 0 && !options.allowEmptyList) {
      this.problem(path, `${what} is an empty list: give at least one value`);
      return null;
    }
    if (items.length > MAX_LIST_ITEMS) {
      this.problem(path, `too many values (${items.length}; at most ${MAX_LIST_ITEMS} per list): use a glob or a directory condition that covers them, or split the list over several rules`);
      return null;
    }
    const out: string[] = [];
    // De-duplication through a Set: linear, whatever the list's size.
    const seen = new Set<string>();
    let ok = true;
    items.forEach((item, index) => {
      const itemPath = Array.isArray(value) ? [...path, index] : path;
      if (options.numbersAsText && typeof item === 'number' && Number.isFinite(item)) item = String(item);
      if (typeof item !== 'string') {
        this.problem(itemPath, `${what} must be text${Array.isArray(value) ? '' : ' or a list of text'}, got ${describe(item)}`);
        ok = false;
      } else if (item.length === 0 && !options.allowEmptyString) {
        this.problem(itemPath, `${what} must not be empty`);
        ok = false;
      } else if (!seen.has(item)) {
        seen.add(item);
        out.push(item);
      }
    });
    return ok ? out : null;
  }

  boolean(value: unknown, path: DocPath, what: string): boolean | null {
    if (typeof value === 'boolean') return value;
    this.problem(path, `${what} must be true or false, got ${describe(value)}`);
    return null;
  }

  document(value: unknown): RuleSet | null {
    const root: DocPath = [];
    if (!isPlainObject(value)) {
      this.problem(root, `the rule set must be a mapping with a "rules:" list, got ${describe(value)}`);
      return null;
    }
    this.unknownKeys(value, root, TOP_LEVEL_KEYS, 'the rule set');
    if ('version' in value && value.version !== 1) this.problem(['version'], `unsupported version ${describe(value.version)}: this release reads version 1`);
    if (!('rules' in value) && !('watched' in value)) this.problem(root, 'the rule set needs a "rules:" list (or "watched:" entries)');
    const rules: Rule[] = [];
    const names = new Map<string, string>();
    // Names are checked for duplicates even on entries that have other problems.
    const claimName = (entry: unknown, path: DocPath): boolean => {
      if (!isPlainObject(entry) || typeof entry.name !== 'string' || entry.name.trim() === '') return true;
      const name = entry.name.trim();
      const earlier = names.get(name);
      if (earlier === undefined) {
        names.set(name, formatPath(path));
        return true;
      }
      this.rule = name;
      this.problem([...path, 'name'], `duplicate rule name "${name}" (also used at ${earlier}); rule names must be unique`);
      this.rule = undefined;
      return false;
    };
    for (const section of ['rules', 'watched'] as const) {
      if (!(section in value)) continue;
      const list = value[section];
      if (list === null) continue;
      if (!Array.isArray(list)) {
        this.problem([section], `"${section}" must be a list of ${section === 'rules' ? 'rules' : 'watched entries'} (items starting with "- "), got ${describe(list)}`);
        continue;
      }
      if (list.length > MAX_RULES) {
        this.problem([section], `too many ${section === 'rules' ? 'rules' : 'watched entries'} (${list.length}; at most ${MAX_RULES} in one rule set)`);
        continue;
      }
      list.forEach((item, index) => {
        const path = [section, index];
        const unique = claimName(item, path);
        const rule = section === 'rules' ? this.ruleEntry(item, path) : this.watchedEntry(item, path);
        if (rule !== null && unique) rules.push(rule);
      });
    }
    return this.problems.length === 0 ? { rules } : null;
  }

  /** name, description, enabled, actions, tags: shared by `rules:` and `watched:` entries. */
  private ruleHeader(entry: Plain, path: DocPath): Omit<Rule, 'when'> | null {
    let ok = true;
    const rawName = entry.name;
    const named = typeof rawName === 'string' && rawName.trim().length > 0;
    const name = named ? rawName.trim() : '';
    // Problems in a nameless rule are attributed to its position, e.g. "#2".
    this.rule = named ? name : `#${String(path[path.length - 1])}`;
    if (!named) {
      this.problem([...path, 'name'], rawName === undefined ? 'every rule needs a name' : `the rule name must be non-empty text, got ${describe(rawName)}`, rawName === undefined);
      ok = false;
    }
    let description = '';
    if (entry.description !== undefined && entry.description !== null) {
      if (typeof entry.description === 'string') description = entry.description;
      else {
        this.problem([...path, 'description'], `description must be text, got ${describe(entry.description)}`);
        ok = false;
      }
    }
    let enabled = true;
    if (entry.enabled !== undefined) {
      const parsed = this.boolean(entry.enabled, [...path, 'enabled'], 'enabled');
      if (parsed === null) ok = false;
      else enabled = parsed;
    }
    const list = (key: 'actions' | 'tags'): string[] => {
      if (entry[key] === undefined || entry[key] === null) return [];
      const values = this.stringList(entry[key], [...path, key], key === 'actions' ? 'an action' : 'a tag', { allowEmptyList: true });
      if (values === null) ok = false;
      return values ?? [];
    };
    const actions = list('actions');
    const tags = list('tags');
    return ok ? { name, description, enabled, actions, tags } : null;
  }

  private ruleEntry(entry: unknown, path: DocPath): Rule | null {
    this.rule = undefined;
    if (!isPlainObject(entry)) {
      this.problem(path, `a rule must be a mapping with name, when, actions…, got ${describe(entry)}`);
      return null;
    }
    const header = this.ruleHeader(entry, path);
    this.unknownKeys(entry, path, RULE_KEYS, 'a rule');
    let when: Condition | null = null;
    if (entry.when === undefined) this.problem(path, 'the rule has no "when:" condition');
    else when = this.condition(entry.when, [...path, 'when'], 0);
    this.rule = undefined;
    return header && when ? { ...header, when } : null;
  }

  /** `watched:` sugar: (directories OR files) AND extensions AND types. */
  private watchedEntry(entry: unknown, path: DocPath): Rule | null {
    this.rule = undefined;
    if (!isPlainObject(entry)) {
      this.problem(path, `a watched entry must be a mapping with name, directories/files/extensions/types and actions, got ${describe(entry)}`);
      return null;
    }
    const header = this.ruleHeader(entry, path);
    this.unknownKeys(entry, path, WATCHED_KEYS, 'a watched entry');
    const parts: Condition[] = [];
    const places: Condition[] = [];
    let ok = true;
    if (entry.directories !== undefined) {
      const dirs = this.directories(entry.directories, [...path, 'directories']);
      if (dirs) places.push({ kind: 'directory', dirs, subtree: true });
      else ok = false;
    }
    if (entry.files !== undefined) {
      const globs = this.globs(entry.files, [...path, 'files'], 'path');
      if (globs) places.push({ kind: 'path', globs });
      else ok = false;
    }
    if (places.length === 1) parts.push(places[0]);
    else if (places.length === 2) parts.push({ kind: 'any', items: places });
    if (entry.extensions !== undefined) {
      const extension = predicateFor('extension')!.validate(entry.extensions, [...path, 'extensions'], this);
      if (extension) parts.push(extension);
      else ok = false;
    }
    if (entry.types !== undefined) {
      const types = this.types(entry.types, [...path, 'types']);
      if (types) parts.push({ kind: 'type', types });
      else ok = false;
    }
    if (ok && parts.length === 0) {
      this.problem(path, 'a watched entry needs at least one of directories, files, extensions or types');
      ok = false;
    }
    this.rule = undefined;
    if (!header || !ok) return null;
    return { ...header, when: parts.length === 1 ? parts[0] : { kind: 'all', items: parts } };
  }

  condition(value: unknown, path: DocPath, depth: number): Condition | null {
    if (!this.tick(path)) return null;
    if (depth > MAX_DEPTH) {
      this.problem(path, `conditions are nested more than ${MAX_DEPTH} levels deep`);
      return null;
    }
    if (!isPlainObject(value)) {
      const hint = Array.isArray(value) ? ' (for several conditions write all: [...] or any: [...])' : '';
      this.problem(path, `a condition must be a mapping such as {extension: pdf}, got ${describe(value)}${hint}`);
      return null;
    }
    const keys = Object.keys(value);
    if (keys.length === 0) {
      this.problem(path, `empty condition: use one of ${ALL_CONDITION_KEYS.join(', ')}`);
      return null;
    }
    const parts: Condition[] = [];
    let ok = true;
    for (const key of keys) {
      const keyPath = [...path, key];
      const part = this.conditionEntry(key, value[key], keyPath, depth);
      if (part === null) ok = false;
      else parts.push(part);
    }
    if (!ok) return null;
    // Several keys in one mapping are an implicit `all`.
    return parts.length === 1 ? parts[0] : { kind: 'all', items: parts };
  }

  private conditionEntry(key: string, value: unknown, path: DocPath, depth: number): Condition | null {
    switch (key) {
      case 'all':
      case 'any': {
        if (!Array.isArray(value)) {
          this.problem(path, `"${key}" takes a list of conditions, got ${describe(value)}`);
          return null;
        }
        if (value.length === 0) {
          this.problem(path, `empty "${key}" group: add at least one condition or remove the group`);
          return null;
        }
        const items: Condition[] = [];
        let ok = true;
        value.forEach((item, index) => {
          const condition = this.condition(item, [...path, index], depth + 1);
          if (condition === null) ok = false;
          else items.push(condition);
        });
        return ok ? { kind: key, items } : null;
      }
      case 'not': {
        if (Array.isArray(value)) {
          this.problem(path, '"not" takes one condition, not a list: for "none of several" write not: {any: [...]}');
          return null;
        }
        const item = this.condition(value, path, depth + 1);
        return item ? { kind: 'not', item } : null;
      }
      default: {
        const predicate = predicateFor(key);
        if (predicate !== undefined) return predicate.validate(value, path, this);
        this.problem(path, `unknown condition "${key}"${suggestion(key, ALL_CONDITION_KEYS)}; conditions are ${ALL_CONDITION_KEYS.join(', ')}`, true);
        return null;
      }
    }
  }

  types(value: unknown, path: DocPath): NotificationType[] | null {
    const names = this.stringList(value, path, 'a notification type');
    if (names === null) return null;
    const types: NotificationType[] = [];
    let ok = true;
    names.forEach((name, index) => {
      if (isNotificationType(name)) types.push(name);
      else {
        this.problem(Array.isArray(value) ? [...path, index] : path, `unknown notification type "${name}"${suggestion(name, NOTIFICATION_TYPES)}; known types: ${NOTIFICATION_TYPES.join(', ')}`);
        ok = false;
      }
    });
    return ok ? types : null;
  }

  globs(value: unknown, path: DocPath, target: GlobTarget): string[] | null {
    const globs = this.stringList(value, path, `a ${target} glob`);
    if (globs === null) return null;
    let ok = true;
    globs.forEach((glob, index) => {
      const reason = checkGlob(glob, target);
      if (reason !== null) {
        this.problem(Array.isArray(value) ? [...path, index] : path, reason);
        ok = false;
      }
    });
    return ok ? globs : null;
  }

  directories(value: unknown, path: DocPath): string[] | null {
    const dirs = this.stringList(value, path, 'a directory');
    if (dirs === null) return null;
    const out: string[] = [];
    const seen = new Set<string>();
    let ok = true;
    dirs.forEach((dir, index) => {
      const itemPath = Array.isArray(value) ? [...path, index] : path;
      if (!dir.startsWith('/')) {
        this.problem(itemPath, `directory "${dir}" must be an absolute path starting with "/"`);
        ok = false;
      } else if (/[*?[\]{}]/.test(dir)) {
        this.problem(itemPath, `directory "${dir}" contains glob characters: directories are plain paths; use path: "${dir.replace(/\/+$/, '')}/**" for a glob`);
        ok = false;
      } else if (/(^|\/)\.\.?(\/|$)/.test(dir)) {
        this.problem(itemPath, `directory "${dir}" contains a "." or ".." segment`);
        ok = false;
      } else {
        const normalized = normalizeDirPath(dir);
        if (!seen.has(normalized)) {
          seen.add(normalized);
          out.push(normalized);
        }
      }
    });
    return ok ? out : null;
  }
}

/** Validates a parsed rule document. Returns the rule set, or null and every problem found. */
export function validateRuleDocument(document: unknown, options: ValidateOptions = {}): ValidationResult {
  const validator = new Validator(options);
  const ruleSet = validator.document(document);
  return { ruleSet, problems: validator.problems };
}
