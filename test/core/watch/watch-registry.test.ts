// WatchRegistry against the simulator: one stream per key, per-consumer buffering across a
// release/acquire (what a deploy does), adoption by a newcomer, grace expiry, bounded buffers
// with counted overflow, gap notices kept in order, and a credentials change without a reconnect.

import * as assert from 'node:assert/strict';
import type { QumuloEvent } from '../../../core/event';
import { ClientPool } from '../../../core/qumulo/pool';
import type { GapRecord } from '../../../core/qumulo/subscription';
import { type BufferOverflow, type WatchConsumer, WatchRegistry, type WatchSpec } from '../../../core/watch/registry';
import { type TestSim, startSim } from '../../support/sim';
import { waitUntil as until } from '../../support/wait';

interface Log {
  consumer: WatchConsumer;
  entries: string[];
  events: QumuloEvent[];
  overflows: BufferOverflow[];
  gaps: GapRecord[];
}

function consumer(id: string): Log {
  const log: Log = { entries: [], events: [], overflows: [], gaps: [], consumer: null as unknown as WatchConsumer };
  log.consumer = {
    id,
    onEvent: (e) => {
      log.events.push(e);
      log.entries.push(`event ${e.relativePath}`);
    },
    onDisconnected: () => log.entries.push('disconnected'),
    onGap: (g) => {
      log.gaps.push(g);
      log.entries.push('gap');
    },
    onBufferOverflow: (o) => {
      log.overflows.push(o);
      log.entries.push(`overflow ${o.dropped}`);
    },
  };
  return log;
}


