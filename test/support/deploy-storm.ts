// The deploy storm, shared by test/system/deploy-storm.test.ts (short) and bench/deploy-storm.ts (long):
// a real Node-RED process with the bundle, the simulator over HTTP/SSE, redis-server; files are
// created at a steady rate while flows are redeployed through the admin API (full, nodes, flows,
// reload; some change the cluster's and Redis' credentials). Between the loop guard and the lock
// sit core nodes that each end a message differently: switch (never calls done()), change,
// function (returns null for some messages, one of two outputs for the others), delay (rate
// limit: holds messages), link out → link in, split → join. Every file must end up locked, no
// Redis entry pending; duplicates are counted against the messages the bundle reported cut.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { NodeRedProcess, type DeploymentType } from './nr-process';
import type { RedisServer } from './redis-server';
import type { TestSim } from './sim';

export type StormLayout = 'plain' | 'redis-complete' | 'redis-ack-node';

export interface StormOptions {
  layout: StormLayout;
  sim: TestSim;
  /** Needed by the Redis layouts; its password must be `redisPassword`. */
  redis?: RedisServer;
  redisPassword?: string;
  files: number;
  filesPerSecond: number;
  deploys: number;
  /** kill -9 the process once this share of the files is created, then start it again. */
  killAt?: number;
  /** Prefix of the Redis keys (one per storm, so storms can share a server). */
  keyPrefix?: string;
  /** How long to wait for the last file to be locked after the last one is created. */
  settleMs?: number;
  log?: (line: string) => void;
}

export interface StormResult {
  layout: StormLayout;
  files: number;
  /** Files the flow is meant to lock (every tenth file is named skip-… and dropped on purpose). */
  expected: number;
  unlocked: string[];
  /** Skip files that were locked anyway (must be 0). */
  wronglyLocked: number;
  /** Lock results beyond the first per file. */
  duplicates: number;
  /** Messages the bundle reported cut or still in the flow at the deploys (and the kill). */
  inFlightAtDeploys: number;
  pending: number;
  deadLetters: number;
  deploys: Array<{ type: DeploymentType; change: string }>;
  seconds: number;
}

const STREAM = 'storm:events';
const GROUP = 'storm';
const CLUSTER_PASSWORD_ENV = 'QF_STORM_CLUSTER_PASSWORD';
const REDIS_PASSWORD_ENV = 'QF_STORM_REDIS_PASSWORD';

type FlowNode = Record<string, unknown> & { id: string; type: string };

function fileName(n: number): string {
  return n % 10 === 0 ? `skip-${n}.dat` : `f-${n}.dat`;
}

