// Small helpers shared by the Redis specs and the Redis benchmark: numbered watch-shaped events
// and polling until a condition holds.
import type { QumuloEvent } from '../../core/event';

/** A watch-shaped event numbered `seq` (the numbers let specs check loss and order). */
export function makeEvent(seq: number, watchId = 'watch-1'): QumuloEvent {
  const name = `file-${seq}.txt`;
  return {
    type: 'child_file_added',
    path: `/watched/dir/${name}`,
    relativePath: `dir/${name}`,
    name,
    extension: 'txt',
    parentDir: '/watched/dir',
    fileId: String(1_000_000 + seq),
    spine: ['2', '3', String(1_000_000 + seq)],
    isDirectory: false,
    streamName: null,
    watchId,
    watchRoot: '/watched',
    seq,
    receivedAt: 1_760_000_000_000 + seq,
  };
}

/** Polls `condition` every `intervalMs` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
