// The simulator over a tree of 100,000 files: indexing, ids, disk notifications and the
// snapshot diff stay correct at that size (how fast is for the benchmarks, not asserted here).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { QumuloSimulator } from '../../sim/index';
import { encodeRef, SseReader, tempRoot, TestApi } from '../support/sim-client';

const DIRS = 100;
const FILES_PER_DIR = 1000;

describe('Qumulo simulator at 100,000 files', function () {
  this.timeout(60000);

  let root: string;
  let sim: QumuloSimulator;
  let api: TestApi;
  let reader: SseReader | undefined;

  before(async function () {
    root = tempRoot('scale');
    for (let d = 0; d < DIRS; d++) {
      const dir = path.join(root, `d${d}`);
      fs.mkdirSync(dir);
      for (let f = 0; f < FILES_PER_DIR; f++) fs.writeFileSync(path.join(dir, `f${f}.txt`), '');
    }
    sim = new QumuloSimulator({ root });
    await sim.start();
    api = new TestApi(sim.url);
    await api.login();
  });

  after(async function () {
    reader?.close();
    await sim?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('indexes the tree: ids by path and by id, spines for disk changes deep in it', async function () {
    const rel = 'd42/f999.txt';
    const inode = fs.statSync(path.join(root, rel)).ino.toString();
    assert.equal(sim.fileIdOf(rel), inode);
    const byId = await api.request('GET', `/v1/files/${inode}/info/attributes`);
    assert.equal(byId.body.path, '/d42/f999.txt');

    reader = await SseReader.open(api, encodeRef('/'), 'recursive=true');
    fs.writeFileSync(path.join(root, rel), 'now with data');
    assert.deepEqual(await reader.next(), [
      { type: 'child_data_written', path: rel, spine: ['2', sim.fileIdOf('d42'), inode], stream_name: null },
      { type: 'child_size_changed', path: rel, spine: ['2', sim.fileIdOf('d42'), inode], stream_name: null },
    ]);
  });

  it('diffs two snapshots of the whole tree exactly', async function () {
    const older = await api.request('POST', '/v3/snapshots/', { source_file_id: '2', name_suffix: 'before' });
    assert.equal(older.status, 200);
    for (let f = 0; f < 10; f++) fs.writeFileSync(path.join(root, 'd5', `f${f}.txt`), 'changed');
    fs.renameSync(path.join(root, 'd7'), path.join(root, 'd7-renamed'));
    fs.unlinkSync(path.join(root, 'd9', 'f500.txt'));
    const newer = await api.request('POST', '/v3/snapshots/', { source_file_id: '2', name_suffix: 'after' });

    const entries: Array<{ op: string; path: string }> = [];
    let next: string | null = `/v2/snapshots/${newer.body.id}/changes-since/${older.body.id}`;
    while (next) {
      const page = await api.request('GET', next);
      assert.equal(page.status, 200);
      entries.push(...page.body.entries);
      next = page.body.paging.next;
    }
    const files = entries.filter((entry) => !entry.path.endsWith('/'));
    const dirs = entries.filter((entry) => entry.path.endsWith('/'));
    const expected = [
      ...Array.from({ length: 10 }, (_, f) => `MODIFY /d5/f${f}.txt`),
      ...Array.from({ length: FILES_PER_DIR }, (_, f) => `DELETE /d7/f${f}.txt`),
      ...Array.from({ length: FILES_PER_DIR }, (_, f) => `CREATE /d7-renamed/f${f}.txt`),
      'DELETE /d9/f500.txt',
    ];
    assert.deepEqual(files.map((entry) => `${entry.op} ${entry.path}`).sort(), expected.sort());
    const dirOps = new Set(dirs.map((entry) => `${entry.op} ${entry.path}`));
    assert.ok(dirOps.has('DELETE /d7/'));
    assert.ok(dirOps.has('CREATE /d7-renamed/'));
    for (const op of dirOps) assert.match(op, /^(DELETE \/d7\/|CREATE \/d7-renamed\/|MODIFY \/|MODIFY \/d9\/)$/);

    // meanwhile the live stream reported the same changes (disk watcher over the big tree)
    const live = new Set([
      ...Array.from({ length: 10 }, (_, f) => [`child_data_written d5/f${f}.txt`, `child_size_changed d5/f${f}.txt`]).flat(),
      'child_dir_moved_from d7',
      'child_dir_moved_to d7-renamed',
      'child_file_removed d9/f500.txt',
    ]);
    const seen = new Set<string>();
    while (seen.size < live.size) for (const n of await reader!.next()) seen.add(`${n.type} ${n.path}`);
    assert.deepEqual(seen, live);
    assert.deepEqual(reader!.pending(), []);
  });
});
