// Process-wide Prometheus metrics of the bundle (prom-client, one registry per Node-RED process).
// The nodes and the core call the small record*/count* functions below at the places where a
// result already exists (an event arrived, a rule matched, a guard decided, an action finished, a
// REST request answered), so each hook is one line. Labels are bounded: node ids, rule names and
// stream keys come from the configuration, REST paths are reduced to endpoint templates, and no
// file path is ever a label. QUMULO_FLOW_METRICS=off turns every hook into a no-op (for measuring
// what the metrics cost).

import { Counter, Gauge, Registry } from 'prom-client';
import type { GuardDecisionLike, RecentTrip } from './recent';
import { recent } from './recent';
import { FastCounter, FastHistogram } from './fast';

export { FastCounter, FastHistogram } from './fast';

export { recent } from './recent';
export type { RecentError, RecentTrip } from './recent';

export let metricsEnabled = !/^(off|false|0|no)$/i.test(process.env.QUMULO_FLOW_METRICS ?? '');

/** Turns the hooks on or off at run time (bench:redis alternates it within one process to measure them). */
export function setMetricsEnabled(on: boolean): void {
  metricsEnabled = on;
}

/** The one registry of this process: what GET /qumulo-flow/metrics serves. */
export const registry = new Registry();

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const REST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const watchEvents = new FastCounter('qumulo_flow_watch_events_total', 'Change-notify events received, per watch node and notification type', ['node', 'type'], registry);
export const watchReconnects = new Counter({ name: 'qumulo_flow_watch_reconnects_total', help: 'Change-notify streams lost (each is followed by a reconnect), per watch node', labelNames: ['node'], registers: [registry] });
export const watchGaps = new Counter({ name: 'qumulo_flow_watch_gaps_total', help: 'Gaps in the change-notify stream (events may have been missed), per watch node', labelNames: ['node'], registers: [registry] });
export const healRuns = new Counter({ name: 'qumulo_flow_heal_runs_total', help: 'Gap healing runs, per watch node and outcome', labelNames: ['node', 'outcome'], registers: [registry] });
export const healFiles = new Counter({ name: 'qumulo_flow_heal_files_found_total', help: 'Files found by gap healing, per watch node', labelNames: ['node'], registers: [registry] });

export const redisAppended = new FastCounter('qumulo_flow_redis_appended_total', 'Entries appended to a Redis stream', ['stream'], registry);
export const redisRead = new FastCounter('qumulo_flow_redis_read_total', 'Entries delivered from a Redis stream to the flow (redeliveries included)', ['stream', 'group'], registry);
export const redisAcked = new FastCounter('qumulo_flow_redis_acked_total', 'Entries acknowledged (XACK)', ['stream', 'group'], registry);
export const redisFailed = new FastCounter('qumulo_flow_redis_failed_total', 'Failed deliveries (the entry stays pending and is retried)', ['stream', 'group'], registry);
export const redisDeadLettered = new FastCounter('qumulo_flow_redis_dead_lettered_total', 'Entries moved to the dead-letter stream', ['stream', 'group'], registry);
export const redisPending = new Gauge({ name: 'qumulo_flow_redis_pending', help: 'Entries delivered to the group and not acknowledged (XINFO GROUPS)', labelNames: ['stream', 'group'], registers: [registry] });
export const redisLag = new Gauge({ name: 'qumulo_flow_redis_lag', help: 'Entries not yet delivered to the group (XINFO GROUPS, Redis 7+)', labelNames: ['stream', 'group'], registers: [registry] });

export const ruleMatches = new FastCounter('qumulo_flow_rule_matches_total', 'Events matched, per filter node and rule name', ['node', 'rule'], registry);
export const filterEvaluated = new FastCounter('qumulo_flow_filter_events_total', 'Events evaluated by a filter node, per result (matched/unmatched)', ['node', 'result'], registry);

export const guardDecisions = new FastCounter('qumulo_flow_guard_decisions_total', 'Loop guard decisions, per guard node and verdict (passed/suppressed/tripped)', ['node', 'verdict'], registry);

export const actions = new FastCounter('qumulo_flow_actions_total', 'Action results, per node, action and outcome (done/skipped/failed/dry-run)', ['node', 'action', 'outcome', 'cluster'], registry);
export const eventToAction = new FastHistogram('qumulo_flow_event_to_action_seconds', 'Time from the arrival of an event at the watch to the end of its action', ['action'], LATENCY_BUCKETS, registry);