/** The flow of a layout; `variant` changes node properties per deploy. */
function buildFlow(options: StormOptions, variant: { clusterPasswordFromEnv: boolean; redisPasswordFromEnv: boolean; names: Record<string, string>; rate: number }): FlowNode[] {
  const { layout, sim } = options;
  const viaRedis = layout !== 'plain';
  const ackNode = layout === 'redis-ack-node';
  const name = (id: string) => variant.names[id] ?? '';
  const z = 'storm';
  const nodes: FlowNode[] = [
    { id: z, type: 'tab', label: 'deploy storm' },
    {
      id: 'c', type: 'qumulo-cluster', name: 'sim', host: sim.host, port: String(sim.port), protocol: 'http', maxConcurrency: '16',
      credentials: { username: 'admin', password: variant.clusterPasswordFromEnv ? `\${${CLUSTER_PASSWORD_ENV}}` : 'admin' },
    },
    { id: 'w', type: 'qumulo-watch', z, name: name('w'), cluster: 'c', path: '/in', recursive: true, types: [], heal: true, wires: [[viaRedis ? 'out' : 'f'], []] },
    {
      // With a qumulo-ack node every path must reach it, "no match" included.
      id: 'f', type: 'qumulo-filter', z, name: name('f'), source: 'editor', outputs: ackNode ? 2 : 1, unmatched: ackNode,
      rules: { version: 1, rules: [{ name: 'lock-in', enabled: true, actions: ['lock'], when: { all: [{ type: ['child_file_added'] }, { directory: '/in' }] } }] },
      wires: ackNode ? [['g'], ['ack']] : [['g']],
    },
    { id: 'g', type: 'qumulo-loop-guard', z, name: name('g'), cluster: 'c', redis: '', emitSuppressed: ackNode, wires: [['sw'], ackNode ? ['ack'] : [], []] },
    { id: 'sw', type: 'switch', z, name: name('sw'), property: 'payload.type', propertyType: 'msg', rules: [{ t: 'eq', v: 'child_file_added', vt: 'str' }], checkall: 'true', repair: false, outputs: 1, wires: [['ch']] },
    { id: 'ch', type: 'change', z, name: name('ch'), rules: [{ t: 'set', p: 'storm', pt: 'msg', to: 'seen', tot: 'str' }], wires: [['fn']] },
    {
      id: 'fn', type: 'function', z, name: name('fn'), outputs: 3, wires: [['dl'], ['dl'], ackNode ? ['ack'] : []],
      func: [
        'const n = Number(/(\\d+)/.exec(msg.payload.name)[1]);',
        `if (msg.payload.name.startsWith('skip-')) return ${ackNode ? '[null, null, msg]' : 'null'};`,
        'return n % 2 ? [msg, null, null] : [null, msg, null];',
      ].join('\n'),
    },
    { id: 'dl', type: 'delay', z, name: name('dl'), pauseType: 'rate', timeout: '5', timeoutUnits: 'seconds', rate: String(variant.rate), nbRateUnits: '1', rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false, allowrate: false, outputs: 1, wires: [['lo']] },
    { id: 'lo', type: 'link out', z, name: name('lo'), mode: 'link', links: ['li'], wires: [] },
    { id: 'li', type: 'link in', z, name: name('li'), links: ['lo'], wires: [['wrap']] },
    { id: 'wrap', type: 'function', z, name: name('wrap'), outputs: 1, func: 'msg.payload = [msg.payload];\nreturn msg;', wires: [['sp']] },
    { id: 'sp', type: 'split', z, name: name('sp'), splt: '\\n', spltType: 'str', arraySplt: 1, arraySpltType: 'len', stream: false, addname: '', wires: [['jn']] },
    { id: 'jn', type: 'join', z, name: name('jn'), mode: 'auto', build: 'array', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', accumulate: false, timeout: '', count: '', reduceRight: false, wires: [['un']] },
    { id: 'un', type: 'change', z, name: name('un'), rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'payload[0]', tot: 'msg' }], wires: [['lock']] },
    { id: 'lock', type: 'qumulo-lock', z, name: name('lock'), cluster: 'c', retention: '1d', legalHold: 'leave', relockThreshold: '', dryRun: false, wires: [[ackNode ? 'ack' : 'rec']] },
    {
      id: 'rec', type: 'function', z, name: 'record', outputs: 0, wires: [],
      func: "if (msg.result) global.get('fs').appendFileSync(env.get('STORM_FILE'), msg.payload.name + ' ' + msg.result.outcome + '\\n');\nreturn null;",
    },
  ];
  if (viaRedis) {
    nodes.push(
      { id: 'r', type: 'qumulo-redis', url: options.redis!.url, keyPrefix: options.keyPrefix ?? '', credentials: { password: variant.redisPasswordFromEnv ? `\${${REDIS_PASSWORD_ENV}}` : options.redisPassword } },
      { id: 'out', type: 'qumulo-redis-out', z, name: name('out'), redis: 'r', stream: STREAM, wires: [] },
      {
        id: 'in', type: 'qumulo-redis-in', z, name: name('in'), redis: 'r', stream: STREAM, group: GROUP, start: '0', ackMode: ackNode ? 'node' : 'complete',
        claimIdle: '5', maxDeliveries: '5', ackTimeout: '60', wires: [['f']],
      },
    );
  }
  if (ackNode) nodes.push({ id: 'ack', type: 'qumulo-ack', z, name: name('ack'), wires: [['rec']] });
  // Flow nodes need a position: the runtime takes a node without x/y for a config node.
  nodes.forEach((node, i) => {
    if (node.z) Object.assign(node, { x: 120 + (i % 6) * 160, y: 60 + Math.floor(i / 6) * 80 });
  });
  return nodes;
}

