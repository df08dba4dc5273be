// What the loop guard node adds around LoopGuard (core/guard/node-support.ts): settings, routing
// of decisions to outputs, the status text and the warning rate limit. Pure, no Node-RED.

import assert from 'node:assert/strict';
import { DEFAULT_GUARD_OPTIONS, type GuardCounters, type GuardDecision } from '../../../core/guard/guard';
import { GuardMonitor, guardOptionsFromSettings, routeDecision, TRIP_STATUS_MS, WARNINGS_PER_MINUTE } from '../../../core/guard/node-support';

const counts = (tripped = 0): GuardCounters => ({ passed: 5, suppressed: 1, tripped, trippedByHops: tripped, trippedByFileBreaker: 0, trippedByRuleBreaker: 0 });

describe('loop guard node support (core)', () => {
  it('reads the dialog in seconds and gives the core milliseconds; empty fields are the defaults', () => {
    const defaults = guardOptionsFromSettings({});
    assert.equal(defaults.hopLimit, DEFAULT_GUARD_OPTIONS.hopLimit);
    assert.deepEqual(defaults.fileBreaker, DEFAULT_GUARD_OPTIONS.fileBreaker);
    const set = guardOptionsFromSettings({ hopLimit: '4.7', echoWindow: '2', cooldown: 30, remoteSkew: '250', fileThreshold: '0' });
    assert.equal(set.hopLimit, 4);
    assert.equal(set.echo.echoWindowMs, 2000);
    assert.equal(set.echo.remoteSkewMs, 250, 'the skew field is in ms already');
    assert.equal(set.fileBreaker.cooldownMs, 30_000);
    assert.equal(set.ruleBreaker.cooldownMs, 30_000, 'one cooldown for both breakers');
    assert.equal(set.fileBreaker.threshold, 0);
    assert.throws(() => guardOptionsFromSettings({ hopLimit: '0' }), /invalid hop limit "0"/);
    assert.throws(() => guardOptionsFromSettings({ echoWindow: 'soon' }), /invalid echo window "soon"/);
  });

  it('routes passed to output 1, tripped to output 2, suppressed echoes to output 2 only when asked', () => {
    assert.deepEqual(routeDecision({ verdict: 'passed', hop: 2 }, 3, false), { output: 0, guard: { verdict: 'passed', hop: 2, hopLimit: 3 } });
    const tripped: GuardDecision = { verdict: 'tripped', hop: 4, reason: 'hop-limit', detail: 'hop limit 3 reached', history: [], breaker: null };
    const route = routeDecision(tripped, 3, false);
    assert.equal(route?.output, 1);
    assert.equal(route?.guard.reason, 'hop-limit');
    assert.equal('breaker' in route!.guard, false, 'no breaker key when no breaker tripped');
    const echo: GuardDecision = { verdict: 'suppressed', hop: 1, echoOf: { kind: 'lock', recordedAt: 1, source: 'local', echoLagMs: 12 } };
    assert.equal(routeDecision(echo, 3, false), null);
    const shown = routeDecision(echo, 3, true);
    assert.equal(shown?.output, 1);
    assert.equal(shown?.guard.detail, 'echo of our own lock (12 ms after it was sent)');
  });

  it('shows a trip for a while, then the counts; a failing shared ledger is an error', () => {
    const monitor = new GuardMonitor(() => undefined);
    assert.deepEqual(monitor.status(counts(), false, 0), { level: 'ok', text: '5 passed · 1 echoes · 0 tripped' });
    monitor.tripped({ kind: 'hop-limit', path: '/in/a', fileId: null, hop: 4, detail: 'hop limit', history: [] }, 1000);
    assert.deepEqual(monitor.status(counts(1), false, 1000 + TRIP_STATUS_MS - 1), { level: 'warning', text: 'hop limit: /in/a · 5 passed · 1 echoes · 1 tripped' });
    assert.equal(monitor.status(counts(1), false, 1000 + TRIP_STATUS_MS).level, 'warning');
    assert.equal(monitor.status(counts(1), false, 1000 + TRIP_STATUS_MS).text, '5 passed · 1 echoes · 1 tripped');
    monitor.sharedError = 'ECONNREFUSED';
    assert.deepEqual(monitor.status(counts(1), true, 1e9), { level: 'error', text: 'shared ledger: ECONNREFUSED' });
    assert.equal(monitor.status(counts(1), false, 1e9).level, 'warning', 'a recovered ledger no longer shows its old error');
    assert.equal(monitor.lastTripInfo()?.at, new Date(1000).toISOString());
  });

  it('warns at most WARNINGS_PER_MINUTE times a minute and then says how many it left out', () => {
    const warnings: string[] = [];
    const monitor = new GuardMonitor((text) => warnings.push(text));
    for (let i = 0; i < WARNINGS_PER_MINUTE + 5; i++) monitor.warn(`trip ${i}`, 1000 + i);
    assert.equal(warnings.length, WARNINGS_PER_MINUTE);
    monitor.warn('next minute', 61_000);
    assert.deepEqual(warnings.slice(-2), ['loop guard: 5 more warnings in the last minute (see the tripped output and metrics)', 'next minute']);
  });
});
