// The storm suite: flows whose actions trigger themselves, run for a fixed time against the real
// simulator (HTTP + SSE) in Node-RED (node-red-node-test-helper), with the real watch, loop guard
// and action nodes. Each scenario runs twice, with the guard and without it (same flow, the guard
// replaced by a wire), and counts the actions per file: with the guard they are bounded, without
// it they run away — so the guard, not the flow, is what stops the loop.
//
// Honest controls. Some actions stop a loop on their own, and a control built on them would prove
// nothing: chmod to a fixed mode and lock with a fixed retention are idempotent (the second call
// finds the work done and skips), and quarantine skips files already inside its root. So:
//   2. chmod alternates between two modes (a function node flips per file: 0640, 0604, 0640 …);
//   3. two quarantine rules with different roots, both inside the watched tree (a file matching
//      both ping-pongs between them);
//   4. the lock alternates legal hold on / off per file (retention cannot be shortened, and a
//      re-lock within the same second is skipped, so a retention-only lock would die out by itself).
// Every action then really mutates, so without a guard each echo sets off another real change.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { QumuloEvent } from '../../core/event';
import { QumuloClient } from '../../core/qumulo/client';
import { watchRegistry } from '../../core/watch/registry';
import { helper, initHelper, tempDir, type HelperNode } from '../support/actions';
import { NodeRedProcess } from '../support/nr-process';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { startSim, type TestSim } from '../support/sim';
import { sleep, waitUntil } from '../support/sim-client';

/* eslint-disable @typescript-eslint/no-require-imports */
const NODES = [
  require('../../nodes/qumulo-cluster'),
  require('../../nodes/qumulo-watch'),
  require('../../nodes/qumulo-loop-guard'),
  require('../../nodes/qumulo-rename'),
  require('../../nodes/qumulo-chmod'),
  require('../../nodes/qumulo-quarantine'),
  require('../../nodes/qumulo-lock'),
  require('@node-red/nodes/core/function/10-function.js'),
];
/* eslint-enable @typescript-eslint/no-require-imports */

const FILES = 6;
const STORM_MS = 5_000;
const HOP_LIMIT = 16;

interface StormRow {
  scenario: string;
  title: string;
  guard: string;
  seconds: number;
  files: number;
  actions: number;
  maxPerFile: number;
  suppressed: number | null;
  tripped: number | null;
  probes: string;
  maxLoopDelayMs: number;
}

const stormRows: StormRow[] = [];

function recordStormRow(row: StormRow): void {
  stormRows.push(row);
}

/** The results table (also pasted into docs/loop-guard.md). */
function printStormTable(): void {
  if (stormRows.length === 0) return;
  const header = '| # | scenario | guard | s | files | actions | max/file | echoes dropped | tripped | probes answered | max loop delay |';
  const lines = [header, '|---|---|---|---|---|---|---|---|---|---|---|'];
  const ordered = [...stormRows].sort((a, b) => a.scenario.localeCompare(b.scenario));
  for (const r of ordered) {
    lines.push(
      `| ${r.scenario} | ${r.title} | ${r.guard} | ${r.seconds} | ${r.files} | ${r.actions} | ${r.maxPerFile} | ${r.suppressed ?? '–'} | ${r.tripped ?? '–'} | ${r.probes} | ${Number.isNaN(r.maxLoopDelayMs) ? '–' : `${r.maxLoopDelayMs} ms`} |`,
    );
  }
  console.log('\n' + lines.join('\n') + '\n');
}

interface ResultMsg {
  payload: QumuloEvent;
  result: { action: string; outcome: string; fileId?: string | null; path?: string; detail?: string };
  guard?: { verdict: string; hop: number; reason?: string; detail?: string; history?: unknown[] };
}

/** Flips each file's events between output 1 and 2: an action that really changes something every time. */
const TOGGLE = `const key = 'n' + (msg.payload.fileId || msg.payload.path);
const n = (context.get(key) || 0) + 1;
context.set(key, n);
return n % 2 === 1 ? [msg, null] : [null, msg];`;

