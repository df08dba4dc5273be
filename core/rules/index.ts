// Public face of the rule language: load a rule set from YAML text, a file or a plain document
// (dialog / message), validated and compiled. Never imports Node-RED.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileRuleSet } from './compile';
import type { CompiledRuleSet } from './compile';
import { RuleSetError } from './types';
import type { RuleSet } from './types';
import { validateRuleDocument } from './validate';
import { parseYaml, YamlSyntaxError } from './yaml';

export * from './types';
export { compileRuleSet, CompiledRuleSet } from './compile';
export type { CompiledRule, CompileOptions, RuleSummary, IndexStats, EventPredicate } from './compile';
export { PREDICATES, predicateFor, editorPredicateList } from './predicates';
export type { Predicate, LeafCondition, LeafKind, CompileContext } from './predicates';
export { ruleSetHash, ruleSetToDocument, conditionToDocument } from './canonical';
export type { RuleSetDocument } from './canonical';
export { referenceMatch, evaluateCondition } from './reference';
export { validateRuleDocument, CONDITION_KEYS, GROUP_KEYS } from './validate';
export { parseSize, parseMode } from './values';
export { AttributeEnricher, attributesFromWire, clusterAttributeFetcher } from './enrich';
export type { AttributeFetcher, AttributeSource, EnricherOptions, EnricherStats } from './enrich';
export { watchRuleFile } from './file-watch';
export type { RuleFileWatcher, RuleFileWatchOptions } from './file-watch';

/** Rule files are small; refuse anything that is clearly not one. */
export const MAX_RULE_FILE_BYTES = 4 * 1024 * 1024;

/** Validates a plain document (the dialog's JSON, a message payload). Throws `RuleSetError`. */
export function ruleSetFromDocument(document: unknown): RuleSet {
  const { ruleSet, problems } = validateRuleDocument(document);
  if (ruleSet === null) throw new RuleSetError(problems);
  return ruleSet;
}

/** Parses and validates YAML text (core schema only). Throws `RuleSetError` with line/column. */
export function ruleSetFromYaml(text: string, file?: string): RuleSet {
  let parsed;
  try {
    parsed = parseYaml(text, file);
  } catch (err) {
    const syntax = err instanceof YamlSyntaxError ? err : new YamlSyntaxError(String(err));
    throw new RuleSetError([{ message: 'YAML syntax: ' + syntax.message, at: '', line: syntax.line, column: syntax.column, ...(file !== undefined ? { file } : {}) }]);
  }
  const { ruleSet, problems } = validateRuleDocument(parsed.value, { locator: parsed.locator, file });
  if (ruleSet === null) throw new RuleSetError(problems);
  return ruleSet;
}

/** Reads a YAML rule file (a regular file, at most 4 MiB) synchronously. Throws `RuleSetError`. */
export function ruleSetFromFile(filePath: string): RuleSet {
  const file = path.basename(filePath);
  let text: string;
  try {
    const stat = fs.statSync(filePath);
    if (!stat.isFile()) throw new Error(`${filePath} is not a regular file`);
    if (stat.size > MAX_RULE_FILE_BYTES) throw new Error(`${filePath} is ${stat.size} bytes; rule files are limited to ${MAX_RULE_FILE_BYTES}`);
    text = fs.readFileSync(filePath, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `rule file ${filePath} does not exist` : `cannot read rule file: ${(err as Error).message}`;
    throw new RuleSetError([{ message: reason, at: '', file }]);
  }
  return ruleSetFromYaml(text, file);
}

/** A rule set from whatever a message carries: YAML text or a document object. */
export function ruleSetFromInput(input: unknown): RuleSet {
  return typeof input === 'string' ? ruleSetFromYaml(input) : ruleSetFromDocument(input);
}

/** Convenience: load and compile in one step. */
export function compileYaml(text: string, file?: string): CompiledRuleSet {
  return compileRuleSet(ruleSetFromYaml(text, file));
}
