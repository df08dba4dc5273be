// Every flow under examples/ — what users get under Import → Examples — parses, uses only node
// types the bundle registers or core nodes, is listed by the runtime's examples library, and
// deploys through the real admin API of an embedded Node-RED 4.1 without a node error or a red
// status, against a real simulator, redis-server and SMTP server. The examples read the cluster and
// Redis from QUMULO_* and REDIS_URL, which this spec sets for its own servers, as `npm start` does.
// Examples and node types added later are covered without editing this file.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { AllStopStore } from '../../core/allstop/allstop';
import { clusterIdentity } from '../../core/qumulo/identity';
import { watchRegistry } from '../../core/watch/registry';
import { type EmbeddedRuntime, startRuntime } from '../support/runtime';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import { type TestSim, startSim } from '../support/sim';
import {
  type Example,
  type FlowNode,
  type TestSmtp,
  REPO_ROOT,
  bundleTypes,
  configTypes,
  isConfigNode,
  IRREVERSIBLE_ACTIONS,
  pointAtLocalServices,
  readPackage,
  startSmtp,
  validate,
  waitUntil,
  watchedDirectories,
} from '../support/shipping';

const PACKAGE = readPackage();
const EXAMPLES: Example[] = validate.listExamples(REPO_ROOT);
/** After every node reported its first non-"connecting" status: how long errors are still collected. */
const SETTLE_MS = 1_500;
const CONNECT_TIMEOUT_MS = 30_000;

interface NodeSet {
  id: string;
  module: string;
  types: string[];
  enabled: boolean;
  err?: string;
}

interface Status {
  fill?: string;
  shape?: string;
  text?: string;
}

