// The rule set a qumulo-filter node runs with: which source it comes from, how it is loaded and
// swapped in (an invalid one never replaces the last good one), what a matched message carries,
// and the "Check" the editor asks for. Pure: the node adapter only wires messages and files to it.

import * as path from 'node:path';
import { dump } from 'js-yaml';
import type { QumuloEvent } from '../event';
import { ruleSetToDocument } from './canonical';
import { compileRuleSet, type CompiledRuleSet } from './compile';
import { allowedRuleFile, RuleFileAccessError } from './file-access';
import { ruleSetFromDocument, ruleSetFromFile, ruleSetFromYaml } from './index';
import { formatProblem, RuleSetError, type RuleProblem, type RuleSet } from './types';

export type RuleSource = 'editor' | 'yaml' | 'file';

/** Where the rules of a node configuration (or a Check request) come from. */
export interface RuleSourceConfig {
  source?: unknown;
  /** The dialog's rule set: a rule document (`{rules: [...]}`), the same shape as the YAML. */
  rules?: unknown;
  yaml?: string;
  file?: string;
}

/** What the filter adds to every message it sends. */
export interface RuleSetInfo {
  version: number;
  hash: string;
}

export interface ReloadOutcome {
  ok: boolean;
  changed: boolean;
  version: number;
  hash: string | null;
  rules: number;
  problems: RuleProblem[];
}

/** What a matched message carries: `rules`, `actions` and `ruleset`. */
export interface MatchTarget {
  rules?: unknown;
  actions?: string[];
  ruleset?: RuleSetInfo;
}

const MAX_PROBLEMS_IN_MESSAGE = 10;

export function ruleSourceOf(value: unknown): RuleSource {
  return value === 'yaml' || value === 'file' ? value : 'editor';
}

/** A relative rule file is relative to Node-RED's user directory. */
export function resolveRuleFile(file: string, baseDir: string): string {
  return path.isAbsolute(file) ? file : path.resolve(baseDir, file);
}

/** Loads the rule set a configuration points at (throws RuleSetError). */
export function loadRuleSet(config: RuleSourceConfig, baseDir: string): RuleSet {
  switch (ruleSourceOf(config.source)) {
    case 'file':
      if (!config.file || !config.file.trim()) throw new RuleSetError([{ message: 'no rule file configured', at: '' }]);
      return ruleSetFromFile(resolveRuleFile(config.file.trim(), baseDir));
    case 'yaml':
      return ruleSetFromYaml(config.yaml ?? '');
    default: {
      // Older flows or hand-edited JSON may carry the document as text.
      const rules = typeof config.rules === 'string' ? JSON.parse(config.rules || '{"rules":[]}') : (config.rules ?? { rules: [] });
      return ruleSetFromDocument(rules);
    }
  }
}

export function problemsOf(err: unknown): RuleProblem[] {
  if (err instanceof RuleSetError) return err.problems;
  if (err instanceof RuleFileAccessError) return [{ message: err.message, at: '' }];
  return [{ message: err instanceof Error ? err.message : String(err), at: '' }];
}

export function describeProblems(problems: RuleProblem[]): string {
  const lines = problems.slice(0, MAX_PROBLEMS_IN_MESSAGE).map(formatProblem);
  if (problems.length > MAX_PROBLEMS_IN_MESSAGE) lines.push(`… and ${problems.length - MAX_PROBLEMS_IN_MESSAGE} more`);
  return lines.join('\n');
}

interface Active {
  compiled: CompiledRuleSet;
  info: RuleSetInfo;
  buffer: Int32Array;
}

/**
 * The active rule set of one filter node, with a version that counts real changes. A new set is
 * swapped in synchronously, so never in the middle of an event.
 */
export class ActiveRules {
  private active: Active | null = null;
  private version = 0;

  /**
   * @param log where swaps are logged
   * @param onEvaluated told of every evaluation (the matched rules' indexes into `rules`), e.g. for metrics
   */
  constructor(
    private readonly log: (text: string) => void = () => undefined,
    private readonly onEvaluated: (rules: ArrayLike<{ name: string }>, indexes: ArrayLike<number>, count: number) => void = () => undefined,
  ) {}

  get needsAttributes(): boolean {
    return this.active !== null && this.active.compiled.needsAttributes;
  }

  /** "still using v3 (abc123)" / "no rules active", for rejection messages. */
  get keptText(): string {
    return this.active ? `still using v${this.active.info.version} (${this.active.info.hash})` : 'no rules active';
  }

