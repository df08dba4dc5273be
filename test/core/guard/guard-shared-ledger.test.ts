// The shared self-write ledger against a real redis-server: two "instances" (two GuardCores with
// their own SharedLedger and instance id, as two Node-RED processes would have) recognise each
// other's echoes; a restarted reader does not apply an intent twice; Redis down fails open.
import { strict as assert } from 'node:assert';
import { Redis } from 'ioredis';
import { normalizeNotification, type NotificationType, type QumuloEvent } from '../../../core/event';
import { EXPECTED_ECHOES, type MutationKind } from '../../../core/qumulo/types';
import { GuardCore, LoopGuard } from '../../../core/guard/guard';
import { SharedLedger } from '../../../core/guard/shared-ledger';
import { startRedisServer, uniquePrefix, type RedisServer } from '../../support/redis-server';

const ROOT = '/shared';
let seq = 0;
function event(type: NotificationType, name: string, fileId: string, receivedAt: number): QumuloEvent {
  return normalizeNotification({ type, path: name, spine: ['2', fileId], stream_name: null }, { watchId: 'w', watchRoot: ROOT, seq: ++seq, receivedAt });
}

function intentFor(kind: MutationKind, name: string, fileId: string) {
  return { kind, paths: [`${ROOT}/${name}`], fileIds: [fileId], expectedTypes: [...EXPECTED_ECHOES[kind]] };
}

