// Server-side scripts for the hot paths. Inside Node-RED the client's CPU is the bottleneck, and
// per-command and per-element work in the client (building, writing and decoding RESP) dominates:
// one script call that runs a batch of XADDs, or returns only the fields the reader decodes,
// costs the client a fraction of separate commands or of a full XREADGROUP reply (Redis pays
// more instead: the Lua around each XADD costs it more than the XADD itself). What ends up in
// Redis is exactly what the plain commands produce, so readers and writers with and without
// scripts mix freely. The scripts use Lua's struct library, which Redis (and Valkey) include.
//
// Scripts can be refused (an ACL without EVALSHA/EVAL, a managed Redis that disables them); the
// callers then fall back, once and for good, to the plain commands.
import { createHash } from 'node:crypto';
import type { RedisClient } from './connection';
import { ENCODING_VERSION, FIELD_EVENT, FIELD_PATH, FIELD_TYPE, FIELD_VERSION } from './encoding';

export class RedisScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, or EVAL when the server does not have it cached yet (which caches it). */
  async run(client: RedisClient, key: string, args: Array<string | number | Buffer>): Promise<unknown> {
    // One array argument (ioredis flattens it): no spread of thousands of arguments.
    const flat = args as unknown as string;
    try {
      return await client.evalsha(this.sha, 1, key, flat);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return client.eval(this.source, 1, key, flat);
    }
  }

  /** Same as run() with several keys (all in one cluster slot). */
  async runKeys(client: RedisClient, keys: string[], args: Array<string | number | Buffer>): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }

  /** Same as run(), with bulk-string replies as Buffers (no string per reply element). */
  async runBuffer(client: RedisClient, key: string, args: Array<string | number | Buffer>): Promise<unknown> {
    try {
      return await client.callBuffer('EVALSHA', [this.sha, 1, key, ...args]);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return client.callBuffer('EVAL', [this.source, 1, key, ...args]);
    }
  }
}

function isNoScript(err: unknown): boolean {
  return /^NOSCRIPT\b/.test((err as Error)?.message ?? '');
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

// The batch going in and the entries coming out each travel as ONE packed string: per entry a
// fixed binary header of lengths (Lua's struct library reads it) followed by the bytes. The
// client then builds or decodes one bulk string per call instead of thousands of RESP elements,
// which is most of what ioredis spends per event (string building, per-element decoding).

/** Bytes of an append record's header: shape (1) + three big-endian uint32 lengths. */
const APPEND_HEADER = 13;
/** Bytes of a read record's header: kind (1) + two big-endian uint32 lengths. */
const READ_HEADER = 9;

/** One entry to append: the parts of entryFields() (type/path only when the event has them). */
export interface AppendRecord {
  json: string;
  type: string | undefined;
  path: string | undefined;
}

/**
 * Packs a batch for APPEND_SCRIPT: per entry `shape, len(type), len(path), len(json)` then the
 * bytes; shape bit 1 = has type, bit 2 = has path (an absent part has length 0).
 */
export function packAppendBatch(records: readonly AppendRecord[]): Buffer {
  let size = 0;
  for (const record of records) {
    size += APPEND_HEADER + Buffer.byteLength(record.json);
    if (record.type !== undefined) size += Buffer.byteLength(record.type);
    if (record.path !== undefined) size += Buffer.byteLength(record.path);
  }
  const buffer = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const record of records) {
    const header = offset;
    offset += APPEND_HEADER;
    const typeLength = record.type === undefined ? 0 : buffer.write(record.type, offset);
    offset += typeLength;
    const pathLength = record.path === undefined ? 0 : buffer.write(record.path, offset);
    offset += pathLength;
    const jsonLength = buffer.write(record.json, offset);
    offset += jsonLength;
    buffer[header] = (record.type !== undefined ? 1 : 0) + (record.path !== undefined ? 2 : 0);
    buffer.writeUInt32BE(typeLength, header + 1);
    buffer.writeUInt32BE(pathLength, header + 5);
    buffer.writeUInt32BE(jsonLength, header + 9);
  }
  return buffer;
}

/**
 * KEYS[1] = stream; ARGV[1] = MAXLEN ~ cap ("0" = no trim); ARGV[2] = packAppendBatch(); with a
 * fence, KEYS[2] = lease hash and ARGV[3] = the writer's token: unless it is the lease's current
 * token nothing is appended and the reply is "#FENCED <current token>" (see core/scale/lease.ts). The
 * field names and their order are the stored encoding's (encoding.ts), so the entries are
 * exactly what plain XADD of encodeEvent() writes. Returns one line per entry, joined by "\n"
 * (one bulk string rather than an array of ids, which costs the client a string per element to
 * decode): the new id, or "!" and that XADD's error (pcall), so a failure stays with its entry.
 */