  install(ruleSet: RuleSet, origin: string): ReloadOutcome {
    const compiled = compileRuleSet(ruleSet);
    const changed = this.active === null || compiled.hash !== this.active.info.hash;
    if (changed) {
      this.version++;
      this.active = { compiled, info: { version: this.version, hash: compiled.hash }, buffer: new Int32Array(Math.max(1, compiled.ruleCount)) };
      this.log(`rules v${this.version} (${compiled.hash}) from ${origin}: ${compiled.stats.enabled} enabled of ${compiled.stats.rules}`);
    }
    const { version, hash } = this.active!.info;
    return { ok: true, changed, version, hash, rules: compiled.stats.enabled, problems: [] };
  }

  /** The outcome of a rule set that was refused: the active one stays. */
  rejected(problems: RuleProblem[]): ReloadOutcome {
    const active = this.active;
    return { ok: false, changed: false, version: active?.info.version ?? 0, hash: active?.info.hash ?? null, rules: active?.compiled.stats.enabled ?? 0, problems };
  }

  /**
   * Matches `event` and writes the result onto `target` (the message): `ruleset` always (when
   * rules are active), `rules` and `actions` when any rule matched. Returns whether one did.
   */
  annotate(target: MatchTarget, event: QumuloEvent): boolean {
    const current = this.active;
    if (current === null) {
      this.onEvaluated([], [], 0);
      return false;
    }
    target.ruleset = current.info;
    const count = current.compiled.matchInto(event, current.buffer);
    this.onEvaluated(current.compiled.summaries, current.buffer, count);
    if (count === 0) return false;
    const rules = new Array(count);
    const actions: string[] = [];
    for (let i = 0; i < count; i++) {
      const summary = current.compiled.summaries[current.buffer[i]];
      rules[i] = { name: summary.name, actions: summary.actions.slice(), tags: summary.tags.slice() };
      for (const action of summary.actions) if (!actions.includes(action)) actions.push(action);
    }
    target.rules = rules;
    target.actions = actions;
    return true;
  }

  /** The node's status: problems first (with what is kept), else the active set; null before any. */
  status(problemCount = 0): { level: 'ok' | 'error'; text: string } | null {
    const active = this.active;
    if (problemCount > 0) {
      const kept = active ? `kept v${active.info.version} · ${active.info.hash}` : 'no rules active';
      return { level: 'error', text: `${problemCount} problem${problemCount === 1 ? '' : 's'} in rules (${kept})` };
    }
    if (!active) return null;
    const n = active.compiled.stats.enabled;
    return { level: 'ok', text: `${n} rule${n === 1 ? '' : 's'} · v${active.info.version} · ${active.info.hash}` };
  }
}

/**
 * Where the editor's "Check" may read rule files: the user directory and the directories listed in
 * settings.js as `qumuloFlow: { ruleFileDirs: [...] }`.
 */
export function ruleFileRoots(settings: { userDir?: string; qumuloFlow?: { ruleFileDirs?: unknown } }, cwd = process.cwd()): { baseDir: string; roots: string[] } {
  const userDir = settings.userDir;
  const extra = settings.qumuloFlow?.ruleFileDirs;
  const listed = Array.isArray(extra) ? extra.filter((d): d is string => typeof d === 'string') : typeof extra === 'string' ? [extra] : [];
  return { baseDir: userDir ?? cwd, roots: [...(userDir ? [userDir] : []), ...listed] };
}

/**
 * The editor's Check: validates what the dialog holds without deploying it and converts between
 * the visual editor and YAML: `{source, rules?, yaml?, file?}` -> `{ok, rules, hash, problems,
 * document?, yaml?}`. A file the request names is read only when allowed (file-access.ts).
 */
export function checkRules(body: RuleSourceConfig, where: { baseDir: string; roots: string[] }): Record<string, unknown> {
  try {
    let request = body;
    if (ruleSourceOf(body.source) === 'file' && typeof body.file === 'string' && body.file.trim()) {
      request = { ...body, file: allowedRuleFile(body.file.trim(), where.baseDir, where.roots) };
    } else if (ruleSourceOf(body.source) === 'file' && body.file !== undefined && typeof body.file !== 'string') {
      throw new RuleSetError([{ message: 'the rule file must be a path', at: '' }]);
    }
    const ruleSet = loadRuleSet(request, where.baseDir);
    const compiled = compileRuleSet(ruleSet);
    const document = ruleSetToDocument(ruleSet);
    return { ok: true, rules: compiled.stats.enabled, total: compiled.stats.rules, hash: compiled.hash, problems: [], document, yaml: dump(document, { lineWidth: 120 }) };
  } catch (err) {
    return { ok: false, problems: problemsOf(err).map((p) => ({ ...p, text: formatProblem(p) })) };
  }
}
