// npm run bench:observability — what metrics and the audit trail cost per action, in CPU time of
// this process: the action node's metrics hook (actions counter, event→action histogram), the
// REST client's hook for the two requests a lock makes, and the audit record (built, encoded and
// appended to a JSON-lines file the way the qumulo-audit node does, through the log's group
// commit). Two arrival patterns:
//   together      BENCH_BATCH results (100) arrive in the same turn of the event loop (a burst);
//   one at a time each result arrives in a turn of its own, about 1 ms apart (a chained 1 ms timer,
//                 ~900/s: roughly the rate bench:actions locks at), and is not waited for before
//                 the next comes (the action node does not wait for the audit node). Its cost is the
//                 process's CPU over the run minus the same arrivals with nothing done (timers
//                 alone), in rounds alternated so a busy moment hits both alike; median of the rounds,
//                 with group commit (the log's default window) and without it (a write per turn, as before).
// The wait group commit adds before a record's callback is printed too (median, p99, max).
// Run with QUMULO_FLOW_METRICS=off to see the audit share alone. The Redis transport's share is
// measured by bench:redis (BENCH_OVERHEAD=1, see the README).
//
// Environment: BENCH_ACTIONS (200000, the "together" part), BENCH_BATCH (100), BENCH_ARRIVALS
// (3000 per round of the one-at-a-time part), BENCH_ROUNDS (5), BENCH_GROUP_MS (the window, 4).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AuditLog, auditRecordsOf } from '../core/audit';
import { countRedis, countRedisAppended, metricsEnabled, observeRest, recordActionResult } from '../core/metrics';
import { ranOn } from './ran-on';

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

type LockMessage = ReturnType<typeof lockMessage>;

function lockMessage(i: number) {
  return {
    _msgid: `m${i}`,
    payload: { type: 'child_file_added', path: `/data/incoming/file-${i}.pdf`, fileId: String(1000 + i), watchId: 'bench', seq: i, receivedAt: Date.now() },
    rules: [{ name: 'lock-pdfs' }],
    redis: { stream: 'qumulo:events', id: `1760000000000-${i}` },
    result: { action: 'lock', path: `/data/incoming/file-${i}.pdf`, outcome: 'done', detail: 'locked until 2027-01-01T00:00:00Z', durationMs: 3, fileId: String(1000 + i), retention: '2027-01-01T00:00:00Z', legalHold: false },
  };
}

/** The metrics hooks one lock pays: its two REST requests and its result. */
function metricsHooks(msg: LockMessage): void {
  observeRest('GET', `/v1/files/${encodeURIComponent(msg.payload.path)}/info/attributes`, 200, 0.002);
  observeRest('PATCH', `/v1/files/${encodeURIComponent(msg.payload.path)}/file-lock`, 200, 0.003);
  recordActionResult('lock-node', '10.0.0.1:8000', msg.result, msg.payload);
}

async function together(dir: string, total: number, batch: number, groupCommitMs: number): Promise<void> {
  const log = new AuditLog({ dir, groupCommitMs });
  const messages = Array.from({ length: batch }, (_, i) => lockMessage(i));
  // Warm-up (JIT), then measured.
  for (const phase of ['warm-up', 'measured'] as const) {
    const n = phase === 'warm-up' ? Math.min(20_000, total) : total;
    let metricsCpu = 0;
    let auditCpu = 0;
    const wallStart = Date.now();
    for (let done = 0; done < n; done += batch) {
      const m0 = cpuMicros();
      for (const msg of messages) {
        msg.payload.seq = done;
        metricsHooks(msg);
      }
      const a0 = cpuMicros();
      metricsCpu += a0 - m0;
      await new Promise<void>((resolve, reject) => {
        let left = messages.length;
        for (const msg of messages) log.appendThen(auditRecordsOf(msg, 'audit-node'), (err) => (err ? reject(err) : --left === 0 && resolve()));
      });
      auditCpu += cpuMicros() - a0;
    }
    if (phase === 'measured') {
      console.log(`together (${batch} results per turn of the event loop, ${n} results):`);
      console.log(`  metrics hooks        ${(metricsCpu / n).toFixed(2)} µs CPU per action (1 action result + 2 REST requests)`);
      console.log(`  audit record         ${(auditCpu / n).toFixed(2)} µs CPU per action (built, encoded, appended)`);
      console.log(`  together             ${((metricsCpu + auditCpu) / n).toFixed(2)} µs CPU per action; wall ${((Date.now() - wallStart) / 1000).toFixed(1)} s`);
    }
  }
  await log.close();
}

interface RoundResult {
  cpu: number;
  seconds: number;
  waits: number[];
}

/**
 * `count` results, each in a turn of its own (a chained 1 ms timer), not waiting for the previous
 * one's record. With `log`, each pays the metrics hooks and the audit record; without, nothing.
 */
async function oneAtATimeRound(count: number, log: AuditLog | null, spaced: boolean): Promise<RoundResult> {
  const msg = lockMessage(0);
  // ~1 ms apart (the process sleeps in between), or back to back (a busy process: each result
  // still in a turn of its own).
  const next = spaced ? (f: () => void) => setTimeout(f, 1) : (f: () => void) => setImmediate(f);
  const waits: number[] = [];
  const start = Date.now();
  const cpu0 = cpuMicros();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let recorded = 0;
    const arrive = (): void => {
      sent++;
      msg.payload.seq = sent;
      if (log) {
        metricsHooks(msg);
        const appendedAt = performance.now();
        log.appendThen(auditRecordsOf(msg, 'audit-node'), (err) => {
          if (err) return reject(err);
          waits.push(performance.now() - appendedAt);
          if (++recorded === count) resolve();
        });
      } else if (sent === count) resolve();
      if (sent < count) next(arrive);
    };
    next(arrive);
  });
  if (log) await log.whenIdle();
  const cpu = cpuMicros() - cpu0;
  return { cpu, seconds: (Date.now() - start) / 1000, waits };
}

