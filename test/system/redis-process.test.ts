// qumulo-redis-in in real Node-RED processes (child processes, real admin API, real kill -9)
// against a real redis-server, with 100,000 numbered events each: no loss across a crash, across
// every deploy type, and a clean split between two processes of one consumer group.
//
// The sink is a function node that appends each event's number to a file (appendFileSync before
// done(), so what was acknowledged is on disk even when the process is killed).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import type { QumuloEvent } from '../../core/event';
import { createRedisClient, decodeEvent, StreamWriter } from '../../core/redis';
import { NodeRedProcess } from '../support/nr-process';
import { startRedisServer, uniquePrefix, type RedisServer } from '../support/redis-server';
import { countLines, makeEvent, waitFor } from '../support/redis-helpers';

const TOTAL = 100_000;
const MAX_IN_FLIGHT = 500;

/** in → sink flow for one process; the sink file comes from the SINK_FILE environment variable. */
function consumerFlow(redisUrl: string, prefix: string, extra: { inName?: string; sinkComment?: string } = {}): unknown[] {
  return [
    { id: 'tab', type: 'tab', label: 'consumer' },
    { id: 'redis', type: 'qumulo-redis', url: redisUrl, keyPrefix: prefix },
    {
      id: 'in', type: 'qumulo-redis-in', z: 'tab', x: 150, y: 100, name: extra.inName ?? '', redis: 'redis', stream: 'events', group: 'workers',
      batchSize: '200', maxInFlight: String(MAX_IN_FLIGHT), wires: [['sink']],
    },
    {
      id: 'sink', type: 'function', z: 'tab', x: 400, y: 100, outputs: 0, wires: [],
      func: `${extra.sinkComment ?? '// sink'}\nglobal.get('fs').appendFileSync(env.get('SINK_FILE'), msg.payload.seq + '\\n');\nreturn null;`,
    },
  ];
}

/** Numbers written to a sink file so far (one per line). */
function readSink(file: string): number[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const numbers: number[] = [];
  let start = 0;
  for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
    numbers.push(Number(text.slice(start, end)));
    start = end + 1;
  }
  return numbers;
}

/** Tally of how often each number 1..total was seen; throws if something outside the range shows up. */
function tally(numbers: number[], total: number): Uint32Array {
  const counts = new Uint32Array(total + 1);
  for (const n of numbers) {
    assert.ok(Number.isInteger(n) && n >= 1 && n <= total, `unexpected number ${n} in a sink`);
    counts[n]++;
  }
  return counts;
}

function missing(counts: Uint32Array): number[] {
  const result: number[] = [];
  for (let i = 1; i < counts.length; i++) if (counts[i] === 0) result.push(i);
  return result;
}