/** The changes a deploy makes, in turn; each says which nodes it restarts. */
const CHANGES: Array<{ type: DeploymentType; change: string; apply(v: Variant): void; redisOnly?: boolean }> = [
  { type: 'nodes', change: 'rename the filter', apply: (v) => (v.names.f = `filter ${v.step}`) },
  { type: 'flows', change: 'raise the delay rate', apply: (v) => (v.rate += 50) },
  { type: 'nodes', change: 'cluster credentials (restarts watch, guard, lock)', apply: (v) => (v.clusterPasswordFromEnv = !v.clusterPasswordFromEnv) },
  { type: 'full', change: 'rename the join', apply: (v) => (v.names.jn = `join ${v.step}`) },
  { type: 'nodes', change: 'Redis credentials (restarts out and in)', apply: (v) => (v.redisPasswordFromEnv = !v.redisPasswordFromEnv), redisOnly: true },
  { type: 'nodes', change: 'rename the delay (drops what it holds)', apply: (v) => (v.names.dl = `delay ${v.step}`) },
  { type: 'reload', change: 'rename the switch', apply: (v) => (v.names.sw = `switch ${v.step}`) },
  { type: 'nodes', change: 'rename the lock', apply: (v) => (v.names.lock = `lock ${v.step}`) },
  { type: 'flows', change: 'rename the link in', apply: (v) => (v.names.li = `link in ${v.step}`) },
  { type: 'nodes', change: 'rename the in node', apply: (v) => (v.names.in = `in ${v.step}`), redisOnly: true },
];

interface Variant {
  step: number;
  clusterPasswordFromEnv: boolean;
  redisPasswordFromEnv: boolean;
  names: Record<string, string>;
  rate: number;
}

const STARTED_OR_CUT = /(\d+) message\(s\) (cut by the deploy are (?:sent|delivered) again|still in the flow at close stay pending)/g;

