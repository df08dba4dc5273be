// Short version of bench:guard-memory (the full run is a bench): the script replays a steady file
// rate through the guard core on a simulated clock and prints the heap after gc per minute with
// the ledger's and chains' sizes. No heap figure is asserted (a bench result, not a test result).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'bench', 'guard-memory.js');

function run(nodeArgs: string[], args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeArgs, SCRIPT, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('bench:guard-memory, short version', function () {
  this.timeout(40_000);

  it('prints the heap after gc and the ledger and chains per simulated minute, and their range over the second half', async () => {
    const { code, stdout, stderr } = await run(['--expose-gc'], ['100', '180']);
    assert.equal(code, 0, stderr + stdout);
    assert.match(stdout, /100 new files\/s for 180 simulated s/);
    assert.match(stdout, / 1 min: heap after gc [\d.]+ MB; ledger 6000, chains 6000/);
    assert.match(stdout, / 3 min: heap after gc [\d.]+ MB; ledger 18000, chains 18000/);
    assert.match(stdout, /second half: heap after gc [\d.]+–[\d.]+ MB/);
  });

  it('refuses to run without --expose-gc, saying how to run it', async () => {
    const { code, stderr } = await run([], ['100', '60']);
    assert.notEqual(code, 0);
    assert.match(stderr, /run with node --expose-gc/);
  });
});
