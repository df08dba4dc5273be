// Progress of a long heal (issue 17.6) against the real simulator: a tree walk counts every entry it
// lists, takes its estimate from the directory's aggregates (one call), reports a rate, and is
// throttled; a snapshot diff counts diff entries with no estimate; a cluster that offers no count
// leaves the estimate out instead of failing the heal.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { CheckpointKeeper } from '../../../core/heal/checkpoints';
import { healByDiff } from '../../../core/heal/diff';
import { LiveLedger } from '../../../core/heal/ledger';
import { entriesFromAggregates, estimateWalk, formatHealProgress, type HealProgress, ProgressMeter } from '../../../core/heal/progress';
import { QumuloClient } from '../../../core/qumulo/client';
import { startSim, type TestSim } from '../../support/sim';
import { duringOutage, numbered, startHarness, writeFiles } from '../../support/heal';

describe('gap healing progress (simulator)', function () {
  this.timeout(30_000);
  let sim: TestSim;
  let client: QumuloClient;

  beforeEach(async () => {
    sim = await startSim({ files: { 'data/a/one.txt': '1', 'data/b/two.txt': '2', 'data/b/c/three.txt': '3', 'other/x.txt': 'x' } });
    client = new QumuloClient(sim.clientOptions());
  });
  afterEach(async () => {
    await client.close();
    await sim.stop();
  });

  it('the meter reports at most once per interval, always at a flush, with the rate and the estimate', () => {
    let clock = 1_000;
    const reports: HealProgress[] = [];
    const meter = new ProgressMeter('walk', (p) => reports.push(p), () => clock, 250);
    meter.add(100); // the first add reports at once
    for (let i = 0; i < 50; i++) meter.add(10);
    assert.equal(reports.length, 1, 'adds within the interval are not reported');
    clock += 250;
    meter.add(1);
    assert.equal(reports.length, 2);
    assert.equal(reports[1].done, 601);
    meter.setEstimate(5_000);
    clock += 1_750; // 2 s after the start
    meter.flush();
    const last = reports[reports.length - 1];
    assert.deepEqual([last.done, last.estimate, last.perSecond, last.method], [601, 5_000, 300.5, 'walk']);
    assert.equal(formatHealProgress({ ...last, done: 12_400, estimate: 50_000, perSecond: 3_100 }), '12,400/~50,000 · 3.1k/s');
    assert.equal(formatHealProgress({ ...last, estimate: null }), '601 · 301/s');
    meter.add(10_000);
    meter.flush();
    assert.equal(reports[reports.length - 1].estimate, 10_601, 'an estimate the walk went past is raised to what was done');
  });

  it('estimates a walk from the aggregates (recursive) or child_count (flat); no usable count means no estimate', async () => {
    // /data: a, b, b/c (3 directories) and 3 files.
    assert.equal(await estimateWalk(client, '/data', true), 6);
    assert.equal(await estimateWalk(client, '/data', false), 2);
    assert.equal(await estimateWalk(client, '/missing', true), null, 'a failing call is no estimate, not an error');
    // Shapes a real cluster might send (field names and types UNCONFIRMED): strings, numbers, gaps.
    assert.equal(entriesFromAggregates({ total_files: '10', total_directories: 2 }), 12);
    assert.equal(entriesFromAggregates({ total_files: '10', total_directories: '2', total_symlinks: '1', total_other: '1' }), 14);
    assert.equal(entriesFromAggregates({ total_capacity: '4096' }), null);
    assert.equal(entriesFromAggregates({ total_files: '-1', total_directories: 'many' }), null);
    assert.equal(entriesFromAggregates('nope'), null);
  });

  it('a walk heal reports entries done against the aggregates estimate, throttled, through onProgress and the status', async () => {
    const reports: HealProgress[] = [];
    const statuses: Array<HealProgress | null> = [];
    const h = startHarness(sim, {
      ref: '/data',
      pageSize: 10,
      walkConcurrency: 2,
      progressIntervalMs: 40,
      onProgress: (p) => reports.push(p),
      onStatus: (s) => {
        if (s.state === 'healing') statuses.push(s.progress);
      },
    });
    try {
      await h.waitForStream();
      await duringOutage(sim, () => writeFiles(sim, [...numbered('data/bulk-1', 150), ...numbered('data/bulk-2', 150)]));
      const result = await h.result();
      assert.equal(result.method, 'walk');
      const total = 6 + 2 + 300; // the tree, two new directories, their files
      assert.equal(result.scanned, total);
      const last = reports[reports.length - 1];
      assert.equal(last.method, 'walk');
      assert.equal(last.done, total, 'the last report counts every listed entry');
      assert.equal(last.estimate, total, 'the estimate is the aggregates of the watched directory');
      assert.ok(last.perSecond > 0);
      const pages = 2 + 1 + 1 + 2 + 15 + 15; // /data, a, b, b/c … at 10 entries a page (at least)
      assert.ok(reports.length < pages, `throttled: ${reports.length} reports for ${pages}+ pages`);
      const durationMs = Date.parse(result.finishedAt) - last.startedAt;
      assert.ok(reports.length <= Math.ceil(durationMs / 40) + 3, `${reports.length} reports in ${durationMs} ms`);
      assert.ok(statuses.some((p) => p !== null && p.done > 0), 'the healer status carries the progress while healing');
      assert.equal(h.healer.status.progress, null, 'no progress between heals');
    } finally {
      await h.close();
    }
  });

  it('a diff heal counts diff entries and has no estimate', async () => {
    const keeper = new CheckpointKeeper({ client: () => client, sourcePath: () => '/data', suffix: 'qumulo-flow-checkpoint-progress', expiryMs: 3600_000 });
    const baseline = await keeper.take();
    const start = Date.now();
    writeFiles(sim, numbered('data/new', 25));
    fs.rmSync(sim.disk('data/a/one.txt'));
    const snapshot = await keeper.take(baseline);
    const reports: HealProgress[] = [];
    const progress = new ProgressMeter('diff', (p) => reports.push(p), Date.now, 0);
    const tally = await healByDiff({
      client,
      scope: { watchId: 'w', watchRoot: '/data', recursive: true, types: null },
      window: { start, end: Date.now(), reason: 'error', detail: 'spec' },
      lookedFrom: start - 300,
      toleranceMs: 300,
      ledger: new LiveLedger(0),
      baseline,
      snapshot,
      pageSize: 5,
      progress,
      emit: () => undefined,
      nextSeq: () => 1,
    });
    const last = reports[reports.length - 1];
    assert.equal(last.done, tally.found + tally.ignored, 'every diff entry read is counted');
    assert.ok(last.done >= 27, `${last.done}: 25 files, their directory, one removal`);
    assert.equal(last.estimate, null);
    assert.match(formatHealProgress(last), /^\d+ · \d/);
  });
});