export const watchEventAge = new FastHistogram(
  'qumulo_flow_watch_event_age_seconds',
  'Age of an event when its action finished (arrival at the watch to the end of the action), per watch node (its id where the watch runs in this process, else the event\'s watchId)',
  ['node'],
  LATENCY_BUCKETS,
  registry,
);

export const restRequests = new FastCounter('qumulo_flow_rest_requests_total', 'Qumulo REST requests (each attempt), per endpoint template, method and status (error = no answer)', ['endpoint', 'method', 'status'], registry);
export const restLatency = new FastHistogram('qumulo_flow_rest_request_seconds', 'Qumulo REST request latency, per endpoint template and method', ['endpoint', 'method'], REST_BUCKETS, registry);

export const auditRecords = new Counter({ name: 'qumulo_flow_audit_records_total', help: 'Audit records written durably', registers: [registry] });
export const auditFailures = new Counter({ name: 'qumulo_flow_audit_failures_total', help: 'Audit writes that failed (the message was not passed on)', registers: [registry] });

/** Where the all-stop gauge reads from at scrape time (set by the admin routes). */
let allStopSource: () => Array<{ cluster: string; active: boolean }> = () => [];
export function setAllStopSource(source: () => Array<{ cluster: string; active: boolean }>): void {
  allStopSource = source;
}
export const allStopActive = new Gauge({
  name: 'qumulo_flow_all_stop_active',
  help: 'All-stop state per cluster (host:port): 1 = active, every action refused',
  labelNames: ['cluster'],
  registers: [registry],
  collect() {
    this.reset();
    for (const { cluster, active } of allStopSource()) this.set({ cluster }, active ? 1 : 0);
  },
});

/**
 * Creates a node's event-only series at 0 (reconnects, gaps, healing for a watch; the verdicts for
 * a loop guard), so the first such event shows in rate()/increase() and in alerts on them: a
 * series that first appears with the value 1 looks to Prometheus like no increase at all.
 * Called for the deployed nodes before each scrape.
 */
export function declareNodeSeries(type: string, node: string): void {
  if (!metricsEnabled) return;
  if (type === 'qumulo-watch') {
    watchReconnects.inc({ node }, 0);
    watchGaps.inc({ node }, 0);
    healFiles.inc({ node }, 0);
    for (const outcome of ['healed', 'failed']) healRuns.inc({ node, outcome }, 0);
  } else if (type === 'qumulo-loop-guard') {
    for (const verdict of ['passed', 'suppressed', 'tripped']) guardDecisions.declare([node, verdict]);
  }
}

// ----- hooks (one call at each place a result already exists) ----------------------------------

export function countWatchEvent(node: string, type: string): void {
  if (metricsEnabled) watchEvents.add([node, type]);
}

/** A watch's events carry its watchId; this maps it back to the watch node (bounded: one per watch). */
const watchNodes = new Map<string, string>();
const MAX_WATCHES = 1000;

/** Called by the watch node as it sends an event: lets an action's result name the watch node. */
export function noteWatchNode(watchId: unknown, node: string): void {
  if (!metricsEnabled || typeof watchId !== 'string' || watchNodes.get(watchId) === node) return;
  if (watchNodes.size >= MAX_WATCHES && !watchNodes.has(watchId)) return;
  watchNodes.set(watchId, node);
}

export function countWatchReconnect(node: string): void {
  if (metricsEnabled) watchReconnects.inc({ node });
}

export function countWatchGap(node: string): void {
  if (metricsEnabled) watchGaps.inc({ node });
}

export function countHeal(node: string, result: { outcome: string; entries?: number }): void {
  if (!metricsEnabled) return;
  healRuns.inc({ node, outcome: result.outcome });
  if (result.entries) healFiles.inc({ node }, result.entries);
}

export function countRedis(what: 'read' | 'acked' | 'failed' | 'dead-lettered', stream: string, group: string, n = 1): void {
  if (!metricsEnabled) return;
  const counter = what === 'read' ? redisRead : what === 'acked' ? redisAcked : what === 'failed' ? redisFailed : redisDeadLettered;
  counter.add([stream, group], n);
}

export function countRedisAppended(stream: string, n = 1): void {
  if (metricsEnabled) redisAppended.add([stream], n);
}

export function setRedisBacklog(stream: string, group: string, pending: number | undefined, lag: number | null | undefined): void {
  if (!metricsEnabled) return;
  if (typeof pending === 'number') redisPending.set({ stream, group }, pending);
  if (typeof lag === 'number') redisLag.set({ stream, group }, lag);
  recent.noteBacklog(stream, group, pending, lag);
}

