// The pure helpers every node adapter shares: settings parsing, event checks, rule names, the
// ordered queues and the timing helpers. No Node-RED, no real waiting beyond a few ms.

import assert from 'node:assert/strict';
import { flag, isEnvReference, isTrue, numberOr, numberSetting, positiveInt, resolveEnv } from '../../core/settings';
import { asEvent, eventProblem, GUARDED_FIELDS, MATCHED_FIELDS, ruleNames } from '../../core/message';
import { ArrivalOrder, BarrierQueue } from '../../core/ordered';
import { Throttle, WindowBudget } from '../../core/timing';
import { Users } from '../../core/users';

const event = {
  type: 'child_file_added',
  path: '/in/a.txt',
  relativePath: 'a.txt',
  name: 'a.txt',
  extension: 'txt',
  parentDir: '/in',
  fileId: '12',
  spine: ['2', '12'],
  isDirectory: false,
  streamName: null,
  watchId: 'w1',
  watchRoot: '/in',
  seq: 1,
  receivedAt: 1000,
};

describe('node helpers (core)', () => {
  describe('settings', () => {
    it('reads switches as the editor stores them', () => {
      assert.equal(isTrue(true), true);
      assert.equal(isTrue('true'), true);
      assert.equal(isTrue('false'), false);
      assert.equal(isTrue(undefined), false);
      assert.equal(flag(undefined, true), true);
      assert.equal(flag('', true), true);
      assert.equal(flag(false, true), false);
      assert.equal(flag('true', false), true);
    });

    it('reads numbers: empty is the default, a bad value is refused naming the setting', () => {
      assert.equal(numberSetting('', 5), 5);
      assert.equal(numberSetting(undefined, 5), 5);
      assert.equal(numberSetting(' 7 ', 5, { min: 1 }), 7);
      assert.equal(numberSetting(0, 5, { min: 0 }), 0);
      assert.throws(() => numberSetting('abc', 5, { what: 'batch size', min: 1 }), /invalid batch size "abc" \(a number ≥ 1\)/);
      assert.throws(() => numberSetting('0.5', 5, { min: 1 }), /≥ 1/);
      assert.throws(() => numberSetting('2.5', 5, { integer: true, min: 1 }), /a whole number ≥ 1/);
      assert.throws(() => numberSetting('90000', 5, { min: 0, max: 86400, what: 'quiet time' }), /quiet time "90000" \(a number from 0 to 86400\)/);
      assert.equal(positiveInt('', 587, 'port'), 587);
      assert.throws(() => positiveInt('0', 587, 'port'), /invalid port "0"/);
    });

    it('resolves ${VAR} like Node-RED and tells an environment reference from a typed value', () => {
      process.env.QF_HELPERS_TEST = 'from-env';
      try {
        assert.equal(resolveEnv(' ${QF_HELPERS_TEST} '), 'from-env');
        assert.equal(resolveEnv('${QF_HELPERS_MISSING}'), '');
        assert.equal(resolveEnv('a ${QF_HELPERS_TEST}'), 'a ${QF_HELPERS_TEST}', 'only a whole-value reference is resolved');
        assert.equal(resolveEnv(undefined), '');
        assert.equal(isEnvReference('${REDIS_URL}'), true);
        assert.equal(isEnvReference('redis://${REDIS_HOST}'), false);
      } finally {
        delete process.env.QF_HELPERS_TEST;
      }
    });

    it('numberOr falls back instead of refusing', () => {
      assert.equal(numberOr('x', 250, 0), 250);
      assert.equal(numberOr('-1', 250, 0), 250);
      assert.equal(numberOr('', 250, 0), 250);
      assert.equal(numberOr('10', 250, 0), 10);
    });
  });

  describe('message checks', () => {
    it('asEvent accepts an event with the fields a node needs and nothing less', () => {
      assert.equal(asEvent(event, MATCHED_FIELDS), event);
      assert.equal(asEvent(event, GUARDED_FIELDS), event);
      assert.equal(asEvent({ ...event, type: 'nope' }, MATCHED_FIELDS), null);
      assert.equal(asEvent({ ...event, name: 3 }, MATCHED_FIELDS), null);
      assert.ok(asEvent({ ...event, name: 3 }, GUARDED_FIELDS) !== null, 'the guard does not use the name');
      assert.equal(asEvent({ ...event, fileId: null }, GUARDED_FIELDS)?.fileId, null);
      assert.equal(asEvent({ ...event, fileId: undefined }, GUARDED_FIELDS), null);
      assert.equal(asEvent({ ...event, receivedAt: '1000' }, GUARDED_FIELDS), null);
      assert.equal(asEvent('text', MATCHED_FIELDS), null);
      assert.equal(asEvent(null, GUARDED_FIELDS), null);
    });

    it('eventProblem asks for an absolute path', () => {
      assert.equal(eventProblem(event), null);
      assert.match(String(eventProblem('x')), /not a Qumulo event/);
      assert.match(String(eventProblem({ path: 'rel/a' })), /absolute path/);
    });

    it('ruleNames takes names and {name} objects and skips the rest', () => {
      assert.deepEqual(ruleNames([{ name: 'pdf' }, 'csv', { name: '' }, null, 5, { other: 1 }]), ['pdf', 'csv']);
      assert.deepEqual(ruleNames(undefined), []);
      assert.deepEqual(ruleNames('pdf'), []);
    });
  });

  describe('ArrivalOrder', () => {
    it('runs at once when nothing waits, and keeps later tasks behind a reserved place', () => {
      const order = new ArrivalOrder();
      const ran: string[] = [];
      order.run(() => ran.push('a'));
      const settleB = order.reserve(() => ran.push('b (without data)'));
      order.run(() => ran.push('c'));
      const settleD = order.reserve(() => ran.push('d'));
      order.run(() => ran.push('e'));
      assert.deepEqual(ran, ['a']);
      assert.equal(order.waiting, 4);
      settleD();
      assert.deepEqual(ran, ['a'], 'd is settled but b still holds the line');
      settleB(() => ran.push('b (with data)'));
      assert.deepEqual(ran, ['a', 'b (with data)', 'c', 'd', 'e']);
      assert.equal(order.waiting, 0);
      settleB(() => ran.push('again'));
      assert.equal(ran.length, 5, 'settling twice does nothing');
    });

    it('flush runs what waits, settled or not, once', () => {
      const order = new ArrivalOrder();
      const ran: string[] = [];
      const settle = order.reserve(() => ran.push('fallback'));
      order.run(() => ran.push('after'));
      order.flush();
      assert.deepEqual(ran, ['fallback', 'after']);
      settle(() => ran.push('late'));
      assert.deepEqual(ran, ['fallback', 'after']);
    });
  });

  describe('BarrierQueue', () => {
    it('decides in arrival order, each job after its barrier, none overtaking', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const barriers = new Map<number, Promise<void> | null>([
        [1, null],
        [2, gate],
        [3, null],
      ]);
      const decided: number[] = [];
      const queue = new BarrierQueue<number>((job) => barriers.get(job) ?? null, (job) => decided.push(job));
      queue.push(1);
      queue.push(2);
      queue.push(3);
      assert.deepEqual(decided, [1], 'job 3 has no barrier but waits behind job 2');
      barriers.set(2, null);
      release();
      await gate;
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(decided, [1, 2, 3]);
      queue.push(4);
      assert.deepEqual(decided, [1, 2, 3, 4], 'idle again: decided at once');
    });

    it('close decides what waits without waiting, exactly once', async () => {
      const never = new Promise<void>(() => undefined);
      const decided: number[] = [];
      const queue = new BarrierQueue<number>(() => never, (job) => decided.push(job));
      queue.push(1);
      queue.push(2);
      assert.equal(queue.waiting, 2);
      queue.close();
      assert.deepEqual(decided, [1, 2]);
      queue.push(3);
      assert.deepEqual(decided, [1, 2, 3]);
    });
  });

  describe('timing', () => {
    it('WindowBudget lets a few through per window and reports how many it held back', () => {
      const budget = new WindowBudget(2, 1000);
      const summaries: number[] = [];
      const take = (now: number) => budget.take((n) => summaries.push(n), now);
      assert.deepEqual([take(0), take(10), take(20), take(30)], [true, true, false, false]);
      assert.deepEqual(summaries, []);
      assert.equal(take(1000), true);
      assert.deepEqual(summaries, [2]);
      assert.equal(take(1500), true);
      assert.equal(take(1999), false);
    });

    it('Throttle applies at once, then at most once per interval with the latest value', async () => {
      const applied: number[] = [];
      const throttle = new Throttle<number>(30, (v) => applied.push(v));
      throttle.push(1);
      throttle.push(2);
      throttle.push(3);
      assert.deepEqual(applied, [1]);
      await new Promise((resolve) => setTimeout(resolve, 60));
      assert.deepEqual(applied, [1, 3]);
      throttle.now(5);
      throttle.push(6);
      throttle.cancel();
      await new Promise((resolve) => setTimeout(resolve, 40));
      assert.deepEqual(applied, [1, 3, 5], 'now() applies at once; a cancelled pending value never lands');
    });
  });

  describe('Users', () => {
    it('keeps users with a value and lets a closing config node wait until the last has gone', async () => {
      const users = new Users<string, boolean>();
      const t0 = Date.now();
      await users.whenEmpty(1000);
      assert.ok(Date.now() - t0 < 500, 'no users: at once');
      users.add('a', true);
      users.add('b', false);
      assert.deepEqual([...users.entries()], [['a', true], ['b', false]]);
      const gone = users.whenEmpty(5000);
      assert.equal(users.remove('a'), true);
      assert.equal(users.remove('a'), false, 'removed once');
      let resolved = false;
      void gone.then(() => (resolved = true));
      await Promise.resolve();
      assert.equal(resolved, false, 'b is still there');
      users.remove('b');
      await gone;
      const bounded = new Users<string, number>();
      bounded.add('stays', 1);
      const started = Date.now();
      await bounded.whenEmpty(20);
      assert.ok(Date.now() - started >= 15, 'gives up after the bound');
    });
  });
});
