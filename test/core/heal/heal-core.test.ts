// Gap healing core (core/heal) against the real simulator over HTTP/SSE: the snapshot diff and the
// tree walk turn changes into the right synthetic events, and the GapHealer heals real gaps of a
// real subscription — dropped stream, overflow, restart, a node removed and added again — with
// rolling checkpoints that never exceed two.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { QumuloEvent } from '../../../core/event';
import { CheckpointKeeper } from '../../../core/heal/checkpoints';
import { healByDiff } from '../../../core/heal/diff';
import { LiveLedger } from '../../../core/heal/ledger';
import { MarkerStore } from '../../../core/heal/marker';
import type { BlindWindow, WatchScope } from '../../../core/heal/types';
import { healByWalk } from '../../../core/heal/walk';
import { QumuloClient } from '../../../core/qumulo/client';
import { ClientPool } from '../../../core/qumulo/pool';
import { WatchRegistry, type WatchConsumer } from '../../../core/watch/registry';
import { startSim, type TestSim } from '../../support/sim';
import { backdate, byPath, duringOutage, numbered, sleep, startHarness, tempStateDir, waitUntil, writeFiles } from '../../support/heal';

describe('gap healing core (simulator)', function () {
  this.timeout(60_000);
  let sim: TestSim;
  let client: QumuloClient;
  const stateDirs: string[] = [];

  const TREE = {
    'data/keep.txt': 'keep',
    'data/mod.txt': 'before',
    'data/del.txt': 'del',
    'data/ren-old.txt': 'ren',
    'data/olddir/inner.txt': 'inner',
    'data/sub/deep.txt': 'deep',
    'other/outside.txt': 'outside',
  };
  /** Everything that exists before a spec changes the tree (directories too), as cluster paths. */
  const OLD_PATHS = [...Object.keys(TREE), 'data/sub', 'data/olddir', 'other'].map((rel) => '/' + rel);

  beforeEach(async () => {
    sim = await startSim({ files: TREE });
    client = new QumuloClient(sim.clientOptions());
  });
  afterEach(async () => {
    await client.close();
    await sim.stop();
    for (const dir of stateDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  function stateDir(): string {
    const dir = tempStateDir();
    stateDirs.push(dir);
    return dir;
  }

  /** The same set of changes for the diff and the walk specs. */
  function changeTree(): void {
    writeFiles(sim, ['data/new.txt', 'data/newdir/inner-new.txt', 'other/outside-new.txt']);
    fs.writeFileSync(sim.disk('data/mod.txt'), 'after, and longer');
    fs.rmSync(sim.disk('data/del.txt'));
    fs.renameSync(sim.disk('data/ren-old.txt'), sim.disk('data/ren-new.txt'));
    fs.rmSync(sim.disk('data/olddir'), { recursive: true });
  }

  function scope(extra: Partial<WatchScope> = {}): WatchScope {
    return { watchId: 'w1', watchRoot: '/data', recursive: true, types: null, ...extra };
  }

  function windowFrom(start: number): BlindWindow {
    return { start, end: Date.now(), reason: 'error', detail: 'spec' };
  }

  async function diffOnce(keeper: CheckpointKeeper, watchScope: WatchScope, start: number) {
    const baseline = keeper.all[keeper.all.length - 1];
    const snapshot = await keeper.take(baseline);
    const events: QumuloEvent[] = [];
    let seq = 100;
    const tally = await healByDiff({
      client,
      scope: watchScope,
      window: windowFrom(start),
      lookedFrom: start - 300,
      toleranceMs: 300,
      ledger: new LiveLedger(0),
      baseline,
      snapshot,
      pageSize: 3, // several pages even for a small tree
      emit: (batch) => events.push(...batch),
      nextSeq: () => ++seq,
    });
    return { events, tally, snapshot, baseline };
  }

  it('diff: creations, modifications, deletions and renames come out as the right types, directories told apart', async () => {
    const keeper = new CheckpointKeeper({ client: () => client, sourcePath: () => '/data', suffix: 'qumulo-flow-checkpoint-spec', expiryMs: 3600_000 });
    await keeper.take();
    const start = Date.now();
    changeTree();
    const { events, tally, snapshot } = await diffOnce(keeper, scope(), start);

    assert.deepEqual(byPath(events), {
      '/data/new.txt': ['child_file_added'],
      '/data/newdir': ['child_dir_added'],
      '/data/newdir/inner-new.txt': ['child_file_added'],
      '/data/mod.txt': ['child_data_written'],
      '/data/del.txt': ['child_file_removed'],
      // a rename is DELETE old + CREATE new
      '/data/ren-old.txt': ['child_file_removed'],
      '/data/ren-new.txt': ['child_file_added'],
      '/data/olddir': ['child_dir_removed'],
      '/data/olddir/inner.txt': ['child_file_removed'],
    });
    for (const e of events) {
      assert.equal(e.resync, true);
      assert.equal(e.watchId, 'w1');
      assert.equal(e.watchRoot, '/data');
      assert.equal(e.path, '/data/' + e.relativePath);
      assert.equal(e.isDirectory, e.type.includes('_dir_'));
      assert.equal(e.fileId, null, 'no attribute lookups when the live stream reported nothing');
    }
    const newTxt = events.find((e) => e.path === '/data/new.txt')!;
    assert.deepEqual([newTxt.name, newTxt.extension, newTxt.parentDir], ['new.txt', 'txt', '/data']);
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => 101 + i),
      'seq continues from the given numbering, in emission order',
    );
    assert.equal(tally.entries, 9);
    assert.deepEqual(tally.counts, { created: 4, modified: 1, deleted: 4 });
    assert.ok(tally.ignored >= 1, 'the watched directory itself (MODIFY) is not an event');
    // Two checkpoints alive, named for the watch, nothing else.
    const ours = (await client.listSnapshots()).filter((s) => s.name.endsWith('_qumulo-flow-checkpoint-spec'));
    assert.deepEqual(ours.map((s) => s.id).sort(), keeper.all.map((c) => c.id));
    assert.equal(ours.length, 2);
    assert.ok(ours.some((s) => s.id === snapshot.id));
  });

  it('diff: a non-recursive watch gets direct children only, and the type filter applies', async () => {
    const keeper = new CheckpointKeeper({ client: () => client, sourcePath: () => '/data', suffix: 'qumulo-flow-checkpoint-spec2', expiryMs: 3600_000 });
    await keeper.take();
    const start = Date.now();
    changeTree();
    const flat = await diffOnce(keeper, scope({ recursive: false }), start);
    assert.deepEqual(Object.keys(byPath(flat.events)).sort(), ['/data/del.txt', '/data/mod.txt', '/data/new.txt', '/data/newdir', '/data/olddir', '/data/ren-new.txt', '/data/ren-old.txt']);

    const onlyAdded = await diffOnce(keeper, scope({ types: new Set(['child_file_added']) }), start);
    // The second diff is against the first heal snapshot: nothing changed since.
    assert.deepEqual(onlyAdded.events, []);
    fs.writeFileSync(sim.disk('data/later.txt'), 'later');
    fs.rmSync(sim.disk('data/keep.txt'));
    const filtered = await diffOnce(keeper, scope({ types: new Set(['child_file_added']) }), start);
    assert.deepEqual(byPath(filtered.events), { '/data/later.txt': ['child_file_added'] });
    assert.equal(keeper.all.length, 2, 'never more than two checkpoints');
  });

  it('walk: reports what was created or modified in the window; old files, deletions and time-keeping renames stay silent', async () => {
    await backdate(client, OLD_PATHS);
    const start = Date.now();
    changeTree();
    const events: QumuloEvent[] = [];
    let seq = 0;
    const tally = await healByWalk({
      client,
      scope: scope(),
      window: windowFrom(start),
      lookedFrom: start - 300,
      toleranceMs: 300,
      ledger: new LiveLedger(0),
      pageSize: 2,
      concurrency: 2,
      emit: (batch) => events.push(...batch),
      nextSeq: () => ++seq,
    });
    assert.deepEqual(byPath(events), {
      '/data/new.txt': ['child_file_added'],
      '/data/newdir': ['child_dir_added'],
      '/data/newdir/inner-new.txt': ['child_file_added'],
      '/data/mod.txt': ['child_data_written'],
    });
    for (const e of events) {
      assert.equal(e.resync, true);
      assert.equal(e.fileId, sim.sim.fileIdOf(e.path.slice(1)), 'the listing gives the file id for free');
    }
    assert.equal(tally.scanned, 8, 'every entry under /data was listed once');
    assert.deepEqual(tally.counts, { created: 3, modified: 1, deleted: 0 });
  });

  it('heals a dropped stream by the diff: every file created in the gap once, live ones not repeated', async () => {
    const h = startHarness(sim, { ref: '/data', checkpoints: { enabled: true, intervalMs: 3600_000, expiryMs: 3600_000 } });
    try {
      await h.waitForStream();
      await waitUntil(() => h.healer.checkpoints.length === 1, 10_000, 'the first checkpoint');
      writeFiles(sim, ['data/live-1.txt', 'data/live-2.txt']);
      await waitUntil(() => h.live.some((e) => e.name === 'live-2.txt'), 10_000, 'live events');
      await sleep(400); // let the live files age past the tolerance
      const created = numbered('data/gap', 120);
      await duringOutage(sim, () => {
        writeFiles(sim, created);
        fs.rmSync(sim.disk('data/del.txt'));
        fs.renameSync(sim.disk('data/ren-old.txt'), sim.disk('data/ren-new.txt'));
      });
      const result = await h.result();
      assert.equal(result.outcome, 'healed', result.error);
      assert.equal(result.method, 'diff');
      assert.equal(result.gap.reason, 'error');
      assert.ok(Date.parse(result.gap.start) <= Date.parse(result.gap.end));
      assert.ok(result.baseline && result.snapshot && result.snapshot.id > result.baseline.id);
      const seen = byPath(h.synthetic);
      for (const rel of created) assert.deepEqual(seen['/' + rel], ['child_file_added'], rel);
      assert.deepEqual(seen['/data/gap'], ['child_dir_added']);
      assert.deepEqual(seen['/data/del.txt'], ['child_file_removed']);
      assert.deepEqual(seen['/data/ren-old.txt'], ['child_file_removed']);
      assert.deepEqual(seen['/data/ren-new.txt'], ['child_file_added']);
      assert.equal(seen['/data/live-1.txt'], undefined, 'delivered live before the gap: not repeated');
      assert.equal(seen['/data/live-2.txt'], undefined);
      assert.equal(result.entries, h.synthetic.length);
      assert.equal(result.entries, created.length + 4);
      assert.ok(result.duplicates >= 2, `duplicates ${result.duplicates}`);
      assert.equal(h.synthetic.filter((e) => e.name === 'keep.txt').length, 0, 'unchanged files are not touched');
      // The heal snapshot is the new checkpoint; the one before the gap stays: two alive.
      assert.deepEqual(h.healer.checkpoints.map((c) => c.id), [result.baseline!.id, result.snapshot!.id]);
      // Live events keep flowing after the heal.
      writeFiles(sim, ['data/after.txt']);
      await waitUntil(() => h.live.some((e) => e.name === 'after.txt'), 10_000, 'a live event after the heal');
    } finally {
      await h.close();
    }
  });

  it('heals by walking the tree when checkpoints are off', async () => {
    await backdate(client, OLD_PATHS);
    const h = startHarness(sim, { ref: '/data' });
    try {
      await h.waitForStream();
      const created = numbered('data/walked', 80);
      await duringOutage(sim, () => {
        writeFiles(sim, created);
        fs.writeFileSync(sim.disk('data/mod.txt'), 'changed in the gap');
        fs.rmSync(sim.disk('data/del.txt'));
      });
      const result = await h.result();
      assert.equal(result.outcome, 'healed', result.error);
      assert.equal(result.method, 'walk');
      assert.equal(result.fallbackReason, undefined);
      const seen = byPath(h.synthetic);
      for (const rel of created) assert.deepEqual(seen['/' + rel], ['child_file_added'], rel);
      assert.deepEqual(seen['/data/mod.txt'], ['child_data_written']);
      assert.equal(seen['/data/del.txt'], undefined, 'a walk cannot see deletions');
      assert.equal(seen['/data/keep.txt'], undefined);
      assert.equal(result.counts.created, created.length + 1, 'the files and their directory');
      assert.ok((result.scanned ?? 0) >= created.length);
      assert.deepEqual(await client.listSnapshots(), [], 'no snapshot taken');
    } finally {
      await h.close();
    }
  });

  it('heals an overflowed stream (stream closed by the cluster) with the diff', async () => {
    const h = startHarness(sim, { ref: '/data', checkpoints: { enabled: true, intervalMs: 3600_000, expiryMs: 3600_000 } });
    try {
      await h.waitForStream();
      await waitUntil(() => h.healer.checkpoints.length === 1, 10_000, 'the first checkpoint');
      await sleep(1_200); // the checkpoint must predate the overflow look-back
      sim.sim.faults.errorRate = 1; // reconnects are refused (503) until the files are written
      assert.equal(sim.sim.overflowStreams(), 1);
      const created = numbered('data/overflow', 60);
      writeFiles(sim, created);
      await sleep(400);
      sim.sim.faults.errorRate = 0;
      const result = await h.result();
      assert.equal(result.outcome, 'healed', result.error);
      assert.equal(result.method, 'diff');
      assert.equal(result.gap.reason, 'stream-end');
      const seen = byPath(h.synthetic);
      for (const rel of created) assert.deepEqual(seen['/' + rel], ['child_file_added'], rel);
    } finally {
      await h.close();
    }
  });

  it('heals across a restart from the persisted marker, with the checkpoints it left behind', async () => {
    const dir = stateDir();
    const checkpoints = { enabled: true, intervalMs: 3600_000, expiryMs: 3600_000 };
    const first = startHarness(sim, { ref: '/data', stateDirectory: dir, checkpoints });
    await first.waitForStream();
    await waitUntil(() => first.healer.checkpoints.length === 1, 10_000, 'the first checkpoint');
    writeFiles(sim, ['data/before-shutdown.txt']);
    await waitUntil(() => first.live.some((e) => e.name === 'before-shutdown.txt'), 10_000, 'a live event');
    await sleep(400);
    const checkpoint = first.healer.checkpoints[0];
    await first.close(false); // a shutdown, not a removal
    assert.equal((await client.listSnapshots()).length, 1, 'the checkpoint survives a restart');
    const marker = JSON.parse(fs.readFileSync(first.healer.markerFile!, 'utf8'));
    assert.equal(marker.removed, false);
    assert.deepEqual(marker.checkpoints.map((c: { id: number }) => c.id), [checkpoint.id]);

    const whileDown = numbered('data/down', 40);
    writeFiles(sim, whileDown);
    fs.rmSync(sim.disk('data/keep.txt'));
    fs.chmodSync(sim.disk('data/mod.txt'), 0o600); // metadata only: mtime stays old
    await sleep(200);

    const second = startHarness(sim, { ref: '/data', stateDirectory: dir, checkpoints });
    try {
      const result = await second.result();
      assert.equal(result.outcome, 'healed', result.error);
      assert.equal(result.gap.reason, 'restart');
      assert.equal(result.method, 'diff', `${result.fallbackReason} ${JSON.stringify(second.healer.checkpoints)} ${second.warnings.join('|')}`);
      assert.equal(result.baseline?.id, checkpoint.id);
      assert.ok(Date.parse(result.gap.start) <= Date.now());
      const seen = byPath(second.synthetic);
      for (const rel of whileDown) assert.deepEqual(seen['/' + rel], ['child_file_added'], rel);
      assert.deepEqual(seen['/data/keep.txt'], ['child_file_removed']);
      assert.deepEqual(seen['/data/mod.txt'], ['child_data_written'], 'a chmod while down is a modification');
      // A restart forgets what was delivered live: a file created between the checkpoint and the
      // shutdown comes again (documented duplicate); unchanged files do not.
      assert.deepEqual(seen['/data/before-shutdown.txt'], ['child_file_added']);
      assert.equal(seen['/data/sub/deep.txt'], undefined);
      assert.equal(result.entries, whileDown.length + 4);
    } finally {
      await second.close();
    }
  });

  it('deletes its checkpoints when removed; a node added again for the watch heals the time it was gone', async () => {
    const dir = stateDir();
    const first = startHarness(sim, { ref: '/data', stateDirectory: dir, consumerId: 'removed-node', checkpoints: { enabled: true, intervalMs: 3600_000, expiryMs: 3600_000 } });
    await first.waitForStream();
    await waitUntil(() => first.healer.checkpoints.length === 1, 10_000, 'the first checkpoint');
    await backdate(client, OLD_PATHS);
    await sleep(400);
    await first.close(true);
    assert.deepEqual(await client.listSnapshots(), [], 'checkpoints deleted with the node');
    assert.equal(JSON.parse(fs.readFileSync(first.healer.markerFile!, 'utf8')).removed, true);

    const whileRemoved = numbered('data/gone', 30);
    writeFiles(sim, whileRemoved);

    const second = startHarness(sim, { ref: '/data', stateDirectory: dir, consumerId: 'new-node' });
    try {
      const result = await second.result();
      assert.equal(result.outcome, 'healed', result.error);
      assert.equal(result.gap.reason, 're-added');
      assert.equal(result.method, 'walk');
      const seen = byPath(second.synthetic);
      for (const rel of whileRemoved) assert.deepEqual(seen['/' + rel], ['child_file_added'], rel);
      assert.equal(seen['/data/keep.txt'], undefined);
      assert.equal(fs.existsSync(first.healer.markerFile!), false, 'the removed marker was taken over');
      assert.equal(new MarkerStore(dir).load('heal-spec-watch', 'new-node').record?.removed, false);
    } finally {
      await second.close();
    }
  });

  it('keeps rolling checkpoints, never more than two alive', async () => {
    const h = startHarness(sim, { ref: '/data', checkpoints: { enabled: true, intervalMs: 1_000, expiryMs: 3600_000 } });
    try {
      await h.waitForStream();
      await waitUntil(() => h.healer.checkpoints.length === 1, 10_000, 'the first checkpoint');
      const firstId = h.healer.checkpoints[0].id;
      const most = { alive: 0 };
      await waitUntil(
        () => {
          void client.listSnapshots().then((list) => (most.alive = Math.max(most.alive, list.length)));
          return h.healer.checkpoints.some((c) => c.id >= firstId + 2);
        },
        15_000,
        'two more checkpoints',
      );
      await h.healer.settled();
      const ours = await client.listSnapshots();
      assert.equal(ours.length, 2);
      assert.ok(most.alive <= 2, `at most two alive (saw ${most.alive})`);
      for (const s of ours) {
        assert.match(s.name, new RegExp(`^${s.id}_qumulo-flow-checkpoint-${h.healer.healId}$`));
        assert.ok(s.expiration && Date.parse(s.expiration) > Date.now(), 'each checkpoint expires by itself');
      }
    } finally {
      await h.close();
    }
  });

  it('simulator snapshots report the real change time (a chmod moves it, mtime stays)', async () => {
    const before = await client.createSnapshot({ sourceFileId: '2' });
    await sleep(20);
    fs.chmodSync(sim.disk('data/keep.txt'), 0o600);
    const after = await client.createSnapshot({ sourceFileId: '2' });
    const old = await client.getAttributes('/data/keep.txt', { snapshot: before.id });
    const now = await client.getAttributes('/data/keep.txt', { snapshot: after.id });
    assert.equal(now.modification_time, old.modification_time);
    assert.ok(Date.parse(now.change_time!) > Date.parse(old.change_time!), `${old.change_time} → ${now.change_time}`);
    assert.equal(now.change_time, (await client.getAttributes('/data/keep.txt')).change_time, 'same as the live attributes');
    const changes = [];
    for await (const page of client.snapshotChanges(after.id, before.id)) changes.push(...page.entries);
    assert.deepEqual(changes.filter((c) => c.path === '/data/keep.txt'), [{ op: 'MODIFY', path: '/data/keep.txt' }]);
  });

  it('registry hooks for healing: resume() tells continuity, deliver() goes through the slot, nextSeq() continues the numbering', async () => {
    const pool = new ClientPool();
    const registry = new WatchRegistry({ graceMs: 10_000, backoffInitialMs: 50 }, pool);
    const spec = { client: sim.clientOptions(), ref: '/data', recursive: true, types: null };
    const got: QumuloEvent[] = [];
    const consumerFor = (id: string): WatchConsumer => ({ id, onEvent: (e) => got.push(e) });
    try {
      const first = registry.acquire(spec, consumerFor('node-1'));
      assert.equal(first.resume(), false, 'a new consumer continues nothing');
      await waitUntil(() => first.status.state === 'watching', 10_000, 'watching');
      writeFiles(sim, ['data/live.txt']);
      await waitUntil(() => got.some((e) => e.name === 'live.txt'), 10_000, 'a live event');
      const liveSeq = got[got.length - 1].seq;
      const healedSeq = first.nextSeq();
      assert.ok(healedSeq > liveSeq);
      const healed = { ...got[got.length - 1], seq: healedSeq, resync: true, name: 'healed.txt' };
      first.deliver([healed]);
      assert.equal(got[got.length - 1], healed, 'delivered at once to a running consumer');

      // A deploy: released without removal, events keep coming into its slot, also healed ones.
      first.release();
      first.deliver([{ ...healed, seq: first.nextSeq(), name: 'healed-while-away.txt' }]);
      writeFiles(sim, ['data/while-away.txt']);
      await sleep(300);
      const countAway = got.length;
      const second = registry.acquire(spec, consumerFor('node-1'));
      assert.equal(second.resume(), true, 'the node that comes back continues its slot');
      assert.ok(got.slice(countAway).some((e) => e.name === 'healed-while-away.txt'), 'the healed event buffered while away');
      assert.ok(got.slice(countAway).some((e) => e.name === 'while-away.txt'), 'the buffered live event too');
      const seqs = got.map((e) => e.seq);
      assert.equal(new Set(seqs).size, seqs.length, 'live and healed seq never collide');
      // Removed: nothing more reaches it.
      second.release({ removed: true });
      const before = got.length;
      second.deliver([{ ...healed, seq: 999_999 }]);
      assert.equal(got.length, before);
    } finally {
      registry.closeAll();
    }
  });

  it('keeps a failed heal open and retries it', async () => {
    await backdate(client, OLD_PATHS);
    // The first heal gets a client that was already closed (as after a cluster config change).
    const closedClient = new QumuloClient(sim.clientOptions());
    await closedClient.close();
    let calls = 0;
    const h = startHarness(sim, {
      ref: '/data',
      retryInitialMs: 100,
      clientFor: (live) => () => (++calls === 1 ? closedClient : live),
    });
    try {
      await h.waitForStream();
      await duringOutage(sim, () => writeFiles(sim, ['data/retried.txt']));
      const failed = await h.result(0);
      assert.equal(failed.outcome, 'failed');
      assert.match(failed.error ?? '', /closed/);
      const healed = await h.result(1);
      assert.equal(healed.outcome, 'healed', healed.error);
      assert.equal(healed.gap.start, failed.gap.start, 'the same window, retried');
      assert.deepEqual(byPath(h.synthetic)['/data/retried.txt'], ['child_file_added']);
    } finally {
      await h.close();
    }
  });
});
