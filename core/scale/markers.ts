// Heal markers shared through Redis: when several instances take turns watching, the one that
// takes over must know what the last leader covered (and its checkpoint snapshots) to heal the
// gap — a local file of a dead instance is no use. One hash per watch, a field per consumer (the
// watch node id, the same on every instance of one flow), the marker JSON as value.
//
// The healer reads and writes markers synchronously, so the store keeps a copy in memory: load()
// before the healer starts (the leader does, right after it is elected), saves go to the copy at
// once and to Redis in the background — fenced by the lease token, so a stale leader cannot
// overwrite what the current one recorded.
import type { RedisClient } from '../redis/connection';
import { RedisScript } from '../redis/scripts';
import { type MarkerPersistence, type MarkerRecord, parseMarker } from '../heal/marker';
import type { Fence } from './lease';

/** KEYS[1] = markers hash, KEYS[2] = lease; ARGV = field, JSON, token, ttl ms. 1 = saved, 0 = fenced. */
const SAVE_SCRIPT = new RedisScript(`if redis.call('HGET', KEYS[2], 'token') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`);

/** Markers of a watch older than this are forgotten with it (a watch unused for a month). */
const MARKER_TTL_MS = 30 * 24 * 3600_000;

export function markersKey(prefix: string, watchId: string): string {
  return `${prefix}qumulo-flow:{lease:${watchId}}:heal`;
}

export class RedisMarkerStore implements MarkerPersistence {
  private records = new Map<string, MarkerRecord>();
  private saving: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: RedisClient,
    private readonly key: string,
    /** The current fence (null: not leading, nothing is written). */
    private readonly fence: () => Fence | null,
    private readonly onWarning: (text: string) => void = () => undefined,
  ) {}

  /** Reads every marker of the watch into memory (call before the healer starts). */
  async refresh(): Promise<void> {
    const all = (await this.client.hgetall(this.key)) as Record<string, string>;
    const records = new Map<string, MarkerRecord>();
    for (const [field, json] of Object.entries(all)) {
      const record = parseMarker(json);
      if (record) records.set(field, record);
    }
    this.records = records;
  }

  /** Resolves when the saves made so far have been answered. */
  flushed(): Promise<void> {
    return this.saving.then(() => undefined);
  }

  fileFor(watchId: string, consumerId: string): string {
    return `redis ${this.key} field ${consumerId} (watch ${watchId})`;
  }

  load(_watchId: string, consumerId: string): { record: MarkerRecord | null; problem: string | null } {
    return { record: this.records.get(consumerId) ?? null, problem: null };
  }

  save(record: MarkerRecord): void {
    this.records.set(record.consumerId, record);
    const fence = this.fence();
    if (!fence) return;
    const json = JSON.stringify(record);
    this.saving = this.saving
      .then(() => SAVE_SCRIPT.runKeys(this.client, [this.key, fence.key], [record.consumerId, json, fence.token, MARKER_TTL_MS]))
      .catch((err: unknown) => this.onWarning(`heal marker not saved in Redis: ${(err as Error).message}`));
  }

  adoptRemoved(watchId: string): MarkerRecord | null {
    let adopted: MarkerRecord | null = null;
    for (const [field, record] of this.records) {
      if (!record.removed || record.watchId !== watchId) continue;
      const start = record.pending ? Math.min(record.pending.start, record.coveredUntil) : record.coveredUntil;
      const best = adopted ? (adopted.pending ? Math.min(adopted.pending.start, adopted.coveredUntil) : adopted.coveredUntil) : Infinity;
      if (start < best) adopted = record;
      this.records.delete(field);
      this.client.hdel(this.key, field).catch(() => undefined);
    }
    return adopted;
  }
}
