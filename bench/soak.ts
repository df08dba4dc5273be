// npm run bench:soak [-- <seconds>] — the Redis pipeline (watch → redis-out ⇢ redis-in → filter →
// guard → lock, bench/pipeline.ts) under a steady 2,000 new files/s for 10 minutes, every file
// locked. The Node-RED process's RSS is sampled every second; printed: the RSS slope (MB/min, least
// squares) after the first minute, and creation → lock p99 (and p50, max) per minute.
// Duration: first argument or BENCH_SOAK_SECONDS (600); rate: BENCH_RATE (2000 files/s).
// "p99 flat" (the goal's second half) is judged on the per-minute p99 after the first minute
// (minute 1 holds the warm-up: the guard's caps filling, V8 growing its heap), and needs both:
//   no spike — the highest per-minute p99 is at most 2× their median;
//   no drift — the least-squares line through them rises by at most half their median over the
//              run (slope × (minutes − 1)), so a p99 that creeps up minute after minute fails even
//              when no single minute doubles;
//   no backlog — every minute after the first locks at least 95 % of the files it created and
//              its p50 stays under 1 s (a backlog of constant size, or one that is caught up
//              and built again, has a flat p99 too, of seconds).
// Both are relative to the run's own median (the absolute latency goal is bench:latency's);
// with fewer than 3 minutes after the first the verdict is printed as indicative only.
// Each new file also comes back as the lock's own echo (child_extra_attrs_changed): the watch
// passes about twice the file rate into Redis; the loop guard drops the echoes.
// Memory diagnosis (optional): run with `node --expose-gc` and the heap is also sampled after a
// forced gc every BENCH_GC_EVERY seconds (15; a full gc pauses the loop, so it is off without
// --expose-gc) and its slope printed; BENCH_HEAP_SNAPSHOTS=60,150 writes heap snapshots (after a
// gc) at those seconds into BENCH_HEAP_DIR (the working directory). The simulator's RSS (its own
// process) is sampled with Node-RED's, to tell which side grows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { ranOn } from './ran-on';
import { guardCoreFor } from '../core/guard/registry';
import { DEFAULT_LEDGER_CAPACITY } from '../core/guard/ledger';
import { DEFAULT_CHAIN_OPTIONS } from '../core/guard/chains';
import { clusterIdentity } from '../core/qumulo/identity';
import { CONCURRENCY, LATENCY_MS, ms, percentiles, sinkState, startCluster, startPipelines } from './pipeline';
import { waitFor } from '../test/support/actions';
import { p99Verdict, slope } from './soak-verdict';

const SECONDS = Number(process.argv[2] ?? process.env.BENCH_SOAK_SECONDS ?? 600);
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const MINUTE_S = Math.min(60, SECONDS);
const gc = (globalThis as { gc?: () => void }).gc;
const GC_EVERY_S = Number(process.env.BENCH_GC_EVERY ?? 15);
const SNAPSHOTS_S = (process.env.BENCH_HEAP_SNAPSHOTS ?? '').split(',').filter(Boolean).map(Number);
const HEAP_DIR = process.env.BENCH_HEAP_DIR ?? process.cwd();

