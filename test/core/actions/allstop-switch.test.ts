// What the all-stop node does with a message (core/allstop-switch.ts), on a real state file:
// activate once and count repeats, reset by message or button, and the snapshot settings. The
// snapshot itself is taken against the simulator in allstop.test.ts.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AllStopStore } from '../../../core/allstop/allstop';
import { allStopSettings, AllStopSwitch, isResetTopic, type AllStopOutcome } from '../../../core/allstop/switch';

describe('all-stop switch (core)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-allstop-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the snapshot settings and refuses a relative path', () => {
    assert.deepEqual(allStopSettings({}), { snapshotPath: null, expiration: null });
    assert.equal(allStopSettings({ snapshotPath: ' /data ' }).snapshotPath, '/data');
    assert.ok(allStopSettings({ snapshotPath: '/data', snapshotExpiration: '7d' }).expiration);
    assert.throws(() => allStopSettings({ snapshotPath: 'data' }));
    assert.equal(isResetTopic('RESET'), true);
    assert.equal(isResetTopic(undefined), false);
  });

  it('activates once, counts repeats, and resets by message or button', () => {
    const warnings: string[] = [];
    const allStop = new AllStopSwitch(AllStopStore.forDirectory(dir), 'c1:8000', { snapshotPath: null, expiration: null }, null, (t) => warnings.push(t));
    const outcomes: AllStopOutcome[] = [];
    allStop.trigger({ nodeId: 'n1', payload: { type: 'child_data_written', path: '/canary/x' } }, (o) => outcomes.push(o));
    allStop.trigger({ nodeId: 'n1', topic: 'panic' }, (o) => outcomes.push(o));
    assert.equal(outcomes.length, 2, 'no snapshot configured: answered at once');
    assert.deepEqual([outcomes[0].changed, outcomes[0].result.outcome, outcomes[0].result.path], [true, 'done', '/canary/x']);
    assert.equal(outcomes[0].state.reason, 'triggered by child_data_written on /canary/x');
    assert.deepEqual([outcomes[1].changed, outcomes[1].result.outcome], [false, 'skipped']);
    assert.equal(allStop.state.triggerCount, 2);
    assert.match(warnings[0], /^ALL-STOP activated on c1:8000: triggered by child_data_written on \/canary\/x\./);

    const reset = allStop.reset('message to n1');
    assert.deepEqual([reset.action, reset.changed, reset.result.outcome, reset.state.active], ['reset', true, 'done', false]);
    const again = allStop.reset('message to n1');
    assert.deepEqual([again.changed, again.result.outcome, again.result.detail], [false, 'skipped', 'all-stop was not active']);
    const button = allStop.reset('editor (admin)', true);
    assert.deepEqual([button.changed, button.result.detail], [true, 'all-stop reset by editor (admin)']);
    assert.equal(warnings.filter((w) => w.includes('reset by')).length, 1, 'only a real reset is warned about');
  });
});
