// npm run bench:redis — the Redis Streams transport in real Node-RED processes on this machine.
//
// 1. Throughput: a source node emits BENCH_EVENTS watch-shaped events (BENCH_BURST per timer tick
//    of about 1 ms, default 100: up to ~100,000 events/s, like a busy change-notify stream) into
//    qumulo-redis-out; qumulo-redis-in (ack when the flow is done) feeds a sink (an inactive debug
//    node: done() and nothing else, so the figure is the transport's own cost). Timed from the
//    first XADD (its entry id carries Redis' clock) until the group has read every entry and
//    nothing is pending. Four layouts, side by side:
//      baseline  source → sink in one process, no Redis: what the source and one hop cost alone;
//      producer alone  source → out, nothing reading: the write side by itself, timed on Redis'
//                    clock from the first entry's id to the last one's;
//      one process   source → out and in → sink in the same Node-RED;
//      two processes source → out in one Node-RED, in → sink in another (the same consumer group
//                    scales out this way: the consumer side runs on its own core).
//    The source is a plain node (like qumulo-watch), not a function node: a function node's
//    sandbox would be part of the figure.
// 2. Backlog: BENCH_BACKLOG entries are seeded first (server-side, exact stored encoding), then a
//    Node-RED process with in → sink drains them; its RSS is sampled every 100 ms.
// 3. CPU per event: the producer alone plus the drain (the consumer alone) is what the pipeline
//    costs when each side has the machine to itself; the two-process layout is the same work
//    with everything at once. Each gives a ceiling: CPUs × 1 s / CPU per event.
// A yardstick (plain ioredis pipelined XADD) runs before and after, to show how busy the machine is.
// 4. BENCH_OVERHEAD=1 runs only this (issue 20's "metrics + audit add ≤ 5 % to one-process"): the
//    one-process layout with a bench "stamp" node after qumulo-redis-in that puts a lock result on
//    each message and calls the lock node's metric hooks (its result, its one REST request), as an
//    action node would. Three variants: plain (QUMULO_FLOW_METRICS=off, no audit node), metrics
//    (on, no audit node), metrics + audit (a qumulo-audit node after the stamp: one audit record per
//    event, as if every event were acted on). Node-RED CPU per event (process CPU time, which a
//    busy neighbour moves far less than throughput) in BENCH_PAIRS rounds (8), the order rotated
//    each round: the median of each round's ratio to plain, with quartiles and range. Runs vary by
//    ±15 % even in CPU per event, so first, and better: inside one process, metrics switched on and
//    off every BENCH_BLOCK events (10,000) of BENCH_ALT_EVENTS (400,000) — bench:redis's own flow,
//    then with the stamp and the audit node (the route around or through it switched too), then
//    with the stamp writing the record itself as the action nodes' audit option does (no hop);
//    each on-block's CPU against the mean of the off-blocks either side (BENCH_SHOW_BLOCKS=1 prints them).
//
// Environment: BENCH_EVENTS (default 200000), BENCH_BURST (100), BENCH_BACKLOG (default 1000000),
// BENCH_RUNS (5: each layout runs that many times, the median is reported; runs on a 2-vCPU VM vary by ±30 %), BENCH_WINDOW (2000: most
// messages the source keeps in flight, sent and not yet done() by the node after it),
// BENCH_LAYOUTS (comma-separated subset, e.g. "one process"; the CPU budget needs producer alone and two processes),
// BENCH_NODE_ARGS (extra node flags for the Node-RED processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
// BENCH_OVERHEAD (1: part 4 only), BENCH_PAIRS (8; 0 = only the in-process alternation),
// BENCH_ALT_EVENTS (400000), BENCH_BLOCK (10000), BENCH_SHOW_BLOCKS (1: print each block),
// BENCH_AUDIT_MODES (none,node,inline: which alternations run; also hooks: the action's metric hooks alone).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { NodeRedProcess, processCpuSeconds } from '../test/support/nr-process';
import { startRedisServer, redisServerVersion, type RedisServer } from '../test/support/redis-server';
import { seedStream } from '../test/support/redis-helpers';
import { ranOn } from './ran-on';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
/** Events the source emits per timer tick (about 1 ms): 100 = up to ~100,000 events/s. */
const BURST = Number(process.env.BENCH_BURST ?? 100);
/** Most messages the source keeps in flight (sent, not yet done() by the next node). */
const WINDOW = Number(process.env.BENCH_WINDOW ?? 2000);
const ALL_LAYOUTS = ['baseline', 'producer alone', 'one process', 'two processes'] as const;
type Layout = (typeof ALL_LAYOUTS)[number];
const LAYOUT_WIDTH = Math.max(...ALL_LAYOUTS.map((name) => name.length));
/** BENCH_LAYOUTS: a comma-separated subset of the layouts (default all four). */
const LAYOUTS: Layout[] = (process.env.BENCH_LAYOUTS ?? ALL_LAYOUTS.join(','))
  .split(',')
  .map((name) => name.trim())
  .filter((name) => name !== '')
  .map((name) => {
    if (!(ALL_LAYOUTS as readonly string[]).includes(name)) throw new Error(`BENCH_LAYOUTS: unknown layout "${name}" (known: ${ALL_LAYOUTS.join(', ')})`);
    return name as Layout;
  });
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * The bench's event source, written to a temp nodes dir: emits the same shape as
 * test/support/redis-helpers makeEvent, BENCH_BURST per tick, starting one second after deploy.
 */
