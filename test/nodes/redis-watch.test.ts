// The real source in front of the queue: qumulo-watch on the Qumulo simulator (HTTP/SSE) →
// qumulo-redis-out → redis-server → qumulo-redis-in → sink. What reaches the sink is exactly what
// the watch node emitted (a tap on the watch output), every field, in order.
import * as assert from 'node:assert/strict';
import type { QumuloEvent } from '../../core/event';
import { QumuloClient } from '../../core/qumulo/client';
import { watchRegistry } from '../../core/watch/registry';
import { startRedisServer, uniquePrefix, type RedisServer } from '../support/redis-server';
import { waitFor } from '../support/redis-helpers';
import { nodeTestHelper } from '../support/actions';
import { type TestSim, startSim } from '../support/sim';

/* eslint-disable @typescript-eslint/no-require-imports */
const NODES = [
  require('../../nodes/qumulo-cluster'),
  require('../../nodes/qumulo-watch'),
  require('../../nodes/qumulo-redis'),
  require('../../nodes/qumulo-redis-out'),
  require('../../nodes/qumulo-redis-in'),
];
/* eslint-enable @typescript-eslint/no-require-imports */

const helper = nodeTestHelper<{ on(event: string, listener: (...args: never[]) => void): void }>();

interface Msg {
  payload: QumuloEvent;
  topic: string;
  redis?: { deliveries: number };
}

describe('qumulo-watch (simulator) → qumulo-redis-out → Redis → qumulo-redis-in', function () {
  this.timeout(60_000);
  let sim: TestSim;
  let redis: RedisServer;

  before(async () => {
    sim = await startSim({ files: { 'in/': '' } });
    redis = await startRedisServer();
  });
  after(async () => {
    await sim?.stop();
    await redis?.stop();
  });
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await helper.unload();
    watchRegistry.closeAll();
    await helper.stopServer();
  });

  it('delivers exactly what the watch node emitted, every field, in order', async () => {
    const flow = [
      { id: 'tab', type: 'tab' },
      { id: 'c1', type: 'qumulo-cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http', maxConcurrency: '4' },
      { id: 'r1', type: 'qumulo-redis', url: redis.url, keyPrefix: uniquePrefix('watch') },
      { id: 'watch', type: 'qumulo-watch', z: 'tab', cluster: 'c1', path: '/in', recursive: true, types: [], wires: [['tap', 'out']] },
      { id: 'tap', type: 'helper', z: 'tab' },
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'r1', stream: 'events', wires: [] },
      { id: 'in', type: 'qumulo-redis-in', z: 'tab', redis: 'r1', stream: 'events', group: 'g', wires: [['sink']] },
      { id: 'sink', type: 'helper', z: 'tab' },
    ];
    await helper.load(NODES, flow, { c1: { username: 'admin', password: 'admin' } });
    const emitted: Msg[] = [];
    const received: Msg[] = [];
    helper.getNode('tap').on('input', ((msg: Msg) => emitted.push(msg)) as never);
    helper.getNode('sink').on('input', ((msg: Msg, _send: unknown, done: () => void) => {
      received.push(msg);
      done();
    }) as never);
    await waitFor(() => watchRegistry.list().some((w) => w.status.state === 'watching'), 'watching');

    const client = new QumuloClient(sim.clientOptions());
    try {
      await client.createFile('/in', 'report.pdf');
      await client.writeData('/in/report.pdf', Buffer.from('%PDF-1.7'));
      await client.rename('/in/report.pdf', '/in', 'report final.pdf');
      await client.mkdir('/in', 'sub dir');
      // A burst: many changes arriving together go out in few pipelines.
      await Promise.all(Array.from({ length: 100 }, (_, i) => client.createFile('/in/sub dir', `f-${i}.txt`)));
      await client.setAttributes('/in/report final.pdf', { mode: '0600' });
      await client.deleteFile('/in/report final.pdf');
    } finally {
      await client.close();
    }
    await waitFor(() => emitted.length >= 108 && received.length === emitted.length, `all events through Redis (${received.length}/${emitted.length})`);
    assert.deepEqual(received.map((m) => m.payload), emitted.map((m) => m.payload), 'every field of every event, in order');
    assert.deepEqual(received.map((m) => m.topic), emitted.map((m) => m.topic));
    assert.deepEqual(received.map((m) => m.payload.seq), emitted.map((_, i) => i + 1));
    assert.ok(received.every((m) => m.redis?.deliveries === 1));
    assert.ok(received.some((m) => m.topic === 'child_file_moved_to' && m.payload.name === 'report final.pdf'));
  });
});