describe('WatchRegistry', function () {
  this.timeout(30_000);
  let sim: TestSim;
  let pool: ClientPool;
  let registry: WatchRegistry;
  let spec: WatchSpec;

  before(async () => {
    sim = await startSim({ accessTokens: ['access-v1:first', 'access-v1:second'], files: { 'w/': '' } });
  });
  after(async () => {
    await sim?.stop();
  });
  beforeEach(() => {
    pool = new ClientPool();
    registry = new WatchRegistry({ graceMs: 5_000, backoffInitialMs: 20, backoffMaxMs: 100 }, pool);
    spec = { client: sim.clientOptions(), ref: '/w', recursive: true, types: null };
  });
  afterEach(async () => {
    registry.closeAll();
    await until(() => sim.sim.openStreams() === 0, 'streams closed');
  });

  const emit = (...names: string[]) => names.forEach((n) => sim.sim.notify(`w/${n}`, 'child_file_added'));
  const watching = () => until(() => registry.list().every((w) => w.status.state === 'watching') && registry.list().length > 0, 'watching');

  it('shares one stream between consumers asking the same thing', async () => {
    const a = consumer('a');
    const b = consumer('b');
    registry.acquire(spec, a.consumer).resume();
    registry.acquire({ ...spec, types: null, client: sim.clientOptions() }, b.consumer).resume();
    registry.acquire({ ...spec, types: ['child_file_added'] }, consumer('c').consumer).resume();
    await watching();
    assert.equal(registry.list().length, 2);
    assert.equal(sim.sim.openStreams(), 2);
    assert.equal(pool.size, 1, 'identical settings share one client');
    emit('1', '2');
    await until(() => a.events.length === 2 && b.events.length === 2, 'events');
    assert.deepEqual(a.events.map((e) => e.seq), b.events.map((e) => e.seq));
  });

  it('buffers for a released consumer and hands the buffer, in order, to its successor', async () => {
    const first = consumer('node-1');
    const handle = registry.acquire(spec, first.consumer);
    handle.resume();
    await watching();
    const streamsOpened = sim.sim.stats.streamsOpened;
    emit('1', '2');
    await until(() => first.events.length === 2, 'live events');
    handle.release(); // a deploy restarts the node
    emit('3', '4', '5');
    await until(() => registry.list()[0].buffered === 3, 'buffered');
    const second = consumer('node-1');
    const next = registry.acquire(spec, second.consumer);
    emit('6'); // still paused: the new node has not started yet
    await until(() => registry.list()[0].buffered === 4, 'buffered while paused');
    next.resume();
    emit('7');
    await until(() => second.events.length === 5, 'drained and live');
    assert.deepEqual(
      [...first.events, ...second.events].map((e) => e.relativePath),
      ['1', '2', '3', '4', '5', '6', '7'],
    );
    assert.equal(sim.sim.stats.streamsOpened, streamsOpened, 'the stream was never reopened');
  });

  it('pauses and resumes a live consumer without losing events', async () => {
    const log = consumer('p');
    const handle = registry.acquire(spec, log.consumer);
    handle.resume();
    await watching();
    handle.pause();
    emit('1', '2');
    await until(() => registry.list()[0].buffered === 2, 'buffered');
    assert.equal(log.events.length, 0);
    handle.resume();
    emit('3');
    await until(() => log.events.length === 3, 'all');
    assert.deepEqual(log.events.map((e) => e.relativePath), ['1', '2', '3']);
  });

  it('lets a newcomer with another id adopt a waiting buffer', async () => {
    const old = consumer('old-id');
    const handle = registry.acquire(spec, old.consumer);
    handle.resume();
    await watching();
    handle.release(); // e.g. the node was cut and pasted back with a new id
    emit('a');
    await until(() => registry.list()[0]?.buffered === 1, 'buffered');
    const pasted = consumer('new-id');
    registry.acquire(spec, pasted.consumer).resume();
    assert.deepEqual(pasted.events.map((e) => e.relativePath), ['a']);
    assert.equal(registry.list()[0].waiting, 0);
  });

  it('gives returning nodes their own buffers before a newcomer adopts a waiting one', async () => {
    const x1 = registry.acquire(spec, consumer('x').consumer);
    const y1 = registry.acquire(spec, consumer('y').consumer);
    x1.resume();
    y1.resume();
    await watching();
    x1.release();
    y1.release(); // a full deploy stops both…
    emit('1', '2');
    await until(() => registry.list()[0].buffered === 4, 'both buffering');
    // …and starts a brand-new node z first, then x and y again.
    const z = consumer('z');
    const x = consumer('x');
    const y = consumer('y');
    const handles = [registry.acquire(spec, z.consumer), registry.acquire(spec, x.consumer), registry.acquire(spec, y.consumer)];
    handles.forEach((h) => h.resume());
    assert.deepEqual(x.events.map((e) => e.relativePath), ['1', '2']);
    assert.deepEqual(y.events.map((e) => e.relativePath), ['1', '2']);
    assert.deepEqual(z.events, [], 'the newcomer took nobody else\'s events');
    emit('3');
    await until(() => x.events.length === 3 && y.events.length === 3 && z.events.length === 1, 'live for all');
  });

  it('closes the subscription and its client when the last consumer is removed', async () => {
    const a = registry.acquire(spec, consumer('a').consumer);
    const b = registry.acquire(spec, consumer('b').consumer);
    a.resume();
    b.resume();
    await watching();
    a.release({ removed: true });
    assert.equal(registry.list().length, 1);
    b.release({ removed: true });
    assert.equal(registry.list().length, 0);
    assert.equal(pool.size, 0);
    await until(() => sim.sim.openStreams() === 0, 'stream closed');
  });

  it('closes a released subscription when the grace period runs out', async () => {
    registry.configure({ graceMs: 100 });
    const handle = registry.acquire(spec, consumer('g').consumer);
    handle.resume();
    await watching();
    handle.release();
    assert.equal(registry.list().length, 1, 'kept during the grace period');
    await until(() => registry.list().length === 0, 'closed after grace');
    await until(() => sim.sim.openStreams() === 0, 'stream closed');
  });

  it('bounds the buffer and reports what overflowed', async () => {
    registry.configure({ bufferLimit: 10 });
    const first = consumer('b');
    const handle = registry.acquire(spec, first.consumer);
    handle.resume();
    await watching();
    handle.release();
    emit(...Array.from({ length: 25 }, (_, i) => String(i + 1)));
    await until(() => registry.list()[0].status.events === 25, 'read 25');
    const second = consumer('b');
    registry.acquire(spec, second.consumer).resume();
    assert.equal(second.events.length, 10);
    assert.deepEqual(second.overflows, [{ dropped: 15, firstSeq: 11, lastSeq: 25 }]);
    emit('26');
    await until(() => second.events.length === 11, 'live again');
    assert.equal(second.events[10].seq, 26);
  });

  it('replays gap notices in order between the buffered events', async () => {
    const first = consumer('n');
    const handle = registry.acquire(spec, first.consumer);
    handle.resume();
    await watching();
    handle.release();
    emit('1', '2');
    await until(() => registry.list()[0].buffered === 2, 'buffered');
    sim.sim.dropStreams();
    await until(() => registry.list()[0].status.gaps === 1 && registry.list()[0].status.state === 'watching', 'reconnected');
    emit('3');
    await until(() => registry.list()[0].buffered === 3, 'buffered after gap');
    const second = consumer('n');
    registry.acquire(spec, second.consumer).resume();
    assert.deepEqual(second.entries, ['event 1', 'event 2', 'disconnected', 'gap', 'event 3']);
    assert.equal(second.gaps[0].lastSeqBefore, 2);
  });

  it('switches to new credentials without reopening the stream, and retires the old client', async () => {
    const tokenSpec = (token: string): WatchSpec => ({ ...spec, client: { host: sim.host, port: sim.port, protocol: 'http', accessToken: token } });
    const first = consumer('t');
    const handle = registry.acquire(tokenSpec('access-v1:first'), first.consumer);
    handle.resume();
    await watching();
    const subscription = registry.subscriptionOf(registry.list()[0].key)!;
    const oldClient = subscription.currentClient;
    const opened = sim.sim.stats.streamsOpened;
    handle.release(); // the config node restarts with a new token
    const second = consumer('t');
    registry.acquire(tokenSpec('access-v1:second'), second.consumer).resume();
    assert.equal(registry.list().length, 1, 'same connection identity, same subscription');
    assert.notEqual(subscription.currentClient, oldClient);
    assert.equal(sim.sim.stats.streamsOpened, opened, 'the open stream kept running');
    assert.equal(oldClient.isClosed, false, 'the old client still carries the stream');
    emit('x');
    await until(() => second.events.length === 1, 'event');
    sim.sim.dropStreams();
    await until(() => oldClient.isClosed, 'old client retired after the next connection');
    assert.equal(registry.list()[0].status.state, 'watching');
  });
});
