// Small helpers shared by the Redis specs and the Redis benchmark: numbered watch-shaped events,
// polling until a condition holds, and counting what a sink file received.
import * as fs from 'node:fs';
import type { QumuloEvent } from '../../core/event';
import { fileEvent } from './events';

/** A watch-shaped event numbered `seq` (the numbers let specs check loss and order). */
export function makeEvent(seq: number, watchId = 'watch-1'): QumuloEvent {
  const fileId = String(1_000_000 + seq);
  return fileEvent(`dir/file-${seq}.txt`, {
    watchRoot: '/watched',
    fileId,
    spine: ['2', '3', fileId],
    watchId,
    seq,
    receivedAt: 1_760_000_000_000 + seq,
  });
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

/**
 * Server-side seeding for big backlogs: a Lua script XADDs events `from`..`to` in the stored
 * encoding (v, type, path, event) with exactly makeEvent(seq)'s JSON. Much faster than sending
 * a million events from a client on a busy machine; callers should spot-check with decodeEvent.
 */
const SEED_SCRIPT = `
local key = KEYS[1]
local from = tonumber(ARGV[1])
local to = tonumber(ARGV[2])
for seq = from, to do
  local n = string.format('%.0f', seq)
  local name = 'file-' .. n .. '.txt'
  local fid = string.format('%.0f', 1000000 + seq)
  local path = '/watched/dir/' .. name
  local json = '{"type":"child_file_added","path":"' .. path .. '","relativePath":"dir/' .. name ..
    '","name":"' .. name .. '","extension":"txt","parentDir":"/watched/dir","fileId":"' .. fid ..
    '","spine":["2","3","' .. fid .. '"],"isDirectory":false,"streamName":null,"watchId":"watch-1","watchRoot":"/watched","seq":' ..
    n .. ',"receivedAt":' .. string.format('%.0f', 1760000000000 + seq) .. '}'
  redis.call('XADD', key, '*', 'v', '1', 'type', 'child_file_added', 'path', path, 'event', json)
end
return to - from + 1
`;

/** Minimal client surface needed by seedStream (ioredis Redis satisfies it). */
export interface EvalClient {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/** Appends makeEvent(from)..makeEvent(from + count - 1) to `key`, 50,000 per script call. */
export async function seedStream(client: EvalClient, key: string, count: number, from = 1): Promise<void> {
  const chunk = 50_000;
  for (let start = from; start < from + count; start += chunk) {
    const end = Math.min(from + count - 1, start + chunk - 1);
    await client.eval(SEED_SCRIPT, 1, key, start, end);
  }
}

/** Minimal client surface for groupProgress (ioredis Redis satisfies it). */
export interface XinfoClient {
  xinfo(subcommand: 'GROUPS', key: string): Promise<unknown>;
}

/** entries-read (Redis 7) and pending of one consumer group; zeros while it does not exist. */
export async function groupProgress(redis: XinfoClient, key: string, group: string): Promise<{ read: number; pending: number }> {
  try {
    const groups = (await redis.xinfo('GROUPS', key)) as unknown[][];
    for (const entry of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < entry.length; i += 2) info.set(String(entry[i]), entry[i + 1]);
      if (info.get('name') === group) return { read: Number(info.get('entries-read') ?? 0), pending: Number(info.get('pending') ?? 0) };
    }
  } catch {
    // stream or group not created yet
  }
  return { read: 0, pending: 0 };
}

/** Lines written so far to a sink file (one event per line); 0 while it does not exist. */
export function countLines(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const buffer = fs.readFileSync(file);
  let count = 0;
  for (let i = 0; i < buffer.length; i++) if (buffer[i] === 10) count++;
  return count;
}
