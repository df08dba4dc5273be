// What the settle node adds around the Settler (core/settle-outbox.ts): its settings, completion of
// held messages, sends held until the flows run, and the handover to a restarted node's successor.

import assert from 'node:assert/strict';
import { normalizeNotification, type NotificationType } from '../../../core/event';
import { Handovers, SettleOutbox, settleSettings, type SettleMessage } from '../../../core/settle/outbox';

const msgFor = (name: string, type: NotificationType = 'child_data_written'): SettleMessage => ({
  payload: normalizeNotification({ type, path: name, spine: ['1', `id-${name}`] }, { watchId: 'w', watchRoot: '/in', seq: 1, receivedAt: 1 }),
});
const tick = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));

describe('settle outbox (core)', () => {
  it('reads the dialog: defaults, limits, clear refusals', () => {
    assert.deepEqual(settleSettings({}), { quietMs: 5000, maxPending: 10_000 });
    assert.deepEqual(settleSettings({ quietSeconds: '0.25', maxPending: '3' }), { quietMs: 250, maxPending: 3 });
    assert.throws(() => settleSettings({ quietSeconds: '90000' }), /quiet time \(seconds\) "90000"/);
    assert.throws(() => settleSettings({ maxPending: '1.5' }), /maximum held files "1.5" \(a whole number ≥ 1\)/);
  });

  it('holds sends until open(), then sends one coalesced message and completes every message it stands for', async () => {
    const sent: SettleMessage[] = [];
    const outbox = new SettleOutbox<SettleMessage>({ quietMs: 0, maxPending: 10 }, (msg) => sent.push(msg));
    const done: string[] = [];
    outbox.add(msgFor('a.txt', 'child_file_added'), () => done.push('a1'));
    outbox.add(msgFor('a.txt'), () => done.push('a2'));
    await tick();
    assert.equal(sent.length, 0, 'not open yet: held back');
    assert.deepEqual(done, []);
    outbox.open();
    assert.equal(sent.length, 1);
    assert.equal(sent[0].settle?.count, 2);
    assert.deepEqual(sent[0].settle?.types, ['child_file_added', 'child_data_written']);
    assert.deepEqual(done, ['a1', 'a2'], 'each input is done once its coalesced message is sent');
    assert.deepEqual(outbox.status(), { level: 'ok', text: 'holding 0 · sent 1' });
    outbox.stop();
  });

  it('hands what is pending to a successor, which keeps it and sends it once open', async () => {
    const first = new SettleOutbox<SettleMessage>({ quietMs: 10_000, maxPending: 10 }, () => assert.fail('a restarting node sends nothing'));
    first.add(msgFor('b.txt'), () => undefined);
    first.add(msgFor('c.txt'), () => undefined);
    const handovers = new Handovers<ReturnType<typeof first.takeAll>[number]>(1000);
    handovers.park('n1', first.takeAll(), () => assert.fail('taken in time'));
    first.stop();
    const sent: SettleMessage[] = [];
    const second = new SettleOutbox<SettleMessage>({ quietMs: 10_000, maxPending: 10 }, (msg) => sent.push(msg));
    second.adopt(handovers.take('n1'));
    assert.equal(second.holdingCount, 2);
    assert.deepEqual(handovers.take('n1'), [], 'taken once');
    second.flushAll();
    assert.deepEqual(sent.map((m) => m.payload.name), ['b.txt', 'c.txt']);
    second.stop();
  });

  it('drops parked items nobody takes within the grace time, and says how many', async () => {
    const handovers = new Handovers<number>(10);
    const dropped: number[] = [];
    handovers.park('n1', [1, 2, 3], (n) => dropped.push(n));
    handovers.park('n2', [], () => assert.fail('nothing parked, nothing dropped'));
    await tick(40);
    assert.deepEqual(dropped, [3]);
    assert.deepEqual(handovers.take('n1'), []);
  });
});
