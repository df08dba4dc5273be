// Lock throughput: 5,000 files locked through the qumulo-lock node in a real (embedded) Node-RED
// runtime, against the simulator with 10 ms added to every REST answer, compared with a serial
// client doing the same work one file at a time the way Qumulo's filelock script (qfs_filelock.py)
// does: read the file's attributes (skip directories), then PATCH its lock — 2 requests per file,
// through the same HTTP client limited to one request at a time. Our own lock action run serially
// (1 request for a file just added) is printed too: against it, 64 in flight can be at most 64×.
//   npm run bench:actions
// Settings (env): BENCH_FILES (5000), BENCH_SERIAL_FILES (300: the serial run is measured on a
// subset, its rate does not depend on the count), BENCH_LATENCY_MS (10), BENCH_CONCURRENCY (64:
// the cluster node's "max concurrency"; the default of 8 caps a 10 ms cluster at ~400 locks/s).
// The throughput phase sends child_file_added events: a file just reported as added cannot be
// locked yet, so each lock is ONE request (the PATCH; the answer says if it was locked already).
// A second phase, the burst, sends what a watch reports for BENCH_BURST_FILES (500) files each
// written in 10 chunks (added, then 10 × data written + size changed = 21 events per file) and
// counts the REST requests per locked file. BENCH_PROFILE=file.cpuprofile profiles the first
// measured run (BENCH_HEAP_PROFILE=1: sampled allocations instead).
// Before the measured runs, BENCH_WARMUP_FILES (5000) other files go through the same node (the
// first locks after a start pay for compiling the code and opening connections; printed too);
// then BENCH_RUNS (3) runs of BENCH_FILES, median reported: the machine is shared and one run's
// figures move with the other load. CPU per lock is this whole process's CPU (process.cpuUsage).
// The bench prints both ceilings — concurrency × latency / requests per lock, and one Node-RED
// thread's CPU — and which of them applies.
// BENCH_AUDIT=1 adds what the audit option costs per lock (issue 20: ≤ 10 µs per action): after
// the measured runs, BENCH_AUDIT_PAIRS (6) pairs of runs of BENCH_FILES through the same lock
// node's twin with "record each result in the audit trail" on and off, the order swapped each
// pair; the median (and mean ± 95 %) of the pairs' differences in CPU per lock, and every record counted on
// disk. Every measured run starts after a full garbage collection (see collectGarbage).
// The pairs run twice: all files sent at once (a burst), then one file every
// BENCH_AUDIT_SPACING_MS (2) ms, BENCH_AUDIT_SPACED_FILES (1000) per run (lone actions in a
// process that idles in between: what each wake-up costs shows there).

import { Session } from 'node:inspector';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { QumuloEvent } from '../core/event';
import { createLockAction, runAction } from '../core/actions';
import { AuditLog } from '../core/audit';
import { parseRetentionSpec } from '../core/time/duration';
import { QumuloClient, type QumuloClientOptions } from '../core/qumulo/client';
import { clearSinks, sendTo, sinkMessages, startRuntimeReady, waitFor, writeSinkNode } from '../test/support/actions';
import { ranOn } from './ran-on';
import { startSimProcess } from './sim-process';
import { meanWithInterval, median } from './stats';

