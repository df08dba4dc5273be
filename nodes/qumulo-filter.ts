// qumulo-filter: matches each QumuloEvent against a compiled rule set (core/rules) and passes on the
// events that match, with the matched rules and their actions. Rules come from the dialog, YAML
// text in the dialog, or a YAML file that is watched and re-read; a `rules` message replaces them
// and a `reload` message (or the node's button) re-reads the configured source. A new rule set is
// swapped in between two events; an invalid one never replaces the last good one.

import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { isNotificationType } from '../core/event';
import { displaySafe } from '../core/display';
import type { QumuloEvent } from '../core/event';
import {
  AttributeEnricher,
  clusterAttributeFetcher,
  compileRuleSet,
  formatProblem,
  ruleSetFromDocument,
  ruleSetFromFile,
  ruleSetFromInput,
  ruleSetFromYaml,
  ruleSetToDocument,
  RuleSetError,
  watchRuleFile,
} from '../core/rules';
import type { CompiledRuleSet, RuleFileWatcher, RuleProblem, RuleSet } from '../core/rules';
import { dump } from 'js-yaml';
import { allowedRuleFile, RuleFileAccessError } from '../core/rules/file-access';
import { adminGuard } from './lib/admin-guard';
import type { QumuloClusterNode } from './lib/cluster';
import { status } from './lib/status';
import { countRuleMatches } from '../core/metrics';

export type RuleSource = 'editor' | 'yaml' | 'file';

interface FilterConfig {
  name?: string;
  source?: RuleSource;
  /** The dialog's rule set: a rule document (`{rules: [...]}`), the same shape as the YAML. */
  rules?: unknown;
  yaml?: string;
  file?: string;
  watch?: boolean | string;
  debounce?: number | string;
  unmatched?: boolean | string;
  cluster?: string;
  enrich?: boolean | string;
  enrichTtl?: number | string;
}

type FilterNodeDef = NodeDef & FilterConfig;

/** What the filter adds to every message it sends. */
export interface RuleSetInfo {
  version: number;
  hash: string;
}

interface ActiveRuleSet {
  compiled: CompiledRuleSet;
  version: number;
  hash: string;
  origin: string;
  buffer: Int32Array;
}

export interface ReloadOutcome {
  ok: boolean;
  changed: boolean;
  version: number;
  hash: string | null;
  rules: number;
  problems: RuleProblem[];
}

interface FilterNode extends Node {
  reloadFromSource(origin: string): ReloadOutcome;
}

const MAX_PROBLEMS_IN_MESSAGE = 10;
const DEFAULT_DEBOUNCE_MS = 250;
const ENRICH_WARNING_INTERVAL_MS = 10_000;

function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  return value === true || value === 'true';
}

function numberOr(value: unknown, fallback: number, min: number): number {
  const n = Number(value);
  return value === undefined || value === null || value === '' || !Number.isFinite(n) || n < min ? fallback : n;
}

/** A message payload the filter can judge. */
function asEvent(payload: unknown): QumuloEvent | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const e = payload as Partial<QumuloEvent>;
  if (!isNotificationType(e.type) || typeof e.path !== 'string' || typeof e.name !== 'string' || typeof e.extension !== 'string' || typeof e.relativePath !== 'string') return null;
  return e as QumuloEvent;
}

function problemsOf(err: unknown): RuleProblem[] {
  if (err instanceof RuleSetError) return err.problems;
  if (err instanceof RuleFileAccessError) return [{ message: err.message, at: '' }];
  return [{ message: err instanceof Error ? err.message : String(err), at: '' }];
}

function describeProblems(problems: RuleProblem[]): string {
  const lines = problems.slice(0, MAX_PROBLEMS_IN_MESSAGE).map(formatProblem);
  if (problems.length > MAX_PROBLEMS_IN_MESSAGE) lines.push(`… and ${problems.length - MAX_PROBLEMS_IN_MESSAGE} more`);
  return lines.join('\n');
}

function resolveRuleFile(RED: NodeAPI, file: string): string {
  const userDir = (RED.settings as { userDir?: string }).userDir;
  return path.isAbsolute(file) ? file : path.resolve(userDir ?? process.cwd(), file);
}