interface Scenario {
  id: string;
  title: string;
  types: string[];
  /** Files present before the watch starts (relative to the scenario directory). */
  existing?: string[];
  /** Action (and toggle) nodes; `ENTRY` ids receive the guard's (or the watch's) output. */
  nodes: (dir: string) => { entry: string[]; nodes: Record<string, unknown>[] };
  /** The genuine user changes that start the storm. */
  trigger: (ctx: RunContext) => Promise<void>;
}

interface RunContext {
  sim: TestSim;
  dir: string;
  user: QumuloClient;
}

function fileNames(prefix: string): string[] {
  return Array.from({ length: FILES }, (_, i) => `${prefix}${i + 1}.txt`);
}

const SCENARIOS: Scenario[] = [
  {
    id: '1',
    title: 'rename every added file to {stem}-x{ext}',
    types: ['child_file_added', 'child_file_moved_to'],
    nodes: () => ({
      entry: ['rename'],
      nodes: [{ id: 'rename', type: 'qumulo-rename', cluster: 'c1', template: '{stem}-x{ext}', collision: 'number', applyTo: 'files', wires: [['results']] }],
    }),
    trigger: async ({ sim, dir }) => {
      for (const name of fileNames('new')) fs.writeFileSync(sim.disk(`${dir}/${name}`), 'hello');
    },
  },
  {
    id: '2',
    title: 'chmod on every ACL change (mode alternates 0640/0604)',
    types: ['child_acl_changed'],
    existing: fileNames('m'),
    nodes: () => ({
      entry: ['toggle'],
      nodes: [
        { id: 'toggle', type: 'function', func: TOGGLE, outputs: 2, wires: [['chmodA'], ['chmodB']] },
        { id: 'chmodA', type: 'qumulo-chmod', cluster: 'c1', mode: '0640', applyTo: 'files', wires: [['results']] },
        { id: 'chmodB', type: 'qumulo-chmod', cluster: 'c1', mode: '0604', applyTo: 'files', wires: [['results']] },
      ],
    }),
    trigger: async ({ sim, dir }) => {
      for (const name of fileNames('m')) fs.chmodSync(sim.disk(`${dir}/${name}`), 0o600);
    },
  },
  {
    id: '3',
    title: 'quarantine into directories inside the watched tree (two rules, two roots)',
    types: ['child_file_added', 'child_file_moved_to'],
    nodes: (dir) => ({
      entry: ['quarantineA', 'quarantineB'],
      nodes: [
        { id: 'quarantineA', type: 'qumulo-quarantine', cluster: 'c1', root: `/${dir}/qa`, keepStructure: false, collision: 'number', wires: [['results']] },
        { id: 'quarantineB', type: 'qumulo-quarantine', cluster: 'c1', root: `/${dir}/qb`, keepStructure: false, collision: 'number', wires: [['results']] },
      ],
    }),
    trigger: async ({ sim, dir }) => {
      fs.mkdirSync(sim.disk(`${dir}/in`), { recursive: true });
      for (const name of fileNames('q')) fs.writeFileSync(sim.disk(`${dir}/in/${name}`), 'suspicious');
    },
  },
  {
    id: '4',
    title: 'lock on every attribute change (legal hold alternates on/off)',
    types: ['child_extra_attrs_changed'],
    existing: fileNames('l'),
    nodes: () => ({
      entry: ['toggle'],
      nodes: [
        { id: 'toggle', type: 'function', func: TOGGLE, outputs: 2, wires: [['holdOn'], ['holdOff']] },
        { id: 'holdOn', type: 'qumulo-lock', cluster: 'c1', retention: '', legalHold: 'on', wires: [['results']] },
        { id: 'holdOff', type: 'qumulo-lock', cluster: 'c1', retention: '', legalHold: 'off', wires: [['results']] },
      ],
    }),
    trigger: async ({ sim, dir, user }) => {
      // A user puts a one-day retention lock on each file (an attribute change).
      const until = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
      for (const name of fileNames('l')) {
        const rel = `${dir}/${name}`;
        await user.setFileLock(sim.sim.fileIdOf(rel), { retention_period: until });
      }
    },
  },
];

interface RunOutcome {
  results: ResultMsg[];
  tripped: ResultMsg[];
  perFile: Map<string, number>;
  metrics: { passed: number; suppressed: number; tripped: number } | null;
  probesSent: number;
  probesAnswered: number;
  maxLoopDelayMs: number;
  guardStatus: string;
  warnings: string[];
}