const FILES = Number(process.env.BENCH_FILES ?? 5000);
/** Locked through the same node first, so the measured run sees warm code and open connections. */
const WARMUP_FILES = Number(process.env.BENCH_WARMUP_FILES ?? 5000);
/** Measured runs of BENCH_FILES each (other files each time); the median is the figure (shared machine). */
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const SERIAL_FILES = Number(process.env.BENCH_SERIAL_FILES ?? 300);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
/** BENCH_PROFILE=file.cpuprofile: CPU profile of the Node-RED process during the node phase only. */
const PROFILE = process.env.BENCH_PROFILE;
/** BENCH_HEAP_PROFILE=1 (with BENCH_PROFILE=file.heapprofile): sampled allocations instead of CPU. */
const HEAP_PROFILE = process.env.BENCH_HEAP_PROFILE === '1';
const BURST_FILES = Number(process.env.BENCH_BURST_FILES ?? 500);
const BURST_CHUNKS = 10;
const AUDIT = process.env.BENCH_AUDIT === '1';
const AUDIT_PAIRS = Math.max(1, Number(process.env.BENCH_AUDIT_PAIRS ?? 6));
const AUDIT_SPACING_MS = Number(process.env.BENCH_AUDIT_SPACING_MS ?? 2);
const AUDIT_SPACED_FILES = Number(process.env.BENCH_AUDIT_SPACED_FILES ?? 1000);
/** BENCH_AUDIT_PROFILE_DIR: a CPU profile of every measured run of the pairs, one file each. */
const AUDIT_PROFILE_DIR = process.env.BENCH_AUDIT_PROFILE_DIR;

/**
 * A full garbage collection on demand (no --expose-gc needed on the command line). Each measured
 * run of the audit pairs starts from a collected heap: a major collection owed by the run before
 * (~100 ms of CPU here) would otherwise land in a random run and swamp a difference of µs per lock.
 */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

function post<T>(session: Session, method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));
}

const name = (prefix: string, i: number) => `${prefix}/f${String(i).padStart(5, '0')}.dat`;

/** CPU seconds (user + system) a child process has used so far, from /proc (Linux). */
function childCpuSeconds(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100/s)
  } catch {
    return NaN;
  }
}

