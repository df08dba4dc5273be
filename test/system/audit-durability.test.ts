// The audit trail keeps every action across deploys and a crash (issue 20): a real Node-RED
// process locks 150 files from a Redis stream, with a full deploy and a kill -9 + restart in the
// middle; the export for the run then holds exactly one record per file. The 10,000-lock run of
// the acceptance is `npm run bench:audit` (same scenario, test/support/audit-storm.ts).

import * as assert from 'node:assert/strict';
import { runAuditStorm } from '../support/audit-storm';

describe('audit trail: no loss across a deploy and a kill -9 (short run of bench:audit)', function () {
  this.timeout(120_000);

  it('records each of 150 locks, and the export returns exactly them', async () => {
    // 20 ms per request and 2 at a time hold the run to at most 50 locks/s (a lock makes at least
    // two requests), so the deploy and the kill land mid-run on a fast machine too.
    const result = await runAuditStorm({ total: 150, deploys: 1, kills: 1, latencyMs: 20, concurrency: 2, timeoutMs: 60_000 });
    assert.deepEqual(result.interruptions.map((i) => i.kind), ['deploy', 'kill -9']);
    for (const interruption of result.interruptions) assert.ok(interruption.atLine < result.total, `the ${interruption.kind} came after the run (${interruption.atLine} lines)`);
    assert.equal(result.exported, result.total);
    assert.equal(result.filesOnce, result.total);
    assert.ok(result.lines >= result.total);
    assert.equal(result.lines - result.duplicatesDropped, result.total, 'every line beyond one per file is a repeat with the same id');
  });
});
