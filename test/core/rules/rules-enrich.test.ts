// The attribute enricher: LRU + TTL cache keyed by file id (or path), one request shared by
// concurrent lookups, fresh lookups after attribute-changing events, nothing fetched for removed
// objects, failures not cached. Plus the wire mapping used with the cluster client.

import * as assert from 'node:assert/strict';
import { normalizeNotification } from '../../../core/event';
import type { EventAttributes, NotificationType, QumuloEvent } from '../../../core/event';
import { AttributeEnricher, attributesFromWire } from '../../../core/rules';

function event(path: string, type: NotificationType, fileId?: string): QumuloEvent {
  return normalizeNotification({ type, path: path.slice(1), spine: fileId ? ['2', fileId] : null }, { watchId: 'w', watchRoot: '/', seq: 1, receivedAt: 0 });
}

/** A tiny attribute store standing in for the cluster: counts lookups, can fail on demand. */
class Store {
  calls: string[] = [];
  sizes = new Map<string, number>();
  failing = new Set<string>();
  fetch = async (e: QumuloEvent): Promise<EventAttributes> => {
    const key = e.fileId ?? e.path;
    this.calls.push(key);
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failing.has(key)) throw new Error(`no such file ${key}`);
    return { size: this.sizes.get(key) ?? 0, owner: '500', mode: '0644' };
  };
}

describe('attribute enricher', () => {
  it('caches by file id, shares concurrent lookups, and expires entries after the TTL', async () => {
    const store = new Store();
    store.sizes.set('7', 100);
    let now = 1000;
    const enricher = new AttributeEnricher(store.fetch, { ttlMs: 5000, now: () => now });
    const [a, b] = await Promise.all([enricher.enrich(event('/a.txt', 'child_atime_changed', '7')), enricher.enrich(event('/renamed.txt', 'child_atime_changed', '7'))]);
    assert.equal(a.attributes?.size, 100);
    assert.equal(b.attributes?.size, 100);
    assert.deepEqual(store.calls, ['7'], 'one request for two concurrent events about the same file');
    assert.equal(enricher.stats.shared, 1);
    const original = event('/a.txt', 'child_atime_changed', '7');
    const enriched = await enricher.enrich(original);
    assert.equal(original.attributes, undefined, 'the input event is not changed');
    assert.equal(enriched.attributes?.size, 100);
    assert.equal(store.calls.length, 1, 'served from the cache');
    now += 5001;
    store.sizes.set('7', 200);
    assert.equal((await enricher.enrich(event('/a.txt', 'child_atime_changed', '7'))).attributes?.size, 200, 'expired');
    assert.equal(store.calls.length, 2);
  });

  it('fetches fresh attributes after events that change them, and nothing for removed objects', async () => {
    const store = new Store();
    store.sizes.set('/x.bin', 1);
    const enricher = new AttributeEnricher(store.fetch);
    await enricher.enrich(event('/x.bin', 'child_atime_changed'));
    store.sizes.set('/x.bin', 2);
    assert.equal((await enricher.enrich(event('/x.bin', 'child_data_written'))).attributes?.size, 2);
    assert.equal((await enricher.enrich(event('/x.bin', 'child_atime_changed'))).attributes?.size, 2, 'the fresh answer is cached');
    store.sizes.set('/x.bin', 3);
    assert.equal((await enricher.enrich(event('/x.bin', 'child_mtime_changed'))).attributes?.size, 3, 'a changed modification time is fetched fresh (mtimeOlderThan must not see the old one)');
    const removed = await enricher.enrich(event('/x.bin', 'child_file_removed'));
    assert.equal(removed.attributes, undefined);
    assert.deepEqual(store.calls, ['/x.bin', '/x.bin', '/x.bin']);
    assert.equal(enricher.size, 0, 'the removed object left the cache');
  });

  it('evicts the least recently used entry and does not cache failures', async () => {
    const store = new Store();
    const enricher = new AttributeEnricher(store.fetch, { maxEntries: 2 });
    for (const id of ['1', '2']) await enricher.enrich(event('/f' + id, 'child_atime_changed', id));
    await enricher.enrich(event('/f1', 'child_atime_changed', '1')); // 1 is now the most recent
    await enricher.enrich(event('/f3', 'child_atime_changed', '3')); // evicts 2
    assert.equal(enricher.stats.evictions, 1);
    await enricher.enrich(event('/f1', 'child_atime_changed', '1'));
    await enricher.enrich(event('/f2', 'child_atime_changed', '2'));
    assert.deepEqual(store.calls, ['1', '2', '3', '2']);
    store.failing.add('9');
    await assert.rejects(enricher.enrich(event('/f9', 'child_atime_changed', '9')), /no such file 9/);
    store.failing.delete('9');
    assert.equal((await enricher.enrich(event('/f9', 'child_atime_changed', '9'))).attributes?.owner, '500');
  });

  it('maps wire attributes (64-bit numbers as text) to event attributes', () => {
    const attributes = attributesFromWire({
      path: '/a',
      name: 'a',
      id: '5',
      type: 'FS_FILE_TYPE_FILE',
      mode: '0640',
      owner: '500',
      group: '100',
      size: '123456789012',
      modification_time: '2024-01-01T00:00:00Z',
      creation_time: '2023-01-01T00:00:00Z',
      lock: { legal_hold: true, retention_period: null },
    });
    assert.deepEqual(attributes, {
      size: 123456789012,
      owner: '500',
      group: '100',
      mode: '0640',
      modificationTime: '2024-01-01T00:00:00Z',
      creationTime: '2023-01-01T00:00:00Z',
      lock: { legalHold: true, retentionPeriod: null },
    });
  });
});