/** An event for `/rel` as the watch node would emit it (no file id: the lock goes by path). */
function eventOf(rel: string, type: QumuloEvent['type'] = 'child_file_added', seq = 0): QumuloEvent {
  const file = rel.slice(rel.lastIndexOf('/') + 1);
  return {
    type,
    path: '/' + rel,
    relativePath: rel,
    name: file,
    extension: 'dat',
    parentDir: '/' + rel.slice(0, rel.lastIndexOf('/')),
    fileId: null,
    spine: [],
    isDirectory: false,
    streamName: null,
    watchId: 'bench',
    watchRoot: '/',
    seq,
    receivedAt: Date.now(),
  };
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-bench-'));
  const auditDirs = AUDIT ? Array.from({ length: AUDIT_PAIRS * 4 }, (_, r) => `audit${r}`) : [];
  for (const dir of ['warmup', 'serial', 'serial-own', 'burst', ...Array.from({ length: RUNS }, (_, r) => `node${r}`), ...auditDirs]) fs.mkdirSync(path.join(root, dir));
  auditDirs.forEach((dir, r) => {
    for (let i = 0; i < (r < AUDIT_PAIRS * 2 ? FILES : AUDIT_SPACED_FILES); i++) fs.writeFileSync(path.join(root, name(dir, i)), 'x');
  });
  for (let i = 0; i < BURST_FILES; i++) fs.writeFileSync(path.join(root, name('burst', i)), 'x'.repeat(BURST_CHUNKS));
  for (let r = 0; r < RUNS; r++) for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(root, name(`node${r}`, i)), 'x');
  for (let i = 0; i < WARMUP_FILES; i++) fs.writeFileSync(path.join(root, name('warmup', i)), 'x');
  for (let i = 0; i < SERIAL_FILES; i++) fs.writeFileSync(path.join(root, name('serial', i)), 'x');
  for (let i = 0; i < SERIAL_FILES; i++) fs.writeFileSync(path.join(root, name('serial-own', i)), 'x');
  const sim = await startSimProcess(root, LATENCY_MS);
  const stopSim = () =>
    new Promise<void>((resolve) => {
      if (sim.child.exitCode !== null) return resolve();
      sim.child.once('exit', () => resolve());
      sim.child.kill('SIGTERM');
    });
  // Never leave the simulator process behind, whatever fails below.
  process.once('exit', () => sim.child.kill('SIGTERM'));
  const clientOptions = (extra: Partial<QumuloClientOptions> = {}): QumuloClientOptions => ({
    host: '127.0.0.1',
    port: sim.port,
    protocol: 'http',
    username: 'admin',
    password: 'admin',
    ...extra,
  });
  const sinkDir = writeSinkNode();
  clearSinks();
  const { runtime, userDir } = await startRuntimeReady({
    flows: [
      { id: 'tab', type: 'tab', label: 'bench' },
      { id: 'cluster', type: 'qumulo-cluster', name: 'sim', host: '127.0.0.1', port: String(sim.port), protocol: 'http', maxConcurrency: String(CONCURRENCY) },
      { id: 'lock', type: 'qumulo-lock', z: 'tab', cluster: 'cluster', retention: '1d', legalHold: 'leave', relockThreshold: '1d', x: 100, y: 100, wires: [['sink']] },
      { id: 'sink', type: 'qf-test-sink', z: 'tab', x: 300, y: 100, wires: [] },
      { id: 'lock-burst', type: 'qumulo-lock', z: 'tab', cluster: 'cluster', retention: '1d', legalHold: 'leave', relockThreshold: '1d', x: 100, y: 200, wires: [['sink-burst']] },
      { id: 'sink-burst', type: 'qf-test-sink', z: 'tab', x: 300, y: 200, wires: [] },
      ...(AUDIT
        ? [
            { id: 'lock-plain', type: 'qumulo-lock', z: 'tab', cluster: 'cluster', retention: '1d', legalHold: 'leave', relockThreshold: '1d', x: 100, y: 300, wires: [['sink-pairs']] },
            { id: 'lock-audited', type: 'qumulo-lock', z: 'tab', cluster: 'cluster', retention: '1d', legalHold: 'leave', relockThreshold: '1d', audit: true, x: 100, y: 400, wires: [['sink-pairs']] },
            { id: 'sink-pairs', type: 'qf-test-sink', z: 'tab', x: 300, y: 350, wires: [] },
          ]
        : []),
    ],
    credentials: { cluster: { username: 'admin', password: 'admin' } },
    extraNodesDirs: [sinkDir],
  });
  try {
    const clusterClient = (runtime.RED as unknown as { nodes: { getNode(id: string): { client: QumuloClient } } }).nodes.getNode('cluster').client;
    await clusterClient.whoAmI(); // logged in before the clock starts
    const results = sinkMessages('sink');
    // ---- warm-up: the same node, other files; measured too (a freshly started process) ----
    const warmCpuBefore = process.cpuUsage();
    const startedWarm = process.hrtime.bigint();
    for (let i = 0; i < WARMUP_FILES; i++) sendTo(runtime.RED, 'lock', { payload: eventOf(name('warmup', i)) });
    await waitFor(() => results.length >= WARMUP_FILES, `${WARMUP_FILES} warm-up lock results`, 600_000);
    const warmSeconds = Number(process.hrtime.bigint() - startedWarm) / 1e9;
    const warmCpu = process.cpuUsage(warmCpuBefore);
    results.length = 0;
    // ---- through the node, in Node-RED: RUNS runs of FILES files, all sent at once ----
    const runs: Array<{ seconds: number; cpuUs: number; simCpuS: number; requests: number }> = [];
    const loadBefore = os.loadavg()[0];
    const outcomes: Record<string, number> = {};
    let lockedOnSim = 0;
    for (let r = 0; r < RUNS; r++) {
      const events = Array.from({ length: FILES }, (_, i) => eventOf(name(`node${r}`, i)));
      results.length = 0;
      const session = PROFILE && r === 0 ? new Session() : null;
      if (session) {
        session.connect();
        if (HEAP_PROFILE) {
          await post(session, 'HeapProfiler.enable');
          // Every allocation sampled, also what the garbage collector has freed by the end.
          await post(session, 'HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
        } else {
          await post(session, 'Profiler.enable');
          await post(session, 'Profiler.start');
        }
      }
      const requestsBefore = clusterClient.stats.requests;
      const cpuBefore = process.cpuUsage();
      const simCpuBefore = childCpuSeconds(sim.child.pid);
      const startedNode = process.hrtime.bigint();
      for (const event of events) sendTo(runtime.RED, 'lock', { payload: event });
      await waitFor(() => results.length >= FILES, `${FILES} lock results`, 600_000);
      const seconds = Number(process.hrtime.bigint() - startedNode) / 1e9;
      const cpu = process.cpuUsage(cpuBefore);
      if (session && PROFILE) {
        const { profile } = await post<{ profile: unknown }>(session, HEAP_PROFILE ? 'HeapProfiler.stopSampling' : 'Profiler.stop');
        fs.writeFileSync(PROFILE, JSON.stringify(profile));
        session.disconnect();
      }
      runs.push({ seconds, cpuUs: (cpu.user + cpu.system) / FILES, simCpuS: childCpuSeconds(sim.child.pid) - simCpuBefore, requests: clusterClient.stats.requests - requestsBefore });
      for (const m of results) outcomes[m.result.outcome] = (outcomes[m.result.outcome] ?? 0) + 1;
      // Read every lock back from the simulator (not timed).
      const checkClient = new QumuloClient(clientOptions({ maxConcurrency: 32 }));
      const locks = await Promise.all(events.map((e) => checkClient.getAttributes(e.path, { retrieveLock: true })));
      await checkClient.close();
      lockedOnSim += locks.filter((a) => a.lock?.retention_period).length;
    }
    const cpuPerLockUs = median(runs.map((r) => r.cpuUs));
    const nodeRate = median(runs.map((r) => FILES / r.seconds));
    const nodeRequests = runs.reduce((sum, r) => sum + r.requests, 0);
    const cpuNote = `per run: Node-RED CPU ${runs.map((r) => r.cpuUs.toFixed(0)).join(' / ')} µs per lock, simulator process ${runs.map((r) => r.simCpuS.toFixed(1)).join(' / ')} s CPU`;

    // ---- burst: each file written in 10 chunks, every event of it reaches the lock node ----
    const burstResults = sinkMessages('sink-burst');
    const burstEvents: QumuloEvent[] = [];
    for (let i = 0; i < BURST_FILES; i++) burstEvents.push(eventOf(name('burst', i), 'child_file_added', 1));
    for (let chunk = 0; chunk < BURST_CHUNKS; chunk++) {
      for (let i = 0; i < BURST_FILES; i++) {
        burstEvents.push(eventOf(name('burst', i), 'child_data_written', 2 + chunk * 2), eventOf(name('burst', i), 'child_size_changed', 3 + chunk * 2));
      }
    }
    const burstRequestsBefore = clusterClient.stats.requests;
    for (const event of burstEvents) sendTo(runtime.RED, 'lock-burst', { payload: event });
    await waitFor(() => burstResults.length >= burstEvents.length, `${burstEvents.length} burst results`, 600_000);
    const burstRequests = clusterClient.stats.requests - burstRequestsBefore;
    const burstOutcomes: Record<string, number> = {};
    for (const m of burstResults) {
      const key = m.result.joined ? 'joined' : m.result.outcome;
      burstOutcomes[key] = (burstOutcomes[key] ?? 0) + 1;
    }
    const burstLocked = (burstOutcomes.done ?? 0);

    // ---- audit option: pairs of runs through twin lock nodes, with and without it ----
    let auditReport: string[] = [];
    if (AUDIT) {
      const pairResults = sinkMessages('sink-pairs');
      const auditDir = path.join(userDir, 'qumulo-flow-audit');
      const recordLines = (): number => (fs.existsSync(auditDir) ? fs.readdirSync(auditDir).reduce((n, f) => n + fs.readFileSync(path.join(auditDir, f), 'utf8').split('\n').length - 1, 0) : 0);
      // One run of each first, unmeasured: the twins' own first locks compile their paths.
      const pairRun = async (nodeId: string, dir: string, files = FILES, warmUp = false, spacingMs = 0): Promise<number> => {
        pairResults.length = 0;
        const session = AUDIT_PROFILE_DIR && !warmUp ? new Session() : null;
        if (session) {
          session.connect();
          await post(session, 'Profiler.enable');
          await post(session, 'Profiler.start');
        }
        if (!warmUp) {
          collectGarbage();
          await new Promise((resolve) => setImmediate(resolve));
        }
        const cpuBefore = process.cpuUsage();
        if (spacingMs > 0) {
          // One file every spacingMs, each sent from a timer of its own (chained: no catching up in bursts).
          for (let i = 0; i < files; i++) {
            sendTo(runtime.RED, nodeId, { payload: eventOf(name(dir, i)) });
            await new Promise((resolve) => setTimeout(resolve, spacingMs));
          }
        } else for (let i = 0; i < files; i++) sendTo(runtime.RED, nodeId, { payload: eventOf(name(dir, i)) });
        await waitFor(() => pairResults.length >= files, `${files} ${nodeId} results`, 600_000);
        const cpu = process.cpuUsage(cpuBefore);
        if (session) {
          const { profile } = await post<{ profile: unknown }>(session, 'Profiler.stop');
          fs.writeFileSync(path.join(AUDIT_PROFILE_DIR!, `${nodeId}-${spacingMs}ms-${dir}.cpuprofile`), JSON.stringify(profile));
          session.disconnect();
        }
        if (!warmUp && pairResults.some((m) => m.result.outcome !== 'done')) throw new Error(`${nodeId}: not every lock done`);
        return (cpu.user + cpu.system) / files;
      };
      // (the warm-up's files again: already locked, so skipped — a shorter path, enough to compile the twins')
      await pairRun('lock-plain', 'warmup', Math.min(WARMUP_FILES, 1000), true);
      await pairRun('lock-audited', 'warmup', Math.min(WARMUP_FILES, 1000), true);
      const recordsBefore = recordLines();
      let audited = 0;
      auditReport = [];
      for (const [label, files, spacing, offset] of [
        [`all ${FILES} files at once`, FILES, 0, 0],
        [`one file every ${AUDIT_SPACING_MS} ms, ${AUDIT_SPACED_FILES} per run`, AUDIT_SPACED_FILES, AUDIT_SPACING_MS, AUDIT_PAIRS * 2],
      ] as const) {
        if (files <= 0) continue;
        const plain: number[] = [];
        const withIt: number[] = [];
        const differences: number[] = [];
        // The lock node's own log (shared per directory, so this is the same object): its writes.
        const log = AuditLog.acquire({ dir: auditDir }, true);
        const writesBefore = log.writes;
        const auditedBefore = audited;
        for (let p = 0; p < AUDIT_PAIRS; p++) {
          const first = p % 2 === 0 ? 'lock-plain' : 'lock-audited';
          const second = first === 'lock-plain' ? 'lock-audited' : 'lock-plain';
          const a = await pairRun(first, `audit${offset + 2 * p}`, files, false, spacing);
          const b = await pairRun(second, `audit${offset + 2 * p + 1}`, files, false, spacing);
          const on = first === 'lock-audited' ? a : b;
          const off = first === 'lock-audited' ? b : a;
          withIt.push(on);
          plain.push(off);
          differences.push(on - off);
          audited += files;
        }
        const diff = median(differences);
        const { mean, halfWidth } = meanWithInterval(differences);
        const perWrite = (audited - auditedBefore) / Math.max(1, log.writes - writesBefore);
        await AuditLog.release(log, true);
        auditReport.push(
          `  audit option, ${label} (twin lock nodes, ${AUDIT_PAIRS} pairs, order swapped each pair): CPU per lock median ${median(plain).toFixed(0)} µs without, ${median(withIt).toFixed(0)} µs with`,
          `    difference per lock: median ${diff.toFixed(1)} µs, mean ${mean.toFixed(1)} ± ${halfWidth.toFixed(1)} µs (95 %) (pairs ${differences.map((d) => d.toFixed(1)).join(' / ')}); ${perWrite.toFixed(1)} records per write; ≤ 10 µs: ${diff <= 10 ? 'met' : 'NOT met'}; load ${os.loadavg()[0].toFixed(1)}`,
        );
      }
      const records = recordLines() - recordsBefore;
      auditReport.push(`    ${records} audit records written for ${audited} audited locks`);
      if (records !== audited) process.exitCode = 1;
    }

    // ---- serial, as qfs_filelock.py: one file at a time, read its attributes, then PATCH the lock ----
    const serialClient = new QumuloClient(clientOptions({ maxConcurrency: 1 }));
    await serialClient.getAttributes('/');
    const retention = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const serialRequestsBefore = serialClient.stats.requests;
    const startedSerial = process.hrtime.bigint();
    let serialDone = 0;
    for (let i = 0; i < SERIAL_FILES; i++) {
      const filePath = `/${name('serial', i)}`;
      const attrs = await serialClient.getAttributes(filePath);
      if (attrs.type === 'FS_FILE_TYPE_DIRECTORY') continue;
      await serialClient.setFileLock(filePath, { retention_period: retention });
      serialDone++;
    }
    const serialSeconds = Number(process.hrtime.bigint() - startedSerial) / 1e9;
    const serialRequests = serialClient.stats.requests - serialRequestsBefore;
    // ---- our own lock action, run serially on other files (1 request for a file just added) ----
    const action = createLockAction({ retention: parseRetentionSpec('1d'), legalHold: 'leave', extendThresholdMs: 86_400_000 });
    const startedOwn = process.hrtime.bigint();
    let ownDone = 0;
    for (let i = 0; i < SERIAL_FILES; i++) {
      const { result } = await runAction('lock', action, eventOf(name('serial-own', i)), { client: serialClient, dryRun: false });
      if (result.outcome === 'done') ownDone++;
    }
    const ownSeconds = Number(process.hrtime.bigint() - startedOwn) / 1e9;
    await serialClient.close();

    const serialRate = SERIAL_FILES / serialSeconds;
    const ownRate = SERIAL_FILES / ownSeconds;
    const ratio = nodeRate / serialRate;
    const requestsPerLock = nodeRequests / (FILES * RUNS);
    const burstPerFile = burstRequests / Math.max(1, burstLocked);
    console.log(`qumulo-flow lock benchmark — ${ranOn()} (simulator in its own process, +${LATENCY_MS} ms per REST answer; machine shared: figures vary with other load)`);
    if (WARMUP_FILES > 0) {
      console.log(`  warm-up (first ${WARMUP_FILES} locks after start: code not yet optimised, connections opening): ${(WARMUP_FILES / warmSeconds).toFixed(0)} locks/s, ${((warmCpu.user + warmCpu.system) / WARMUP_FILES).toFixed(0)} µs CPU per lock`);
    }
    console.log(`  through qumulo-lock in Node-RED${WARMUP_FILES > 0 ? ' after the warm-up' : ''}: ${RUNS} runs of ${FILES} files (all sent at once; cluster max concurrency ${CONCURRENCY})`);
    console.log(`    locks/s median ${nodeRate.toFixed(0)} (runs ${runs.map((r) => (FILES / r.seconds).toFixed(0)).join(' / ')}); machine load (1-min average) ${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after`);
    console.log(`    Node-RED CPU per lock: median ${cpuPerLockUs.toFixed(0)} µs (whole process: runtime, node, client, HTTP; the bench's own sending included); ${cpuNote}`);
    console.log(`    outcomes ${JSON.stringify(outcomes)}, locked on the simulator: ${lockedOnSim}/${FILES * RUNS}`);
    const concurrencyCeiling = (CONCURRENCY * 1000) / LATENCY_MS / Math.max(1, requestsPerLock);
    const cpuCeiling = 1e6 / cpuPerLockUs;
    const busyPercent = 100 * median(runs.map((r) => (r.cpuUs * FILES) / 1e6 / r.seconds));
    console.log(`    REST requests per lock: ${requestsPerLock.toFixed(2)} (${nodeRequests} for ${FILES * RUNS} files just added)`);
    console.log(
      `    ceilings: ${CONCURRENCY} in flight × ${LATENCY_MS} ms at ${requestsPerLock.toFixed(2)} requests per lock = ${concurrencyCeiling.toFixed(0)} locks/s; one Node-RED thread at ${cpuPerLockUs.toFixed(0)} µs per lock = ${cpuCeiling.toFixed(0)} locks/s → ` +
        (cpuCeiling < concurrencyCeiling ? 'the CPU ceiling is the lower one' : 'the concurrency ceiling is the lower one') +
        `; Node-RED was busy ${busyPercent.toFixed(0)} % of the time` +
        (busyPercent < 90 ? ' (below 100 %: the round trips, not its CPU, set the pace — the simulator and any other load share the machine\'s CPUs)' : ' (CPU-bound)'),
    );
    console.log(
      `  serial client as qfs_filelock.py (read attributes, then PATCH; one file at a time): ${SERIAL_FILES} files in ${serialSeconds.toFixed(2)} s = ${serialRate.toFixed(1)} locks/s ` +
        `(${serialDone} locked, ${(serialRequests / SERIAL_FILES).toFixed(2)} requests per file)`,
    );
    console.log(
      `  ratio: ${ratio.toFixed(1)}× that serial client (same run; the concurrency ceiling against it: ${CONCURRENCY} in flight × ${(serialRequests / SERIAL_FILES / Math.max(0.01, requestsPerLock)).toFixed(1)} = ${(CONCURRENCY * (serialRequests / SERIAL_FILES) / Math.max(0.01, requestsPerLock)).toFixed(0)}×, ` +
        `since the node needs ${requestsPerLock.toFixed(2)} requests per lock where it needs ${(serialRequests / SERIAL_FILES).toFixed(2)})`,
    );
    console.log(`  our lock action run serially (1 request for a file just added): ${ownRate.toFixed(1)} locks/s (${ownDone} done); the node is ${(nodeRate / ownRate).toFixed(1)}× that (at most ${CONCURRENCY}× with equal requests per lock)`);
    console.log(`  burst: ${BURST_FILES} files × (added + ${BURST_CHUNKS} chunks × data written + size changed) = ${burstEvents.length} events → ${JSON.stringify(burstOutcomes)}`);
    console.log(`    REST requests per locked file: ${burstPerFile.toFixed(2)} (${burstRequests} requests, ${burstLocked} files locked)`);
    const goals = [
      `CPU/lock <= 150 µs: ${cpuPerLockUs <= 150 ? 'met' : 'NOT met'}`,
      `>= 3,000 locks/s: ${nodeRate >= 3000 ? 'met' : 'NOT met'}`,
      `>= 70× the serial client: ${ratio >= 70 ? 'met' : 'NOT met'}`,
      `<= 1.2 requests per locked file in the burst: ${burstPerFile <= 1.2 ? 'met' : 'NOT met'}`,
    ];
    for (const line of auditReport) console.log(line);
    console.log(`  goals: ${goals.join('; ')}`);
    if (lockedOnSim !== FILES * RUNS || (outcomes.done ?? 0) !== FILES * RUNS || burstLocked !== BURST_FILES) process.exitCode = 1;
  } finally {
    await runtime.stop();
    await stopSim();
    fs.rmSync(sinkDir, { recursive: true, force: true });
    fs.rmSync(userDir, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
