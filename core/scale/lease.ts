// Leader election through the Redis the pipeline already uses: one lease per watch, a Redis hash
// `{token, holder}` with a TTL. Whoever creates it leads until the TTL runs out without renewal.
// Each term gets a new fencing token (`<counter>:<nonce>`); writes that must come from the leader
// only (stream appends, the shared heal marker) pass it to a script that compares it with the
// lease's, so a leader that was frozen (SIGSTOP, a long GC pause, a partition) past its lease and
// wakes up is refused by Redis itself, whatever it still believes.
//
// The holder gives up on its own when it could not renew for a whole lease (Redis unreachable):
// from then on another instance may lead. A lease found missing on renewal (Redis restarted
// without it) is taken back with the same token if nobody else holds it, so a Redis restart does
// not move leadership needlessly.
//
// Keys share a hash tag, so both live in one Redis Cluster slot.
import { durationSetting } from '../time/duration';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection';
import { RedisScript } from '../redis/scripts';

export type LeaseRole = 'starting' | 'leader' | 'standby' | 'stopped';

export interface Fence {
  /** Full Redis key of the lease hash. */
  key: string;
  /** The token of the term that produced the write. */
  token: string;
}

export interface LeaseOptions {
  client: RedisClient;
  /** Full key of the lease hash (key prefix applied); see leaseKeys(). */
  key: string;
  /** Full key of the term counter (same hash tag as `key`). */
  counterKey: string;
  /** Who is asking (shown to standbys): host, process, node. */
  holder: string;
  /** Lease time: a leader that stops renewing is replaced after at most this long (ms). */
  leaseMs: number;
  /** Renew / retry interval (default leaseMs / 3). */
  intervalMs?: number;
  now?: () => number;
}

export interface LeaseInfo {
  role: LeaseRole;
  /** Holder of the lease as last seen (this instance when leader). */
  holder: string | null;
  /** This instance's token while leader. */
  token: string | null;
  /** Why the last change happened. */
  reason: string;
}

/** The lease key and its counter for a watch id, hash-tagged to one cluster slot. */
export function leaseKeys(prefix: string, watchId: string): { key: string; counterKey: string } {
  const base = `${prefix}qumulo-flow:{lease:${watchId}}`;
  return { key: base, counterKey: `${base}:term` };
}

/**
 * KEYS[1] = lease, KEYS[2] = counter; ARGV = holder, leaseMs, nonce. Creates the lease when there
 * is none. Returns {1, token, holder} when this caller now holds it, else {0, token, holder, ms
 * the lease has left} (the standby tries again right when it runs out).
 */
const ACQUIRE_SCRIPT = new RedisScript(`local token = redis.call('HGET', KEYS[1], 'token')
if token then return {0, token, redis.call('HGET', KEYS[1], 'holder') or '', redis.call('PTTL', KEYS[1])} end
local term = redis.call('INCR', KEYS[2])
token = term .. ':' .. ARGV[3]
redis.call('HSET', KEYS[1], 'token', token, 'holder', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, token, ARGV[1]}`);

/**
 * KEYS[1] = lease; ARGV = token, leaseMs, holder. Extends the lease if it is still ours; takes it
 * back with the same token if it is gone (Redis restarted without it). 1 = ours, 0 = someone else's.
 */
const RENEW_SCRIPT = new RedisScript(`local token = redis.call('HGET', KEYS[1], 'token')
if token and token ~= ARGV[1] then return 0 end
if not token then redis.call('HSET', KEYS[1], 'token', ARGV[1], 'holder', ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`);