const SOURCE_JS = `module.exports = function (RED) {
  function BenchSource(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const total = Number(process.env.BENCH_EVENTS);
    const perTick = Number(process.env.BENCH_BURST);
    const window = Number(process.env.BENCH_WINDOW);
    // Closed loop: count the messages the next node has finished with (its done()), and keep at
    // most BENCH_WINDOW in flight. Node-RED has no back-pressure: without this, a source faster
    // than the flow piles messages up in memory, and the figure measures the garbage collector.
    const target = node.wires[0][0];
    let completed = 0;
    const hookId = 'onComplete.benchSource' + node.id;
    RED.hooks.add(hookId, (event) => { if (event.node.id === target) completed++; });
    let seq = 0;
    let startedAt = 0;
    function burst() {
      if (startedAt === 0) startedAt = Date.now();
      const room = Math.min(perTick, window - (seq - completed));
      for (let i = 0; i < room && seq < total; i++) {
        seq++;
        const name = 'file-' + seq + '.txt';
        node.send({ payload: {
          type: 'child_file_added', path: '/watched/dir/' + name, relativePath: 'dir/' + name, name: name,
          extension: 'txt', parentDir: '/watched/dir', fileId: String(1000000 + seq), spine: ['2', '3', String(1000000 + seq)],
          isDirectory: false, streamName: null, watchId: 'watch-1', watchRoot: '/watched', seq: seq, receivedAt: Date.now(),
        } });
      }
      if (seq < total || completed < total) timer = setTimeout(burst, 0);
      else {
        timer = null;
        node.log('bench source: ' + total + ' events in ' + (Date.now() - startedAt) + ' ms');
      }
    }
    let timer = setTimeout(burst, 1000);
    node.on('close', () => { clearTimeout(timer); RED.hooks.remove(hookId); });
  }
  RED.nodes.registerType('bench-event-source', BenchSource);
};
`;
/**
 * For BENCH_OVERHEAD: what an action node adds that the audit node reads, without a cluster: a lock
 * result on the message, and the lock node's metric hooks (no-ops with QUMULO_FLOW_METRICS=off).
 */
const STAMP_JS = `module.exports = function (RED) {
  const metrics = require(process.env.BENCH_METRICS_MODULE);
  // BENCH_STAMP_AUDIT=inline: the action nodes' audit option (the record written in the node, the
  // message on after it, output 2), instead of the route through a qumulo-audit node (output 1).
  const inline = process.env.BENCH_STAMP_AUDIT === 'inline';
  const audit = inline ? require(process.env.BENCH_AUDIT_MODULE) : null;
  function BenchStamp(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const recorder = inline ? audit.ResultRecorder.open(process.env.BENCH_AUDIT_DIR, node.id) : null;
    node.on('input', (msg, send, done) => {
      const event = msg.payload;
      msg.result = { action: 'lock', path: event.path, outcome: 'done', detail: 'locked until 2027-01-01T00:00:00Z', durationMs: 1, fileId: event.fileId, retention: '2027-01-01T00:00:00Z', legalHold: false };
      metrics.observeRest('PATCH', '/v1/files/' + encodeURIComponent(event.fileId) + '/file-lock', 200, 0.001);
      metrics.recordActionResult(node.id, 'bench-cluster', msg.result, event);
      if (recorder && globalThis.qfBenchAudit !== false) {
        recorder.recordNewest(msg, (err) => {
          send([null, msg]);
          done(err || undefined);
        });
        return;
      }
      // Output 1 leads through the audit node, output 2 around it (the in-process alternation
      // switches between them with globalThis.qfBenchAudit).
      if (globalThis.qfBenchAudit === false || inline) send([null, msg]);
      else send([msg, null]);
      done();
    });
  }
  RED.nodes.registerType('bench-stamp', BenchStamp);
};
`;
/**
 * For BENCH_OVERHEAD's in-process alternation: the flow's end. Every BENCH_BLOCK events it takes
 * the process's CPU time for the block just done and flips the mode (metrics on/off, and with
 * BENCH_ALT_AUDIT=1 the stamp's route through the audit node or around it); at the end it logs
 * the blocks as one JSON line.
 */
