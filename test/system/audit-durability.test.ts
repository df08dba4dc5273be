// The audit trail keeps every action across deploys and a crash (issue 20): a real Node-RED
// process locks 100 files from a Redis stream, recorded by a qumulo-audit node or by the lock
// node's own audit option, with a full deploy and a kill -9 + restart in the
// middle; the export for the run then holds exactly one record per file. The 10,000-lock run of
// the acceptance is `npm run bench:audit` (same scenario, test/support/audit-storm.ts).

import * as assert from 'node:assert/strict';
import { runAuditStorm } from '../support/audit-storm';

describe('audit trail: no loss across a deploy and a kill -9 (short run of bench:audit)', function () {
  this.timeout(120_000);

  for (const recordBy of ['audit node', 'lock option'] as const) {
    it(`records each of 100 locks, and the export returns exactly them (records written by the ${recordBy})`, async () => {
      // 40 ms per request, one at a time, hold the run to at most 25 locks/s (a lock of a file just
      // added is one request), so the deploy and the kill land mid-run on a fast machine too (each
      // waits for a third of the records; a full deploy takes about a second, and the lock node
      // finishes the at most 10 messages the in node has handed it before it stops).
      const result = await runAuditStorm({ total: 100, deploys: 1, kills: 1, latencyMs: 40, concurrency: 1, timeoutMs: 60_000, maxInFlight: 10, recordBy });
      assert.deepEqual(result.interruptions.map((i) => i.kind), ['deploy', 'kill -9']);
      for (const interruption of result.interruptions) assert.ok(interruption.atLine < result.total, `the ${interruption.kind} came after the run (${interruption.atLine} lines)`);
      assert.equal(result.exported, result.total);
      assert.equal(result.filesOnce, result.total);
      assert.ok(result.lines >= result.total);
      assert.equal(result.lines - result.duplicatesDropped, result.total, 'every line beyond one per file is a repeat with the same id');
    });
  }
});
