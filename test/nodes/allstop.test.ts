// qumulo-all-stop in an embedded Node-RED runtime (real admin API, real deploys, a real restart)
// against the real simulator: after the trigger no action node on the cluster changes anything
// until an operator resets it; the stop survives a full deploy and a runtime restart.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_STOP_FILE_NAME, AllStopStore } from '../../core/allstop/allstop';
import { QumuloClient } from '../../core/qumulo/client';
import { startRuntime, type EmbeddedRuntime, type FlowNode } from '../support/runtime';
import { startSim, type TestSim } from '../support/sim';
import { clearSinks, eventFor, sendTo, sinkMessages, startRuntimeReady, tempDir, treeState, waitFor, writeSinkNode, type ResultMsg } from '../support/actions';

type StatusMsg = { status: { fill?: string; text?: string }; [k: string]: unknown };
type AlertMsg = ResultMsg & { allStop: { active: boolean; since: string | null; changed: boolean; action: string; clusterKey: string; snapshot: { id: number; name: string } | null } };

describe('qumulo-all-stop (embedded runtime, simulator)', function () {
  this.timeout(60_000);
  let sim: TestSim;
  let runtime: EmbeddedRuntime | null = null;
  let userDir: string;
  let sinkDir: string;

  const files = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`data/f${String(i).padStart(3, '0')}.txt`, `file ${i}`]));

  before(() => {
    sinkDir = writeSinkNode();
  });
  after(() => fs.rmSync(sinkDir, { recursive: true, force: true }));

  beforeEach(async () => {
    clearSinks();
    userDir = tempDir('allstop-userdir');
    sim = await startSim({ files: { ...files, 'data/canary.docx': 'canary', 'data/sub/': '' } });
  });
  afterEach(async function () {
    // On failure, show what the runtime logged (warnings and errors) to explain it.
    if (this.currentTest?.state === 'failed') console.log('runtime log:', JSON.stringify(runtime?.logs.slice(-20), null, 1));
    await runtime?.stop();
    runtime = null;
    AllStopStore.forget(path.join(userDir, ALL_STOP_FILE_NAME));
    await sim.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  function flows(extra: { snapshotPath?: string; maxConcurrency?: number } = {}): FlowNode[] {
    const common = { z: 'tab', cluster: 'cluster', wires: [['sink']] };
    return [
      { id: 'tab', type: 'tab', label: 'all-stop' },
      { id: 'cluster', type: 'qumulo-cluster', name: 'sim', host: sim.host, port: String(sim.port), protocol: 'http', maxConcurrency: String(extra.maxConcurrency ?? 8) },
      { id: 'stop', type: 'qumulo-all-stop', name: 'canary stop', x: 100, y: 40, ...common, snapshotPath: extra.snapshotPath ?? '', snapshotExpiration: '7d', wires: [['alerts']] },
      { id: 'lock', type: 'qumulo-lock', name: 'lock', x: 100, y: 100, ...common, retention: '30d', legalHold: 'leave', relockThreshold: '1d' },
      { id: 'chmod', type: 'qumulo-chmod', name: 'chmod', x: 100, y: 160, ...common, mode: '0600', applyTo: 'files' },
      { id: 'rename', type: 'qumulo-rename', name: 'rename', x: 100, y: 220, ...common, template: 'renamed-{name}', collision: 'number', applyTo: 'files' },
      { id: 'quarantine', type: 'qumulo-quarantine', name: 'quarantine', x: 100, y: 280, ...common, root: '/quarantine', collision: 'number' },
      { id: 'status', type: 'status', z: 'tab', scope: ['lock', 'chmod', 'rename', 'quarantine'], x: 100, y: 340, wires: [['statuses']] },
      { id: 'sink', type: 'qf-test-sink', z: 'tab', x: 300, y: 100, wires: [] },
      { id: 'alerts', type: 'qf-test-sink', z: 'tab', x: 300, y: 40, wires: [] },
      { id: 'statuses', type: 'qf-test-sink', z: 'tab', x: 300, y: 340, wires: [] },
    ];
  }
  const credentials = { cluster: { username: 'admin', password: 'admin' } };

  async function boot(extra?: { snapshotPath?: string; maxConcurrency?: number }): Promise<EmbeddedRuntime> {
    ({ runtime } = await startRuntimeReady({ flows: flows(extra), credentials, extraNodesDirs: [sinkDir], userDir }));
    return runtime!;
  }

  const results = () => sinkMessages('sink');
  async function nodesStarted(rt: EmbeddedRuntime): Promise<void> {
    const nodes = (rt.RED as unknown as { nodes: { getNode(id: string): unknown } }).nodes;
    await waitFor(() => ['stop', 'lock', 'chmod', 'rename', 'quarantine', 'sink', 'alerts'].every((id) => nodes.getNode(id)), 'flows started');
  }
  async function act(rt: EmbeddedRuntime, nodeId: string, rel: string): Promise<ResultMsg> {
    const before = results().length;
    sendTo(rt.RED, nodeId, { payload: eventFor(sim, rel) });
    await waitFor(() => results().length > before, `result from ${nodeId}`);
    return results()[before];
  }
  async function everyActionRefuses(rt: EmbeddedRuntime): Promise<void> {
    const before = treeState(sim.root);
    for (const id of ['lock', 'chmod', 'rename', 'quarantine']) {
      const msg = await act(rt, id, 'data/f001.txt');
      assert.equal(msg.result.outcome, 'skipped', `${id}: ${msg.result.detail}`);
      assert.equal(msg.result.refusedBy, 'all-stop');
      assert.match(msg.result.detail, /^all-stop active since \d{4}-/);
    }
    assert.deepEqual(treeState(sim.root), before, 'nothing changed on disk');
    assert.deepEqual(sim.sim.lockOf('data/f001.txt'), { legal_hold: false, retention_period: null });
  }

  it('refuses every action after the trigger, shows ALL-STOP on every node, survives a full deploy and a restart, then resets', async () => {
    let rt = await boot();
    // Works before the trigger.
    assert.equal((await act(rt, 'lock', 'data/f000.txt')).result.outcome, 'done');

    sendTo(rt.RED, 'stop', { payload: eventFor(sim, 'data/canary.docx', 'child_data_written') });
    await waitFor(() => sinkMessages('alerts').length === 1, 'alert');
    const alert = sinkMessages<AlertMsg>('alerts')[0];
    assert.equal(alert.allStop.active, true);
    assert.equal(alert.allStop.changed, true);
    assert.equal(alert.allStop.clusterKey, `127.0.0.1:${sim.port}`);
    assert.equal(alert.result.outcome, 'done');
    await waitFor(
      () => ['lock', 'chmod', 'rename', 'quarantine'].every((id) => sinkMessages<StatusMsg>('statuses').some((m) => (m.status as { source?: { id: string } }).source?.id === id && /ALL-STOP/.test(m.status.text ?? ''))),
      'every action node shows ALL-STOP',
    );
    await everyActionRefuses(rt);

    // A second trigger while active: counted, no new activation.
    sendTo(rt.RED, 'stop', { payload: eventFor(sim, 'data/canary.docx', 'child_data_written') });
    await waitFor(() => sinkMessages('alerts').length === 2, 'second alert');
    assert.equal(sinkMessages<AlertMsg>('alerts')[1].allStop.changed, false);
    assert.equal(sinkMessages<AlertMsg>('alerts')[1].result.outcome, 'skipped');

    // Full deploy: every node restarts; the stop stays. (An identical redeploy keeps the flows
    // revision, so wait for the new node instances rather than for the revision.)
    await rt.deploy(flows(), 'full', credentials);
    await nodesStarted(rt);
    await everyActionRefuses(rt);

    // Restart: stop the runtime, forget the in-process state, start again on the same userDir.
    await rt.stop();
    runtime = null;
    AllStopStore.forget(path.join(userDir, ALL_STOP_FILE_NAME));
    rt = runtime = await startRuntime({ extraNodesDirs: [sinkDir], settings: { userDir } });
    await nodesStarted(rt);
    await everyActionRefuses(rt);

    // The state endpoint and the dialog's Reset button (real admin API).
    const state = await rt.request<{ clusterKey: string; state: { active: boolean } }>('GET', '/qumulo-flow/all-stop/stop');
    assert.equal(state.status, 200);
    assert.equal(state.body.state.active, true);
    const reset = await rt.request<{ state: { active: boolean; resetBy: string } }>('POST', '/qumulo-flow/all-stop/stop/reset', {});
    assert.equal(reset.status, 200);
    assert.equal(reset.body.state.active, false);
    assert.match(reset.body.state.resetBy, /^editor/);
    await waitFor(() => sinkMessages<AlertMsg>('alerts').some((m) => m.allStop.action === 'reset'), 'reset alert');
    const locked = await act(rt, 'lock', 'data/f002.txt');
    assert.equal(locked.result.outcome, 'done', locked.result.detail);
    assert.notEqual(sim.sim.lockOf('data/f002.txt').retention_period, null);
    assert.equal((await rt.request('GET', '/qumulo-flow/all-stop/not-a-node')).status, 404);
  });

  it('a msg.topic "reset" resets; a snapshot of the configured path is taken on activation', async () => {
    const rt = await boot({ snapshotPath: '/data' });
    sendTo(rt.RED, 'stop', { topic: 'canary', payload: eventFor(sim, 'data/canary.docx', 'child_data_written') });
    await waitFor(() => sinkMessages('alerts').length === 1, 'alert');
    const alert = sinkMessages<AlertMsg>('alerts')[0];
    assert.equal(alert.result.outcome, 'done', alert.result.detail);
    assert.ok(alert.allStop.snapshot, 'snapshot recorded');
    const client = new QumuloClient(sim.clientOptions());
    try {
      const snapshot = await client.getSnapshot(alert.allStop.snapshot!.id);
      assert.equal(snapshot.source_file_id, sim.sim.fileIdOf('data'));
      assert.match(snapshot.name, /qumulo-flow-all-stop$/);
      assert.ok(snapshot.expiration, 'expires as configured (7d)');
    } finally {
      await client.close();
    }
    await everyActionRefuses(rt);
    sendTo(rt.RED, 'stop', { topic: 'reset' });
    await waitFor(() => sinkMessages('alerts').length === 2, 'reset alert');
    assert.equal(sinkMessages<AlertMsg>('alerts')[1].allStop.active, false);
    assert.equal((await act(rt, 'chmod', 'data/f003.txt')).result.outcome, 'done');
  });

  it('a stop during a burst: queued requests are cancelled, only requests already on the wire complete', async () => {
    const concurrency = 4;
    const rt = await boot({ maxConcurrency: concurrency });
    sim.sim.faults.latencyMs = 20;
    const names = Object.keys(files).map((f) => f.replace(/^data\//, ''));
    for (const name of names) sendTo(rt.RED, 'lock', { payload: eventFor(sim, `data/${name}`) });
    await waitFor(() => results().length >= 10, 'first locks done');
    sendTo(rt.RED, 'stop', { payload: eventFor(sim, 'data/canary.docx', 'child_data_written') });
    await waitFor(() => sinkMessages('alerts').length === 1, 'alert');
    const lockedAtStop = names.filter((n) => sim.sim.lockOf(`data/${n}`).retention_period !== null).length;
    await waitFor(() => results().length === names.length, 'a result for every input', 30_000);
    const lockedAtEnd = names.filter((n) => sim.sim.lockOf(`data/${n}`).retention_period !== null).length;
    const outcomes = results().reduce<Record<string, number>>((acc, m) => ((acc[m.result.outcome] = (acc[m.result.outcome] ?? 0) + 1), acc), {});
    assert.ok(lockedAtEnd - lockedAtStop <= concurrency, `at most the ${concurrency} requests in flight completed after the stop (${lockedAtStop} → ${lockedAtEnd})`);
    assert.ok(lockedAtEnd < names.length / 2, `most locks were stopped (${lockedAtEnd} of ${names.length} locked)`);
    assert.equal(outcomes.failed ?? 0, 0);
    assert.equal((outcomes.done ?? 0) + (outcomes.skipped ?? 0), names.length);
    assert.ok((outcomes.done ?? 0) >= lockedAtStop - 1 - concurrency);
    assert.ok(results().filter((m) => m.result.outcome === 'skipped').every((m) => m.result.refusedBy === 'all-stop'));
  });
});
