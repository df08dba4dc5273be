// npm run bench:deploy-storm — the long deploy storm of issue 15: for each layout (plain pipeline;
// watch → Redis → … with "ack when done"; the same with a qumulo-ack node) STORM_FILES files
// (default 20,000) are created at STORM_RATE files/s (default 200) while STORM_DEPLOYS deploys
// (default 20, every type, credential changes included) go through the admin API of a real
// Node-RED process; then the Redis layout once more with a kill -9 mid-storm. Prints, per run,
// files locked / unlocked, entries pending, dead letters, and duplicates next to the number of
// messages the nodes reported in flight (cut) at the deploys. Not a timed test: the short version
// runs in npm test (test/system/deploy-storm.test.ts).
import { ranOn } from './ran-on';
import { describeStorm, runDeployStorm, type StormLayout, type StormResult } from '../test/support/deploy-storm';
import { startRedisServer } from '../test/support/redis-server';
import { startSim } from '../test/support/sim';

const FILES = Number(process.env.STORM_FILES ?? 20_000);
const RATE = Number(process.env.STORM_RATE ?? 200);
const DEPLOYS = Number(process.env.STORM_DEPLOYS ?? 20);
const LAYOUTS = (process.env.STORM_LAYOUTS ?? 'plain,redis-complete,redis-ack-node').split(',') as StormLayout[];
const PASSWORD = 'bench-storm';

async function main(): Promise<void> {
  console.log(`deploy storm — ${ranOn()}: ${FILES} files at ${RATE}/s, ${DEPLOYS} deploys per layout`);
  const redis = await startRedisServer({ own: true, password: PASSWORD });
  const results: StormResult[] = [];
  let failed = false;
  try {
    const runs: Array<{ layout: StormLayout; killAt?: number }> = LAYOUTS.map((layout) => ({ layout }));
    if (LAYOUTS.includes('redis-complete')) runs.push({ layout: 'redis-complete', killAt: 0.5 });
    for (const run of runs) {
      const sim = await startSim();
      try {
        const result = await runDeployStorm({
          layout: run.layout, sim, redis, redisPassword: PASSWORD, files: FILES, filesPerSecond: RATE, deploys: DEPLOYS, killAt: run.killAt, settleMs: 120_000,
        });
        results.push(result);
        console.log(`${run.killAt ? '[kill -9] ' : ''}${describeStorm(result)}`);
        if (result.unlocked.length > 0 || result.pending > 0 || result.deadLetters > 0 || result.wronglyLocked > 0) failed = true;
      } finally {
        await sim.stop();
      }
    }
  } finally {
    await redis.stop();
  }
  console.log(failed ? 'RESULT: files lost or entries stuck (see above)' : 'RESULT: every file locked, nothing pending, no dead letter in every run');
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
