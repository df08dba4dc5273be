// Memory: with a backlog of 1,000,000 entries, a Node-RED process running qumulo-redis-in drains it
// with its RSS under 300 MB (max-in-flight bounds what is held, whatever the backlog). The backlog
// is seeded server-side (Lua) in the exact stored encoding; bench/redis.ts prints the same figures
// with throughput.
//
// The process runs with a 512 MB V8 heap limit (HEAP_LIMIT_MB), as in a container of about 2 GB
// or with NODE_OPTIONS=--max-old-space-size=512 (docs/redis.md). Without a limit V8 sizes its heap
// from the host's RAM (4 GB on this 24 GB machine) and then lets the old generation grow to ~4× the
// live set (40–60 MB here) before a full GC; Node 22 did not hand the freed pages back, so its RSS stayed at
// that high-water mark: 302–322 MB on Node 22 vs 259–271 MB on Node 20. With the limit: ~145 MB
// (Node 20) and ~165–175 MB (Node 22). A smaller in-flight window (250) or batch (25) did not move it.
import * as assert from 'node:assert/strict';
import Redis from 'ioredis';
import type { QumuloEvent } from '../../core/event';
import { decodeEvent } from '../../core/redis';
import { runtimeVersions } from '../support/node-red';
import { NodeRedProcess } from '../support/nr-process';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { groupProgress, makeEvent, seedStream, waitFor } from '../support/redis-helpers';

const BACKLOG = 1_000_000;
const RSS_LIMIT = 300 * 1024 * 1024;
const HEAP_LIMIT_MB = 512;

describe('qumulo-redis-in memory with a 1,000,000-entry backlog (Node-RED process, real redis-server)', function () {
  this.timeout(180_000);
  let server: RedisServer;
  let raw: Redis;
  const processes: NodeRedProcess[] = [];

  before(async () => {
    server = await startRedisServer({ own: true });
    raw = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  after(async () => {
    for (const nr of processes.splice(0)) await nr.stop();
    raw?.disconnect();
    await server?.stop();
  });

  it(`drains a backlog of ${BACKLOG.toLocaleString('en-US')} entries with the Node-RED process under 300 MB RSS (V8 heap limit ${HEAP_LIMIT_MB} MB)`, async () => {
    const key = 'mem:events';
    await seedStream(raw, key, BACKLOG);
    assert.equal(await raw.xlen(key), BACKLOG);
    // The seeded entries are exactly what qumulo-redis-out would have written.
    const [first] = await raw.xrange(key, '-', '+', 'COUNT', 1);
    const [last] = await raw.xrevrange(key, '+', '-', 'COUNT', 1);
    assert.deepEqual(decodeEvent(first[1]) as QumuloEvent, makeEvent(1));
    assert.deepEqual(decodeEvent(last[1]) as QumuloEvent, makeEvent(BACKLOG));

    const flows = [
      { id: 'tab', type: 'tab', label: 'drain' },
      { id: 'redis', type: 'qumulo-redis', url: server.url, keyPrefix: 'mem:' },
      { id: 'in', type: 'qumulo-redis-in', z: 'tab', x: 150, y: 100, redis: 'redis', stream: 'events', group: 'workers', wires: [['sink']] },
      { id: 'sink', type: 'debug', z: 'tab', x: 400, y: 100, active: false, tosidebar: false, console: false, tostatus: false, complete: 'payload', wires: [] },
    ];
    const nr = await NodeRedProcess.start({ flows, nodeArgs: [`--max-old-space-size=${HEAP_LIMIT_MB}`] });
    processes.push(nr);
    let peak = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, nr.rss());
      samples++;
    }, 100);
    try {
      await waitFor(async () => {
        const progress = await groupProgress(raw, key, 'workers');
        return progress.read >= BACKLOG && progress.pending === 0;
      }, 'backlog drained', 170_000, 200);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, nr.rss());
    console.log(`      (peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB over ${samples} samples; ${runtimeVersions()}, V8 heap limit ${HEAP_LIMIT_MB} MB)`);
    assert.ok(samples > 10, 'sampled during the drain');
    assert.ok(peak < RSS_LIMIT, `peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB`);
  });
});