const METER_JS = `module.exports = function (RED) {
  const metrics = require(process.env.BENCH_METRICS_MODULE);
  function BenchMeter(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const total = Number(process.env.BENCH_EVENTS);
    const block = Number(process.env.BENCH_BLOCK);
    const withAudit = process.env.BENCH_ALT_AUDIT === '1';
    let observed = false;
    const setMode = (on) => {
      observed = on;
      metrics.setMetricsEnabled(on);
      globalThis.qfBenchAudit = withAudit && on;
    };
    setMode(false);
    let count = 0;
    let cpu = null;
    const blocks = [];
    node.on('input', (msg, send, done) => {
      done();
      count++;
      if (count === block) cpu = process.cpuUsage(); // the first block warms up, unmeasured
      else if (count % block === 0 && cpu) {
        const used = process.cpuUsage(cpu);
        cpu = process.cpuUsage();
        blocks.push({ observed, micros: used.user + used.system, events: block });
        setMode(!observed);
      }
      if (count === total) {
        require('fs').writeFileSync(process.env.BENCH_METER_FILE, JSON.stringify(blocks));
        node.log('bench meter: done');
      }
    });
  }
  RED.nodes.registerType('bench-meter', BenchMeter);
};
`;
const METER_HTML = `<script type="text/javascript">
  RED.nodes.registerType('bench-meter', { category: 'bench', defaults: {}, inputs: 1, outputs: 0 });
</script>
`;
const STAMP_HTML = `<script type="text/javascript">
  RED.nodes.registerType('bench-stamp', { category: 'bench', defaults: {}, inputs: 1, outputs: 2 });
</script>
`;
const SOURCE_HTML = `<script type="text/javascript">
  RED.nodes.registerType('bench-event-source', { category: 'bench', defaults: {}, inputs: 0, outputs: 1 });
</script>
`;

function writeSourceNode(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-bench-nodes-'));
  fs.writeFileSync(path.join(dir, 'bench-event-source.js'), SOURCE_JS);
  fs.writeFileSync(path.join(dir, 'bench-event-source.html'), SOURCE_HTML);
  fs.writeFileSync(path.join(dir, 'bench-stamp.js'), STAMP_JS);
  fs.writeFileSync(path.join(dir, 'bench-stamp.html'), STAMP_HTML);
  fs.writeFileSync(path.join(dir, 'bench-meter.js'), METER_JS);
  fs.writeFileSync(path.join(dir, 'bench-meter.html'), METER_HTML);
  return dir;
}

function sinkNode(id: string): Record<string, unknown> {
  return { id, type: 'debug', z: 'tab', x: 600, y: 200, active: false, tosidebar: false, console: false, tostatus: false, complete: 'true', wires: [] };
}

const tab = { id: 'tab', type: 'tab', label: 'bench' };
const redisConfig = (url: string, prefix: string) => ({ id: 'redis', type: 'qumulo-redis', url, keyPrefix: prefix });
const sourceNode = (wires: string[]) => ({ id: 'source', type: 'bench-event-source', z: 'tab', x: 150, y: 100, wires: [wires] });
const outNode = { id: 'out', type: 'qumulo-redis-out', z: 'tab', x: 350, y: 100, redis: 'redis', stream: 'events', maxLen: '0', batchSize: process.env.BENCH_OUT_BATCH ?? '', wires: [] };
const inNode = { id: 'in', type: 'qumulo-redis-in', z: 'tab', x: 150, y: 200, redis: 'redis', stream: 'events', group: 'bench', start: '0', batchSize: process.env.BENCH_IN_BATCH ?? '', maxInFlight: process.env.BENCH_IN_FLIGHT ?? '', wires: [['sink']] };

function drainFlow(url: string, prefix: string): unknown[] {
  return [
    { id: 'tab', type: 'tab', label: 'drain' },
    { id: 'redis', type: 'qumulo-redis', url, keyPrefix: prefix },
    { id: 'in', type: 'qumulo-redis-in', z: 'tab', x: 150, y: 200, redis: 'redis', stream: 'events', group: 'bench', start: '0', wires: [['sink']] },
    sinkNode('sink'),
  ];
}

interface GroupInfo {
  entriesRead: number;
  pending: number;
}

async function groupInfo(redis: Redis, key: string): Promise<GroupInfo | null> {
  try {
    const groups = (await redis.xinfo('GROUPS', key)) as unknown[][];
    for (const group of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < group.length; i += 2) info.set(String(group[i]), group[i + 1]);
      if (info.get('name') === 'bench') return { entriesRead: Number(info.get('entries-read') ?? 0), pending: Number(info.get('pending') ?? 0) };
    }
  } catch {
    // stream or group not there yet
  }
  return null;
}

async function waitDrained(redis: Redis, key: string, total: number, onTick?: () => void): Promise<number> {
  for (;;) {
    const info = await groupInfo(redis, key);
    onTick?.();
    if (info && info.entriesRead >= total && info.pending === 0) return Date.now();
    await new Promise((r) => setTimeout(r, 100));
  }
}

function idTime(id: string): number {
  return Number(id.split('-')[0]);
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0) + ' MB';
}

/** CPU µs per entry from CPU seconds spent on `count` entries. */
function microsPerEntry(cpuSeconds: number, count: number): number {
  return (cpuSeconds / count) * 1e6;
}

