// npm run bench:redis — the Redis Streams transport in a real Node-RED process on this machine.
//
// 1. Throughput: a generator function node emits BENCH_EVENTS watch-shaped events (BENCH_BURST
//    per timer tick of about 1 ms, default 100, like a busy change-notify stream) into qumulo-redis-out; qumulo-redis-in (ack when the flow is done) feeds a sink (an
//    inactive debug node: done() and nothing else, so the figure is the transport's own cost).
//    Timed from the first XADD (its entry id carries Redis' clock) until the group has read every
//    entry and nothing is pending.
// 2. Backlog: BENCH_BACKLOG entries are seeded first (server-side, exact stored encoding), then a
//    Node-RED process with in → sink drains them; its RSS is sampled every 100 ms.
// A yardstick (plain ioredis pipelined XADD) runs before and after, to show how busy the machine is.
//
// Environment: BENCH_EVENTS (default 200000), BENCH_BURST (100), BENCH_BACKLOG (default 1000000), BENCH_RUNS (1).
import * as os from 'node:os';
import Redis from 'ioredis';
import { NodeRedProcess, processCpuSeconds } from '../test/support/nr-process';
import { startRedisServer, redisServerVersion, type RedisServer } from '../test/support/redis-server';
import { seedStream } from '../test/support/redis-helpers';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
/** Events the generator emits per timer tick (about 1 ms): 100 = up to ~100,000 events/s. */
const BURST = Number(process.env.BENCH_BURST ?? 100);

/** The event the generator builds inside Node-RED: the same shape as test/support/redis-helpers makeEvent. */
const GENERATOR = `
const total = Number(env.get('BENCH_EVENTS'));
const perTick = Number(env.get('BENCH_BURST'));
let seq = 0;
function burst() {
  for (let i = 0; i < perTick && seq < total; i++) {
    seq++;
    const name = 'file-' + seq + '.txt';
    node.send({ payload: {
      type: 'child_file_added', path: '/watched/dir/' + name, relativePath: 'dir/' + name, name: name,
      extension: 'txt', parentDir: '/watched/dir', fileId: String(1000000 + seq), spine: ['2', '3', String(1000000 + seq)],
      isDirectory: false, streamName: null, watchId: 'watch-1', watchRoot: '/watched', seq: seq, receivedAt: Date.now(),
    } }, false);
  }
  if (seq < total) setTimeout(burst, 0);
}
burst();
return null;
`;

function sinkNode(id: string): Record<string, unknown> {
  return { id, type: 'debug', z: 'tab', x: 600, y: 200, active: false, tosidebar: false, console: false, tostatus: false, complete: 'payload', wires: [] };
}

function throughputFlow(url: string, prefix: string): unknown[] {
  return [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'redis', type: 'qumulo-redis', url, keyPrefix: prefix },
    { id: 'go', type: 'inject', z: 'tab', x: 100, y: 100, once: true, onceDelay: '1', repeat: '', topic: '', payload: '', payloadType: 'date', props: [{ p: 'payload' }], wires: [['gen']] },
    { id: 'gen', type: 'function', z: 'tab', x: 250, y: 100, outputs: 1, func: GENERATOR, wires: [['out']] },
    { id: 'out', type: 'qumulo-redis-out', z: 'tab', x: 450, y: 100, redis: 'redis', stream: 'events', maxLen: '0', wires: [] },
    { id: 'in', type: 'qumulo-redis-in', z: 'tab', x: 150, y: 200, redis: 'redis', stream: 'events', group: 'bench', start: '0', wires: [['sink']] },
    sinkNode('sink'),
  ];
}

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

async function throughput(server: RedisServer, redis: Redis, run: number): Promise<void> {
  const prefix = `bench${run}:`;
  const nr = await NodeRedProcess.start({ flows: throughputFlow(server.url, prefix), env: { BENCH_EVENTS: String(EVENTS), BENCH_BURST: String(BURST) } });
  try {
    let peakRss = 0;
    const nrCpuBefore = nr.cpuSeconds();
    const redisCpuBefore = processCpuSeconds(server.pid ?? 0);
    const end = await waitDrained(redis, prefix + 'events', EVENTS, () => {
      peakRss = Math.max(peakRss, nr.rss());
    });
    const nrCpu = nr.cpuSeconds() - nrCpuBefore;
    const redisCpu = processCpuSeconds(server.pid ?? 0) - redisCpuBefore;
    const first = (await redis.xrange(prefix + 'events', '-', '+', 'COUNT', 1))[0][0];
    const last = (await redis.xrevrange(prefix + 'events', '+', '-', 'COUNT', 1))[0][0];
    const seconds = (end - idTime(first)) / 1000;
    const writeSeconds = Math.max(0.001, (idTime(last) - idTime(first)) / 1000);
    console.log(
      `throughput run ${run}: ${EVENTS} events out → Redis → in → sink in ${seconds.toFixed(2)} s = ${Math.round(EVENTS / seconds).toLocaleString('en-US')} events/s ` +
        `(XADD side: ${Math.round(EVENTS / writeSeconds).toLocaleString('en-US')} events/s; peak RSS ${mb(peakRss)})\n` +
        `  CPU: Node-RED ${nrCpu.toFixed(2)} s (${((nrCpu / EVENTS) * 1e6).toFixed(1)} µs/event = ${Math.round(EVENTS / nrCpu).toLocaleString('en-US')} events per CPU-second), ` +
        `redis-server ${redisCpu.toFixed(2)} s (${((redisCpu / EVENTS) * 1e6).toFixed(1)} µs/event); load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`,
    );
  } finally {
    await nr.stop();
    await redis.del(prefix + 'events');
  }
}

async function backlogDrain(server: RedisServer, redis: Redis): Promise<void> {
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
    const end = await waitDrained(redis, key, BACKLOG);
    const cpu = nr.cpuSeconds() - cpuBefore;
    clearInterval(sampler);
    const seconds = (end - start) / 1000;
    const sorted = samples.slice().sort((a, b) => a - b);
    console.log(
      `backlog drain: ${BACKLOG.toLocaleString('en-US')} entries in ${seconds.toFixed(1)} s (incl. Node-RED start) = ${Math.round(BACKLOG / seconds).toLocaleString('en-US')} events/s; ` +
        `Node-RED RSS peak ${mb(peakRss)}, median ${mb(sorted[Math.floor(sorted.length / 2)] ?? 0)} (${samples.length} samples)\n` +
        `  CPU: Node-RED ${cpu.toFixed(2)} s after start (${((cpu / BACKLOG) * 1e6).toFixed(1)} µs/event = ${Math.round(BACKLOG / cpu).toLocaleString('en-US')} events per CPU-second); load average ${os.loadavg()[0].toFixed(1)}`,
    );
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

async function main(): Promise<void> {
  console.log(`Redis transport benchmark — Node ${process.version}, redis-server ${redisServerVersion()}, events ${EVENTS}, backlog ${BACKLOG}`);
  const server = await startRedisServer({ own: true });
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  try {
    await yardstick(redis);
    for (let run = 1; run <= RUNS; run++) await throughput(server, redis, run);
    if (BACKLOG > 0) await backlogDrain(server, redis);
    await yardstick(redis);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
