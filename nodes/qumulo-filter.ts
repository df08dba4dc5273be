// qumulo-filter: matches each QumuloEvent against a compiled rule set (core/rules) and passes on the
// events that match, with the matched rules and their actions. Rules come from the dialog, YAML
// text in the dialog, or a YAML file that is watched and re-read; a `rules` message replaces them
// and a `reload` message (or the node's button) re-reads the configured source. A new rule set is
// swapped in between two events; an invalid one never replaces the last good one (core/rules/active.ts).

import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { QumuloEvent } from '../core/event';
import { displaySafe } from '../core/display';
import { asEvent, MATCHED_FIELDS } from '../core/message';
import { ArrivalOrder } from '../core/ordered';
import { AttributeEnricher, clusterAttributeFetcher, ruleSetFromInput, watchRuleFile, type RuleFileWatcher, type RuleSet } from '../core/rules';
import { ActiveRules, checkRules, describeProblems, loadRuleSet, problemsOf, resolveRuleFile, ruleFileRoots, ruleSourceOf, type MatchTarget, type ReloadOutcome, type RuleSourceConfig } from '../core/rules/active';
import { flag, numberOr } from '../core/settings';
import { WindowBudget } from '../core/timing';
import { adminGuard } from './lib/admin-guard';
import type { QumuloClusterNode } from './lib/cluster';
import { registerNodeType } from './lib/runtime';
import { statusDot } from './lib/status';
import { countRuleMatches } from '../core/metrics';

type FilterNodeDef = NodeDef & RuleSourceConfig & { watch?: unknown; debounce?: unknown; unmatched?: unknown; cluster?: string; enrich?: unknown; enrichTtl?: unknown };
type FilterNode = Node & { reloadFromSource(origin: string): ReloadOutcome };
type Send = (msg: Array<NodeMessage | null>) => void;
type Done = (err?: Error) => void;

export = function register(RED: NodeAPI): void {
  function QumuloFilterNode(this: FilterNode, config: FilterNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const baseDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const withUnmatched = flag(config.unmatched, false);
    const rules = new ActiveRules((text) => node.log(text), (matched, indexes, count) => countRuleMatches(node.id, matched, indexes, count));
    // Messages run in arrival order: while an enrichment is pending, later ones wait behind it.
    const order = new ArrivalOrder();
    let closed = false;
    let watcher: RuleFileWatcher | null = null;

    const apply = (load: () => RuleSet, origin: string, reportFailure: (outcome: ReloadOutcome, kept: string) => void): ReloadOutcome => {
      let outcome: ReloadOutcome;
      try {
        outcome = rules.install(load(), origin);
      } catch (err) {
        outcome = rules.rejected(problemsOf(err));
        reportFailure(outcome, rules.keptText);
      }
      const shown = rules.status(outcome.problems.length);
      if (shown && !closed) node.status(statusDot(shown));
      return outcome;
    };
    node.reloadFromSource = (origin) => apply(() => loadRuleSet(config, baseDir), origin, (o, kept) => node.error(`Rules from ${origin} rejected, ${kept}:\n${describeProblems(o.problems)}`));

    // Attributes from the cluster (optional), for rules on size/owner/group/mode.
    const cluster = flag(config.enrich, false) && config.cluster ? (RED.nodes.getNode(config.cluster) as QumuloClusterNode | null) : null;
    const enricher = cluster?.client ? new AttributeEnricher(clusterAttributeFetcher(cluster.client), { ttlMs: numberOr(config.enrichTtl, 5, 0) * 1000 }) : null;
    if (enricher) cluster!.register(node);
    else if (flag(config.enrich, false)) node.warn(`attribute enrichment is off: ${cluster ? `cluster ${cluster.endpoint}: ${cluster.configError ?? 'not configured'}` : 'no qumulo-cluster selected'}`);
    const enrichWarnings = new WindowBudget(1, 10_000);
    let enrichFailures = 0;

    const evaluate = (msg: NodeMessageInFlow & MatchTarget, event: QumuloEvent, send: Send, done: Done) => {
      if (rules.annotate(msg, event)) send(withUnmatched ? [msg, null] : [msg]);
      else if (withUnmatched) send([null, msg]);
      done();
    };
    const control = (msg: NodeMessageInFlow, done: Done) => {
      if (msg.topic === 'reload') {
        const outcome = node.reloadFromSource('reload message');
        // reloadFromSource already logged the problems with node.error; still tell Catch nodes.
        done(outcome.ok ? undefined : new Error(`reload rejected: ${describeProblems(outcome.problems)}`));
        return;
      }
      let failure: Error | undefined;
      apply(() => ruleSetFromInput(msg.payload), 'message', (o, kept) => (failure = new Error(`Rules in msg.payload rejected, ${kept}:\n${describeProblems(o.problems)}`)));
      done(failure);
    };

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (msg.topic === 'reload' || msg.topic === 'rules') return order.run(() => control(msg, done));
      const event = asEvent(msg.payload, MATCHED_FIELDS);
      if (event === null) return done(new Error('msg.payload is not a Qumulo event (expected type, path, name, extension… as sent by qumulo-watch); to change rules send msg.topic "rules" or "reload"'));
      if (enricher === null || event.attributes !== undefined || !rules.needsAttributes) return order.run(() => evaluate(msg, event, send, done));
      const settle = order.reserve(() => evaluate(msg, event, send, done));
      enricher.enrich(event).then(
        (enriched) =>
          settle(() => {
            msg.payload = enriched;
            evaluate(msg, enriched, send, done);
          }),
        (err: unknown) => {
          enrichFailures++;
          if (enrichWarnings.take()) node.warn(displaySafe(`could not fetch attributes of ${event.path} (${enrichFailures} failures so far): ${(err as Error).message}; evaluated without them`));
          settle();
        },
      );
    });

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      watcher?.close();
      if (enricher) cluster!.deregister(node);
      // Whatever is still waiting for attributes is evaluated now, without them.
      order.flush();
      if (removed) node.status({});
      done();
    });

    const source = ruleSourceOf(config.source);
    node.reloadFromSource(source === 'file' ? `file ${config.file ?? ''}` : source === 'yaml' ? 'YAML in the dialog' : 'the dialog');
    if (source === 'file' && flag(config.watch, true) && config.file && config.file.trim()) {
      const file = resolveRuleFile(config.file.trim(), baseDir);
      const onChange = () => {
        if (!closed) node.reloadFromSource(`file ${config.file} (changed)`);
      };
      watcher = watchRuleFile(file, { debounceMs: numberOr(config.debounce, 250, 0), onChange, onError: (err) => node.warn(`watching ${file} failed (${err.message}); polling it every second instead`) });
    }
  }

  registerNodeType(RED, 'qumulo-filter', QumuloFilterNode);

  // Admin endpoints: the node's reload button and the dialog's "Check" (validate / convert).
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
  RED.httpAdmin.post('/qumulo-filter/check', adminGuard, needsWrite, (req, res) => {
    res.json(checkRules((req.body ?? {}) as RuleSourceConfig, ruleFileRoots(RED.settings as Parameters<typeof ruleFileRoots>[0])));
  });
};