/** Redis' clock (ms) at the stream's first and last entry, read from their ids. */
async function streamSpan(redis: Redis, key: string): Promise<{ first: number; last: number }> {
  const first = (await redis.xrange(key, '-', '+', 'COUNT', 1))[0][0];
  const last = (await redis.xrevrange(key, '+', '-', 'COUNT', 1))[0][0];
  return { first: idTime(first), last: idTime(last) };
}

/** One run's figures: events/s, and CPU µs per event of the Node-RED processes (summed) and of redis-server. */
interface RunFigures {
  rate: number;
  nodeRedCpu: number;
  redisCpu: number;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Node-RED processes for a layout; the last one is where the source runs. */
async function startLayout(layout: Layout, url: string, prefix: string, nodesDir: string): Promise<NodeRedProcess[]> {
  const common = { env: { BENCH_EVENTS: String(EVENTS), BENCH_BURST: String(BURST), BENCH_WINDOW: String(WINDOW) }, nodeArgs: NODE_ARGS, settings: { nodesDir: [REPO_ROOT, nodesDir] } };
  if (layout === 'baseline') {
    return [await NodeRedProcess.start({ ...common, flows: [tab, sourceNode(['sink']), sinkNode('sink')] })];
  }
  if (layout === 'producer alone') {
    return [await NodeRedProcess.start({ ...common, flows: [tab, redisConfig(url, prefix), sourceNode(['out']), outNode] })];
  }
  if (layout === 'one process') {
    return [await NodeRedProcess.start({ ...common, flows: [tab, redisConfig(url, prefix), sourceNode(['out']), outNode, inNode, sinkNode('sink')] })];
  }
  const consumer = await NodeRedProcess.start({ ...common, flows: [tab, redisConfig(url, prefix), inNode, sinkNode('sink')] });
  const producer = await NodeRedProcess.start({ ...common, flows: [tab, redisConfig(url, prefix), sourceNode(['out']), outNode] });
  return [consumer, producer];
}

/** The source says when it finished and how long it took (its last deliveries included). */
async function waitSourceFinished(nr: NodeRedProcess): Promise<number> {
  for (;;) {
    const match = /bench source: \d+ events in (\d+) ms/.exec(nr.output());
    if (match) return Number(match[1]) / 1000;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One run of one layout; prints its line and returns its figures. */
async function throughput(server: RedisServer, redis: Redis, layout: Layout, run: number, nodesDir: string): Promise<RunFigures> {
  const prefix = `bench${run}${layout.replace(/ /g, '')}:`;
  const processes = await startLayout(layout, server.url, prefix, nodesDir);
  try {
    let peakRss = 0;
    const cpuBefore = processes.map((nr) => nr.cpuSeconds());
    const redisCpuBefore = processCpuSeconds(server.pid ?? 0);
    let seconds: number;
    let writeRate = '';
    if (layout === 'baseline') {
      seconds = await waitSourceFinished(processes[0]);
      peakRss = processes[0].rss();
    } else if (layout === 'producer alone') {
      // Every append is confirmed when the source finishes (its window counts out's done()); the
      // rate is timed on Redis' clock, from the first entry's id to the last one's.
      await waitSourceFinished(processes[0]);
      peakRss = processes[0].rss();
      const span = await streamSpan(redis, prefix + 'events');
      seconds = Math.max(0.001, (span.last - span.first) / 1000);
    } else {
      const end = await waitDrained(redis, prefix + 'events', EVENTS, () => {
        peakRss = Math.max(peakRss, ...processes.map((nr) => nr.rss()));
      });
      const span = await streamSpan(redis, prefix + 'events');
      seconds = (end - span.first) / 1000;
      const writeSeconds = Math.max(0.001, (span.last - span.first) / 1000);
      writeRate = `; XADD side ${Math.round(EVENTS / writeSeconds).toLocaleString('en-US')}/s`;
    }
    const cpu = processes.map((nr, i) => nr.cpuSeconds() - cpuBefore[i]);
    const redisCpu = processCpuSeconds(server.pid ?? 0) - redisCpuBefore;
    const rate = EVENTS / seconds;
    const perEvent = (cpuSeconds: number) => microsPerEntry(cpuSeconds, EVENTS).toFixed(1);
    const cpuText = layout === 'two processes' ? `consumer ${perEvent(cpu[0])} + producer ${perEvent(cpu[1])}` : perEvent(cpu[0]);
    console.log(
      `  ${layout.padEnd(LAYOUT_WIDTH)} run ${run}: ${Math.round(rate).toLocaleString('en-US').padStart(7)} events/s (${seconds.toFixed(2)} s${writeRate}; peak RSS ${mb(peakRss)}); ` +
      `CPU µs/event: Node-RED ${cpuText}` + (layout === 'baseline' ? '' : `, redis-server ${perEvent(redisCpu)}`) + `; load ${os.loadavg()[0].toFixed(1)}`,
    );
    const nodeRedCpu = cpu.reduce((a, b) => a + b, 0);
    return { rate, nodeRedCpu: microsPerEntry(nodeRedCpu, EVENTS), redisCpu: microsPerEntry(redisCpu, EVENTS) };
  } finally {
    for (const nr of processes) await nr.stop();
    await redis.del(prefix + 'events');
  }
}

/** Drains a seeded backlog; returns the consumer side's CPU µs per entry (Node-RED, redis-server). */
async function backlogDrain(server: RedisServer, redis: Redis): Promise<{ nodeRedCpu: number; redisCpu: number }> {
  const prefix = 'backlog:';
  const key = prefix + 'events';
  const seedStart = Date.now();
  // Written server-side (Lua) in the exact stored encoding: the client-side XADD rate is what
  // the throughput part measures; here only the backlog matters.
  await seedStream(redis, key, BACKLOG);
  const seedSeconds = (Date.now() - seedStart) / 1000;
  const memory = Number(((await redis.memory('USAGE', key, 'SAMPLES', '0')) as number) ?? 0);
  console.log(`backlog: ${BACKLOG.toLocaleString('en-US')} entries seeded in ${seedSeconds.toFixed(1)} s (server-side); the stream uses ${mb(memory)} in Redis`);

  const start = Date.now();
  const nr = await NodeRedProcess.start({ flows: drainFlow(server.url, prefix) });
  try {
    let peakRss = 0;
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const rss = nr.rss();
      samples.push(rss);
      peakRss = Math.max(peakRss, rss);
    }, 100);
    const cpuBefore = nr.cpuSeconds();
    const redisCpuBefore = processCpuSeconds(server.pid ?? 0);
    const end = await waitDrained(redis, key, BACKLOG);
    const cpu = nr.cpuSeconds() - cpuBefore;
    const redisCpu = processCpuSeconds(server.pid ?? 0) - redisCpuBefore;
    clearInterval(sampler);
    const seconds = (end - start) / 1000;
    const nodeRedMicros = microsPerEntry(cpu, BACKLOG);
    const redisMicros = microsPerEntry(redisCpu, BACKLOG);
    const sorted = samples.slice().sort((a, b) => a - b);
    console.log(
      `backlog drain: ${BACKLOG.toLocaleString('en-US')} entries in ${seconds.toFixed(1)} s (incl. Node-RED start) = ${Math.round(BACKLOG / seconds).toLocaleString('en-US')} events/s; ` +
        `Node-RED RSS peak ${mb(peakRss)}, median ${mb(sorted[Math.floor(sorted.length / 2)] ?? 0)} (${samples.length} samples)\n` +
        `  CPU: Node-RED ${cpu.toFixed(2)} s after start (${nodeRedMicros.toFixed(1)} µs/event = ${Math.round(BACKLOG / cpu).toLocaleString('en-US')} events per CPU-second), ` +
        `redis-server ${redisMicros.toFixed(1)} µs/event; load average ${os.loadavg()[0].toFixed(1)}`,
    );
    return { nodeRedCpu: nodeRedMicros, redisCpu: redisMicros };
  } finally {
    await nr.stop();
    await redis.del(key);
  }
}

/**
 * A yardstick for how busy the machine is right now: plain ioredis, pipelines of 200
 * `XADD … MAXLEN ~` with 4 small fields (the method of shared/anchors.md §3.3, which measured
 * ~221,000/s on this 2-vCPU VM when idle). Scale the figures above by the ratio.
 */
async function yardstick(redis: Redis): Promise<void> {
  const total = 100_000;
  const fields = ['a', '1', 'b', '2', 'c', '3', 'd', '4'];
  const cpu = process.cpuUsage();
  const start = Date.now();
  for (let i = 0; i < total; i += 200) {
    const pipeline = redis.pipeline();
    for (let k = 0; k < 200; k++) pipeline.xadd('yardstick', 'MAXLEN', '~', 100000, '*', ...fields);
    await pipeline.exec();
  }
  const used = process.cpuUsage(cpu);
  const rate = total / ((Date.now() - start) / 1000);
  await redis.del('yardstick');
  console.log(
    `yardstick (plain ioredis, pipelines of 200 XADD): ${Math.round(rate).toLocaleString('en-US')}/s, ${((used.user + used.system) / total).toFixed(1)} µs CPU each ` +
      `(~221,000/s when this VM is idle); load average ${os.loadavg()[0].toFixed(1)}`,
  );
}

type Variant = 'plain' | 'metrics' | 'metrics + audit';
const VARIANTS: Variant[] = ['plain', 'metrics', 'metrics + audit'];

/**
 * One run of the one-process layout for BENCH_OVERHEAD: plain (QUMULO_FLOW_METRICS=off, no audit
 * node), metrics (on, no audit node: what bench:redis itself runs, since it has no actions to
 * audit), or metrics + audit (a qumulo-audit node after the stamp: an audit record per event).
 */
async function overheadRun(server: RedisServer, redis: Redis, variant: Variant, run: number, nodesDir: string): Promise<{ cpu: number; rate: number }> {
  const audited = variant === 'metrics + audit';
  const prefix = `overhead${run}${VARIANTS.indexOf(variant)}:`;
  const auditDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-bench-overhead-audit-'));
  const stamp = { id: 'stamp', type: 'bench-stamp', z: 'tab', x: 350, y: 200, wires: [[audited ? 'audit' : 'sink'], []] };
  const audit = { id: 'audit', type: 'qumulo-audit', z: 'tab', x: 500, y: 200, directory: auditDir, retentionDays: '', wires: [['sink']] };
  const flows = [tab, redisConfig(server.url, prefix), sourceNode(['out']), outNode, { ...inNode, wires: [['stamp']] }, stamp, ...(audited ? [audit] : []), sinkNode('sink')];
  const nr = await NodeRedProcess.start({
    env: {
      BENCH_EVENTS: String(EVENTS),
      BENCH_BURST: String(BURST),
      BENCH_WINDOW: String(WINDOW),
      BENCH_METRICS_MODULE: path.join(REPO_ROOT, 'dist', 'core', 'metrics'),
      QUMULO_FLOW_METRICS: variant === 'plain' ? 'off' : 'on',
    },
    nodeArgs: NODE_ARGS,
    settings: { nodesDir: [REPO_ROOT, nodesDir] },
    flows,
  });
  try {
    const cpuBefore = nr.cpuSeconds();
    const end = await waitDrained(redis, prefix + 'events', EVENTS);
    const cpu = nr.cpuSeconds() - cpuBefore;
    const span = await streamSpan(redis, prefix + 'events');
    const rate = EVENTS / ((end - span.first) / 1000);
    if (audited) {
      const lines = fs.readdirSync(auditDir).reduce((n, name) => n + fs.readFileSync(path.join(auditDir, name), 'utf8').split('\n').length - 1, 0);
      if (lines < EVENTS) throw new Error(`audited run ${run}: ${lines} audit records for ${EVENTS} events`);
    }
    return { cpu: microsPerEntry(cpu, EVENTS), rate };
  } finally {
    await nr.stop();
    await redis.del(prefix + 'events');
    fs.rmSync(auditDir, { recursive: true, force: true });
  }
}

/** BENCH_OVERHEAD: metrics, and metrics + audit, against neither, in rounds; median ratios of Node-RED CPU per event. */
async function overhead(server: RedisServer, redis: Redis, nodesDir: string): Promise<void> {
  const rounds = Math.max(1, Number(process.env.BENCH_PAIRS ?? 8));
  console.log(`overhead on one process (${EVENTS} events per run, ${rounds} rounds of ${VARIANTS.join(' / ')}, order rotated each round):`);
  const cpu = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  const rates = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  const ratios = { metrics: [] as number[], 'metrics + audit': [] as number[] };
  await overheadRun(server, redis, 'metrics + audit', 0, nodesDir); // warm-up (disk cache, Redis)
  for (let round = 1; round <= rounds; round++) {
    // Rotate the order, so a trend in the machine's load hits every variant alike.
    const order = VARIANTS.map((_, k) => VARIANTS[(k + round) % VARIANTS.length]);
    const figures = new Map<Variant, { cpu: number; rate: number }>();
    for (const variant of order) figures.set(variant, await overheadRun(server, redis, variant, round, nodesDir));
    for (const variant of VARIANTS) {
      cpu.get(variant)!.push(figures.get(variant)!.cpu);
      rates.get(variant)!.push(figures.get(variant)!.rate);
    }
    const plain = figures.get('plain')!.cpu;
    ratios.metrics.push(figures.get('metrics')!.cpu / plain);
    ratios['metrics + audit'].push(figures.get('metrics + audit')!.cpu / plain);
    console.log(
      `  round ${round}: ` +
        VARIANTS.map((v) => `${v} ${figures.get(v)!.cpu.toFixed(2)} µs/event (${Math.round(figures.get(v)!.rate).toLocaleString('en-US')}/s)`).join(', ') +
        `; ratios ${ratios.metrics[round - 1].toFixed(3)} / ${ratios['metrics + audit'][round - 1].toFixed(3)}; load ${os.loadavg()[0].toFixed(1)}`,
    );
  }
  const plainCpu = median(cpu.get('plain')!);
  console.log(`  Node-RED CPU per event, medians: ${VARIANTS.map((v) => `${v} ${median(cpu.get(v)!).toFixed(2)} µs`).join(', ')}`);
  for (const variant of ['metrics', 'metrics + audit'] as const) {
    const sorted = ratios[variant].slice().sort((a, b) => a - b);
    const quartile = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))];
    const m = median(ratios[variant]);
    console.log(
      `  ${variant} / plain: median ratio ${m.toFixed(3)} (${m >= 1 ? '+' : ''}${((m - 1) * 100).toFixed(1)} %, ${(median(cpu.get(variant)!) - plainCpu).toFixed(2)} µs per event), ` +
        `quartiles ${quartile(0.25).toFixed(3)}–${quartile(0.75).toFixed(3)}, range ${sorted[0].toFixed(3)}–${sorted[sorted.length - 1].toFixed(3)}; ` +
        `≤ 1.05: ${m <= 1.05 ? `met, by ${((1.05 - m) * 100).toFixed(1)} points` : 'NOT met'}`,
    );
  }
  console.log(`  throughput, medians (noisy on a shared machine): ${VARIANTS.map((v) => `${v} ${Math.round(median(rates.get(v)!)).toLocaleString('en-US')}/s`).join(', ')}`);
}

