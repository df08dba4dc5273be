// Unit specs of the pure loop-guard core: ledger precision, hop chains, breakers, aliases.
import { strict as assert } from 'node:assert';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import fc from 'fast-check';
import { normalizeNotification, type NotificationType, type QumuloEvent } from '../../../core/event';
import { EXPECTED_ECHOES, type MutationIntent, type MutationKind } from '../../../core/qumulo/types';
import { Breaker, SlidingCounter } from '../../../core/guard/breaker';
import { GuardCore, LoopGuard, type GuardAlert, type LoopGuardOptions } from '../../../core/guard/guard';
import { SelfWriteLedger, DEFAULT_MATCH_WINDOW } from '../../../core/guard/ledger';
import { ChainTracker } from '../../../core/guard/chains';

const ROOT = '/watched';

/** A full garbage collection (the flag set at run time, so the specs need no --expose-gc). */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Whether the object `make` returns is still reachable after a full gc (once the current job ended). */
async function survivesGc(make: () => object): Promise<boolean> {
  const ref = new WeakRef(make());
  await new Promise((resolve) => setImmediate(resolve)); // a WeakRef keeps its target for the job that made it
  collectGarbage();
  return ref.deref() !== undefined;
}

/** A manual clock for the processing time (the guard's `now`). */
function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void; set: (t: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms), set: (v) => (t = v) };
}

let seq = 0;
/** An event exactly as the watcher would build it from a raw notification. */
function event(type: NotificationType, relativePath: string, fileId: string | null, receivedAt: number, watchId = 'w1'): QumuloEvent {
  const spine = fileId === null ? null : ['2', '100', fileId];
  return normalizeNotification({ type, path: relativePath, spine, stream_name: null }, { watchId, watchRoot: ROOT, seq: ++seq, receivedAt });
}

function intent(kind: MutationKind, paths: string[], fileIds: string[] = []): MutationIntent {
  return { kind, paths, fileIds, expectedTypes: [...EXPECTED_ECHOES[kind]] };
}

function guardWith(options: Partial<LoopGuardOptions> = {}, clock = manualClock()): { core: GuardCore; guard: LoopGuard; clock: ReturnType<typeof manualClock>; alerts: GuardAlert[] } {
  const core = new GuardCore({}, clock.now);
  const alerts: GuardAlert[] = [];
  const guard = new LoopGuard(core, options, (a) => alerts.push(a));
  return { core, guard, clock, alerts };
}

