// npm run bench:scale — scale-out at full size (the short version is test/system/scale-out.test.ts):
//
// 1. Consumer throughput: SCALE_EVENTS entries (default 20,000) are put in the stream, then 1, 2
//    and 3 Node-RED instances of the same flow consume them (qumulo-redis-in → qumulo-lock against
//    the simulator → a recorder); events/s = entries / time until the last one is locked.
// 2. Failover: 3 instances, the watch's lease SCALE_LEASE s (default 5), SCALE_FILES files
//    (default 20,000) created at SCALE_RATE/s (default 400); the leader is killed -9 half way. Prints
//    how long until a standby led (the failover gap), files locked, duplicate appends, missing.
//    Then, on the same instances: a consumer killed -9 (time until its pending entries are
//    processed elsewhere, against the claim time), the leader SIGSTOPped past its lease and
//    continued (what it appended afterwards: must be 0), and a Redis restart mid-stream.
//
// Everything (the instances, redis-server, the simulator, this process writing files) shares
// this machine's CPUs, so the events/s say how the pipeline's cost divides over instances on
// those CPUs, not what N machines would do.
import * as fs from 'node:fs';
import * as os from 'node:os';
import Redis from 'ioredis';
import { ranOn } from './ran-on';
import { encodeEvent } from '../core/redis/encoding';
import { startRedisServer, uniquePrefix, type RedisServer } from '../test/support/redis-server';
import { startSim, type TestSim } from '../test/support/sim';
import { ScaleRig, SCALE_STREAM, sleep } from '../test/support/scale';

const EVENTS = Number(process.env.SCALE_EVENTS ?? 20_000);
const FILES = Number(process.env.SCALE_FILES ?? 20_000);
const RATE = Number(process.env.SCALE_RATE ?? 400);
const LEASE_S = Number(process.env.SCALE_LEASE ?? 5);
const CLAIM_S = Number(process.env.SCALE_CLAIM ?? 5);

interface Throughput {
  eventsPerSecond: number;
  /** CPU seconds per 1,000 events: Node-RED instances, and this process (simulator + bench). */
  nodeRedCpuPer1000: number;
  simCpuPer1000: number;
}

async function throughput(sim: TestSim, redis: RedisServer, instances: number): Promise<Throughput> {
  const keyPrefix = uniquePrefix(`tp${instances}`);
  // Files outside the watched directory: only the seeded entries ask for them.
  const dir = `pre${instances}`;
  for (let n = 1; n <= EVENTS; n++) {
    if (n % 250 === 0 || n === 1) fs.mkdirSync(sim.disk(`${dir}/d${Math.floor(n / 250)}`), { recursive: true });
    fs.writeFileSync(sim.disk(`${dir}/d${Math.floor(n / 250)}/p-${n}.dat`), 'x');
  }
  const rig = await ScaleRig.start({ sim, redis, instances, leaseSeconds: LEASE_S, claimIdleSeconds: CLAIM_S, keyPrefix });
  const admin = new Redis(redis.url);
  try {
    await sleep(2000); // every consumer has joined the group
    const t0 = Date.now();
    const cpu0 = rig.nodes.reduce((sum, nr) => sum + (nr?.cpuSeconds() ?? 0), 0);
    const own0 = process.cpuUsage();
    for (let n = 1; n <= EVENTS; n += 1000) {
      const pipeline = admin.pipeline();
      for (let i = n; i < n + 1000 && i <= EVENTS; i++) {
        const name = `p-${i}.dat`;
        const rel = `d${Math.floor(i / 250)}/${name}`;
        pipeline.xadd(keyPrefix + SCALE_STREAM, '*', ...encodeEvent({ type: 'child_file_added', path: `/${dir}/${rel}`, name, relativePath: rel, watchRoot: `/${dir}`, watchId: 'bench', seq: i, receivedAt: Date.now() }));
      }
      await pipeline.exec();
    }
    for (;;) {
      const locked = fs.existsSync(rig.recordFile) ? fs.readFileSync(rig.recordFile, 'utf8').split('\n').filter((l) => l.startsWith('p-')).length : 0;
      if (locked >= EVENTS) break;
      if (Date.now() - t0 > 600_000) throw new Error(`only ${locked}/${EVENTS} locked after 10 min`);
      await sleep(100);
    }
    const cpu = rig.nodes.reduce((sum, nr) => sum + (nr?.cpuSeconds() ?? 0), 0) - cpu0;
    const own = process.cpuUsage(own0);
    return {
      eventsPerSecond: EVENTS / ((Date.now() - t0) / 1000),
      nodeRedCpuPer1000: (cpu / EVENTS) * 1000,
      simCpuPer1000: ((own.user + own.system) / 1e6 / EVENTS) * 1000,
    };
  } finally {
    admin.disconnect();
    await rig.stop();
  }
}