/**
 * Where the editor's "Check" may read rule files: the user directory and the directories listed in
 * settings.js as `qumuloFlow: { ruleFileDirs: [...] }`.
 */
function ruleFileRoots(RED: NodeAPI): { baseDir: string; roots: string[] } {
  const settings = RED.settings as { userDir?: string; qumuloFlow?: { ruleFileDirs?: unknown } };
  const userDir = settings.userDir;
  const extra = settings.qumuloFlow?.ruleFileDirs;
  const listed = Array.isArray(extra) ? extra.filter((d): d is string => typeof d === 'string') : typeof extra === 'string' ? [extra] : [];
  return { baseDir: userDir ?? process.cwd(), roots: [...(userDir ? [userDir] : []), ...listed] };
}

/** Loads the rule set a node configuration points at (throws RuleSetError). */
function loadConfigured(RED: NodeAPI, source: RuleSource, config: { rules?: unknown; yaml?: string; file?: string }): RuleSet {
  switch (source) {
    case 'file':
      if (!config.file || !config.file.trim()) throw new RuleSetError([{ message: 'no rule file configured', at: '' }]);
      return ruleSetFromFile(resolveRuleFile(RED, config.file.trim()));
    case 'yaml':
      return ruleSetFromYaml(config.yaml ?? '');
    default: {
      // Older flows or hand-edited JSON may carry the document as text.
      const rules = typeof config.rules === 'string' ? JSON.parse(config.rules || '{"rules":[]}') : (config.rules ?? { rules: [] });
      return ruleSetFromDocument(rules);
    }
  }
}

type Job = {
  msg: NodeMessageInFlow;
  send: (msg: Array<NodeMessage | null>) => void;
  done: (err?: Error) => void;
  /** Settled enrichment, or a control message (run in order, when it reaches the head). */
  run: () => void;
  ready: boolean;
};

