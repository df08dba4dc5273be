// npm run bench:heal — how long a heal takes on a tree of 100,000 files after 1,000 changes
// (400 files created, 400 written, 100 deleted, 100 renamed), through the snapshot diff and
// through the tree walk, against the simulator over real HTTP on loopback.
//
//   diff           checkpoint before the changes; the heal takes a new snapshot and pages through
//                  changes-since (the live ledger covers the window: no attribute lookups)
//   diff, restart  the same after a Node-RED restart: nothing was seen live in this process, so
//                  every created/modified path is looked up in the new snapshot (dedup by time)
//   walk           paged listings of every directory, 4 in flight, entries timed inside the window
//
// Options (env): BENCH_DIRS (default 100), BENCH_FILES_PER_DIR (default 1000), BENCH_CHANGES
// (default 1000), BENCH_RUNS (default 1: one heal of each kind per run, best time printed).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CheckpointKeeper } from '../core/heal/checkpoints';
import { healByDiff, type HealTally } from '../core/heal/diff';
import { LiveLedger } from '../core/heal/ledger';
import type { BlindWindow, CheckpointRef, WatchScope } from '../core/heal/types';
import { healByWalk } from '../core/heal/walk';
import { QumuloClient } from '../core/qumulo/client';
import { QumuloSimulator } from '../sim/index';
import { ranOn } from './ran-on';

const DIRS = Number(process.env.BENCH_DIRS ?? 100);
const FILES_PER_DIR = Number(process.env.BENCH_FILES_PER_DIR ?? 1000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 1000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 1));
// File-system timestamps trail Date.now() by a few ms (coarse kernel clock): the heal looks back
// this far, as the watch node does with its (default 5 s) tolerance.
const TOLERANCE_MS = 1_000;

interface Measurement {
  label: string;
  ms: number;
  tally: HealTally;
  note: string;
}

function buildTree(root: string): void {
  for (let d = 0; d < DIRS; d++) {
    const dir = path.join(root, `d${String(d).padStart(3, '0')}`);
    fs.mkdirSync(dir);
    for (let f = 0; f < FILES_PER_DIR; f++) fs.writeFileSync(path.join(dir, `f${String(f).padStart(4, '0')}.dat`), '');
  }
}

/** The 1,000 changes: 40 % created, 40 % written, 10 % deleted, 10 % renamed, spread over the tree. */
function changeTree(root: string, round: number): { created: number; written: number; deleted: number; renamed: number } {
  const counts = { created: 0, written: 0, deleted: 0, renamed: 0 };
  const file = (i: number) => path.join(root, `d${String(i % DIRS).padStart(3, '0')}`, `f${String((Math.floor(i / DIRS) + round * 50) % FILES_PER_DIR).padStart(4, '0')}.dat`);
  for (let i = 0; i < CHANGES; i++) {
    const kind = i % 10;
    if (kind < 4) {
      fs.writeFileSync(path.join(root, `d${String(i % DIRS).padStart(3, '0')}`, `new-r${round}-${i}.dat`), 'new');
      counts.created++;
    } else if (kind < 8) {
      fs.writeFileSync(file(i), `written in round ${round}`);
      counts.written++;
    } else if (kind === 8) {
      fs.rmSync(file(i), { force: true });
      counts.deleted++;
    } else {
      const from = file(i);
      if (fs.existsSync(from)) fs.renameSync(from, from.replace(/\.dat$/, `.renamed-r${round}.dat`));
      counts.renamed++;
    }
  }
  return counts;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-bench-heal-'));
  const sim = new QumuloSimulator({ root, watchDisk: false });
  let liveClient: QumuloClient | null = null;
  try {
    const built = Date.now();
    buildTree(root);
    await sim.start();
    liveClient = new QumuloClient({ host: '127.0.0.1', port: sim.port, protocol: 'http', username: 'admin', password: 'admin' });
    const api = liveClient;
    console.log(`tree: ${DIRS * FILES_PER_DIR} files in ${DIRS} directories (built in ${Date.now() - built} ms); ${CHANGES} changes per heal; ${ranOn()}`);

    const scope: WatchScope = { watchId: 'bench', watchRoot: '/', recursive: true, types: null };
    const keeper = new CheckpointKeeper({ client: () => api, sourcePath: () => '/', suffix: 'qumulo-flow-checkpoint-bench', expiryMs: 3600_000 });
    const best = new Map<string, Measurement>();
    const keep = (m: Measurement) => {
      const old = best.get(m.label);
      if (!old || m.ms < old.ms) best.set(m.label, m);
    };

    for (let run = 0; run < RUNS; run++) {
      // Diff: checkpoint, changes, heal. Twice: with a live ledger, and as after a restart.
      for (const restart of [false, true]) {
        const baseline = await keeper.take();
        await sleep(TOLERANCE_MS + 100); // the window starts after the checkpoint and the tree's creation
        const start = Date.now();
        changeTree(root, run * 3 + (restart ? 1 : 0));
        const window: BlindWindow = { start, end: Date.now(), reason: restart ? 'restart' : 'error', detail: 'bench' };
        const began = performance.now();
        const snapshot: CheckpointRef = await keeper.take(baseline);
        const snapshotMs = performance.now() - began;
        let seq = 0;
        let emitted = 0;
        const tally = await healByDiff({
          client: api,
          scope,
          window,
          lookedFrom: start - TOLERANCE_MS,
          toleranceMs: TOLERANCE_MS,
          // A ledger started before the checkpoint covers it; one started now (a restart) does not.
          ledger: new LiveLedger(restart ? Date.now() : 0),
          baseline,
          snapshot,
          emit: (events) => (emitted += events.length),
          nextSeq: () => ++seq,
        });
        const ms = performance.now() - began;
        keep({ label: restart ? 'diff, after a restart' : 'diff', ms, tally, note: `snapshot ${snapshotMs.toFixed(0)} ms + diff paging${restart ? ' + attribute lookups' : ''}; ${emitted} events` });
      }
      // Walk: the same kind of changes, found by listing the tree.
      await sleep(TOLERANCE_MS + 100);
      const start = Date.now();
      changeTree(root, run * 3 + 2);
      const window: BlindWindow = { start, end: Date.now(), reason: 'error', detail: 'bench' };
      const began = performance.now();
      let seq = 0;
      let emitted = 0;
      const tally = await healByWalk({
        client: api,
        scope,
        window,
        lookedFrom: start - TOLERANCE_MS,
        toleranceMs: TOLERANCE_MS,
        ledger: new LiveLedger(0),
        emit: (events) => (emitted += events.length),
        nextSeq: () => ++seq,
      });
      keep({ label: 'walk', ms: performance.now() - began, tally, note: `${tally.scanned} entries listed; ${emitted} events (no deletions: a walk cannot see them)` });
    }

    console.log('');
    console.log('method                  heal time   found  emitted  created modified deleted');
    for (const m of best.values()) {
      const c = m.tally.counts;
      console.log(
        `${m.label.padEnd(22)} ${(m.ms / 1000).toFixed(2).padStart(8)} s ${String(m.tally.found).padStart(7)} ${String(m.tally.entries).padStart(8)} ${String(c.created).padStart(8)} ${String(c.modified).padStart(8)} ${String(c.deleted).padStart(7)}   ${m.note}`,
      );
    }
    await keeper.removeAll();
  } finally {
    await liveClient?.close();
    await sim.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
