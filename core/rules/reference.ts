// The straightforward evaluator: walks the condition tree for every rule, uses the glob automaton
// without shortcuts and splits paths into segments. No indexes, no shortcuts. It defines what the rules
// mean; the compiled matcher (compile.ts) must always agree with it (test/rules-property.test.ts).

import type { QumuloEvent } from '../event';
import { referenceGlobMatcher } from './glob';
import type { StringPredicate } from './glob';
import { compileNameRegex } from './regex';
import type { NamePredicate } from './regex';
import type { Condition, RuleSet } from './types';

const globCache = new Map<string, StringPredicate>();

function globMatches(glob: string, value: string): boolean {
  let matcher = globCache.get(glob);
  if (matcher === undefined) {
    matcher = referenceGlobMatcher(glob);
    globCache.set(glob, matcher);
  }
  return matcher(value);
}

const regexCache = new Map<string, NamePredicate>();

function regexFor(pattern: string, flags: string): NamePredicate {
  const key = flags + '/' + pattern;
  let test = regexCache.get(key);
  if (test === undefined) {
    test = compileNameRegex(pattern, flags);
    regexCache.set(key, test);
  }
  return test;
}

function segments(path: string): string[] {
  return path.split('/').filter((part) => part.length > 0);
}

function isInside(dir: string, path: string, subtree: boolean): boolean {
  const dirParts = segments(dir);
  const pathParts = segments(path);
  if (pathParts.length <= dirParts.length) return false;
  if (!subtree && pathParts.length !== dirParts.length + 1) return false;
  return dirParts.every((part, i) => pathParts[i] === part);
}

export function evaluateCondition(condition: Condition, event: QumuloEvent): boolean {
  switch (condition.kind) {
    case 'all':
      return condition.items.every((item) => evaluateCondition(item, event));
    case 'any':
      return condition.items.some((item) => evaluateCondition(item, event));
    case 'not':
      return !evaluateCondition(condition.item, event);
    case 'type':
      return condition.types.includes(event.type);
    case 'path':
      return condition.globs.some((glob) => globMatches(glob, event.path));
    case 'relativePath':
      return condition.globs.some((glob) => globMatches(glob, event.relativePath));
    case 'name':
      return condition.globs.some((glob) => globMatches(glob, event.name));
    case 'nameRegex':
      return regexFor(condition.pattern, condition.flags)(event.name);
    case 'directory':
      return condition.dirs.some((dir) => isInside(dir, event.path, condition.subtree));
    case 'extension': {
      const extension = condition.caseSensitive ? event.extension : event.extension.toLowerCase();
      return condition.values.includes(extension);
    }
    case 'isDirectory':
      return event.isDirectory === condition.value;
    case 'size': {
      const size = event.attributes?.size;
      if (typeof size !== 'number') return false;
      const { gt, gte, lt, lte, eq } = condition.range;
      return (gt === undefined || size > gt) && (gte === undefined || size >= gte) && (lt === undefined || size < lt) && (lte === undefined || size <= lte) && (eq === undefined || size === eq);
    }
    case 'owner':
      return event.attributes?.owner !== undefined && condition.values.includes(String(event.attributes.owner));
    case 'group':
      return event.attributes?.group !== undefined && condition.values.includes(String(event.attributes.group));
    case 'mode': {
      const text = event.attributes?.mode;
      if (typeof text !== 'string') return false;
      const parsed = parseInt(text, 8);
      if (Number.isNaN(parsed)) return false;
      const mode = parsed & 0o7777;
      const { equals, hasAll, hasAny, hasNone } = condition.test;
      return (equals === undefined || mode === equals) && (hasAll === undefined || (mode & hasAll) === hasAll) && (hasAny === undefined || (mode & hasAny) !== 0) && (hasNone === undefined || (mode & hasNone) === 0);
    }
  }
}

/** Names of the enabled rules `event` matches, in rule order. */
export function referenceMatch(ruleSet: RuleSet, event: QumuloEvent): string[] {
  return ruleSet.rules.filter((rule) => rule.enabled && evaluateCondition(rule.when, event)).map((rule) => rule.name);
}