async function oneAtATime(dir: string, arrivals: number, rounds: number, groupCommitMs: number, spaced: boolean): Promise<void> {
  const grouped = new AuditLog({ dir: path.join(dir, `grouped-${spaced}`), groupCommitMs });
  const single = new AuditLog({ dir: path.join(dir, `single-${spaced}`), groupCommitMs: 0 });
  // Warm-up, then rounds alternating the three cases.
  await oneAtATimeRound(300, null, spaced);
  await oneAtATimeRound(300, grouped, spaced);
  await oneAtATimeRound(300, single, spaced);
  const cost = { grouped: [] as number[], single: [] as number[] };
  const base: number[] = [];
  const waits = { grouped: [] as number[], single: [] as number[] };
  const writes = { grouped: 0, single: 0 };
  let seconds = 0;
  for (let round = 1; round <= rounds; round++) {
    const nothing = await oneAtATimeRound(arrivals, null, spaced);
    const groupedWrites = grouped.writes;
    const withGroup = await oneAtATimeRound(arrivals, grouped, spaced);
    writes.grouped += grouped.writes - groupedWrites;
    const singleWrites = single.writes;
    const withoutGroup = await oneAtATimeRound(arrivals, single, spaced);
    writes.single += single.writes - singleWrites;
    base.push(nothing.cpu / arrivals);
    cost.grouped.push((withGroup.cpu - nothing.cpu) / arrivals);
    cost.single.push((withoutGroup.cpu - nothing.cpu) / arrivals);
    waits.grouped.push(...withGroup.waits);
    waits.single.push(...withoutGroup.waits);
    seconds += withGroup.seconds;
    console.log(
      `  ${spaced ? 'spaced' : 'back to back'} round ${round}: arrivals alone ${(nothing.cpu / arrivals).toFixed(1)} µs/arrival; added by metrics + audit: group commit ${cost.grouped[round - 1].toFixed(2)} µs, ` +
        `a write per turn ${cost.single[round - 1].toFixed(2)} µs; load ${os.loadavg()[0].toFixed(1)}`,
    );
  }
  await grouped.close();
  await single.close();
  const spread = (values: number[]) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
  const waitText = (values: number[]) => {
    const sorted = values.slice().sort((a, b) => a - b);
    return `median ${quantile(sorted, 0.5).toFixed(2)} ms, p99 ${quantile(sorted, 0.99).toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms`;
  };
  const rate = (arrivals * rounds) / seconds;
  const total = arrivals * rounds;
  console.log(
    `one at a time, ${spaced ? '~1 ms apart' : 'back to back'} (${arrivals} results per round, each in a turn of its own, ~${Math.round(rate).toLocaleString('en-US')}/s, ${rounds} rounds; ` +
      `the arrivals alone ${median(base).toFixed(1)} µs CPU each):`,
  );
  console.log(
    `  group commit (${groupCommitMs} ms)  ${median(cost.grouped).toFixed(2)} µs CPU per action (median; rounds ${spread(cost.grouped)}); ` +
      `${(total / Math.max(1, writes.grouped)).toFixed(1)} records per write; append → written ${waitText(waits.grouped)}`,
  );
  console.log(
    `  a write per turn     ${median(cost.single).toFixed(2)} µs CPU per action (median; rounds ${spread(cost.single)}); ` +
      `${(total / Math.max(1, writes.single)).toFixed(1)} records per write; append → written ${waitText(waits.single)}`,
  );
  const met = median(cost.grouped) <= 10;
  console.log(`  goal ≤ 10 µs CPU per action one at a time: ${met ? 'met' : 'NOT met'}`);
}

async function main(): Promise<void> {
  const total = Number(process.env.BENCH_ACTIONS ?? 200_000);
  const batch = Number(process.env.BENCH_BATCH ?? 100);
  const arrivals = Number(process.env.BENCH_ARRIVALS ?? 3000);
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
  const groupCommitMs = Number(process.env.BENCH_GROUP_MS ?? 4);
  console.log(`bench:observability on ${ranOn()}: lock results, metrics ${metricsEnabled ? 'on' : 'off'}, group commit window ${groupCommitMs} ms; load ${os.loadavg()[0].toFixed(1)}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-bench-audit-'));
  try {
    await together(path.join(dir, 'together'), total, batch, groupCommitMs);
    await oneAtATime(dir, arrivals * 10, rounds, groupCommitMs, false);
    await oneAtATime(dir, arrivals, rounds, groupCommitMs, true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // The Redis transport's hooks per event: appended (once per batch of 500 in the writer), read and
  // acked (once per entry in the consumer) — what bench:redis's events pay for metrics.
  const events = total * 10;
  for (let pass = 0; pass < 2; pass++) {
    const r0 = cpuMicros();
    for (let i = 0; i < events; i++) {
      if (i % 500 === 0) countRedisAppended('qumulo:events', 500);
      countRedis('read', 'qumulo:events', 'qumulo-flow');
      countRedis('acked', 'qumulo:events', 'qumulo-flow');
    }
    if (pass === 1) console.log(`Redis transport hooks ${(((cpuMicros() - r0) / events) * 1000).toFixed(0)} ns CPU per event (appended, read, acked)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
