// Turns a rule document (parsed YAML, the dialog's JSON, or a message payload) into a normalized
// `RuleSet`, collecting every problem with the rule name and document location (and line/column
// when a YAML locator is given). Grammar: docs/readme/rules.md.

import { NOTIFICATION_TYPES, normalizeDirPath, isNotificationType } from '../event';
import type { NotificationType } from '../event';
import { checkGlob } from './glob';
import { checkNameRegex } from './regex';
import type { GlobTarget } from './glob';
import type { Condition, ModeTest, NumericRange, Rule, RuleProblem, RuleSet } from './types';
import type { DocPath, Locator } from './yaml';

export const TOP_LEVEL_KEYS = ['version', 'rules', 'watched'] as const;
export const RULE_KEYS = ['name', 'description', 'enabled', 'actions', 'tags', 'when'] as const;
export const WATCHED_KEYS = ['name', 'description', 'enabled', 'actions', 'tags', 'directories', 'files', 'extensions', 'types'] as const;
export const GROUP_KEYS = ['all', 'any', 'not'] as const;
export const CONDITION_KEYS = [
  'type',
  'path',
  'relativePath',
  'directory',
  'name',
  'nameRegex',
  'extension',
  'isDirectory',
  'size',
  'owner',
  'group',
  'mode',
] as const;
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

type Plain = Record<string, unknown>;

