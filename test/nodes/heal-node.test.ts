// Acceptance of issue 7 with the lock flow (qumulo-watch → qumulo-lock) on the real simulator:
// 1,000 files created while the watch is blind all end up locked and files that existed unchanged
// are not touched — after a dropped stream (snapshot diff), with checkpoints off (tree walk), after
// the simulator's overflow fault, and across a Node-RED process restart (a child process killed
// with -9 in the middle). Deletions and renames in the gap come out as removed + added events; a
// removed watch node deletes its checkpoints.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { QumuloEvent } from '../../core/event';
import type { HealResult } from '../../core/heal/types';
import { QumuloClient } from '../../core/qumulo/client';
import { watchRegistry } from '../../core/watch/registry';
import { Collector, helper, initHelper, tempDir } from '../support/actions';
import { exampleEnv } from '../support/shipping';
import { NodeRedProcess } from '../support/nr-process';
import { startSim, type TestSim } from '../support/sim';
import { backdate, byPath, duringOutage, numbered, sleep, waitUntil, writeFiles } from '../support/heal';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const clusterModule = require('../../nodes/qumulo-cluster');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const watchModule = require('../../nodes/qumulo-watch');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lockModule = require('../../nodes/qumulo-lock');

const GAP_FILES = 1000;
const OLD_FILES = numbered('vault', 20, 'old');
const TOLERANCE = '1s';

function oldTree(): Record<string, string> {
  const files: Record<string, string> = { 'vault/gone.txt': 'gone', 'vault/ren.txt': 'ren' };
  for (const rel of OLD_FILES) files[rel] = 'old';
  return files;
}

/** Waits until every file is under legal hold (read from the simulator's lock table). */
async function allLocked(sim: TestSim, rels: string[], timeoutMs = 60_000): Promise<void> {
  await waitUntil(() => rels.every((rel) => sim.sim.lockOf(rel).legal_hold), timeoutMs, `legal hold on ${rels.length} files (${rels.filter((r) => !sim.sim.lockOf(r).legal_hold).length} still unlocked)`);
}

function untouched(sim: TestSim, rels: string[]): string[] {
  return rels.filter((rel) => sim.sim.lockOf(rel).legal_hold || sim.sim.lockOf(rel).retention_period !== null);
}