async function failover(sim: TestSim, redis: RedisServer): Promise<boolean> {
  const rig = await ScaleRig.start({ sim, redis, instances: 3, leaseSeconds: LEASE_S, claimIdleSeconds: CLAIM_S, holdMs: 200, keyPrefix: uniquePrefix('failover') });
  let ok = true;
  const check = async (what: string, from: number, to: number, extra: string) => {
    const unlocked = await rig.waitLocked(from, to, 300_000);
    const summary = await rig.appendSummary(from, to);
    if (unlocked.length > 0 || summary.missing > 0) {
      ok = false;
      // What is stuck, for whoever reads the output.
      const groups = await rig.admin.xinfo('GROUPS', rig.streamKey).catch((err: Error) => err.message);
      const consumers = await rig.admin.xinfo('CONSUMERS', rig.streamKey, 'scale').catch((err: Error) => err.message);
      console.log(`  stuck: ${unlocked.length} unlocked (first ${unlocked.slice(0, 5).join(', ')}); group ${JSON.stringify(groups)}; consumers ${JSON.stringify(consumers)}`);
      for (let i = 0; i < rig.nodes.length; i++) if (rig.nodes[i]?.pid) console.log(`  instance #${i} log tail:\n${rig.output(i).split('\n').slice(-25).join('\n')}`);
    }
    console.log(`${what}: ${to - from + 1 - unlocked.length}/${to - from + 1} locked, ${summary.missing} never appended, ${summary.duplicates} duplicate appends${extra}`);
  };
  try {
    await rig.waitLeader(30_000);
    while (sim.sim.openStreams() < 1) await sleep(25);

    // Steady state.
    let range = await rig.writeNext(2000, RATE);
    await check('steady state, 3 instances', range.from, range.to, '');

    // SIGSTOP the leader past its lease.
    let leader = await rig.leader();
    await sleep(1000);
    const before = rig.outStatus(leader);
    rig.signal(leader, 'SIGSTOP');
    const stoppedAt = Date.now();
    // Watched while the files are written, so the time is when it happened.
    const taking = rig.waitLeader(LEASE_S * 3000, leader);
    range = await rig.writeNext(Math.round(RATE * (LEASE_S + 2)), RATE);
    const took = await taking;
    await sleep(Math.max(0, stoppedAt + LEASE_S * 1000 + 1000 - Date.now()));
    rig.signal(leader, 'SIGCONT');
    await sleep(3000);
    const after = rig.outStatus(leader);
    if (after.written !== before.written) ok = false;
    await check(`SIGSTOP leader #${leader} for ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`, range.from, range.to, `; #${took.index} led ${((took.at - stoppedAt) / 1000).toFixed(2)} s after the stop; the stopped one appended ${after.written - before.written} after SIGCONT (${after.fenced} refused by fencing)`);

    // Redis restart mid-stream.
    let restarted = false;
    range = await rig.writeNext(4000, RATE, async (n) => {
      if (!restarted && n >= rig.nextFile - 2000) {
        restarted = true;
        await redis.restart();
      }
    });
    const recovered = await rig.waitLeader(LEASE_S * 3000);
    await check('Redis restart mid-stream', range.from, range.to, `; #${recovered.index} leads`);

    // kill -9 a consumer holding entries.
    leader = await rig.leader();
    const victim = [0, 1, 2].find((i) => i !== leader)!;
    let held: string[] = [];
    let killedAt = 0;
    range = await rig.writeNext(2000, RATE, async (n) => {
      if (killedAt || n < rig.nextFile - 1000 || n % 20 !== 0) return;
      held = await rig.pendingOf(rig.consumerName(victim));
      if (held.length >= 20) {
        await rig.kill(victim);
        killedAt = Date.now();
      }
    });
    let processedAfter = NaN;
    let claimedAfter = NaN;
    const victimName = rig.consumerName(victim);
    while (killedAt && Date.now() - killedAt < 10 * CLAIM_S * 1000) {
      if (Number.isNaN(claimedAfter) && (await rig.pendingOf(victimName)).length === 0) claimedAfter = (Date.now() - killedAt) / 1000;
      if ((await rig.stillPending(held)) === 0) {
        processedAfter = (Date.now() - killedAt) / 1000;
        break;
      }
      await sleep(50);
    }
    if (!(processedAfter <= 2 * CLAIM_S)) ok = false;
    await check(
      `kill -9 consumer #${victim}`, range.from, range.to,
      `; its ${held.length} pending entries claimed by others ${claimedAfter.toFixed(2)} s and processed (acked) ${processedAfter.toFixed(2)} s after the kill (claim time ${CLAIM_S} s, limit ${2 * CLAIM_S} s)`,
    );

    // kill -9 the leader half way through FILES files (2 instances left, one stands by).
    leader = await rig.leader();
    let leaderKilledAt = 0;
    const half = rig.nextFile + Math.floor(FILES / 2);
    let takingOver: Promise<{ index: number; at: number }> | null = null;
    range = await rig.writeNext(FILES, RATE, async (n) => {
      if (n === half) {
        await rig.kill(leader);
        leaderKilledAt = Date.now();
        takingOver = rig.waitLeader(LEASE_S * 3000, leader);
      }
    });
    const newLeader = await (takingOver ?? rig.waitLeader(LEASE_S * 3000, leader)).catch(() => ({ index: -1, at: NaN }));
    const gap = (newLeader.at - leaderKilledAt) / 1000;
    if (!(gap <= LEASE_S)) ok = false;
    await check(`kill -9 leader #${leader} at file ${half - range.from + 1} of ${FILES}`, range.from, range.to, `; FAILOVER GAP ${gap.toFixed(2)} s (#${newLeader.index} leads; lease ${LEASE_S} s)`);
  } finally {
    await rig.stop();
  }
  return ok;
}

