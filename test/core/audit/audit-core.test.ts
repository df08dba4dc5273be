// core/audit without Node-RED: records from action results (ids stable for a repeat), the
// JSON-lines day files (continue after a restart, roll over by size, old days deleted), the
// export (time range, path prefix, repeats and torn lines dropped) and CSV escaping.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AuditLog, ResultRecorder, auditRecordsOf, exportAudit, matchesPrefix, toCsv } from '../../../core/audit';

function lockMessage(seq: number, redisId = `1760000000000-${seq}`) {
  return {
    _msgid: `m${seq}`,
    payload: { type: 'child_file_added', path: `/data/in/f-${seq}.pdf`, fileId: String(100 + seq), watchId: 'w', seq, receivedAt: 1 },
    rules: [{ name: 'lock-pdfs', actions: ['lock'] }],
    redis: { stream: 'qumulo:events', id: redisId },
    results: [
      { action: 'quarantine', path: `/data/in/f-${seq}.pdf`, outcome: 'done', detail: 'moved', durationMs: 2, target: `/q/f-${seq}.pdf` },
      { action: 'lock', path: `/q/f-${seq}.pdf`, outcome: 'done', detail: 'locked', durationMs: 3, retention: '2027-01-01T00:00:00Z' },
    ],
  };
}

