// Shared by bench:latency and bench:soak: the "cluster" process (bench/latency-cluster.ts), a
// real redis-server, and an embedded Node-RED runtime with two pipelines that lock every new file:
//   plain:  qumulo-watch (/plain) → qumulo-lock → latency sink
//   settle: qumulo-watch (/settle) → qumulo-settle (quiet SETTLE_QUIET_S) → qumulo-lock → sink
//   redis:  qumulo-watch (/redis) → qumulo-redis-out ⇢ Redis stream ⇢ qumulo-redis-in (ack when
//           done) → qumulo-filter (rule: new files → lock) → qumulo-loop-guard → qumulo-lock → sink
// The sink measures creation → lock for every result that locked a file (outcome done, not
// joined): the file name carries its creation time, the result arrives when the PATCH answered.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { startRedisServer, type RedisServer } from '../test/support/redis-server';
import { startRuntimeReady, tempDir, waitFor } from '../test/support/actions';

export const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 10);
export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
/** The settle pipeline's quiet time (s): a file is locked once no event for it came this long. */
export const SETTLE_QUIET_S = Number(process.env.BENCH_SETTLE_QUIET ?? 1);

const SINK_JS = `module.exports = function (RED) {
  const { performance } = require('node:perf_hooks');
  function LatencySink(config) {
    RED.nodes.createNode(this, config);
    const store = (globalThis.__qfLatency = globalThis.__qfLatency || {});
    const state = (store[config.id] = store[config.id] || { latencies: [], toWatch: [], outcomes: {} });
    this.on('input', (msg, send, done) => {
      const result = msg.result || {};
      const key = result.joined ? 'joined' : String(result.outcome);
      state.outcomes[key] = (state.outcomes[key] || 0) + 1;
      const m = /_(\\d+)\\.dat$/.exec(String(msg.payload && msg.payload.path));
      if (m && result.outcome === 'done' && !result.joined) {
        const created = Number(m[1]) / 1000;
        state.latencies.push((performance.timeOrigin + performance.now()) - created);
        // When the watch node received the event (ms clock): splits the latency into the
        // cluster's part (creation → event received) and the flow's part.
        if (typeof msg.payload.receivedAt === 'number') state.toWatch.push(msg.payload.receivedAt - created);
      }
      done();
    });
  }
  RED.nodes.registerType('qf-latency-sink', LatencySink);
};
`;
const SINK_HTML = `<script type="text/javascript">
  RED.nodes.registerType('qf-latency-sink', { category: 'test', defaults: { name: { value: '' } }, inputs: 1, outputs: 0, label: function () { return 'latency'; } });
</script>
`;

export interface SinkState {
  latencies: number[];
  /** Creation → the watch node received the event (ms clock resolution). */
  toWatch: number[];
  outcomes: Record<string, number>;
}

export function sinkState(id: string): SinkState {
  const store = ((globalThis as { __qfLatency?: Record<string, SinkState> }).__qfLatency ??= {});
  return (store[id] ??= { latencies: [], toWatch: [], outcomes: {} });
}

