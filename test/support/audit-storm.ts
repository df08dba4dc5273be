// The audit trail's durability scenario (issue 20), shared by test/system/audit-durability.test.ts (a
// few hundred locks) and bench/audit.ts (10,000): a real Node-RED process with
//   qumulo-redis-in → qumulo-lock → qumulo-audit
// (or, with recordBy 'lock option', qumulo-redis-in → qumulo-lock with its audit option on)
// against the simulator (with per-request latency, so the run lasts long enough to interrupt)
// and a real redis-server; the stream is seeded with one lock event per file; during the run the
// flow is redeployed (full deploys: every node restarts) and the process is killed with kill -9
// and started again. At the end the export for the run's time range must hold exactly one record
// per file (the files may hold more: at-least-once, repeats carry the same id).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { QumuloEvent } from '../../core/event';
import { createRedisClient, StreamWriter } from '../../core/redis';
import { exportAudit } from '../../core/audit';
import { NodeRedProcess } from './nr-process';
import { startRedisServer, uniquePrefix } from './redis-server';
import { startSim } from './sim';

export interface AuditStormOptions {
  total: number;
  /** Full deploys during the run. */
  deploys: number;
  /** kill -9 + restart during the run. */
  kills: number;
  /** Simulator latency per request, ms (default 10). */
  latencyMs?: number;
  /** The cluster node's request concurrency (default 4). */
  concurrency?: number;
  timeoutMs?: number;
  /**
   * The in node's max in flight (default 200). A full deploy lets the lock node finish what it
   * holds before it stops, so a short run needs a small window to still be mid-run after a deploy.
   */
  maxInFlight?: number;
  /** Who writes the records: a qumulo-audit node after the lock (default), or the lock node's own audit option. */
  recordBy?: 'audit node' | 'lock option';
  log?: (line: string) => void;
}

export interface AuditStormResult {
  total: number;
  /** Lines in the audit files (repeats included). */
  lines: number;
  /** Records the export returned for the run's time range (repeats dropped). */
  exported: number;
  /** Files with exactly one exported record. */
  filesOnce: number;
  duplicatesDropped: number;
  /** Audit lines written when each interruption happened (to show it was mid-run). */
  interruptions: Array<{ kind: 'deploy' | 'kill -9'; atLine: number }>;
  seconds: number;
}

function fileName(i: number): string {
  return `f-${String(i).padStart(5, '0')}.pdf`;
}

function lockEvent(i: number): QumuloEvent {
  const name = fileName(i);
  return {
    type: 'child_file_added',
    path: `/incoming/${name}`,
    relativePath: name,
    name,
    extension: 'pdf',
    parentDir: '/incoming',
    fileId: null,
    spine: [],
    isDirectory: false,
    streamName: null,
    watchId: 'audit-storm',
    watchRoot: '/incoming',
    seq: i,
    receivedAt: Date.now(),
  };
}

/** Newline count of every audit file in a directory. */
export function auditLines(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let lines = 0;
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('.jsonl')) continue;
    const data = fs.readFileSync(path.join(dir, name));
    for (let i = 0; i < data.length; i++) if (data[i] === 10) lines++;
  }
  return lines;
}

