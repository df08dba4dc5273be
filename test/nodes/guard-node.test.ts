// qumulo-loop-guard in Node-RED (node-red-node-test-helper) with the real simulator over HTTP/SSE:
// watch → guard → helper nodes. Mutations go through the cluster node's real client.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { NodeMessage } from 'node-red';
import { QumuloClient } from '../../core/qumulo/client';
import { guardCoreFor } from '../../core/guard/registry';
import { clusterIdentity } from '../../core/qumulo/identity';
import { watchRegistry } from '../../core/watch/registry';
import type { QumuloEvent } from '../../core/event';
import { nodeTestHelper } from '../support/actions';
import { startSim, type TestSim } from '../support/sim';
import { waitUntil } from '../support/sim-client';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const clusterNode = require('../../nodes/qumulo-cluster');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const watchNode = require('../../nodes/qumulo-watch');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const guardNode = require('../../nodes/qumulo-loop-guard');

interface TestNode {
  on(event: string, listener: (...args: never[]) => void): void;
  once(event: string, listener: (...args: never[]) => void): void;
  receive(msg: unknown): void;
}
const helper = nodeTestHelper<TestNode>();

type GuardMsg = NodeMessage & { payload: QumuloEvent; guard: { verdict: string; hop: number; reason?: string; detail?: string; history?: unknown[]; echoOf?: { kind: string } } };

interface Collected {
  passed: GuardMsg[];
  tripped: GuardMsg[];
  metrics: NodeMessage[];
}

