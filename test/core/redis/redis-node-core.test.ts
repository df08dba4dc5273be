// What qumulo-redis-in and -out hand to the core (core/redis/node-settings.ts, node-status.ts,
// delivery.ts): their settings, status texts, the append tally with lease fences, and what the
// end of a message's journey means for its entry. Pure, no Node-RED or Redis.

import assert from 'node:assert/strict';
import type { JourneyEnding } from '../../../core/journey/tracker';
import type { DeliveredEntry, StreamConsumer } from '../../../core/redis/consumer';
import { Deliveries, LOST_REDELIVERY_MS, deadLetterMessage, entryMessage } from '../../../core/redis/delivery';
import { consumerSettings, countsOwnPending, writerSettings } from '../../../core/redis/node-settings';
import { AppendTally, ConsumerView, appendFenceOf, connectionStatusText, consumerStatusText } from '../../../core/redis/node-status';
import { FencedAppendError } from '../../../core/redis/writer';

const key = (name: string) => `pfx:${name}`;

describe('Redis node support (core)', () => {
  it('reads the consumer settings: defaults, seconds to ms, ${ENV}, and clear refusals', () => {
    process.env.QF_TEST_GROUP = 'from-env';
    const { options, ackMode } = consumerSettings({ group: '${QF_TEST_GROUP}', claimIdle: '2.5', deadLetter: 'dead' }, key, () => 'host-1');
    assert.equal(ackMode, 'complete');
    assert.deepEqual(options, { stream: 'pfx:qumulo:events', group: 'from-env', consumer: 'host-1', startId: '0', batchSize: 100, maxInFlight: 1000, claimIdleMs: 2500, maxDeliveries: 5, ackTimeoutMs: 300_000, deadLetterStream: 'pfx:dead' });
    assert.equal(consumerSettings({ batchSize: '7.9' }, key, () => 'c').options.batchSize, 7);
    assert.throws(() => consumerSettings({ ackMode: 'sometimes' }, key, () => 'c'), /unknown ack mode "sometimes"/);
    assert.throws(() => consumerSettings({ start: '>' }, key, () => 'c'), /start must be 0 \(whole stream\) or \$ \(new entries\), not ">"/);
    assert.throws(() => consumerSettings({ maxDeliveries: '0' }, key, () => 'c'), /invalid max deliveries "0"/);
  });

  it('counts own pending entries only the first time a consumer name starts in the process', () => {
    const names = { stream: `s-${process.pid}-${Date.now()}`, group: 'g', consumer: 'c' };
    assert.equal(countsOwnPending(names), true);
    assert.equal(countsOwnPending(names), false, 'a deploy restarted it');
  });

  it('reads the writer settings and refuses a bad max length or batch size', () => {
    assert.deepEqual(writerSettings({}), { stream: 'qumulo:events', maxLen: 0, batchSize: 500 });
    assert.deepEqual(writerSettings({ stream: 'x', maxLen: '1000', batchSize: 20 }), { stream: 'x', maxLen: 1000, batchSize: 20 });
    assert.throws(() => writerSettings({ maxLen: '-1' }), /^Error: invalid settings: max length "-1" must be a whole number ≥ 0, batch size "" ≥ 1$/);
    assert.throws(() => writerSettings({ batchSize: '0' }), /batch size "0" ≥ 1/);
  });

  it('shows the connection, the read loop error, or the consumer figures', () => {
    assert.deepEqual(connectionStatusText({ state: 'error', error: 'ECONNREFUSED' }), { level: 'error', text: 'reconnecting: ECONNREFUSED' });
    assert.deepEqual(connectionStatusText({ state: 'reconnecting' }), { level: 'connecting', text: 'reconnecting' });
    const connected = { state: 'connected' as const };
    assert.deepEqual(consumerStatusText(connected, 'NOGROUP', null), { level: 'error', text: 'NOGROUP' });
    assert.deepEqual(consumerStatusText(connected, null, null), { level: 'ok', text: 'connected' });
    const stats = { inFlight: 3, pending: 10, lag: 2, delivered: 0, acked: 0, failed: 0, deadLettered: 1 };
    assert.deepEqual(consumerStatusText(connected, null, stats), { level: 'ok', text: 'in flight 3 · pending 10 · lag 2 · dead 1' });
    assert.deepEqual(consumerStatusText(connected, null, { ...stats, pending: undefined, lag: null, deadLettered: 0 }), { level: 'ok', text: 'in flight 3' });
  });

  it('builds the message of an entry and of a dead-lettered one; the view starts connecting', () => {
    const source = { stream: 'pfx:s', group: 'g', consumer: 'c' };
    const event = { type: 'child_file_added', path: '/a' } as DeliveredEntry['event'];
    assert.deepEqual(entryMessage({ id: '1-0', deliveries: 2, event }, source, 'm1'), { _msgid: 'm1', payload: event, topic: 'child_file_added', redis: { ...source, id: '1-0', deliveries: 2 } });
    const dead = deadLetterMessage({ id: '1-0', deadLetterId: '9-0', deadLetterStream: 'pfx:s:dead', deliveries: 5, error: 'boom' }, source);
    assert.equal(dead.text, 'entry 1-0 moved to dead-letter stream pfx:s:dead (9-0): boom');
    assert.deepEqual(dead.msg, { payload: undefined, topic: '', redis: { ...source, id: '1-0', deliveries: 5, deadLetterStream: 'pfx:s:dead', deadLetterId: '9-0' }, error: { message: 'boom' } });
    assert.deepEqual(new ConsumerView().status(), { level: 'connecting', text: 'connecting' });
  });

  it('the consumer view reports read errors once with where, dead letters with a message, and shows figures', () => {
    const view = new ConsumerView();
    view.connection = { state: 'connected' };
    const said: string[] = [];
    const changes: boolean[] = [];
    const handlers = view.handlers({ stream: 'pfx:s', group: 'g', consumer: 'c' }, { warn: (t) => void said.push(`warn ${t}`), error: (t, msg) => void said.push(`error ${t}${msg ? ' +msg' : ''}`), changed: (urgent) => void changes.push(urgent) });
    handlers.error!(new Error('NOGROUP No such key'));
    assert.match(said[0], /^error reading pfx:s as g\/c: /);
    assert.equal(view.status().level, 'error');
    handlers.healthy!();
    handlers.stats!({ inFlight: 1, delivered: 1, acked: 0, failed: 0, deadLettered: 0 });
    assert.deepEqual(view.status(), { level: 'ok', text: 'in flight 1' });
    handlers.deadLettered!({ id: '1-0', deadLetterId: '2-0', deadLetterStream: 'd', deliveries: 5, error: 'x' });
    assert.equal(said[1], 'error entry 1-0 moved to dead-letter stream d (2-0): x +msg');
    assert.deepEqual(changes, [true, true, false, false]);
  });

  it('tallies appends: written, fenced (warned once per term), failed (an error for done)', () => {
    assert.equal(appendFenceOf({ key: 'k', token: 3 }), undefined, 'a malformed lease is no fence');
    const fence = appendFenceOf({ key: 'lease:w', token: '7', extra: 1 });
    assert.deepEqual(fence, { key: 'lease:w', token: '7' });
    const tally = new AppendTally();
    const connected = { state: 'connected' as const };
    assert.deepEqual(tally.status(connected), { level: 'ok', text: 'connected' });
    assert.deepEqual(tally.settle(null, 's', undefined), { show: 'soon' });
    const first = tally.settle(new FencedAppendError('8'), 's', fence);
    assert.match(first.warning ?? '', /lease term 7 is over/);
    assert.equal(first.error, undefined, 'a stale leader\'s event is not an error');
    assert.equal(tally.settle(new FencedAppendError('8'), 's', fence).warning, undefined, 'once per term');
    assert.match(tally.settle(new FencedAppendError(null), 's', { key: 'lease:w', token: '9' }).warning ?? '', /does not exist on this Redis/);
    assert.deepEqual(tally.status(connected), { level: 'ok', text: 'written 1 · fenced 3' });
    const failed = tally.settle(new Error('READONLY You can\'t write'), 'pfx:s', undefined);
    assert.match(failed.error?.message ?? '', /^XADD to pfx:s failed: this Redis is a read-only replica/);
    assert.equal(tally.status(connected).level, 'error');
    assert.deepEqual(tally.settle(null, 's', undefined), { show: 'now' }, 'the error clears at once');
    assert.deepEqual(tally.status({ state: 'connecting' }), { level: 'connecting', text: 'connecting' });
  });

  describe('deliveries and journey endings', () => {
    const entry = (id: string): DeliveredEntry => ({ id, deliveries: 1, event: { type: 'child_file_added' } as DeliveredEntry['event'] });
    const rig = (ackMode: 'complete' | 'node' | 'receipt', deploying = false) => {
      const calls: string[] = [];
      const consumer = {
        ack: (id: string) => (calls.push(`ack ${id}`), Promise.resolve()),
        fail: (id: string) => void calls.push(`fail ${id}`),
        release: (id: string) => void calls.push(`release ${id}`),
        redeliver: (id: string, counted: boolean) => (calls.push(`redeliver ${id} ${counted}`), Promise.resolve()),
        isAwaitingAck: () => true,
      } as unknown as StreamConsumer;
      const said: string[] = [];
      const deliveries = new Deliveries(consumer, ackMode, { send: (e, msgid) => void calls.push(`send ${e.id} ${msgid}`), deploying: () => deploying, warn: (t) => said.push(t), log: (t) => said.push(t) });
      return { deliveries, calls, said };
    };
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const cut: JourneyEnding = { kind: 'cut' } as JourneyEnding;

    it('holds entries until the flows run, then sends them in order; a deploy\'s cuts go out again uncounted', async () => {
      const { deliveries, calls, said } = rig('complete');
      deliveries.deliver(entry('1-0'), 'm1');
      deliveries.deliver(entry('2-0'), 'm2');
      deliveries.ended('0-5', cut);
      assert.deepEqual(calls, []);
      deliveries.started();
      assert.deepEqual(calls, ['send 1-0 m1', 'send 2-0 m2']);
      await tick();
      assert.deepEqual(calls.slice(2), ['redeliver 0-5 false']);
      assert.deepEqual(said, ['1 message(s) cut by the deploy are delivered again']);
    });

    it('acks a finished journey, fails a failed one; ack-node mode releases and warns once', () => {
      const complete = rig('complete');
      complete.deliveries.ended('1-0', { kind: 'done' } as JourneyEnding);
      complete.deliveries.ended('2-0', { kind: 'failed', error: new Error('x') } as JourneyEnding);
      assert.deepEqual(complete.calls, ['ack 1-0', 'fail 2-0']);
      const node = rig('node');
      node.deliveries.ended('1-0', { kind: 'done' } as JourneyEnding);
      node.deliveries.ended('2-0', { kind: 'done' } as JourneyEnding);
      assert.deepEqual(node.calls, ['release 1-0', 'release 2-0']);
      assert.equal(node.said.length, 1);
      assert.match(node.said[0], /without reaching a qumulo-ack node \(entry 1-0\)/);
    });

    it('a cut while the flows run is delivered again after a pause, counted; receipt mode and a closed node leave it', async function () {
      this.timeout(LOST_REDELIVERY_MS + 2000);
      const running = rig('complete');
      running.deliveries.started();
      running.deliveries.ended('3-0', cut);
      assert.deepEqual(running.calls, []);
      await new Promise((resolve) => setTimeout(resolve, LOST_REDELIVERY_MS + 50));
      assert.deepEqual(running.calls, ['redeliver 3-0 true']);
      const deploying = rig('complete', true);
      deploying.deliveries.started();
      deploying.deliveries.ended('4-0', cut);
      assert.equal(deploying.deliveries.close(), 1, 'cut during a deploy: stays pending, counted at close');
      const receipt = rig('receipt');
      receipt.deliveries.ended('5-0', cut);
      assert.equal(receipt.deliveries.close(), 0);
    });
  });
});
