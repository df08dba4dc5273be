// Server-side scripts for the hot paths. Inside Node-RED the client's CPU is the bottleneck, and
// per-command work in the client (building, writing and decoding RESP) dominates: one script call
// that runs 500 XADDs, or returns only the fields the reader decodes, costs the client a fraction
// of 500 separate commands or of a full XREADGROUP reply. What ends up in Redis is exactly what
// the plain commands produce, so readers and writers with and without scripts mix freely.
//
// Scripts can be refused (an ACL without EVALSHA/EVAL, a managed Redis that disables them); the
// callers then fall back, once and for good, to the plain commands.
import { createHash } from 'node:crypto';
import type { RedisClient } from './connection';

export class RedisScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, or EVAL when the server does not have it cached yet (which caches it). */
  async run(client: RedisClient, key: string, args: Array<string | number>): Promise<unknown> {
    // One array argument (ioredis flattens it): no spread of thousands of arguments.
    const flat = args as unknown as string;
    try {
      return await client.evalsha(this.sha, 1, key, flat);
    } catch (err) {
      if (!/^NOSCRIPT\b/.test((err as Error)?.message ?? '')) throw err;
      return client.eval(this.source, 1, key, flat);
    }
  }
}

/**
 * Errors that say something about this moment (retry later), not about scripting being
 * unavailable: they fail the call like any other Redis error, without a fallback.
 */
const TRANSIENT_REPLY = /^(OOM|BUSY|LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|MOVED|ASK|NOREPLICAS|NOSCRIPT)\b/;

/** Redis answered a script call itself with an error that means "no scripts for you". */
export function scriptingRefused(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // Replies from the server (ioredis names them all ReplyError), not connection failures.
  if (err.name !== 'ReplyError') return false;
  return !TRANSIENT_REPLY.test(err.message);
}

/**
 * KEYS[1] = stream; ARGV[1] = MAXLEN ~ cap ("0" = no trim); then per entry: its field count n
 * and n field/value strings. Returns one reply per entry: the new id, or that XADD's error
 * (pcall), so a failure stays with its own entry.
 */
export const APPEND_SCRIPT = new RedisScript(`local key = KEYS[1]
local cap = ARGV[1]
local trim = cap ~= '0'
local out = {}
local i = 2
local last = #ARGV
while i <= last do
  local n = tonumber(ARGV[i])
  if trim then
    out[#out + 1] = redis.pcall('XADD', key, 'MAXLEN', '~', cap, '*', unpack(ARGV, i + 1, i + n))
  else
    out[#out + 1] = redis.pcall('XADD', key, '*', unpack(ARGV, i + 1, i + n))
  end
  i = i + n + 1
end
return out`);

/**
 * KEYS[1] = stream; ARGV = group, consumer, count. A non-blocking `XREADGROUP … >` that returns
 * `[id, eventJson, id, eventJson, …]`: only what the reader decodes. For an entry that is not a
 * version-1 entry with an `event` field the JSON is false (nil): the reader fetches it in full.
 * (Last duplicate field wins, as in decodeEvent.)
 */
export const READ_SCRIPT = new RedisScript(`local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[1], '>')
local out = {}
if not reply then return out end
for _, entry in ipairs(reply[1][2]) do
  local fields = entry[2]
  local version, event = nil, nil
  if fields then
    for i = 1, #fields, 2 do
      local name = fields[i]
      if name == 'v' then version = fields[i + 1] elseif name == 'event' then event = fields[i + 1] end
    end
  end
  out[#out + 1] = entry[1]
  if version == '1' and event then out[#out + 1] = event else out[#out + 1] = false end
end
return out`);