/** A filter's result for one event: the first `count` entries of `indexes` name the matched rules. */
export function countRuleMatches(node: string, rules: ArrayLike<{ name: string }>, indexes: ArrayLike<number>, count: number): void {
  if (!metricsEnabled) return;
  for (let i = 0; i < count; i++) ruleMatches.add([node, rules[indexes[i]].name]);
  filterEvaluated.add([node, count > 0 ? 'matched' : 'unmatched']);
}

/** A loop guard's decision; trips are also kept (with their chain history) for the sidebar. */
export function recordGuardDecision(node: string, decision: GuardDecisionLike, event: { path?: string }): void {
  if (!metricsEnabled) return;
  guardDecisions.add([node, decision.verdict]);
  if (decision.verdict === 'tripped') recent.noteTrip(node, decision, event);
}

export interface ActionResultLike {
  action: string;
  outcome: string;
  path?: string;
  detail?: string;
  error?: { message?: string; status?: number };
  /** Set on a message that joined another message's action on the same file. */
  joined?: boolean;
}

/** An action node's result for one input message (and the event's age, when it has one). */
export function recordActionResult(node: string, cluster: string, result: ActionResultLike, event?: { receivedAt?: unknown; watchId?: unknown } | null): void {
  if (!metricsEnabled) return;
  // A message that joined another's action (per-file coalescing) is counted as such, not twice as done.
  const joined = result.joined === true;
  actions.add([node, result.action, joined ? 'joined' : result.outcome, cluster]);
  const receivedAt = event?.receivedAt;
  if (typeof receivedAt === 'number' && receivedAt > 0) {
    const age = Math.max(0, Date.now() - receivedAt) / 1000;
    eventToAction.observe([result.action], age);
    // Per watch too (the sidebar's lag): a joined message's event waited as long as any other.
    const watchId = event?.watchId;
    if (typeof watchId === 'string') watchEventAge.observe([watchNodes.get(watchId) ?? watchId], age);
  }
  if (result.outcome === 'failed' && !joined) recent.noteError(node, `${result.action} failed: ${result.error?.message ?? result.detail ?? 'error'}`, result.path);
}

/** One REST attempt. `status` is the HTTP status, or null when no answer came (network, timeout). */
export function observeRest(method: string, pathAndQuery: string, status: number | null, seconds: number): void {
  if (!metricsEnabled) return;
  const endpoint = endpointTemplate(pathAndQuery);
  restRequests.add([endpoint, method, status === null ? 'error' : String(status)]);
  restLatency.observe([endpoint, method], seconds);
}

const MAX_ENDPOINTS = 200;
const knownEndpoints = new Set<string>();

/**
 * A REST path reduced to a bounded label: the query dropped, and every segment that names a file
 * or an object (a path reference, a number, an id) replaced by `:ref`, e.g.
 * `/v1/files/%2Fdata%2Fa.pdf/info/attributes` → `/v1/files/:ref/info/attributes`. Past 200
 * distinct templates, `other`.
 */
export function endpointTemplate(pathAndQuery: string): string {
  const query = pathAndQuery.indexOf('?');
  const pathOnly = query < 0 ? pathAndQuery : pathAndQuery.slice(0, query);
  let template: string;
  if (pathOnly.startsWith(FILES_PREFIX)) {
    // The common case, without splitting: /v1/files/<ref>/rest…
    const end = pathOnly.indexOf('/', FILES_PREFIX.length);
    if (end < 0) template = `${FILES_PREFIX}:ref`;
    else {
      const tail = pathOnly.slice(end);
      let reduced = fileTails.get(tail);
      if (reduced === undefined) {
        reduced = `${FILES_PREFIX}:ref${reduceSegments(tail)}`;
        if (fileTails.size < MAX_ENDPOINTS) fileTails.set(tail, reduced);
      }
      template = reduced;
    }
  } else {
    template = reduceSegments(pathOnly);
  }
  if (knownEndpoints.has(template)) return template;
  if (knownEndpoints.size >= MAX_ENDPOINTS) return 'other';
  knownEndpoints.add(template);
  return template;
}

const FILES_PREFIX = '/v1/files/';
/** `/info/attributes` → its template: the few distinct tails after a file reference. */
const fileTails = new Map<string, string>();
const ID_LIKE = /[%:]|^\d+$|^[0-9a-f-]{16,}$/i;

function reduceSegments(pathOnly: string): string {
  const segments = pathOnly.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i];
    const previous = segments[i - 1];
    if (previous === 'files' || previous === 'snapshots' || segment.length > 40 || ID_LIKE.test(segment)) segments[i] = ':ref';
  }
  return segments.join('/');
}

export type { GuardDecisionLike };
