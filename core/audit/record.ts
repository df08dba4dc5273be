// Turns an action result (msg.result / msg.results of the action nodes) into audit records.

import * as crypto from 'node:crypto';
import * as os from 'node:os';
import type { AuditRecord } from './log';

/** Fields of a result that are the action's own parameters (not the common result fields). */
const COMMON_FIELDS = new Set(['action', 'path', 'outcome', 'detail', 'durationMs', 'fileId', 'dryRun', 'refusedBy', 'error']);
const MAX_FIELD = 4096;

let instance: string | null = null;

/** sha256 hex of a short text: Node's one-shot crypto.hash (20.12+) costs a quarter of createHash's object per call. */
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : (text) => crypto.createHash('sha256').update(text).digest('hex');

/** QUMULO_FLOW_INSTANCE or the host name (read once: os.hostname() is a system call). */
export function instanceName(): string {
  instance ??= process.env.QUMULO_FLOW_INSTANCE || os.hostname();
  return instance;
}

let lastTime = 0;
let lastIso = '';

/** now.toISOString(), reused while the millisecond is the same (results often come several per ms). */
function isoTime(now: Date): string {
  const ms = now.getTime();
  if (ms !== lastTime) {
    lastTime = ms;
    lastIso = now.toISOString();
  }
  return lastIso;
}

interface MessageLike {
  _msgid?: unknown;
  payload?: unknown;
  result?: unknown;
  results?: unknown;
  rules?: unknown;
  redis?: unknown;
}

function text(value: unknown, fallback = ''): string {
  const s = typeof value === 'string' ? value : value === undefined || value === null ? fallback : String(value);
  return s.length > MAX_FIELD ? s.slice(0, MAX_FIELD) : s;
}

function boundedParameters(result: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in result) {
    if (!Object.prototype.hasOwnProperty.call(result, key)) continue;
    const value = result[key];
    if (COMMON_FIELDS.has(key) || value === undefined) continue;
    // Numbers, booleans and short strings as they are (no encoding just to measure them).
    if (typeof value === 'number' || typeof value === 'boolean' || value === null || (typeof value === 'string' && value.length <= MAX_FIELD)) {
      out[key] = value;
      continue;
    }
    const json = JSON.stringify(value);
    out[key] = json !== undefined && json.length > MAX_FIELD ? `${json.slice(0, MAX_FIELD)}…` : value;
  }
  return out;
}

/**
 * What identifies one delivery of an event: the Redis entry id when it came through the queue
 * (a redelivery after a crash has the same), else the watch's subscription and sequence number,
 * else the message id.
 */
function deliveryKey(msg: MessageLike): string {
  const redis = msg.redis as { id?: unknown; stream?: unknown } | undefined;
  if (redis && typeof redis.id === 'string') return `redis:${text(redis.stream)}:${redis.id}`;
  const event = msg.payload as { watchId?: unknown; seq?: unknown; path?: unknown; receivedAt?: unknown } | undefined;
  if (event && typeof event.watchId === 'string' && typeof event.seq === 'number') return `watch:${event.watchId}:${event.seq}`;
  return `msg:${text(msg._msgid)}:${text(event?.path)}:${text(event?.receivedAt)}`;
}

/**
 * The audit records of a message: one per entry of msg.results (every action node it passed, in
 * order), or msg.result alone; from position `from` on (an action node recording its own result
 * passes the last position). The id hashes the delivery, the position and the action, so the
 * same message recorded twice (a redelivery, two audit nodes in a row, or an action node's own
 * record and an audit node after it) yields the same ids.
 */
export function auditRecordsOf(msg: MessageLike, node: string, now = new Date(), from = 0): AuditRecord[] {
  const all = Array.isArray(msg.results) && msg.results.length > 0 ? msg.results : msg.result && typeof msg.result === 'object' ? [msg.result] : [];
  const start = Math.max(0, Math.min(from, all.length));
  const results = start === 0 ? all : all.slice(start);
  if (results.length === 0) return [];
  const event = (msg.payload && typeof msg.payload === 'object' ? msg.payload : {}) as Record<string, unknown>;
  const rules = Array.isArray(msg.rules) ? msg.rules.map((r) => text((r as { name?: unknown })?.name ?? r)).filter((n) => n.length > 0) : [];
  const redis = msg.redis as { id?: unknown } | undefined;
  const key = deliveryKey(msg);
  const time = isoTime(now);
  const instance = instanceName();
  return results.map((raw, offset) => {
    const result = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const action = text(result.action, 'unknown');
    const error = result.error as { message?: unknown } | undefined;
    return {
      id: sha256Hex(`${key}\u0000${start + offset}\u0000${action}`).slice(0, 32),
      time,
      action,
      outcome: text(result.outcome, 'unknown'),
      path: text(result.path ?? event.path),
      fileId: result.fileId ?? event.fileId ? text(result.fileId ?? event.fileId) : null,
      detail: text(result.detail),
      parameters: boundedParameters(result),
      rules,
      dryRun: result.dryRun === true,
      error: error?.message ? text(error.message) : null,
      instance,
      node,
      eventType: typeof event.type === 'string' ? event.type : null,
      eventSeq: typeof event.seq === 'number' ? event.seq : null,
      watchId: typeof event.watchId === 'string' ? text(event.watchId) : null,
      redisId: redis && typeof redis.id === 'string' ? redis.id : null,
    };
  });
}
