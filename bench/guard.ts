// Loop-guard overhead: what the guard adds per event.
//   npm run bench:guard
// 1. Core: LoopGuard.evaluate over a full ledger (50,000 intents, its default cap: ~1,000 actions/s
//    kept for the retention time), with a realistic mix of events built like the watcher builds
//    them: most on files we never touched, some echoes of our own writes, some on files with an
//    active chain. Only evaluate() is timed. Reported per event, back to back and paced at
//    100,000 events/s (time in the guard / events).
// 2. Node: the same events through a deployed qumulo-loop-guard node in Node-RED versus the same
//    flow with the guard replaced by a pass-through, so the difference is what the guard node adds.

import { normalizeNotification, type NotificationType, type QumuloEvent } from '../core/event';
import { EXPECTED_ECHOES, type MutationKind } from '../core/qumulo/types';
import { GuardCore, LoopGuard } from '../core/guard/guard';

const LEDGER_ENTRIES = 50_000;
const BATCH = 1_000;
const TIGHT_EVENTS = 2_000_000;
const PACED_RATE = 100_000; // events per second
const PACED_SECONDS = 3;
const NODE_EVENTS = 100_000;

const ROOT = '/bench';

/**
 * The i-th event of the stream, built like the watcher builds it (fresh strings, so nothing is
 * pre-hashed or cache-warm): 1 in 20 is an echo of one of our locks, 1 in 20 a user writing to a
 * file we acted on (chain lookup, passes), the rest files we never touched.
 */
function eventAt(i: number, startAt: number): QumuloEvent {
  const roll = i % 20;
  let fileId: number;
  let type: NotificationType;
  if (roll === 0) {
    fileId = 1_000_000 + (i % LEDGER_ENTRIES);
    type = 'child_extra_attrs_changed';
  } else if (roll === 1) {
    fileId = 1_000_000 + ((i * 7) % LEDGER_ENTRIES);
    type = 'child_data_written';
  } else {
    fileId = 5_000_000 + i;
    type = (['child_file_added', 'child_data_written', 'child_size_changed', 'child_mtime_changed'] as const)[i % 4];
  }
  return normalizeNotification(
    { type, path: `d${fileId % 100}/f${fileId}.dat`, spine: ['2', String(10_000 + (fileId % 100)), String(fileId)], stream_name: null },
    { watchId: 'bench', watchRoot: ROOT, seq: i + 1, receivedAt: startAt + 1 + (i % 5_000) },
  );
}

function batchAt(first: number, count: number, startAt: number): QumuloEvent[] {
  const events: QumuloEvent[] = new Array(count);
  for (let i = 0; i < count; i++) events[i] = eventAt(first + i, startAt);
  return events;
}

function freshGuard(startAt: number): LoopGuard {
  const core = new GuardCore({ ledger: { maxEntries: LEDGER_ENTRIES } });
  for (let i = 0; i < LEDGER_ENTRIES; i++) {
    const fileId = 1_000_000 + i;
    const kind: MutationKind = 'lock';
    core.recordIntent({ kind, paths: [`${ROOT}/d${fileId % 100}/f${fileId}.dat`], fileIds: [String(fileId)], expectedTypes: [...EXPECTED_ECHOES[kind]] }, startAt);
  }
  return new LoopGuard(core, { hopLimit: 16 });
}

/** Machine-speed reference (the box may be shared): one Map lookup of a fresh id string in a 50,000-key map. */
function calibrate(): number {
  const startAt = Date.now();
  const map = new Map<string, number>();
  for (let i = 0; i < LEDGER_ENTRIES; i++) map.set(String(1_000_000 + i), i);
  let ns = 0;
  let found = 0;
  for (let first = 0; first < 1_000_000; first += BATCH) {
    const batch = batchAt(first, BATCH, startAt);
    const t0 = process.hrtime.bigint();
    for (const e of batch) if (map.get(e.fileId as string) !== undefined) found++;
    ns += Number(process.hrtime.bigint() - t0);
  }
  return found >= 0 ? ns / 1_000_000 : 0;
}

function coreTight(): { nsPerEvent: number; verdicts: Record<string, number> } {
  const startAt = Date.now();
  const guard = freshGuard(startAt);
  for (let first = 0; first < 200_000; first += BATCH) for (const e of batchAt(first, BATCH, startAt)) guard.evaluate(e); // warm-up
  const before = guard.counts();
  let ns = 0;
  for (let first = 200_000; first < 200_000 + TIGHT_EVENTS; first += BATCH) {
    const batch = batchAt(first, BATCH, startAt);
    const t0 = process.hrtime.bigint();
    for (const e of batch) guard.evaluate(e);
    ns += Number(process.hrtime.bigint() - t0);
  }
  const after = guard.counts();
  return {
    nsPerEvent: ns / TIGHT_EVENTS,
    verdicts: { passed: after.passed - before.passed, suppressed: after.suppressed - before.suppressed, tripped: after.tripped - before.tripped },
  };
}

