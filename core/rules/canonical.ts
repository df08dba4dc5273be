// The canonical document of a rule set: one spelling per meaning (lists everywhere, groups
// explicit, octal modes as text), fixed key order. Its JSON is what the rule-set hash is computed
// over, so the same rules written in YAML, in the dialog or in a message get the same hash. The
// canonical document is itself valid input, which is how the dialog and YAML convert both ways.

import { createHash } from 'node:crypto';
import { formatMode } from './validate';
import type { Condition, Rule, RuleSet } from './types';

export type CanonicalValue = string | number | boolean | CanonicalValue[] | { [key: string]: CanonicalValue };
export type CanonicalCondition = { [key: string]: CanonicalValue };

export function conditionToDocument(condition: Condition): CanonicalCondition {
  switch (condition.kind) {
    case 'all':
    case 'any':
      return { [condition.kind]: condition.items.map(conditionToDocument) };
    case 'not':
      return { not: conditionToDocument(condition.item) };
    case 'type':
      return { type: [...condition.types] };
    case 'path':
    case 'relativePath':
    case 'name':
      return { [condition.kind]: [...condition.globs] };
    case 'directory':
      return { directory: { path: [...condition.dirs], subtree: condition.subtree } };
    case 'nameRegex':
      return { nameRegex: { pattern: condition.pattern, flags: condition.flags } };
    case 'extension':
      return { extension: { values: [...condition.values], caseSensitive: condition.caseSensitive } };
    case 'isDirectory':
      return { isDirectory: condition.value };
    case 'size': {
      const range: { [key: string]: CanonicalValue } = {};
      for (const key of ['gt', 'gte', 'lt', 'lte', 'eq'] as const) {
        const bound = condition.range[key];
        if (bound !== undefined) range[key] = bound;
      }
      return { size: range };
    }
    case 'owner':
    case 'group':
      return { [condition.kind]: [...condition.values] };
    case 'mode': {
      const test: { [key: string]: CanonicalValue } = {};
      for (const key of ['equals', 'hasAll', 'hasAny', 'hasNone'] as const) {
        const bits = condition.test[key];
        if (bits !== undefined) test[key] = formatMode(bits);
      }
      return { mode: test };
    }
  }
}

export function ruleToDocument(rule: Rule): { [key: string]: CanonicalValue } {
  const doc: { [key: string]: CanonicalValue } = { name: rule.name };
  if (rule.description) doc.description = rule.description;
  doc.enabled = rule.enabled;
  doc.actions = [...rule.actions];
  doc.tags = [...rule.tags];
  doc.when = conditionToDocument(rule.when);
  return doc;
}

export interface RuleSetDocument {
  version: 1;
  rules: Array<{ [key: string]: CanonicalValue }>;
}

export function ruleSetToDocument(ruleSet: RuleSet): RuleSetDocument {
  return { version: 1, rules: ruleSet.rules.map(ruleToDocument) };
}

/** First 8 hex digits of the SHA-256 of the canonical JSON. */
export function ruleSetHash(ruleSet: RuleSet): string {
  return createHash('sha256').update(JSON.stringify(ruleSetToDocument(ruleSet))).digest('hex').slice(0, 8);
}
