// Optional enrichment: fetch an event's attributes (size, owner, group, mode…) so rules on them can
// match events whose notification did not carry them. The fetch function is injected (normally the
// cluster client's attribute lookup); results are cached by file id (or path) in an LRU with a TTL,
// concurrent lookups of the same object share one request, and events that change attributes
// bypass the cache so a rule never sees a size from before the write it is reacting to.

import type { EventAttributes, QumuloEvent } from '../event';
import type { FileAttributes } from '../qumulo/types';

export type AttributeFetcher = (event: QumuloEvent) => Promise<EventAttributes>;

export interface EnricherOptions {
  /** Cached objects kept (least recently used evicted first). Default 10,000. */
  maxEntries?: number;
  /** How long a cached answer is trusted, in ms. Default 5,000. */
  ttlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface EnricherStats {
  hits: number;
  misses: number;
  fetches: number;
  shared: number;
  evictions: number;
  skipped: number;
}

/** Notification types after which cached attributes are stale. */
const ATTRIBUTE_CHANGING_TYPES: ReadonlySet<string> = new Set([
  'child_file_added',
  'child_dir_added',
  'child_size_changed',
  'child_data_written',
  'child_mtime_changed',
  'child_btime_changed',
  'child_owner_changed',
  'child_group_changed',
  'child_acl_changed',
  'child_extra_attrs_changed',
  'child_file_moved_to',
  'child_dir_moved_to',
  'child_stream_size_changed',
  'child_stream_data_written',
]);

/** The object is gone (or no longer here): nothing to fetch. */
const OBJECT_GONE_TYPES: ReadonlySet<string> = new Set([
  'child_file_removed',
  'child_dir_removed',
  'child_file_moved_from',
  'child_dir_moved_from',
  'self_removed',
]);

interface CacheEntry {
  attributes: EventAttributes;
  expiresAt: number;
}

export class AttributeEnricher {
  readonly stats: EnricherStats = { hits: 0, misses: 0, fetches: 0, shared: 0, evictions: 0, skipped: 0 };
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<EventAttributes>>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly fetchAttributes: AttributeFetcher, options: EnricherOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.ttlMs = Math.max(0, options.ttlMs ?? 5_000);
    this.now = options.now ?? Date.now;
  }

  static keyOf(event: QumuloEvent): string {
    return event.fileId !== null && event.fileId !== '' ? 'id:' + event.fileId : 'path:' + event.path;
  }

  /**
   * The event with `attributes` filled (a shallow copy; the input is not changed). Events that
   * already carry attributes, and events about removed objects, come back unchanged. Rejects when
   * the fetch fails (nothing is cached then).
   */
  async enrich(event: QumuloEvent): Promise<QumuloEvent> {
    if (event.attributes !== undefined) return event;
    const key = AttributeEnricher.keyOf(event);
    if (OBJECT_GONE_TYPES.has(event.type)) {
      this.cache.delete(key);
      this.stats.skipped++;
      return event;
    }
    const attributes = await this.lookup(key, event, ATTRIBUTE_CHANGING_TYPES.has(event.type));
    return { ...event, attributes };
  }

  /** Forgets what is cached for an object (by `keyOf`). */
  invalidate(key: string): void {
    this.cache.delete(key);
  }

  get size(): number {
    return this.cache.size;
  }

  private async lookup(key: string, event: QumuloEvent, fresh: boolean): Promise<EventAttributes> {
    if (!fresh) {
      const entry = this.cache.get(key);
      if (entry !== undefined && entry.expiresAt > this.now()) {
        // Re-insert to mark as most recently used.
        this.cache.delete(key);
        this.cache.set(key, entry);
        this.stats.hits++;
        return entry.attributes;
      }
      if (entry !== undefined) this.cache.delete(key);
      const pending = this.inFlight.get(key);
      if (pending !== undefined) {
        this.stats.shared++;
        return pending;
      }
    }
    this.stats.misses++;
    this.stats.fetches++;
    const request = this.fetchAttributes(event).then(
      (attributes) => {
        if (this.inFlight.get(key) === request) this.inFlight.delete(key);
        this.store(key, attributes);
        return attributes;
      },
      (err: unknown) => {
        if (this.inFlight.get(key) === request) this.inFlight.delete(key);
        throw err;
      },
    );
    this.inFlight.set(key, request);
    return request;
  }

  private store(key: string, attributes: EventAttributes): void {
    this.cache.delete(key);
    this.cache.set(key, { attributes, expiresAt: this.now() + this.ttlMs });
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
      this.stats.evictions++;
    }
  }
}

/** What the enricher needs from the cluster client (core/qumulo/client.ts `getAttributes`). */
export interface AttributeSource {
  getAttributes(ref: string, opts?: { retrieveLock?: boolean }): Promise<FileAttributes>;
}

/** Wire attributes (64-bit numbers as text) -> the event's `attributes`. */
export function attributesFromWire(wire: FileAttributes): EventAttributes {
  const attributes: EventAttributes = {};
  const size = Number(wire.size);
  if (wire.size !== undefined && Number.isFinite(size)) attributes.size = size;
  if (wire.owner !== undefined) attributes.owner = String(wire.owner);
  if (wire.group !== undefined) attributes.group = String(wire.group);
  if (wire.mode !== undefined) attributes.mode = String(wire.mode);
  if (wire.modification_time !== undefined) attributes.modificationTime = wire.modification_time;
  if (wire.creation_time !== undefined) attributes.creationTime = wire.creation_time;
  if (wire.lock !== undefined) attributes.lock = { legalHold: wire.lock.legal_hold, retentionPeriod: wire.lock.retention_period };
  return attributes;
}

/** A fetcher over the cluster client: by file id when the event has one (stable across renames). */
export function clusterAttributeFetcher(source: AttributeSource, options: { retrieveLock?: boolean } = {}): AttributeFetcher {
  return async (event) => attributesFromWire(await source.getAttributes(event.fileId !== null && event.fileId !== '' ? event.fileId : event.path, { retrieveLock: options.retrieveLock === true }));
}
