// The normalized rule language: what the validator produces from YAML, the dialog or a message,
// and what the compiler and the reference evaluator consume. Plain data, JSON-compatible.

import type { LeafCondition } from './predicates';

/**
 * A boolean condition over one `QumuloEvent`: all/any/not groups (nesting to any depth) around the
 * leaf conditions of the predicate table (predicates.ts, one entry per condition key).
 */
export type Condition = { kind: 'all'; items: Condition[] } | { kind: 'any'; items: Condition[] } | { kind: 'not'; item: Condition } | LeafCondition;

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