export interface Cluster {
  child: ChildProcess;
  port: number;
  root: string;
  /** Creates `rate` files/s in `dir` for `seconds`; resolves with the number created. */
  run(dir: string, rate: number, seconds: number): Promise<number>;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function startCluster(dirs: string[]): Promise<Cluster> {
  // The simulator keeps real files: on a busy disk creating one takes milliseconds, which would
  // be measured as cluster latency (and caps the rate), so the root lives on tmpfs when there is one.
  const base = process.env.BENCH_ROOT_BASE ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  const root = fs.mkdtempSync(path.join(base, 'qumulo-flow-latency-'));
  const script = path.resolve(__dirname, 'latency-cluster.js');
  const child = spawn(process.execPath, [script, root, String(LATENCY_MS), ...dirs], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! });
  const waiting: Array<(line: Record<string, number>) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const next = () => new Promise<Record<string, number>>((resolve) => waiting.push(resolve));
  process.once('exit', () => child.kill('SIGKILL'));
  const { port } = await next();
  return {
    child,
    port,
    root,
    async run(dir, rate, seconds) {
      const answer = next();
      child.stdin!.write(JSON.stringify({ run: dir, rate, seconds }) + '\n');
      return (await answer).created;
    },
    cpuSeconds: () => processCpuSeconds(child.pid),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.stdin!.write(JSON.stringify({ stop: true }) + '\n');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function processCpuSeconds(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

export interface Pipelines {
  RED: unknown;
  stop(): Promise<void>;
}

/** The two pipelines in one embedded Node-RED, against the cluster and a fresh redis-server. */
export async function startPipelines(cluster: Cluster, which: { plain: boolean; redis: boolean; settle?: boolean }): Promise<Pipelines & { redis: RedisServer | null }> {
  const redis = which.redis ? await startRedisServer({ own: true }) : null;
  const sinkDir = tempDir('latency-sink');
  fs.writeFileSync(path.join(sinkDir, 'qf-latency-sink.js'), SINK_JS);
  fs.writeFileSync(path.join(sinkDir, 'qf-latency-sink.html'), SINK_HTML);
  const lock = (id: string, sink: string, y: number) => ({
    id,
    type: 'qumulo-lock',
    z: 'tab',
    cluster: 'cluster',
    retention: '1d',
    legalHold: 'leave',
    relockThreshold: '1d',
    x: 700,
    y,
    wires: [[sink]],
  });
  const flows: Array<{ id: string; type: string; [key: string]: unknown }> = [
    { id: 'tab', type: 'tab', label: 'latency' },
    { id: 'cluster', type: 'qumulo-cluster', name: 'sim', host: '127.0.0.1', port: String(cluster.port), protocol: 'http', maxConcurrency: String(CONCURRENCY) },
  ];
  if (which.plain) {
    flows.push(
      { id: 'watch-plain', type: 'qumulo-watch', z: 'tab', cluster: 'cluster', path: '/plain', recursive: true, types: ['child_file_added'], heal: false, checkpoints: false, x: 100, y: 60, wires: [['lock-plain']] },
      lock('lock-plain', 'sink-plain', 60),
      { id: 'sink-plain', type: 'qf-latency-sink', z: 'tab', x: 900, y: 60, wires: [] },
    );
  }
  if (which.settle) {
    flows.push(
      { id: 'watch-settle', type: 'qumulo-watch', z: 'tab', cluster: 'cluster', path: '/settle', recursive: true, types: ['child_file_added', 'child_data_written', 'child_size_changed'], heal: false, checkpoints: false, x: 100, y: 110, wires: [['settle']] },
      { id: 'settle', type: 'qumulo-settle', z: 'tab', quietSeconds: SETTLE_QUIET_S, maxPending: 100000, x: 300, y: 110, wires: [['lock-settle']] },
      lock('lock-settle', 'sink-settle', 110),
      { id: 'sink-settle', type: 'qf-latency-sink', z: 'tab', x: 900, y: 110, wires: [] },
    );
  }
  if (redis) {
    flows.push(
      { id: 'redis', type: 'qumulo-redis', name: 'bench', url: redis.url, mode: 'standalone', database: '', keyPrefix: '', ca: '', rejectUnauthorized: true, servername: '', sentinels: '', sentinelName: '', clusterNodes: '' },
      { id: 'watch-redis', type: 'qumulo-watch', z: 'tab', cluster: 'cluster', path: '/redis', recursive: true, types: [], heal: false, checkpoints: false, x: 100, y: 160, wires: [['out']] },
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream: 'qumulo:events', maxLen: '1000000', batchSize: '500', x: 300, y: 160, wires: [] },
      { id: 'in', type: 'qumulo-redis-in', z: 'tab', redis: 'redis', stream: 'qumulo:events', group: 'qumulo-flow', consumer: '', start: '0', ackMode: 'complete', batchSize: '100', maxInFlight: '1000', claimIdle: '30', maxDeliveries: '5', ackTimeout: '300', deadLetter: '', x: 100, y: 240, wires: [['filter']] },
      {
        id: 'filter',
        type: 'qumulo-filter',
        z: 'tab',
        source: 'editor',
        rules: { version: 1, rules: [{ name: 'lock-new-files', enabled: true, actions: ['lock'], when: { all: [{ type: 'child_file_added' }] } }] },
        yaml: '',
        file: '',
        watch: false,
        debounce: 250,
        unmatched: false,
        outputs: 1,
        enrich: false,
        cluster: '',
        enrichTtl: 5,
        x: 300,
        y: 240,
        wires: [['guard']],
      },
      {
        id: 'guard',
        type: 'qumulo-loop-guard',
        z: 'tab',
        cluster: 'cluster',
        redis: '',
        hopLimit: 16,
        echoWindow: 10,
        settle: 1,
        chainWindow: 5,
        fileThreshold: 60,
        fileWindow: 60,
        ruleThreshold: 0,
        ruleWindow: 60,
        cooldown: 60,
        remoteSkew: 250,
        watcherSkew: 0,
        emitSuppressed: false,
        x: 500,
        y: 240,
        wires: [['lock-redis'], [], []],
      },
      lock('lock-redis', 'sink-redis', 240),
      { id: 'sink-redis', type: 'qf-latency-sink', z: 'tab', x: 900, y: 240, wires: [] },
    );
  }
  const { runtime, userDir } = await startRuntimeReady({
    flows,
    credentials: { cluster: { username: 'admin', password: 'admin' } },
    extraNodesDirs: [sinkDir],
  });
  // The watches subscribe after deploy: give them a moment, then warm up each pipeline.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return {
    RED: runtime.RED,
    redis,
    async stop() {
      await runtime.stop();
      await redis?.stop();
      fs.rmSync(sinkDir, { recursive: true, force: true });
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** Creates files at `rate`/s for `seconds` and waits until every one of them has a lock result. */
export async function measure(cluster: Cluster, dir: string, sinkId: string, rate: number, seconds: number): Promise<{ latencies: number[]; toWatch: number[]; outcomes: Record<string, number>; created: number }> {
  const state = sinkState(sinkId);
  state.latencies = [];
  state.toWatch = [];
  state.outcomes = {};
  const created = await cluster.run(dir, rate, seconds);
  await waitFor(() => state.latencies.length >= created, `${created} locks in ${dir}`, 120_000);
  return { latencies: state.latencies, toWatch: state.toWatch, outcomes: { ...state.outcomes }, created };
}

export function percentiles(values: number[]): { p50: number; p95: number; p99: number; max: number } {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

export const ms = (value: number): string => `${value.toFixed(1)} ms`;
