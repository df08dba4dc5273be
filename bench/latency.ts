// npm run bench:latency — creation → lock latency at a fixed rate of new files.
// Files are created at 500 and then 2,000 files/s on the simulator (its own process, +10 ms per
// REST answer), through the plain pipeline (watch → lock) and through the Redis pipeline
// (watch → redis-out ⇢ redis-in → filter → guard → lock), all in one embedded Node-RED (see
// bench/pipeline.ts). Measured per file from its creation to its lock result: p50/p95/p99/max.
// The settle pipeline (watch → qumulo-settle → lock) waits for each file to be quiet for
// BENCH_SETTLE_QUIET seconds (1) first: its goal is that quiet time + 50 ms.
// Settings (env): BENCH_SECONDS (10 per rate), BENCH_RATES (500,2000), BENCH_PIPELINES
// (plain,redis,settle), BENCH_SETTLE_QUIET (1), BENCH_LATENCY_MS (10), BENCH_CONCURRENCY (64).
import { ranOn } from './ran-on';
import { CONCURRENCY, LATENCY_MS, SETTLE_QUIET_S, measure, ms, percentiles, startCluster, startPipelines } from './pipeline';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATES = (process.env.BENCH_RATES ?? '500,2000').split(',').map(Number);
const PIPELINES = (process.env.BENCH_PIPELINES ?? 'plain,redis,settle').split(',') as Array<'plain' | 'redis' | 'settle'>;
const GOAL_MS: Record<number, number> = { 500: 50, 2000: 100 };
/** The p99 goal of a pipeline at a rate (ms): with settle, its quiet time + 50 ms at any rate. */
function goalOf(pipeline: string, rate: number): number | undefined {
  return pipeline === 'settle' ? SETTLE_QUIET_S * 1000 + 50 : GOAL_MS[rate];
}

async function main(): Promise<void> {
  const dirs = PIPELINES.flatMap((p) => ['warm', ...RATES.map(String)].map((r) => `${p}/r${r}`));
  const cluster = await startCluster(dirs);
  const pipelines = await startPipelines(cluster, { plain: PIPELINES.includes('plain'), redis: PIPELINES.includes('redis'), settle: PIPELINES.includes('settle') });
  const lines: string[] = [];
  let failed = false;
  try {
    for (const pipeline of PIPELINES) {
      await measure(cluster, `${pipeline}/rwarm`, `sink-${pipeline}`, 200, 1); // connections, JIT
      for (const rate of RATES) {
        const cpuBefore = process.cpuUsage();
        const simCpuBefore = cluster.cpuSeconds();
        const { latencies, toWatch, outcomes, created } = await measure(cluster, `${pipeline}/r${rate}`, `sink-${pipeline}`, rate, SECONDS);
        const cpu = process.cpuUsage(cpuBefore);
        const p = percentiles(latencies);
        const w = percentiles(toWatch);
        const goal = goalOf(pipeline, rate);
        const verdict = goal === undefined ? '' : p.p99 <= goal ? ` — p99 goal (<= ${goal} ms) met` : ` — p99 goal (<= ${goal} ms) NOT met`;
        if (goal !== undefined && p.p99 > goal) failed = true;
        lines.push(
          `  ${pipeline.padEnd(6)} ${String(rate).padStart(5)} files/s × ${SECONDS} s: p50 ${ms(p.p50)}, p95 ${ms(p.p95)}, p99 ${ms(p.p99)}, max ${ms(p.max)}${verdict}`,
          `        of which creation → event at the watch node: p50 ${ms(w.p50)}, p99 ${ms(w.p99)}`,
          `        ${created} files, results ${JSON.stringify(outcomes)}; Node-RED ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU, simulator ${(cluster.cpuSeconds() - simCpuBefore).toFixed(1)} s CPU`,
        );
      }
    }
  } finally {
    await pipelines.stop();
    await cluster.stop();
  }
  console.log(`qumulo-flow creation → lock latency — ${ranOn()} (simulator in its own process, +${LATENCY_MS} ms per REST answer, cluster max concurrency ${CONCURRENCY}; settle quiet time ${SETTLE_QUIET_S} s; machine shared with other work: figures vary with its load)`);
  for (const line of lines) console.log(line);
  if (failed) console.log('  (a goal not met is reported, not an error: see the README for the conditions)');
}

main().then(
  // Exit now: idle keep-alive sockets and timers of the stopped runtime need not be waited for.
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