describe('storm suite: actions that trigger themselves', function () {
  this.timeout(60_000);
  let sim: TestSim;
  let user: QumuloClient;

  before(async () => {
    const files: Record<string, string> = {};
    for (const s of SCENARIOS) {
      for (const variant of ['guard', 'none']) {
        files[`s${s.id}-${variant}/`] = '';
        for (const name of s.existing ?? []) files[`s${s.id}-${variant}/${name}`] = 'data';
      }
    }
    for (const name of fileNames('m')) files[`s6-chmod/${name}`] = 'data';
    files['s6-rename/'] = '';
    for (const name of fileNames('p')) {
      files[`s5-shared/${name}`] = 'data';
      files[`s5-local/${name}`] = 'data';
    }
    sim = await startSim({ files });
    user = new QumuloClient(sim.clientOptions());
    initHelper(tempDir('storm'));
  });
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    watchRegistry.closeAll(); // no buffered subscription outlives its scenario
  });
  after(async () => {
    await user?.close();
    await sim?.stop();
    printStormTable();
  });

  function flow(s: Scenario, dir: string, withGuard: boolean): Record<string, unknown>[] {
    const { entry, nodes } = s.nodes(dir);
    const watchTarget = withGuard ? ['guard'] : entry;
    return [
      { id: 'c1', type: 'qumulo-cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http', maxConcurrency: '8' },
      { id: 'watch', type: 'qumulo-watch', cluster: 'c1', path: `/${dir}`, recursive: true, types: s.types, wires: [watchTarget] },
      ...(withGuard ? [{ id: 'guard', type: 'qumulo-loop-guard', cluster: 'c1', hopLimit: HOP_LIMIT, wires: [entry, ['tripped'], ['metrics']] }] : []),
      ...nodes,
      { id: 'probe', type: 'function', func: 'return msg;', wires: [['probed']] },
      { id: 'results', type: 'helper' },
      { id: 'tripped', type: 'helper' },
      { id: 'metrics', type: 'helper' },
      { id: 'probed', type: 'helper' },
    ];
  }

  /** Loads the flow, fires the trigger, lets it run for `stormMs`, and counts. */
  async function runStorm(
    s: Scenario,
    dir: string,
    withGuard: boolean,
    drive: (ctx: RunContext, results: ResultMsg[]) => Promise<void> = (ctx) => s.trigger(ctx),
    stormMs = STORM_MS,
  ): Promise<RunOutcome> {
    await helper.load(NODES, flow(s, dir, withGuard), { c1: { username: 'admin', password: 'admin' } });
    const results: ResultMsg[] = [];
    const tripped: ResultMsg[] = [];
    const metricsReplies: Array<{ payload: { passed: number; suppressed: number; tripped: number } }> = [];
    let probesAnswered = 0;
    const warnings: string[] = [];
    let guardStatus = '';
    helper.getNode('results').on('input', (msg: ResultMsg) => results.push(msg));
    helper.getNode('tripped').on('input', (msg: ResultMsg) => tripped.push(msg));
    helper.getNode('metrics').on('input', (msg: { payload: { passed: number; suppressed: number; tripped: number } }) => metricsReplies.push(msg));
    helper.getNode('probed').on('input', () => probesAnswered++);
    if (withGuard) {
      const guard = helper.getNode('guard');
      guard.on('call:warn', (call: { args: unknown[] }) => warnings.push(String(call.args[0])));
      guard.on('call:status', (call: { args: Array<{ text?: string }> }) => (guardStatus = call.args[0]?.text ?? ''));
    }
    await waitUntil(() => watchRegistry.list().some((w) => w.status.state === 'watching' && w.consumers > 0), 'the watch is streaming', 15_000);

    // Node-RED must stay responsive during the storm: a probe message every 100 ms must come back.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    let probesSent = 0;
    const probe = helper.getNode('probe') as HelperNode;
    const prober = setInterval(() => {
      probesSent++;
      probe.receive({ payload: probesSent });
    }, 100);

    const started = Date.now();
    await drive({ sim, dir, user }, results);
    await sleep(Math.max(0, stormMs - (Date.now() - started)));
    clearInterval(prober);
    loopDelay.disable();

    let metrics: RunOutcome['metrics'] = null;
    if (withGuard) {
      helper.getNode('guard').receive({ topic: 'metrics' });
      await waitUntil(() => metricsReplies.length > 0, 'the guard metrics');
      metrics = metricsReplies[0].payload;
    }
    await waitUntil(() => probesAnswered >= probesSent, 'every probe answered', 5_000);
    const perFile = new Map<string, number>();
    for (const msg of results) {
      if (msg.result.outcome !== 'done') continue;
      const key = String(msg.result.fileId ?? msg.payload.fileId ?? msg.payload.path);
      perFile.set(key, (perFile.get(key) ?? 0) + 1);
    }
    return {
      results,
      tripped,
      perFile,
      metrics,
      probesSent,
      probesAnswered,
      maxLoopDelayMs: loopDelay.max / 1e6,
      guardStatus,
      warnings,
    };
  }

  function row(s: { id: string; title: string }, withGuard: boolean, outcome: RunOutcome, stormMs = STORM_MS): StormRow {
    const counts = [...outcome.perFile.values()];
    return {
      scenario: s.id,
      title: s.title,
      guard: withGuard ? 'on' : 'off',
      seconds: stormMs / 1000,
      files: FILES,
      actions: counts.reduce((a, b) => a + b, 0),
      maxPerFile: counts.length > 0 ? Math.max(...counts) : 0,
      suppressed: outcome.metrics?.suppressed ?? null,
      tripped: outcome.metrics?.tripped ?? null,
      probes: `${outcome.probesAnswered}/${outcome.probesSent}`,
      maxLoopDelayMs: Math.round(outcome.maxLoopDelayMs),
    };
  }

  for (const s of SCENARIOS) {
    describe(`scenario ${s.id}: ${s.title}`, () => {
      it(`with the guard: every file is acted on, bounded (1 action per action node where the ledger catches the echo)`, async () => {
        const outcome = await runStorm(s, `s${s.id}-guard`, true);
        recordStormRow(row(s, true, outcome));
        assert.equal(outcome.perFile.size, FILES, 'every file got its action');
        for (const [file, count] of outcome.perFile) {
          // One action per action node that acts on the genuine change: the echoes never come back.
          assert.ok(count <= s.nodes('x').entry.length, `file ${file}: ${count} actions`);
        }
        assert.ok(outcome.metrics !== null && outcome.metrics.suppressed >= FILES, `echoes suppressed: ${JSON.stringify(outcome.metrics)}`);
        assert.equal(outcome.metrics?.tripped, 0, 'the ledger caught every echo, nothing needed the hop limit');
        assert.equal(outcome.probesAnswered, outcome.probesSent, 'Node-RED stayed responsive');
        assert.match(outcome.guardStatus, /passed · \d+ echoes · 0 tripped/);
      });

      it('without the guard: the same flow runs away', async () => {
        const outcome = await runStorm(s, `s${s.id}-none`, false);
        recordStormRow(row(s, false, outcome));
        const counts = [...outcome.perFile.values()];
        const total = counts.reduce((a, b) => a + b, 0);
        // Far beyond one action per node and file: the loop feeds itself until the time is up.
        assert.ok(total >= FILES * 5, `only ${total} actions: no runaway?`);
        assert.ok(Math.max(...counts) >= 5, `max ${Math.max(...counts)} actions on one file`);
        assert.equal(outcome.probesAnswered, outcome.probesSent, 'Node-RED stayed responsive');
      });
    });
  }

  describe('scenario 6: users change the same files again after the actions', () => {
    const ROUNDS = 3;

    it('chmod: every user chmod after our chmod is acted on, our own echoes are not (no false drops)', async () => {
      const s = SCENARIOS[1];
      const dir = 's6-chmod';
      const userModes = [0o600, 0o620, 0o602];
      const outcome = await runStorm(
        s,
        dir,
        true,
        async ({ sim: testSim }, results) => {
          for (let round = 0; round < ROUNDS; round++) {
            for (const name of fileNames('m')) fs.chmodSync(testSim.disk(`${dir}/${name}`), userModes[round]);
            // The next user change comes after our action (and its echo) on every file.
            await waitUntil(() => results.filter((m) => m.result.outcome === 'done').length >= FILES * (round + 1), `round ${round + 1} acted on`);
            await sleep(200);
          }
        },
        STORM_MS + 1_000,
      );
      recordStormRow(row({ id: '6a', title: 'user chmods each file 3× after our chmod' }, true, outcome, STORM_MS + 1_000));
      assert.equal(outcome.perFile.size, FILES);
      for (const [file, count] of outcome.perFile) assert.equal(count, ROUNDS, `file ${file}: every genuine change acted on exactly once`);
      assert.equal(outcome.metrics?.passed, FILES * ROUNDS, 'exactly the user changes passed');
      assert.ok((outcome.metrics?.suppressed ?? 0) >= FILES * ROUNDS, 'every one of our chmods was recognised');
      assert.equal(outcome.metrics?.tripped, 0);
    });

    it('rename: a user renaming our renamed file again is acted on again', async () => {
      const s = SCENARIOS[0];
      const dir = 's6-rename';
      const outcome = await runStorm(
        s,
        dir,
        true,
        async ({ sim: testSim }, results) => {
          for (const name of fileNames('r')) fs.writeFileSync(testSim.disk(`${dir}/${name}`), 'v1');
          for (let round = 1; round <= ROUNDS; round++) {
            await waitUntil(() => results.filter((m) => m.result.outcome === 'done').length >= FILES * round, `round ${round} renamed`);
            await sleep(200);
            if (round === ROUNDS) break;
            // The user renames each of our results to a fresh name (a genuine move into the tree).
            for (const entry of fs.readdirSync(testSim.disk(dir))) {
              fs.renameSync(testSim.disk(`${dir}/${entry}`), testSim.disk(`${dir}/u${round}-${entry.replace(/-x\.txt$/, '.txt')}`));
            }
          }
        },
        STORM_MS + 1_000,
      );
      recordStormRow(row({ id: '6b', title: 'user renames each of our results again, 2×' }, true, outcome, STORM_MS + 1_000));
      assert.equal(outcome.perFile.size, FILES);
      for (const [file, count] of outcome.perFile) assert.equal(count, ROUNDS, `file ${file}: 1 rename + 1 per user rename`);
      assert.equal(outcome.metrics?.tripped, 0);
      const names = fs.readdirSync(sim.disk(dir)).sort();
      assert.ok(names.every((n) => /^u2-u1-r\d-x\.txt$/.test(n)), names.join(' '));
    });
  });

  describe('scenario 5: two Node-RED instances acting on each other\'s echoes', () => {
    // Two real Node-RED processes watch the same directory. Each chmods every file whose ACL
    // changes, with its own pair of modes (A: 0640/0604, B: 0660/0606), so every action really
    // changes the file and each instance's change is, for the other, an ACL change to act on.
    let redis: RedisServer;
    const instances: NodeRedProcess[] = [];
    const sinks: string[] = [];

    before(async () => {
      redis = await startRedisServer();
    });
    after(async () => {
      await Promise.all(instances.splice(0).map((nr) => nr.stop()));
      await redis?.stop();
      for (const sink of sinks) fs.rmSync(path.dirname(sink), { recursive: true, force: true });
    });

    function instanceFlow(label: string, dir: string, modes: [string, string], shared: boolean): unknown[] {
      const sinkWrite = (kind: string, fields: string) =>
        `const fs = global.get('fs'); fs.appendFileSync(env.get('SINK_FILE'), JSON.stringify({ kind: '${kind}', dir: '${dir}', ${fields} }) + '\\n'); return null;`;
      return [
        { id: `tab-${dir}`, type: 'tab', label: dir },
        { id: 'c1', type: 'qumulo-cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http', maxConcurrency: '8' },
        { id: 'r1', type: 'qumulo-redis', url: redis.url, mode: 'standalone' },
        { id: `watch-${dir}`, z: `tab-${dir}`, type: 'qumulo-watch', cluster: 'c1', path: `/${dir}`, recursive: true, types: ['child_acl_changed'], wires: [[`guard-${dir}`]] },
        {
          id: `guard-${dir}`,
          z: `tab-${dir}`,
          type: 'qumulo-loop-guard',
          name: `guard ${label}`,
          cluster: 'c1',
          redis: shared ? 'r1' : '',
          hopLimit: HOP_LIMIT,
          wires: [[`toggle-${dir}`], [`tripped-${dir}`], [`metrics-${dir}`]],
        },
        { id: `toggle-${dir}`, z: `tab-${dir}`, type: 'function', func: TOGGLE, outputs: 2, wires: [[`chmodA-${dir}`], [`chmodB-${dir}`]] },
        { id: `chmodA-${dir}`, z: `tab-${dir}`, type: 'qumulo-chmod', cluster: 'c1', mode: modes[0], applyTo: 'files', wires: [[`result-${dir}`]] },
        { id: `chmodB-${dir}`, z: `tab-${dir}`, type: 'qumulo-chmod', cluster: 'c1', mode: modes[1], applyTo: 'files', wires: [[`result-${dir}`]] },
        { id: `result-${dir}`, z: `tab-${dir}`, type: 'function', func: sinkWrite('result', 'fileId: msg.result.fileId || msg.payload.fileId, outcome: msg.result.outcome'), outputs: 0, wires: [] },
        {
          id: `tripped-${dir}`,
          z: `tab-${dir}`,
          type: 'function',
          func: sinkWrite('tripped', 'fileId: msg.payload.fileId, reason: msg.guard.reason, detail: msg.guard.detail, hop: msg.guard.hop, history: msg.guard.history.length'),
          outputs: 0,
          wires: [],
        },
        { id: `ask-${dir}`, z: `tab-${dir}`, type: 'inject', topic: 'metrics', repeat: '0.5', once: true, onceDelay: 0.1, props: [{ p: 'topic', vt: 'str' }], wires: [[`guard-${dir}`]] },
        { id: `metrics-${dir}`, z: `tab-${dir}`, type: 'function', func: sinkWrite('metrics', 'passed: msg.payload.passed, suppressed: msg.payload.suppressed, tripped: msg.payload.tripped, remote: msg.payload.intents.remote'), outputs: 0, wires: [] },
      ];
    }

    interface SinkLine {
      kind: string;
      dir: string;
      fileId?: string;
      outcome?: string;
      reason?: string;
      detail?: string;
      hop?: number;
      history?: number;
      passed?: number;
      suppressed?: number;
      tripped?: number;
      remote?: number;
    }

    function readSink(file: string, dir: string): SinkLine[] {
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as SinkLine)
        .filter((line) => line.dir === dir);
    }

    async function runPair(dir: string, shared: boolean): Promise<{ perInstance: Array<Map<string, number>>; sinks: SinkLine[][]; probes: string }> {
      const flows = [instanceFlow('A', dir, ['0640', '0604'], shared), instanceFlow('B', dir, ['0660', '0606'], shared)];
      if (instances.length === 0) {
        for (const flowNodes of flows) {
          const sinkDir = tempDir('storm-sink');
          const sink = path.join(sinkDir, 'sink.jsonl');
          sinks.push(sink);
          instances.push(
            await NodeRedProcess.start({ flows: flowNodes, credentials: { c1: { username: 'admin', password: 'admin' } }, env: { SINK_FILE: sink } }),
          );
        }
      } else {
        await Promise.all(instances.map((nr, i) => nr.deploy(flows[i], 'full')));
      }
      // Both watches streaming: a marker change must reach both instances' results… we use the
      // metrics ticks instead (the guard is deployed and answering), then a short settle.
      await waitUntil(() => sinks.every((sink) => readSink(sink, dir).some((l) => l.kind === 'metrics')), 'both guards answer', 30_000);
      await waitUntil(() => sim.sim.openStreams() >= 2, 'both watches are streaming', 30_000);
      await sleep(300);

      let probesSent = 0;
      let probesAnswered = 0;
      const prober = setInterval(() => {
        for (const nr of instances) {
          probesSent++;
          nr.getFlows().then(
            () => probesAnswered++,
            () => undefined,
          );
        }
      }, 250);
      const started = Date.now();
      for (const name of fileNames('p')) fs.chmodSync(sim.disk(`${dir}/${name}`), 0o600);
      await sleep(Math.max(0, STORM_MS + 1_000 - (Date.now() - started)));
      clearInterval(prober);
      await waitUntil(() => probesAnswered >= probesSent, 'every probe answered', 10_000);
      await sleep(600); // one more metrics tick after the storm

      const lines = sinks.map((sink) => readSink(sink, dir));
      const perInstance = lines.map((instanceLines) => {
        const counts = new Map<string, number>();
        for (const l of instanceLines) if (l.kind === 'result' && l.outcome === 'done') counts.set(String(l.fileId), (counts.get(String(l.fileId)) ?? 0) + 1);
        return counts;
      });
      return { perInstance, sinks: lines, probes: `${probesAnswered}/${probesSent}` };
    }

    function lastMetrics(lines: SinkLine[]): SinkLine {
      const metrics = lines.filter((l) => l.kind === 'metrics');
      return metrics[metrics.length - 1];
    }

    function pairRow(id: string, title: string, guard: string, run: Awaited<ReturnType<typeof runPair>>): StormRow {
      const totals = new Map<string, number>();
      for (const counts of run.perInstance) for (const [file, n] of counts) totals.set(file, (totals.get(file) ?? 0) + n);
      const metrics = run.sinks.map(lastMetrics);
      return {
        scenario: id,
        title,
        guard,
        seconds: (STORM_MS + 1_000) / 1000,
        files: FILES,
        actions: [...totals.values()].reduce((a, b) => a + b, 0),
        maxPerFile: Math.max(0, ...totals.values()),
        suppressed: metrics.reduce((n, m) => n + (m?.suppressed ?? 0), 0),
        tripped: metrics.reduce((n, m) => n + (m?.tripped ?? 0), 0),
        probes: run.probes,
        maxLoopDelayMs: NaN,
      };
    }

    it('sharing the Redis ledger: each instance acts once per file, the peer\'s echoes are recognised', async () => {
      const run = await runPair('s5-shared', true);
      recordStormRow(pairRow('5', 'two instances, shared Redis ledger (A: 0640/0604, B: 0660/0606)', 'on, shared', run));
      for (const [i, counts] of run.perInstance.entries()) {
        assert.equal(counts.size, FILES, `instance ${'AB'[i]} acted on every file`);
        for (const [file, n] of counts) assert.equal(n, 1, `instance ${'AB'[i]}, file ${file}: ${n} actions`);
        const metrics = lastMetrics(run.sinks[i]);
        assert.equal(metrics.tripped, 0, `instance ${'AB'[i]}: nothing tripped`);
        assert.ok((metrics.remote ?? 0) >= FILES, `instance ${'AB'[i]} read its peer's intents`);
        assert.ok((metrics.suppressed ?? 0) >= 2 * FILES, `instance ${'AB'[i]} dropped its own and its peer's echoes: ${JSON.stringify(metrics)}`);
      }
    });

    it('with local ledgers only: the ping-pong is bounded by the hop limit, and the tripped output says why', async () => {
      const run = await runPair('s5-local', false);
      recordStormRow(pairRow('5', 'two instances, local ledgers only (control)', 'on, local', run));
      for (const [i, counts] of run.perInstance.entries()) {
        for (const [file, n] of counts) assert.ok(n <= HOP_LIMIT, `instance ${'AB'[i]}, file ${file}: ${n} actions > hop limit`);
      }
      const trips = run.sinks.flat().filter((l) => l.kind === 'tripped');
      assert.ok(trips.length >= FILES, `the loop tripped for every file: ${trips.length}`);
      assert.ok(trips.every((t) => t.reason === 'hop-limit' && (t.hop ?? 0) > HOP_LIMIT && /hop limit 16 reached/.test(t.detail ?? '') && (t.history ?? 0) > 0));
      const total = run.perInstance.reduce((n, counts) => n + [...counts.values()].reduce((a, b) => a + b, 0), 0);
      assert.ok(total > 4 * FILES, `the instances did ping-pong (${total} actions) until the hop limit stopped them`);
      assert.ok(instances.some((nr) => /loop guard: hop limit 16 reached/.test(nr.output())), 'the node warned');
    });
  });
});
