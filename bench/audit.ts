// npm run bench:audit — the audit trail's acceptance run (issue 20): 10,000 locks from a Redis
// stream in a real Node-RED process (qumulo-redis-in → qumulo-lock → qumulo-audit) against the
// simulator, with full deploys and kill -9 + restarts in between; then the export for the run's
// time range must return exactly one record per file. test/system/audit-durability.test.ts runs the same
// scenario (test/support/audit-storm.ts) with 150 locks.
//
// Environment: BENCH_LOCKS (10000), BENCH_DEPLOYS (2), BENCH_KILLS (2), BENCH_LATENCY_MS (simulator
// latency per request, 0), BENCH_CONCURRENCY (the cluster's request limit, 8), BENCH_RECORD_BY
// (node: a qumulo-audit node after the lock; option: the lock node's own audit option).
import { runAuditStorm } from '../test/support/audit-storm';
import { ranOn } from './ran-on';

async function main(): Promise<void> {
  const total = Number(process.env.BENCH_LOCKS ?? 10_000);
  const deploys = Number(process.env.BENCH_DEPLOYS ?? 2);
  const kills = Number(process.env.BENCH_KILLS ?? 2);
  console.log(`bench:audit on ${ranOn()}: ${total} locks, ${deploys} full deploys and ${kills} kill -9 + restarts during the run; records written by ${process.env.BENCH_RECORD_BY === 'option' ? "the lock node's audit option" : 'a qumulo-audit node'}`);
  const started = Date.now();
  const result = await runAuditStorm({
    total,
    deploys,
    kills,
    latencyMs: Number(process.env.BENCH_LATENCY_MS ?? 0),
    concurrency: Number(process.env.BENCH_CONCURRENCY ?? 8),
    recordBy: process.env.BENCH_RECORD_BY === 'option' ? 'lock option' : 'audit node',
    timeoutMs: 15 * 60_000,
    log: (line) => console.log(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}`),
  });
  console.log(`  audit lines written   ${result.lines} (repeats from redeliveries: ${result.duplicatesDropped})`);
  console.log(`  export for the run    ${result.exported} records; files with exactly one record: ${result.filesOnce} of ${result.total}`);
  console.log(`  run time              ${result.seconds.toFixed(1)} s (${Math.round(result.total / result.seconds)} locks/s, interruptions included)`);
  const ok = result.exported === result.total && result.filesOnce === result.total && result.lines - result.duplicatesDropped === result.total;
  console.log(ok ? 'PASS: every lock recorded, the export returns exactly them' : 'FAIL');
  if (!ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
