// `npm run bench:watch`: events per second from the simulator through a qumulo-watch node to a
// sink node in a real (embedded) Node-RED runtime, and, for comparison, from the simulator to a
// bare NotifySubscription. Simulator, runtime and bench share one process (and CPU), so the
// figures are a floor for the watch path, not a ceiling of what a cluster can send.
//
// Env: BENCH_EVENTS (default 50000).

import { setImmediate as nextTurn } from 'node:timers/promises';
import { QumuloClient } from '../core/qumulo/client';
import { NotifySubscription } from '../core/qumulo/subscription';
import { watchRegistry } from '../core/watch/registry';
import { startRuntime } from '../test/support/runtime';
import { createSinkNodes } from '../test/support/sink';
import { type TestSim, startSim } from '../test/support/sim';
import { ranOn } from './ran-on';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const WINDOW = 2_000;

/** Emits `count` notifications, never more than WINDOW ahead of what the reader has taken. */
async function emit(sim: TestSim, dir: string, count: number, readSoFar: () => number): Promise<void> {
  let emitted = 0;
  while (emitted < count) {
    if (emitted - readSoFar() < WINDOW) {
      for (let k = 0; k < 200 && emitted < count; k++) {
        emitted++;
        sim.sim.notify(`${dir}/e${emitted}`, 'child_file_added');
      }
    }
    await nextTurn();
  }
}

async function waitFor(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((r) => setTimeout(r, 5));
}

async function benchSubscription(sim: TestSim): Promise<number> {
  const client = new QumuloClient(sim.clientOptions());
  const sub = new NotifySubscription({ client, ref: '/core', watchId: 'bench' });
  let received = 0;
  sub.on('event', () => received++);
  sub.start();
  await waitFor(() => sub.status.state === 'watching');
  const started = process.hrtime.bigint();
  await emit(sim, 'core', EVENTS, () => received);
  await waitFor(() => received >= EVENTS);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  sub.close();
  await client.close();
  return EVENTS / seconds;
}

async function benchWatchNode(sim: TestSim): Promise<number> {
  const sinks = createSinkNodes();
  const runtime = await startRuntime({ extraNodesDirs: [sinks.dir] });
  try {
    await runtime.deploy(
      [
        { id: 'tab', type: 'tab', label: 'bench' },
        { id: 'c1', type: 'qumulo-cluster', host: sim.host, port: String(sim.port), protocol: 'http' },
        { id: 'w1', type: 'qumulo-watch', z: 'tab', cluster: 'c1', path: '/node', recursive: true, types: [], x: 100, y: 100, wires: [['s1']] },
        { id: 's1', type: 'qumulo-test-sink', z: 'tab', x: 300, y: 100, wires: [] },
      ],
      'full',
      { c1: { username: 'admin', password: 'admin' } },
    );
    await waitFor(() => watchRegistry.list().some((w) => w.status.state === 'watching'));
    const received = () => sinks.messages('s1').length;
    const started = process.hrtime.bigint();
    await emit(sim, 'node', EVENTS, received);
    await waitFor(() => received() >= EVENTS);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return EVENTS / seconds;
  } finally {
    await runtime.stop();
    watchRegistry.closeAll();
    sinks.cleanup();
  }
}

async function main(): Promise<void> {
  const sim = await startSim({ files: { 'core/': '', 'node/': '' } });
  try {
    console.log(`qumulo-flow watch benchmark: ${EVENTS} events, ${ranOn()}, one process`);
    const core = await benchSubscription(sim);
    console.log(`  simulator → NotifySubscription:                  ${Math.round(core).toLocaleString('en-US')} events/s`);
    const node = await benchWatchNode(sim);
    console.log(`  simulator → qumulo-watch → sink (Node-RED):      ${Math.round(node).toLocaleString('en-US')} events/s`);
  } finally {
    await sim.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