export async function runDeployStorm(stormOptions: StormOptions): Promise<StormResult> {
  const log = stormOptions.log ?? (() => undefined);
  const prefix = stormOptions.keyPrefix ?? `storm-${randomBytes(4).toString('hex')}:`;
  const options: StormOptions = { ...stormOptions, keyPrefix: prefix };
  const started = Date.now();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-storm-'));
  const recordFile = path.join(workDir, 'locked.txt');
  fs.mkdirSync(options.sim.disk('in'), { recursive: true });
  const variant: Variant = { step: 0, clusterPasswordFromEnv: false, redisPasswordFromEnv: false, names: {}, rate: 1000 };
  const initial = buildFlow(options, variant);
  const credentials: Record<string, Record<string, string>> = {};
  for (const node of initial) if (node.credentials) credentials[node.id] = node.credentials as Record<string, string>;
  const nr = await NodeRedProcess.start({
    flows: initial.map(({ credentials: _c, ...rest }) => rest),
    credentials,
    env: { STORM_FILE: recordFile, [CLUSTER_PASSWORD_ENV]: 'admin', [REDIS_PASSWORD_ENV]: options.redisPassword ?? '' },
  });
  let cutLog = 0;
  const countCuts = (text: string) => {
    for (const match of text.matchAll(STARTED_OR_CUT)) cutLog += Number(match[1]);
  };
  const redis = options.redis && options.layout !== 'plain' ? new Redis(options.redis.url, { password: options.redisPassword, maxRetriesPerRequest: null }) : null;
  const applied: StormResult['deploys'] = [];
  try {
    // The watch must be subscribed before the first file appears.
    await waitUntil(() => options.sim.sim.openStreams() > 0, 'the watch subscribed', 30_000);
    const changes = CHANGES.filter((c) => !c.redisOnly || options.layout !== 'plain');
    const deployEvery = Math.max(1, Math.floor(options.files / (options.deploys + 1)));
    const killAtFile = options.killAt ? Math.floor(options.files * options.killAt) : -1;
    const intervalMs = 1000 / options.filesPerSecond;
    const t0 = Date.now();
    let deploying: Promise<void> | null = null;
    let deploysDone = 0;
    for (let n = 1; n <= options.files; n++) {
      const due = t0 + n * intervalMs;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      fs.writeFileSync(options.sim.disk(`in/${fileName(n)}`), `file ${n}\n`);
      if (n === killAtFile) {
        await deploying;
        deploying = null;
        log(`kill -9 at file ${n}`);
        countCuts(nr.output());
        await nr.kill();
        await sleep(500);
        await nr.restart();
        applied.push({ type: 'full', change: 'kill -9 and restart' });
      } else if (n % deployEvery === 0 && deploysDone < options.deploys && !deploying) {
        const change = changes[deploysDone % changes.length];
        deploysDone++;
        variant.step = deploysDone;
        change.apply(variant);
        applied.push({ type: change.type, change: change.change });
        const flow = buildFlow(options, variant);
        log(`deploy ${deploysDone} (${change.type}): ${change.change} at file ${n}`);
        deploying = nr.deploy(flow, change.type).finally(() => {
          deploying = null;
        });
      }
    }
    await deploying;
    // Every deploy due is done, even at high rates where deploys took longer than the files.
    while (deploysDone < options.deploys) {
      const change = changes[deploysDone % changes.length];
      deploysDone++;
      variant.step = deploysDone;
      change.apply(variant);
      applied.push({ type: change.type, change: change.change });
      await nr.deploy(buildFlow(options, variant), change.type);
    }
    const expected: string[] = [];
    for (let n = 1; n <= options.files; n++) if (!fileName(n).startsWith('skip-')) expected.push(fileName(n));
    const isLocked = (name: string) => options.sim.sim.lockOf(`in/${name}`).retention_period !== null;
    const deadline = Date.now() + (options.settleMs ?? 60_000);
    let unlocked = expected.filter((name) => !isLocked(name));
    while (unlocked.length > 0 && Date.now() < deadline) {
      await sleep(250);
      unlocked = unlocked.filter((name) => !isLocked(name));
    }
    let pending = 0;
    let deadLetters = 0;
    if (redis) {
      // The pending count drains once the last journeys end; give it the same deadline.
      for (;;) {
        const summary = (await redis.xpending(prefix + STREAM, GROUP)) as [number, ...unknown[]];
        pending = Number(summary[0]);
        if (pending === 0 || Date.now() > deadline) break;
        await sleep(250);
      }
      deadLetters = Number(await redis.exists(`${prefix}${STREAM}:dead`)) ? Number(await redis.xlen(`${prefix}${STREAM}:dead`)) : 0;
    }
    // Results still being written: give the last ones a moment.
    await sleep(300);
    const lines = fs.existsSync(recordFile) ? fs.readFileSync(recordFile, 'utf8').split('\n').filter(Boolean) : [];
    const perFile = new Map<string, number>();
    for (const line of lines) {
      const name = line.split(' ')[0];
      perFile.set(name, (perFile.get(name) ?? 0) + 1);
    }
    let duplicates = 0;
    for (const count of perFile.values()) duplicates += Math.max(0, count - 1);
    let wronglyLocked = 0;
    for (let n = 10; n <= options.files; n += 10) if (isLocked(fileName(n))) wronglyLocked++;
    countCuts(nr.output());
    if (process.env.STORM_DEBUG) fs.writeFileSync(process.env.STORM_DEBUG, (nr as unknown as { log: string }).log);
    return {
      layout: options.layout,
      files: options.files,
      expected: expected.length,
      unlocked,
      wronglyLocked,
      duplicates,
      inFlightAtDeploys: cutLog,
      pending,
      deadLetters,
      deploys: applied,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- Node-RED output ---\n${nr.output()}`);
  } finally {
    redis?.disconnect();
    await nr.stop();
    if (!process.env.STORM_DEBUG) fs.rmSync(workDir, { recursive: true, force: true });
    else log(`kept ${workDir}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** One line per storm, for the test output and the bench. */
export function describeStorm(result: StormResult): string {
  return (
    `${result.layout}: ${result.files} files, ${result.deploys.length} deploys → ${result.expected - result.unlocked.length}/${result.expected} locked, ` +
    `${result.unlocked.length} unlocked, ${result.pending} pending, ${result.deadLetters} dead letters, ` +
    `${result.duplicates} duplicates (≤ ${result.inFlightAtDeploys} in flight at the deploys), ${result.seconds.toFixed(1)} s`
  );
}