/** Resident set size of another process (MB), from /proc (Linux). */
function rssOf(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1000 : NaN;
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  const minutes = Math.ceil(SECONDS / MINUTE_S);
  const cluster = await startCluster(['redis/warm', ...Array.from({ length: minutes }, (_, i) => `redis/m${i}`)]);
  const pipelines = await startPipelines(cluster, { plain: false, redis: true });
  const state = sinkState('sink-redis');
  // The guard nodes' per-cluster state (this process loaded the same modules as the runtime): its
  // ledger and chains grow until their caps (50,000 each), at 2,000 files/s within the first
  // minute, at 200/s after ~4 minutes. The slope is also fitted from the moment both were full.
  const guardCore = guardCoreFor(clusterIdentity({ host: '127.0.0.1', port: cluster.port }));
  let capsFullAt: number | null = null;
  const rss: Array<[number, number]> = [];
  const simRss: Array<[number, number]> = [];
  /** V8's heap as reserved (heapTotal), and RSS minus it: native memory (buffers, malloc, code). */
  const heapTotal: Array<[number, number]> = [];
  const outsideHeap: Array<[number, number]> = [];
  const heap: Array<[number, number]> = [];
  const perMinute: string[] = [];
  /** p99 of each minute (creation → lock), for the "p99 flat" verdict. */
  const p99PerMinute: number[] = [];
  const keptUpPerMinute: boolean[] = [];
  // Garbage collection per minute: pauses on the main thread delay every file in flight.
  const gcMinute = { pausesMs: 0, longestMs: 0, major: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMinute.pausesMs += entry.duration;
      gcMinute.longestMs = Math.max(gcMinute.longestMs, entry.duration);
      if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gcMinute.major++;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
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
    let second = 0;
    const sampler = setInterval(() => {
      second++;
      const t = (Date.now() - started) / 60_000;
      const used = process.memoryUsage();
      if (capsFullAt === null && guardCore.ledger.size >= DEFAULT_LEDGER_CAPACITY.maxEntries && guardCore.chains.size >= DEFAULT_CHAIN_OPTIONS.maxChains) capsFullAt = t;
      rss.push([t, used.rss / 1e6]);
      heapTotal.push([t, used.heapTotal / 1e6]);
      outsideHeap.push([t, (used.rss - used.heapTotal) / 1e6]);
      simRss.push([t, rssOf(cluster.child.pid)]);
      if (gc && (second % GC_EVERY_S === 0 || SNAPSHOTS_S.includes(second))) {
        gc();
        const used = process.memoryUsage();
        heap.push([t, used.heapUsed / 1e6]);
        console.error(`  ${second} s: after gc heapUsed ${(used.heapUsed / 1e6).toFixed(1)} MB, external ${(used.external / 1e6).toFixed(1)} MB, arrayBuffers ${(used.arrayBuffers / 1e6).toFixed(1)} MB; RSS ${(used.rss / 1e6).toFixed(0)} MB; simulator RSS ${rssOf(cluster.child.pid).toFixed(0)} MB`);
      }
      if (SNAPSHOTS_S.includes(second)) {
        const file = v8.writeHeapSnapshot(path.join(HEAP_DIR, `soak-${second}s.heapsnapshot`));
        console.error(`  ${second} s: heap snapshot ${file}`);
      }
    }, 1000);
    for (let minute = 0; minute < minutes; minute++) {
      const seconds = Math.min(MINUTE_S, SECONDS - minute * MINUTE_S);
      const cpuBefore = process.cpuUsage();
      Object.assign(gcMinute, { pausesMs: 0, longestMs: 0, major: 0 });
      created += await cluster.run(`redis/m${minute}`, RATE, seconds);
      // Results of this minute's files (and late ones of the last), then a fresh window.
      const latencies = state.latencies;
      const toWatch = state.toWatch;
      state.latencies = [];
      state.toWatch = [];
      locked += latencies.length;
      const p = percentiles(latencies);
      p99PerMinute.push(p.p99);
      keptUpPerMinute.push(latencies.length >= 0.95 * RATE * seconds && p.p50 < 1000);
      const w = percentiles(toWatch);
      const cpu = process.cpuUsage(cpuBefore);
      const lastRss = rss.length > 0 ? rss[rss.length - 1][1] : NaN;
      const lastHeapTotal = heapTotal.length > 0 ? heapTotal[heapTotal.length - 1][1] : NaN;
      const lastOutside = outsideHeap.length > 0 ? outsideHeap[outsideHeap.length - 1][1] : NaN;
      const cpuUs = cpu.user + cpu.system;
      perMinute.push(
        `  minute ${String(minute + 1).padStart(2)}: ${latencies.length} locks (${(latencies.length / seconds).toFixed(0)} files/s), p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, max ${ms(p.max)} (creation → watch node p50 ${ms(w.p50)}, p99 ${ms(w.p99)}); RSS ${lastRss.toFixed(0)} MB (V8 heap ${lastHeapTotal.toFixed(0)} MB, outside it ${lastOutside.toFixed(0)} MB); guard ledger ${guardCore.ledger.size}, chains ${guardCore.chains.size}; Node-RED ${(cpuUs / 1e6 / seconds * 100).toFixed(0)} % of a CPU, ${(cpuUs / Math.max(1, latencies.length)).toFixed(0)} µs CPU per file; gc pauses ${(gcMinute.pausesMs / 1000).toFixed(1)} s (${gcMinute.major} major, longest ${ms(gcMinute.longestMs)})`,
      );
      console.error(perMinute[perMinute.length - 1]);
    }
    await waitFor(() => locked + state.latencies.length >= created, `${created} locks`, 300_000);
    locked += state.latencies.length;
    const cpu = process.cpuUsage(cpuAll);
    totalCpuUs = cpu.user + cpu.system;
    clearInterval(sampler);
  } finally {
    gcObserver.disconnect();
    await pipelines.stop();
    await cluster.stop();
  }
  const afterFirst = rss.filter(([t]) => t >= 1);
  const fit = afterFirst.length >= 10 ? afterFirst : rss;
  const mbPerMin = slope(fit);
  const simFit = simRss.filter(([t]) => t >= 1).length >= 10 ? simRss.filter(([t]) => t >= 1) : simRss;
  const heapFit = heap.filter(([t]) => t >= 1).length >= 3 ? heap.filter(([t]) => t >= 1) : heap;
  console.log(`qumulo-flow soak — ${ranOn()} (Redis pipeline, ${RATE} new files/s for ${SECONDS} s, simulator in its own process +${LATENCY_MS} ms per REST answer, cluster max concurrency ${CONCURRENCY}; machine shared with other work)`);
  for (const line of perMinute) console.log(line);
  console.log(`  ${created} files created, ${locked} locked; Node-RED ${(totalCpuUs / Math.max(1, locked)).toFixed(0)} µs CPU per file (all minutes)`);
  console.log(
    `  RSS slope ${mbPerMin.toFixed(2)} MB/min (${fit === afterFirst ? 'after the first minute' : 'whole run: shorter than 70 s'}, ${fit.length} samples, ${rss[0]?.[1].toFixed(0)} → ${rss[rss.length - 1]?.[1].toFixed(0)} MB) — goal <= 1 MB/min ${mbPerMin <= 1 ? 'met' : 'NOT met'}`,
  );
  const after1 = (series: Array<[number, number]>) => (series === rss ? fit : series.filter(([t]) => t >= 1).length >= 10 ? series.filter(([t]) => t >= 1) : series);
  console.log(`  of which V8's heap (heapTotal) ${slope(after1(heapTotal)).toFixed(2)} MB/min (${heapTotal[0]?.[1].toFixed(0)} → ${heapTotal[heapTotal.length - 1]?.[1].toFixed(0)} MB), outside it ${slope(after1(outsideHeap)).toFixed(2)} MB/min (${outsideHeap[0]?.[1].toFixed(0)} → ${outsideHeap[outsideHeap.length - 1]?.[1].toFixed(0)} MB)`);
  // Whether RSS levels off (a high-water mark of V8's heap and malloc) or keeps climbing (a leak):
  // the slope of the second half alone, next to the goal's figure from minute 1.
  const lastT = rss[rss.length - 1]?.[0] ?? 0;
  const secondHalf = rss.filter(([t]) => t >= lastT / 2);
  if (lastT >= 4) console.log(`  RSS slope over the second half of the samples (from ${(lastT / 2).toFixed(1)} min): ${slope(secondHalf).toFixed(2)} MB/min`);
  if (capsFullAt !== null && capsFullAt > 1) {
    const afterCaps = rss.filter(([t]) => t >= capsFullAt!);
    const heapAfterCaps = heap.filter(([t]) => t >= capsFullAt!);
    console.log(
      `  after the guard's caps were full (from ${(capsFullAt * 60).toFixed(0)} s): RSS slope ${slope(afterCaps).toFixed(2)} MB/min (${afterCaps.length} samples)` +
        (heapAfterCaps.length >= 3 ? `, heap after gc ${slope(heapAfterCaps).toFixed(2)} MB/min (${heapAfterCaps.length} samples)` : ''),
    );
  } else {
    console.log(`  guard caps (ledger ${DEFAULT_LEDGER_CAPACITY.maxEntries}, chains ${DEFAULT_CHAIN_OPTIONS.maxChains}) ${capsFullAt === null ? 'not reached' : 'full within the first minute'}`);
  }
  console.log(`  simulator process RSS slope ${slope(simFit).toFixed(2)} MB/min (${simRss[0]?.[1].toFixed(0)} → ${simRss[simRss.length - 1]?.[1].toFixed(0)} MB; not Node-RED's)`);
  if (heap.length > 0) {
    console.log(`  heap after gc: slope ${slope(heapFit).toFixed(2)} MB/min (${heapFit === heap ? 'whole run' : 'after the first minute'}, ${heapFit.length} samples every ${GC_EVERY_S} s, ${heap[0][1].toFixed(1)} → ${heap[heap.length - 1][1].toFixed(1)} MB)`);
  }
  console.log(`  ${p99Verdict(p99PerMinute, keptUpPerMinute)}`);
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