/** What the alternation switches on with metrics: nothing more, an action's metric hooks (no audit), the route through a qumulo-audit node, or the action nodes' audit option. */
type AuditMode = 'none' | 'hooks' | 'node' | 'inline';

/**
 * BENCH_OVERHEAD, in one process: blocks of BENCH_BLOCK events alternate metrics off and on (and
 * with an audit mode the route around or through the audit node, or the stamp's own record), so
 * both modes share the process, its JIT state and the machine's moment; the ratio of each
 * on-block's CPU to the off-block before it, median and spread over the run.
 */
async function alternation(server: RedisServer, redis: Redis, auditMode: AuditMode, nodesDir: string, total: number, block: number): Promise<void> {
  const withAudit = auditMode !== 'none';
  const prefix = `alternate${auditMode[0]}:`;
  const auditDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-bench-overhead-audit-'));
  const meterFile = path.join(auditDir, 'meter.json');
  const flows = [
    tab,
    redisConfig(server.url, prefix),
    sourceNode(['out']),
    outNode,
    // Metrics alone: bench:redis's own flow (in → the meter as its sink). With the audit: a stamp
    // (an action's result and metric hooks) and the audit node, or the route around them.
    { ...inNode, wires: [[withAudit ? 'stamp' : 'meter']] },
    ...(withAudit
      ? [
          { id: 'stamp', type: 'bench-stamp', z: 'tab', x: 350, y: 200, wires: [[auditMode === 'node' ? 'audit' : 'meter'], ['meter']] },
          ...(auditMode === 'node' ? [{ id: 'audit', type: 'qumulo-audit', z: 'tab', x: 500, y: 200, directory: auditDir, retentionDays: '', wires: [['meter']] }] : []),
        ]
      : []),
    { id: 'meter', type: 'bench-meter', z: 'tab', x: 650, y: 200, wires: [] },
  ];
  const nr = await NodeRedProcess.start({
    env: {
      BENCH_EVENTS: String(total),
      BENCH_BURST: String(BURST),
      BENCH_WINDOW: String(WINDOW),
      BENCH_BLOCK: String(block),
      BENCH_ALT_AUDIT: withAudit ? '1' : '0',
      BENCH_STAMP_AUDIT: auditMode === 'inline' ? 'inline' : 'node',
      BENCH_AUDIT_MODULE: path.join(REPO_ROOT, 'dist', 'core', 'audit'),
      BENCH_AUDIT_DIR: auditDir,
      BENCH_METER_FILE: meterFile,
      BENCH_METRICS_MODULE: path.join(REPO_ROOT, 'dist', 'core', 'metrics'),
    },
    nodeArgs: NODE_ARGS,
    settings: { nodesDir: [REPO_ROOT, nodesDir] },
    flows,
  });
  try {
    const deadline = Date.now() + 15 * 60_000;
    while (!fs.existsSync(meterFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (!fs.existsSync(meterFile)) throw new Error(`no meter report:\n${nr.output()}`);
    const blocks = JSON.parse(fs.readFileSync(meterFile, 'utf8')) as Array<{ observed: boolean; micros: number; events: number }>;
    const ratios: number[] = [];
    // Each on-block against the mean of the off-blocks either side of it: a drift over the run
    // (the stream and the heap grow) cancels out instead of counting against the later block.
    for (let i = 1; i + 1 < blocks.length; i++) {
      if (blocks[i].observed && !blocks[i - 1].observed && !blocks[i + 1].observed) ratios.push(blocks[i].micros / ((blocks[i - 1].micros + blocks[i + 1].micros) / 2));
    }
    const perEvent = (observed: boolean) => median(blocks.filter((b) => b.observed === observed).map((b) => b.micros / b.events));
    const sorted = ratios.slice().sort((a, b) => a - b);
    const quartile = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))];
    const m = median(ratios);
    const what = { none: 'metrics (bench:redis flow)', hooks: 'action hooks (no audit)', node: 'action hooks + qumulo-audit node', inline: 'action hooks + audit option' }[auditMode];
    if (process.env.BENCH_SHOW_BLOCKS === '1') console.log(`  blocks (µs/event, * = on): ${blocks.map((b) => `${(b.micros / b.events).toFixed(1)}${b.observed ? '*' : ''}`).join(' ')}`);
    console.log(
      `  ${what.padEnd(32)} ${ratios.length} on-blocks of ${block.toLocaleString('en-US')} events: off ${perEvent(false).toFixed(2)} µs/event, on ${perEvent(true).toFixed(2)} µs/event; ` +
        `ratio to the off-blocks either side: median ${m.toFixed(3)} (${m >= 1 ? '+' : ''}${((m - 1) * 100).toFixed(1)} %), quartiles ${quartile(0.25).toFixed(3)}–${quartile(0.75).toFixed(3)}, range ${sorted[0].toFixed(3)}–${sorted[sorted.length - 1].toFixed(3)}; ` +
        `≤ 1.05: ${m <= 1.05 ? `met, by ${((1.05 - m) * 100).toFixed(1)} points` : 'NOT met'}; load ${os.loadavg()[0].toFixed(1)}`,
    );
  } finally {
    await nr.stop();
    await redis.del(prefix + 'events');
    fs.rmSync(auditDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`Redis transport benchmark — ${ranOn()}, redis-server ${redisServerVersion()}, events ${EVENTS}, burst ${BURST}/tick, window ${WINDOW}, runs ${RUNS}, backlog ${BACKLOG}`);
  const server = await startRedisServer({ own: true });
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const nodesDir = writeSourceNode();
  try {
    await yardstick(redis);
    if (process.env.BENCH_OVERHEAD === '1') {
      const total = Number(process.env.BENCH_ALT_EVENTS ?? 400_000);
      const block = Number(process.env.BENCH_BLOCK ?? 10_000);
      console.log(`overhead on one process, alternating in the process (${total.toLocaleString('en-US')} events, blocks of ${block.toLocaleString('en-US')}, first block unmeasured):`);
      for (const mode of (process.env.BENCH_AUDIT_MODES ?? 'none,node,inline').split(',') as AuditMode[]) await alternation(server, redis, mode, nodesDir, total, block);
      if (process.env.BENCH_PAIRS !== '0') await overhead(server, redis, nodesDir);
      await yardstick(redis);
      return;
    }
    const runs = new Map<Layout, RunFigures[]>(LAYOUTS.map((layout) => [layout, []]));
    // Interleaved (run 1 of each layout, then run 2 …) so a busy moment hits every layout alike.
    for (let run = 1; run <= RUNS; run++) {
      for (const layout of LAYOUTS) runs.get(layout)!.push(await throughput(server, redis, layout, run, nodesDir));
    }
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    const medianOf = (layout: Layout, pick: (figures: RunFigures) => number) => median(runs.get(layout)!.map(pick));
    const runList = (layout: Layout) => runs.get(layout)!.map((f) => fmt(f.rate)).join(', ');
    console.log(`throughput, median of ${RUNS} (goal ≥ 50,000 events/s out → Redis → in → sink):`);
    const baseline = runs.has('baseline') ? medianOf('baseline', (f) => f.rate) : undefined;
    if (baseline !== undefined) console.log(`  baseline (source → sink, no Redis):    ${fmt(baseline)} events/s`);
    if (runs.has('producer alone')) {
      console.log(`  producer alone (source → out → Redis): ${fmt(medianOf('producer alone', (f) => f.rate))} events/s (runs: ${runList('producer alone')}; nothing reading)`);
    }
    for (const layout of (['one process', 'two processes'] as Layout[]).filter((name) => runs.has(name))) {
      const value = medianOf(layout, (f) => f.rate);
      const ofBaseline = baseline === undefined ? '' : `; ${((value / baseline) * 100).toFixed(0)}% of baseline`;
      console.log(
        `  ${(layout + ':').padEnd(38)} ${fmt(value)} events/s (runs: ${runList(layout)}${ofBaseline}) ${value >= 50_000 ? 'goal met' : 'goal NOT met'}`,
      );
    }
    if (BACKLOG > 0) {
      const consumer = await backlogDrain(server, redis);
      // What the CPUs allow: each side's CPU per event measured on its own, against the same
      // work measured with everything running at once (3 busy processes on this machine's CPUs).
      const cpus = os.cpus().length;
      if (runs.has('producer alone') && runs.has('two processes')) {
        const producerCpu = medianOf('producer alone', (f) => f.nodeRedCpu + f.redisCpu);
        const alone = producerCpu + consumer.nodeRedCpu + consumer.redisCpu;
        const together = medianOf('two processes', (f) => f.nodeRedCpu + f.redisCpu);
        const ceiling = (perEvent: number) => fmt((cpus * 1e6) / perEvent);
        console.log(
          `CPU per event (Node-RED + redis-server, medians), ${cpus} CPUs:\n` +
            `  each side alone: producer ${producerCpu.toFixed(1)} µs + consumer (backlog drain) ${(consumer.nodeRedCpu + consumer.redisCpu).toFixed(1)} µs = ${alone.toFixed(1)} µs → at most ${ceiling(alone)} events/s if the CPUs were shared perfectly\n` +
            `  all at once (two processes): ${together.toFixed(1)} µs → at most ${ceiling(together)} events/s`,
        );
      }
    }
    await yardstick(redis);
  } finally {
    fs.rmSync(nodesDir, { recursive: true, force: true });
    redis.disconnect();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
