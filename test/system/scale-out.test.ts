// Scale-out acceptance, short version (bench/scale.ts runs the full sizes): three real Node-RED
// processes run one flow against one redis-server and the simulator. One instance ingests (the
// lease holder), the others stand by; every instance consumes. Short leases (3 s) and claim idle
// times (2 s) keep it quick on a loaded machine.
import * as assert from 'node:assert/strict';
import { startRedisServer, uniquePrefix, type RedisServer } from '../support/redis-server';
import { startSim, type TestSim } from '../support/sim';
import { ScaleRig, sleep } from '../support/scale';

const LEASE_S = 3;
const CLAIM_S = 2;

describe('scale-out: three Node-RED instances, one flow (real processes)', function () {
  this.timeout(120_000);
  let sim: TestSim;
  let redis: RedisServer;
  let rig: ScaleRig;

  before(async function () {
    this.timeout(90_000);
    sim = await startSim();
    redis = await startRedisServer({ appendOnly: true, appendFsync: 'always', dataBase: '/dev/shm' });
    rig = await ScaleRig.start({ sim, redis, instances: 3, leaseSeconds: LEASE_S, claimIdleSeconds: CLAIM_S, holdMs: 300, keyPrefix: uniquePrefix('scale') });
    await rig.waitLeader(15_000);
    // The leader's stream must be open before the first file appears.
    const deadline = Date.now() + 15_000;
    while (sim.sim.openStreams() < 1 && Date.now() < deadline) await sleep(25);
  });
  after(async () => {
    await rig?.stop();
    await redis?.stop();
    await sim?.stop();
  });

  it('appends every event once with three instances (one ingests, two stand by)', async () => {
    const leader = await rig.leader();
    const { from, to } = await rig.writeNext(60, 60);
    assert.deepEqual(await rig.waitLocked(from, to, 20_000), [], 'every file locked');
    const summary = await rig.appendSummary(from, to);
    console.log(`      steady state: ${to - from + 1} files, leader #${leader}, ${summary.duplicates} duplicate appends, ${summary.missing} missing`);
    assert.equal(summary.missing, 0);
    assert.equal(summary.max, 1, 'no event appended twice');
    assert.equal(await rig.waitNoPending(10_000), 0, 'every entry acked');
    for (let i = 0; i < 3; i++) if (i !== leader) assert.equal(rig.outStatus(i).written, 0, `standby #${i} appended nothing`);
    for (let i = 0; i < 3; i++) if (i !== leader) assert.match(rig.output(i), /Standing by for the watch of \/in/);
  });

  it('a deploy that restarts the watch node on the leader keeps leadership and loses or repeats nothing', async () => {
    const leader = await rig.leader();
    const token = await rig.leaseToken();
    let deploying: Promise<void> | null = null;
    const { from, to } = await rig.writeNext(60, 60, (n) => {
      if (n === rig.nextFile - 40) deploying = rig.renameWatch(leader, 'renamed by a deploy');
    });
    await deploying;
    assert.deepEqual(await rig.waitLocked(from, to, 20_000), []);
    const summary = await rig.appendSummary(from, to);
    console.log(`      deploy on leader #${leader} mid-stream: still leader ${(await rig.leader()) === leader}, same term ${(await rig.leaseToken()) === token}; ${summary.missing} missing, ${summary.duplicates} duplicate appends`);
    assert.equal(await rig.leader(), leader);
    assert.equal(await rig.leaseToken(), token, 'same lease term');
    assert.equal(summary.missing, 0);
    assert.equal(summary.max, 1, 'nothing appended twice');
  });

  it('SIGSTOP of the leader past its lease, then SIGCONT: it appends nothing more (fencing) and stands by', async () => {
    const leader = await rig.leader();
    await sleep(800); // its out node's status shows its last count
    const before = rig.outStatus(leader);
    rig.signal(leader, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      const taking = rig.waitLeader(LEASE_S * 2000, leader);
      const during = await rig.writeNext(40, 40);
      const { index } = await taking;
      await sleep(Math.max(0, stoppedAt + LEASE_S * 1000 + 500 - Date.now()));
      rig.signal(leader, 'SIGCONT');
      await sleep(1500);
      const after = rig.outStatus(leader);
      const tail = await rig.writeNext(20, 40);
      assert.deepEqual(await rig.waitLocked(during.from, tail.to, 30_000), []);
      const summary = await rig.appendSummary(during.from, tail.to);
      console.log(`      leader #${leader} stopped ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s, #${index} took over; after SIGCONT: written ${before.written} → ${after.written}, fenced ${after.fenced}; ${summary.duplicates} duplicate appends`);
      assert.equal(after.written, before.written, 'the stale leader appended nothing after waking up');
      assert.equal(summary.missing, 0);
      assert.notEqual(await rig.leader(), leader);
      assert.match(rig.output(leader).split('Leading the watch').pop() ?? '', /Standing by for the watch of \/in/);
    } finally {
      rig.signal(leader, 'SIGCONT');
    }
  });

  it('Redis restart mid-stream: leadership recovers and nothing is lost', async () => {
    let restarted = false;
    const { from, to } = await rig.writeNext(80, 80, async (n) => {
      if (!restarted && n === rig.nextFile - 50) {
        restarted = true;
        await redis.restart();
      }
    });
    const { index } = await rig.waitLeader(LEASE_S * 3000);
    assert.deepEqual(await rig.waitLocked(from, to, 30_000), []);
    const summary = await rig.appendSummary(from, to);
    console.log(`      Redis restarted mid-stream: #${index} leads; ${to - from + 1} files locked, ${summary.missing} missing, ${summary.duplicates} duplicate appends`);
    assert.equal(summary.missing, 0);
  });

  it('kill -9 of a consumer: its pending entries are processed by another within 2× the claim time', async () => {
    const leader = await rig.leader();
    const victim = [0, 1, 2].find((i) => i !== leader)!;
    const consumer = rig.consumerName(victim);
    let held: string[] = [];
    let killedAt = 0;
    const { from, to } = await rig.writeNext(90, 90, async (n) => {
      if (killedAt || n < rig.nextFile - 30) return;
      held = await rig.pendingOf(consumer);
      if (held.length >= 5) {
        await rig.kill(victim);
        killedAt = Date.now();
      }
    });
    assert.ok(killedAt > 0, 'the consumer had entries pending when killed');
    let processedAfter = -1;
    while (Date.now() - killedAt < 4 * CLAIM_S * 1000) {
      if ((await rig.stillPending(held)) === 0) {
        processedAfter = Date.now() - killedAt;
        break;
      }
      await sleep(50);
    }
    console.log(`      consumer #${victim} killed holding ${held.length} entries: processed by others after ${(processedAfter / 1000).toFixed(2)} s (claim time ${CLAIM_S} s)`);
    assert.ok(processedAfter >= 0 && processedAfter <= 2 * CLAIM_S * 1000, `processed after ${processedAfter} ms`);
    assert.deepEqual(await rig.waitLocked(from, to, 20_000), []);
  });

  it('kill -9 of the leader mid-stream: a standby leads within the lease time, every file locked, duplicates bounded', async () => {
    const leader = await rig.leader();
    assert.ok(leader >= 0 && rig.nodes[leader], 'a live leader');
    let killedAt = 0;
    let killedAtFile = 0;
    let taking: Promise<{ index: number; at: number }> | null = null;
    const { from, to } = await rig.writeNext(150, 100, async (n) => {
      if (!killedAt && n === rig.nextFile - 100) {
        await rig.kill(leader);
        killedAt = Date.now();
        killedAtFile = n;
        taking = rig.waitLeader(LEASE_S * 2000, leader);
      }
    });
    const { index, at } = await (taking ?? rig.waitLeader(LEASE_S * 2000, leader));
    const gap = (at - killedAt) / 1000;
    const unlocked = await rig.waitLocked(from, to, 30_000);
    const summary = await rig.appendSummary(from, to);
    // The new leader heals from the marker the old one kept in Redis (saved every 5 s, minus a 5 s
    // tolerance): what changed in that window before the kill can be appended twice, nothing else.
    console.log(`      leader #${leader} killed at file ${killedAtFile}: #${index} leads after ${gap.toFixed(2)} s (lease ${LEASE_S} s); ${to - from + 1 - unlocked.length}/${to - from + 1} locked; ${summary.duplicates} duplicate appends, ${summary.missing} missing`);
    assert.deepEqual(unlocked, []);
    assert.equal(summary.missing, 0);
    assert.ok(at - killedAt <= LEASE_S * 1000 + 1000, `takeover after ${gap} s`);
    assert.ok(summary.duplicates <= to - from + 1, 'at most one extra append per file');
    assert.ok(summary.max <= 2);
    // The killed leader was a consumer too: what it held was claimed and acked by the survivor.
    assert.equal(await rig.waitNoPending(3 * CLAIM_S * 1000), 0, 'entries left pending');
  });
});