/** Feeds PACED_RATE events/s in 1 ms slices (timers, no busy loop); time spent in the guard per event. */
async function corePaced(): Promise<{ nsPerEvent: number; cpuShare: number; events: number }> {
  const startAt = Date.now();
  const guard = freshGuard(startAt);
  let fed = 0;
  let guardNs = 0;
  const wallStart = process.hrtime.bigint();
  const end = wallStart + BigInt(PACED_SECONDS * 1e9);
  while (process.hrtime.bigint() < end) {
    // catch up with the schedule: the events due by now at PACED_RATE
    const due = Math.floor((Number(process.hrtime.bigint() - wallStart) / 1e9) * PACED_RATE);
    const count = Math.min(due - fed, 20 * (PACED_RATE / 1000));
    if (count > 0) {
      const batch = batchAt(fed, count, startAt);
      const t0 = process.hrtime.bigint();
      for (const e of batch) guard.evaluate(e);
      guardNs += Number(process.hrtime.bigint() - t0);
      fed += count;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const wallNs = Number(process.hrtime.bigint() - wallStart);
  return { nsPerEvent: guardNs / fed, cpuShare: guardNs / wallNs, events: fed };
}

interface TestHelper {
  init(nodeRedPath: string): void;
  load(nodes: unknown[], flow: unknown[], credentials?: unknown): Promise<void>;
  unload(): Promise<void>;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  getNode(id: string): { on(e: string, l: (msg: unknown) => void): void; receive(msg: unknown): void };
}

/** Node-level: NODE_EVENTS through source → [guard | pass-through] → sink, both in Node-RED. */
async function nodeLevel(): Promise<{ guardUs: number; passUs: number; addedUs: number }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const helper = require('node-red-node-test-helper') as TestHelper;
  helper.init(require.resolve('node-red'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const clusterNode = require('../nodes/qumulo-cluster');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const guardNode = require('../nodes/qumulo-loop-guard');
  // A pass-through with the same shape (three outputs, done()), so the difference is the guard's work.
  const passNode = (RED: { nodes: { createNode(n: unknown, c: unknown): void; registerType(t: string, f: unknown): void } }) => {
    function Pass(this: { on(e: string, f: (msg: unknown, send: (m: unknown[]) => void, done: () => void) => void): void }, config: unknown) {
      RED.nodes.createNode(this, config);
      this.on('input', (msg, send, done) => {
        send([msg, null, null]);
        done();
      });
    }
    RED.nodes.registerType('bench-pass', Pass);
  };
  const events = batchAt(0, NODE_EVENTS, Date.now());
  // The cluster config only provides the client the ledger attaches to; nothing connects to it.
  const cluster = { id: 'c1', type: 'qumulo-cluster', host: '127.0.0.1', port: '9', protocol: 'http' };
  const credentials = { c1: { username: 'bench', password: 'bench' } };

  async function run(middleType: string): Promise<number> {
    await helper.startServer();
    await helper.load(
      [clusterNode, guardNode, passNode],
      [cluster, { id: 'mid', type: middleType, cluster: 'c1', wires: [['sink'], [], []] }, { id: 'sink', type: 'helper' }],
      credentials,
    );
    const sink = helper.getNode('sink');
    const mid = helper.getNode('mid');
    let received = 0;
    const done = new Promise<void>((resolve) =>
      sink.on('input', () => {
        if (++received === events.length) resolve();
      }),
    );
    const t0 = process.hrtime.bigint();
    for (const payload of events) mid.receive({ payload });
    await done;
    const ns = Number(process.hrtime.bigint() - t0);
    await helper.unload();
    await helper.stopServer();
    return ns / events.length / 1000;
  }
  // Only events that pass reach the sink: use events the guard passes (no ledger entries here).
  const passUs = await run('bench-pass');
  const guardUs = await run('qumulo-loop-guard');
  return { guardUs, passUs, addedUs: guardUs - passUs };
}

async function main(): Promise<void> {
  const reference = calibrate();
  console.log(`ref   one Map.get of a fresh id in a 50,000-key map: ${reference.toFixed(0)} ns (machine speed reference; ~50-100 ns on an idle core)`);
  const tight = coreTight();
  console.log(`core  LoopGuard.evaluate, ledger ${LEDGER_ENTRIES.toLocaleString('en')} entries, ${TIGHT_EVENTS.toLocaleString('en')} events (tight loop):`);
  console.log(`      ${(tight.nsPerEvent / 1000).toFixed(3)} µs/event   verdicts ${JSON.stringify(tight.verdicts)}`);
  const paced = await corePaced();
  console.log(`core  paced at ${PACED_RATE.toLocaleString('en')} events/s for ${PACED_SECONDS} s (${paced.events.toLocaleString('en')} events):`);
  console.log(`      ${(paced.nsPerEvent / 1000).toFixed(3)} µs/event, ${(paced.cpuShare * 100).toFixed(1)} % of one core`);
  const node = await nodeLevel();
  console.log(`node  ${NODE_EVENTS.toLocaleString('en')} messages through Node-RED (node-red-node-test-helper):`);
  console.log(`      pass-through ${node.passUs.toFixed(2)} µs/msg, qumulo-loop-guard ${node.guardUs.toFixed(2)} µs/msg, added by the guard node ${node.addedUs.toFixed(2)} µs/msg`);
  const verdict = paced.nsPerEvent < 2_000 ? 'OK' : 'OVER BUDGET';
  console.log(`goal  < 2 µs/event added by the guard core at 100,000 events/s: ${verdict}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
