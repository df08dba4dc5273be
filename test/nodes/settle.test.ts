// qumulo-settle in a real Node-RED runtime: a file written in 50 chunks over 3 s, observed by the
// real watch node on the real simulator, is locked once, after the last write; held events are
// handed over across deploys (nodes and full) and flushed on removal; the cap is honoured.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { MutationIntent } from '../../core/qumulo/types';
import type { QumuloClusterNode } from '../../nodes/lib/cluster';
import { startSim, type TestSim } from '../support/sim';
import { Collector, clusterNode, eventFor, helper, initHelper, tempDir, waitFor, type ResultMsg } from '../support/actions';

/* eslint-disable @typescript-eslint/no-require-imports */
const clusterModule = require('../../nodes/qumulo-cluster');
const watchModule = require('../../nodes/qumulo-watch');
const settleModule = require('../../nodes/qumulo-settle');
const lockModule = require('../../nodes/qumulo-lock');
/* eslint-enable @typescript-eslint/no-require-imports */

type SettledMsg = ResultMsg & { settle: { count: number; firstAt: number; lastAt: number; types: string[]; reason: string } };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('qumulo-settle node (real runtime)', function () {
  this.timeout(60_000);
  let sim: TestSim;
  let userDir: string;

  before(() => {
    userDir = tempDir('settle-userdir');
    initHelper(userDir);
  });
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  beforeEach(async () => {
    sim = await startSim({ files: { 'in/': '', 'in/a.txt': 'a', 'in/b.txt': 'b', 'in/c.txt': 'c' } });
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await sim.stop();
  });

  it('a file written in 50 chunks over 3 s is locked once, after the last write (watch → settle → lock)', async () => {
    const cluster = clusterNode(sim);
    const flow = [
      { id: 'tab', type: 'tab', label: 'settle' },
      cluster.node,
      { id: 'watch', type: 'qumulo-watch', z: 'tab', cluster: 'cluster', path: '/in', recursive: true, types: ['child_file_added', 'child_data_written', 'child_size_changed'], x: 100, y: 100, wires: [['settle']] },
      { id: 'settle', type: 'qumulo-settle', z: 'tab', quietSeconds: '1', maxPending: '100', x: 250, y: 100, wires: [['lock', 'settled']] },
      { id: 'lock', type: 'qumulo-lock', z: 'tab', cluster: 'cluster', retention: '7d', legalHold: 'leave', relockThreshold: '0', x: 400, y: 100, wires: [['locked']] },
      { id: 'settled', type: 'helper', z: 'tab', x: 400, y: 200 },
      { id: 'locked', type: 'helper', z: 'tab', x: 550, y: 100 },
    ];
    await helper.load([clusterModule, watchModule, settleModule, lockModule], flow, cluster.credentials);
    const lockIntents: Array<{ intent: MutationIntent; at: number }> = [];
    (helper.getNode('cluster') as unknown as QumuloClusterNode).client!.addMutationListener((intent) => {
      if (intent.kind === 'lock') lockIntents.push({ intent, at: Date.now() });
    });
    const settled = new Collector<SettledMsg>(helper.getNode('settled'));
    const locked = new Collector(helper.getNode('locked'));
    // Write only once the watch's change-notify stream is open on the simulator.
    await waitFor(() => sim.sim.openStreams() >= 1, 'the watch is streaming');

    const file = sim.disk('in/big.bin');
    fs.writeFileSync(file, '');
    let lastWriteAt = 0;
    for (let chunk = 0; chunk < 50; chunk++) {
      await sleep(60);
      fs.appendFileSync(file, Buffer.alloc(4096, chunk));
      lastWriteAt = Date.now();
    }
    const [msg] = await locked.next(1, 30_000);
    assert.equal(msg.result.outcome, 'done', msg.result.detail);
    assert.equal(msg.payload.path, '/in/big.bin');
    // Nothing else arrives for this file afterwards.
    await sleep(2500);
    assert.equal(locked.messages.length, 1, 'locked exactly once');
    assert.equal(lockIntents.length, 1, 'one lock request');
    assert.ok(lockIntents[0].at > lastWriteAt, 'the lock was requested after the last write');
    assert.equal(settled.messages.length, 1);
    const summary = settled.messages[0].settle;
    assert.ok(summary.count > 1, `coalesced ${summary.count} notifications`);
    assert.ok(summary.types.includes('child_file_added'));
    assert.ok(summary.types.some((t) => t === 'child_data_written' || t === 'child_size_changed'));
    assert.ok(summary.lastAt >= summary.firstAt);
    assert.equal(fs.statSync(file).size, 50 * 4096);
    assert.notEqual(sim.sim.lockOf('in/big.bin').retention_period, null);
  });

  function settleFlow(name: string, extra: Record<string, unknown> = {}) {
    return [
      { id: 'tab', type: 'tab', label: 'settle' },
      { id: 'settle', type: 'qumulo-settle', z: 'tab', name, quietSeconds: '1.5', maxPending: '100', x: 100, y: 100, wires: [['out']], ...extra },
      { id: 'out', type: 'helper', z: 'tab', x: 300, y: 100 },
    ];
  }

  for (const type of ['nodes', 'full'] as const) {
    it(`held events survive a "${type}" deploy that restarts the node, and are sent once when they settle`, async () => {
      await helper.load(settleModule, settleFlow('before'));
      const settle = helper.getNode('settle');
      settle.receive({ payload: eventFor(sim, 'in/a.txt', 'child_file_added') });
      settle.receive({ payload: eventFor(sim, 'in/a.txt', 'child_data_written') });
      settle.receive({ payload: eventFor(sim, 'in/b.txt', 'child_data_written') });
      await helper.setFlows(settleFlow('after'), type);
      const out = new Collector<SettledMsg>(helper.getNode('out'));
      assert.notEqual(helper.getNode('settle'), settle, 'the node was restarted');
      helper.getNode('settle').receive({ payload: eventFor(sim, 'in/a.txt', 'child_data_written') });
      const msgs = await out.next(2, 10_000);
      await sleep(2000);
      assert.equal(out.messages.length, 2, 'each file exactly once');
      const byPath = Object.fromEntries(msgs.map((m) => [m.payload.path, m.settle]));
      assert.equal(byPath['/in/a.txt'].count, 3, 'events before and after the deploy are coalesced');
      assert.deepEqual(byPath['/in/a.txt'].types, ['child_file_added', 'child_data_written']);
      assert.equal(byPath['/in/b.txt'].count, 1);
      assert.ok(msgs.every((m) => m.settle.reason === 'quiet'));
    });
  }

  it('removing the node flushes what it holds; the cap sends the least recently written file early', async () => {
    await helper.load(settleModule, settleFlow('capped', { maxPending: '2', quietSeconds: '30' }));
    const out = new Collector<SettledMsg>(helper.getNode('out'));
    const settle = helper.getNode('settle');
    settle.receive({ payload: eventFor(sim, 'in/a.txt', 'child_data_written') });
    settle.receive({ payload: eventFor(sim, 'in/b.txt', 'child_data_written') });
    settle.receive({ payload: eventFor(sim, 'in/a.txt', 'child_size_changed') });
    settle.receive({ payload: eventFor(sim, 'in/c.txt', 'child_file_added') });
    const [early] = await out.next(1);
    assert.equal(early.payload.path, '/in/b.txt');
    assert.equal(early.settle.reason, 'overflow');
    // Remove the settle node (keep the helper): it sends what it holds right away.
    await helper.setFlows([settleFlow('x')[0], settleFlow('x')[2]], 'nodes');
    const flushed = await out.next(2);
    assert.deepEqual(flushed.map((m) => [m.payload.path, m.settle.reason, m.settle.count]), [
      ['/in/a.txt', 'flush', 2],
      ['/in/c.txt', 'flush', 1],
    ]);
  });

  it('a message without an event is an error, not held', async () => {
    await helper.load(settleModule, [...settleFlow('errors'), { id: 'catch', type: 'catch', z: 'tab', scope: null, x: 100, y: 200, wires: [['caught']] }, { id: 'caught', type: 'helper', z: 'tab', x: 300, y: 200 }]);
    const caught = new Collector<{ error: { message: string } }>(helper.getNode('caught'));
    helper.getNode('settle').receive({ payload: 'not an event' });
    const [err] = await caught.next(1);
    assert.match(err.error.message, /not a Qumulo event/);
  });
});
