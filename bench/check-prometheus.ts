// npm run check:prometheus — a real Prometheus against qumulo-flow's metrics (a check, not a
// bench: it lives here because it needs a running Node-RED, like the benches). Not part of CI.
//
// 1. Starts the simulator, a redis-server and a Node-RED process (adminAuth on, the metrics token
//    set) with a pipeline: watch → redis-out; redis-in → loop guard → filter → lock → audit, plus
//    an all-stop node; an anonymous scrape must get 401.
// 2. Runs the prometheus binary (by PID, temp storage, a free loopback port) with the scrape config
//    docs/observability.md documents — taken from the doc as it is, only the target, the token file
//    and `scheme` (http on loopback) filled in, and a 2 s scrape interval so the check is quick —
//    and waits until the target is up.
// 3. Creates PDF and text files in two rounds (a labelled series appears with its first increment,
//    which rate() cannot see), so the pipeline locks the PDFs while Prometheus scrapes.
// 4. Pipes the endpoint's output through `promtool check metrics`.
// 5. Runs every PromQL expression of docker/grafana/qumulo-flow-dashboard.json ($job = the scrape
//    job, $__rate_interval = 1m) and the job variable's label_values query through the HTTP API,
//    and prints what each returns.
// Fails (exit 1) when prometheus or promtool is missing, the scrape fails, promtool finds a
// problem, or an expression returns an error or no data — except the expressions of series that
// only exist after their first event (reconnects, gaps, healing, dead letters, failures, trips),
// which this run has none of: they are listed separately.
//
// Environment: PROMETHEUS_BIN, PROMTOOL_BIN (default: on PATH; Debian: apt-get install prometheus).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QumuloClient } from '../core/qumulo/client';
import { NodeRedProcess } from '../test/support/nr-process';
import { freePort, startRedisServer, type RedisServer } from '../test/support/redis-server';
import { startSim, type TestSim } from '../test/support/sim';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const bcrypt = require('bcryptjs') as { hashSync(password: string, rounds: number): string };

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const TOKEN = `check-${process.pid}-${Date.now().toString(36)}`;
const PDFS = ['a.pdf', 'b.pdf', 'c.pdf', 'd.pdf', 'e.pdf'];
const OTHERS = ['f.txt', 'g.txt'];
/** Series that exist only once their event happened; the pipeline run here has none of them. */
const EVENT_ONLY = /watch_reconnects|watch_gaps|heal_runs|heal_files|dead_lettered|outcome="failed"|verdict="tripped"|audit_failures/;

function which(name: string, override: string | undefined): string | null {
  if (override) return fs.existsSync(override) ? override : null;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, name);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** The scrape config block of docs/observability.md, as documented. */
function documentedScrapeConfig(): string {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'observability.md'), 'utf8');
  const match = /Prometheus scrape config[^\n]*\n\n```yaml\n([\s\S]*?)```/.exec(doc);
  if (!match) throw new Error('docs/observability.md: no ```yaml block after "Prometheus scrape config"');
  return match[1];
}

/** Every `expr` of the dashboard, with the panel title. */
function dashboardExpressions(): Array<{ title: string; expr: string }> {
  const dashboard = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docker', 'grafana', 'qumulo-flow-dashboard.json'), 'utf8')) as { panels?: unknown[] };
  const out: Array<{ title: string; expr: string }> = [];
  const walk = (value: unknown, title: string): void => {
    if (Array.isArray(value)) for (const item of value) walk(item, title);
    else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      const here = typeof record.title === 'string' ? record.title : title;
      if (typeof record.expr === 'string') out.push({ title: here, expr: record.expr });
      for (const child of Object.values(record)) walk(child, here);
    }
  };
  walk(dashboard.panels ?? [], '');
  return out;
}

