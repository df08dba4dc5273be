// The normalized rule language: what the validator produces from YAML, the dialog or a message,
// and what the compiler and the reference evaluator consume. Plain data, JSON-compatible.

import type { NotificationType } from '../event';

/** A boolean condition over one `QumuloEvent`. Groups nest to any depth. */
export type Condition =
  | { kind: 'all'; items: Condition[] }
  | { kind: 'any'; items: Condition[] }
  | { kind: 'not'; item: Condition }
  /** Notification type is one of `types`. */
  | { kind: 'type'; types: NotificationType[] }
  /** Globs (picomatch syntax, `dot: true`; glob-nfa.ts) against the absolute `event.path`. */
  | { kind: 'path'; globs: string[] }
  /** Globs (picomatch syntax, `dot: true`; glob-nfa.ts) against `event.relativePath` (relative to the watch root). */
  | { kind: 'relativePath'; globs: string[] }
  /** Object lies inside one of `dirs` (normalized absolute paths); `subtree: false` = direct children only. */
  | { kind: 'directory'; dirs: string[]; subtree: boolean }
  /** Globs (picomatch syntax, `dot: true`; glob-nfa.ts) against `event.name`. */
  | { kind: 'name'; globs: string[] }
  /** A JavaScript regular expression tested against `event.name`. */
  | { kind: 'nameRegex'; pattern: string; flags: string }
  /** Extension (no dot) is one of `values` (`''` = no extension); lower-cased unless `caseSensitive`. */
  | { kind: 'extension'; values: string[]; caseSensitive: boolean }
  /** `event.isDirectory === value`; events whose type does not tell (`null`) match neither. */
  | { kind: 'isDirectory'; value: boolean }
  /** Size in bytes (`attributes.size`); false when the event carries no size. */
  | { kind: 'size'; range: NumericRange }
  /** `attributes.owner` is one of `values`; false when the event carries no owner. */
  | { kind: 'owner'; values: string[] }
  /** `attributes.group` is one of `values`; false when the event carries no group. */
  | { kind: 'group'; values: string[] }
  /** POSIX mode bits (`attributes.mode`, an octal string); false when absent. */
  | { kind: 'mode'; test: ModeTest };

export type ConditionKind = Condition['kind'];

export interface NumericRange {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  eq?: number;
}

export interface ModeTest {
  /** Mode equals this value (permission bits 0o7777 compared). */
  equals?: number;
  /** Every one of these bits is set. */
  hasAll?: number;
  /** At least one of these bits is set. */
  hasAny?: number;
  /** None of these bits is set. */
  hasNone?: number;
}

export interface Rule {
  name: string;
  description: string;
  enabled: boolean;
  actions: string[];
  tags: string[];
  when: Condition;
}

export interface RuleSet {
  rules: Rule[];
}

/** A problem a person can act on: where (rule, location in the document, line/column) and what. */
export interface RuleProblem {
  message: string;
  /** Name of the rule the problem is in, when known. */
  rule?: string;
  /** Location inside the document, e.g. `rules[2].when.all[0].extension`. */
  at: string;
  /** 1-based line and column in the YAML source, when the rules came from YAML. */
  line?: number;
  column?: number;
  /** File name, when the rules came from a file. */
  file?: string;
}

/** Renders a problem as one line: `file:line:col rule "x": at: message`. */
export function formatProblem(problem: RuleProblem): string {
  const parts: string[] = [];
  let where = problem.file ?? '';
  if (problem.line !== undefined) where += (where ? ':' : 'line ') + problem.line + ':' + (problem.column ?? 1);
  if (where) parts.push(where);
  if (problem.rule !== undefined) parts.push(`rule "${problem.rule}"`);
  if (problem.at) parts.push(problem.at);
  return (parts.length > 0 ? parts.join(' ') + ': ' : '') + problem.message;
}

/** Thrown by the loaders; carries every problem found, not only the first. */
export class RuleSetError extends Error {
  readonly problems: RuleProblem[];
  constructor(problems: RuleProblem[]) {
    const head = problems.length === 1 ? formatProblem(problems[0]) : `${problems.length} problems in the rule set; first: ${formatProblem(problems[0])}`;
    super(head);
    this.name = 'RuleSetError';
    this.problems = problems;
  }
}
