// The pure Redis Streams core against a real redis-server: encoding, pipelined writer, and the
// consumer-group reader (own-pending recovery, bounded in-flight, claims, heartbeats, dead letters).
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import Redis from 'ioredis';
import type { QumuloEvent } from '../../../core/event';
import {
  createRedisClient,
  decodeEvent,
  encodeEvent,
  EncodingError,
  fieldsToRecord,
  StreamConsumer,
  StreamWriter,
  type ConsumerHandlers,
  type DeadLetterReport,
  type DeliveredEntry,
  type StreamConsumerOptions,
} from '../../../core/redis';
import { startRedisServer, uniquePrefix, type RedisServer } from '../../support/redis-server';
import { makeEvent, waitFor } from '../../support/redis-helpers';

describe('redis core: encoding', () => {
  it('round-trips every field of a QumuloEvent, including optional ones', () => {
    const event: QumuloEvent = {
      ...makeEvent(7),
      path: '/projects/ünïcode dir/report final.PDF',
      name: 'report final.PDF',
      extension: 'PDF',
      resync: true,
      attributes: { size: 12345, owner: '500', group: '513', mode: '0644', modificationTime: '2026-01-01T00:00:00Z', creationTime: '2025-12-31T23:59:59Z', lock: { legalHold: true, retentionPeriod: null } },
    };
    const fields = encodeEvent(event);
    assert.deepEqual(decodeEvent(fields), event);
    const record = fieldsToRecord(fields);
    assert.equal(record.v, '1');
    assert.equal(record.type, event.type);
    assert.equal(record.path, event.path);
    assert.deepEqual(JSON.parse(record.event), event);
    assert.deepEqual(fields.filter((_, i) => i % 2 === 0), ['v', 'type', 'path', 'event'], 'documented field order');
  });

  it('round-trips arbitrary JSON objects (property test)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
        assert.deepEqual(decodeEvent(encodeEvent(object)), JSON.parse(JSON.stringify(object)));
      }),
    );
  });

  it('refuses what is not a JSON object, and entries it cannot read, with the reason', () => {
    assert.throws(() => encodeEvent('text'), (err: Error) => err instanceof EncodingError && /JSON object, got string/.test(err.message));
    assert.throws(() => encodeEvent([1]), /got an array/);
    assert.throws(() => encodeEvent(null), /got null/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => encodeEvent(cyclic), /not serializable/);
    assert.throws(() => decodeEvent(['event', '{}']), /no "v" field/);
    assert.throws(() => decodeEvent(['v', '2', 'event', '{}']), /unsupported encoding version "2"/);
    assert.throws(() => decodeEvent(['v', '1']), /no "event" field/);
    assert.throws(() => decodeEvent(['v', '1', 'event', '{oops']), /not valid JSON/);
    assert.throws(() => decodeEvent(['v', '1', 'event', '[1,2]']), /does not hold a JSON object/);
  });
});

