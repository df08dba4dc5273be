// The scale-out lease (core/scale/lease.ts) and fencing against a real redis-server: one leader
// among contenders, takeover after the leader stops renewing, a stale leader's stream appends and
// heal-marker saves refused by Redis itself, Redis restarts and outages.
import * as assert from 'node:assert/strict';
import Redis from 'ioredis';
import { createRedisClient, type RedisClient, StreamWriter, FencedAppendError } from '../../../core/redis';
import { LeaderLease, leaseKeys, type LeaseInfo } from '../../../core/scale/lease';
import { RedisMarkerStore, markersKey } from '../../../core/scale/markers';
import type { MarkerRecord } from '../../../core/heal/marker';
import { startRedisServer, uniquePrefix, type RedisServer } from '../../support/redis-server';
import { makeEvent, waitFor } from '../../support/redis-helpers';

const LEASE_MS = 600;

describe('scale-out: lease and fencing (real redis-server)', function () {
  this.timeout(30_000);
  let server: RedisServer;
  let admin: Redis;
  const clients: RedisClient[] = [];
  const leases: LeaderLease[] = [];

  before(async () => {
    server = await startRedisServer({ appendOnly: true });
    admin = new Redis(server.url);
    admin.on('error', () => undefined);
  });
  after(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  afterEach(async () => {
    for (const lease of leases.splice(0)) await lease.stop(false);
    for (const client of clients.splice(0)) client.disconnect();
  });

  function contender(prefix: string, holder: string, leaseMs = LEASE_MS): LeaderLease {
    const client = createRedisClient({ url: server.url, mode: 'standalone' }, 'blocking');
    clients.push(client);
    const keys = leaseKeys(prefix, 'w1');
    const lease = new LeaderLease({ client, key: keys.key, counterKey: keys.counterKey, holder, leaseMs });
    leases.push(lease);
    lease.start();
    return lease;
  }

  it('elects exactly one leader; the others stand by naming it; a released lease is taken at once', async () => {
    const prefix = uniquePrefix('lease');
    const a = contender(prefix, 'a');
    const b = contender(prefix, 'b');
    const c = contender(prefix, 'c');
    await waitFor(() => [a, b, c].filter((l) => l.info.role === 'leader').length === 1 && [a, b, c].filter((l) => l.info.role === 'standby').length === 2, 'one leader, two standbys', 5_000);
    const leader = [a, b, c].find((l) => l.info.role === 'leader')!;
    const others = [a, b, c].filter((l) => l !== leader);
    for (const other of others) assert.equal(other.info.holder, leader.info.holder);
    assert.ok(leader.fence && /^\d+:[0-9a-f]{12}$/.test(leader.fence.token), `token ${leader.fence?.token}`);
    const firstToken = leader.fence!.token;
    const releasedAt = Date.now();
    await leader.stop(true);
    await waitFor(() => others.some((l) => l.info.role === 'leader'), 'a standby leads', 5_000);
    // Taken at the next try (a third of the lease), not after the lease time.
    assert.ok(Date.now() - releasedAt < LEASE_MS, `took ${Date.now() - releasedAt} ms`);
    const next = others.find((l) => l.info.role === 'leader')!;
    assert.notEqual(next.fence!.token, firstToken);
    assert.ok(Number(next.fence!.token.split(':')[0]) > Number(firstToken.split(':')[0]), 'terms only grow');
  });

  it('hands the lease over on shutdown: a standby leads at its next try and the old leader stays out for a lease', async () => {
    const prefix = uniquePrefix('handover');
    const a = contender(prefix, 'a', 1_500);
    await waitFor(() => a.info.role === 'leader', 'a leads', 5_000);
    const b = contender(prefix, 'b', 1_500);
    await waitFor(() => b.info.role === 'standby', 'b stands by', 5_000);
    const at = Date.now();
    await a.handOver();
    assert.equal(a.info.role, 'standby');
    await waitFor(() => b.info.role === 'leader', 'b leads', 5_000);
    assert.ok(Date.now() - at < 1_000, `took ${Date.now() - at} ms (lease 1.5 s)`);
    assert.equal(a.info.role, 'standby');
  });

  it('a leader that stops renewing is replaced within the lease time, and its appends and marker saves are refused by Redis', async () => {
    const prefix = uniquePrefix('fence');
    const stream = `${prefix}events`;
    const a = contender(prefix, 'a');
    await waitFor(() => a.info.role === 'leader', 'a leads', 5_000);
    const b = contender(prefix, 'b');
    await waitFor(() => b.info.role === 'standby', 'b stands by', 5_000);
    const writerClient = createRedisClient({ url: server.url, mode: 'standalone' });
    clients.push(writerClient);
    const writer = new StreamWriter(writerClient);
    const staleFence = a.fence!;
    assert.match(await writer.append(stream, makeEvent(1), staleFence), /^\d+-\d+$/);

    // Freeze a: it neither renews nor releases (what SIGSTOP does to the process).
    const frozenAt = Date.now();
    await a.stop(false);
    await waitFor(() => b.info.role === 'leader', 'b takes over', 5_000);
    const gap = Date.now() - frozenAt;
    assert.ok(gap <= LEASE_MS + LEASE_MS / 3 + 200, `takeover after ${gap} ms (lease ${LEASE_MS} ms)`);

    // a wakes up and appends with the fence of its old term: refused, nothing written.
    const before = await admin.xlen(stream);
    await assert.rejects(writer.append(stream, makeEvent(2), staleFence), (err: Error) => err instanceof FencedAppendError && err.current === b.fence!.token);
    assert.equal(await admin.xlen(stream), before);
    // A batch with fenced and current appends: only the current term's are written.
    const results = await Promise.allSettled([writer.append(stream, makeEvent(3), staleFence), writer.append(stream, makeEvent(4), b.fence!), writer.append(stream, makeEvent(5))]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'fulfilled', 'fulfilled']);
    assert.equal(await admin.xlen(stream), before + 2);
    // Without scripts (pipeline fallback) the fence is checked too.
    const pipelineWriter = new StreamWriter(writerClient, { useScript: false });
    await assert.rejects(pipelineWriter.append(stream, makeEvent(6), staleFence), FencedAppendError);

    // Heal markers: the stale term cannot overwrite what the leader recorded.
    const key = markersKey(prefix, 'w1');
    const record = (coveredUntil: number): MarkerRecord => ({ version: 1, watchId: 'w1', consumerId: 'node1', watchRoot: '/', coveredUntil, pending: null, removed: false, checkpoints: [], updatedAt: coveredUntil });
    const current = new RedisMarkerStore(writerClient, key, () => b.fence);
    current.save(record(1000));
    await current.flushed();
    const stale = new RedisMarkerStore(writerClient, key, () => staleFence);
    stale.save(record(9999));
    await stale.flushed();
    const reader = new RedisMarkerStore(writerClient, key, () => null);
    await reader.refresh();
    assert.equal(reader.load('w1', 'node1').record?.coveredUntil, 1000);
  });

  it('keeps the leader through a Redis restart that lost the lease, and steps down when Redis stays away past the lease', async () => {
    const prefix = uniquePrefix('restart');
    const a = contender(prefix, 'a', 1_000);
    await waitFor(() => a.info.role === 'leader', 'a leads', 5_000);
    const roles: LeaseInfo[] = [];
    a.on('role', (info: LeaseInfo) => roles.push(info));
    const token = a.fence!.token;
    // The lease key vanishes (Redis restarted without it): the leader takes it back with its token.
    await admin.del(leaseKeys(prefix, 'w1').key);
    await server.restart();
    await waitFor(async () => (await admin.hget(leaseKeys(prefix, 'w1').key, 'token').catch(() => null)) === token, 'lease re-created with the same token', 10_000);
    assert.equal(a.info.role, 'leader');
    assert.deepEqual(roles, [], 'no role change');
    // Redis away for longer than the lease: the leader must not go on believing it leads.
    await server.shutdown();
    await waitFor(() => a.info.role === 'standby', 'a steps down', 5_000);
    assert.equal(a.fence, null);
    await server.start();
    await waitFor(() => a.info.role === 'leader', 'a leads again once Redis is back', 10_000);
  });
});
