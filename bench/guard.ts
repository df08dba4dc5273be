// Loop-guard overhead: what the guard adds per event.
//   npm run bench:guard
// 1. Core: LoopGuard.evaluate over a full ledger (50,000 intents, its default cap: ~1,000 actions/s
//    kept for the retention time), with a realistic mix of events: most on files we never touched,
//    some echoes of our own writes, some on files with an active chain. Reported per event, from a
//    tight loop and from a paced run at 100,000 events/s (CPU time used / events).
// 2. Node: the same events through a deployed qumulo-loop-guard node in Node-RED versus the same
//    flow with the guard replaced by a pass-through, so the difference is what the guard node adds.

import { normalizeNotification, type NotificationType, type QumuloEvent } from '../core/event';
import { EXPECTED_ECHOES, type MutationKind } from '../core/qumulo/types';
import { GuardCore, LoopGuard } from '../core/guard/guard';

const LEDGER_ENTRIES = 50_000;
const EVENT_POOL = 200_000;
const TIGHT_EVENTS = 2_000_000;
const PACED_RATE = 100_000; // events per second
const PACED_SECONDS = 3;
const NODE_EVENTS = 100_000;

const ROOT = '/bench';

function buildEvents(startAt: number): QumuloEvent[] {
  const events: QumuloEvent[] = [];
  const types: NotificationType[] = ['child_file_added', 'child_data_written', 'child_size_changed', 'child_mtime_changed'];
  for (let i = 0; i < EVENT_POOL; i++) {
    const roll = i % 20;
    let fileId: number;
    let type: NotificationType;
    if (roll === 0) {
      // an echo of one of our locks
      fileId = 1_000_000 + (i % LEDGER_ENTRIES);
      type = 'child_extra_attrs_changed';
    } else if (roll === 1) {
      // a user writing to a file we acted on (not an echo type): chain lookup, passes
      fileId = 1_000_000 + ((i * 7) % LEDGER_ENTRIES);
      type = 'child_data_written';
    } else {
      // the bulk: files we never touched
      fileId = 5_000_000 + i;
      type = types[i % types.length];
    }
    const rel = `d${fileId % 100}/f${fileId}.dat`;
    events.push(
      normalizeNotification(
        { type, path: rel, spine: ['2', String(10_000 + (fileId % 100)), String(fileId)], stream_name: null },
        { watchId: 'bench', watchRoot: ROOT, seq: i + 1, receivedAt: startAt + 1 + (i % 5_000) },
      ),
    );
  }
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

function coreTight(): { nsPerEvent: number; verdicts: Record<string, number> } {
  const startAt = Date.now();
  const events = buildEvents(startAt);
  const guard = freshGuard(startAt);
  for (let i = 0; i < 200_000; i++) guard.evaluate(events[i % EVENT_POOL]); // warm-up
  const before = guard.counts();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < TIGHT_EVENTS; i++) guard.evaluate(events[i % EVENT_POOL]);
  const elapsed = Number(process.hrtime.bigint() - t0);
  const after = guard.counts();
  return {
    nsPerEvent: elapsed / TIGHT_EVENTS,
    verdicts: { passed: after.passed - before.passed, suppressed: after.suppressed - before.suppressed, tripped: after.tripped - before.tripped },
  };
}

/** Feeds PACED_RATE events/s in 1 ms slices (timers, no busy loop); CPU time of the guard per event. */
async function corePaced(): Promise<{ nsPerEvent: number; cpuShare: number; events: number }> {
  const startAt = Date.now();
  const events = buildEvents(startAt);
  const guard = freshGuard(startAt);
  const perSlice = PACED_RATE / 1000;
  let fed = 0;
  let guardNs = 0;
  const wallStart = process.hrtime.bigint();
  const end = Number(wallStart) + PACED_SECONDS * 1e9;
  while (Number(process.hrtime.bigint()) < end) {
    // catch up to the schedule: events due by now at PACED_RATE
    const due = Math.floor((Number(process.hrtime.bigint() - wallStart) / 1e9) * PACED_RATE);
    const batch = Math.min(due - fed, perSlice * 20);
    if (batch > 0) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) guard.evaluate(events[(fed + i) % EVENT_POOL]);
      guardNs += Number(process.hrtime.bigint() - t0);
      fed += batch;
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
  const startAt = Date.now();
  const events = buildEvents(startAt).slice(0, NODE_EVENTS);
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
