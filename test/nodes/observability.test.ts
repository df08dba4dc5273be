// Issue 20 in an embedded Node-RED (adminAuth on) with the simulator and a real redis-server:
// a known input runs through watch → Redis → loop guard → filter → lock → audit, then
// GET /qumulo-flow/metrics is scraped and parsed with a Prometheus text-format parser and every
// series is checked against the input (events, rule matches, guard verdicts, actions, Redis).
// Also: who may scrape (anonymous refused, the configured bearer token and Node-RED tokens
// accepted), the sidebar's state, the sidebar's all-stop reset permission, and the audit export.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QumuloClient } from '../../core/qumulo/client';
import { watchRegistry } from '../../core/watch/registry';
import { type EmbeddedRuntime, type FlowNode, startRuntimeWithUsers } from '../support/runtime';
import { type TestSim, startSim } from '../support/sim';
import { type RedisServer, startRedisServer, uniquePrefix } from '../support/redis-server';
import { waitUntil } from '../support/shipping';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheusTextFormat = require('parse-prometheus-text-format') as (text: string) => Family[];

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
}

const SCRAPE_TOKEN = 'scrape-token-3b9d1e';
const PDFS = ['a.pdf', 'b.pdf', 'c.pdf', 'd.pdf'];
const OTHERS = ['e.txt', 'f.txt'];

/** The sum of a family's samples whose labels include `labels`. */
function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  assert.ok(family, `metric ${name} missing`);
  return family.metrics
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.value ?? m.count ?? 0), 0);
}

