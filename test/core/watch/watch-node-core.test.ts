// What the qumulo-watch node hands to the core (core/watch/settings.ts, status.ts, healing.ts,
// resends.ts, feed.ts, core/scale/follow.ts): its settings, status and report texts, the healer's life
// through lease terms, and the re-send counts. Pure, no Node-RED.

import assert from 'node:assert/strict';
import type { QumuloEvent } from '../../../core/event';
import type { GapHealer, HealerStatus } from '../../../core/heal/healer';
import type { HealResult } from '../../../core/heal/types';
import type { GapRecord, SubscriptionStatus } from '../../../core/qumulo/subscription';
import { TermFollower } from '../../../core/scale/follow';
import type { LeaseInfo } from '../../../core/scale/lease';
import { WatchFeed } from '../../../core/watch/feed';
import { WatchHealing, type WatchHealingOptions } from '../../../core/watch/healing';
import type { WatchConsumer, WatchRegistry } from '../../../core/watch/registry';
import type { MalformedReport } from '../../../core/qumulo/sse';
import { WatchResends } from '../../../core/watch/resends';
import { isRecursive, parseHealSettings, parseTypes, watchRef, watchTuning } from '../../../core/watch/settings';
import { gapText, healResultText, malformedText, watchStatus, type WatchState } from '../../../core/watch/status';

const watching = (over: Partial<SubscriptionStatus> = {}): SubscriptionStatus => ({
  state: 'watching', attempt: 0, disconnectedSince: null, lastError: null, failureKind: null, events: 0, malformed: 0, gaps: 0, watchRoot: '/data', ...over,
});
const healer = (over: Partial<HealerStatus> = {}): HealerStatus => ({ state: 'idle', since: null, method: null, emitted: 0, progress: null, checkpoints: 0, lastResult: null, lastError: null, ...over });
const gap = (over: Partial<GapRecord> = {}): GapRecord => ({ watchId: 'w', watchRoot: '/data', start: 1_000_000, end: 1_045_000, reason: 'stream-end', detail: 'eof', attempts: 2, lastSeqBefore: 7, ...over });
const state = (over: Partial<WatchState> = {}): WatchState => ({ ref: '/data', role: null, subscription: watching(), healer: null, events: 3, lastGap: null, ...over });
const lease = (role: LeaseInfo['role'], token: string | null, holder: string | null = null, reason = 'elected'): LeaseInfo => ({ role, token, holder, reason });

