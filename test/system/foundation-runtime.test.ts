// The bundle in a real, embedded Node-RED 4.1 runtime driven through its admin API: it loads,
// its examples are listed and deploy, credentials stay out of flows, and a watch survives every
// deploy type without losing or repeating one event of a 20,000-event stream.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { watchRegistry } from '../../core/watch/registry';
import { type DeploymentType, type EmbeddedRuntime, type FlowNode, REPO_ROOT, startRuntime } from '../support/runtime';
import { type SinkNodes, createSinkNodes } from '../support/sink';
import { type TestSim, startSim } from '../support/sim';
import { exampleEnv } from '../support/shipping';

const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string };
const SECRET_PASSWORD = 'S3cret-Pa55-never-in-flows';
const EVENTS_PER_DEPLOY_TYPE = 20_000;

describe('qumulo-flow in an embedded Node-RED runtime', function () {
  this.timeout(90_000);
  let sim: TestSim;
  let runtime: EmbeddedRuntime;
  let sinks: SinkNodes;

  before(async () => {
    sim = await startSim({
      password: SECRET_PASSWORD,
      files: { 'stream-full/': '', 'stream-nodes/': '', 'stream-flows/': '', 'stream-reload/': '', 'inbox/': '' },
    });
    sinks = createSinkNodes();
    runtime = await startRuntime({ extraNodesDirs: [sinks.dir] });
  });

  after(async () => {
    await runtime?.stop();
    watchRegistry.closeAll();
    await sim?.stop();
    sinks?.cleanup();
  });

  function cluster(extra: Record<string, unknown> = {}): FlowNode {
    return {
      id: 'cluster1',
      type: 'qumulo-cluster',
      name: 'sim',
      host: '127.0.0.1',
      port: String(sim.port),
      protocol: 'http',
      ca: '',
      skipVerify: false,
      maxConcurrency: '8',
      ...extra,
    };
  }

  const clusterCredentials = { cluster1: { username: 'admin', password: SECRET_PASSWORD } };

  it('loads qumulo-cluster and qumulo-watch (GET /nodes)', async () => {
    const res = await runtime.request<Array<{ module: string; types: string[]; enabled: boolean; loaded: boolean; err?: string }>>('GET', '/nodes');
    assert.equal(res.status, 200);
    const ours = res.body.filter((set) => set.module === PACKAGE.name);
    const types = ours.flatMap((set) => set.types);
    assert.ok(types.includes('qumulo-cluster'), `types loaded: ${types.join(', ')}`);
    assert.ok(types.includes('qumulo-watch'));
    for (const set of ours.filter((s) => s.types.includes('qumulo-watch') || s.types.includes('qumulo-cluster'))) {
      assert.equal(set.err, undefined, `node set error: ${set.err}`);
      assert.equal(set.enabled, true);
    }
    // The editor gets the HTML definitions and the help text.
    const html = await runtime.request('GET', '/nodes', undefined, { Accept: 'text/html' });
    assert.match(html.text, /registerType\('qumulo-watch'/);
    assert.match(html.text, /data-help-name="qumulo-watch"/);
  });

  it('lists the quick-start example under Import → Examples and deploys it without errors', async () => {
    const list = await runtime.request<Array<{ fn?: string }>>('GET', `/library/examples/flows/${PACKAGE.name}`);
    assert.equal(list.status, 200);
    const names = list.body.map((entry) => entry.fn);
    assert.ok(names.includes('00 - Quick start - watch, filter, guard, lock'), `examples: ${JSON.stringify(list.body)}`);

    // This spec deploys the watch examples; the other examples have their own specs. They read the
    // cluster from QUMULO_*, set here for this test's simulator as `npm start` sets them.
    const restoreEnv = exampleEnv(sim.sim.clusterEnv());
    try {
      for (const name of names.filter((n) => /^0[02] - /.test(String(n)))) {
        const file = await runtime.request<FlowNode[]>('GET', `/library/examples/flows/${PACKAGE.name}/${encodeURIComponent(String(name))}`);
        assert.equal(file.status, 200, `example ${name}`);
        const flows = file.body;
        const logsBefore = runtime.logs.length;
        await runtime.deploy(flows, 'full');
        const watchIds = flows.filter((n) => n.type === 'qumulo-watch').map((n) => n.id);
        const started = Date.now();
        // Wait for the watch to be connected (a stream open on the simulator).
        while (sim.sim.openStreams() < watchIds.length && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
        assert.equal(sim.sim.openStreams(), watchIds.length, `example ${name}: stream open`);
        const problems = runtime.logs.slice(logsBefore).filter((l) => l.level <= 30 && (l.type?.startsWith('qumulo') || /qumulo/i.test(l.msg)));
        assert.deepEqual(problems, [], `example ${name} logged problems`);
      }
    } finally {
      restoreEnv();
    }
  });

  it('never puts credentials in GET /flows, the flow file or an export', async () => {
    process.env.QF_TEST_USER = 'admin';
    await runtime.deploy(
      [
        { id: 'tab1', type: 'tab', label: 'creds' },
        cluster(),
        { id: 'watch1', type: 'qumulo-watch', z: 'tab1', cluster: 'cluster1', path: '/inbox', recursive: true, types: [], x: 100, y: 100, wires: [['sink1']] },
        { id: 'sink1', type: 'qumulo-test-sink', z: 'tab1', x: 300, y: 100, wires: [] },
      ],
      'full',
      { cluster1: { username: '${QF_TEST_USER}', password: SECRET_PASSWORD } },
    );
    // The credentials work (username from ${ENV})…
    await openSubscription('/inbox');
    fs.writeFileSync(sim.disk('inbox/proof.txt'), 'x');
    await sinks.waitFor(() => sinks.messages('sink1').some((m) => (m.payload as { name: string }).name === 'proof.txt'), 10_000, 'an event through the watch');
    // …and appear nowhere but in the encrypted credentials file.
    const flows = await runtime.getFlows();
    const exported = JSON.stringify(flows);
    assert.ok(!exported.includes(SECRET_PASSWORD), 'password in GET /flows');
    assert.ok(!exported.includes('QF_TEST_USER'), 'username in GET /flows');
    const clusterNode = flows.flows.find((n) => n.id === 'cluster1');
    assert.ok(clusterNode);
    assert.equal(clusterNode.credentials, undefined);
    const flowFile = fs.readFileSync(path.join(runtime.userDir, 'flows.json'), 'utf8');
    assert.ok(!flowFile.includes(SECRET_PASSWORD), 'password in flows.json');
    const credFile = fs.readFileSync(path.join(runtime.userDir, 'flows_cred.json'), 'utf8');
    assert.ok(!credFile.includes(SECRET_PASSWORD), 'password in clear in flows_cred.json');
    assert.match(credFile, /"\$"/, 'credentials file is encrypted');
    // The editor only learns that a password exists.
    const creds = await runtime.request<Record<string, unknown>>('GET', '/credentials/qumulo-cluster/cluster1');
    assert.equal(creds.status, 200);
    assert.equal(creds.body.has_password, true);
    assert.equal(creds.body.password, undefined);
    assert.ok(!creds.text.includes(SECRET_PASSWORD));
  });

  describe('deploy survival: every event exactly once, in order', () => {
    for (const type of ['nodes', 'flows', 'full', 'reload'] as DeploymentType[]) {
      it(`${type} deploys while ${EVENTS_PER_DEPLOY_TYPE} events stream`, async () => {
        const dir = `stream-${type}`;
        const base = (round: number): FlowNode[] => [
          { id: 'tabS', type: 'tab', label: 'survival' },
          cluster(),
          {
            id: 'watchS',
            type: 'qumulo-watch',
            z: 'tabS',
            name: round >= 2 ? 'watch r2' : 'watch r0',
            cluster: 'cluster1',
            path: `/${dir}`,
            recursive: true,
            types: [],
            x: 100,
            y: 100,
            wires: [['sinkS']],
          },
          { id: 'sinkS', type: 'qumulo-test-sink', z: 'tabS', name: round >= 3 ? 'sink r3' : 'sink r0', x: 300, y: 100, wires: [] },
          { id: 'otherS', type: 'function', z: 'tabS', name: `other r${round}`, func: 'return msg;', outputs: 1, x: 100, y: 200, wires: [] },
        ];
        await runtime.deploy(base(0), 'full', clusterCredentials);
        sinks.store.messages.delete('sinkS');
        const startsBefore = sinks.store.starts.get('sinkS') ?? 0;
        const subscription = await openSubscription(`/${dir}`);

        let emitted = 0;
        const window = 2_000;
        let emitting = true;
        const emitter = (async () => {
          while (emitted < EVENTS_PER_DEPLOY_TYPE) {
            // Pace on what the subscription has read, not on what the sink got: events must keep
            // flowing while the watch node is down during a deploy.
            if (emitted - subscription() < window) {
              for (let k = 0; k < 100 && emitted < EVENTS_PER_DEPLOY_TYPE; k++) {
                emitted++;
                sim.sim.notify(`${dir}/e${emitted}`, 'child_file_added');
              }
            }
            await nextTurn();
          }
          emitting = false;
        })();

        // Round 1 changes another node, round 2 the watch node's name, round 3 the sink's name.
        let readDuringDeploys = 0;
        for (const [round, at] of [
          [1, 0.2],
          [2, 0.45],
          [3, 0.7],
        ] as const) {
          await waitUntil(() => emitted >= EVENTS_PER_DEPLOY_TYPE * at, 60_000, `emitted ${at * 100}%`);
          const before = subscription();
          await runtime.deploy(base(round), type);
          readDuringDeploys += subscription() - before;
        }
        await emitter;
        assert.equal(emitting, false);
        await sinks
          .waitFor(() => sinks.messages('sinkS').length >= EVENTS_PER_DEPLOY_TYPE, 30_000, `${EVENTS_PER_DEPLOY_TYPE} events at the sink`)
          .catch((err: Error) => {
            const got = sinks.messages('sinkS').length;
            throw new Error(`${err.message}: got ${got}; subscriptions ${JSON.stringify(watchRegistry.list())}; logs ${JSON.stringify(runtime.logs.slice(-10))}`);
          });
        // Let anything extra (a duplicate) arrive before judging.
        await new Promise((r) => setTimeout(r, 300));

        const received = sinks.messages('sinkS');
        const numbers = received.map((m) => Number(/e(\d+)$/.exec((m.payload as { relativePath: string }).relativePath)?.[1]));
        assert.equal(received.length, EVENTS_PER_DEPLOY_TYPE, `received ${received.length} messages for ${EVENTS_PER_DEPLOY_TYPE} events`);
        for (let i = 0; i < numbers.length; i++) {
          if (numbers[i] !== i + 1) assert.fail(`message #${i + 1} carried event ${numbers[i]} (expected ${i + 1}): lost, repeated or out of order`);
        }
        const seqs = received.map((m) => (m.payload as { seq: number }).seq);
        for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, 'seq increases by one');
        assert.ok(received.every((m) => m.topic === 'child_file_added'));
        // The deploys really restarted nodes (for nodes deploys: only the sink on round 3).
        const sinkRestarts = (sinks.store.starts.get('sinkS') ?? 0) - startsBefore;
        assert.ok(sinkRestarts >= 1, `sink restarted ${sinkRestarts} times`);
        // Events really were streaming while the deploys ran.
        assert.ok(readDuringDeploys > 0, 'no event arrived during the deploys');
        // One subscription for the path the whole time: it never reconnected.
        const info = watchRegistry.list().filter((w) => w.key.includes(`ref=/${dir}|`));
        assert.equal(info.length, 1);
        assert.equal(info[0].status.gaps, 0);
        assert.equal(info[0].status.state, 'watching');
      });
    }
  });

  /** Waits for the subscription on `ref` to be watching; returns a reader of its event count. */
  async function openSubscription(ref: string): Promise<() => number> {
    await waitUntil(
      () => watchRegistry.list().some((w) => w.key.includes(`ref=${ref}|`) && w.status.state === 'watching'),
      10_000,
      `subscription on ${ref}`,
    );
    const key = watchRegistry.list().find((w) => w.key.includes(`ref=${ref}|`))!.key;
    const subscription = watchRegistry.subscriptionOf(key)!;
    return () => subscription.status.events;
  }
});

async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