export = function register(RED: NodeAPI): void {
  function QumuloFilterNode(this: FilterNode, config: FilterNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const source: RuleSource = config.source === 'yaml' || config.source === 'file' ? config.source : 'editor';
    const withUnmatched = flag(config.unmatched, false);
    const debounceMs = numberOr(config.debounce, DEFAULT_DEBOUNCE_MS, 0);
    let active: ActiveRuleSet | null = null;
    let version = 0;
    let closed = false;
    let watcher: RuleFileWatcher | null = null;

    const showStatus = (problemCount = 0) => {
      if (closed) return;
      if (problemCount > 0) {
        const kept = active ? `kept v${active.version} · ${active.hash}` : 'no rules active';
        node.status(status.error(`${problemCount} problem${problemCount === 1 ? '' : 's'} in rules (${kept})`));
      } else if (active) {
        const n = active.compiled.stats.enabled;
        node.status(status.ok(`${n} rule${n === 1 ? '' : 's'} · v${active.version} · ${active.hash}`));
      }
    };

    /** Swaps in a new rule set (synchronously, so never in the middle of an event). */
    const install = (ruleSet: RuleSet, origin: string): ReloadOutcome => {
      const compiled = compileRuleSet(ruleSet);
      const changed = active === null || compiled.hash !== active.hash;
      if (changed) {
        version++;
        active = { compiled, version, hash: compiled.hash, origin, buffer: new Int32Array(Math.max(1, compiled.ruleCount)) };
        node.log(`rules v${version} (${compiled.hash}) from ${origin}: ${compiled.stats.enabled} enabled of ${compiled.stats.rules}`);
      }
      showStatus();
      return { ok: true, changed, version: active!.version, hash: active!.hash, rules: compiled.stats.enabled, problems: [] };
    };

    const reject = (problems: RuleProblem[], origin: string): ReloadOutcome => {
      showStatus(problems.length);
      return { ok: false, changed: false, version: active?.version ?? 0, hash: active?.hash ?? null, rules: active?.compiled.stats.enabled ?? 0, problems };
    };

    /** Loads, and on failure reports with node.error (for sources that have no message). */
    const loadAndReport = (load: () => RuleSet, origin: string): ReloadOutcome => {
      let ruleSet: RuleSet;
      try {
        ruleSet = load();
      } catch (err) {
        const outcome = reject(problemsOf(err), origin);
        node.error(`Rules from ${origin} rejected, ${active ? `still using v${active.version} (${active.hash})` : 'no rules active'}:\n${describeProblems(outcome.problems)}`);
        return outcome;
      }
      return install(ruleSet, origin);
    };

    node.reloadFromSource = (origin: string) => loadAndReport(() => loadConfigured(RED, source, config), origin);

    // ---- enrichment (optional): attributes from the cluster for rules on size/owner/group/mode ----
    let enricher: AttributeEnricher | null = null;
    let cluster: QumuloClusterNode | null = null;
    let lastEnrichWarning = 0;
    let enrichFailures = 0;
    if (flag(config.enrich, false)) {
      cluster = config.cluster ? (RED.nodes.getNode(config.cluster) as QumuloClusterNode | null) : null;
      if (cluster?.client) {
        cluster.register(node);
        enricher = new AttributeEnricher(clusterAttributeFetcher(cluster.client), { ttlMs: numberOr(config.enrichTtl, 5, 0) * 1000 });
      } else {
        node.warn(`attribute enrichment is off: ${cluster ? `cluster ${cluster.endpoint}: ${cluster.configError ?? 'not configured'}` : 'no qumulo-cluster selected'}`);
        cluster = null;
      }
    }

    // ---- matching -------------------------------------------------------------------------------
    const evaluate = (msg: NodeMessageInFlow, event: QumuloEvent, send: Job['send']) => {
      const current = active;
      const count = current ? current.compiled.matchInto(event, current.buffer) : 0;
      countRuleMatches(node.id, current?.compiled.summaries ?? [], current?.buffer ?? [], count);
      const out = msg as NodeMessageInFlow & { rules?: unknown; actions?: string[]; ruleset?: RuleSetInfo };
      if (current) out.ruleset = { version: current.version, hash: current.hash };
      if (count === 0) {
        if (withUnmatched) send([null, out]);
        return;
      }
      const rules = new Array(count);
      const actions: string[] = [];
      for (let i = 0; i < count; i++) {
        const summary = current!.compiled.summaries[current!.buffer[i]];
        rules[i] = { name: summary.name, actions: summary.actions.slice(), tags: summary.tags.slice() };
        for (const action of summary.actions) if (!actions.includes(action)) actions.push(action);
      }
      out.rules = rules;
      out.actions = actions;
      send(withUnmatched ? [out, null] : [out]);
    };

    // Messages run in arrival order. Normally that is immediate; while an enrichment is pending,
    // later messages (events and rule changes alike) wait behind it so order is kept.
    const queue: Job[] = [];
    const drain = () => {
      while (queue.length > 0 && queue[0].ready) queue.shift()!.run();
    };

    const handleControl = (msg: NodeMessageInFlow, done: Job['done']) => {
      if (msg.topic === 'reload') {
        const outcome = node.reloadFromSource('reload message');
        if (outcome.ok) done();
        // loadAndReport already logged the problems with node.error; still tell Catch nodes.
        else done(new Error(`reload rejected: ${describeProblems(outcome.problems)}`));
        return;
      }
      let ruleSet: RuleSet;
      try {
        ruleSet = ruleSetFromInput(msg.payload);
      } catch (err) {
        const outcome = reject(problemsOf(err), 'message');
        done(new Error(`Rules in msg.payload rejected, ${active ? `still using v${active.version} (${active.hash})` : 'no rules active'}:\n${describeProblems(outcome.problems)}`));
        return;
      }
      install(ruleSet, 'message');
      done();
    };

    node.on('input', (msg: NodeMessageInFlow, send: Job['send'], done: Job['done']) => {
      const isControl = msg.topic === 'reload' || msg.topic === 'rules';
      const event = isControl ? null : asEvent(msg.payload);
      if (!isControl && event === null) {
        done(new Error('msg.payload is not a Qumulo event (expected type, path, name, extension… as sent by qumulo-watch); to change rules send msg.topic "rules" or "reload"'));
        return;
      }
      const needsEnrichment = event !== null && enricher !== null && event.attributes === undefined && active !== null && active.compiled.needsAttributes;
      if (queue.length === 0 && !needsEnrichment) {
        if (isControl) handleControl(msg, done);
        else {
          evaluate(msg, event!, send);
          done();
        }
        return;
      }
      const job: Job = { msg, send, done, ready: !needsEnrichment, run: () => (isControl ? handleControl(msg, done) : (evaluate(msg, event!, send), done())) };
      queue.push(job);
      if (needsEnrichment) {
        enricher!.enrich(event!).then(
          (enriched) => {
            msg.payload = enriched;
            job.run = () => {
              evaluate(msg, enriched, send);
              done();
            };
          },
          (err: unknown) => {
            enrichFailures++;
            const now = Date.now();
            if (now - lastEnrichWarning >= ENRICH_WARNING_INTERVAL_MS) {
              lastEnrichWarning = now;
              node.warn(displaySafe(`could not fetch attributes of ${event!.path} (${enrichFailures} failures so far): ${(err as Error).message}; evaluated without them`));
            }
          },
        ).finally(() => {
          job.ready = true;
          if (!closed) drain();
        });
      } else {
        drain();
      }
    });

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      watcher?.close();
      watcher = null;
      cluster?.deregister(node);
      // Whatever is still waiting for attributes is evaluated now, without them.
      for (const job of queue.splice(0)) job.run();
      if (removed) node.status({});
      done();
    });

    // ---- start ----------------------------------------------------------------------------------
    node.reloadFromSource(source === 'file' ? `file ${config.file ?? ''}` : source === 'yaml' ? 'YAML in the dialog' : 'the dialog');
    if (source === 'file' && flag(config.watch, true) && config.file && config.file.trim()) {
      const file = resolveRuleFile(RED, config.file.trim());
      watcher = watchRuleFile(file, {
        debounceMs,
        onChange: () => {
          if (!closed) node.reloadFromSource(`file ${config.file} (changed)`);
        },
        onError: (err) => node.warn(`watching ${file} failed (${err.message}); polling it every second instead`),
      });
    }
  }

  RED.nodes.registerType('qumulo-filter', QumuloFilterNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);

  // ---- admin endpoints: the dialog's "Check" and the node's reload button --------------------------
  const needsWrite = RED.auth.needsPermission('qumulo-filter.write');

  RED.httpAdmin.post('/qumulo-filter/:id/reload', adminGuard, needsWrite, (req, res) => {
    const target = RED.nodes.getNode(String(req.params.id)) as FilterNode | null;
    if (!target || target.type !== 'qumulo-filter' || typeof target.reloadFromSource !== 'function') {
      res.status(404).json({ error: 'no deployed qumulo-filter with this id (deploy the node first)' });
      return;
    }
    const outcome = target.reloadFromSource('reload button');
    res.status(outcome.ok ? 200 : 400).json(outcome);
  });

  /**
   * Validates what the dialog holds without deploying it and converts between the visual editor and
   * YAML: body `{source, rules?, yaml?, file?}` -> `{ok, rules, hash, problems, document?, yaml?}`.
   */
  RED.httpAdmin.post('/qumulo-filter/check', adminGuard, needsWrite, (req, res) => {
    const body = (req.body ?? {}) as { source?: RuleSource; rules?: unknown; yaml?: string; file?: string };
    const source: RuleSource = body.source === 'yaml' || body.source === 'file' ? body.source : 'editor';
    try {
      let request = body;
      if (source === 'file' && typeof body.file === 'string' && body.file.trim()) {
        // The request names the file: only allowed rule files are read (core/rules/file-access.ts).
        const { baseDir, roots } = ruleFileRoots(RED);
        request = { ...body, file: allowedRuleFile(body.file.trim(), baseDir, roots) };
      } else if (source === 'file' && body.file !== undefined && typeof body.file !== 'string') {
        throw new RuleSetError([{ message: 'the rule file must be a path', at: '' }]);
      }
      const ruleSet = loadConfigured(RED, source, request);
      const compiled = compileRuleSet(ruleSet);
      const document = ruleSetToDocument(ruleSet);
      res.json({ ok: true, rules: compiled.stats.enabled, total: compiled.stats.rules, hash: compiled.hash, problems: [], document, yaml: dump(document, { lineWidth: 120 }) });
    } catch (err) {
      res.json({ ok: false, problems: problemsOf(err).map((p) => ({ ...p, text: formatProblem(p) })) });
    }
  });
};