describe('qumulo-loop-guard node', function () {
  this.timeout(30_000);
  let sim: TestSim;
  const peers: QumuloClient[] = [];

  before(async () => {
    sim = await startSim({ files: { 'inbox/a.txt': 'a', 'inbox/b.txt': 'b', 'inbox/c.txt': 'c', 'inbox/d.txt': 'd', 'inbox/e.txt': 'e' } });
  });
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    // Each test starts with its own stream: no slot (and nothing a stop cut and re-queued in it)
    // is left for the next test's watch node to adopt.
    watchRegistry.closeAll();
    for (const peer of peers.splice(0)) await peer.close();
  });
  after(async () => {
    watchRegistry.closeAll();
    await sim.stop();
  });

  function flow(guardExtra: Record<string, unknown> = {}) {
    return [
      { id: 'c1', type: 'qumulo-cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http' },
      { id: 'w1', type: 'qumulo-watch', cluster: 'c1', path: '/inbox', recursive: true, wires: [['g1']] },
      { id: 'g1', type: 'qumulo-loop-guard', cluster: 'c1', hopLimit: 16, wires: [['passed'], ['tripped'], ['metrics']], ...guardExtra },
      { id: 'passed', type: 'helper' },
      { id: 'tripped', type: 'helper' },
      { id: 'metrics', type: 'helper' },
    ];
  }
  const credentials = { c1: { username: 'admin', password: 'admin' } };

  async function load(guardExtra: Record<string, unknown> = {}): Promise<Collected & { client: QumuloClient }> {
    await helper.load([clusterNode, watchNode, guardNode], flow(guardExtra), credentials);
    const collected: Collected = { passed: [], tripped: [], metrics: [] };
    helper.getNode('passed').on('input', (msg: GuardMsg) => collected.passed.push(msg));
    helper.getNode('tripped').on('input', (msg: GuardMsg) => collected.tripped.push(msg));
    helper.getNode('metrics').on('input', (msg: NodeMessage) => collected.metrics.push(msg));
    const client = (helper.getNode('c1') as unknown as { client: QumuloClient }).client;
    await waitUntil(() => sim.sim.openStreams() > 0, 'the watch stream is open');
    return { ...collected, client };
  }

  it('drops the echo of its own chmod and passes the user changing the mode again afterwards', async () => {
    const run = await load();
    const fileId = sim.sim.fileIdOf('inbox/a.txt');
    await run.client.setAttributes(fileId, { mode: '0600' }, { paths: ['/inbox/a.txt'], fileIds: [fileId] });
    // A marker change on another file: once it has passed, the echo has been judged too (same stream, in order).
    fs.chmodSync(sim.disk('inbox/b.txt'), 0o640);
    await waitUntil(() => run.passed.some((m) => m.payload.path === '/inbox/b.txt'), 'the marker event passes');
    assert.equal(run.passed.filter((m) => m.payload.path === '/inbox/a.txt').length, 0, 'our own chmod echo did not pass');

    // The user changes the mode again, after our change: a genuine event.
    fs.chmodSync(sim.disk('inbox/a.txt'), 0o644);
    await waitUntil(() => run.passed.some((m) => m.payload.path === '/inbox/a.txt'), 'the user chmod passes');
    const genuine = run.passed.find((m) => m.payload.path === '/inbox/a.txt')!;
    assert.equal(genuine.payload.type, 'child_acl_changed');
    assert.equal(genuine.guard.verdict, 'passed');
    // It follows our action on the same file within the chain window, so it counts as hop 2 (it passes).
    assert.equal(genuine.guard.hop, 2);

    helper.getNode('g1').receive({ topic: 'metrics' });
    await waitUntil(() => run.metrics.length === 1, 'the metrics reply');
    const metrics = run.metrics[0].payload as { suppressed: number; passed: number; intents: { local: number }; cluster: string };
    assert.ok(metrics.suppressed >= 1);
    assert.ok(metrics.intents.local >= 1);
    assert.equal(metrics.cluster, `127.0.0.1:${sim.port}`);
    assert.equal(run.tripped.length, 0);
  });

  it('sends our own echoes to output 2 when asked, saying what they echo', async () => {
    const run = await load({ emitSuppressed: true });
    const fileId = sim.sim.fileIdOf('inbox/c.txt');
    await run.client.setFileLock(fileId, { legal_hold: true }, { paths: ['/inbox/c.txt'], fileIds: [fileId] });
    await waitUntil(() => run.tripped.length >= 1, 'the suppressed echo on output 2');
    const echo = run.tripped[0];
    assert.equal(echo.guard.verdict, 'suppressed');
    assert.equal(echo.guard.echoOf?.kind, 'lock');
    assert.equal(echo.payload.type, 'child_extra_attrs_changed');
    assert.equal(run.passed.filter((m) => m.payload.path === '/inbox/c.txt').length, 0);
    await run.client.setFileLock(fileId, { legal_hold: false }, { paths: ['/inbox/c.txt'], fileIds: [fileId] });
  });

  it('trips at the hop limit when an unguarded peer answers every event on a file, with the chain history', async () => {
    const run = await load({ hopLimit: 3 });
    // A second client the guard knows nothing about (like another Node-RED without a shared ledger):
    // each time our guard passes an event on d.txt, "our" action changes the mode and the peer changes it back.
    const peer = new QumuloClient(sim.clientOptions());
    peers.push(peer);
    const fileId = sim.sim.fileIdOf('inbox/d.txt');
    let ourActions = 0;
    helper.getNode('passed').on('input', (msg: GuardMsg) => {
      if (msg.payload.path !== '/inbox/d.txt') return;
      ourActions++;
      const mode = ourActions % 2 === 0 ? '0640' : '0600';
      void run.client
        .setAttributes(fileId, { mode }, { paths: ['/inbox/d.txt'], fileIds: [fileId] })
        .then(() => peer.setAttributes(fileId, { mode: mode === '0640' ? '0604' : '0644' }));
    });
    const warnings: string[] = [];
    helper.getNode('g1').on('call:warn', (call: { args: unknown[] }) => warnings.push(String(call.args[0])));
    fs.chmodSync(sim.disk('inbox/d.txt'), 0o660);
    await waitUntil(() => run.tripped.length >= 1 && warnings.length >= 1, 'the hop limit trips and the node warns');
    const trip = run.tripped[0];
    assert.equal(trip.guard.verdict, 'tripped');
    assert.equal(trip.guard.reason, 'hop-limit');
    assert.equal(trip.guard.hop, 4);
    assert.match(trip.guard.detail ?? '', /hop limit 3 reached for \/inbox\/d\.txt/);
    assert.ok((trip.guard.history ?? []).length >= 6, 'events and actions of the chain');
    assert.equal(ourActions, 3, 'exactly hop-limit actions were let through');
    assert.match(warnings[0], /loop guard: hop limit 3 reached for \/inbox\/d\.txt/);
  });

  it('also hears actions made through another qumulo-cluster config of the same cluster', async () => {
    // c2: same cluster, other tuning, hence another pooled client than the guard's c1. Listed
    // first: the runtime creates config nodes before flow nodes (the test helper keeps array order).
    const nodes = [{ id: 'c2', type: 'qumulo-cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http', maxConcurrency: '3' }, ...flow()];
    await helper.load([clusterNode, watchNode, guardNode], nodes, { ...credentials, c2: { username: 'admin', password: 'admin' } });
    const passed: GuardMsg[] = [];
    helper.getNode('passed').on('input', (msg: GuardMsg) => passed.push(msg));
    await waitUntil(() => sim.sim.openStreams() > 0, 'the watch stream is open');
    const c1 = (helper.getNode('c1') as unknown as { client: QumuloClient }).client;
    const c2 = (helper.getNode('c2') as unknown as { client: QumuloClient }).client;
    assert.notEqual(c1, c2);
    const fileId = sim.sim.fileIdOf('inbox/a.txt');
    await c2.setAttributes(fileId, { mode: '0606' }, { paths: ['/inbox/a.txt'], fileIds: [fileId] });
    fs.chmodSync(sim.disk('inbox/e.txt'), 0o606); // marker (a file no test acted on), judged after the echo
    await waitUntil(() => passed.some((m) => m.payload.path === '/inbox/e.txt'), 'the marker passes');
    assert.equal(passed.filter((m) => m.payload.path === '/inbox/a.txt').length, 0, "c2's chmod echo was recognised");
  });

  it('refuses a payload that is not a Qumulo event with done(err) and a red status', async () => {
    const run = await load();
    const guard = helper.getNode('g1');
    const errors: unknown[] = [];
    guard.on('call:error', (call: { args: unknown[] }) => errors.push(call.args[0]));
    const statuses: Array<{ fill?: string; text?: string }> = [];
    guard.on('call:status', (call: { args: Array<{ fill?: string; text?: string }> }) => statuses.push(call.args[0]));
    guard.receive({ payload: 'hello' });
    // done(err) is reported by the runtime as node.error(err, msg): once, so a Catch node fires once
    await waitUntil(() => errors.length >= 1, 'the error');
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /not a Qumulo event/);
    assert.ok(statuses.some((s) => s.fill === 'red' && s.text === 'not a Qumulo event'));
    assert.equal(run.passed.length, 0);
  });

  it('keeps the ledger across a redeploy: an intent recorded before still catches its echo after', async () => {
    const first = await load();
    const fileId = sim.sim.fileIdOf('inbox/b.txt');
    const sentAt = Date.now();
    await first.client.setAttributes(fileId, { mode: '0620' }, { paths: ['/inbox/b.txt'], fileIds: [fileId] });
    await helper.unload();
    const second = await load();
    const core = guardCoreFor(clusterIdentity({ host: '127.0.0.1', port: sim.port }));
    assert.ok(core.ledger.entriesFor({ fileId }).length >= 1, 'the process-level ledger still holds the intent');
    // The echo as a watch would deliver it after the redeploy (e.g. drained from its buffer).
    const echo: QumuloEvent = {
      type: 'child_acl_changed',
      path: '/inbox/b.txt',
      relativePath: 'b.txt',
      name: 'b.txt',
      extension: 'txt',
      parentDir: '/inbox',
      fileId,
      spine: ['2', fileId],
      isDirectory: null,
      streamName: null,
      watchId: 'after-redeploy',
      watchRoot: '/inbox',
      seq: 1,
      receivedAt: sentAt + 5,
    };
    const guard = helper.getNode('g1');
    guard.receive({ payload: echo });
    guard.receive({ topic: 'metrics' });
    await waitUntil(() => second.metrics.length === 1, 'the metrics reply');
    assert.equal((second.metrics[0].payload as { suppressed: number }).suppressed, 1);
    assert.equal(second.passed.filter((m) => m.payload.watchId === 'after-redeploy').length, 0);
  });
});