describe('guard core: self-write ledger', () => {
  it('drops the echo of a lock by file id and type, and only once', () => {
    const { core, guard, clock } = guardWith();
    const t0 = clock.now();
    core.recordIntent(intent('lock', [`${ROOT}/a.pdf`], ['501']), t0);
    const echo = guard.evaluate(event('child_extra_attrs_changed', 'a.pdf', '501', t0 + 20));
    assert.equal(echo.verdict, 'suppressed');
    assert.equal(echo.verdict === 'suppressed' && echo.echoOf.kind, 'lock');
    // The same type again is a new notification: a user changed the attributes after us.
    const userChange = guard.evaluate(event('child_extra_attrs_changed', 'a.pdf', '501', t0 + 300));
    assert.equal(userChange.verdict, 'passed');
    assert.deepEqual(guard.counts(), { passed: 1, suppressed: 1, tripped: 0, trippedByHops: 0, trippedByFileBreaker: 0, trippedByRuleBreaker: 0 });
  });

  it('lets through types the mutation cannot cause (a user writing after our lock)', () => {
    const { core, guard, clock } = guardWith();
    core.recordIntent(intent('lock', [`${ROOT}/a.pdf`], ['501']), clock.now());
    assert.equal(guard.evaluate(event('child_data_written', 'a.pdf', '501', clock.now() + 5)).verdict, 'passed');
    assert.equal(guard.evaluate(event('child_size_changed', 'a.pdf', '501', clock.now() + 5)).verdict, 'passed');
  });

  it('matches on receivedAt, not on when the guard processes the event', () => {
    const { core, guard, clock } = guardWith();
    const t0 = clock.now();
    core.recordIntent(intent('set-attributes', [`${ROOT}/q.txt`], ['7']), t0);
    // The echo sat in a Redis queue for five minutes before reaching the guard: still ours.
    clock.advance(5 * 60_000);
    assert.equal(guard.evaluate(event('child_acl_changed', 'q.txt', '7', t0 + 15)).verdict, 'suppressed');

    // A genuine change seen by the watcher long after the echo window, processed right away: passes.
    core.recordIntent(intent('set-attributes', [`${ROOT}/r.txt`], ['8']), clock.now());
    const late = clock.now() + DEFAULT_MATCH_WINDOW.echoWindowMs + 1;
    assert.equal(guard.evaluate(event('child_acl_changed', 'r.txt', '8', late)).verdict, 'passed');
  });

  it('does not take an event received before the intent for its echo', () => {
    const { core, guard, clock } = guardWith();
    const t0 = clock.now();
    core.recordIntent(intent('set-attributes', [`${ROOT}/b.txt`], ['9']), t0);
    assert.equal(guard.evaluate(event('child_acl_changed', 'b.txt', '9', t0 - 1)).verdict, 'passed');
  });

  it('shrinks the window to the settle window once the first echo arrived', () => {
    const { core, guard, clock } = guardWith({ echo: { ...DEFAULT_MATCH_WINDOW, echoWindowMs: 10_000, settleMs: 500 } });
    const t0 = clock.now();
    core.recordIntent(intent('lock', [`${ROOT}/c.bin`], ['11']), t0);
    assert.equal(guard.evaluate(event('child_extra_attrs_changed', 'c.bin', '11', t0 + 10)).verdict, 'suppressed');
    // A related echo within the settle window is still ours …
    assert.equal(guard.evaluate(event('child_mtime_changed', 'c.bin', '11', t0 + 400)).verdict, 'suppressed');
    // … but 2 s later, inside the full window yet after settling, an ACL change is the user's.
    assert.equal(guard.evaluate(event('child_acl_changed', 'c.bin', '11', t0 + 2_000)).verdict, 'passed');
  });

  it('recognises both sides of a rename by path, and the chain follows the file to its new name', () => {
    const { core, guard, clock } = guardWith();
    const t0 = clock.now();
    assert.equal(guard.evaluate(event('child_file_added', 'in/report.pdf', '42', t0)).verdict, 'passed');
    // A caller that knows only the paths (the client's rename intent carries no file id).
    core.recordIntent(intent('rename', [`${ROOT}/in/report.pdf`, `${ROOT}/in/report-x.pdf`]), t0 + 5);
    assert.equal(guard.evaluate(event('child_file_moved_from', 'in/report.pdf', '42', t0 + 9)).verdict, 'suppressed');
    assert.equal(guard.evaluate(event('child_file_moved_to', 'in/report-x.pdf', '42', t0 + 9)).verdict, 'suppressed');
    // The renamed file changing again right after our rename is the next hop of its chain.
    assert.deepEqual(guard.evaluate(event('child_data_written', 'in/report-x.pdf', '42', t0 + 20)), { verdict: 'passed', hop: 2 });
    // A new file created at the old path by a user is neither our echo nor part of that chain.
    assert.deepEqual(guard.evaluate(event('child_file_added', 'in/report.pdf', '43', t0 + 12)), { verdict: 'passed', hop: 1 });
  });

  it('does not take a different file now living at the same path for our echo', () => {
    const { core, guard, clock } = guardWith();
    const t0 = clock.now();
    core.recordIntent(intent('set-attributes', [`${ROOT}/d.txt`], ['50']), t0);
    assert.equal(guard.evaluate(event('child_acl_changed', 'd.txt', '51', t0 + 3)).verdict, 'passed');
    assert.equal(guard.evaluate(event('child_acl_changed', 'd.txt', '50', t0 + 4)).verdict, 'suppressed');
  });

  it('treats a redelivered notification (same watch and seq) as the same echo, another watch separately', () => {
    const { core, guard, clock } = guardWith();
    const t0 = clock.now();
    core.recordIntent(intent('set-attributes', [`${ROOT}/e.txt`], ['60']), t0);
    const echo = event('child_acl_changed', 'e.txt', '60', t0 + 3, 'w1');
    assert.equal(guard.evaluate(echo).verdict, 'suppressed');
    assert.equal(guard.evaluate(echo).verdict, 'suppressed', 'a Redis redelivery of the same echo');
    assert.equal(guard.evaluate(event('child_acl_changed', 'e.txt', '60', t0 + 3, 'w2')).verdict, 'suppressed', 'a second watch sees its own copy');
    assert.equal(guard.evaluate(event('child_acl_changed', 'e.txt', '60', t0 + 30, 'w1')).verdict, 'passed');
  });

  it('two intents of the same kind on one file recognise two echoes', () => {
    const { core, guard, clock } = guardWith();
    const t0 = clock.now();
    core.recordIntent(intent('set-attributes', [`${ROOT}/f.txt`], ['70']), t0);
    core.recordIntent(intent('set-attributes', [`${ROOT}/f.txt`], ['70']), t0 + 1);
    assert.equal(guard.evaluate(event('child_acl_changed', 'f.txt', '70', t0 + 5)).verdict, 'suppressed');
    assert.equal(guard.evaluate(event('child_acl_changed', 'f.txt', '70', t0 + 6)).verdict, 'suppressed');
    assert.equal(guard.evaluate(event('child_acl_changed', 'f.txt', '70', t0 + 7)).verdict, 'passed');
  });

  it('keeps memory bounded: a cap and an expiry sweep', () => {
    const clock = manualClock();
    const ledger = new SelfWriteLedger({ maxEntries: 100, retentionMs: 1_000 }, clock.now);
    for (let i = 0; i < 250; i++) ledger.record(intent('lock', [`${ROOT}/f${i}`], [String(i)]));
    assert.equal(ledger.size, 100);
    assert.equal(ledger.getStats().evicted, 150);
    assert.equal(ledger.entriesFor({ fileId: '0' }).length, 0, 'the oldest went first');
    assert.equal(ledger.entriesFor({ fileId: '249' }).length, 1);
    clock.advance(1_001);
    ledger.sweep();
    assert.equal(ledger.size, 0);
    assert.equal(ledger.getStats().expired, 100);
    // Thousands more recorded over time stay bounded and the indexes empty out with them.
    for (let i = 0; i < 5_000; i++) {
      ledger.record(intent('rename', [`${ROOT}/g${i}`, `${ROOT}/h${i}`]));
      clock.advance(1);
    }
    assert.ok(ledger.size <= 1_001, `size ${ledger.size}`);
    assert.equal(ledger.entriesFor({ path: `${ROOT}/g0` }).length, 0);
  });

  it('lets go of an entry as soon as it leaves (evicted or expired), not when its queue is next compacted', async () => {
    const clock = manualClock();
    const ledger = new SelfWriteLedger({ maxEntries: 100, retentionMs: 1_000 }, clock.now);
    const evicted = survivesGc(() => ledger.record(intent('lock', [`${ROOT}/evicted`], ['1']))!);
    for (let i = 0; i < 100; i++) ledger.record(intent('lock', [`${ROOT}/f${i}`], [String(100 + i)]));
    assert.equal(ledger.entriesFor({ fileId: '1' }).length, 0, 'evicted at the cap');
    assert.equal(await evicted, false, 'an evicted entry is not kept');
    const expired = survivesGc(() => ledger.record(intent('lock', [`${ROOT}/expired`], ['2']))!);
    clock.advance(1_001);
    ledger.sweep();
    assert.equal(ledger.size, 0);
    assert.equal(await expired, false, 'an expired entry is not kept');
  });

  it('several intents on one file: each leaves the index on its own, the others still match, oldest first', () => {
    const clock = manualClock();
    const ledger = new SelfWriteLedger({ maxEntries: 3, retentionMs: 60_000 }, clock.now);
    const t0 = clock.now();
    const first = ledger.record(intent('set-attributes', [`${ROOT}/s.txt`], ['80']), t0)!;
    const second = ledger.record(intent('set-attributes', [`${ROOT}/s.txt`], ['80']), t0 + 1)!;
    const third = ledger.record(intent('set-attributes', [`${ROOT}/s.txt`], ['80']), t0 + 2)!;
    assert.deepEqual(ledger.entriesFor({ fileId: '80' }), [first, second, third]);
    // two other files push the first two out at the cap: the third is then the file's only one
    ledger.record(intent('lock', [`${ROOT}/o1`], ['81']), t0 + 3);
    ledger.record(intent('lock', [`${ROOT}/o2`], ['82']), t0 + 4);
    assert.deepEqual(ledger.entriesFor({ fileId: '80' }), [third]);
    assert.deepEqual(ledger.entriesFor({ path: `${ROOT}/s.txt` }), [third]);
    assert.equal(ledger.recognise(event('child_acl_changed', 's.txt', '80', t0 + 10)), third);
    assert.equal(ledger.recognise(event('child_acl_changed', 's.txt', '80', t0 + 11)), null, 'its echo of that type was consumed');
    assert.deepEqual(third.paths, [`${ROOT}/s.txt`]);
    assert.deepEqual(third.fileIds, ['80']);
    // a rename's two paths and an intent without file ids are both found by either path
    const rename = ledger.record(intent('rename', [`${ROOT}/a`, `${ROOT}/b`]), t0 + 20)!;
    assert.deepEqual(rename.fileIds, []);
    assert.deepEqual(ledger.entriesFor({ path: `${ROOT}/a` }), [rename]);
    assert.deepEqual(ledger.entriesFor({ path: `${ROOT}/b` }), [rename]);
    assert.equal(ledger.recognise(event('child_file_moved_to', 'b', '99', t0 + 21)), rename, 'an entry without ids matches an event with one by path');
  });

  it('consumes each echo type once per watch, for the first watch and for later ones', () => {
    const { core, guard, clock } = guardWith();
    const t0 = clock.now();
    core.recordIntent(intent('lock', [`${ROOT}/w.txt`], ['85']), t0);
    const echo = (watch: string, at: number) => guard.evaluate(event('child_extra_attrs_changed', 'w.txt', '85', at, watch)).verdict;
    assert.deepEqual([echo('w1', t0 + 1), echo('w2', t0 + 2), echo('w3', t0 + 3)], ['suppressed', 'suppressed', 'suppressed']);
    assert.deepEqual([echo('w1', t0 + 4), echo('w2', t0 + 5), echo('w3', t0 + 6)], ['passed', 'passed', 'passed'], 'a new notification of a consumed type is not our echo');
  });

  it('property: an event whose type the mutation cannot cause, or received outside the window, always passes', () => {
    const types = ['child_file_added', 'child_data_written', 'child_acl_changed', 'child_extra_attrs_changed', 'child_file_moved_to', 'child_size_changed'] as const;
    const kinds: MutationKind[] = ['lock', 'set-attributes', 'rename', 'write-data', 'create-file'];
    fc.assert(
      fc.property(
        fc.array(fc.record({ kind: fc.constantFrom(...kinds), file: fc.integer({ min: 1, max: 5 }), at: fc.integer({ min: 0, max: 20_000 }) }), { maxLength: 20 }),
        fc.array(fc.record({ type: fc.constantFrom(...types), file: fc.integer({ min: 1, max: 5 }), at: fc.integer({ min: -1_000, max: 40_000 }) }), { maxLength: 40 }),
        (intents, events) => {
          const clock = manualClock(0);
          const core = new GuardCore({}, clock.now);
          const guard = new LoopGuard(core, { hopLimit: 1_000 });
          const recorded = intents.map((i) => ({ ...i, expected: new Set<string>(EXPECTED_ECHOES[i.kind]) }));
          for (const i of recorded) core.recordIntent(intent(i.kind, [`${ROOT}/f${i.file}`], [String(i.file)]), i.at);
          const suppressedPerIntentType = new Map<string, number>();
          for (const e of events) {
            const decision = guard.evaluate(event(e.type, `f${e.file}`, String(e.file), e.at));
            const couldBeEcho = recorded.some(
              (i) => i.file === e.file && i.expected.has(e.type) && e.at >= i.at && e.at <= i.at + DEFAULT_MATCH_WINDOW.echoWindowMs,
            );
            if (!couldBeEcho) assert.notEqual(decision.verdict, 'suppressed', JSON.stringify(e));
            if (decision.verdict === 'suppressed') {
              const key = `${e.file}/${e.type}`;
              suppressedPerIntentType.set(key, (suppressedPerIntentType.get(key) ?? 0) + 1);
            }
          }
          // Each intent's expected type is consumed at most once (per watch).
          for (const [key, count] of suppressedPerIntentType) {
            const [file, type] = key.split('/');
            const possible = recorded.filter((i) => String(i.file) === file && i.expected.has(type)).length;
            assert.ok(count <= possible, `${key}: ${count} > ${possible}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('guard core: hop chains', () => {
  it('trips a chain of missed echoes at hop limit + 1, with the history, and warns once', () => {
    const { core, guard, clock, alerts } = guardWith({ hopLimit: 4 });
    let t = clock.now();
    const verdicts: string[] = [];
    for (let round = 0; round < 8; round++) {
      // the echo types (owner changes) are not in this intent's expected list: the ledger misses them
      const decision = guard.evaluate(event('child_owner_changed', 'loop.txt', '901', t));
      verdicts.push(`${decision.verdict}:${decision.hop}`);
      if (decision.verdict === 'passed') core.recordIntent({ kind: 'lock', paths: [`${ROOT}/loop.txt`], fileIds: ['901'], expectedTypes: ['child_extra_attrs_changed'] }, t + 1);
      if (decision.verdict === 'tripped') {
        assert.equal(decision.reason, 'hop-limit');
        assert.ok(decision.history.some((s) => s.step === 'action' && s.what === 'lock'));
        assert.match(decision.detail, /hop limit 4/);
      }
      t += 50;
      clock.set(t);
    }
    // Diverted events keep counting (they still follow our last action), nothing more passes.
    assert.deepEqual(verdicts, ['passed:1', 'passed:2', 'passed:3', 'passed:4', 'tripped:5', 'tripped:6', 'tripped:7', 'tripped:8']);
    assert.equal(alerts.filter((a) => a.kind === 'hop-limit').length, 1);
    assert.equal(guard.counts().trippedByHops, 4);
  });

  it('at the cap, the chain acted on least recently goes first (a file acted on again is newest), and a forgotten chain is not kept', async () => {
    const clock = manualClock();
    const chains = new ChainTracker({ maxChains: 3, retentionMs: 60_000 }, clock.now);
    const act = (id: string) => chains.recordAction({ fileIds: [id], paths: [`${ROOT}/${id}`] }, { kind: 'lock', at: clock.now() });
    const lookup = (id: string) => chains.lookup(event('child_owner_changed', id, id, clock.now()));
    act('1');
    act('2');
    act('3');
    act('1'); // 1 is now the most recent: 2 goes first
    const gone = survivesGc(() => act('4')!) as Promise<boolean>;
    assert.equal(chains.size, 3);
    assert.equal(lookup('2'), undefined);
    assert.ok(lookup('1') && lookup('3') && lookup('4'));
    assert.equal(lookup('1')!.actions, 2);
    act('5');
    act('6');
    act('7');
    assert.equal(chains.size, 3);
    assert.equal(await gone, false, 'the evicted chain of file 4 is not kept');
    clock.advance(60_001);
    chains.sweep();
    assert.equal(chains.size, 0, 'expired');
    assert.equal(lookup('7'), undefined);
  });

  it('a chain found by path that knew no file id adopts the event\'s id; the history keeps the latest steps up to its limit', () => {
    const clock = manualClock();
    const chains = new ChainTracker({ historyLimit: 3 }, clock.now);
    const state = chains.recordAction({ fileIds: [], paths: [`${ROOT}/p.txt`] }, { kind: 'set-attributes', at: clock.now() })!;
    assert.deepEqual(state.history.map((s) => s.step), ['action']);
    assert.equal(chains.lookup(event('child_owner_changed', 'p.txt', '90', clock.now() + 1)), state);
    assert.equal(chains.lookup(event('child_owner_changed', 'other.txt', '90', clock.now() + 1)), state, 'now found by its id');
    for (let i = 0; i < 4; i++) chains.observe(event('child_owner_changed', 'p.txt', '90', clock.now() + 2 + i));
    assert.deepEqual(state.history.map((s) => `${s.step}:${s.hop}`), ['event:3', 'event:4', 'event:5']);
    // The limit holds from the first steps on, also below two (one step kept as itself).
    for (const limit of [0, 1, 2]) {
      const limited = new ChainTracker({ historyLimit: limit }, clock.now);
      const chain = limited.recordAction({ fileIds: ['91'], paths: [`${ROOT}/q.txt`] }, { kind: 'set-attributes', at: clock.now() })!;
      for (let i = 0; i < 3; i++) {
        limited.observe(event('child_owner_changed', 'q.txt', '91', clock.now() + 2 + i));
        assert.equal(chain.history.length, Math.min(limit, i + 2), `limit ${limit}, after ${i + 2} steps`);
      }
    }
  });

  it('starts a new chain once the file has been quiet for the chain window', () => {
    const { core, guard, clock } = guardWith({ hopLimit: 2, chain: { chainWindowMs: 1_000, skewMs: 0 } });
    const t0 = clock.now();
    const owner = (at: number) => guard.evaluate(event('child_owner_changed', 'q.txt', '902', at));
    const act = (at: number) => core.recordIntent({ kind: 'lock', paths: [], fileIds: ['902'], expectedTypes: ['child_extra_attrs_changed'] }, at);
    assert.equal(owner(t0).hop, 1);
    act(t0 + 1);
    assert.equal(owner(t0 + 10).hop, 2);
    act(t0 + 11);
    assert.equal(owner(t0 + 20).verdict, 'tripped');
    // quiet for longer than the window: a genuine change starts over
    assert.deepEqual(owner(t0 + 11 + 1_001), { verdict: 'passed', hop: 1 });
  });

  it('counts a peer reacting to our change even though our own echo was recognised', () => {
    const { core, guard, clock } = guardWith({ hopLimit: 3 });
    let t = clock.now();
    const verdicts: string[] = [];
    for (let round = 0; round < 5; round++) {
      // someone (a user first, then a peer instance without a shared ledger) changes the mode …
      const decision = guard.evaluate(event('child_acl_changed', 'pp.txt', '904', t));
      verdicts.push(`${decision.verdict}:${decision.hop}`);
      if (decision.verdict !== 'passed') break;
      // … we chmod in answer, and our own echo is recognised and dropped
      core.recordIntent(intent('set-attributes', [`${ROOT}/pp.txt`], ['904']), t + 2);
      assert.equal(guard.evaluate(event('child_acl_changed', 'pp.txt', '904', t + 4)).verdict, 'suppressed');
      t += 10;
      clock.set(t);
    }
    assert.deepEqual(verdicts, ['passed:1', 'passed:2', 'passed:3', 'tripped:4']);
  });

  it('counts every unrecognised event after an action, so at most hop-limit events of a chain pass however they interleave', () => {
    const { core, guard, clock } = guardWith({ hopLimit: 4 });
    let t = clock.now();
    const act = (at: number) => core.recordIntent({ kind: 'lock', paths: [], fileIds: ['905'], expectedTypes: ['child_extra_attrs_changed'] }, at);
    assert.equal(guard.evaluate(event('child_owner_changed', 'burst.txt', '905', t)).verdict, 'passed', 'the genuine change');
    act(t + 5);
    let passed = 1;
    for (let round = 0; round < 10; round++) {
      t += 20;
      clock.set(t);
      // after each of our actions, a peer makes two changes before our next action
      for (let burst = 0; burst < 2; burst++) {
        if (guard.evaluate(event('child_owner_changed', 'burst.txt', '905', t + burst)).verdict === 'passed') passed++;
      }
      act(t + 5);
    }
    assert.equal(passed, 4);
  });

  it('events that race the first action (a peer changed the file before our action was announced) cost hops too: actions never outnumber the hop limit', () => {
    const { core, guard, clock } = guardWith({ hopLimit: 4 });
    let t = clock.now();
    // (owner changes are not among a lock's possible echoes: the ledger never takes them for ours)
    const act = (at: number) => core.recordIntent(intent('lock', [`${ROOT}/race.txt`], ['906']), at);
    // the file is added, and a peer's change arrives before our own action on it is announced: two
    // events pass as fresh, and two actions follow
    assert.equal(guard.evaluate(event('child_file_added', 'race.txt', '906', t)).verdict, 'passed');
    assert.equal(guard.evaluate(event('child_owner_changed', 'race.txt', '906', t + 1)).verdict, 'passed');
    act(t + 2);
    act(t + 3);
    let actions = 2;
    for (let round = 0; round < 10; round++) {
      t += 20;
      clock.set(t);
      // the peer answers each of our actions with a change our ledger does not know
      if (guard.evaluate(event('child_owner_changed', 'race.txt', '906', t)).verdict !== 'passed') break;
      act(t + 5);
      actions++;
    }
    assert.equal(actions, 4, 'the racing start took a hop of its own');
  });

  it('a user changing a file again after the chain window always starts at hop 1', () => {
    const { core, guard, clock } = guardWith({ hopLimit: 3, chain: { chainWindowMs: 2_000, skewMs: 0 } });
    let t = clock.now();
    for (let save = 0; save < 20; save++) {
      const decision = guard.evaluate(event('child_data_written', 'doc.txt', '903', t));
      assert.deepEqual(decision, { verdict: 'passed', hop: 1 }, `save ${save}`);
      core.recordIntent(intent('set-attributes', [`${ROOT}/doc.txt`], ['903']), t + 5);
      assert.equal(guard.evaluate(event('child_acl_changed', 'doc.txt', '903', t + 10)).verdict, 'suppressed');
      t += 2_100;
      clock.set(t);
    }
    assert.equal(guard.counts().passed, 20);
  });
});

describe('guard core: breakers', () => {
  it('opens for a file after too many actions within the window, diverts, alerts, and closes after the cool-down', () => {
    const { core, guard, clock, alerts } = guardWith({ hopLimit: 1_000, fileBreaker: { threshold: 5, windowMs: 10_000, cooldownMs: 30_000 } });
    const t0 = clock.now();
    for (let i = 0; i < 6; i++) {
      clock.set(t0 + i * 100);
      core.recordIntent(intent('set-attributes', [`${ROOT}/hot.txt`], ['77']), t0 + i * 100);
    }
    const opened = alerts.find((a) => a.kind === 'breaker-open');
    assert.ok(opened && opened.kind === 'breaker-open' && opened.scope === 'file' && opened.key === 'id:77');
    const diverted = guard.evaluate(event('child_data_written', 'hot.txt', '77', t0 + 700));
    assert.equal(diverted.verdict, 'tripped');
    assert.equal(diverted.verdict === 'tripped' && diverted.reason, 'file-breaker');
    assert.equal(guard.evaluate(event('child_data_written', 'cold.txt', '78', t0 + 700)).verdict, 'passed', 'other files are not affected');
    assert.equal(guard.metrics().openBreakers.length, 1);
    clock.set(t0 + 500 + 30_001);
    assert.equal(guard.evaluate(event('child_data_written', 'hot.txt', '77', clock.now())).verdict, 'passed');
    assert.equal(guard.metrics().openBreakers.length, 0);
  });

  it('opens per rule when a rule passes too many events, other rules unaffected', () => {
    const { guard, clock, alerts } = guardWith({ ruleBreaker: { threshold: 3, windowMs: 60_000, cooldownMs: 60_000 } });
    const verdicts = [];
    for (let i = 0; i < 6; i++) verdicts.push(guard.evaluate(event('child_file_added', `n${i}.txt`, String(1000 + i), clock.now()), ['rename-all']).verdict);
    assert.deepEqual(verdicts, ['passed', 'passed', 'passed', 'tripped', 'tripped', 'tripped']);
    assert.equal(alerts.filter((a) => a.kind === 'breaker-open' && a.scope === 'rule').length, 1);
    assert.equal(guard.evaluate(event('child_file_added', 'other.txt', '2000', clock.now()), ['lock-pdfs']).verdict, 'passed');
    assert.equal(guard.counts().trippedByRuleBreaker, 3);
  });

  it('sliding counter: counts decay as the window slides', () => {
    const counter = new SlidingCounter(1_000);
    for (let i = 0; i < 10; i++) counter.add('k', 5_000 + i);
    assert.equal(counter.count('k', 5_010), 10);
    assert.ok(counter.count('k', 6_500) <= 5.01, 'half the previous bucket still overlaps');
    assert.equal(counter.count('k', 8_000), 0);
    const breaker = new Breaker({ threshold: 0, windowMs: 1_000, cooldownMs: 1_000 });
    assert.equal(breaker.count('k', 1), null, 'threshold 0 disables it');
  });

  it('sliding counter: keys idle for two windows are dropped as the window moves, not kept until the cap', () => {
    const counter = new SlidingCounter(1_000, 100_000);
    for (let i = 0; i < 500; i++) counter.add(`old-${i}`, 5_000 + i);
    counter.add('recent', 6_200);
    assert.equal(counter.size, 501, 'the previous window still counts');
    counter.add('new', 7_100);
    assert.equal(counter.size, 2, 'only the keys of the last two windows are left');
    assert.equal(counter.count('recent', 7_100), 1 * (1 - 0.1));
  });

  it('sliding counter: once full of live keys, a new key drops the oldest tenth at once (amortised, not a scan per key)', () => {
    const counter = new SlidingCounter(60_000, 100);
    for (let i = 0; i < 100; i++) counter.add(`k${i}`, 1_000 + i);
    assert.equal(counter.size, 100);
    counter.add('k100', 1_200);
    assert.equal(counter.size, 91, 'the ten oldest went, the new key came');
    assert.equal(counter.count('k0', 1_200), 0);
    assert.equal(counter.count('k10', 1_200), 1);
    for (let i = 101; i < 110; i++) counter.add(`k${i}`, 1_300);
    assert.equal(counter.size, 100, 'nine more fit before the next prune');
  });
});
