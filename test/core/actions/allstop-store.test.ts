// The all-stop state store on real files: persistence across "process restarts" (forgetting the
// in-memory store), per-cluster keys, change events, and failing closed on an unreadable file.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ALL_STOP_FILE_NAME, AllStopStore, type AllStopChange } from '../../../core/allstop/allstop';
import { clusterIdentity } from '../../../core/qumulo/identity';

describe('all-stop core: state store', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-allstop-'));
  });
  afterEach(() => {
    AllStopStore.forget(path.join(dir, ALL_STOP_FILE_NAME));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('activates per cluster, persists, and survives a restart', () => {
    const key = clusterIdentity({ host: 'Cluster.Example', port: 8000 });
    assert.equal(key, 'cluster.example:8000');
    const store = AllStopStore.forDirectory(dir);
    assert.equal(store, AllStopStore.forDirectory(dir), 'one store per file per process');
    const changes: AllStopChange[] = [];
    store.onChange((c) => changes.push(c));
    const first = store.activate(key, 'canary modified', { path: '/data/canary.docx', type: 'child_data_written' }, new Date('2025-05-01T00:00:00Z'));
    assert.equal(first.changed, true);
    const second = store.activate(key, 'again', null, new Date('2025-05-01T00:01:00Z'));
    assert.equal(second.changed, false);
    assert.equal(second.state.since, '2025-05-01T00:00:00.000Z');
    assert.equal(second.state.triggerCount, 2);
    assert.equal(changes.length, 2);
    assert.equal(store.isActive('other:8000'), false);

    AllStopStore.forget(store.file); // a new process
    const reloaded = AllStopStore.forDirectory(dir);
    assert.notEqual(reloaded, store);
    assert.equal(reloaded.isActive(key), true);
    assert.equal(reloaded.get(key).trigger?.path, '/data/canary.docx');
    const reset = reloaded.reset(key, 'operator');
    assert.equal(reset.changed, true);
    assert.equal(reloaded.isActive(key), false);
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, ALL_STOP_FILE_NAME), 'utf8'));
    assert.equal(onDisk.clusters[key].active, false);
    assert.equal(onDisk.clusters[key].resetBy, 'operator');
  });

  it('fails closed on an unreadable file and keeps it aside on reset', () => {
    fs.writeFileSync(path.join(dir, ALL_STOP_FILE_NAME), '{ this is not json');
    const store = AllStopStore.forDirectory(dir);
    assert.equal(store.isActive('any:8000'), true);
    assert.match(store.get('any:8000').reason, /unreadable/);
    store.reset('any:8000', 'operator');
    assert.equal(store.isActive('any:8000'), false);
    assert.ok(fs.readdirSync(dir).some((f) => f.startsWith(`${ALL_STOP_FILE_NAME}.unreadable-`)), 'bad file kept for inspection');
  });
});