describe('qumulo-watch heals gaps: the lock flow locks every file of the gap (test helper)', function () {
  this.timeout(120_000);
  let sim: TestSim;
  let client: QumuloClient;
  let userDir: string;
  const registryDefaults = { ...watchRegistry.settings };

  before(() => {
    userDir = tempDir('heal-userdir');
    initHelper(userDir);
    watchRegistry.configure({ backoffInitialMs: 50, backoffMaxMs: 200 });
  });
  after(() => {
    watchRegistry.configure(registryDefaults);
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    sim = await startSim({ files: oldTree() });
    client = new QumuloClient(sim.clientOptions());
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    watchRegistry.closeAll();
    await helper.stopServer();
    await client.close();
    await sim.stop();
  });

  async function load(watchProps: Record<string, unknown>) {
    const flow = [
      { id: 'tab', type: 'tab', label: 'heal' },
      { id: 'cluster', type: 'qumulo-cluster', name: 'sim', host: sim.host, port: String(sim.port), protocol: 'http', maxConcurrency: '8' },
      {
        id: 'watch', type: 'qumulo-watch', z: 'tab', cluster: 'cluster', path: '/vault', recursive: true, types: [],
        heal: true, checkpoints: false, checkpointInterval: '1h', checkpointExpiry: '1d', healTolerance: TOLERANCE,
        x: 100, y: 100, wires: [['lock', 'events'], ['heals']], ...watchProps,
      },
      { id: 'lock', type: 'qumulo-lock', z: 'tab', cluster: 'cluster', retention: '', legalHold: 'on', x: 300, y: 100, wires: [[]] },
      { id: 'events', type: 'helper', z: 'tab', x: 300, y: 200 },
      { id: 'heals', type: 'helper', z: 'tab', x: 300, y: 300 },
    ];
    await helper.load([clusterModule, watchModule, lockModule], flow, { cluster: { username: 'admin', password: 'admin' } });
    return {
      events: new Collector<{ payload: QumuloEvent; topic: string }>(helper.getNode('events')),
      heals: new Collector<{ payload: HealResult; topic: string }>(helper.getNode('heals')),
    };
  }

  async function streamOpen(): Promise<void> {
    await waitUntil(() => sim.sim.openStreams() === 1, 10_000, 'the watch stream');
  }

  async function checkpointTaken(): Promise<void> {
    let count = 0;
    await waitUntil(() => {
      void client.listSnapshots().then((list) => (count = list.length));
      return count === 1;
    }, 10_000, 'the first checkpoint snapshot');
    await sleep(1_200); // older than the tolerance when the gap starts
  }

  it('drop the stream, create 1,000 files, restore: all locked through the diff; old files untouched; deletes and renames typed', async () => {
    const { events, heals } = await load({ checkpoints: true });
    await streamOpen();
    await checkpointTaken();
    const created = numbered('vault', GAP_FILES, 'gap');
    await duringOutage(sim, () => {
      writeFiles(sim, created);
      fs.rmSync(sim.disk('vault/gone.txt'));
      fs.renameSync(sim.disk('vault/ren.txt'), sim.disk('vault/ren-moved.txt'));
    });
    const { payload: result, topic } = await heals.one(60_000);
    assert.equal(topic, 'qumulo/heal');
    assert.equal(result.outcome, 'healed', result.error);
    assert.equal(result.method, 'diff');
    assert.equal(result.gap.reason, 'error');
    assert.deepEqual(result.counts, { created: GAP_FILES + 1, modified: 0, deleted: 2 });
    await allLocked(sim, [...created, 'vault/ren-moved.txt']);
    assert.deepEqual(untouched(sim, OLD_FILES), [], 'files that existed unchanged before the gap are not locked');

    const synthetic = events.messages.map((m) => m.payload).filter((e) => e.resync);
    assert.equal(synthetic.length, GAP_FILES + 3);
    const types = byPath(synthetic);
    assert.deepEqual(types['/vault/gone.txt'], ['child_file_removed']);
    assert.deepEqual(types['/vault/ren.txt'], ['child_file_removed']);
    assert.deepEqual(types['/vault/ren-moved.txt'], ['child_file_added']);
    for (const rel of created) assert.deepEqual(types['/' + rel], ['child_file_added'], rel);
    for (const e of synthetic) assert.equal(events.messages.find((m) => m.payload === e)?.topic, e.type);
    const seqs = events.messages.map((m) => m.payload.seq);
    assert.equal(new Set(seqs).size, seqs.length, 'seq stays unique across live and healed events');
    // The status says the gap was healed and how many events the heal sent.
    const statuses = (helper.getNode('watch') as unknown as { status: { args: Array<[{ text?: string }]> } }).status.args;
    await waitUntil(() => /· gap \d+ s · healed 1003$/.test(statuses.at(-1)?.[0].text ?? ''), 10_000, `a healed status (last: ${statuses.at(-1)?.[0].text})`);
  });

  it('with checkpoints off the walk finds them: all locked, old files untouched, no snapshot taken', async () => {
    await backdate(client, ['/vault/gone.txt', '/vault/ren.txt', ...OLD_FILES.map((r) => '/' + r)]);
    const { heals } = await load({ checkpoints: false });
    await streamOpen();
    const created = numbered('vault', GAP_FILES, 'walk');
    await duringOutage(sim, () => writeFiles(sim, created));
    const { payload: result } = await heals.one(60_000);
    assert.equal(result.outcome, 'healed', result.error);
    assert.equal(result.method, 'walk');
    assert.equal(result.counts.created, GAP_FILES);
    await allLocked(sim, created);
    assert.deepEqual(untouched(sim, OLD_FILES), []);
    assert.deepEqual(await client.listSnapshots(), []);
  });

  it('a slow walk shows its progress in the node status: entries done / ~estimate · rate', async () => {
    const { heals } = await load({ checkpoints: false });
    await streamOpen();
    const created = Array.from({ length: 16 }, (_, d) => numbered(`vault/d${d}`, 4, 'slow')).flat();
    await duringOutage(sim, () => {
      writeFiles(sim, created);
      sim.sim.faults.latencyMs = 200; // every listing of the walk takes a while
    });
    const { payload: result } = await heals.one(60_000);
    sim.sim.faults.latencyMs = 0;
    assert.equal(result.method, 'walk');
    const texts = (helper.getNode('watch') as unknown as { status: { args: Array<[{ text?: string }]> } }).status.args.map(([dot]) => dot.text ?? '');
    const progress = texts.filter((t) => /^healing [\d,]+\/~[\d,]+ · [\d.]+k?\/s \(walk, .*gap\)$/.test(t));
    assert.ok(progress.length > 0, `no progress status among: ${texts.join(' | ')}`);
    // The estimate is the aggregates of /vault: the old files, the 16 new directories and their files.
    const estimate = Number(/~([\d,]+)/.exec(progress[progress.length - 1])![1].replace(/,/g, ''));
    assert.equal(estimate, OLD_FILES.length + 2 + 16 + created.length);
  });

  it("after the simulator's overflow fault: all locked, old files untouched", async () => {
    const { heals } = await load({ checkpoints: true });
    await streamOpen();
    await checkpointTaken();
    sim.sim.faults.errorRate = 1; // refuse reconnects while the files are written
    assert.equal(sim.sim.overflowStreams(), 1);
    const created = numbered('vault', GAP_FILES, 'ovf');
    writeFiles(sim, created);
    await sleep(400);
    sim.sim.faults.errorRate = 0;
    const { payload: result } = await heals.one(60_000);
    assert.equal(result.outcome, 'healed', result.error);
    assert.equal(result.gap.reason, 'stream-end');
    assert.equal(result.method, 'diff');
    await allLocked(sim, created);
    assert.deepEqual(untouched(sim, OLD_FILES), []);
  });

  it('a deploy that restarts the watch node is no gap: no heal, files written around it are delivered live', async () => {
    const { heals } = await load({ checkpoints: false });
    await streamOpen();
    const flows = [
      { id: 'tab', type: 'tab', label: 'heal' },
      { id: 'cluster', type: 'qumulo-cluster', name: 'sim', host: sim.host, port: String(sim.port), protocol: 'http', maxConcurrency: '8' },
      {
        id: 'watch', type: 'qumulo-watch', z: 'tab', name: 'renamed, so restarted', cluster: 'cluster', path: '/vault', recursive: true, types: [],
        heal: true, checkpoints: false, healTolerance: TOLERANCE, x: 100, y: 100, wires: [['lock', 'events'], ['heals']],
      },
      { id: 'lock', type: 'qumulo-lock', z: 'tab', cluster: 'cluster', retention: '', legalHold: 'on', x: 300, y: 100, wires: [[]] },
      { id: 'events', type: 'helper', z: 'tab', x: 300, y: 200 },
      { id: 'heals', type: 'helper', z: 'tab', x: 300, y: 300 },
    ];
    writeFiles(sim, ['vault/before-deploy.txt']);
    await helper.setFlows(flows, 'nodes', { cluster: { username: 'admin', password: 'admin' } });
    writeFiles(sim, ['vault/after-deploy.txt']);
    await allLocked(sim, ['vault/before-deploy.txt', 'vault/after-deploy.txt']);
    assert.deepEqual(heals.messages, [], 'a deploy is not a gap');
    const marker = fs.readdirSync(path.join(userDir, 'qumulo-flow-heal')).map((name) => JSON.parse(fs.readFileSync(path.join(userDir, 'qumulo-flow-heal', name), 'utf8')));
    const mine = marker.filter((m) => m.watchRoot === '/vault' && m.consumerId === 'watch' && m.pending === null && m.removed === false);
    assert.ok(mine.length >= 1, JSON.stringify(marker));
  });

  it('the shipped example (05) heals a gap: every file that arrived meanwhile gets its legal hold', async () => {
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'examples', '05 - Gap healing - lock files that arrive while the watch is blind.json'), 'utf8')) as Array<Record<string, unknown>>;
    fs.mkdirSync(sim.disk('incoming'), { recursive: true });
    // As a user runs it: the cluster from QUMULO_* (npm start sets them), Dry run unticked.
    const restoreEnv = exampleEnv(sim.sim.clusterEnv());
    try {
      const cluster = example.find((n) => n.type === 'qumulo-cluster')!;
      const flow = example.map((n) => {
        if (n.type === 'qumulo-cluster') return { ...n, credentials: undefined };
        if (n.type === 'qumulo-lock') return { ...n, dryRun: false };
        if (n.type === 'debug') return { id: n.id, type: 'helper', z: n.z };
        return n;
      });
      await helper.load([clusterModule, watchModule, lockModule], flow, { [String(cluster.id)]: cluster.credentials as Record<string, string> });
      const results = new Collector<{ payload: HealResult }>(helper.getNode('qf-ex-heal-result'));
      await streamOpen();
      const arrived = numbered('incoming', 50, 'arrived');
      await duringOutage(sim, () => writeFiles(sim, arrived));
      const { payload: result } = await results.one(60_000);
      assert.equal(result.outcome, 'healed', result.error);
      await allLocked(sim, arrived);
    } finally {
      restoreEnv();
    }
  });

  it('a removed watch node deletes its checkpoint snapshots and leaves a marker for a re-added watch', async () => {
    await load({ checkpoints: true });
    await streamOpen();
    await checkpointTaken();
    await helper.setFlows([{ id: 'tab', type: 'tab', label: 'heal' }, { id: 'cluster', type: 'qumulo-cluster', name: 'sim', host: sim.host, port: String(sim.port), protocol: 'http' }], 'full', {
      cluster: { username: 'admin', password: 'admin' },
    });
    let left = -1;
    await waitUntil(() => {
      void client.listSnapshots().then((list) => (left = list.length));
      return left === 0;
    }, 10_000, 'checkpoints deleted');
    const markers = fs.readdirSync(path.join(userDir, 'qumulo-flow-heal')).map((name) => JSON.parse(fs.readFileSync(path.join(userDir, 'qumulo-flow-heal', name), 'utf8')));
    assert.ok(markers.some((m) => m.consumerId === 'watch' && m.removed === true && m.checkpoints.length === 0), JSON.stringify(markers));
  });
});