function flow(simPort: number, redisUrl: string, prefix: string, generation: number, concurrency: number, recordBy: AuditStormOptions['recordBy'], maxInFlight: number): unknown[] {
  const byOption = recordBy === 'lock option';
  return [
    { id: 'tab', type: 'tab', label: 'audit storm' },
    { id: 'qf-cluster', type: 'qumulo-cluster', host: '127.0.0.1', port: String(simPort), protocol: 'http', maxConcurrency: String(concurrency) },
    { id: 'qf-redis', type: 'qumulo-redis', url: redisUrl, keyPrefix: prefix },
    { id: 'in', type: 'qumulo-redis-in', z: 'tab', x: 150, y: 100, redis: 'qf-redis', stream: 'locks', group: 'audit', maxInFlight: String(maxInFlight), wires: [['lock']] },
    // The name changes with each deploy, so a full deploy really restarts every node.
    { id: 'lock', type: 'qumulo-lock', z: 'tab', x: 350, y: 100, name: `lock (generation ${generation})`, cluster: 'qf-cluster', retention: '1d', legalHold: 'leave', dryRun: false, audit: byOption, wires: [byOption ? [] : ['audit']] },
    ...(byOption ? [] : [{ id: 'audit', type: 'qumulo-audit', z: 'tab', x: 550, y: 100, name: `audit (generation ${generation})`, directory: '${AUDIT_DIR}', wires: [[]] }]),
  ];
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`audit storm: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function runAuditStorm(options: AuditStormOptions): Promise<AuditStormResult> {
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const files: Record<string, string> = { 'incoming/': '' };
  for (let i = 1; i <= options.total; i++) files[`incoming/${fileName(i)}`] = 'x';
  const sim = await startSim({ files, latencyMs: options.latencyMs ?? 10, watchDisk: false });
  const redis = await startRedisServer({ appendOnly: true });
  // The lock option writes to the default audit directory, under the state directory.
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-audit-'));
  const auditDir = options.recordBy === 'lock option' ? path.join(stateDir, 'qumulo-flow-audit') : stateDir;
  const prefix = uniquePrefix('audit');
  const concurrency = options.concurrency ?? 4;
  let nr: NodeRedProcess | undefined;
  const started = new Date();
  const t0 = Date.now();
  try {
    const client = createRedisClient({ url: redis.url, mode: 'standalone' });
    try {
      const writer = new StreamWriter(client, { maxBatch: 1000 });
      const appends: Promise<string>[] = [];
      for (let i = 1; i <= options.total; i++) appends.push(writer.append(`${prefix}locks`, lockEvent(i)));
      await Promise.all(appends);
    } finally {
      client.disconnect();
    }
    let generation = 1;
    nr = await NodeRedProcess.start({
      flows: flow(sim.port, redis.url, prefix, generation, concurrency, options.recordBy, options.maxInFlight ?? 200),
      credentials: { 'qf-cluster': { username: 'admin', password: 'admin' } },
      env: { AUDIT_DIR: auditDir, QUMULO_FLOW_STATE_DIR: stateDir },
    });
    const interruptions: AuditStormResult['interruptions'] = [];
    const steps = options.deploys + options.kills;
    for (let step = 1; step <= steps; step++) {
      // Spread the interruptions over the run: step k at k/(steps+1) of the records.
      const target = Math.floor((options.total * step) / (steps + 1));
      await until(() => auditLines(auditDir) >= target, timeoutMs, `${target} audit records`);
      const atLine = auditLines(auditDir);
      // Alternate: deploy, kill, deploy, kill … (deploys first while there are more of them).
      const kind: 'deploy' | 'kill -9' = interruptions.filter((i) => i.kind === 'deploy').length < options.deploys && (step % 2 === 1 || interruptions.filter((i) => i.kind === 'kill -9').length >= options.kills) ? 'deploy' : 'kill -9';
      interruptions.push({ kind, atLine });
      log(`${kind} at ${atLine} audit lines`);
      if (kind === 'deploy') {
        generation++;
        await nr.deploy(flow(sim.port, redis.url, prefix, generation, concurrency, options.recordBy, options.maxInFlight ?? 200), 'full');
      } else {
        await nr.kill();
        await nr.restart();
      }
    }
    // Done when every file has a record (the export drops repeats).
    let exported = 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (auditLines(auditDir) >= options.total) {
        const result = await exportAudit(auditDir, { from: started, to: new Date(Date.now() + 1000), pathPrefix: '/incoming' });
        exported = result.records.length;
        if (exported >= options.total) break;
      }
      if (Date.now() > deadline) throw new Error(`audit storm: ${exported} of ${options.total} files recorded after ${timeoutMs} ms\n${nr.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const seconds = (Date.now() - t0) / 1000;
    await nr.stop();
    nr = undefined;
    const final = await exportAudit(auditDir, { from: started, to: new Date(Date.now() + 1000), pathPrefix: '/incoming' });
    const perFile = new Map<string, number>();
    for (const record of final.records) perFile.set(record.path, (perFile.get(record.path) ?? 0) + 1);
    let filesOnce = 0;
    for (let i = 1; i <= options.total; i++) if (perFile.get(`/incoming/${fileName(i)}`) === 1) filesOnce++;
    return { total: options.total, lines: auditLines(auditDir), exported: final.records.length, filesOnce, duplicatesDropped: final.duplicates, interruptions, seconds };
  } finally {
    await nr?.stop();
    await redis.stop();
    await sim.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