describe('redis core: writer and consumer (real redis-server)', function () {
  this.timeout(60_000);
  let server: RedisServer;
  const clients: Redis[] = [];
  const consumers: StreamConsumer[] = [];
  let prefix: string;

  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });
  beforeEach(() => {
    prefix = uniquePrefix('core');
  });
  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await consumer.stop(0);
    for (const client of clients.splice(0)) client.disconnect();
  });

  /** Clients built exactly as the nodes build them. */
  function client(options: { blocking?: boolean } = {}): Redis {
    const c = createRedisClient({ url: server.url, mode: 'standalone' }, options.blocking ? 'blocking' : 'commands') as Redis;
    clients.push(c);
    return c;
  }

  interface Harness {
    consumer: StreamConsumer;
    delivered: DeliveredEntry[];
    deadLetters: DeadLetterReport[];
    warnings: string[];
    errors: Error[];
  }

  function consume(options: Partial<StreamConsumerOptions> & { consumer: string }, onDeliver?: (entry: DeliveredEntry, consumer: StreamConsumer) => void): Harness {
    const delivered: DeliveredEntry[] = [];
    const deadLetters: DeadLetterReport[] = [];
    const warnings: string[] = [];
    const errors: Error[] = [];
    let self: StreamConsumer | undefined;
    const handlers: ConsumerHandlers = {
      deliver: (entry) => {
        delivered.push(entry);
        onDeliver?.(entry, self!);
      },
      deadLettered: (report) => deadLetters.push(report),
      warning: (text) => warnings.push(text),
      error: (err) => errors.push(err),
    };
    const consumer = new StreamConsumer(client(), client({ blocking: true }), {
      stream: prefix + 'events',
      group: 'g',
      blockMs: 200,
      statsIntervalMs: 0,
      ...options,
    }, handlers);
    self = consumer;
    consumers.push(consumer);
    consumer.start();
    return { consumer, delivered, deadLetters, warnings, errors };
  }

  async function seed(count: number, from = 1, stream = prefix + 'events'): Promise<string[]> {
    const writer = new StreamWriter(client(), { maxBatch: 1000 });
    const ids: Promise<string>[] = [];
    for (let i = from; i < from + count; i++) ids.push(writer.append(stream, makeEvent(i)));
    return Promise.all(ids);
  }

  it('writer: one batch per turn keeps order, returns ids, and stores the documented fields', async () => {
    const raw = client();
    const writer = new StreamWriter(client(), { maxBatch: 1000 });
    const ids = await Promise.all(Array.from({ length: 2500 }, (_, i) => writer.append(prefix + 'events', makeEvent(i + 1))));
    assert.equal(new Set(ids).size, 2500);
    const entries = await raw.xrange(prefix + 'events', '-', '+');
    assert.deepEqual(entries.map((e) => e[0]), ids);
    assert.deepEqual(entries.map((e) => (decodeEvent(e[1]) as QumuloEvent).seq), Array.from({ length: 2500 }, (_, i) => i + 1));
    const first = fieldsToRecord(entries[0][1]);
    assert.equal(first.v, '1');
    assert.equal(first.type, 'child_file_added');
    assert.equal(first.path, '/watched/dir/file-1.txt');
    // Several streams in one turn: each append lands in its own stream, ids in order per stream.
    const mixed = await Promise.all([1, 2, 3, 4].map((n) => writer.append(prefix + (n % 2 ? 'odd' : 'even'), makeEvent(n))));
    assert.deepEqual((await raw.xrange(prefix + 'odd', '-', '+')).map((e) => e[0]), [mixed[0], mixed[2]]);
    assert.deepEqual((await raw.xrange(prefix + 'even', '-', '+')).map((e) => e[0]), [mixed[1], mixed[3]]);
    // An object without type/path travels too (fields v and event only).
    const plainId = await writer.append(prefix + 'plain', { hello: 'world' });
    const [plain] = await raw.xrange(prefix + 'plain', '-', '+');
    assert.equal(plain[0], plainId);
    assert.deepEqual(plain[1], ['v', '1', 'event', '{"hello":"world"}']);
  });

  it('writer: MAXLEN ~ keeps the stream near the cap; a bad event rejects only itself', async () => {
    const raw = client();
    const writer = new StreamWriter(raw, { maxLen: 1000, maxBatch: 200 });
    const appends: Promise<string>[] = [];
    for (let i = 1; i <= 5000; i++) appends.push(writer.append(prefix + 'capped', makeEvent(i)));
    const bad = assert.rejects(writer.append(prefix + 'capped', 'not an object'), EncodingError);
    await Promise.all(appends);
    await bad;
    const length = await raw.xlen(prefix + 'capped');
    assert.ok(length >= 1000 && length < 5000, `length ${length} should be trimmed to about 1000`);
    // Per-call stream keys go where they are told.
    await writer.append(prefix + 'other', makeEvent(1));
    assert.equal(await raw.xlen(prefix + 'other'), 1);
  });

  it('consumer: creates the group, delivers every entry in order with deliveries=1, acks leave the PEL empty', async () => {
    await seed(300);
    const harness = consume({ consumer: 'c1' }, (entry, consumer) => void consumer.ack(entry.id));
    await waitFor(() => harness.delivered.length === 300, 'all delivered');
    assert.deepEqual(harness.delivered.map((d) => (d.event as QumuloEvent).seq), Array.from({ length: 300 }, (_, i) => i + 1));
    assert.ok(harness.delivered.every((d) => d.deliveries === 1));
    const raw = client();
    await waitFor(async () => Number((await raw.xpending(prefix + 'events', 'g'))[0]) === 0, 'PEL empty');
    // New entries arrive through the blocking read.
    await seed(5, 301);
    await waitFor(() => harness.delivered.length === 305, 'new entries delivered');
  });

  it('consumer: never holds more than maxInFlight unsettled entries, whatever the backlog', async () => {
    await seed(2000);
    const held: string[] = [];
    const harness = consume({ consumer: 'c1', maxInFlight: 50, batchSize: 20 }, (entry) => held.push(entry.id));
    await waitFor(() => harness.delivered.length === 50, '50 delivered');
    // Give the loop a chance to over-read if it were going to.
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(harness.delivered.length, 50);
    assert.equal(harness.consumer.inFlightCount, 50);
    await Promise.all(held.splice(0, 10).map((id) => harness.consumer.ack(id)));
    await waitFor(() => harness.delivered.length === 60, 'ten more after ten acks');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(harness.delivered.length, 60);
  });

  it('consumer: the same consumer name re-reads its own pending entries after a restart (deliveries=2)', async () => {
    await seed(30);
    const first = consume({ consumer: 'stable' });
    await waitFor(() => first.delivered.length === 30, 'first run delivered');
    // Ack the first ten, then "crash" (stop without acking the rest).
    await Promise.all(first.delivered.slice(0, 10).map((d) => first.consumer.ack(d.id)));
    await first.consumer.stop(0);
    const second = consume({ consumer: 'stable' }, (entry, consumer) => void consumer.ack(entry.id));
    await waitFor(() => second.delivered.length === 20, 'pending re-read');
    assert.deepEqual(second.delivered.map((d) => (d.event as QumuloEvent).seq), Array.from({ length: 20 }, (_, i) => i + 11));
    assert.ok(second.delivered.every((d) => d.deliveries === 2));
  });

  it('consumer: entries left by a dead consumer are claimed after the idle time; live ones are not', async () => {
    // Generous idle time: the live consumer's heartbeat (every IDLE/3) must not be starved on a busy machine.
    const IDLE = 1500;
    await seed(40);
    // "dead" takes 20 and never acks them; "alive" takes 20 and keeps them in flight (heartbeat).
    const dead = consume({ consumer: 'dead', maxInFlight: 20, claimIdleMs: IDLE });
    await waitFor(() => dead.delivered.length === 20, 'dead got 20');
    await dead.consumer.stop(0); // its entries stay in its PEL, idle from now on
    const alive = consume({ consumer: 'alive', maxInFlight: 20, claimIdleMs: IDLE });
    await waitFor(() => alive.delivered.length === 20, 'alive got 20');
    const rescuer = consume({ consumer: 'rescuer', claimIdleMs: IDLE }, (entry, consumer) => void consumer.ack(entry.id));
    await waitFor(() => rescuer.delivered.length >= 20, 'rescuer claimed the dead consumer entries');
    await new Promise((r) => setTimeout(r, 2 * IDLE)); // several claim rounds: alive's entries must stay with alive
    const rescued = rescuer.delivered.map((d) => (d.event as QumuloEvent).seq).sort((a, b) => a - b);
    const deadSeqs = dead.delivered.map((d) => (d.event as QumuloEvent).seq).sort((a, b) => a - b);
    assert.deepEqual(rescued, deadSeqs, 'exactly the dead consumer entries, none of the live ones');
    assert.ok(rescuer.delivered.every((d) => d.deliveries === 2));
  });

  it('consumer: a consumer that stops gracefully hands what it still held over: the others take it at their next scan, not one claim time later', async () => {
    const IDLE = 3000;
    await seed(10);
    const leaving = consume({ consumer: 'leaving', claimIdleMs: IDLE });
    await waitFor(() => leaving.delivered.length === 10, 'leaving got 10');
    const staying = consume({ consumer: 'staying', claimIdleMs: IDLE }, (entry, consumer) => void consumer.ack(entry.id));
    await new Promise((r) => setTimeout(r, 200));
    await leaving.consumer.stop(0);
    const stoppedAt = Date.now();
    assert.equal(await leaving.consumer.handOver(), 10);
    await waitFor(() => staying.delivered.length === 10, 'the staying consumer took them', 10_000);
    // Its scan runs every IDLE/2; without the handover the entries would wait until idle for IDLE.
    assert.ok(Date.now() - stoppedAt < IDLE, `handed over after ${Date.now() - stoppedAt} ms (claim time ${IDLE} ms)`);
    assert.equal(await leaving.consumer.handOver(), 0, 'once');
  });

  it('consumer: an entry that keeps failing goes to <stream>:dead after maxDeliveries, with the error', async () => {
    await seed(3);
    const poisonSeq = 2;
    const harness = consume({ consumer: 'c1', claimIdleMs: 150, maxDeliveries: 3 }, (entry, consumer) => {
      if ((entry.event as QumuloEvent).seq === poisonSeq) consumer.fail(entry.id, new Error('disk on fire'));
      else void consumer.ack(entry.id);
    });
    await waitFor(() => harness.deadLetters.length === 1, 'dead-lettered');
    const poisonDeliveries = harness.delivered.filter((d) => (d.event as QumuloEvent).seq === poisonSeq);
    assert.deepEqual(poisonDeliveries.map((d) => d.deliveries), [1, 2, 3]);
    const report = harness.deadLetters[0];
    assert.equal(report.deadLetterStream, prefix + 'events:dead');
    assert.match(report.error, /failed 3 times \(limit 3\); last error: disk on fire/);
    assert.equal((report.event as QumuloEvent).seq, poisonSeq);
    const raw = client();
    const dead = await raw.xrange(prefix + 'events:dead', '-', '+');
    assert.equal(dead.length, 1);
    const fields = fieldsToRecord(dead[0][1]);
    assert.equal((decodeEvent(dead[0][1]) as QumuloEvent).seq, poisonSeq, 'dead letter keeps the original encoding');
    assert.equal(fields['dead.id'], report.id);
    assert.equal(fields['dead.group'], 'g');
    assert.match(fields['dead.error'], /disk on fire/);
    await waitFor(async () => Number((await raw.xpending(prefix + 'events', 'g'))[0]) === 0, 'poison acked in the source stream');
    assert.equal(await raw.hlen(prefix + 'events:errors:g'), 0, 'error record cleared');
  });

  it('consumer: an undecodable entry is dead-lettered at once; a trimmed pending entry is acked with a warning', async () => {
    const raw = client();
    await raw.xadd(prefix + 'events', '*', 'foo', 'bar');
    await seed(1);
    const harness = consume({ consumer: 'c1' }, (entry, consumer) => void consumer.ack(entry.id));
    await waitFor(() => harness.deadLetters.length === 1 && harness.delivered.length === 1, 'dead letter + good entry');
    assert.match(harness.deadLetters[0].error, /cannot decode entry: entry has no "v" field/);
    await harness.consumer.stop(0);

    // A pending entry whose data was deleted before processing.
    await seed(1, 2);
    const holder = consume({ consumer: 'holder' });
    await waitFor(() => holder.delivered.length === 1, 'held');
    await holder.consumer.stop(0);
    await raw.xdel(prefix + 'events', holder.delivered[0].id);
    const again = consume({ consumer: 'holder' });
    await waitFor(() => again.warnings.some((w) => /no longer exists/.test(w)), 'warned about the trimmed entry');
    await waitFor(async () => Number((await raw.xpending(prefix + 'events', 'g'))[0]) === 0, 'acked');
  });

  it('writer: the batch script and plain pipelined XADDs store identical entries; a failing XADD fails only its own appends', async () => {
    const raw = client();
    const scripted = new StreamWriter(client(), { maxBatch: 300 });
    const piped = new StreamWriter(client(), { maxBatch: 300, useScript: false });
    assert.equal(scripted.mode, 'script');
    assert.equal(piped.mode, 'pipeline');
    const events = Array.from({ length: 700 }, (_, i) => makeEvent(i + 1));
    await Promise.all(events.map((event) => scripted.append(prefix + 'scripted', event)));
    await Promise.all(events.map((event) => piped.append(prefix + 'piped', event)));
    const a = await raw.xrange(prefix + 'scripted', '-', '+');
    const b = await raw.xrange(prefix + 'piped', '-', '+');
    assert.equal(a.length, 700);
    assert.deepEqual(a.map((entry) => entry[1]), b.map((entry) => entry[1]));
    // MAXLEN ~ applies inside the script too.
    const capped = new StreamWriter(client(), { maxLen: 100, maxBatch: 500 });
    await Promise.all(Array.from({ length: 3000 }, (_, i) => capped.append(prefix + 'capped-script', makeEvent(i + 1))));
    const length = await raw.xlen(prefix + 'capped-script');
    assert.ok(length >= 100 && length < 3000, `length ${length} should be trimmed to about 100`);
    // A key of the wrong type: each append to it fails with Redis' error, the same turn's appends
    // to a good stream still succeed, and the writer stays in script mode (nothing to fall back from).
    await raw.set(prefix + 'not-a-stream', 'x');
    const results = await Promise.allSettled([
      scripted.append(prefix + 'not-a-stream', makeEvent(1)),
      scripted.append(prefix + 'scripted', makeEvent(701)),
      scripted.append(prefix + 'not-a-stream', makeEvent(2)),
    ]);
    assert.equal(results[0].status, 'rejected');
    assert.match(String((results[0] as PromiseRejectedResult).reason?.message), /WRONGTYPE/);
    assert.equal(results[1].status, 'fulfilled');
    assert.equal(results[2].status, 'rejected');
    assert.equal(scripted.mode, 'script');
    // The error reads as it does from a plain XADD (the script returns it inside its one reply string).
    const plainError = await piped.append(prefix + 'not-a-stream', makeEvent(3)).then(() => null, (err: Error) => err);
    const scriptError = (results[0] as PromiseRejectedResult).reason as Error;
    assert.ok(plainError);
    assert.equal(scriptError.message, plainError.message);
    assert.equal(scriptError.name, 'ReplyError');
  });

  it('consumer: the read script and plain XREADGROUP deliver the same entries, and both dead-letter an undecodable one with its fields', async () => {
    const raw = client();
    await seed(150);
    await raw.xadd(prefix + 'events', '*', 'v', '2', 'event', '{}');
    await raw.xadd(prefix + 'events', '*', 'v', '1', 'event', 'not json');
    await seed(150, 151);
    const scripted = consume({ consumer: 'c1', group: 'scripted', batchSize: 40 }, (entry, consumer) => void consumer.ack(entry.id));
    const plain = consume({ consumer: 'c1', group: 'plain', batchSize: 40, useScripts: false }, (entry, consumer) => void consumer.ack(entry.id));
    for (const harness of [scripted, plain]) {
      await waitFor(() => harness.delivered.length === 300 && harness.deadLetters.length === 2, 'all delivered, two dead letters');
      assert.deepEqual(harness.delivered.map((d) => (d.event as QumuloEvent).seq), Array.from({ length: 300 }, (_, i) => i + 1));
      assert.match(harness.deadLetters.map((d) => d.error).join('\n'), /unsupported encoding version "2"/);
      assert.match(harness.deadLetters.map((d) => d.error).join('\n'), /not valid JSON/);
    }
    assert.deepEqual(scripted.delivered.map((d) => d.id), plain.delivered.map((d) => d.id));
    // The dead letters keep the original fields (read in full after the script flagged them).
    const dead = await raw.xrange(prefix + 'events:dead', '-', '+');
    const versions = dead.map((entry) => fieldsToRecord(entry[1]).v).sort();
    assert.deepEqual(versions, ['1', '1', '2', '2']);
  });

  it('scripts: packed batches carry UTF-8, absent and empty type/path exactly; script and plain reads return the same events', async () => {
    const raw = client();
    // Every shape the packed batch distinguishes, with multi-byte characters in each part.
    const odd: Array<Record<string, unknown>> = [
      { type: 'child_file_added', path: '/ünïcode/日本語/file ✓.txt', name: 'file ✓.txt', seq: 1 },
      { path: '/only/päth', seq: 2 },
      { type: 'only-typé', seq: 3 },
      { neither: true, emoji: '🎉 ok', seq: 4 },
      { type: '', path: '', seq: 5 },
      { type: 42, path: null, nested: { a: [1, 'ß'] }, seq: 6 },
    ];
    const scripted = new StreamWriter(client(), { maxBatch: 100 });
    const piped = new StreamWriter(client(), { maxBatch: 100, useScript: false });
    await Promise.all(odd.map((event) => scripted.append(prefix + 'events', event)));
    await Promise.all(odd.map((event) => piped.append(prefix + 'piped', event)));
    const a = await raw.xrange(prefix + 'events', '-', '+');
    const b = await raw.xrange(prefix + 'piped', '-', '+');
    assert.deepEqual(a.map((entry) => entry[1]), b.map((entry) => entry[1]));
    assert.deepEqual(fieldsToRecord(a[4][1]), { v: '1', type: '', path: '', event: JSON.stringify(odd[4]) });
    assert.deepEqual(fieldsToRecord(a[5][1]), { v: '1', event: JSON.stringify(odd[5]) });
    const viaScript = consume({ consumer: 'c1', group: 'scripted' }, (entry, consumer) => void consumer.ack(entry.id));
    const viaPlain = consume({ consumer: 'c1', group: 'plain', useScripts: false }, (entry, consumer) => void consumer.ack(entry.id));
    for (const harness of [viaScript, viaPlain]) {
      await waitFor(() => harness.delivered.length === odd.length, 'all odd events delivered');
      assert.deepEqual(harness.delivered.map((d) => d.event), odd);
      assert.deepEqual(harness.delivered.map((d) => d.id), a.map((entry) => entry[0]));
    }
  });

  it('consumer: a new group starts at 0 (whole stream) by default, or at $ (only new entries)', async () => {
    await seed(5);
    const fromStart = consume({ consumer: 'a', group: 'from-start' }, (e, c) => void c.ack(e.id));
    await waitFor(() => fromStart.delivered.length === 5, 'whole stream');
    const onlyNew = consume({ consumer: 'b', group: 'only-new', startId: '$' }, (e, c) => void c.ack(e.id));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(onlyNew.delivered.length, 0);
    await seed(1, 6);
    await waitFor(() => onlyNew.delivered.length === 1, 'new one');
    assert.equal((onlyNew.delivered[0].event as QumuloEvent).seq, 6);
  });

  it('consumer: an entry not settled within ackTimeout is given up locally and redelivered', async () => {
    await seed(1);
    const timedOut: string[] = [];
    let attempts = 0;
    const harness = consume({ consumer: 'c1', ackTimeoutMs: 200, claimIdleMs: 150 }, (entry, consumer) => {
      attempts++;
      if (attempts >= 2) void consumer.ack(entry.id); // the second attempt completes
    });
    (harness.consumer as unknown as { handlers: ConsumerHandlers }).handlers.timedOut = (id) => timedOut.push(id);
    await waitFor(() => harness.delivered.length === 2, 'redelivered after release');
    assert.equal(timedOut.length, 1);
    assert.equal(harness.delivered[1].deliveries, 2);
  });
  it('writer: appends made while a call is on its way go out together in the next call, in order', async () => {
    const raw = client();
    const counted = client();
    const original = counted.evalsha.bind(counted) as (...args: unknown[]) => Promise<unknown>;
    let calls = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The first call's answer is held back, so what follows arrives while it is on its way.
    (counted as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> }).evalsha = (...args: unknown[]) => {
      calls++;
      const answer = original(...args);
      return calls === 1 ? held.then(() => answer) : answer;
    };
    const writer = new StreamWriter(counted, { maxBatch: 1000 });
    const ids: Promise<string>[] = [writer.append(prefix + 'events', makeEvent(1))];
    for (let i = 2; i <= 11; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      ids.push(writer.append(prefix + 'events', makeEvent(i)));
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls, 1, 'one call in flight: the ten later appends wait for its answer');
    release();
    const written = await Promise.all(ids);
    assert.equal(calls, 2, 'the ten appends that waited went out in one call');
    const entries = await raw.xrange(prefix + 'events', '-', '+');
    assert.deepEqual(entries.map((e) => e[0]), written);
    assert.deepEqual(entries.map((e) => (decodeEvent(e[1]) as QumuloEvent).seq), Array.from({ length: 11 }, (_, i) => i + 1));
    await writer.whenIdle();
  });

  it('consumer: once caught up, new entries come with the blocking read (no empty script call first)', async () => {
    await seed(25);
    const blocking = client({ blocking: true });
    const commands = client();
    const count = { script: 0, xreadgroup: 0 };
    const wrap = (target: Redis, method: 'callBuffer' | 'xreadgroup', key: keyof typeof count) => {
      const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
      (target as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        if (args[0] !== 'EVAL') count[key]++; // (EVAL: the script was not cached yet, EVALSHA counted it)
        return original(...args);
      };
    };
    wrap(blocking, 'callBuffer', 'script');
    wrap(blocking, 'xreadgroup', 'xreadgroup');
    const delivered: DeliveredEntry[] = [];
    const consumer = new StreamConsumer(commands, blocking, { stream: prefix + 'events', group: 'g', consumer: 'c1', batchSize: 10, blockMs: 200, statsIntervalMs: 0 }, {
      deliver: (entry) => void delivered.push(entry),
    });
    consumers.push(consumer);
    consumer.start();
    await waitFor(() => delivered.length === 25, 'the backlog delivered');
    // 10 + 10 + 5: the short read ends the backlog; from then on the blocking read waits.
    assert.equal(count.script, 3);
    for (let i = 26; i <= 28; i++) {
      await seed(1, i);
      await waitFor(() => delivered.length === i, `entry ${i} delivered`);
    }
    assert.equal(count.script, 3, 'no script call while caught up');
    assert.deepEqual(delivered.map((d) => (d.event as QumuloEvent).seq), Array.from({ length: 28 }, (_, i) => i + 1));
    await Promise.all(delivered.map((entry) => consumer.ack(entry.id)));
    assert.equal(Number((await client().xpending(prefix + 'events', 'g'))[0]), 0);
  });
});
