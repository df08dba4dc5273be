// npm run bench:observability — what metrics and the audit trail cost per action, in CPU time of
// this process: the action node's metrics hook (actions counter, event→action histogram), the
// REST client's hook for the two requests a lock makes, and the audit record (built, encoded and
// appended to a JSON-lines file, batched as the qumulo-audit node does). Run with
// QUMULO_FLOW_METRICS=off to see the audit share alone. The Redis transport's share is measured by
// running bench:redis with and without QUMULO_FLOW_METRICS=off (see the README).
//
// Environment: BENCH_ACTIONS (200000), BENCH_BATCH (100: results appended per batch, like messages
// arriving together).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditLog, auditRecordsOf } from '../core/audit';
import { countRedis, countRedisAppended, metricsEnabled, observeRest, recordActionResult } from '../core/metrics';
import { ranOn } from './ran-on';

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function main(): Promise<void> {
  const total = Number(process.env.BENCH_ACTIONS ?? 200_000);
  const batch = Number(process.env.BENCH_BATCH ?? 100);
  console.log(`bench:observability on ${ranOn()}: ${total} lock results, metrics ${metricsEnabled ? 'on' : 'off'}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-bench-audit-'));
  const log = new AuditLog({ dir });
  const messages = Array.from({ length: batch }, (_, i) => ({
    _msgid: `m${i}`,
    payload: { type: 'child_file_added', path: `/data/incoming/file-${i}.pdf`, fileId: String(1000 + i), watchId: 'bench', seq: i, receivedAt: Date.now() },
    rules: [{ name: 'lock-pdfs' }],
    redis: { stream: 'qumulo:events', id: `1760000000000-${i}` },
    result: { action: 'lock', path: `/data/incoming/file-${i}.pdf`, outcome: 'done', detail: 'locked until 2027-01-01T00:00:00Z', durationMs: 3, fileId: String(1000 + i), retention: '2027-01-01T00:00:00Z', legalHold: false },
  }));
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
        observeRest('GET', `/v1/files/${encodeURIComponent(msg.payload.path)}/info/attributes`, 200, 0.002);
        observeRest('PATCH', `/v1/files/${encodeURIComponent(msg.payload.path)}/file-lock`, 200, 0.003);
        recordActionResult('lock-node', '10.0.0.1:8000', msg.result, msg.payload);
      }
      const a0 = cpuMicros();
      metricsCpu += a0 - m0;
      const writes = messages.map((msg) => log.append(auditRecordsOf(msg, 'audit-node')));
      await Promise.all(writes);
      auditCpu += cpuMicros() - a0;
    }
    if (phase === 'measured') {
      console.log(`  metrics hooks        ${(metricsCpu / n).toFixed(2)} µs CPU per action (1 action result + 2 REST requests)`);
      console.log(`  audit record         ${(auditCpu / n).toFixed(2)} µs CPU per action (built, encoded, appended; batches of ${batch})`);
      console.log(`  together             ${((metricsCpu + auditCpu) / n).toFixed(2)} µs CPU per action; wall ${((Date.now() - wallStart) / 1000).toFixed(1)} s`);
    }
  }
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });

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
    if (pass === 1) console.log(`  Redis transport hooks ${(((cpuMicros() - r0) / events) * 1000).toFixed(0)} ns CPU per event (appended, read, acked)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
