// Short versions of bench:latency and bench:soak (the full runs are benches, not tests): the
// scripts run end to end — cluster process, redis-server, Node-RED with both pipelines — lock
// every file they create and print what the README quotes. No figure is asserted: timing on a
// shared machine is not a test result.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { p99Verdict } from '../../bench/soak-verdict';

const BENCH_DIR = path.resolve(__dirname, '..', '..', 'bench');

function runBench(script: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(BENCH_DIR, script), ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('bench:latency and bench:soak, short versions', function () {
  this.timeout(90_000);

  it('bench:latency locks every file through the three pipelines and prints p50/p95/p99/max per rate', async () => {
    const { code, stdout, stderr } = await runBench('latency.js', [], { BENCH_SECONDS: '1', BENCH_RATES: '100', BENCH_SETTLE_QUIET: '0.2' });
    assert.equal(code, 0, stderr + stdout);
    for (const pipeline of ['plain', 'redis', 'settle']) {
      assert.match(stdout, new RegExp(`${pipeline} +100 files/s × 1 s: p50 [\\d.]+ ms, p95 [\\d.]+ ms, p99 [\\d.]+ ms, max [\\d.]+ ms`));
    }
    // The settle pipeline's goal is its quiet time + 50 ms, whatever the rate.
    assert.match(stdout, /settle +100 files\/s × 1 s: .* p99 goal \(<= 250 ms\)/);
    assert.equal((stdout.match(/100 files, results \{[^}]*"done":100[,}]/g) ?? []).length, 3, stdout);
  });

  it('bench:soak takes its duration as an argument, locks every file and prints the RSS slope and p99 per minute', async () => {
    const { code, stdout, stderr } = await runBench('soak.js', ['2'], { BENCH_RATE: '100' });
    assert.equal(code, 0, stderr + stdout);
    assert.match(stdout, /minute  1: \d+ locks \(\d+ files\/s\), p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms \(creation → watch node p50 -?[\d.]+ ms, p99 -?[\d.]+ ms\); RSS \d+ MB \(V8 heap \d+ MB, outside it -?\d+ MB\); guard ledger \d+, chains \d+; Node-RED \d+ % of a CPU, \d+ µs CPU per file; gc pauses [\d.]+ s \(\d+ major, longest [\d.]+ ms\)/);
    assert.match(stdout, /200 files created, 200 locked; Node-RED \d+ µs CPU per file/);
    assert.match(stdout, /RSS slope -?[\d.]+ MB\/min/);
    assert.match(stdout, /of which V8's heap \(heapTotal\) -?[\d.]+ MB\/min \(\d+ → \d+ MB\), outside it -?[\d.]+ MB\/min/);
    assert.match(stdout, /simulator process RSS slope -?[\d.]+ MB\/min/);
    assert.match(stdout, /guard caps \(ledger 50000, chains 50000\) not reached/);
    assert.match(stdout, /p99 flat: not judged \(needs at least 2 minutes after the first\)/);
  });

  it("bench:soak's p99 verdict: minute 1 left out; a spike over 2× the median, a rise over half the median or a minute with a backlog fails", () => {
    // minute 1 (the warm-up) may be anything
    assert.match(p99Verdict([5_000, 200, 220, 190, 210, 205]), /median 205\.0 ms, highest 220\.0 ms .* p99 flat met$/);
    assert.match(p99Verdict([100, 200, 210, 650, 190, 205]), /3\.17× the median.* p99 flat NOT met \(a spike\)$/);
    // 100 → 190 ms in steps of 15: never twice the median (145), but the fitted rise (90 ms) is over half of it
    assert.match(p99Verdict([100, 100, 115, 130, 145, 160, 175, 190]), /fitted slope 15\.0 ms\/min = 90\.0 ms over the run .* p99 flat NOT met \(drifts up\)$/);
    assert.match(p99Verdict([100, 100, 104]), /p99 flat met \(indicative: fewer than 3 minutes after the first\)$/);
    assert.match(p99Verdict([100]), /not judged/);
    // a steady backlog: flat, but not kept up with
    assert.match(p99Verdict([5_000, 10_000, 10_100, 10_050], [false, false, true, false]), /p99 flat NOT met \(a backlog in minute 2, 4\)$/);
    assert.match(p99Verdict([5_000, 100, 101, 102], [false, true, true, true]), /p99 flat met$/);
  });
});
