// The settle coalescer on a manual clock: deterministic, no real waiting.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Settler, SETTLE_ACTIVITY_TYPES, settleKey, type SettleClock, type SettleEntry, type SettleReason } from '../../../core/settle/settle';

/** A clock the test advances by hand; timers fire in due order. */
class ManualClock implements SettleClock {
  time = 1_000_000;
  private timers: Array<{ due: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ due: this.time + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get pendingTimers(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due);
      const next = this.timers[0];
      if (!next || next.due > end) break;
      this.timers.shift();
      this.time = next.due;
      next.fn();
    }
    this.time = end;
  }
}

function setup(quietMs = 1000, maxPending = 100) {
  const clock = new ManualClock();
  const emitted: Array<{ entry: SettleEntry<string>; reason: SettleReason; at: number }> = [];
  const settler = new Settler<string>({ quietMs, maxPending }, (entry, reason) => emitted.push({ entry, reason, at: clock.now() }), clock);
  return { clock, emitted, settler };
}

describe('settle core: coalescer', () => {
  it('emits once, quietMs after the last write of a file written in 50 chunks', () => {
    const { clock, emitted, settler } = setup(1000);
    settler.add('f', 'added', 'child_file_added', false);
    for (let i = 0; i < 50; i++) {
      clock.advance(60);
      settler.add('f', `write-${i}`, 'child_data_written', true);
    }
    const lastWrite = clock.now();
    clock.advance(999);
    assert.equal(emitted.length, 0, 'still inside the quiet time');
    clock.advance(1);
    assert.equal(emitted.length, 1);
    const { entry, reason, at } = emitted[0];
    assert.equal(reason, 'quiet');
    assert.equal(at, lastWrite + 1000);
    assert.equal(entry.latest, 'write-49');
    assert.equal(entry.count, 51);
    assert.deepEqual(entry.types, ['child_file_added', 'child_data_written']);
    assert.equal(entry.lastAt - entry.firstAt, 50 * 60);
    assert.equal(settler.size, 0);
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
  });

  it('non-activity events join the group without restarting the quiet time', () => {
    const { clock, emitted, settler } = setup(1000);
    settler.add('f', 'write', 'child_data_written', true);
    clock.advance(900);
    settler.add('f', 'mtime', 'child_mtime_changed', false);
    clock.advance(100);
    assert.equal(emitted.length, 1);
    assert.equal(emitted[0].entry.latest, 'mtime');
    assert.equal(emitted[0].entry.count, 2);
  });

  it('keeps files independent and emits each after its own quiet time', () => {
    const { clock, emitted, settler } = setup(1000);
    settler.add('a', 'a1', 'child_data_written', true);
    clock.advance(500);
    settler.add('b', 'b1', 'child_data_written', true);
    clock.advance(400);
    settler.add('a', 'a2', 'child_data_written', true); // a moves behind b
    clock.advance(600);
    assert.deepEqual(emitted.map((e) => e.entry.key), ['b']);
    clock.advance(400);
    assert.deepEqual(emitted.map((e) => e.entry.key), ['b', 'a']);
  });

  it('bounded memory: when full, the least recently active file is emitted early and counted', () => {
    const { clock, emitted, settler } = setup(10_000, 3);
    for (const k of ['a', 'b', 'c']) {
      settler.add(k, k, 'child_data_written', true);
      clock.advance(1);
    }
    settler.add('a', 'a2', 'child_data_written', true); // a is now the most recent
    settler.add('d', 'd', 'child_file_added', false);
    assert.equal(settler.size, 3);
    assert.equal(settler.overflowCount, 1);
    assert.deepEqual(emitted.map((e) => [e.entry.key, e.reason]), [['b', 'overflow']]);
  });

  it('flush emits everything held, and take/adopt hands entries to a successor keeping their clocks', () => {
    const { clock, emitted, settler } = setup(1000);
    settler.add('a', 'a', 'child_data_written', true);
    clock.advance(700);
    settler.add('b', 'b', 'child_data_written', true);
    const handed = settler.take();
    settler.stop();
    assert.equal(clock.pendingTimers, 0);
    const successor = new Settler<string>({ quietMs: 1000, maxPending: 10 }, (entry, reason) => emitted.push({ entry, reason, at: clock.now() }), clock);
    successor.adopt(handed);
    clock.advance(300);
    assert.deepEqual(emitted.map((e) => e.entry.key), ['a'], 'a settles on its original schedule');
    assert.equal(successor.flush(), 1);
    assert.deepEqual(emitted.map((e) => [e.entry.key, e.reason]), [['a', 'quiet'], ['b', 'flush']]);
  });

  it('every event is accounted for exactly once, whatever the interleaving (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 400 }), fc.boolean()), { maxLength: 200 }),
        fc.integer({ min: 1, max: 5 }),
        (steps, cap) => {
          const { clock, emitted, settler } = setup(250, cap);
          for (const [key, gap, activity] of steps) {
            clock.advance(gap);
            settler.add(`k${key}`, 'x', activity ? 'child_data_written' : 'child_mtime_changed', activity);
            assert.ok(settler.size <= cap);
          }
          clock.advance(1000);
          const total = emitted.reduce((n, e) => n + e.entry.count, 0);
          assert.equal(total, steps.length);
          assert.equal(settler.size, 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keys by file id (follows renames) and knows the activity types', () => {
    assert.equal(settleKey({ fileId: '42', path: '/a' }), 'id:42');
    assert.equal(settleKey({ fileId: null, path: '/a' }), 'path:/a');
    assert.ok(SETTLE_ACTIVITY_TYPES.has('child_data_written') && SETTLE_ACTIVITY_TYPES.has('child_size_changed'));
    assert.ok(!SETTLE_ACTIVITY_TYPES.has('child_file_added'));
  });
});
