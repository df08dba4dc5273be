// npm run bench:soak [-- <seconds>] — the Redis pipeline (watch → redis-out ⇢ redis-in → filter →
// guard → lock, bench/pipeline.ts) under a steady 2,000 new files/s for 10 minutes, every file
// locked. The Node-RED process's RSS is sampled every second; printed: the RSS slope (MB/min, least
// squares) after the first minute, and creation → lock p99 (and p50, max) per minute.
// Duration: first argument or BENCH_SOAK_SECONDS (600); rate: BENCH_RATE (2000 files/s).
// Each new file also comes back as the lock's own echo (child_extra_attrs_changed): the watch
// passes about twice the file rate into Redis; the loop guard drops the echoes.
import { ranOn } from './ran-on';
import { CONCURRENCY, LATENCY_MS, ms, percentiles, sinkState, startCluster, startPipelines } from './pipeline';
import { waitFor } from '../test/support/actions';

const SECONDS = Number(process.argv[2] ?? process.env.BENCH_SOAK_SECONDS ?? 600);
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const MINUTE_S = Math.min(60, SECONDS);

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

async function main(): Promise<void> {
  const minutes = Math.ceil(SECONDS / MINUTE_S);
  const cluster = await startCluster(['redis/warm', ...Array.from({ length: minutes }, (_, i) => `redis/m${i}`)]);
  const pipelines = await startPipelines(cluster, { plain: false, redis: true });
  const state = sinkState('sink-redis');
  const rss: Array<[number, number]> = [];
  const perMinute: string[] = [];
  let created = 0;
  let locked = 0;
  let totalCpuUs = 0;
  try {
    await cluster.run('redis/warm', 200, 1);
    await waitFor(() => state.latencies.length >= 200, 'warm-up locks', 60_000);
    state.latencies = [];
    state.toWatch = [];
    const started = Date.now();
    const cpuAll = process.cpuUsage();
    const sampler = setInterval(() => rss.push([(Date.now() - started) / 60_000, process.memoryUsage().rss / 1e6]), 1000);
    for (let minute = 0; minute < minutes; minute++) {
      const seconds = Math.min(MINUTE_S, SECONDS - minute * MINUTE_S);
      const cpuBefore = process.cpuUsage();
      created += await cluster.run(`redis/m${minute}`, RATE, seconds);
      // Results of this minute's files (and late ones of the last), then a fresh window.
      const latencies = state.latencies;
      const toWatch = state.toWatch;
      state.latencies = [];
      state.toWatch = [];
      locked += latencies.length;
      const p = percentiles(latencies);
      const w = percentiles(toWatch);
      const cpu = process.cpuUsage(cpuBefore);
      const lastRss = rss.length > 0 ? rss[rss.length - 1][1] : NaN;
      const cpuUs = cpu.user + cpu.system;
      perMinute.push(
        `  minute ${String(minute + 1).padStart(2)}: ${latencies.length} locks (${(latencies.length / seconds).toFixed(0)} files/s), p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, max ${ms(p.max)} (creation → watch node p50 ${ms(w.p50)}, p99 ${ms(w.p99)}); RSS ${lastRss.toFixed(0)} MB; Node-RED ${(cpuUs / 1e6 / seconds * 100).toFixed(0)} % of a CPU, ${(cpuUs / Math.max(1, latencies.length)).toFixed(0)} µs CPU per file`,
      );
      console.error(perMinute[perMinute.length - 1]);
    }
    await waitFor(() => locked + state.latencies.length >= created, `${created} locks`, 300_000);
    locked += state.latencies.length;
    const cpu = process.cpuUsage(cpuAll);
    totalCpuUs = cpu.user + cpu.system;
    clearInterval(sampler);
  } finally {
    await pipelines.stop();
    await cluster.stop();
  }
  const afterFirst = rss.filter(([t]) => t >= 1);
  const fit = afterFirst.length >= 10 ? afterFirst : rss;
  const mbPerMin = slope(fit);
  console.log(`qumulo-flow soak — ${ranOn()} (Redis pipeline, ${RATE} new files/s for ${SECONDS} s, simulator in its own process +${LATENCY_MS} ms per REST answer, cluster max concurrency ${CONCURRENCY}; machine shared with other work)`);
  for (const line of perMinute) console.log(line);
  console.log(`  ${created} files created, ${locked} locked; Node-RED ${(totalCpuUs / Math.max(1, locked)).toFixed(0)} µs CPU per file (all minutes)`);
  console.log(
    `  RSS slope ${mbPerMin.toFixed(2)} MB/min (${fit === afterFirst ? 'after the first minute' : 'whole run: shorter than 70 s'}, ${fit.length} samples, ${rss[0]?.[1].toFixed(0)} → ${rss[rss.length - 1]?.[1].toFixed(0)} MB) — goal <= 1 MB/min ${mbPerMin <= 1 ? 'met' : 'NOT met'}`,
  );
  if (locked < created) process.exitCode = 1;
}

main().then(
  // Exit now: idle keep-alive sockets and timers of the stopped runtime need not be waited for.
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