describe('qumulo-watch node support (core)', () => {
  it('reads the path, types and switches; a bad path throws', () => {
    assert.equal(watchRef(''), '/');
    assert.equal(watchRef(' /data/x '), '/data/x');
    assert.equal(watchRef('12345'), '12345', 'a file id as given');
    assert.throws(() => watchRef('relative/path'));
    assert.equal(isRecursive(undefined), true);
    assert.equal(isRecursive('false'), false);
    assert.equal(parseTypes(''), null, 'none selected: all');
    assert.deepEqual(parseTypes('child_file_added, nonsense,child_file_added'), ['child_file_added']);
    assert.deepEqual(parseTypes(['child_dir_added']), ['child_dir_added']);
  });

  it('parses heal settings: off when absent, defaults, and limits naming the field', () => {
    assert.equal(parseHealSettings({}), null, 'a flow from before healing keeps it off');
    assert.deepEqual(parseHealSettings({ heal: true }), { checkpoints: { enabled: false, intervalMs: 0, expiryMs: 0 }, toleranceMs: 5000 });
    assert.equal(parseHealSettings({ heal: 'true', healTolerance: '0' })?.toleranceMs, 0);
    const withCheckpoints = parseHealSettings({ heal: true, checkpoints: 'true' });
    assert.deepEqual(withCheckpoints?.checkpoints, { enabled: true, intervalMs: 15 * 60_000, expiryMs: 2 * 86_400_000 });
    assert.throws(() => parseHealSettings({ heal: true, healTolerance: '11min' }), /tolerance: at most 10 min/);
    assert.throws(() => parseHealSettings({ heal: true, healTolerance: 'soon' }), /^Error: tolerance: /);
    assert.throws(() => parseHealSettings({ heal: true, checkpoints: true, checkpointInterval: '10s' }), /checkpoint interval: at least 30 s/);
    assert.throws(() => parseHealSettings({ heal: true, checkpoints: true, checkpointInterval: '1h', checkpointExpiry: '90min' }), /at least twice the interval/);
  });

  it('takes reconnect tuning from settings.js, positive numbers only', () => {
    assert.equal(watchTuning(undefined), null);
    assert.deepEqual(watchTuning({ backoffInitialMs: 50, backoffMaxMs: '200', idleTimeoutMs: -1, healthyAfterMs: 'x' }), { backoffInitialMs: 50, backoffMaxMs: 200, idleTimeoutMs: undefined, healthyAfterMs: undefined });
  });

  it('shows standby, connecting, watching with gap and heal figures, and errors', () => {
    const now = 2_000_000;
    assert.deepEqual(watchStatus(state({ role: lease('standby', null, 'host-b:12') }), now), { level: 'standby', text: 'standby (leader host-b:12)' });
    assert.deepEqual(watchStatus(state({ role: lease('standby', null, null, 'Redis unreachable') }), now), { level: 'connecting', text: 'standby: Redis unreachable' });
    assert.deepEqual(watchStatus(state({ subscription: null }), now), { level: 'connecting', text: 'connecting to /data' });
    assert.deepEqual(watchStatus(state({ role: lease('leader', 't1') }), now), { level: 'ok', text: 'watching /data (3)' });
    const healed = healer({ lastResult: { outcome: 'healed', entries: 4 } as HealResult });
    assert.deepEqual(watchStatus(state({ lastGap: gap(), healer: healed }), now), { level: 'ok', text: 'watching /data (3) · gap 45 s · healed 4' });
    assert.deepEqual(watchStatus(state({ healer: healer({ state: 'healing', since: now - 30_000, method: 'walk', emitted: 9 }) }), now), { level: 'ok', text: 'healing 30 s gap (walk): 9' });
    assert.deepEqual(watchStatus(state({ healer: healer({ state: 'failed', lastError: 'HTTP 500' }) }), now), { level: 'warning', text: 'heal failed, retrying: HTTP 500' });
    assert.deepEqual(watchStatus(state({ subscription: watching({ state: 'reconnecting', attempt: 2, failureKind: 'network' as SubscriptionStatus['failureKind'] }) }), now), { level: 'connecting', text: 'reconnecting (2): network' });
    assert.deepEqual(watchStatus(state({ subscription: watching({ state: 'error', failureKind: 'auth' as SubscriptionStatus['failureKind'], lastError: '401' }) }), now), { level: 'error', text: 'auth: 401' });
  });

  it('words gaps, heal results and malformed reports', () => {
    const text = gapText(gap(), { checkpoints: { enabled: true, intervalMs: 1, expiryMs: 2 }, toleranceMs: 0 });
    assert.match(text, /^Change-notify stream for \/data is back after 45 s \(stream-end\)\. Events between .* may have been lost \(the stream cannot resume\)\. Healing the gap \(snapshot diff\)\.$/);
    assert.doesNotMatch(gapText(gap(), null), /Healing/);
    const result = { outcome: 'healed', method: 'walk', entries: 5, duplicates: 1, durationMs: 2000, watchRoot: '/data', gap: { durationMs: 60_000, reason: 'restart' } } as HealResult;
    assert.deepEqual(healResultText(result), { level: 'log', text: 'Healed the 60 s gap (restart) of /data by walk: 5 events (1 already delivered live) in 2 s' });
    assert.deepEqual(healResultText({ ...result, outcome: 'failed', error: 'HTTP 503' }), { level: 'warn', text: 'Healing the 60 s gap (restart) of /data failed (HTTP 503); retrying' });
    const report = { kind: 'json', detail: 'bad\u202ejson', sample: '', length: 3, total: 12 } as unknown as Parameters<typeof malformedText>[0];
    assert.equal(malformedText(report, 0, 3, 10_000), 'Malformed change notification #12 (json): bad\\u202ejson');
    assert.match(malformedText(report, 5, 3, 10_000), /… and 4 more since the last report \(12 in all; at most 3 reports and one summary per 10 s\)$/);
  });

  it('follows lease terms: a change of term or role once, the same role again nothing', () => {
    const follower = new TermFollower();
    assert.equal(follower.current, undefined);
    assert.equal(follower.follow(lease('standby', null)), null, 'the first role is a change');
    assert.equal(follower.follow(lease('standby', null)), undefined);
    assert.equal(follower.follow(lease('leader', 't1')), 't1');
    assert.equal(follower.follow(lease('leader', 't1')), undefined);
    assert.equal(follower.follow(lease('leader', 't2')), 't2', 'a new term');
    assert.equal(follower.current, 't2');
  });

  describe('the healer through lease terms', () => {
    class RecordingHealer {
      readonly calls: string[] = [];
      readonly checkpointSuffix = 'qf-1';
      constructor(readonly name: string) {}
      start(options: { resumed: boolean }) { this.calls.push(`start ${options.resumed}`); }
      onEvent() { this.calls.push('event'); }
      onStatus() {}
      onDisconnected() {}
      onGap() { this.calls.push('gap'); }
      onEventsLost() {}
      close(removed: boolean) { this.calls.push(`close ${removed}`); return Promise.resolve(); }
    }
    const rig = (elected: boolean, settings: WatchHealingOptions['settings'] = { checkpoints: { enabled: false, intervalMs: 0, expiryMs: 0 }, toleranceMs: 0 }) => {
      const made: RecordingHealer[] = [];
      const logs: string[] = [];
      const changes: boolean[] = [];
      let report: ((s: HealerStatus) => void) | null = null;
      const healing = new WatchHealing({
        settings, elected, ref: '/data',
        make: (_s, onStatus) => {
          report = onStatus;
          const h = new RecordingHealer(`h${made.length + 1}`);
          made.push(h);
          return h as unknown as GapHealer;
        },
        refreshMarkers: () => Promise.resolve(),
        log: (t) => logs.push(t),
        warn: (t) => logs.push(`warn ${t}`),
        changed: (urgent) => changes.push(urgent),
      });
      return { healing, made, logs, changes, status: (s: HealerStatus) => report!(s) };
    };

    it('without an election: one healer, started once when the flows run', () => {
      const { healing, made, changes, status } = rig(false);
      assert.equal(made.length, 1);
      healing.onEvent({} as QumuloEvent);
      assert.equal(healing.flowsStarted(true, null), false);
      healing.flowsStarted(false, null);
      assert.deepEqual(made[0].calls, ['event', 'start true']);
      status(healer({ state: 'healing' }));
      status(healer({ state: 'idle' }));
      assert.deepEqual(changes, [false, true], 'a heal shows throttled, its end at once');
    });

    it('with an election: a healer per term, the old one closed, none while standing by', async () => {
      const { healing, made, logs } = rig(true);
      assert.equal(made.length, 0, 'nothing before a role');
      assert.equal(healing.flowsStarted(true, null), false);
      assert.equal(healing.follow(lease('standby', null, 'b:1', 'held'), false), true);
      assert.equal(made.length, 0);
      healing.follow(lease('leader', 't1'), true);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(made[0].calls, ['start true'], 'started once the markers are read');
      healing.follow(lease('leader', 't2'), false);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(made[0].calls, ['start true', 'close false'], "a lost term's healer closes without removing");
      assert.deepEqual(made[1].calls, ['start false']);
      assert.deepEqual(logs, ['Standing by for the watch of /data: held (leader b:1)', 'Leading the watch of /data (lease term t1)', 'Leading the watch of /data (lease term t2)']);
      await healing.close(true);
      assert.deepEqual(made[1].calls, ['start false', 'close true']);
      assert.equal(healing.follow(lease('leader', 't3'), false), false, 'closed: nothing more');
    });

    it('with healing off: follows the role for the log, closes with nothing to wait for', () => {
      const { healing, made, logs } = rig(true, null);
      healing.follow(lease('leader', 't1'), false);
      assert.equal(made.length, 0);
      assert.equal(logs.length, 1);
      assert.equal(healing.close(false), null);
    });
  });

  it('counts re-sends per event and cuts per node until taken', () => {
    const resends = new WatchResends();
    const event = {} as QumuloEvent;
    assert.equal(resends.timesResent(event), undefined);
    resends.cut(event, 'n1');
    resends.cut(event, 'n1');
    assert.equal(resends.timesResent(event), 2);
    assert.equal(resends.takeCuts('n1'), 2);
    assert.equal(resends.takeCuts('n1'), 0);
  });
});

