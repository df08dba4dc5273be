// Per-file coalescing in the action nodes and the lock's request budget, in a real Node-RED
// runtime (test helper) against the real simulator over HTTP. Requests are counted in the
// simulator's own request log.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { QumuloClusterNode } from '../../nodes/lib/cluster';
import { startSim, type TestSim } from '../support/sim';
import { Collector, clusterNode, eventFor, helper, initHelper, tempDir, type ResultMsg } from '../support/actions';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const clusterModule = require('../../nodes/qumulo-cluster');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lockModule = require('../../nodes/qumulo-lock');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const chmodModule = require('../../nodes/qumulo-chmod');

interface Stamped<M> {
  at: number;
  msg: M;
}

/** Like Collector, with the arrival order of each message across collectors. */
class StampedCollector<M = ResultMsg> {
  readonly messages: Array<Stamped<M>> = [];
  constructor(node: { on(event: string, cb: (msg: M) => void): void }, clock: { tick: number }) {
    node.on('input', (msg: M) => this.messages.push({ at: clock.tick++, msg }));
  }
}

describe('action nodes: per-file coalescing and requests per lock (simulator, real runtime)', function () {
  this.timeout(20_000);
  let sim: TestSim;
  let userDir: string;

  before(() => {
    userDir = tempDir('coalesce-userdir');
    initHelper(userDir);
  });
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  beforeEach(async () => {
    sim = await startSim({ files: { 'in/a.txt': 'a', 'in/b.txt': 'b', 'in/c.txt': 'c', 'in/locked.txt': 'l' } });
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await sim.stop();
  });

  async function load(type: 'qumulo-lock' | 'qumulo-chmod', props: Record<string, unknown>) {
    const cluster = clusterNode(sim);
    const flow = [
      { id: 'tab', type: 'tab', label: 'coalesce' },
      cluster.node,
      { id: 'act', type, z: 'tab', cluster: 'cluster', x: 100, y: 100, wires: [['out']], ...props },
      { id: 'out', type: 'helper', z: 'tab', x: 300, y: 100 },
      { id: 'complete', type: 'complete', z: 'tab', scope: ['act'], uncaught: false, x: 100, y: 200, wires: [['completed']] },
      { id: 'completed', type: 'helper', z: 'tab', x: 300, y: 200 },
      { id: 'catch', type: 'catch', z: 'tab', scope: ['act'], uncaught: false, x: 100, y: 300, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab', x: 300, y: 300 },
    ];
    await helper.load([clusterModule, lockModule, chmodModule], flow, cluster.credentials);
    const client = (helper.getNode('cluster') as unknown as QumuloClusterNode).client!;
    await client.whoAmI(); // logged in: the requests counted below are the actions' own
    const clock = { tick: 0 };
    return {
      act: helper.getNode('act'),
      out: new Collector(helper.getNode('out')),
      stampedOut: new StampedCollector(helper.getNode('out'), clock),
      completed: new StampedCollector<{ _msgid: string }>(helper.getNode('completed'), clock),
      caught: new Collector(helper.getNode('caught')),
    };
  }

  /** Requests the simulator logged from here on (`METHOD /path`). */
  function requestsFrom(): () => string[] {
    const start = sim.sim.requestLog.length;
    return () => sim.sim.requestLog.slice(start);
  }

  it('events for one file while its lock is in flight join it: one PATCH, one result per message, done() after the shared lock', async () => {
    const { act, out, stampedOut, completed } = await load('qumulo-lock', { retention: '1d', legalHold: 'leave', relockThreshold: '1d' });
    sim.sim.faults.latencyMs = 40; // the lock stays in flight while the burst arrives
    const requests = requestsFrom();
    const burst = [
      eventFor(sim, 'in/a.txt', 'child_file_added'),
      eventFor(sim, 'in/a.txt', 'child_data_written'),
      eventFor(sim, 'in/a.txt', 'child_size_changed'),
      eventFor(sim, 'in/a.txt', 'child_data_written'),
      eventFor(sim, 'in/b.txt', 'child_file_added'),
    ];
    for (const [i, payload] of burst.entries()) act.receive({ payload, seq: i });
    const results = await out.next(5);
    const forA = results.filter((m) => m.payload.path === '/in/a.txt');
    const lead = forA.filter((m) => m.result.joined !== true);
    assert.equal(lead.length, 1, 'one lock for a.txt');
    assert.equal(lead[0].result.outcome, 'done', lead[0].result.detail);
    const joined = forA.filter((m) => m.result.joined === true);
    assert.equal(joined.length, 3, 'the three later events joined');
    for (const m of joined) {
      assert.equal(m.result.outcome, 'done');
      assert.equal(m.result.joinedTo, lead[0]._msgid);
      assert.equal(m.result.retentionPeriod, lead[0].result.retentionPeriod);
      assert.match(m.result.detail, /joined/);
      assert.equal(m.results.length, 1, 'each message carries its own result');
    }
    assert.deepEqual(
      forA.map((m) => m.seq).sort(),
      [0, 1, 2, 3],
      'every input message came out once',
    );
    const b = results.find((m) => m.payload.path === '/in/b.txt')!;
    assert.equal(b.result.joined, undefined, 'another file does not join');
    assert.equal(b.result.outcome, 'done');
    // The simulator saw exactly one PATCH per file and no read (both files were just added).
    assert.deepEqual(requests().sort(), ['PATCH /v1/files/' + sim.sim.fileIdOf('in/a.txt') + '/file-lock', 'PATCH /v1/files/' + sim.sim.fileIdOf('in/b.txt') + '/file-lock'].sort());
    assert.notEqual(sim.sim.lockOf('in/a.txt').retention_period, null);
    // done() for every input, each only after the shared lock had produced its result.
    await waitUntil(() => completed.messages.length === 5, 'five completions');
    const leadResultAt = stampedOut.messages.find((s) => s.msg.result.joined !== true && s.msg.payload.path === '/in/a.txt')!.at;
    for (const s of completed.messages) {
      const own = stampedOut.messages.find((o) => o.msg._msgid === s.msg._msgid)!;
      assert.ok(s.at > own.at, 'done() after the message was sent');
      if (own.msg.payload.path === '/in/a.txt') assert.ok(s.at > leadResultAt, 'done() of a joined message after the shared lock finished');
    }
    assert.equal(new Set(completed.messages.map((s) => s.msg._msgid)).size, 5, 'one done() per message');
  });

  it('a realistic burst (added + 10 chunks) costs one request per locked file, later events answered from the lock just seen', async () => {
    const { act, out } = await load('qumulo-lock', { retention: '30d', legalHold: 'leave', relockThreshold: '1d' });
    sim.sim.faults.latencyMs = 10;
    const requests = requestsFrom();
    const files = ['in/a.txt', 'in/b.txt', 'in/c.txt'];
    for (const rel of files) act.receive({ payload: eventFor(sim, rel, 'child_file_added') });
    // Half of the chunks arrive while the locks are in flight, half after they landed.
    for (let chunk = 0; chunk < 5; chunk++) for (const rel of files) act.receive({ payload: eventFor(sim, rel, 'child_data_written') });
    const first = await out.next(3 + 15);
    for (let chunk = 0; chunk < 5; chunk++) for (const rel of files) act.receive({ payload: eventFor(sim, rel, 'child_data_written') });
    const later = await out.next(15);
    assert.equal(first.filter((m) => m.result.outcome === 'done' && m.result.joined !== true).length, 3);
    for (const m of later) {
      assert.equal(m.result.outcome, 'skipped', m.result.detail);
      assert.match(m.result.detail, /already locked until/);
    }
    assert.equal(requests().length, 3, `one request per locked file, got ${requests().join(', ')}`);
  });

  it('a joined failure fails every joined message: failed result and done(err) each', async () => {
    const { act, out, caught } = await load('qumulo-chmod', { mode: 'go-rwx', applyTo: 'files' });
    // The file is locked, so the cluster refuses the chmod with 403.
    const client = (helper.getNode('cluster') as unknown as QumuloClusterNode).client!;
    await client.setFileLock('/in/locked.txt', { retention_period: '2031-01-01T00:00:00Z' });
    fs.chmodSync(sim.disk('in/locked.txt'), 0o666);
    sim.sim.faults.latencyMs = 40;
    for (let i = 0; i < 3; i++) act.receive({ payload: eventFor(sim, 'in/locked.txt', 'child_data_written') });
    const results = await out.next(3);
    assert.deepEqual(results.map((m) => m.result.outcome), ['failed', 'failed', 'failed']);
    assert.equal(results.filter((m) => m.result.joined === true).length, 2);
    const errors = await caught.next(3);
    assert.equal(new Set(errors.map((m) => m._msgid)).size, 3, 'every message reached the Catch node');
  });
});

describe('qumulo-lock without a prior read: the cluster answers Qumulo may give (§4.1 UNCONFIRMED)', function () {
  this.timeout(20_000);
  let sim: TestSim;
  let userDir: string;

  before(() => {
    userDir = tempDir('noread-userdir');
    initHelper(userDir);
  });
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  beforeEach(async () => {
    sim = await startSim({ files: { 'in/new.txt': 'n', 'in/longer.txt': 'l', 'in/sub/': '' } });
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await sim.stop();
  });

  async function load(props: Record<string, unknown>) {
    const cluster = clusterNode(sim);
    await helper.load(
      [clusterModule, lockModule],
      [
        { id: 'tab', type: 'tab', label: 'no read' },
        cluster.node,
        { id: 'lock', type: 'qumulo-lock', z: 'tab', cluster: 'cluster', x: 100, y: 100, wires: [['out']], ...props },
        { id: 'out', type: 'helper', z: 'tab', x: 300, y: 100 },
      ],
      cluster.credentials,
    );
    const client = (helper.getNode('cluster') as unknown as QumuloClusterNode).client!;
    await client.whoAmI();
    return { lock: helper.getNode('lock'), out: new Collector(helper.getNode('out')), client };
  }

  const lockPatch = (rel: string) => `PATCH /v1/files/${sim.sim.fileIdOf(rel)}/file-lock`;
  const lockRead = (rel: string) => `GET /v1/files/${sim.sim.fileIdOf(rel)}/info/attributes`;

  it('a just-added file is locked with one PATCH, also when the answer leaves out the lock', async () => {
    const { lock, out } = await load({ retention: '30d', legalHold: 'leave' });
    const start = sim.sim.requestLog.length;
    lock.receive({ payload: eventFor(sim, 'in/new.txt') });
    const [msg] = await out.next(1);
    assert.equal(msg.result.outcome, 'done', msg.result.detail);
    assert.equal(msg.result.previous, null, 'not read: nothing claimed about the lock before');
    assert.equal(msg.result.retentionPeriod, sim.sim.lockOf('in/new.txt').retention_period);
    assert.deepEqual(sim.sim.requestLog.slice(start), [lockPatch('in/new.txt')]);

    await helper.unload();
    sim.sim.faults.lockAnswerOmitsLock = true;
    const second = await load({ retention: '2040-01-01', legalHold: 'on' });
    second.lock.receive({ payload: eventFor(sim, 'in/longer.txt') });
    const [bare] = await second.out.next(1);
    assert.equal(bare.result.outcome, 'done', bare.result.detail);
    assert.equal(bare.result.retentionPeriod, '2040-01-01T00:00:00Z', 'taken from the request when the answer has no lock');
    assert.equal(bare.result.legalHold, true);
    assert.deepEqual(sim.sim.lockOf('in/longer.txt'), { legal_hold: true, retention_period: '2040-01-01T00:00:00Z' });
  });

  for (const answer of ['error-400', 'error-403', 'unchanged-200'] as const) {
    it(`an "added" file already locked longer is reported skipped, exactly (cluster answers ${answer})`, async () => {
      const { lock, out, client } = await load({ retention: '30d', legalHold: 'leave' });
      await client.setFileLock('/in/longer.txt', { retention_period: '2045-06-30T00:00:00Z' });
      sim.sim.faults.lockShortenAnswer = answer;
      const start = sim.sim.requestLog.length;
      lock.receive({ payload: eventFor(sim, 'in/longer.txt') });
      const [msg] = await out.next(1);
      assert.equal(msg.result.outcome, 'skipped', msg.result.detail);
      assert.match(msg.result.detail, /already locked until 2045-06-30T00:00:00Z/);
      assert.equal(msg.result.retentionPeriod, '2045-06-30T00:00:00Z');
      assert.equal(sim.sim.lockOf('in/longer.txt').retention_period, '2045-06-30T00:00:00Z', 'never shortened');
      const expected = answer === 'unchanged-200' ? [lockPatch('in/longer.txt')] : [lockPatch('in/longer.txt'), lockRead('in/longer.txt')];
      assert.deepEqual(sim.sim.requestLog.slice(start), expected);
    });
  }

  it('a refused PATCH is explained by one read: a directory reported as a file is skipped', async () => {
    const { lock, out } = await load({ retention: '30d', legalHold: 'leave' });
    // A directory reported as a file (the event's type claims a file): the PATCH is refused, the read says why.
    lock.receive({ payload: { ...eventFor(sim, 'in/sub'), type: 'child_file_added', isDirectory: null } });
    const [msg] = await out.next(1);
    assert.equal(msg.result.outcome, 'skipped');
    assert.match(msg.result.detail, /directories cannot be locked/);
  });
});

async function waitUntil(check: () => boolean, what: string, waitMs = 5_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
