// qumulo-redis, qumulo-redis-out, qumulo-redis-in and qumulo-ack in the Node-RED runtime
// (node-red-node-test-helper) against a real redis-server: round trip, durable done(), the three
// ack modes, journeys through fan-out and link nodes, poison entries, Redis restarts.
import * as assert from 'node:assert/strict';
import Redis from 'ioredis';
import type { QumuloEvent } from '../../core/event';
import { NOTIFICATION_TYPES } from '../../core/event';
import { decodeEvent, encodeEvent, fieldsToRecord } from '../../core/redis';
import { journeys } from '../../nodes/lib/journeys';
import { nodeTestHelper } from '../support/actions';
import { startRedisServer, uniquePrefix, type RedisServer } from '../support/redis-server';
import { makeEvent, waitFor } from '../support/redis-helpers';

/* eslint-disable @typescript-eslint/no-require-imports */
const redisConfigNode = require('../../nodes/qumulo-redis');
const redisOutNode = require('../../nodes/qumulo-redis-out');
const redisInNode = require('../../nodes/qumulo-redis-in');
const ackNode = require('../../nodes/qumulo-ack');
const functionNode = require('@node-red/nodes/core/function/10-function.js');
const linkNodes = require('@node-red/nodes/core/common/60-link.js');
const delayNode = require('@node-red/nodes/core/function/89-delay.js');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');
const completeNode = require('@node-red/nodes/core/common/24-complete.js');
const switchNode = require('@node-red/nodes/core/function/10-switch.js');
const splitNodes = require('@node-red/nodes/core/sequence/17-split.js');
/* eslint-enable @typescript-eslint/no-require-imports */

const helper = nodeTestHelper<unknown>();

const ALL_NODES = [redisConfigNode, redisOutNode, redisInNode, ackNode, functionNode, linkNodes, delayNode, catchNode, completeNode, switchNode, splitNodes];

type FlowNode = Record<string, unknown> & { id: string; type: string };
interface TestNode {
  receive(msg: unknown): void;
  on(event: string, listener: (...args: never[]) => void): void;
  status: { getCalls(): Array<{ args: unknown[] }> };
  warn: { getCalls(): Array<{ args: unknown[] }> };
}
interface SentMessage {
  _msgid: string;
  payload: QumuloEvent;
  topic: string;
  redis: { stream: string; group: string; consumer: string; id: string; deliveries: number };
}

/** A varied set of events: every notification type, optional fields, awkward names. */
function variedEvent(seq: number): QumuloEvent {
  const base = makeEvent(seq);
  const type = NOTIFICATION_TYPES[seq % NOTIFICATION_TYPES.length];
  const event: QumuloEvent = { ...base, type, isDirectory: type.includes('dir') ? true : type.includes('file') ? false : null };
  if (seq % 3 === 0) event.streamName = 'Zone.Identifier';
  if (seq % 5 === 0) event.resync = true;
  if (seq % 7 === 0) event.attributes = { size: seq * 1024, owner: '12', mode: '0755', lock: { legalHold: false, retentionPeriod: '2030-01-01T00:00:00Z' } };
  if (seq % 11 === 0) {
    event.name = `naïve “quoted” ${seq}.tar.gz`;
    event.path = `/watched/dir/${event.name}`;
    event.extension = 'gz';
  }
  return event;
}

