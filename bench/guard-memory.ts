// The loop guard's memory over time, without the rest of the pipeline: npm run bench:guard-memory
// [-- <files/s> <seconds>] (200 and 1,200 by default). One GuardCore and LoopGuard (the soak's
// settings) see, per new file, its added event and then the lock's intent, as in bench:soak, on a
// simulated clock (20 minutes take seconds). The heap after a full gc is printed every simulated
// minute with the ledger's and chains' sizes: it grows until their caps (50,000 each) and must be
// flat from shortly after (the Map hash tables double once more as deletions fill them).
import { normalizeNotification } from '../core/event';
import { EXPECTED_ECHOES } from '../core/qumulo/types';
import { GuardCore, LoopGuard } from '../core/guard/guard';
import { ranOn } from './ran-on';

const RATE = Number(process.argv[2] ?? 200);
const SECONDS = Number(process.argv[3] ?? 1200);

function main(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench:guard-memory does)');
  let now = 1_700_000_000_000;
  const core = new GuardCore({ ledger: { retentionMs: 10 * 60_000 } }, () => now);
  const guard = new LoopGuard(core, { fileBreaker: { threshold: 60, windowMs: 60_000, cooldownMs: 60_000 } });
  const lockTypes = [...EXPECTED_ECHOES.lock];
  let seq = 0;
  const lines: string[] = [];
  const heapAt: Array<[number, number]> = [];
  for (let second = 0; second < SECONDS; second++) {
    for (let i = 0; i < RATE; i++) {
      const n = second * RATE + i;
      const relative = `redis/m${Math.floor(second / 60)}/s${Math.floor(n / 1000)}/f${n}_${now}000.dat`;
      const fileId = String(100_000 + n);
      const event = normalizeNotification({ type: 'child_file_added', path: relative, spine: ['2', '100', fileId], stream_name: null }, { watchId: 'watch', watchRoot: '/', seq: ++seq, receivedAt: now });
      if (guard.evaluate(event, ['lock-new-files']).verdict !== 'passed') throw new Error(`a new file was not passed: ${relative}`);
      core.recordIntent({ kind: 'lock', paths: ['/' + relative], fileIds: [fileId], expectedTypes: lockTypes });
      now += 1000 / RATE;
    }
    if ((second + 1) % 60 === 0) {
      gc();
      const heapMb = process.memoryUsage().heapUsed / 1e6;
      heapAt.push([second + 1, heapMb]);
      lines.push(`  ${String((second + 1) / 60).padStart(3)} min: heap after gc ${heapMb.toFixed(1)} MB; ledger ${core.ledger.size}, chains ${core.chains.size}`);
    }
  }
  console.log(`qumulo-flow guard memory — ${ranOn()} (${RATE} new files/s for ${SECONDS} simulated s: an added event and a lock intent per file)`);
  for (const line of lines) console.log(line);
  const lastHalf = heapAt.filter(([t]) => t > SECONDS / 2).map(([, mb]) => mb);
  if (lastHalf.length > 0) console.log(`  second half: heap after gc ${Math.min(...lastHalf).toFixed(1)}–${Math.max(...lastHalf).toFixed(1)} MB`);
}

main();