describe('qumulo-watch heals across a Node-RED process restart (child process, kill -9)', function () {
  this.timeout(180_000);
  let sim: TestSim;
  let nr: NodeRedProcess | undefined;
  let client: QumuloClient;
  let resultsFile: string;

  before(async () => {
    sim = await startSim({ files: oldTree() });
    client = new QumuloClient(sim.clientOptions());
    resultsFile = path.join(tempDir('heal-results'), 'heals.jsonl');
  });
  after(async () => {
    await nr?.stop();
    await client.close();
    await sim.stop();
    fs.rmSync(path.dirname(resultsFile), { recursive: true, force: true });
  });

  function results(): HealResult[] {
    if (!fs.existsSync(resultsFile)) return [];
    return fs.readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as HealResult);
  }

  it('kill -9 in the middle, 1,000 files created while down: all locked after the restart, old files untouched', async () => {
    nr = await NodeRedProcess.start({
      flows: [
        { id: 'tab', type: 'tab', label: 'heal' },
        { id: 'cluster', type: 'qumulo-cluster', name: 'sim', host: sim.host, port: String(sim.port), protocol: 'http', maxConcurrency: '8' },
        {
          id: 'watch', type: 'qumulo-watch', z: 'tab', cluster: 'cluster', path: '/vault', recursive: true, types: [],
          heal: true, checkpoints: true, checkpointInterval: '1h', checkpointExpiry: '1d', healTolerance: TOLERANCE,
          x: 100, y: 100, wires: [['lock'], ['results']],
        },
        { id: 'lock', type: 'qumulo-lock', z: 'tab', cluster: 'cluster', retention: '', legalHold: 'on', x: 300, y: 100, wires: [[]] },
        {
          id: 'results', type: 'function', z: 'tab', x: 300, y: 200, outputs: 0, wires: [],
          func: "global.get('fs').appendFileSync(env.get('HEAL_RESULTS'), JSON.stringify(msg.payload) + '\\n');\nreturn null;",
        },
      ],
      credentials: { cluster: { username: 'admin', password: 'admin' } },
      env: { HEAL_RESULTS: resultsFile },
    });
    await waitUntil(() => sim.sim.openStreams() === 1, 20_000, 'the watch stream');
    let snapshots = 0;
    await waitUntil(() => {
      void client.listSnapshots().then((list) => (snapshots = list.length));
      return snapshots === 1;
    }, 20_000, 'the first checkpoint');
    // The marker is advanced every 5 s while healthy: let one tick pass after the checkpoint.
    await sleep(6_000);

    await nr.kill();
    const created = numbered('vault', GAP_FILES, 'down');
    writeFiles(sim, created);
    fs.rmSync(sim.disk('vault/gone.txt'));
    await sleep(300);
    await nr.restart();

    await waitUntil(() => results().length > 0, 60_000, `a heal result (Node-RED output:\n${nr.output()})`);
    const [result] = results();
    assert.equal(result.outcome, 'healed', result.error);
    assert.equal(result.gap.reason, 'restart');
    assert.equal(result.method, 'diff', result.fallbackReason);
    assert.equal(result.counts.created, GAP_FILES);
    assert.equal(result.counts.deleted, 1);
    await allLocked(sim, created, 90_000);
    assert.deepEqual(untouched(sim, OLD_FILES), [], 'files that existed unchanged before the restart are not locked');
  });
});