async function main(): Promise<void> {
  console.log(`scale-out — ${ranOn()} (${os.loadavg()[0].toFixed(1)} load average at start): ${EVENTS} entries per throughput run; failover ${FILES} files at ${RATE}/s, lease ${LEASE_S} s, claim ${CLAIM_S} s`);
  const redis = await startRedisServer({ appendOnly: true, appendFsync: 'always', dataBase: '/dev/shm' });
  const sim = await startSim();
  let ok = true;
  try {
    if (process.env.SCALE_SKIP_THROUGHPUT !== '1') {
      for (const instances of [1, 2, 3]) {
        const result = await throughput(sim, redis, instances);
        console.log(
          `consumers: ${instances} instance(s) → ${Math.round(result.eventsPerSecond)} events/s (redis-in → lock via the simulator → record); ` +
            `CPU per 1,000 events: Node-RED ${result.nodeRedCpuPer1000.toFixed(2)} s, simulator + bench ${result.simCpuPer1000.toFixed(2)} s; load average ${os.loadavg()[0].toFixed(1)}`,
        );
      }
    }
    if (process.env.SCALE_SKIP_FAILOVER !== '1') ok = await failover(sim, redis);
  } finally {
    await sim.stop();
    await redis.stop();
  }
  console.log(ok ? 'RESULT: every file locked, failover within the lease, fencing held' : 'RESULT: a check failed (see above)');
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