/** KEYS[1] = lease; ARGV[1] = token. Deletes the lease if it is ours (graceful handover). */
const RELEASE_SCRIPT = new RedisScript(`if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/** Thrown (by fenced writes) when the token is not the lease's current one. */
export class FencedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FencedError';
  }
}

export function isFenced(err: unknown): boolean {
  return err instanceof Error && (err.name === 'FencedError' || /^FENCED\b/.test(err.message));
}

/**
 * Events: `role` (LeaseInfo) on every change of role; `error` is never emitted (Redis trouble
 * shows as a role change once the lease can no longer be trusted).
 */
export class LeaderLease extends EventEmitter {
  private role: LeaseRole = 'starting';
  private token: string | null = null;
  private holderSeen: string | null = null;
  private reason = 'starting';
  /** When the last renewal that succeeded was sent (the lease is ours until then + leaseMs). */
  private validFrom = 0;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  /** Delay of the next try when sooner than the interval (a standby waiting for the lease to run out). */
  private nextDelay: number | null = null;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly nonce = randomBytes(6).toString('hex');

  constructor(private readonly options: LeaseOptions) {
    super();
    this.intervalMs = Math.max(20, Math.floor(options.intervalMs ?? options.leaseMs / 3));
    this.now = options.now ?? Date.now;
    // Connection trouble shows as a role change once the lease cannot be trusted; no log spam.
    options.client.on('error', () => undefined);
  }

  get info(): LeaseInfo {
    return { role: this.role, holder: this.holderSeen, token: this.token, reason: this.reason };
  }

  /** The fence for writes made now, or null when not leading (writes must not happen then). */
  get fence(): Fence | null {
    return this.role === 'leader' && this.token ? { key: this.options.key, token: this.token } : null;
  }

  /** True while this instance leads and its lease cannot have run out. */
  get isLeader(): boolean {
    return this.role === 'leader' && this.now() - this.validFrom < this.options.leaseMs;
  }

  start(): void {
    if (this.timer || this.role === 'stopped') return;
    void this.tick();
  }

  /** Stops; `release` deletes the lease if held, so a standby takes over at its next try. */
  async stop(release: boolean): Promise<void> {
    if (this.role === 'stopped') return;
    const token = this.role === 'leader' ? this.token : null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.setRole('stopped', null, 'stopped');
    if (release && token) {
      await withTimeout(RELEASE_SCRIPT.run(this.options.client, this.options.key, [token]), this.options.leaseMs).catch(() => undefined);
    }
  }

  /**
   * Graceful handover (the process is shutting down): deletes the lease if held, so a standby
   * takes over at its next try instead of after the lease time, and stays out for one lease.
   */
  async handOver(): Promise<void> {
    if (this.role !== 'leader' || !this.token) return;
    const token = this.token;
    this.setRole('standby', null, 'handed over');
    if (this.timer) clearTimeout(this.timer);
    this.nextDelay = this.options.leaseMs;
    this.schedule();
    await withTimeout(RELEASE_SCRIPT.run(this.options.client, this.options.key, [token]), this.intervalMs).catch(() => undefined);
  }

  private schedule(): void {
    if (this.role === 'stopped') return;
    const delay = this.nextDelay ?? this.intervalMs;
    this.nextDelay = null;
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.busy || this.role === 'stopped') return;
    this.busy = true;
    try {
      // Frozen or cut off for a whole lease: another instance may lead by now.
      if (this.role === 'leader' && !this.isLeader) this.setRole('standby', null, 'could not renew the lease in time');
      if (this.role === 'leader') await this.renew();
      else await this.acquire();
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  private async renew(): Promise<void> {
    const sentAt = this.now();
    const token = this.token as string;
    let ours: unknown;
    try {
      ours = await withTimeout(RENEW_SCRIPT.run(this.options.client, this.options.key, [token, this.options.leaseMs, this.options.holder]), this.intervalMs);
    } catch {
      if (!this.isLeader && this.role === 'leader') this.setRole('standby', null, 'Redis unreachable for a whole lease');
      return;
    }
    if (this.role !== 'leader' || this.token !== token) return;
    if (Number(ours) === 1) {
      this.validFrom = sentAt;
      if (!this.isLeader) this.setRole('standby', null, 'renewed too late');
    } else {
      this.setRole('standby', null, 'another instance holds the lease');
    }
  }

  private async acquire(): Promise<void> {
    const sentAt = this.now();
    let reply: unknown;
    try {
      reply = await withTimeout(
        ACQUIRE_SCRIPT.runKeys(this.options.client, [this.options.key, this.options.counterKey], [this.options.holder, this.options.leaseMs, this.nonce]),
        this.intervalMs,
      );
    } catch (err) {
      if (this.role !== 'standby' || this.reason !== 'Redis unreachable') this.setRole('standby', this.holderSeen, 'Redis unreachable');
      void err;
      return;
    }
    if (this.role === 'stopped') {
      // Stopped while asking: give back what may just have been taken.
      const [won, token] = reply as [number, string, string];
      if (Number(won) === 1) await RELEASE_SCRIPT.run(this.options.client, this.options.key, [token]).catch(() => undefined);
      return;
    }
    const [won, token, holder, leftMs] = reply as [number, string, string, number?];
    if (Number(won) !== 1 && Number(leftMs) >= 0) this.nextDelay = Math.min(this.intervalMs, Number(leftMs) + 5);
    if (Number(won) === 1) {
      this.token = String(token);
      this.validFrom = sentAt;
      this.setRole('leader', this.options.holder, 'lease acquired');
    } else if (this.role !== 'standby' || this.holderSeen !== String(holder)) {
      this.setRole('standby', String(holder), 'another instance leads');
    }
  }

  private setRole(role: LeaseRole, holder: string | null, reason: string): void {
    const changed = role !== this.role;
    this.role = role;
    this.holderSeen = holder;
    this.reason = reason;
    if (role !== 'leader') this.token = null;
    if (changed || role === 'standby') this.emit('role', this.info);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    );
  });
}

/** The watch dialog's lease time in ms ("15s" when empty): 1 s to 10 min; throws with the user's message. */
export function parseLeaseTime(value: unknown): number {
  const ms = durationSetting(value, '15s', 'lease');
  if (ms < 1_000 || ms > 600_000) throw new Error(`lease: between 1 s and 10 min, not ${JSON.stringify(String(value ?? '').trim() || '15s')}`);
  return ms;
}