describe('qumulo-redis nodes (Node-RED runtime, real redis-server)', function () {
  this.timeout(120_000);
  let server: RedisServer;
  let raw: Redis;
  let prefix: string;

  before(async () => {
    server = await startRedisServer({ own: true, appendOnly: true });
    raw = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  after(async () => {
    raw?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('nodes');
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  function config(extra: Record<string, unknown> = {}): FlowNode {
    return { id: 'redis', type: 'qumulo-redis', url: server.url, keyPrefix: prefix, ...extra };
  }

  function inNode(extra: Record<string, unknown> = {}, wires: string[][] = [['sink']]): FlowNode {
    return { id: 'in', type: 'qumulo-redis-in', z: 'tab', redis: 'redis', stream: 'events', group: 'g', consumer: 'test', claimIdle: '0.3', wires, ...extra };
  }

  /** Collects what reaches a helper node; `complete` decides whether it calls done(). */
  function sink(id: string, behaviour: 'done' | 'hold' = 'done'): { received: SentMessage[]; held: Array<() => void> } {
    const received: SentMessage[] = [];
    const held: Array<() => void> = [];
    const node = helper.getNode(id) as unknown as TestNode;
    node.on('input', ((msg: SentMessage, _send: unknown, done: () => void) => {
      received.push(msg);
      if (behaviour === 'done') done();
      else held.push(done);
    }) as never);
    return { received, held };
  }

  async function pendingCount(group = 'g'): Promise<number> {
    try {
      return Number((await raw.xpending(prefix + 'events', group))[0]);
    } catch {
      return -1;
    }
  }

  it('round trip out → Redis → in → sink preserves every field of every event, in order', async () => {
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      config(),
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream: 'events', wires: [] },
      inNode(),
      { id: 'sink', type: 'helper', z: 'tab' },
    ];
    await helper.load(ALL_NODES, flow);
    const { received } = sink('sink');
    const out = helper.getNode('out') as unknown as TestNode;
    const events = Array.from({ length: 500 }, (_, i) => variedEvent(i + 1));
    for (const event of events) out.receive({ payload: event });
    await waitFor(() => received.length === events.length, 'all events at the sink');
    assert.deepEqual(received.map((m) => m.payload), events, 'every field, in order');
    assert.deepEqual(received.map((m) => m.topic), events.map((e) => e.type));
    const first = received[0].redis;
    assert.equal(first.stream, prefix + 'events');
    assert.equal(first.group, 'g');
    assert.equal(first.consumer, 'test');
    assert.equal(first.deliveries, 1);
    assert.match(first.id, /^\d+-\d+$/);
    await waitFor(async () => (await pendingCount()) === 0, 'all acknowledged');
  });

  it('out: done() comes only after Redis stored the entry (a complete node sees it in the stream); msg.stream overrides', async () => {
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      config(),
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream: 'events', maxLen: '0', wires: [] },
      { id: 'completed', type: 'complete', z: 'tab', scope: ['out'], uncaught: false, wires: [['after']] },
      { id: 'after', type: 'helper', z: 'tab' },
    ];
    await helper.load(ALL_NODES, flow);
    const checks: Array<Promise<void>> = [];
    const after = helper.getNode('after') as unknown as TestNode;
    after.on('input', ((msg: { payload: QumuloEvent; stream?: string }) => {
      // At the moment done() fired, the entry must already be in Redis.
      const key = prefix + (msg.stream ?? 'events');
      checks.push(
        raw.xrange(key, '-', '+').then((entries) => {
          const seqs = entries.map((e) => (decodeEvent(e[1]) as QumuloEvent).seq);
          assert.ok(seqs.includes(msg.payload.seq), `seq ${msg.payload.seq} stored in ${key} before done()`);
        }),
      );
    }) as never);
    const out = helper.getNode('out') as unknown as TestNode;
    for (let i = 1; i <= 50; i++) out.receive({ payload: makeEvent(i) });
    out.receive({ payload: makeEvent(51), stream: 'elsewhere' });
    await waitFor(() => checks.length === 51, 'all completions');
    await Promise.all(checks);
    const entry = (await raw.xrange(prefix + 'elsewhere', '-', '+'))[0];
    const fields = fieldsToRecord(entry[1]);
    assert.equal(fields.v, '1');
    assert.equal(fields.type, 'child_file_added');
    assert.equal(fields.path, '/watched/dir/file-51.txt');
  });

  it('out: a payload that is not an object fails the message with done(err), caught by a catch node', async () => {
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      config(),
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream: 'events', wires: [] },
      { id: 'catcher', type: 'catch', z: 'tab', scope: ['out'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
    await helper.load(ALL_NODES, flow);
    const { received } = sink('caught');
    (helper.getNode('out') as unknown as TestNode).receive({ payload: 'just text' });
    await waitFor(() => received.length === 1, 'caught');
    const error = (received[0] as unknown as { error: { message: string } }).error;
    assert.match(error.message, /event must be a JSON object, got string/);
  });

  it('ack on complete: waits for every branch (fan-out, and a branch through link out → link in still working) before XACK', async () => {
    await raw.xgroup('CREATE', prefix + 'events', 'g', '0', 'MKSTREAM');
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      config(),
      inNode({}, [['fast', 'linkout']]),
      { id: 'fast', type: 'helper', z: 'tab' },
      { id: 'linkout', type: 'link out', z: 'tab', x: 100, y: 100, mode: 'link', links: ['linkin'], wires: [] },
      { id: 'linkin', type: 'link in', z: 'tab', x: 100, y: 200, links: ['linkout'], wires: [['slow']] },
      { id: 'slow', type: 'helper', z: 'tab' },
    ];
    await helper.load(ALL_NODES, flow);
    const fast = sink('fast');
    const slow = sink('slow', 'hold');
    await raw.xadd(prefix + 'events', '*', 'v', '1', 'event', JSON.stringify(makeEvent(1)));
    await waitFor(() => fast.received.length === 1 && slow.received.length === 1, 'both branches received it');
    // The fast branch is done, the slow one (behind link out → link in) is not: still pending.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await pendingCount(), 1, 'not acknowledged while a branch still works');
    slow.held[0]();
    await waitFor(async () => (await pendingCount()) === 0, 'acknowledged once the last branch is done');
  });

  it('poison entry: a function node that throws for one event lands it in <stream>:dead after N deliveries; the others pass', async () => {
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      config(),
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream: 'events', wires: [] },
      inNode({ maxDeliveries: '3' }, [['action']]),
      {
        id: 'action', type: 'function', z: 'tab', outputs: 1, wires: [['sink']],
        func: "if (msg.payload.seq === 3) { throw new Error('cannot lock ' + msg.payload.path + ': permission denied'); } return msg;",
      },
      { id: 'sink', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: ['in'], uncaught: false, wires: [['dead']] },
      { id: 'dead', type: 'helper', z: 'tab' },
    ];
    await helper.load(ALL_NODES, flow);
    const { received } = sink('sink');
    const dead = sink('dead');
    const out = helper.getNode('out') as unknown as TestNode;
    for (let i = 1; i <= 5; i++) out.receive({ payload: makeEvent(i) });
    await waitFor(() => dead.received.length === 1, 'dead letter reported to the catch node', 20_000);
    assert.deepEqual(received.map((m) => m.payload.seq).sort(), [1, 2, 4, 5]);
    const report = dead.received[0] as unknown as { payload: QumuloEvent; error: { message: string }; redis: { deadLetterStream: string } };
    assert.equal(report.payload.seq, 3);
    assert.match(report.error.message, /moved to dead-letter stream .*events:dead .*failed 3 times \(limit 3\); last error: cannot lock \/watched\/dir\/file-3\.txt: permission denied/);
    const deadEntries = await raw.xrange(prefix + 'events:dead', '-', '+');
    assert.equal(deadEntries.length, 1);
    const fields = fieldsToRecord(deadEntries[0][1]);
    assert.equal((decodeEvent(deadEntries[0][1]) as QumuloEvent).seq, 3);
    assert.match(fields['dead.error'], /permission denied/);
    await waitFor(async () => (await pendingCount()) === 0, 'nothing left pending');
  });

  it('ack timeout: a message never done() is given up with a warning and delivered again; its late done() acks nothing twice', async () => {
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      config(),
      inNode({ ackTimeout: '0.3' }),
      { id: 'sink', type: 'helper', z: 'tab' },
    ];
    await raw.xadd(prefix + 'events', '*', ...encodeEvent(makeEvent(1)));
    await helper.load(ALL_NODES, flow);
    const received: SentMessage[] = [];
    let lateDone: (() => void) | undefined;
    (helper.getNode('sink') as unknown as TestNode).on('input', ((msg: SentMessage, _send: unknown, done: () => void) => {
      received.push(msg);
      if (msg.redis.deliveries === 1) lateDone = done; // the first delivery hangs
      else done();
    }) as never);
    await waitFor(() => received.length >= 1, 'first delivery');
    assert.equal(journeys.size, 1, 'the hanging message is tracked');
    await waitFor(() => received.length === 2, 'delivered again after the timeout', 20_000);
    const warnings = (helper.getNode('in') as unknown as TestNode).warn.getCalls().map((c) => String(c.args[0]));
    assert.ok(warnings.some((w) => /did not finish with it within 0\.3 s/.test(w)), warnings.join('\n'));
    assert.equal(received[1].redis.id, received[0].redis.id);
    assert.ok(received[1].redis.deliveries >= 2);
    // Message ids look like Node-RED's own and differ between deliveries of the same entry.
    for (const msg of received) assert.match(msg._msgid, /^[0-9a-f]{16}$/);
    assert.notEqual(received[1]._msgid, received[0]._msgid);
    await waitFor(async () => (await pendingCount()) === 0, 'the second delivery acknowledged');
    lateDone?.(); // the abandoned first message finishes after all: nothing to ack, nothing breaks
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(received.length, 2);
    assert.equal(await pendingCount(), 0);
    assert.equal(journeys.size, 0, 'no journey left behind');
  });

  it('ack at a qumulo-ack node: only messages that reach it are acknowledged; the others come back', async () => {
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      config(),
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream: 'events', wires: [] },
      inNode({ ackMode: 'node', claimIdle: '0.4' }, [['filter']]),
      // Only even numbers reach the ack node; odd ones end at the filter without an ack.
      { id: 'filter', type: 'function', z: 'tab', outputs: 1, wires: [['ack']], func: 'return msg.payload.seq % 2 === 0 ? msg : null;' },
      { id: 'ack', type: 'qumulo-ack', z: 'tab', wires: [['acked']] },
      { id: 'acked', type: 'helper', z: 'tab' },
    ];
    await helper.load(ALL_NODES, flow);
    const { received } = sink('acked');
    const out = helper.getNode('out') as unknown as TestNode;
    for (let i = 1; i <= 4; i++) out.receive({ payload: makeEvent(i) });
    await waitFor(() => received.length === 2, 'two acked');
    const pending = await raw.xpending(prefix + 'events', 'g', '-', '+', 10);
    assert.equal(pending.length, 2, 'the two odd ones stay pending');
    // They are redelivered after the idle time (deliveries grows).
    const inNodeInstance = helper.getNode('in') as unknown as TestNode;
    const redelivered: SentMessage[] = [];
    inNodeInstance.on('call:send', ((call: { args: [SentMessage] }) => redelivered.push(call.args[0])) as never);
    await waitFor(() => redelivered.some((m) => m.redis.deliveries >= 2), 'odd entries redelivered');
  });

  it('ack on complete through nodes that never call done() (core switch, bursts queued a tick apart), split/join and a rate-limiting delay: every entry acknowledged, none redelivered', async () => {
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      config(),
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream: 'events', wires: [] },
      inNode({ claimIdle: '0.5' }, [['sw']]),
      // Odd numbers match nothing: the switch drops them without done().
      { id: 'sw', type: 'switch', z: 'tab', property: 'payload.seq', propertyType: 'msg', rules: [{ t: 'jsonata_exp', v: '$$.payload.seq % 2 = 0', vt: 'jsonata' }], checkall: 'true', repair: false, outputs: 1, wires: [['wrap']] },
      { id: 'wrap', type: 'function', z: 'tab', outputs: 1, func: 'msg.payload = [msg.payload];\nreturn msg;', wires: [['sp']] },
      { id: 'sp', type: 'split', z: 'tab', splt: '\\n', spltType: 'str', arraySplt: 1, arraySpltType: 'len', stream: false, addname: '', wires: [['jn']] },
      { id: 'jn', type: 'join', z: 'tab', mode: 'auto', build: 'array', property: 'payload', propertyType: 'msg', wires: [['dl']] },
      { id: 'dl', type: 'delay', z: 'tab', pauseType: 'rate', timeout: '5', timeoutUnits: 'seconds', rate: '200', nbRateUnits: '1', rateUnits: 'second', drop: false, outputs: 1, wires: [['end']] },
      { id: 'end', type: 'helper', z: 'tab' },
    ];
    await helper.load(ALL_NODES, flow);
    const { received } = sink('end');
    const inNodeInstance = helper.getNode('in') as unknown as TestNode;
    const sent: SentMessage[] = [];
    inNodeInstance.on('call:send', ((call: { args: [SentMessage] }) => sent.push(call.args[0])) as never);
    const out = helper.getNode('out') as unknown as TestNode;
    for (let i = 1; i <= 40; i++) out.receive({ payload: makeEvent(i) });
    await waitFor(() => received.length === 20, 'the 20 even events through split/join and delay');
    await waitFor(async () => (await raw.xpending(prefix + 'events', 'g', '-', '+', 100)).length === 0, 'nothing pending');
    // Past the claim idle time nothing comes back.
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(sent.length, 40, 'each entry delivered once');
    assert.ok(sent.every((m) => m.redis.deliveries === 1));
    assert.equal(journeys.size, 0, 'no journey left behind');
  });

  it('ack on complete: a failure a Catch node received leaves the entry pending, unless caught errors count as handled', async () => {
    for (const caughtErrorsAreHandled of [false, true]) {
      await helper.unload();
      prefix = uniquePrefix(`caught-${caughtErrorsAreHandled}`);
      const flow: FlowNode[] = [
        { id: 'tab', type: 'tab' },
        config(),
        { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream: 'events', wires: [] },
        inNode({ claimIdle: '30', caughtErrorsAreHandled }, [['fail']]),
        { id: 'fail', type: 'function', z: 'tab', outputs: 1, wires: [[]], func: 'throw new Error("action failed");' },
        { id: 'catcher', type: 'catch', z: 'tab', scope: ['fail'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 'tab' },
      ];
      await helper.load(ALL_NODES, flow);
      const { received } = sink('caught');
      (helper.getNode('out') as unknown as TestNode).receive({ payload: makeEvent(1) });
      await waitFor(() => received.length === 1, 'caught');
      await new Promise((r) => setTimeout(r, 300));
      const pending = await raw.xpending(prefix + 'events', 'g', '-', '+', 10);
      assert.equal(pending.length, caughtErrorsAreHandled ? 0 : 1, `caughtErrorsAreHandled=${caughtErrorsAreHandled}`);
    }
  });

  it('ack at a qumulo-ack node: a message without msg.redis fails clearly', async () => {
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      { id: 'ack', type: 'qumulo-ack', z: 'tab', wires: [[]] },
      { id: 'catcher', type: 'catch', z: 'tab', scope: ['ack'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
    await helper.load(ALL_NODES, flow);
    const { received } = sink('caught');
    (helper.getNode('ack') as unknown as TestNode).receive({ payload: {} });
    await waitFor(() => received.length === 1, 'caught');
    assert.match((received[0] as unknown as { error: { message: string } }).error.message, /msg\.redis is missing/);
  });

  it('ack on receipt: acknowledged at once, yet no more than max-in-flight messages are in the flow', async () => {
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      config(),
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream: 'events', wires: [] },
      inNode({ ackMode: 'receipt', maxInFlight: '10', batchSize: '5' }),
      { id: 'sink', type: 'helper', z: 'tab' },
    ];
    await helper.load(ALL_NODES, flow);
    const { received, held } = sink('sink', 'hold');
    const out = helper.getNode('out') as unknown as TestNode;
    for (let i = 1; i <= 30; i++) out.receive({ payload: makeEvent(i) });
    await waitFor(() => received.length === 10, 'ten in the flow');
    await waitFor(async () => (await pendingCount()) === 0, 'the ten are acknowledged although the sink has not finished');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(received.length, 10, 'reading paused at max in flight');
    for (const done of held.splice(0)) done();
    await waitFor(() => received.length === 20, 'next ten after the first finished');
  });

  it('mirrors the connection state on its users and survives a Redis restart (AOF) mid-stream without loss (the 100,000-event version runs in redis-restart.test)', async () => {
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab' },
      config(),
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream: 'events', batchSize: '1000', wires: [] },
      { id: 'completed', type: 'complete', z: 'tab', scope: ['out'], uncaught: false, wires: [['written']] },
      { id: 'written', type: 'helper', z: 'tab' },
      { id: 'failed', type: 'catch', z: 'tab', scope: ['out'], uncaught: false, wires: [['retry']] },
      { id: 'retry', type: 'helper', z: 'tab' },
      inNode({ maxInFlight: '2000', batchSize: '500' }),
      { id: 'sink', type: 'helper', z: 'tab' },
    ];
    await helper.load(ALL_NODES, flow);
    const seen = new Set<number>();
    let deliveries = 0;
    const sinkNode = helper.getNode('sink') as unknown as TestNode;
    sinkNode.on('input', ((msg: SentMessage, _s: unknown, done: () => void) => {
      deliveries++;
      seen.add(msg.payload.seq);
      done();
    }) as never);
    let written = 0;
    (helper.getNode('written') as unknown as TestNode).on('input', (() => void written++) as never);
    const out = helper.getNode('out') as unknown as TestNode;
    // Like an upstream that retries: a write that failed during the outage is sent again.
    (helper.getNode('retry') as unknown as TestNode).on('input', ((msg: { payload: QumuloEvent }) => out.receive({ payload: msg.payload })) as never);
    await waitFor(() => {
      const calls = (helper.getNode('in') as unknown as TestNode).status.getCalls();
      return calls.some((c) => (c.args[0] as { fill?: string }).fill === 'green');
    }, 'in node shows connected');

    const total = 10_000;
    let restarted = false;
    for (let next = 1; next <= total; ) {
      // Keep at most 5000 writes outstanding (an upstream does not flood either).
      if (next - written > 2000) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const end = Math.min(total, next + 499);
      for (; next <= end; next++) out.receive({ payload: makeEvent(next) });
      if (!restarted && next > total * 0.3) {
        restarted = true;
        await server.restart();
      }
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => seen.size === total, `all ${total} events at the sink (have ${seen.size})`, 60_000, 50);
    assert.ok(restarted);
    const statuses = (helper.getNode('in') as unknown as TestNode).status.getCalls().map((c) => c.args[0] as { fill?: string; shape?: string; text?: string });
    const afterFirstGreen = statuses.slice(statuses.findIndex((s) => s.fill === 'green'));
    assert.ok(afterFirstGreen.some((s) => s.fill === 'yellow' || s.fill === 'red'), 'showed the outage');
    assert.equal(statuses[statuses.length - 1].fill, 'green', 'connected again');
    await waitFor(async () => (await pendingCount()) === 0, 'everything acknowledged');
    assert.ok(deliveries >= total);
  });
});
