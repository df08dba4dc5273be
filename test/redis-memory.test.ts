// Memory: with a backlog of 1,000,000 entries, a Node-RED process running qumulo-redis-in drains it
// with its RSS under 300 MB (max-in-flight bounds what is held, whatever the backlog). The backlog
// is seeded server-side (Lua) in the exact stored encoding; bench/redis.ts prints the same figures
// with throughput.
import * as assert from 'node:assert/strict';
import Redis from 'ioredis';
import type { QumuloEvent } from '../core/event';
import { decodeEvent } from '../core/redis';
import { NodeRedProcess } from './support/nr-process';
import { startRedisServer, type RedisServer } from './support/redis-server';
import { groupProgress, makeEvent, seedStream, waitFor } from './support/redis-helpers';

const BACKLOG = 1_000_000;
const RSS_LIMIT = 300 * 1024 * 1024;

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

  it(`drains a backlog of ${BACKLOG.toLocaleString('en-US')} entries with the Node-RED process under 300 MB RSS`, async () => {
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
    const nr = await NodeRedProcess.start({ flows });
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
    console.log(`      (peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB over ${samples} samples)`);
    assert.ok(samples > 10, 'sampled during the drain');
    assert.ok(peak < RSS_LIMIT, `peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB`);
  });
});
