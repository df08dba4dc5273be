// The "cluster" of bench:latency and bench:soak, in its own process (as a real cluster would be,
// and so the simulator does not share an event loop with Node-RED): the simulator with a fixed
// latency per REST answer, and a file creator that makes files at a fixed rate and has the
// simulator report each one at once. Each file's name carries its creation time (µs since the
// epoch), so the Node-RED side measures creation → lock from the name alone.
//   node dist/bench/latency-cluster.js <root> <latencyMs> <dir>...
// Prints one JSON line {"port": N} when listening. Then reads commands, one JSON per line:
//   {"run": "<dir>", "rate": files/s, "seconds": S}  → creates files in <dir>, prints {"created": N}
//   {"stop": true}                                   → exits.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { QumuloSimulator } from '../sim/index';

/** Files per sub-directory, so no directory grows past what a listing handles comfortably. */
const FILES_PER_DIR = 1000;
const TICK_MS = 2;

async function main(): Promise<void> {
  const [root, latencyText, ...dirs] = process.argv.slice(2);
  for (const dir of dirs) fs.mkdirSync(path.join(root, dir), { recursive: true });
  const sim = new QumuloSimulator({ host: '127.0.0.1', port: 0, root, latencyMs: Number(latencyText), watchDisk: false, streamBufferLimit: 1_000_000 });
  await sim.start();
  process.stdout.write(JSON.stringify({ port: sim.port }) + '\n');
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const command = JSON.parse(line) as { run?: string; rate?: number; seconds?: number; stop?: boolean };
    if (command.stop) break;
    if (command.run) {
      const created = await createAtRate(sim, command.run, command.rate ?? 500, command.seconds ?? 10);
      process.stdout.write(JSON.stringify({ created }) + '\n');
    }
  }
  await sim.stop();
  process.exit(0);
}

/** Creates `rate` files per second for `seconds`, on a fixed schedule (catching up after a late tick). */
function createAtRate(sim: QumuloSimulator, dir: string, rate: number, seconds: number): Promise<number> {
  const total = Math.round(rate * seconds);
  let created = 0;
  const started = performance.now();
  return new Promise((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000));
      const batch: string[] = [];
      for (; created < due; created++) {
        const sub = Math.floor(created / FILES_PER_DIR); // a new sub-directory is created and reported with its first file
        const createdUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
        batch.push(`${dir}/s${sub}/f${created}_${createdUs}.dat`);
      }
      if (batch.length > 0) sim.createFilesNow(batch);
      if (created >= total) {
        clearInterval(timer);
        resolve(created);
      }
    };
    const timer = setInterval(tick, TICK_MS);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