/** Whether a family has a sample whose labels include `labels` (value() reads a missing one as 0). */
function has(families: Family[], name: string, labels: Record<string, string>): boolean {
  const family = families.find((f) => f.name === name);
  return family !== undefined && family.metrics.some((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

describe('observability: metrics endpoint, sidebar state, audit export (issue 20)', function () {
  this.timeout(60_000);
  let sim: TestSim;
  let redis: RedisServer;
  let runtime: EmbeddedRuntime;
  let adminToken: string;
  let viewerToken: string;
  const stream = 'events';
  const prefix = uniquePrefix('obs');
  const started = new Date();

  async function token(username: string, password: string, scope: string): Promise<string> {
    const res = await runtime.request<{ access_token?: string }>('POST', '/auth/token', { client_id: 'node-red-admin', grant_type: 'password', scope, username, password });
    assert.equal(res.status, 200, res.text);
    return res.body.access_token!;
  }

  async function scrape(headers: Record<string, string> = { Authorization: `Bearer ${SCRAPE_TOKEN}` }) {
    return runtime.request('GET', '/qumulo-flow/metrics', undefined, { Accept: 'text/plain', ...headers });
  }

  before(async function () {
    this.timeout(60_000);
    sim = await startSim({ files: { 'incoming/': '' } });
    redis = await startRedisServer();
    runtime = await startRuntimeWithUsers(
      [
        { username: 'viewer', password: 'viewer-pw', permissions: 'read' },
        { username: 'admin', password: 'admin-pw', permissions: '*' },
      ],
      { settings: { qumuloFlow: { metricsToken: SCRAPE_TOKEN } } },
    );
    adminToken = await token('admin', 'admin-pw', '*');
    viewerToken = await token('viewer', 'viewer-pw', 'read');
    const flows: FlowNode[] = [
      { id: 'obs-tab', type: 'tab', label: 'observability' },
      { id: 'obs-cluster', type: 'qumulo-cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http', maxConcurrency: '4' },
      { id: 'obs-redis', type: 'qumulo-redis', url: redis.url, keyPrefix: prefix },
      { id: 'obs-watch', type: 'qumulo-watch', z: 'obs-tab', cluster: 'obs-cluster', path: '/incoming', recursive: true, types: ['child_file_added', 'child_extra_attrs_changed'], heal: false, wires: [['obs-out']] },
      { id: 'obs-out', type: 'qumulo-redis-out', z: 'obs-tab', redis: 'obs-redis', stream, wires: [] },
      { id: 'obs-in', type: 'qumulo-redis-in', z: 'obs-tab', redis: 'obs-redis', stream, group: 'obs', wires: [['obs-guard']] },
      { id: 'obs-guard', type: 'qumulo-loop-guard', z: 'obs-tab', cluster: 'obs-cluster', hopLimit: 16, echoWindow: 10, settle: 0, wires: [['obs-filter'], [], []] },
      { id: 'obs-filter', type: 'qumulo-filter', z: 'obs-tab', source: 'yaml', yaml: 'rules:\n  - name: pdf-arrives\n    when: {all: [{type: child_file_added}, {extension: pdf}]}\n    actions: [lock]\n', wires: [['obs-lock']] },
      { id: 'obs-lock', type: 'qumulo-lock', z: 'obs-tab', cluster: 'obs-cluster', retention: '1d', legalHold: 'leave', dryRun: false, wires: [['obs-audit']] },
      { id: 'obs-audit', type: 'qumulo-audit', z: 'obs-tab', name: 'audit', wires: [[]] },
      { id: 'obs-stop', type: 'qumulo-all-stop', z: 'obs-tab', cluster: 'obs-cluster', wires: [[]] },
    ];
    const res = await runtime.request<{ rev?: string }>('POST', '/flows', { flows, credentials: { 'obs-cluster': { username: 'admin', password: 'admin' } } }, {
      Authorization: `Bearer ${adminToken}`,
      'Node-RED-API-Version': 'v2',
      'Node-RED-Deployment-Type': 'full',
    });
    assert.equal(res.status, 200, res.text);
    await waitUntil(() => watchRegistry.list().some((w) => w.status.state === 'watching'), 15_000, 'watching');

    // The known input, through a client of its own (the guard must not take these for echoes).
    const client = new QumuloClient(sim.clientOptions());
    try {
      for (const name of [...PDFS, ...OTHERS]) await client.createFile('/incoming', name);
    } finally {
      await client.close();
    }
  });

  after(async () => {
    await runtime?.stop();
    watchRegistry.closeAll();
    await sim?.stop();
    await redis?.stop();
  });

  it('scrapes every listed series with the counts of the known input', async () => {
    let families: Family[] = [];
    let text = '';
    // Done when every lock ran, each lock's echo was suppressed and Redis shows nothing pending.
    await waitUntil(
      async () => {
        const res = await scrape();
        if (res.status !== 200) return false;
        text = res.text;
        families = parsePrometheusTextFormat(res.text);
        return (
          value(families, 'qumulo_flow_guard_decisions_total', { node: 'obs-guard', verdict: 'suppressed' }) === PDFS.length &&
          value(families, 'qumulo_flow_redis_acked_total', { stream: `${prefix}${stream}` }) === PDFS.length * 2 + OTHERS.length &&
          has(families, 'qumulo_flow_redis_pending', { stream: `${prefix}${stream}` }) &&
          value(families, 'qumulo_flow_redis_pending', { stream: `${prefix}${stream}` }) === 0
        );
      },
      30_000,
      'the pipeline to finish',
      250,
    );
    const total = PDFS.length + OTHERS.length;
    const s = `${prefix}${stream}`;
    assert.equal(value(families, 'qumulo_flow_watch_events_total', { node: 'obs-watch', type: 'child_file_added' }), total);
    assert.equal(value(families, 'qumulo_flow_watch_events_total', { node: 'obs-watch', type: 'child_extra_attrs_changed' }), PDFS.length, 'one echo per lock');
    assert.equal(value(families, 'qumulo_flow_redis_appended_total', { stream: s }), total + PDFS.length);
    assert.equal(value(families, 'qumulo_flow_redis_read_total', { stream: s, group: 'obs' }), total + PDFS.length);
    assert.equal(value(families, 'qumulo_flow_redis_acked_total', { stream: s, group: 'obs' }), total + PDFS.length);
    assert.equal(value(families, 'qumulo_flow_redis_dead_lettered_total', { stream: s }), 0);
    assert.ok(has(families, 'qumulo_flow_redis_lag', { stream: s }), 'no lag sample for the stream');
    assert.equal(value(families, 'qumulo_flow_redis_lag', { stream: s }), 0);
    assert.equal(value(families, 'qumulo_flow_guard_decisions_total', { node: 'obs-guard', verdict: 'passed' }), total);
    assert.equal(value(families, 'qumulo_flow_guard_decisions_total', { node: 'obs-guard', verdict: 'suppressed' }), PDFS.length);
    assert.equal(value(families, 'qumulo_flow_guard_decisions_total', { node: 'obs-guard', verdict: 'tripped' }), 0);
    // Event-only series of deployed nodes are there at 0 before their first event (so Prometheus'
    // increase() counts that first trip, gap or reconnect).
    for (const series of ['qumulo_flow_guard_decisions_total{node="obs-guard",verdict="tripped"} 0', 'qumulo_flow_watch_gaps_total{node="obs-watch"} 0', 'qumulo_flow_watch_reconnects_total{node="obs-watch"} 0']) {
      assert.ok(text.split('\n').includes(series), `${series} not in the scrape`);
    }
    assert.equal(value(families, 'qumulo_flow_rule_matches_total', { node: 'obs-filter', rule: 'pdf-arrives' }), PDFS.length);
    assert.equal(value(families, 'qumulo_flow_filter_events_total', { node: 'obs-filter', result: 'unmatched' }), OTHERS.length);
    assert.equal(value(families, 'qumulo_flow_actions_total', { node: 'obs-lock', action: 'lock', outcome: 'done', cluster: `127.0.0.1:${sim.port}` }), PDFS.length);
    assert.equal(value(families, 'qumulo_flow_actions_total', { node: 'obs-lock', outcome: 'failed' }), 0);
    const latency = families.find((f) => f.name === 'qumulo_flow_event_to_action_seconds')!;
    assert.equal(latency.type, 'HISTOGRAM');
    assert.ok(latency.metrics.length > 0);
    // (the parser keeps a histogram's buckets but not its labels or count: read those from the text)
    assert.ok(Number(/^qumulo_flow_event_to_action_seconds_count\{action="lock"\} (\d+)$/m.exec(text)?.[1]) >= PDFS.length);
    // REST: the lock's PATCH on the file-lock endpoint, with the path reduced to a template.
    const rest = families.find((f) => f.name === 'qumulo_flow_rest_requests_total')!;
    assert.ok(rest.metrics.some((m) => m.labels?.endpoint === '/v1/files/:ref/file-lock' && m.labels.method === 'PATCH' && m.labels.status === '200'), JSON.stringify(rest.metrics.map((m) => m.labels)));
    assert.ok(families.some((f) => f.name === 'qumulo_flow_rest_request_seconds' && f.type === 'HISTOGRAM'));
    for (const family of families.filter((f) => f.name.startsWith('qumulo_flow_'))) {
      for (const m of family.metrics) for (const label of Object.values(m.labels ?? {})) assert.ok(!label.includes('/incoming'), `${family.name} has a path as a label: ${label}`);
    }
    assert.equal(value(families, 'qumulo_flow_all_stop_active', { cluster: `127.0.0.1:${sim.port}` }), 0);
    for (const name of ['qumulo_flow_watch_reconnects_total', 'qumulo_flow_watch_gaps_total', 'qumulo_flow_heal_runs_total', 'qumulo_flow_heal_files_found_total', 'qumulo_flow_redis_failed_total', 'qumulo_flow_audit_records_total']) {
      assert.ok(families.some((f) => f.name === name), `${name} missing`);
    }
    assert.ok(value(families, 'qumulo_flow_audit_records_total') >= PDFS.length);
  });

  it('refuses an anonymous scrape and a wrong token; takes the configured token and Node-RED tokens', async () => {
    assert.equal((await scrape({})).status, 401);
    assert.equal((await scrape({ Authorization: 'Bearer not-the-token' })).status, 401);
    assert.equal((await scrape({ Authorization: `Bearer ${viewerToken}` })).status, 200);
    const ok = await scrape();
    assert.equal(ok.status, 200);
    assert.match(String(ok.headers['content-type']), /^text\/plain;.*version=0\.0\.4/);
    // Like every admin route: a page on another origin is refused even with a token.
    assert.equal((await scrape({ Authorization: `Bearer ${SCRAPE_TOKEN}`, Origin: 'http://evil.example' })).status, 403);
  });

  it('serves the sidebar the same numbers, and resets an all-stop only for users who may reset it', async () => {
    type State = {
      watches: Array<{ id: string; total: number; ageSeconds: number | null; ages: number[]; aged: number; redis: Array<{ stream: string; group: string | null; pending: number | null; lag: number | null }> }>;
      actions: Array<{ id: string; total: number }>; clusters: Array<{ key: string; allStop: { active: boolean } }> };
    const read = () => runtime.request<State>('GET', '/qumulo-flow/observability', undefined, { Authorization: `Bearer ${viewerToken}` });
    // The sidebar's numbers are sampled every 2 s (sooner only on the first request of the
    // process): another spec may have started the sampler, so wait for a sample after the run.
    let state = await read();
    await waitUntil(
      async () => {
        state = await read();
        // The consumer reads its group's backlog (XINFO) at its maintenance tick, up to 5 s in.
        return (
          state.status === 200 &&
          state.body.actions.find((a) => a.id === 'obs-lock')?.total === PDFS.length &&
          state.body.watches.find((w) => w.id === 'obs-watch')?.redis[0]?.pending !== null
        );
      },
      15_000,
      'a sample with the pipeline run',
      250,
    );
    assert.equal(state.status, 200, state.text);
    const watch = state.body.watches.find((w) => w.id === 'obs-watch');
    assert.equal(watch?.total, PDFS.length * 2 + OTHERS.length);
    // Per-watch lag from the metrics' own numbers: the age of the watch's events at their actions
    // (qumulo_flow_watch_event_age_seconds{node="obs-watch"}) and its stream's Redis backlog.
    const text = (await scrape()).text;
    const ageCount = Number(/^qumulo_flow_watch_event_age_seconds_count\{node="obs-watch"\} (\d+)$/m.exec(text)?.[1]);
    const ageSum = Number(/^qumulo_flow_watch_event_age_seconds_sum\{node="obs-watch"\} ([\d.e+-]+)$/m.exec(text)?.[1]);
    assert.equal(ageCount, PDFS.length, 'one age per lock, named by the watch node');
    assert.equal(watch?.aged, ageCount);
    assert.ok(typeof watch?.ageSeconds === 'number' && watch.ageSeconds > 0 && watch.ageSeconds <= ageSum, `sidebar age ${watch?.ageSeconds}, metrics sum ${ageSum}`);
    assert.ok(watch!.ages.some((age) => age > 0), 'an age sparkline');
    assert.deepEqual(watch?.redis, [{ stream: `${prefix}${stream}`, group: 'obs', pending: 0, lag: 0 }]);
    assert.equal(state.body.actions.find((a) => a.id === 'obs-lock')?.total, PDFS.length);
    const key = `127.0.0.1:${sim.port}`;
    assert.equal(state.body.clusters.find((c) => c.key === key)?.allStop.active, false);
    assert.equal((await runtime.request('GET', '/qumulo-flow/observability')).status, 401);

    // Trigger the all-stop through its node (a canary event), then reset from the sidebar's route.
    const node = (runtime.RED.nodes as unknown as { getNode(id: string): { receive(msg: object): void } }).getNode('obs-stop');
    node.receive({ payload: { path: '/incoming/canary', type: 'child_file_added' } });
    await waitUntil(async () => (await scrape()).text.includes(`qumulo_flow_all_stop_active{cluster="${key}"} 1`), 10_000, 'all-stop gauge = 1');
    const refused = await runtime.request('POST', '/qumulo-flow/observability/all-stop/reset', { cluster: key }, { Authorization: `Bearer ${viewerToken}` });
    assert.equal(refused.status, 401);
    const reset = await runtime.request<{ state: { active: boolean; resetBy: string } }>('POST', '/qumulo-flow/observability/all-stop/reset', { cluster: key }, { Authorization: `Bearer ${adminToken}` });
    assert.equal(reset.status, 200, reset.text);
    assert.equal(reset.body.state.active, false);
    assert.match(reset.body.state.resetBy, /sidebar \(admin\)/);
    assert.match((await scrape()).text, new RegExp(`qumulo_flow_all_stop_active\\{cluster="${key.replace(/\./g, '\\.')}"\\} 0`));
  });

  it('exports the audit records of a time range and path prefix, as JSON and CSV', async () => {
    const query = `from=${encodeURIComponent(started.toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 1000).toISOString())}`;
    const auth = { Authorization: `Bearer ${adminToken}` };
    const json = await runtime.request<{ count: number; records: Array<{ id: string; action: string; outcome: string; path: string; rules: string[]; parameters: Record<string, unknown>; redisId: string }> }>('GET', `/qumulo-flow/audit/export?${query}&prefix=/incoming`, undefined, auth);
    assert.equal(json.status, 200, json.text);
    assert.equal(json.body.count, PDFS.length);
    assert.deepEqual(json.body.records.map((r) => r.path).sort(), PDFS.map((n) => `/incoming/${n}`));
    for (const record of json.body.records) {
      assert.equal(record.action, 'lock');
      assert.equal(record.outcome, 'done');
      assert.deepEqual(record.rules, ['pdf-arrives']);
      assert.match(record.redisId, /^\d+-\d+$/);
    }
    assert.equal(new Set(json.body.records.map((r) => r.id)).size, PDFS.length);
    const other = await runtime.request<{ count: number }>('GET', `/qumulo-flow/audit/export?${query}&prefix=/elsewhere`, undefined, auth);
    assert.equal(other.body.count, 0);
    const before = await runtime.request<{ count: number }>('GET', `/qumulo-flow/audit/export?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`, undefined, auth);
    assert.equal(before.body.count, 0);
    const csv = await runtime.request('GET', `/qumulo-flow/audit/export?${query}&prefix=/incoming/a.pdf&format=csv`, undefined, auth);
    assert.equal(csv.status, 200);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^id,time,action,outcome,path,/);
    assert.match(lines[1], /"lock","done","\/incoming\/a\.pdf"/);
    assert.equal((await runtime.request('GET', `/qumulo-flow/audit/export?${query}`)).status, 401);
    assert.equal((await runtime.request('GET', `/qumulo-flow/audit/export?${query}&prefix=relative`, undefined, auth)).status, 400);
    // A parameter that is given but wrong is refused: a silent default would export another range.
    for (const bad of ['from=garbage', 'to=yesterday', 'from=2026-13-45', 'from=2026-02-30', 'format=xml', `${query}&format=xml`]) {
      const refused = await runtime.request<{ error: string }>('GET', `/qumulo-flow/audit/export?${bad}`, undefined, auth);
      assert.equal(refused.status, 400, `${bad}: ${refused.text}`);
      assert.match(refused.body.error, /is not a time|must be csv or json/);
    }
    assert.equal((await runtime.request('GET', `/qumulo-flow/audit/export?from=&to=&format=json`, undefined, auth)).status, 200, 'empty fields mean the defaults');

    // Records of a qumulo-audit node with a directory of its own stay in the export after the node is deleted.
    const ownDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-obs-audit-own-'));
    try {
      const added = await runtime.request<{ id: string }>('POST', '/flow', { label: 'audit elsewhere', nodes: [{ id: 'obs-own-audit', type: 'qumulo-audit', directory: ownDir, x: 100, y: 100, wires: [] }] }, auth);
      assert.equal(added.status, 200, added.text);
      const getNode = (id: string) => (runtime.RED.nodes as unknown as { getNode(id: string): { receive(msg: object): void } | null }).getNode(id);
      await waitUntil(async () => getNode('obs-own-audit') !== null, 5000, 'the added flow started');
      getNode('obs-own-audit')!.receive({ payload: { type: 'child_file_added', path: '/removed/r.pdf' }, result: { action: 'lock', path: '/removed/r.pdf', outcome: 'done', detail: 'locked' } });
      await waitUntil(async () => fs.readdirSync(ownDir).length > 0, 5000, 'the own directory written');
      const removed = await runtime.request('DELETE', `/flow/${added.body.id}`, undefined, auth);
      assert.equal(removed.status, 204, removed.text);
      const kept = await runtime.request<{ count: number; records: Array<{ path: string }> }>('GET', `/qumulo-flow/audit/export?prefix=/removed`, undefined, auth);
      assert.equal(kept.body.count, 1, kept.text);
      assert.equal(kept.body.records[0].path, '/removed/r.pdf');
    } finally {
      fs.rmSync(ownDir, { recursive: true, force: true });
    }
  });
});

describe('observability: Grafana dashboard and Prometheus config', () => {
  it('the dashboard queries only series the registry exports, and Prometheus scrapes the metrics path with a bearer token', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { registry } = require('../../core/metrics') as typeof import('../../core/metrics');
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const fs = await import('node:fs');
    const path = await import('node:path');
    const root = path.resolve(__dirname, '..', '..', '..');
    const dashboard = JSON.parse(fs.readFileSync(path.join(root, 'docker', 'grafana', 'qumulo-flow-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    assert.ok(dashboard.panels.length >= 10);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const names = target.expr.match(/qumulo_flow_[a-z_]+/g) ?? [];
        assert.ok(names.length > 0, `${panel.title}: ${target.expr}`);
        for (const name of names) assert.ok(exported.has(name.replace(/_bucket$/, '')), `${panel.title}: ${name} is not exported`);
      }
    }
    const prometheus = fs.readFileSync(path.join(root, 'docker', 'prometheus.yml'), 'utf8');
    assert.match(prometheus, /metrics_path: \/qumulo-flow\/metrics/);
    assert.match(prometheus, /type: Bearer/);
  });
});