export const APPEND_SCRIPT = new RedisScript(`local key = KEYS[1]
if KEYS[2] then
  local current = redis.call('HGET', KEYS[2], 'token')
  if current ~= ARGV[3] then return '#FENCED ' .. tostring(current) end
end
local cap = ARGV[1]
local data = ARGV[2]
local trim = cap ~= '0'
local function xadd(...)
  if trim then return redis.pcall('XADD', key, 'MAXLEN', '~', cap, '*', ...) end
  return redis.pcall('XADD', key, '*', ...)
end
local out = {}
local n = 0
local function keep(reply)
  n = n + 1
  if type(reply) == 'table' then out[n] = '!' .. (string.gsub(tostring(reply.err), '\\n', ' ')) else out[n] = reply end
end
local pos, size = 1, #data
while pos <= size do
  local shape, tl, pl, jl, at = struct.unpack('>BI4I4I4', data, pos)
  local t = string.sub(data, at, at + tl - 1)
  local p = string.sub(data, at + tl, at + tl + pl - 1)
  local j = string.sub(data, at + tl + pl, at + tl + pl + jl - 1)
  pos = at + tl + pl + jl
  if shape == 3 then keep(xadd('${FIELD_VERSION}', '${ENCODING_VERSION}', '${FIELD_TYPE}', t, '${FIELD_PATH}', p, '${FIELD_EVENT}', j))
  elseif shape == 1 then keep(xadd('${FIELD_VERSION}', '${ENCODING_VERSION}', '${FIELD_TYPE}', t, '${FIELD_EVENT}', j))
  elseif shape == 2 then keep(xadd('${FIELD_VERSION}', '${ENCODING_VERSION}', '${FIELD_PATH}', p, '${FIELD_EVENT}', j))
  else keep(xadd('${FIELD_VERSION}', '${ENCODING_VERSION}', '${FIELD_EVENT}', j)) end
end
return table.concat(out, '\\n')`);

/** Splits APPEND_SCRIPT's reply into one entry id or Error per appended entry, in order. */
export function unpackAppendReply(reply: string): Array<string | Error> {
  return reply.split('\n').map((line) => (line.startsWith('!') ? appendError(line.slice(1)) : line));
}

function appendError(message: string): Error {
  const err = new Error(message);
  err.name = 'ReplyError'; // as ioredis names the errors Redis returns
  return err;
}

/**
 * KEYS[1] = stream; ARGV = group, consumer, count. A non-blocking `XREADGROUP … >` whose reply
 * is one packed string: per entry `kind, len(id), len(json)` then the id and the `event` JSON.
 * kind 1 = a version-1 entry with its JSON; kind 0 = anything else (no JSON follows): the
 * reader fetches that entry in full. Empty string: nothing new. (Last duplicate field wins, as
 * in decodeEvent.)
 */
export const READ_SCRIPT = new RedisScript(`local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[1], '>')
if not reply then return '' end
local out = {}
for _, entry in ipairs(reply[1][2]) do
  local id, fields = entry[1], entry[2]
  local version, event = nil, nil
  if fields then
    for i = 1, #fields, 2 do
      local name = fields[i]
      if name == '${FIELD_VERSION}' then version = fields[i + 1] elseif name == '${FIELD_EVENT}' then event = fields[i + 1] end
    end
  end
  if version == '${ENCODING_VERSION}' and event then
    out[#out + 1] = struct.pack('>BI4I4', 1, #id, #event)
    out[#out + 1] = id
    out[#out + 1] = event
  else
    out[#out + 1] = struct.pack('>BI4I4', 0, #id, 0)
    out[#out + 1] = id
  end
end
return table.concat(out)`);

/**
 * Unpacks READ_SCRIPT's reply into `[id, json, id, json, …]`; json is null for an entry the
 * reader must fetch in full.
 */
export function unpackReadReply(reply: Buffer): Array<string | null> {
  const list: Array<string | null> = [];
  let offset = 0;
  while (offset + READ_HEADER <= reply.length) {
    const kind = reply[offset];
    const idLength = reply.readUInt32BE(offset + 1);
    const jsonLength = reply.readUInt32BE(offset + 5);
    offset += READ_HEADER;
    list.push(reply.toString('latin1', offset, offset + idLength));
    offset += idLength;
    if (kind === 1) {
      list.push(reply.toString('utf8', offset, offset + jsonLength));
      offset += jsonLength;
    } else {
      list.push(null);
    }
  }
  return list;
}
