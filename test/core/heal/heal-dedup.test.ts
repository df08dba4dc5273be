// The pure parts of gap healing: the live-event ledger, the duplicate rules and the marker store.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NotificationType } from '../../../core/event';
import { isDuplicate } from '../../../core/heal/dedup';
import { relativeInScope, typeForChange } from '../../../core/heal/events';
import { LiveLedger } from '../../../core/heal/ledger';
import { type MarkerRecord, MarkerStore } from '../../../core/heal/marker';
import type { BlindWindow } from '../../../core/heal/types';
import { tempStateDir } from '../../support/heal';

const live = (path: string, type: NotificationType, receivedAt: number, resync = false) => ({ path, type, receivedAt, resync });

describe('gap healing: ledger, duplicates, marker', () => {
  describe('LiveLedger', () => {
    it('remembers the latest delivery per path and type, and ignores healed events', () => {
      const ledger = new LiveLedger(1_000);
      ledger.record(live('/a', 'child_file_added', 1_100));
      ledger.record(live('/a', 'child_data_written', 1_200));
      ledger.record(live('/a', 'child_data_written', 1_300));
      ledger.record(live('/b', 'child_file_added', 1_400, true));
      assert.equal(ledger.lastSeen('/a', 'child_file_added'), 1_100);
      assert.equal(ledger.lastSeen('/a', 'child_data_written'), 1_300);
      assert.equal(ledger.lastSeen('/b', 'child_file_added'), undefined, 'resync events are not live deliveries');
      assert.equal(ledger.seenSince('/a', 1_300), true);
      assert.equal(ledger.seenSince('/a', 1_301), false);
      assert.equal(ledger.covers(999), false, 'not recording before it started');
      assert.equal(ledger.covers(1_000), true);
    });

    it('knows whether the last word on a path was that it went away', () => {
      const ledger = new LiveLedger(0);
      ledger.record(live('/gone', 'child_file_removed', 10));
      ledger.record(live('/back', 'child_file_moved_from', 10));
      ledger.record(live('/back', 'child_file_added', 20));
      assert.equal(ledger.removedSince('/gone', 5), true);
      assert.equal(ledger.removedSince('/gone', 11), false);
      assert.equal(ledger.removedSince('/back', 5), false, 'added again after it went');
      assert.equal(ledger.removedSince('/never', 0), false);
    });

    it('evicts the least recently touched paths past its bound and stops covering their time', () => {
      const ledger = new LiveLedger(0, 2);
      ledger.record(live('/1', 'child_file_added', 10));
      ledger.record(live('/2', 'child_file_added', 20));
      ledger.record(live('/1', 'child_data_written', 30)); // /1 touched again: /2 is now the oldest
      ledger.record(live('/3', 'child_file_added', 40));
      assert.equal(ledger.size, 2);
      assert.equal(ledger.lastSeen('/2', 'child_file_added'), undefined);
      assert.equal(ledger.lastSeen('/1', 'child_file_added'), 10);
      assert.equal(ledger.covers(20), false, 'what was seen at 20 is forgotten');
      assert.equal(ledger.covers(21), true);
      ledger.prune(35);
      assert.deepEqual([ledger.lastSeen('/1', 'child_data_written'), ledger.lastSeen('/3', 'child_file_added')], [undefined, 40]);
      assert.equal(ledger.covers(34), false, 'pruned on purpose: no longer covered');
      assert.equal(ledger.covers(35), true);
    });
  });

  describe('isDuplicate', () => {
    // Blind from 10,000 to 20,000; tolerance 1,000.
    const window: BlindWindow = { start: 10_000, end: 20_000, reason: 'error', detail: '' };
    const ask = (ledger: LiveLedger, type: NotificationType, lastChange: number | null) =>
      isDuplicate({ ledger, path: '/f', type, lastChange, window, lookedFrom: 9_000, toleranceMs: 1_000 });

    it('is a duplicate when the same type was delivered after the stream came back', () => {
      const ledger = new LiveLedger(0);
      ledger.record(live('/f', 'child_data_written', 20_500));
      assert.equal(ask(ledger, 'child_data_written', null), true);
      assert.equal(ask(ledger, 'child_file_added', null), false, 'another type is not the same news');
    });

    it('is a duplicate when the object last changed while the stream was healthy', () => {
      assert.equal(ask(new LiveLedger(0), 'child_data_written', 5_000), true);
      assert.equal(ask(new LiveLedger(0), 'child_data_written', 9_500), false, 'inside the tolerance: reported');
      assert.equal(ask(new LiveLedger(0), 'child_data_written', 15_000), false, 'changed in the gap');
    });

    it('never drops an arrival without live evidence: a file moved in keeps its old times', () => {
      assert.equal(ask(new LiveLedger(0), 'child_file_added', 5_000), false);
      const moved = new LiveLedger(0);
      moved.record(live('/f', 'child_file_moved_to', 5_100));
      assert.equal(ask(moved, 'child_file_added', 5_000), true, 'the move-in was delivered live');
    });

    it('keeps a change made in the gap even when the path was reported before it', () => {
      const ledger = new LiveLedger(0);
      ledger.record(live('/f', 'child_file_added', 9_700));
      assert.equal(ask(ledger, 'child_file_added', 14_000), false);
      assert.equal(ask(ledger, 'child_file_added', 9_600), true, 'changed just before the gap and delivered then');
      assert.equal(ask(ledger, 'child_file_added', 9_650), true, 'within the tolerance of its delivery');
      const early = new LiveLedger(0);
      early.record(live('/f', 'child_file_added', 8_000));
      assert.equal(ask(early, 'child_file_added', 9_600), false, 'a delivery long before the change was another change');
    });
  });

  describe('diff entries and scope', () => {
    it('maps diff operations to the nearest notification type, files and directories apart', () => {
      assert.equal(typeForChange('CREATE', false), 'child_file_added');
      assert.equal(typeForChange('CREATE', true), 'child_dir_added');
      assert.equal(typeForChange('DELETE', false), 'child_file_removed');
      assert.equal(typeForChange('DELETE', true), 'child_dir_removed');
      assert.equal(typeForChange('MODIFY', false), 'child_data_written');
      assert.equal(typeForChange('MODIFY', true), null);
    });

    it('keeps paths inside the watch (odd but legal names too) and refuses ones that climb out or carry NUL', () => {
      const scope = { watchId: 'w', watchRoot: '/data', recursive: true, types: null };
      assert.equal(relativeInScope(scope, '/data/a/b.txt'), 'a/b.txt');
      assert.equal(relativeInScope(scope, '/data/dir/'), 'dir');
      assert.equal(relativeInScope(scope, '/data/'), null, 'the root itself');
      assert.equal(relativeInScope(scope, '/database/x'), null);
      assert.equal(relativeInScope(scope, '/data/../etc/passwd'), null);
      assert.equal(relativeInScope(scope, '/data/a\u0000b'), null);
      assert.equal(relativeInScope(scope, '/data/a\nb\u202E'), 'a\nb\u202E');
      assert.equal(relativeInScope({ ...scope, recursive: false }, '/data/a/b.txt'), null);
      assert.equal(relativeInScope({ ...scope, watchRoot: '/' }, '/x.txt'), 'x.txt');
    });
  });

  describe('MarkerStore', () => {
    let dir: string;
    beforeEach(() => (dir = tempStateDir()));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const record = (consumerId: string, extra: Partial<MarkerRecord> = {}): MarkerRecord => ({
      version: 1,
      watchId: 'w1',
      consumerId,
      watchRoot: '/data',
      coveredUntil: 1_000,
      pending: null,
      removed: false,
      checkpoints: [],
      updatedAt: 1_000,
      ...extra,
    });

    it('saves and loads a marker, and says why an unreadable one is ignored', () => {
      const store = new MarkerStore(dir);
      store.save(record('n1', { pending: { start: 900, reason: 'error', detail: 'x' } }));
      assert.deepEqual(store.load('w1', 'n1'), { record: record('n1', { pending: { start: 900, reason: 'error', detail: 'x' } }), problem: null });
      assert.deepEqual(fs.readdirSync(store.directory), ['w1--n1.json'], 'no temp file left');
      assert.deepEqual(store.load('w1', 'nobody'), { record: null, problem: null });
      fs.writeFileSync(store.fileFor('w1', 'n2'), '{"half": ');
      const broken = store.load('w1', 'n2');
      assert.equal(broken.record, null);
      assert.match(broken.problem ?? '', /unreadable/);
    });

    it('hands the longest-blind removed marker of a watch to a node added again, and clears the others', () => {
      const store = new MarkerStore(dir);
      store.save(record('gone-late', { removed: true, coveredUntil: 5_000 }));
      store.save(record('gone-early', { removed: true, coveredUntil: 2_000 }));
      store.save(record('still-here', { coveredUntil: 1_000 }));
      store.save({ ...record('other-watch', { removed: true }), watchId: 'w2' });
      assert.equal(store.adoptRemoved('w1')?.consumerId, 'gone-early');
      assert.deepEqual(fs.readdirSync(path.join(dir, 'qumulo-flow-heal')).sort(), ['w1--still-here.json', 'w2--other-watch.json']);
      assert.equal(store.adoptRemoved('w1'), null);
    });
  });
});
