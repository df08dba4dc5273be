// qumulo-lock in a real Node-RED runtime (test helper) against the real simulator over HTTP.
// Effects are read back from the simulator (sim.lockOf, or the API through the cluster client).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { auditRecordsOf } from '../../core/audit';
import { recent } from '../../core/metrics';
import type { MutationIntent } from '../../core/qumulo/types';
import type { QumuloClusterNode } from '../../nodes/lib/cluster';
import { startSim, type TestSim } from '../support/sim';
import { Collector, clusterNode, eventFor, helper, initHelper, tempDir, treeState } from '../support/actions';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const clusterModule = require('../../nodes/qumulo-cluster');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lockModule = require('../../nodes/qumulo-lock');

describe('qumulo-lock node (simulator, real runtime)', function () {
  this.timeout(30_000);
  let sim: TestSim;
  let userDir: string;

  before(() => {
    userDir = tempDir('lock-userdir');
    initHelper(userDir);
  });
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  beforeEach(async () => {
    sim = await startSim({
      files: {
        'in/a.txt': 'a',
        'in/b.txt': 'b',
        'in/held.txt': 'h',
        'in/sub/': '',
        'in/long.txt': 'l',
        ...Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`many/f${i}.txt`, String(i)])),
      },
    });
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await sim.stop();
  });

  async function load(lockProps: Record<string, unknown>) {
    const cluster = clusterNode(sim);
    const flow = [
      { id: 'tab', type: 'tab', label: 'lock' },
      cluster.node,
      { id: 'lock', type: 'qumulo-lock', z: 'tab', name: 'lock under test', cluster: 'cluster', x: 100, y: 100, wires: [['out']], ...lockProps },
      { id: 'out', type: 'helper', z: 'tab', x: 300, y: 100 },
      { id: 'catch', type: 'catch', z: 'tab', scope: null, uncaught: false, x: 100, y: 200, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab', x: 300, y: 200 },
    ];
    await helper.load([clusterModule, lockModule], flow, cluster.credentials);
    const intents: MutationIntent[] = [];
    const clusterInstance = helper.getNode('cluster') as unknown as QumuloClusterNode;
    clusterInstance.client!.addMutationListener((i) => {
      intents.push(i);
    });
    return { lock: helper.getNode('lock'), out: new Collector(helper.getNode('out')), caught: new Collector(helper.getNode('caught')), intents };
  }

  it('locks a file for a relative retention and reports it; a repeat is skipped without a PATCH', async () => {
    const { lock, out, intents } = await load({ retention: '30d', legalHold: 'leave', relockThreshold: '1d' });
    const before = Date.now();
    const event = eventFor(sim, 'in/a.txt');
    lock.receive({ payload: event, topic: event.type });
    const [msg] = await out.next(1);
    assert.equal(msg.result.action, 'lock');
    assert.equal(msg.result.outcome, 'done', msg.result.detail);
    assert.deepEqual(msg.payload, event, 'the event is passed on unchanged');
    const lockState = sim.sim.lockOf('in/a.txt');
    assert.equal(lockState.legal_hold, false);
    const until = new Date(lockState.retention_period!).getTime();
    assert.ok(until >= before + 30 * 86400_000 && until <= Date.now() + 30 * 86400_000 + 1000, lockState.retention_period!);
    assert.equal(msg.result.retentionPeriod, lockState.retention_period);
    assert.equal(intents.filter((i) => i.kind === 'lock').length, 1);
    assert.equal(typeof msg.result.durationMs, 'number');

    lock.receive({ payload: eventFor(sim, 'in/a.txt', 'child_extra_attrs_changed') });
    const [again] = await out.next(1);
    assert.equal(again.result.outcome, 'skipped');
    assert.match(again.result.detail, /already locked until/);
    assert.equal(intents.filter((i) => i.kind === 'lock').length, 1, 'no second PATCH');
    assert.equal(sim.sim.lockOf('in/a.txt').retention_period, lockState.retention_period);
  });

  it('an "added" event sent twice, or delivered again from the queue to a redeployed node, locks the file once: the retention does not move', async () => {
    const props = { retention: '30d', legalHold: 'leave', relockThreshold: '1d' };
    let { lock, out, intents } = await load(props);
    const event = eventFor(sim, 'in/b.txt');
    lock.receive({ payload: event });
    const [first] = await out.next(1);
    assert.equal(first.result.outcome, 'done', first.result.detail);
    const lockedUntil = sim.sim.lockOf('in/b.txt').retention_period;
    // The same event again (an inject, a duplicate): answered from the node's memory.
    lock.receive({ payload: event });
    const [twice] = await out.next(1);
    assert.equal(twice.result.outcome, 'skipped', twice.result.detail);
    assert.equal(intents.filter((i) => i.kind === 'lock').length, 1, 'no second PATCH');
    // A deploy cut the message after the PATCH: the new node has no memory, and the queue
    // delivers the entry again a second later. Read first: a blind PATCH would move a relative
    // retention one second further out, and the audit record would disagree with the file.
    await helper.unload();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    ({ lock, out, intents } = await load(props));
    lock.receive({ payload: event, redis: { stream: 'qumulo:events', id: '1-1', deliveries: 2 } });
    const [again] = await out.next(1);
    assert.equal(again.result.outcome, 'skipped', again.result.detail);
    assert.match(again.result.detail, /already locked until/);
    assert.equal(intents.filter((i) => i.kind === 'lock').length, 0, 'no PATCH for the redelivery');
    assert.equal(sim.sim.lockOf('in/b.txt').retention_period, lockedUntil);
  });

  it('an empty re-lock threshold means the dialog\'s and the docs\' default, 1d (only 0 re-locks every time)', async () => {
    const { lock, out, intents } = await load({ retention: '30d', legalHold: 'leave', relockThreshold: '' });
    lock.receive({ payload: eventFor(sim, 'in/a.txt') });
    assert.equal((await out.next(1))[0].result.outcome, 'done');
    await new Promise((r) => setTimeout(r, 1_100)); // the requested end moves on by a second
    lock.receive({ payload: eventFor(sim, 'in/a.txt', 'child_extra_attrs_changed') });
    const [again] = await out.next(1);
    assert.equal(again.result.outcome, 'skipped', again.result.detail);
    assert.equal(intents.filter((i) => i.kind === 'lock').length, 1, 'an empty threshold re-locked a lock one second older');
  });

  it('sets a legal hold together with an absolute date, then extends to a later date only', async () => {
    const { lock, out } = await load({ retention: '2031-01-01', legalHold: 'on' });
    lock.receive({ payload: eventFor(sim, 'in/held.txt') });
    const [msg] = await out.next(1);
    assert.equal(msg.result.outcome, 'done', msg.result.detail);
    assert.deepEqual(sim.sim.lockOf('in/held.txt'), { legal_hold: true, retention_period: '2031-01-01T00:00:00Z' });
    await helper.unload();
    const second = await load({ retention: '2032-06-30T12:00:00Z', legalHold: 'leave' });
    second.lock.receive({ payload: eventFor(sim, 'in/held.txt') });
    const [ext] = await second.out.next(1);
    assert.equal(ext.result.outcome, 'done', ext.result.detail);
    assert.equal(sim.sim.lockOf('in/held.txt').retention_period, '2032-06-30T12:00:00Z');
    await helper.unload();
    const shorter = await load({ retention: '2031-06-01', legalHold: 'leave' });
    shorter.lock.receive({ payload: eventFor(sim, 'in/held.txt') });
    const [skip] = await shorter.out.next(1);
    assert.equal(skip.result.outcome, 'skipped', 'a shorter retention never shortens the lock');
    assert.equal(sim.sim.lockOf('in/held.txt').retention_period, '2032-06-30T12:00:00Z');
  });

  it('skips directories without a request and reports vanished files as skipped', async () => {
    const { lock, out, intents } = await load({ retention: '1y' });
    lock.receive({ payload: eventFor(sim, 'in/sub', 'child_dir_added') });
    lock.receive({ payload: eventFor(sim, 'in/sub', 'child_acl_changed') }); // type says nothing: attributes do
    const [dirByType, dirByAttrs] = await out.next(2);
    assert.equal(dirByType.result.outcome, 'skipped');
    assert.match(dirByType.result.detail, /directories cannot be locked/);
    assert.equal(dirByAttrs.result.outcome, 'skipped');
    assert.match(dirByAttrs.result.detail, /directories cannot be locked/);
    const gone = eventFor(sim, 'in/b.txt', 'child_data_written');
    fs.rmSync(sim.disk('in/b.txt'));
    lock.receive({ payload: { ...gone, fileId: null } });
    const [vanished] = await out.next(1);
    assert.equal(vanished.result.outcome, 'skipped');
    assert.match(vanished.result.detail, /no longer exists/);
    assert.equal(intents.length, 0, 'the read found nothing: no lock was asked for');
    // A file reported as just added is locked without a prior read: its PATCH finds it gone.
    lock.receive({ payload: { ...gone, type: 'child_file_added', fileId: null } });
    const [vanishedAdded] = await out.next(1);
    assert.equal(vanishedAdded.result.outcome, 'skipped');
    assert.match(vanishedAdded.result.detail, /no longer exists/);
    assert.equal(intents.length, 1);
  });

  it('handles messages concurrently up to the cluster limit, and retries 5xx answers', async () => {
    const { lock, out } = await load({ retention: '1d' });
    const client = (helper.getNode('cluster') as unknown as QumuloClusterNode).client!;
    sim.sim.faults.latencyMs = 5;
    sim.sim.faults.errorRate = 0.03; // ~12 of ~400 requests answered 503
    let maxRunning = 0;
    const sampler = setInterval(() => (maxRunning = Math.max(maxRunning, client.limiter.running)), 1);
    const retriesBefore = client.stats.retries;
    for (let i = 0; i < 200; i++) lock.receive({ payload: eventFor(sim, `many/f${i}.txt`) });
    const results = await out.next(200, 30_000);
    clearInterval(sampler);
    assert.deepEqual([...new Set(results.map((m) => m.result.outcome))], ['done']);
    for (let i = 0; i < 200; i += 37) assert.notEqual(sim.sim.lockOf(`many/f${i}.txt`).retention_period, null);
    assert.ok(maxRunning > 1, `requests ran concurrently (max ${maxRunning} at once)`);
    assert.ok(maxRunning <= 8, `never more than the cluster's limit of 8 (max ${maxRunning})`);
    assert.ok(client.stats.retries > retriesBefore, 'injected 503s were retried');
  });

  it('does not retry 4xx answers', async () => {
    const { lock, out } = await load({ retention: '1d' });
    const client = (helper.getNode('cluster') as unknown as QumuloClusterNode).client!;
    await client.whoAmI(); // logged in: the next request is the GET alone
    const retriesBefore = client.stats.retries;
    const requestsBefore = sim.sim.stats.requests;
    lock.receive({ payload: { ...eventFor(sim, 'in/a.txt'), path: '/in/missing.txt', fileId: null } });
    const [msg] = await out.next(1);
    assert.equal(msg.result.outcome, 'skipped');
    assert.equal(client.stats.retries, retriesBefore);
    assert.equal(sim.sim.stats.requests - requestsBefore, 1, 'one GET, answered 404, not repeated');
  });

  it('dry-run reports what it would do and touches nothing', async () => {
    const before = treeState(sim.root);
    const { lock, out, intents } = await load({ retention: '7y', legalHold: 'on', dryRun: true });
    lock.receive({ payload: eventFor(sim, 'in/long.txt') });
    const [msg] = await out.next(1);
    assert.equal(msg.result.outcome, 'dry-run');
    assert.equal(msg.result.dryRun, true);
    assert.match(msg.result.detail, /^would lock until \d{4}-.*Z and set legal hold$/);
    assert.deepEqual(sim.sim.lockOf('in/long.txt'), { legal_hold: false, retention_period: null });
    assert.equal(intents.length, 0);
    assert.deepEqual(treeState(sim.root), before);
  });

  it('with the audit option, each result (a joined one too) is in the audit trail before the message moves on, with the ids a qumulo-audit node would give', async () => {
    const auditDir = path.join(process.env.QUMULO_FLOW_STATE_DIR || userDir, 'qumulo-flow-audit');
    const recordsOnDisk = (): Array<{ id: string; action: string; outcome: string; path: string; node: string; eventSeq: number | null }> =>
      fs.existsSync(auditDir)
        ? fs.readdirSync(auditDir).flatMap((name) => fs.readFileSync(path.join(auditDir, name), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)))
        : [];
    const already = recordsOnDisk().length;
    const { lock, out } = await load({ retention: '30d', legalHold: 'leave', audit: true });
    // What was in the file at the moment each message arrived downstream.
    const onDiskWhenArrived: number[] = [];
    helper.getNode('out').on('input', () => onDiskWhenArrived.push(recordsOnDisk().length - already));
    const a = eventFor(sim, 'in/a.txt');
    lock.receive({ payload: a });
    lock.receive({ payload: { ...a, seq: a.seq + 1, type: 'child_data_written' } }); // joins the lock in flight
    lock.receive({ payload: eventFor(sim, 'in/b.txt') });
    const msgs = await out.next(3);
    assert.deepEqual(msgs.map((m) => m.result.outcome).sort(), ['done', 'done', 'done']);
    assert.equal(msgs.filter((m) => m.result.joined === true).length, 1, 'the second a.txt input joined the first');
    assert.ok(onDiskWhenArrived.every((count, i) => count >= i + 1), `a message arrived before its record was written: ${onDiskWhenArrived.join(', ')}`);
    const records = recordsOnDisk().slice(already);
    assert.equal(records.length, 3);
    assert.deepEqual(new Set(records.map((r) => r.id)), new Set(msgs.map((m) => auditRecordsOf(m, 'any')[0].id)), 'the ids a qumulo-audit node after it would write');
    assert.ok(records.every((r) => r.action === 'lock' && r.outcome === 'done' && r.node === 'lock'));
    assert.deepEqual(records.map((r) => r.path).sort(), ['/in/a.txt', '/in/a.txt', '/in/b.txt']);
  });

  it('with the audit option and an audit directory that cannot be written, the result is not passed on (a qumulo-ack after it would not acknowledge) and a Catch node gets the error', async () => {
    const stateDir = tempDir('lock-audit-broken');
    fs.writeFileSync(path.join(stateDir, 'qumulo-flow-audit'), 'a file where the directory should be');
    const saved = process.env.QUMULO_FLOW_STATE_DIR;
    process.env.QUMULO_FLOW_STATE_DIR = stateDir;
    try {
      const { lock, out, caught } = await load({ retention: '30d', legalHold: 'leave', audit: true });
      const statuses: Array<{ fill?: string; text?: string }> = [];
      lock.on('call:status', (call: { args: Array<{ fill?: string; text?: string }> }) => statuses.push(call.args[0]));
      const errorsBefore = recent.errors.length;
      lock.receive({ payload: eventFor(sim, 'in/a.txt') });
      const [error] = await caught.next(1);
      assert.match(String((error as { error?: { message?: string } }).error?.message), /audit record was not written, so the result is not passed on/);
      assert.equal((error as { result?: { outcome?: string } }).result?.outcome, 'done', 'Catch gets the message with its result');
      assert.ok(sim.sim.lockOf('in/a.txt').retention_period, 'the lock itself happened (a redelivery finds it locked and records it then)');
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(out.messages.length, 0, 'a result without its record is not passed on');
      // Seen where a user looks: the node turns red, and the sidebar's last errors name it.
      assert.deepEqual(statuses.at(-1), { fill: 'red', shape: 'ring', text: '1 done · 0 skipped · 1 not in audit trail' });
      assert.equal(recent.errors.length, errorsBefore + 1);
      assert.match(recent.errors.at(-1)!.text, /audit record not written/);
      assert.equal(recent.errors.at(-1)!.node, 'lock');
      // Once the directory can be written again, records go out and the dot turns green; the count stays.
      fs.rmSync(path.join(stateDir, 'qumulo-flow-audit'));
      lock.receive({ payload: eventFor(sim, 'in/b.txt') });
      const [recorded] = await out.next(1);
      assert.equal(recorded.result.outcome, 'done');
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(statuses.at(-1)?.fill, 'green', JSON.stringify(statuses.at(-1)));
      assert.equal(statuses.at(-1)?.text, '2 done · 0 skipped · 1 not in audit trail');
    } finally {
      if (saved === undefined) delete process.env.QUMULO_FLOW_STATE_DIR;
      else process.env.QUMULO_FLOW_STATE_DIR = saved;
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('a failure goes to done(err) (a Catch node sees it) and the result is still emitted', async () => {
    const { lock, out, caught } = await load({ retention: '2031-01-01' });
    // The client refuses paths with NUL before sending anything.
    const event = { ...eventFor(sim, 'in/a.txt'), path: '/in/a\u0000.txt', fileId: null };
    lock.receive({ payload: event });
    const [msg] = await out.next(1);
    assert.equal(msg.result.outcome, 'failed');
    assert.ok(msg.result.error?.message);
    const [err] = await caught.next(1);
    assert.ok((err as unknown as { error: { message: string } }).error.message.endsWith(msg.result.detail));
    assert.equal((err as unknown as { error: { source: { id: string } } }).error.source.id, 'lock');
  });

  it('rejects an invalid configuration with a red status and failed results', async () => {
    const { lock, out } = await load({ retention: '6m' });
    lock.receive({ payload: eventFor(sim, 'in/a.txt') });
    const [msg] = await out.next(1);
    assert.equal(msg.result.outcome, 'failed');
    assert.match(msg.result.detail, /ambiguous/);
  });
});