describe('audit core (core/audit)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-audit-core-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('makes one record per action result, with the rule, parameters and the Redis entry; a repeat has the same ids', () => {
    const records = auditRecordsOf(lockMessage(1), 'audit-1', new Date('2026-12-07T10:00:00Z'));
    assert.equal(records.length, 2);
    assert.deepEqual(records.map((r) => [r.action, r.path, r.outcome]), [['quarantine', '/data/in/f-1.pdf', 'done'], ['lock', '/q/f-1.pdf', 'done']]);
    assert.deepEqual(records[1].parameters, { retention: '2027-01-01T00:00:00Z' });
    assert.deepEqual(records[0].rules, ['lock-pdfs']);
    assert.equal(records[0].redisId, '1760000000000-1');
    assert.equal(records[0].time, '2026-12-07T10:00:00.000Z');
    const again = auditRecordsOf(lockMessage(1), 'audit-2', new Date('2026-12-07T11:00:00Z'));
    assert.deepEqual(again.map((r) => r.id), records.map((r) => r.id));
    assert.notEqual(auditRecordsOf(lockMessage(2), 'audit-1')[0].id, records[0].id);
    assert.deepEqual(auditRecordsOf({ payload: {} }, 'a'), []);
  });

  it('group commit: results arriving back to back in separate turns share a write, each called back only once its record is in the file, within the window; sparse results are written at once', async () => {
    const log = new AuditLog({ dir, groupCommitMs: 20 });
    const fileText = () => fs.readdirSync(dir).map((name) => fs.readFileSync(path.join(dir, name), 'utf8')).join('');
    // A first record after a quiet spell goes out at once (in the next turn, no window to wait).
    const firstAt = Date.now();
    await log.append(auditRecordsOf(lockMessage(1), 'a'));
    assert.ok(Date.now() - firstAt < 15, `a lone record waited ${Date.now() - firstAt} ms`);
    assert.equal(log.writes, 1);
    /** Appends results i, i+1 … each in a turn of its own, `gapMs` apart (0: back to back), not waiting for each other; resolves with each one's wait. */
    const oneAtATime = (from: number, count: number, gapMs: number) =>
      new Promise<number[]>((resolve, reject) => {
        const waits: number[] = [];
        let left = count;
        const next = (i: number) => {
          const records = auditRecordsOf(lockMessage(i), 'a');
          const appendedAt = performance.now();
          log.appendThen(records, (err) => {
            if (err) return reject(err);
            waits.push(performance.now() - appendedAt);
            // Called back only once its own record can be read from the file.
            if (!fileText().includes(records[1].id)) reject(new Error(`record ${i} called back before it was written`));
            if (--left === 0) resolve(waits);
          });
          if (i + 1 < from + count) {
            if (gapMs === 0) setImmediate(() => next(i + 1));
            else setTimeout(() => next(i + 1), gapMs);
          }
        };
        next(from);
      });
    // Ten results back to back (a busy process): they share writes.
    const busyWaits = await oneAtATime(2, 10, 0);
    assert.equal(busyWaits.length, 10);
    assert.ok(log.writes - 1 <= 3, `10 records back to back took ${log.writes - 1} writes`);
    // The window bounds the wait (timer slack allowed on a loaded machine).
    assert.ok(Math.max(...busyWaits) < 20 + 40, `waits ${busyWaits.join(', ')} ms`);
    // Five results 3 ms apart (an idle process between results): each written at once, without
    // waiting for the window's timer (which would be a wake-up of its own).
    await new Promise((resolve) => setTimeout(resolve, 30));
    const writesBefore = log.writes;
    const sparseWaits = await oneAtATime(12, 5, 3);
    assert.equal(log.writes - writesBefore, 5, 'sparse records are not held for a group');
    assert.ok(Math.max(...sparseWaits) < 10, `sparse records waited ${sparseWaits.map((w) => w.toFixed(1)).join(', ')} ms (the window is 20 ms)`);
    await log.close();
    assert.equal(fileText().trim().split('\n').length, 32);
  });

  it('a shared log takes the settings of its configured user (a qumulo-audit node), not of a user that takes it as found (the action nodes\' option), whoever opened it; records after the last user left fail', async () => {
    fs.writeFileSync(path.join(dir, 'audit-2000-01-01.jsonl'), '{}\n'); // far past the default 400 days
    const recorder = ResultRecorder.open(dir, 'lock-node'); // opens the log first, with no settings of its own
    const configured = AuditLog.acquire({ dir, retentionDays: 0 }); // "keep forever"
    assert.equal(configured, recorder.log, 'one log per directory');
    await configured.append(auditRecordsOf(lockMessage(1), 'audit-node'));
    assert.ok(fs.existsSync(path.join(dir, 'audit-2000-01-01.jsonl')), 'kept: the configured retention (forever) applies, not the default 400 days');
    await AuditLog.release(configured);
    await recorder.close();
    const late = await new Promise<Error | null>((resolve) => recorder.recordNewest(lockMessage(2), resolve));
    assert.match(String(late?.message), /closed/);
  });

  it('appends to day files, continues the day after a restart, rolls over by size, and deletes days past the retention', async () => {
    let now = new Date('2026-12-06T23:59:59Z');
    fs.writeFileSync(path.join(dir, 'audit-2025-01-01.jsonl'), '{}\n');
    const log = new AuditLog({ dir, maxFileBytes: 4096, retentionDays: 30, now: () => now });
    await log.append(auditRecordsOf(lockMessage(1), 'a', now));
    now = new Date('2026-12-07T00:00:01Z');
    for (let i = 2; i <= 20; i++) await log.append(auditRecordsOf(lockMessage(i), 'a', now));
    await log.close();
    const restarted = new AuditLog({ dir, maxFileBytes: 4096, retentionDays: 30, now: () => now });
    await restarted.append(auditRecordsOf(lockMessage(21), 'a', now));
    await restarted.close();
    const names = fs.readdirSync(dir).sort();
    assert.ok(!names.includes('audit-2025-01-01.jsonl'), 'expired day not deleted');
    assert.ok(names.includes('audit-2026-12-06.jsonl'));
    assert.ok(names.includes('audit-2026-12-07.jsonl') && names.includes('audit-2026-12-07.1.jsonl'), names.join(' '));
    for (const name of names) assert.ok(fs.statSync(path.join(dir, name)).size <= 4096 + 2048, `${name} too large`);
    const all = await exportAudit(dir, { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2026-12-08T00:00:00Z') });
    assert.equal(all.records.length, 42);
  });

  it('exports a time range and a path prefix, drops repeats and torn lines', async () => {
    const log = new AuditLog({ dir, now: () => new Date('2026-12-07T12:00:00Z') });
    await log.append([...auditRecordsOf(lockMessage(1), 'a', new Date('2026-12-07T09:00:00Z')), ...auditRecordsOf(lockMessage(2), 'a', new Date('2026-12-07T12:00:00Z'))]);
    await log.append(auditRecordsOf(lockMessage(2), 'a', new Date('2026-12-07T12:00:05Z'))); // a redelivery
    await log.close();
    fs.appendFileSync(path.join(dir, 'audit-2026-12-07.jsonl'), '{"id":"torn","ti'); // killed mid-write
    const range = { from: new Date('2026-12-07T10:00:00Z'), to: new Date('2026-12-07T13:00:00Z') };
    const result = await exportAudit(dir, range);
    assert.deepEqual(result.records.map((r) => r.path), ['/data/in/f-2.pdf', '/q/f-2.pdf']);
    assert.equal(result.duplicates, 2);
    assert.equal(result.skippedLines, 1);
    assert.deepEqual((await exportAudit(dir, { ...range, pathPrefix: '/q' })).records.map((r) => r.path), ['/q/f-2.pdf']);
    assert.deepEqual((await exportAudit(dir, { ...range, pathPrefix: '/q/f-2' })).records, []);
    assert.equal((await exportAudit(dir, { ...range, limit: 1 })).truncated, true);
    assert.ok(matchesPrefix('/a/b', '/a/b/') && matchesPrefix('/a/b/c', '/a/b') && !matchesPrefix('/a/bc', '/a/b') && matchesPrefix('/x', ''));
  });

  it('writes CSV with quoted fields and neutralised formulas', () => {
    const [record] = auditRecordsOf({ ...lockMessage(1), results: [{ action: 'rename', path: '/d/=HYPERLINK("x")', outcome: 'failed', detail: 'said "no"', durationMs: 1, error: { message: 'boom' } }] }, 'a');
    const csv = toCsv([record]).split('\r\n');
    assert.match(csv[0], /^id,time,action,outcome,path,fileId,detail,parameters,rules,dryRun,error,/);
    assert.match(csv[1], /,"rename","failed","\/d\/=HYPERLINK\(""x""\)",/);
    assert.match(csv[1], /"said ""no"""/);
    assert.match(csv[1], /"boom"/);
    const [formula] = auditRecordsOf({ payload: {}, result: { action: 'lock', path: '=cmd', outcome: 'done', detail: '', durationMs: 0 } }, 'a');
    assert.match(toCsv([formula]), /"'=cmd"/);
  });
});