describe('qumulo-redis-in in Node-RED processes (kill -9, deploys, scale-out; real redis-server)', function () {
  this.timeout(180_000);
  let server: RedisServer;
  let raw: Redis;
  let prefix: string;
  let workDir: string;
  const processes: NodeRedProcess[] = [];
  let producing: Promise<void> | undefined;

  before(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  after(async () => {
    raw?.disconnect();
    await server?.stop();
  });
  beforeEach(() => {
    prefix = uniquePrefix('proc');
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-redis-proc-'));
  });
  afterEach(async () => {
    await producing?.catch(() => undefined);
    producing = undefined;
    for (const nr of processes.splice(0)) await nr.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  async function startNodeRed(sinkFile: string, flows: unknown[], userDir?: string): Promise<NodeRedProcess> {
    const nr = await NodeRedProcess.start({ flows, env: { SINK_FILE: sinkFile }, userDir });
    processes.push(nr);
    return nr;
  }

  /** Writes TOTAL numbered events in the background, about 25,000/s, like a busy watch node. */
  function produce(): Promise<void> {
    const client = createRedisClient({ url: server.url, mode: 'standalone' });
    const writer = new StreamWriter(client, { maxBatch: 1000 });
    producing = (async () => {
      try {
        for (let next = 1; next <= TOTAL; ) {
          const batch: Promise<string>[] = [];
          for (const end = Math.min(TOTAL, next + 999); next <= end; next++) batch.push(writer.append(prefix + 'events', makeEvent(next)));
          await Promise.all(batch);
          await new Promise((r) => setTimeout(r, 40));
        }
      } finally {
        client.disconnect();
      }
    })();
    return producing;
  }

  /** seq -> entry id for the whole stream. */
  async function entryIdsBySeq(): Promise<Map<number, string>> {
    const ids = new Map<number, string>();
    let start = '-';
    for (;;) {
      const entries = await raw.xrange(prefix + 'events', start, '+', 'COUNT', 20_000);
      for (const [id, fields] of entries) ids.set((decodeEvent(fields) as QumuloEvent).seq, id);
      if (entries.length < 20_000) return ids;
      start = '(' + entries[entries.length - 1][0];
    }
  }

  it('kill -9 mid-stream, restart: every event reaches the sink, and only entries in flight at the kill come twice', async () => {
    const sinkFile = path.join(workDir, 'sink.txt');
    // Let a backlog build first, so the consumer works at its max-in-flight limit when it dies.
    const production = produce();
    await waitFor(async () => (await raw.xlen(prefix + 'events')) >= TOTAL * 0.5, 'half the events written', 60_000, 50);
    const nr = await startNodeRed(sinkFile, consumerFlow(server.url, prefix));
    await waitFor(() => countLines(sinkFile) >= TOTAL * 0.3, '30% consumed', 60_000, 20);
    await nr.kill();
    const processedAtKill = countLines(sinkFile);
    // What the group had handed out and not yet seen acknowledged when the process died.
    const pendingAtKill = new Set((await raw.xpending(prefix + 'events', 'workers', '-', '+', 100_000)).map((row) => (row as [string])[0]));
    assert.ok(processedAtKill < TOTAL, 'killed mid-stream');
    assert.ok(pendingAtKill.size > 0, 'entries were in flight at the kill');
    assert.ok(pendingAtKill.size <= MAX_IN_FLIGHT, `at most max-in-flight entries were pending (${pendingAtKill.size})`);

    await nr.restart();
    await production;
    await waitFor(() => countLines(sinkFile) >= TOTAL, 'all events after the restart', 120_000, 100);
    await waitFor(async () => Number((await raw.xpending(prefix + 'events', 'workers'))[0]) === 0, 'all acknowledged');

    const counts = tally(readSink(sinkFile), TOTAL);
    assert.deepEqual(missing(counts), [], 'no event lost');
    const ids = await entryIdsBySeq();
    const twice: number[] = [];
    for (let seq = 1; seq <= TOTAL; seq++) if (counts[seq] > 1) twice.push(seq);
    for (const seq of twice) {
      assert.equal(counts[seq], 2, `event ${seq} delivered ${counts[seq]} times`);
      assert.ok(pendingAtKill.has(ids.get(seq)!), `event ${seq} came twice but was not in flight at the kill`);
    }
    console.log(`      (killed after ${processedAtKill} events; ${pendingAtKill.size} in flight at the kill; ${twice.length} delivered twice)`);
  });

  it('full, nodes, flows and reload deploys through the admin API mid-stream lose nothing', async () => {
    const sinkFile = path.join(workDir, 'sink.txt');
    const nr = await startNodeRed(sinkFile, consumerFlow(server.url, prefix));
    const production = produce();
    const deploys: Array<{ at: number; type: 'full' | 'nodes' | 'flows' | 'reload'; flows: unknown[] }> = [
      { at: 0.15, type: 'full', flows: consumerFlow(server.url, prefix) },
      // nodes: only the in node changed (restarts alone; the sink keeps running).
      { at: 0.35, type: 'nodes', flows: consumerFlow(server.url, prefix, { inName: 'renamed' }) },
      // flows: the sink changed, so the wired component (in + sink) restarts.
      { at: 0.55, type: 'flows', flows: consumerFlow(server.url, prefix, { inName: 'renamed', sinkComment: '// sink v2' }) },
      { at: 0.75, type: 'reload', flows: consumerFlow(server.url, prefix, { inName: 'renamed', sinkComment: '// sink v2' }) },
    ];
    for (const deploy of deploys) {
      await waitFor(() => countLines(sinkFile) >= TOTAL * deploy.at, `${deploy.at * 100}% consumed before the ${deploy.type} deploy`, 90_000, 50);
      await nr.deploy(deploy.flows, deploy.type);
    }
    const deployed = (await nr.getFlows()).flows as Array<{ id: string; name?: string; func?: string }>;
    assert.equal(deployed.find((n) => n.id === 'in')?.name, 'renamed', 'the deploys took effect');
    await production;
    await waitFor(() => missing(tally(readSink(sinkFile), TOTAL)).length === 0, 'every event after four deploys', 120_000, 200);
    const counts = tally(readSink(sinkFile), TOTAL);
    assert.deepEqual(missing(counts), []);
    let duplicates = 0;
    for (let seq = 1; seq <= TOTAL; seq++) if (counts[seq] > 1) duplicates += counts[seq] - 1;
    // A restart can only redeliver what was in flight: at most max-in-flight per deploy.
    assert.ok(duplicates <= deploys.length * MAX_IN_FLIGHT, `${duplicates} duplicates`);
    console.log(`      (${duplicates} events delivered twice across 4 deploys)`);
  });

  it('two Node-RED processes in one group split the stream: the union is complete, no event processed by both', async () => {
    const sinkA = path.join(workDir, 'a.txt');
    const sinkB = path.join(workDir, 'b.txt');
    // Same flow, same node ids: the default consumer names still differ (they include the userDir).
    await startNodeRed(sinkA, consumerFlow(server.url, prefix));
    await startNodeRed(sinkB, consumerFlow(server.url, prefix));
    await produce();
    await waitFor(() => countLines(sinkA) + countLines(sinkB) >= TOTAL, 'all events consumed', 120_000, 100);
    await waitFor(async () => Number((await raw.xpending(prefix + 'events', 'workers'))[0]) === 0, 'all acknowledged');
    const a = readSink(sinkA);
    const b = readSink(sinkB);
    const counts = tally(a.concat(b), TOTAL);
    assert.deepEqual(missing(counts), [], 'union complete');
    const inA = new Set(a);
    const both = b.filter((n) => inA.has(n));
    assert.deepEqual(both, [], 'no event processed by both');
    assert.equal(a.length + b.length, TOTAL, 'no event processed twice');
    assert.ok(a.length > 0 && b.length > 0, 'both processes took a share');
    const consumers = (await raw.xinfo('CONSUMERS', prefix + 'events', 'workers')) as unknown[][];
    assert.equal(consumers.length, 2, 'two distinct consumer names');
    console.log(`      (process A: ${a.length}, process B: ${b.length})`);
  });
});