describe('example flows (Import → Examples)', function () {
  this.timeout(180_000);
  let runtime: EmbeddedRuntime;
  let sim: TestSim;
  let redis: RedisServer | undefined;
  let smtp: TestSmtp | undefined;
  let nodeSets: NodeSet[] = [];
  const statuses = new Map<string, Status>();
  const onStatus = (event: { id: string; status: Status }) => statuses.set(event.id, event.status ?? {});

  const allFlows = EXAMPLES.flatMap((e) => e.flow ?? []);

  // What `npm start` puts in the environment for flows that read the cluster from it (${QUMULO_…}).
  const savedEnv: Record<string, string | undefined> = {};
  const setEnv = (values: Record<string, string>) => {
    for (const [key, value] of Object.entries(values)) {
      if (!(key in savedEnv)) savedEnv[key] = process.env[key];
      process.env[key] = value;
    }
  };

  before(async () => {
    const dirs = new Set(allFlows.length ? watchedDirectories(allFlows) : []);
    // The demo data `npm start` seeds (incoming/, archive/), plus every folder an example watches.
    const seed: Record<string, string> = { 'incoming/': '', 'archive/': '', 'incoming/welcome.txt': 'hello from qumulo-flow\n' };
    for (const d of dirs) if (d !== '/') seed[`${d.replace(/^\/+|\/+$/g, '')}/`] = '';
    sim = await startSim({ files: seed });
    if (allFlows.some((n) => n.type === 'qumulo-redis')) redis = await startRedisServer({ appendOnly: true });
    if (allFlows.some((n) => n.type === 'qumulo-email')) smtp = await startSmtp();
    setEnv({ ...sim.sim.clusterEnv(), ...(redis ? { REDIS_URL: redis.url } : {}) });
    runtime = await startRuntime({ settings: { nodeCloseTimeout: 15_000 } });
    (runtime.RED.events as import('node:events').EventEmitter).on('node-status', onStatus);
    const res = await runtime.request<NodeSet[]>('GET', '/nodes');
    assert.equal(res.status, 200);
    nodeSets = res.body;
  });

  after(async () => {
    (runtime?.RED.events as import('node:events').EventEmitter | undefined)?.removeListener('node-status', onStatus);
    await runtime?.stop();
    watchRegistry.closeAll();
    await sim?.stop();
    await redis?.stop();
    await smtp?.stop();
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('ships at least the quick start, the full pipeline and the ransomware canary', () => {
    const names = EXAMPLES.map((e) => e.name);
    for (const wanted of [/quick start/i, /full pipeline/i, /ransomware canary/i]) {
      assert.ok(names.some((n) => wanted.test(n)), `no example matching ${wanted} in ${JSON.stringify(names)}`);
    }
  });

  it('every example reads the cluster and Redis from the environment, through one shared config node per kind', () => {
    const shared: Record<string, FlowNode> = {};
    for (const example of EXAMPLES) {
      for (const node of example.flow ?? []) {
        if (node.type !== 'qumulo-cluster' && node.type !== 'qumulo-redis') continue;
        if (node.type === 'qumulo-cluster') {
          assert.deepEqual([node.host, node.port, node.protocol], ['${QUMULO_HOST}', '${QUMULO_PORT}', '${QUMULO_PROTOCOL}'], `${example.name}: cluster address`);
          assert.deepEqual(node.credentials, { username: '${QUMULO_USERNAME}', password: '${QUMULO_PASSWORD}', accessToken: '${QUMULO_ACCESS_TOKEN}' }, `${example.name}: cluster credentials`);
        } else {
          assert.equal(node.url, '${REDIS_URL}', `${example.name}: Redis URL`);
        }
        // Same id and same content everywhere: importing a second example adds no copy.
        shared[node.type] ??= node;
        assert.deepEqual(node, shared[node.type], `${example.name}: ${node.type} differs from the one in the other examples`);
      }
      assert.doesNotMatch(JSON.stringify(example.flow), /127\.0\.0\.1:18000|"port":\s*"18000"|admin\/admin/, `${example.name} names the simulator`);
    }
    assert.ok(shared['qumulo-cluster'] && shared['qumulo-redis'], 'no cluster or Redis config node in the examples');
  });

  it('actions that cannot be undone (lock, legal hold, chmod, rename, quarantine) ship as a dry run; gap healing is on', () => {
    for (const example of EXAMPLES) {
      for (const node of example.flow ?? []) {
        if (IRREVERSIBLE_ACTIONS.includes(node.type)) assert.equal(node.dryRun, true, `${example.name}: ${node.type} ${node.id} acts for real`);
        if (node.type === 'qumulo-watch') assert.equal(node.heal, true, `${example.name}: ${node.id} does not heal gaps`);
      }
    }
  });

  it('every example is a flow: a JSON array of nodes with unique ids, wires to nodes of the flow', () => {
    assert.ok(EXAMPLES.length > 0, 'no examples');
    for (const example of EXAMPLES) {
      assert.equal(example.error, undefined, `${example.name}: ${example.error}`);
      assert.ok(Array.isArray(example.flow) && example.flow.length > 0, `${example.name}: not a non-empty array`);
      const ids = new Set<string>();
      for (const node of example.flow) {
        assert.equal(typeof node.id, 'string', `${example.name}: node without id`);
        assert.equal(typeof node.type, 'string', `${example.name}: node ${node.id} without type`);
        assert.ok(!ids.has(node.id), `${example.name}: duplicate id ${node.id}`);
        ids.add(node.id);
      }
      const tabs = new Set(example.flow.filter((n) => n.type === 'tab').map((n) => n.id));
      for (const node of example.flow) {
        if (node.z !== undefined) assert.ok(tabs.has(node.z) || ids.has(node.z), `${example.name}: ${node.id} on unknown tab ${node.z}`);
        for (const port of node.wires ?? []) for (const target of port) assert.ok(ids.has(target), `${example.name}: ${node.id} wired to missing ${target}`);
        // Every property that names a config node of ours points at one in the same example.
        for (const [key, value] of Object.entries(node)) {
          if ((key === 'cluster' || key === 'redis') && typeof value === 'string' && value !== '') {
            assert.ok(ids.has(value), `${example.name}: ${node.id}.${key} refers to ${value}, not in the example`);
          }
        }
      }
    }
  });

  it('uses only node types the bundle registers or core nodes', () => {
    const ours = new Set(nodeSets.filter((s) => s.module === PACKAGE.name).flatMap((s) => s.types));
    const core = new Set(nodeSets.filter((s) => s.module === 'node-red').flatMap((s) => s.types));
    for (const type of bundleTypes()) assert.ok(ours.has(type), `package.json lists ${type} but the runtime did not register it: ${JSON.stringify(nodeSets.filter((s) => s.module === PACKAGE.name && s.err))}`);
    for (const set of nodeSets.filter((s) => s.module === PACKAGE.name)) {
      assert.equal(set.err, undefined, `${set.id}: ${set.err}`);
      assert.equal(set.enabled, true, `${set.id} not enabled`);
    }
    const structural = new Set(['tab', 'group', 'subflow', 'junction']);
    for (const example of EXAMPLES) {
      for (const node of example.flow ?? []) {
        if (structural.has(node.type) || node.type.startsWith('subflow:')) continue;
        assert.ok(ours.has(node.type) || core.has(node.type), `${example.name}: node type ${node.type} is neither ours nor core`);
      }
    }
  });

  it('every non-config node type in package.json appears in at least one example (scorecard N02)', () => {
    const config = configTypes();
    const used = new Set(allFlows.map((n) => n.type));
    const missing = bundleTypes().filter((t) => !config.has(t) && !used.has(t));
    assert.deepEqual(missing, [], `node types without an example: ${missing.join(', ')}`);
  });

  it('the runtime lists every example under Import → Examples (GET /library/examples/flows/<package>)', async () => {
    const listed: string[] = [];
    const walk = async (prefix: string): Promise<void> => {
      const res = await runtime.request<Array<string | { fn: string }>>('GET', `/library/examples/flows/${PACKAGE.name}${prefix ? '/' + prefix : ''}`);
      assert.equal(res.status, 200, `listing ${prefix || '/'}: HTTP ${res.status}`);
      for (const entry of res.body) {
        if (typeof entry === 'string') await walk(prefix ? `${prefix}/${entry}` : entry);
        else listed.push(prefix ? `${prefix}/${entry.fn}` : entry.fn);
      }
    };
    const modules = await runtime.request<string[]>('GET', '/library/examples/flows/');
    assert.ok(modules.body.includes(PACKAGE.name), `modules with examples: ${JSON.stringify(modules.body)}`);
    await walk('');
    assert.deepEqual(listed.sort(), EXAMPLES.map((e) => e.name).sort());
  });

  describe('each example deploys without errors', () => {
    for (const example of EXAMPLES) {
      it(`deploys "${example.name}"`, async function () {
        // What the editor imports: the file as the examples library serves it.
        const res = await runtime.request<FlowNode[]>('GET', `/library/examples/flows/${PACKAGE.name}/${example.name.split('/').map(encodeURIComponent).join('/')}`);
        assert.equal(res.status, 200, `GET example: HTTP ${res.status}`);
        assert.deepEqual(res.body, JSON.parse(fs.readFileSync(example.file, 'utf8')));
        const flow = pointAtLocalServices(res.body, { smtp: smtp ? { host: smtp.host, port: smtp.port } : undefined });
        for (const dir of watchedDirectories(flow)) fs.mkdirSync(sim.disk(dir.replace(/^\/+/, '')), { recursive: true });

        const ours = flow.filter((n) => n.type.startsWith('qumulo-') && !isConfigNode(n) && !n.d);
        const watches = ours.filter((n) => n.type === 'qumulo-watch');
        const logsBefore = runtime.logs.length;
        for (const n of ours) statuses.delete(n.id);
        await runtime.deploy(flow, 'full');
        // Settled: every watch reports connected (green) or failed (red), and no qumulo node still
        // says connecting (yellow ring).
        const connecting = (id: string) => statuses.get(id)?.fill === 'yellow' && statuses.get(id)?.shape === 'ring';
        await waitUntil(
          () => watches.every((w) => ['green', 'red'].includes(String(statuses.get(w.id)?.fill))) && !ours.some((n) => connecting(n.id)),
          CONNECT_TIMEOUT_MS,
          `${example.name}: nodes settled (${JSON.stringify(ours.map((n) => [n.type, statuses.get(n.id)]))})`,
        ).catch((err: Error) => {
          throw new Error(`${err.message}; logs: ${JSON.stringify(runtime.logs.slice(logsBefore))}`);
        });
        await new Promise((r) => setTimeout(r, SETTLE_MS));

        const errors = runtime.logs.slice(logsBefore).filter((l) => l.level <= 20);
        assert.deepEqual(errors, [], `${example.name}: node errors after deploy`);
        const red = ours.filter((n) => statuses.get(n.id)?.fill === 'red').map((n) => `${n.type} ${n.id}: ${statuses.get(n.id)?.text}`);
        assert.deepEqual(red, [], `${example.name}: nodes with a red status`);
        const deployed = await runtime.getFlows();
        assert.deepEqual(deployed.flows.map((n) => n.id).sort(), flow.map((n) => n.id).sort(), 'GET /flows returns every node of the example');
      });
    }
  });

  describe('the cross-node examples do what their description says', () => {
    const find = (re: RegExp): Example => {
      const example = EXAMPLES.find((e) => re.test(e.name));
      assert.ok(example?.flow, `no example matching ${re}`);
      return example;
    };
    const deployExample = async (example: Example): Promise<FlowNode[]> => {
      // The behaviour the description promises, with Dry run unticked as the description says.
      const flow = pointAtLocalServices(example.flow!, { smtp: smtp ? { host: smtp.host, port: smtp.port } : undefined, live: true });
      const watches = flow.filter((n) => n.type === 'qumulo-watch');
      for (const w of watches) statuses.delete(w.id);
      await runtime.deploy(flow, 'full');
      await waitUntil(() => watches.every((w) => statuses.get(w.id)?.fill === 'green'), CONNECT_TIMEOUT_MS, `${example.name}: watches connected`);
      return flow;
    };
    const noErrorsSince = (mark: number, what: string) => {
      assert.deepEqual(runtime.logs.slice(mark).filter((l) => l.level <= 20), [], `${what}: node errors`);
    };

    it('quick start: a file that arrives in /archive is locked (WORM) once it has settled', async () => {
      const mark = runtime.logs.length;
      await deployExample(find(/^00 - Quick start/));
      fs.writeFileSync(sim.disk('archive/report-q3.csv'), 'quarter,revenue\nQ3,140\n');
      await waitUntil(() => sim.sim.lockOf('archive/report-q3.csv').retention_period !== null, 60_000, 'archive/report-q3.csv locked');
      noErrorsSince(mark, 'quick start');
    });

    it('full pipeline: through Redis, an executable in /incoming is quarantined and a file moved into /archive is locked', async () => {
      const mark = runtime.logs.length;
      await deployExample(find(/Full pipeline/));
      fs.writeFileSync(sim.disk('incoming/setup.exe'), 'MZ not really');
      fs.writeFileSync(sim.disk('incoming/contract.pdf'), '%PDF-1.7');
      // Move it only once the cluster has reported it (it is in the stream): a move, not a new file.
      const client = new Redis(redis!.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
      try {
        await client.connect();
        await waitUntil(async () => JSON.stringify(await client.xrange('qumulo:events', '-', '+')).includes('incoming/contract.pdf'), 30_000, 'incoming/contract.pdf in the stream', 100);
      } finally {
        client.disconnect();
      }
      fs.renameSync(sim.disk('incoming/contract.pdf'), sim.disk('archive/contract.pdf'));
      await waitUntil(() => fs.existsSync(sim.disk('quarantine/incoming/setup.exe')) && !fs.existsSync(sim.disk('incoming/setup.exe')), 60_000, 'setup.exe moved to /quarantine/incoming');
      await waitUntil(() => sim.sim.lockOf('archive/contract.pdf').retention_period !== null, 60_000, 'archive/contract.pdf locked');
      noErrorsSince(mark, 'full pipeline');
    });

    it('ransomware canary: creating a canary is fine, changing it pulls the all-stop, the reset button releases it', async () => {
      const mark = runtime.logs.length;
      const flow = await deployExample(find(/Ransomware canary/));
      const stop = flow.find((n) => n.type === 'qumulo-all-stop')!;
      const lock = flow.find((n) => n.type === 'qumulo-lock')!;
      const reset = flow.find((n) => n.type === 'inject' && n.topic === 'reset')!;
      await waitUntil(() => statuses.get(stop.id)?.fill === 'green', 10_000, 'all-stop armed');
      fs.writeFileSync(sim.disk('incoming/canary-budget.xlsx'), 'decoy');
      fs.appendFileSync(sim.disk('incoming/canary-budget.xlsx'), ' encrypted!');
      await waitUntil(() => /ALL-STOP/.test(String(statuses.get(stop.id)?.text)) && /ALL-STOP/.test(String(statuses.get(lock.id)?.text)), 60_000, 'ALL-STOP on the all-stop and the lock node');
      // What pulled it: the write to the canary, not its creation (events arrive in order).
      const state = AllStopStore.forDirectory(process.env.QUMULO_FLOW_STATE_DIR || runtime.userDir).get(clusterIdentity({ host: sim.host, port: sim.port }));
      assert.equal(state.active, true);
      assert.equal(state.trigger?.path, '/incoming/canary-budget.xlsx');
      assert.notEqual(state.trigger?.type, 'child_file_added', 'creating a canary must not trigger');
      // The inject button in the editor calls POST /inject/<id>.
      const res = await runtime.request('POST', `/inject/${reset.id}`);
      assert.equal(res.status, 200);
      await waitUntil(() => statuses.get(stop.id)?.fill === 'green' && !/ALL-STOP/.test(String(statuses.get(lock.id)?.text)), 30_000, 'all-stop reset');
      assert.deepEqual(runtime.logs.slice(mark).filter((l) => l.level <= 20), [], 'node errors');
    });
  });

  it('example names follow "NN - Title" so Import → Examples lists them in order', () => {
    for (const example of EXAMPLES) {
      assert.match(path.basename(example.name), /^\d{2} - \S/, `${example.name}`);
    }
  });
});