function pipeline(sim: TestSim, redis: RedisServer): unknown[] {
  const stream = 'events';
  return [
    { id: 'pc-tab', type: 'tab', label: 'prometheus check' },
    { id: 'pc-cluster', type: 'qumulo-cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http', maxConcurrency: '4' },
    { id: 'pc-redis', type: 'qumulo-redis', url: redis.url, keyPrefix: 'pc:' },
    { id: 'pc-watch', type: 'qumulo-watch', z: 'pc-tab', cluster: 'pc-cluster', path: '/incoming', recursive: true, types: ['child_file_added', 'child_extra_attrs_changed'], heal: false, wires: [['pc-out']] },
    { id: 'pc-out', type: 'qumulo-redis-out', z: 'pc-tab', redis: 'pc-redis', stream, wires: [] },
    { id: 'pc-in', type: 'qumulo-redis-in', z: 'pc-tab', redis: 'pc-redis', stream, group: 'pc', wires: [['pc-guard']] },
    { id: 'pc-guard', type: 'qumulo-loop-guard', z: 'pc-tab', cluster: 'pc-cluster', hopLimit: 16, echoWindow: 10, settle: 0, wires: [['pc-filter'], [], []] },
    { id: 'pc-filter', type: 'qumulo-filter', z: 'pc-tab', source: 'yaml', yaml: 'rules:\n  - name: pdf-arrives\n    when: {all: [{type: child_file_added}, {extension: pdf}]}\n    actions: [lock]\n', wires: [['pc-lock']] },
    { id: 'pc-lock', type: 'qumulo-lock', z: 'pc-tab', cluster: 'pc-cluster', retention: '1d', legalHold: 'leave', dryRun: false, wires: [['pc-audit']] },
    { id: 'pc-audit', type: 'qumulo-audit', z: 'pc-tab', name: 'audit', wires: [[]] },
    { id: 'pc-stop', type: 'qumulo-all-stop', z: 'pc-tab', cluster: 'pc-cluster', wires: [[]] },
  ];
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

async function main(): Promise<void> {
  const prometheusBin = which('prometheus', process.env.PROMETHEUS_BIN);
  const promtoolBin = which('promtool', process.env.PROMTOOL_BIN);
  if (!prometheusBin || !promtoolBin) {
    console.error(
      `check:prometheus needs the prometheus and promtool binaries (missing: ${[!prometheusBin && 'prometheus', !promtoolBin && 'promtool'].filter(Boolean).join(', ')}).\n` +
        'Install them (Debian/Ubuntu: apt-get install prometheus — the check runs the binary itself, not the service) or set PROMETHEUS_BIN / PROMTOOL_BIN.',
    );
    process.exit(1);
  }
  const version = spawnSync(prometheusBin, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  console.log(`check:prometheus with ${version}`);

  const problems: string[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-prometheus-check-'));
  let sim: TestSim | undefined;
  let redis: RedisServer | undefined;
  let nr: NodeRedProcess | undefined;
  let prometheus: ChildProcess | undefined;
  try {
    sim = await startSim({ files: { 'incoming/': '' } });
    redis = await startRedisServer({ own: true });
    nr = await NodeRedProcess.start({
      flows: pipeline(sim, redis),
      credentials: { 'pc-cluster': { username: 'admin', password: 'admin' } },
      settings: {
        adminAuth: { type: 'credentials', users: [{ username: 'admin', password: bcrypt.hashSync('admin-pw', 4), permissions: '*' }] },
        qumuloFlow: { metricsToken: TOKEN },
      },
    });
    const metricsUrl = `${nr.url}/qumulo-flow/metrics`;
    const anonymous = await fetch(metricsUrl);
    if (anonymous.status !== 401) problems.push(`an anonymous scrape got HTTP ${anonymous.status}, not 401`);
    console.log(`  Node-RED ${nr.url} (adminAuth on): anonymous scrape → HTTP ${anonymous.status}`);

    // 2. Prometheus with the documented scrape config.
    const tokenFile = path.join(work, 'qumulo-flow-token');
    fs.writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    const target = `127.0.0.1:${nr.port}`;
    const scrape = documentedScrapeConfig()
      .replace(/scheme: https[^\n]*/, 'scheme: http')
      .replace(/credentials_file: \S+/, `credentials_file: ${tokenFile}`)
      .replace(/targets: \[[^\]]*\]/, `targets: ["${target}"]`);
    const config = `global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\n\n${scrape}`;
    fs.writeFileSync(path.join(work, 'prometheus.yml'), config);
    const checkConfig = spawnSync(promtoolBin, ['check', 'config', path.join(work, 'prometheus.yml')], { encoding: 'utf8' });
    if (checkConfig.status !== 0) problems.push(`promtool check config: ${checkConfig.stdout}${checkConfig.stderr}`);
    const port = await freePort();
    const api = `http://127.0.0.1:${port}/api/v1`;
    let promLog = '';
    prometheus = spawn(prometheusBin, [`--config.file=${path.join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(work, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout?.on('data', (chunk: Buffer) => (promLog += chunk.toString()));
    prometheus.stderr?.on('data', (chunk: Buffer) => (promLog += chunk.toString()));
    console.log(`  prometheus pid ${prometheus.pid} on 127.0.0.1:${port}, scraping ${target} every 2 s with the documented config (token from a file)`);
    const health = await waitFor('the target to be up', 30_000, async () => {
      const targets = (await (await fetch(`${api}/targets`)).json()) as { data: { activeTargets: Array<{ health: string; lastError: string; labels: Record<string, string> }> } };
      const active = targets.data.activeTargets[0];
      return active && active.health === 'up' ? active : null;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${promLog.slice(-3000)}`);
    });
    const job = health.labels.job;
    console.log(`  target up (job="${job}")`);
    // 3. The pipeline runs while Prometheus scrapes, so rate() sees the increases.
    let scrapeText = '';
    const client = new QumuloClient(sim.clientOptions());
    try {
      await waitFor('the watch to connect', 20_000, async () => {
        const text = await (await fetch(metricsUrl, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
        return /qumulo_flow_all_stop_active\{/.test(text);
      });
      await sleep(1000);
      // Two rounds: a labelled series appears with its first increment, so rate() cannot see the
      // round that created it (Prometheus has no earlier 0 for it); the second round it can.
      for (const round of [1, 2]) {
        for (const name of [...PDFS, ...OTHERS]) await client.createFile('/incoming', `r${round}-${name}`);
        scrapeText = await waitFor(`round ${round} of the pipeline to lock every PDF`, 30_000, async () => {
          const text = await (await fetch(metricsUrl, { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
          const locked = Number(/^qumulo_flow_actions_total\{[^}]*outcome="done"[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
          return locked >= PDFS.length * round ? text : null;
        });
        console.log(`  pipeline round ${round}: ${PDFS.length} PDFs locked, ${OTHERS.length} other files passed by`);
        if (round === 1) await sleep(5000); // two scrapes of the new series before the next round
      }
    } finally {
      await client.close();
    }

    // A few scrapes after the run, so rate() over 1m has points before and after its increases.
    await sleep(7000);

    // 4. promtool's linter on the endpoint's output.
    const lint = spawnSync(promtoolBin, ['check', 'metrics'], { input: scrapeText, encoding: 'utf8' });
    const lintText = `${lint.stdout}${lint.stderr}`.trim();
    console.log(`  promtool check metrics: exit ${lint.status}${lintText ? `\n${lintText.replace(/^/gm, '    ')}` : ' (no findings)'}`);
    if (lint.status !== 0) problems.push(`promtool check metrics: ${lintText}`);

    // 5. Every dashboard expression.
    const expressions = dashboardExpressions();
    const eventOnly: string[] = [];
    for (const { title, expr } of expressions) {
      const query = expr.replace(/\$__rate_interval/g, '1m').replace(/\$job/g, job);
      const answer = (await (await fetch(`${api}/query?query=${encodeURIComponent(query)}`)).json()) as QueryAnswer;
      const results = answer.data?.result ?? [];
      const shown = results
        .slice(0, 3)
        .map((r) => `${Object.keys(r.metric).length ? JSON.stringify(r.metric) : '{}'} ${Number(r.value[1]).toPrecision(3)}`)
        .join('; ');
      const line = `${title}: ${expr}\n      → ${answer.status === 'success' ? `${results.length} series${shown ? `: ${shown}` : ''}` : `ERROR ${answer.error}`}`;
      if (answer.status !== 'success') problems.push(line);
      else if (results.length === 0) {
        if (EVENT_ONLY.test(expr)) eventOnly.push(line);
        else problems.push(`no data: ${line}`);
      } else if (results.every((r) => r.value[1] === 'NaN')) {
        // (one NaN among numbers is a quantile of a series idle in the window, e.g. the login)
        if (EVENT_ONLY.test(expr)) eventOnly.push(line);
        else problems.push(`NaN: ${line}`);
      }
      console.log(`  ${line}`);
    }
    const variable = (await (await fetch(`${api}/label/job/values?match[]=qumulo_flow_watch_events_total`)).json()) as { data: string[] };
    console.log(`  template variable job = label_values(qumulo_flow_watch_events_total, job) → ${JSON.stringify(variable.data)}`);
    if (!variable.data.includes(job)) problems.push('the job variable finds no job');
    const failed = problems.filter((p) => / → /.test(p) || /^(no data|NaN)/.test(p)).length;
    console.log(`${expressions.length} expressions; ${expressions.length - eventOnly.length - failed} return data`);
    if (eventOnly.length > 0) console.log(`no data yet, as expected in this run (series that exist only after their first event):\n  ${eventOnly.join('\n  ')}`);
  } finally {
    if (prometheus?.pid) {
      prometheus.kill('SIGTERM');
      await new Promise((resolve) => (prometheus!.exitCode !== null ? resolve(null) : prometheus!.once('exit', resolve)));
    }
    await nr?.stop();
    await redis?.stop();
    await sim?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    console.log(`FAIL:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('PASS: Prometheus scrapes the endpoint with the documented config, promtool accepts it, and every dashboard expression works');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