function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text "${value.length > 40 ? value.slice(0, 40) + '…' : value}"`;
  return `${typeof value} ${String(value)}`;
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

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  pib: 1024 ** 5,
};

/** `5MB` = 5,000,000 bytes, `5MiB` = 5,242,880 bytes, a plain number = bytes. */
export function parseSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!match) return null;
  const unit = match[2].toLowerCase();
  const factor = unit === '' ? 1 : SIZE_UNITS[unit];
  if (factor === undefined) return null;
  return Math.round(Number(match[1]) * factor);
}

/** `"0644"`, `"644"`, `"0o644"` -> 0o644. Numbers are refused: YAML reads 0644 as decimal 644. */
export function parseMode(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const match = /^(?:0o|0)?([0-7]{1,4})$/i.exec(value.trim());
  return match ? parseInt(match[1], 8) : null;
}

export function formatMode(mode: number): string {
  return '0' + mode.toString(8).padStart(3, '0');
}

class Validator {
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
  private unknownKeys(object: Plain, path: DocPath, known: readonly string[], what: string): boolean {
    let clean = true;
    for (const key of Object.keys(object)) {
      if (known.includes(key)) continue;
      this.problem([...path, key], `unknown key "${key}" in ${what}${suggestion(key, known)}; allowed: ${known.join(', ')}`, true);
      clean = false;
    }
    return clean;
  }

  /** A string or a list of strings (numbers accepted and turned into text when `numbersAsText`). */
  private stringList(value: unknown, path: DocPath, what: string, options: { allowEmptyList?: boolean; allowEmptyString?: boolean; numbersAsText?: boolean } = {}): string[] | null {
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

  private boolean(value: unknown, path: DocPath, what: string): boolean | null {
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
      const extension = this.extension(entry.extensions, [...path, 'extensions']);
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
      case 'type': {
        const types = this.types(value, path);
        return types ? { kind: 'type', types } : null;
      }
      case 'path':
      case 'relativePath':
      case 'name': {
        const globs = this.globs(value, path, key);
        return globs ? { kind: key, globs } : null;
      }
      case 'directory': {
        let subtree = true;
        let paths: unknown = value;
        if (isPlainObject(value)) {
          this.unknownKeys(value, path, ['path', 'subtree'], 'directory');
          if (value.subtree !== undefined) {
            const parsed = this.boolean(value.subtree, [...path, 'subtree'], 'subtree');
            if (parsed === null) return null;
            subtree = parsed;
          }
          if (value.path === undefined) {
            this.problem(path, 'directory needs a path, e.g. directory: {path: /projects/incoming, subtree: false}');
            return null;
          }
          paths = value.path;
          path = [...path, 'path'];
        }
        const dirs = this.directories(paths, path);
        return dirs ? { kind: 'directory', dirs, subtree } : null;
      }
      case 'nameRegex': {
        let pattern: unknown = value;
        let flags = '';
        if (isPlainObject(value)) {
          this.unknownKeys(value, path, ['pattern', 'flags'], 'nameRegex');
          pattern = value.pattern;
          const rawFlags = value.flags ?? '';
          if (typeof rawFlags !== 'string' || !/^[imsu]*$/.test(rawFlags)) {
            this.problem([...path, 'flags'], `regex flags may only use i, m, s and u (g and y would make matching stateful), got ${describe(rawFlags)}`);
            return null;
          }
          flags = rawFlags;
          path = [...path, 'pattern'];
        }
        if (typeof pattern !== 'string' || pattern.length === 0) {
          this.problem(path, `nameRegex needs a regular expression as text, e.g. nameRegex: "^invoice-\\\\d+\\\\.pdf$", got ${describe(pattern)}`);
          return null;
        }
        const reason = checkNameRegex(pattern, flags);
        if (reason !== null) {
          this.problem(path, reason);
          return null;
        }
        return { kind: 'nameRegex', pattern, flags: [...new Set(flags)].sort().join('') };
      }
      case 'extension':
        return this.extension(value, path);
      case 'isDirectory': {
        const parsed = this.boolean(value, path, 'isDirectory');
        return parsed === null ? null : { kind: 'isDirectory', value: parsed };
      }
      case 'size':
        return this.size(value, path);
      case 'owner':
      case 'group': {
        const values = this.stringList(value, path, key, { numbersAsText: true });
        return values ? { kind: key, values } : null;
      }
      case 'mode':
        return this.mode(value, path);
      default:
        this.problem(path, `unknown condition "${key}"${suggestion(key, ALL_CONDITION_KEYS)}; conditions are ${ALL_CONDITION_KEYS.join(', ')}`, true);
        return null;
    }
  }

  private types(value: unknown, path: DocPath): NotificationType[] | null {
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

  private globs(value: unknown, path: DocPath, target: GlobTarget): string[] | null {
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

  private directories(value: unknown, path: DocPath): string[] | null {
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

  private extension(value: unknown, path: DocPath): Condition | null {
    let caseSensitive = false;
    let values: unknown = value;
    if (isPlainObject(value)) {
      this.unknownKeys(value, path, ['values', 'caseSensitive'], 'extension');
      if (value.caseSensitive !== undefined) {
        const parsed = this.boolean(value.caseSensitive, [...path, 'caseSensitive'], 'caseSensitive');
        if (parsed === null) return null;
        caseSensitive = parsed;
      }
      if (value.values === undefined) {
        this.problem(path, 'extension needs values, e.g. extension: {values: [pdf, docx], caseSensitive: true}');
        return null;
      }
      values = value.values;
      path = [...path, 'values'];
    }
    const raw = this.stringList(values, path, 'an extension', { allowEmptyString: true, numbersAsText: true });
    if (raw === null) return null;
    const out: string[] = [];
    const seen = new Set<string>();
    let ok = true;
    raw.forEach((item, index) => {
      const itemPath = Array.isArray(values) ? [...path, index] : path;
      const bare = item.startsWith('.') ? item.slice(1) : item;
      if (bare.includes('.') || bare.includes('/') || /\s/.test(bare) || /[*?[\]{}]/.test(bare)) {
        const hint = bare.includes('.') ? `; the extension is the part after the last dot ("${bare.slice(bare.lastIndexOf('.') + 1)}"), for "${bare}" use name: "*.${bare}"` : '';
        this.problem(itemPath, `"${item}" is not an extension${hint}`);
        ok = false;
        return;
      }
      const normalized = caseSensitive ? bare : bare.toLowerCase();
      if (!seen.has(normalized)) {
        seen.add(normalized);
        out.push(normalized);
      }
    });
    return ok ? { kind: 'extension', values: out, caseSensitive } : null;
  }

  private size(value: unknown, path: DocPath): Condition | null {
    const range: NumericRange = {};
    if (typeof value === 'number' || typeof value === 'string') {
      const bytes = parseSize(value);
      if (bytes === null) {
        this.problem(path, `size ${describe(value)} is not a size: write bytes (1048576) or a number with a unit (5MB, 1.5GiB)`);
        return null;
      }
      range.eq = bytes;
      return { kind: 'size', range };
    }
    if (!isPlainObject(value)) {
      this.problem(path, `size takes a size or a comparison such as {gt: 10MB, lte: 1GB}, got ${describe(value)}`);
      return null;
    }
    const operators = ['gt', 'gte', 'lt', 'lte', 'eq'] as const;
    let ok = this.unknownKeys(value, path, operators, 'size');
    for (const operator of operators) {
      if (value[operator] === undefined) continue;
      const bytes = parseSize(value[operator]);
      if (bytes === null) {
        this.problem([...path, operator], `${describe(value[operator])} is not a size: write bytes (1048576) or a number with a unit (5MB, 1.5GiB)`);
        ok = false;
      } else {
        range[operator] = bytes;
      }
    }
    if (!ok) return null;
    if (Object.keys(range).length === 0) {
      this.problem(path, 'size needs at least one of gt, gte, lt, lte, eq');
      return null;
    }
    const low = Math.max(range.gt ?? -Infinity, range.gte ?? -Infinity, range.eq ?? -Infinity);
    const high = Math.min(range.lt ?? Infinity, range.lte ?? Infinity, range.eq ?? Infinity);
    const empty = low > high || (low === high && (range.gt === low || range.lt === high));
    if (empty) {
      this.problem(path, 'this size range can never match (the lower bound is above the upper bound)');
      return null;
    }
    return { kind: 'size', range };
  }

  private mode(value: unknown, path: DocPath): Condition | null {
    const numberHint = (v: unknown) =>
      typeof v === 'number' ? ` (YAML reads an unquoted 0644 as the number ${v}; quote it: "0${String(v).replace(/^0+/, '')}")` : '';
    if (typeof value === 'string' || typeof value === 'number') {
      const mode = parseMode(value);
      if (mode === null) {
        this.problem(path, `mode must be an octal text such as "0644", got ${describe(value)}${numberHint(value)}`);
        return null;
      }
      return { kind: 'mode', test: { equals: mode } };
    }
    if (!isPlainObject(value)) {
      this.problem(path, `mode takes "0644" or a bit test such as {hasAny: "0002"}, got ${describe(value)}`);
      return null;
    }
    const operators = ['equals', 'hasAll', 'hasAny', 'hasNone'] as const;
    let ok = this.unknownKeys(value, path, operators, 'mode');
    const test: ModeTest = {};
    for (const operator of operators) {
      if (value[operator] === undefined) continue;
      const mode = parseMode(value[operator]);
      if (mode === null) {
        this.problem([...path, operator], `mode ${operator} must be an octal text such as "0022", got ${describe(value[operator])}${numberHint(value[operator])}`);
        ok = false;
      } else {
        test[operator] = mode;
      }
    }
    if (!ok) return null;
    if (Object.keys(test).length === 0) {
      this.problem(path, 'mode needs one of equals, hasAll, hasAny, hasNone');
      return null;
    }
    return { kind: 'mode', test };
  }
}

/** Validates a parsed rule document. Returns the rule set, or null and every problem found. */
export function validateRuleDocument(document: unknown, options: ValidateOptions = {}): ValidationResult {
  const validator = new Validator(options);
  const ruleSet = validator.document(document);
  return { ruleSet, problems: validator.problems };
}