describe('guard: shared ledger in Redis', function () {
  let server: RedisServer;
  const clients: Redis[] = [];
  const ledgers: SharedLedger[] = [];

  function connect(): Redis {
    const client = new Redis({ host: server.host, port: server.port, protocol: 2, maxRetriesPerRequest: 1, retryStrategy: () => null });
    clients.push(client);
    return client;
  }

  function instance(streamKey: string, instanceId: string, errors: Error[] = [], timeoutMs?: number) {
    const core = new GuardCore();
    const shared = new SharedLedger(core, connect(), { streamKey, instanceId, ...(timeoutMs ? { timeoutMs } : {}) }, (e) => errors.push(e));
    ledgers.push(shared);
    return { core, shared, guard: new LoopGuard(core), errors };
  }

  before(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    for (const l of ledgers.splice(0)) l.stop();
    await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  });
  after(() => server.stop());

  it("recognises a peer's echo once the read barrier has passed", async () => {
    const key = uniquePrefix('guard') + ':intents';
    const a = instance(key, 'node-a');
    const b = instance(key, 'node-b');
    await Promise.all([a.shared.start(), b.shared.start()]);

    // Instance A is about to chmod: its client awaits the listener (which XADDs) before sending.
    await a.core.mutationListener(intentFor('set-attributes', 'x.txt', '300'));
    const echo = event('child_acl_changed', 'x.txt', '300', Date.now());

    // B's watcher sees the echo; B's guard waits for the barrier, then recognises A's write.
    const barrier = b.shared.barrier(echo.receivedAt);
    assert.ok(barrier !== null, 'a live event needs a read');
    await barrier;
    const decision = b.guard.evaluate(echo);
    assert.equal(decision.verdict, 'suppressed');
    assert.equal(decision.verdict === 'suppressed' && decision.echoOf.source, 'node-a');
    // A recognises its own echo locally, without Redis.
    assert.equal(a.guard.evaluate(event('child_acl_changed', 'x.txt', '300', echo.receivedAt)).verdict, 'suppressed');
    assert.equal(a.shared.getStats().published, 1);
    assert.equal(b.shared.getStats().applied, 1);
    assert.equal(a.shared.getStats().applied, 0, 'its own entries are skipped on read');
    // An event received well before the last read needs no further round trip.
    assert.equal(b.shared.barrier(echo.receivedAt - 60_000), null);
  });

  it('coalesces the barrier reads of a burst of live events', async () => {
    const key = uniquePrefix('guard') + ':intents';
    const a = instance(key, 'node-a');
    const b = instance(key, 'node-b');
    await Promise.all([a.shared.start(), b.shared.start()]);
    for (let i = 0; i < 50; i++) await a.core.mutationListener(intentFor('lock', `f${i}`, String(400 + i)));
    const readsBefore = b.shared.getStats().reads;
    const receivedAt = Date.now();
    const barriers = Array.from({ length: 50 }, () => b.shared.barrier(receivedAt));
    await Promise.all(barriers);
    // Coalesced: one read (two when the clock ticks over between the waiters), never one per event.
    const reads = b.shared.getStats().reads - readsBefore;
    assert.ok(reads >= 1 && reads <= 3, `${reads} reads for 50 events`);
    let suppressed = 0;
    for (let i = 0; i < 50; i++) if (b.guard.evaluate(event('child_extra_attrs_changed', `f${i}`, String(400 + i), receivedAt)).verdict === 'suppressed') suppressed++;
    assert.equal(suppressed, 50);
  });

  it('a reader that restarts from where the last one stopped applies nothing twice; a new process reads the recent past', async () => {
    const key = uniquePrefix('guard') + ':intents';
    const a = instance(key, 'node-a');
    const b = instance(key, 'node-b');
    await Promise.all([a.shared.start(), b.shared.start()]);
    await a.core.mutationListener(intentFor('set-attributes', 'y.txt', '500'));
    await b.shared.sync();
    const position = b.shared.position;
    b.shared.stop();

    // Redeploy in the same process: same core, a new reader from the saved position.
    const again = new SharedLedger(b.core, connect(), { streamKey: key, instanceId: 'node-b' });
    ledgers.push(again);
    await again.start(position);
    assert.equal(again.getStats().applied, 0);
    assert.equal(b.core.ledger.entriesFor({ fileId: '500' }).length, 1);

    // A freshly started process (new core) reads the recent past and knows A's write.
    const fresh = instance(key, 'node-c');
    await fresh.shared.start();
    assert.equal(fresh.core.ledger.entriesFor({ fileId: '500' }).length, 1);
    assert.equal(fresh.guard.evaluate(event('child_acl_changed', 'y.txt', '500', Date.now())).verdict, 'suppressed');
  });

  it('fails open when Redis is unreachable: the mutation proceeds, the error is reported, the local ledger still works', async () => {
    const key = uniquePrefix('guard') + ':intents';
    const errors: Error[] = [];
    const a = instance(key, 'node-a', errors);
    await a.shared.start();
    const client = clients[clients.length - 1];
    client.disconnect();
    await a.core.mutationListener(intentFor('lock', 'z.txt', '600'));
    assert.ok(errors.length >= 1, 'the publish error was reported');
    assert.equal(a.guard.evaluate(event('child_extra_attrs_changed', 'z.txt', '600', Date.now())).verdict, 'suppressed');
    await a.shared.barrier(Date.now());
    assert.ok(a.shared.getStats().errors >= 2);
  });

  it('fails open promptly when Redis stalls: neither the mutation nor the decision waits for it', async () => {
    const key = uniquePrefix('guard') + ':intents';
    const errors: Error[] = [];
    const a = instance(key, 'node-a', errors, 200);
    await a.shared.start();
    // Redis stops answering this client (a stalled server or network), without closing anything.
    const admin = connect();
    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    try {
      await a.core.mutationListener(intentFor('lock', 'w.txt', '700')); // resolves: the mutation goes ahead
      await a.shared.barrier(Date.now()); // resolves: the guard decides with its local ledger
      assert.ok(errors.some((e) => /publishing an intent: no answer from Redis within 200 ms/.test(e.message)), errors.map((e) => e.message).join('; '));
      assert.ok(errors.some((e) => /read barrier: no answer from Redis within 200 ms/.test(e.message)));
      assert.equal(a.guard.evaluate(event('child_extra_attrs_changed', 'w.txt', '700', Date.now())).verdict, 'suppressed');
      assert.ok(a.shared.failing);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
    }
  });
});
