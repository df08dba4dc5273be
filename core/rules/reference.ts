// The straightforward evaluator: walks the condition tree for every rule and asks each predicate's
// `reference` (predicates.ts: the glob automaton without shortcuts, paths split into segments). No
// indexes, no shortcuts. It defines what the rules mean; the compiled matcher (compile.ts) must always agree with it (test/core/rules/rules-property.test.ts).

import type { QumuloEvent } from '../event';
import { predicateOf } from './predicates';
import type { Condition, RuleSet } from './types';

/** Whether `condition` holds for `event` at `now` (epoch ms; only time-based predicates read it). */
export function evaluateCondition(condition: Condition, event: QumuloEvent, now: number = Date.now()): boolean {
  switch (condition.kind) {
    case 'all':
      return condition.items.every((item) => evaluateCondition(item, event, now));
    case 'any':
      return condition.items.some((item) => evaluateCondition(item, event, now));
    case 'not':
      return !evaluateCondition(condition.item, event, now);
    default:
      return predicateOf(condition).reference(condition, event, now);
  }
}

/** Names of the enabled rules `event` matches at `now`, in rule order. */
export function referenceMatch(ruleSet: RuleSet, event: QumuloEvent, now: number = Date.now()): string[] {
  return ruleSet.rules.filter((rule) => rule.enabled && evaluateCondition(rule.when, event, now)).map((rule) => rule.name);
}
