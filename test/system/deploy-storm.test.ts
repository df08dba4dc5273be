// At-least-once across deploys, end to end (issue: "no event lost, none stuck"): a real Node-RED
// process, deploys through the admin API while files are created, core nodes of every completion
// style between the guard and the lock (see test/support/deploy-storm.ts). Short version here;
// `npm run bench:deploy-storm` runs the long one (20,000 files, 20 deploys per layout).
import { strict as assert } from 'node:assert';
import { describeStorm, runDeployStorm, type StormLayout, type StormResult } from '../support/deploy-storm';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { startSim, type TestSim } from '../support/sim';

const REDIS_PASSWORD = 'storm-secret';

function assertNothingLost(result: StormResult): void {
  console.log(`      ${describeStorm(result)}`);
  assert.deepEqual(result.unlocked.slice(0, 20), [], `${result.unlocked.length} files never locked`);
  assert.equal(result.wronglyLocked, 0, 'files the function dropped on purpose were locked');
  assert.equal(result.pending, 0, 'entries left pending');
  assert.equal(result.deadLetters, 0, 'dead letters');
}

describe('deploy storm: every file locked, nothing pending, across every deploy type (real Node-RED process)', function () {
  this.timeout(240_000);
  let sim: TestSim;
  let redis: RedisServer;

  before(async () => {
    redis = await startRedisServer({ own: true, password: REDIS_PASSWORD });
  });
  after(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    sim = await startSim();
  });
  afterEach(async () => {
    await sim?.stop();
  });

  const layouts: Array<[StormLayout, string]> = [
    ['plain', 'watch → filter → guard → core nodes → lock'],
    ['redis-complete', 'watch → redis-out | redis-in (ack when done) → filter → guard → core nodes → lock'],
    ['redis-ack-node', 'the same, acknowledged by a qumulo-ack node'],
  ];
  for (const [layout, title] of layouts) {
    it(`${layout}: ${title}`, async () => {
      const result = await runDeployStorm({ layout, sim, redis, redisPassword: REDIS_PASSWORD, files: 800, filesPerSecond: 160, deploys: 8 });
      assertNothingLost(result);
      assert.ok(result.duplicates <= result.inFlightAtDeploys, `${result.duplicates} duplicates, more than the ${result.inFlightAtDeploys} messages in flight at the deploys`);
    });
  }

  it('redis-complete: kill -9 of Node-RED mid-storm, restart: every file locked, nothing pending', async () => {
    const result = await runDeployStorm({ layout: 'redis-complete', sim, redis, redisPassword: REDIS_PASSWORD, files: 600, filesPerSecond: 150, deploys: 2, killAt: 0.5 });
    assertNothingLost(result);
  });
});
