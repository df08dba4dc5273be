// The canonical document of a rule set: one spelling per meaning (lists everywhere, groups
// explicit, octal modes as text), fixed key order. Its JSON is what the rule-set hash is computed
// over, so the same rules written in YAML, in the dialog or in a message get the same hash. The
// canonical document is itself valid input, which is how the dialog and YAML convert both ways.

import { createHash } from 'node:crypto';
import { predicateOf } from './predicates';
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
    default:
      return { [condition.kind]: predicateOf(condition).canonical(condition) };
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