describe('qumulo-watch feed (core/watch/feed.ts)', () => {
  type Consumer = WatchConsumer;
  const rig = () => {
    const said: string[] = [];
    const sent: Array<[string, number | undefined]> = [];
    const results: HealResult[] = [];
    const shown: string[] = [];
    const counted: string[] = [];
    const delivered: QumuloEvent[] = [];
    let consumer: Consumer | null = null;
    let resumed = 0;
    const handle = {
      key: 'k', watchId: 'w', status: watching(), role: null, sharedMarkers: null,
      resume: () => (resumed++, false), nextSeq: () => 1, deliver: (events: readonly QumuloEvent[]) => void delivered.push(...events), pause: () => undefined, release: () => undefined,
    };
    const registry = { acquire: (_spec: unknown, c: Consumer) => ((consumer = c), handle) } as unknown as WatchRegistry;
    const feed = new WatchFeed(
      { client: {} as never, ref: '/data', recursive: true, types: null },
      {
        id: 'n1', endpoint: 'https://qumulo:8000', heal: null,
        client: () => { throw new Error('healing is off'); },
        stateDirectory: null,
        sendEvent: (event, resent) => void sent.push([event.path, resent]),
        sendResult: (result) => void results.push(result),
        status: (s) => void shown.push(`${s.level} ${s.text}`),
        log: (t) => void said.push(`log ${t}`), warn: (t) => void said.push(`warn ${t}`), error: (t, msg) => void said.push(`error ${t}${msg ? ' +msg' : ''}`),
        observer: { event: (type) => void counted.push(type), reconnect: () => void counted.push('reconnect'), gap: () => void counted.push('gap'), heal: () => void counted.push('heal') },
      },
      registry,
      new WatchResends(),
    );
    return { feed, consumer: consumer!, said, sent, shown, counted, delivered, results, resumed: () => resumed };
  };
  const event = (path: string) => ({ type: 'child_file_added', path } as QumuloEvent);

  it('sends each event, counts it once (not again when a deploy cut it), and shows the count', () => {
    const r = rig();
    const first = event('/data/a');
    r.consumer.onEvent(first);
    r.feed.cut(first);
    assert.deepEqual(r.delivered, [first], 'back into the slot');
    r.consumer.onEvent(first);
    assert.deepEqual(r.sent, [['/data/a', undefined], ['/data/a', 1]]);
    assert.deepEqual(r.counted, ['child_file_added']);
    r.consumer.onStatus!(watching());
    assert.equal(r.shown.at(-1), 'ok watching /data (1)');
  });

  it('reports a failing watch once per failure, and gaps with a warning, a count and the status', () => {
    const r = rig();
    r.consumer.onStatus!(watching({ state: 'error', lastError: 'HTTP 401', failureKind: 'auth' }));
    r.consumer.onStatus!(watching({ state: 'error', lastError: 'HTTP 401', failureKind: 'auth' }));
    assert.deepEqual(r.said, ['error Watch on https://qumulo:8000/data: HTTP 401']);
    r.consumer.onStatus!(watching());
    r.consumer.onDisconnected!(gap({ end: null }));
    r.consumer.onGap!(gap());
    assert.deepEqual(r.counted, ['reconnect', 'gap']);
    assert.match(r.said[1], /^warn Change-notify stream for \/data lost \(stream-end: eof\)/);
    assert.match(r.said[2], /^warn Change-notify stream for \/data is back after 45 s/);
    assert.equal(r.shown.at(-1), 'ok watching /data (0) · gap 45 s');
    r.consumer.onMalformed!({ kind: 'json', detail: 'x', sample: '', length: 1, total: 1 } as unknown as MalformedReport);
    assert.equal(r.said.at(-1), 'error Malformed change notification #1 (json): x +msg', 'with a message for Catch nodes');
  });

  it('drains the slot and logs what a deploy cut once the flows run; shows nothing after close', () => {
    const r = rig();
    r.feed.cut(event('/data/b'));
    r.feed.flowsStarted();
    assert.equal(r.resumed(), 1);
    assert.deepEqual(r.said, ['log 1 message(s) cut by the deploy are sent again']);
    assert.equal(r.feed.close(false), null, 'no healer to wait for');
    const before = r.shown.length;
    r.consumer.onStatus!(watching());
    r.feed.flowsStarted();
    assert.equal(r.shown.length, before);
    assert.equal(r.resumed(), 1);
  });
});
