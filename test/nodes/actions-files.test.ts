// qumulo-chmod, qumulo-rename and qumulo-quarantine in a real Node-RED runtime (test helper)
// against the real simulator. Effects are read back from the simulator's disk (fs.stat, paths).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { MutationIntent } from '../../core/qumulo/types';
import type { QumuloClusterNode } from '../../nodes/lib/cluster';
import { startSim, type TestSim } from '../support/sim';
import { Collector, clusterNode, diskMode, eventFor, helper, initHelper, tempDir, treeState } from '../support/actions';

/* eslint-disable @typescript-eslint/no-require-imports */
const modules = [
  require('../../nodes/qumulo-cluster'),
  require('../../nodes/qumulo-lock'),
  require('../../nodes/qumulo-chmod'),
  require('../../nodes/qumulo-rename'),
  require('../../nodes/qumulo-quarantine'),
];
/* eslint-enable @typescript-eslint/no-require-imports */

describe('file action nodes: chmod, rename, quarantine (simulator, real runtime)', function () {
  this.timeout(30_000);
  let sim: TestSim;
  let userDir: string;

  before(() => {
    userDir = tempDir('files-userdir');
    initHelper(userDir);
  });
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  beforeEach(async () => {
    sim = await startSim({
      files: {
        'data/a.txt': 'a',
        'data/report.pdf': 'r',
        'data/sub/deep/x.exe': 'x',
        'data/sub/deep/y.exe': 'y',
        'data/dir/': '',
        'other/x.exe': 'another x',
        'quarantine/sub/deep/x.exe': 'an earlier x',
      },
    });
    fs.chmodSync(sim.disk('data/a.txt'), 0o644);
    fs.chmodSync(sim.disk('data/dir'), 0o755);
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await sim.stop();
  });

  async function load(type: string, props: Record<string, unknown>) {
    const cluster = clusterNode(sim);
    const flow = [
      { id: 'tab', type: 'tab', label: type },
      cluster.node,
      { id: 'act', type, z: 'tab', name: `${type} under test`, cluster: 'cluster', x: 100, y: 100, wires: [['out']], ...props },
      { id: 'out', type: 'helper', z: 'tab', x: 300, y: 100 },
      { id: 'catch', type: 'catch', z: 'tab', scope: null, uncaught: false, x: 100, y: 200, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab', x: 300, y: 200 },
    ];
    await helper.load(modules, flow, cluster.credentials);
    const intents: MutationIntent[] = [];
    (helper.getNode('cluster') as unknown as QumuloClusterNode).client!.addMutationListener((i) => {
      intents.push(i);
    });
    return { node: helper.getNode('act'), out: new Collector(helper.getNode('out')), caught: new Collector(helper.getNode('caught')), intents };
  }

  describe('qumulo-chmod', () => {
    it('applies a symbolic mode to files, skips when already right, leaves directories alone', async () => {
      const { node, out, intents } = await load('qumulo-chmod', { mode: 'go-rwx', applyTo: 'files' });
      node.receive({ payload: eventFor(sim, 'data/a.txt') });
      const [done] = await out.next(1);
      assert.equal(done.result.outcome, 'done', done.result.detail);
      assert.equal(done.result.oldMode, '0644');
      assert.equal(done.result.newMode, '0600');
      assert.equal(diskMode(sim.disk('data/a.txt')), '0600');
      node.receive({ payload: eventFor(sim, 'data/a.txt', 'child_acl_changed') });
      const [again] = await out.next(1);
      assert.equal(again.result.outcome, 'skipped');
      assert.equal(again.result.detail, 'mode already 0600');
      node.receive({ payload: eventFor(sim, 'data/dir', 'child_acl_changed') });
      const [dir] = await out.next(1);
      assert.equal(dir.result.outcome, 'skipped');
      assert.match(dir.result.detail, /directory/);
      assert.equal(diskMode(sim.disk('data/dir')), '0755');
      assert.equal(intents.filter((i) => i.kind === 'set-attributes').length, 1);
    });

    it('applies an octal mode to files and directories alike with applyTo both', async () => {
      const { node, out } = await load('qumulo-chmod', { mode: '0750', applyTo: 'both' });
      node.receive({ payload: eventFor(sim, 'data/dir', 'child_dir_added') });
      node.receive({ payload: eventFor(sim, 'data/report.pdf') });
      const results = (await out.next(2)).map((m) => m.result);
      assert.deepEqual(results.map((r) => r.outcome).sort(), ['done', 'done']);
      assert.equal(diskMode(sim.disk('data/dir')), '0750');
      assert.equal(diskMode(sim.disk('data/report.pdf')), '0750');
    });

    it('dry-run changes nothing', async () => {
      const before = treeState(sim.root);
      const { node, out, intents } = await load('qumulo-chmod', { mode: 'u=rw,go=', applyTo: 'files', dryRun: true });
      node.receive({ payload: eventFor(sim, 'data/a.txt') });
      const [msg] = await out.next(1);
      assert.equal(msg.result.outcome, 'dry-run');
      assert.equal(msg.result.detail, 'would change mode 0644 → 0600');
      assert.deepEqual(treeState(sim.root), before);
      assert.equal(intents.length, 0);
    });

    it('a chmod refused by the cluster (locked file, 403) fails visibly and reaches Catch', async () => {
      const lockFirst = await load('qumulo-lock', { retention: '1d' });
      lockFirst.node.receive({ payload: eventFor(sim, 'data/a.txt') });
      assert.equal((await lockFirst.out.next(1))[0].result.outcome, 'done');
      await helper.unload();
      const { node, out, caught } = await load('qumulo-chmod', { mode: '0600', applyTo: 'files' });
      node.receive({ payload: eventFor(sim, 'data/a.txt') });
      const [msg] = await out.next(1);
      assert.equal(msg.result.outcome, 'failed');
      assert.equal(msg.result.error?.status, 403);
      assert.equal(msg.result.error?.errorClass, 'fs_read_only_error');
      assert.equal(msg.result.error?.privilege, undefined, 'a locked file is not a missing privilege');
      await caught.next(1);
      assert.equal(diskMode(sim.disk('data/a.txt')), '0644');
    });
  });

  describe('qumulo-rename', () => {
    it('renames by template in place, sanitized, and skips when the name already matches', async () => {
      const { node, out } = await load('qumulo-rename', { template: '{date}_{stem}{ext}', collision: 'number' });
      const event = eventFor(sim, 'data/report.pdf', 'child_file_added', { receivedAt: Date.UTC(2025, 4, 6, 7, 8, 9) });
      node.receive({ payload: event });
      const [msg] = await out.next(1);
      assert.equal(msg.result.outcome, 'done', msg.result.detail);
      assert.equal(msg.result.originalPath, '/data/report.pdf');
      assert.equal(msg.result.newPath, '/data/2025-05-06_report.pdf');
      assert.ok(fs.existsSync(sim.disk('data/2025-05-06_report.pdf')));
      assert.ok(!fs.existsSync(sim.disk('data/report.pdf')));
      await helper.unload();
      const same = await load('qumulo-rename', { template: '{name}' });
      same.node.receive({ payload: eventFor(sim, 'data/a.txt') });
      const [skip] = await same.out.next(1);
      assert.equal(skip.result.outcome, 'skipped');
      assert.equal(skip.result.detail, 'name is already a.txt');
    });

    it('never overwrites: numbered names, or skip/fail as configured', async () => {
      fs.writeFileSync(sim.disk('data/x-done.txt'), 'existing');
      fs.writeFileSync(sim.disk('data/x (1)-done.txt'), 'unrelated');
      fs.writeFileSync(sim.disk('data/x.txt'), 'x');
      const { node, out } = await load('qumulo-rename', { template: '{stem}-done{ext}', collision: 'number' });
      node.receive({ payload: eventFor(sim, 'data/x.txt') });
      const [msg] = await out.next(1);
      assert.equal(msg.result.newPath, '/data/x-done (1).txt');
      assert.equal(fs.readFileSync(sim.disk('data/x-done.txt'), 'utf8'), 'existing');
      assert.equal(fs.readFileSync(sim.disk('data/x-done (1).txt'), 'utf8'), 'x');
      await helper.unload();
      fs.writeFileSync(sim.disk('data/z.txt'), 'z');
      fs.writeFileSync(sim.disk('data/z-done.txt'), 'taken');
      const skip = await load('qumulo-rename', { template: '{stem}-done{ext}', collision: 'skip' });
      skip.node.receive({ payload: eventFor(sim, 'data/z.txt') });
      const [skipped] = await skip.out.next(1);
      assert.equal(skipped.result.outcome, 'skipped');
      assert.ok(fs.existsSync(sim.disk('data/z.txt')));
      await helper.unload();
      const fail = await load('qumulo-rename', { template: '{stem}-done{ext}', collision: 'fail' });
      fail.node.receive({ payload: eventFor(sim, 'data/z.txt') });
      const [failed] = await fail.out.next(1);
      assert.equal(failed.result.outcome, 'failed');
      await fail.caught.next(1);
      assert.equal(fs.readFileSync(sim.disk('data/z-done.txt'), 'utf8'), 'taken');
    });

    it('moves across directories only when a target directory is configured, creating it', async () => {
      const { node, out } = await load('qumulo-rename', { template: '{fileId}-{name}', targetDir: '/archive/{parent}', createDirs: true });
      const event = eventFor(sim, 'data/sub/deep/x.exe');
      node.receive({ payload: event });
      const [msg] = await out.next(1);
      assert.equal(msg.result.outcome, 'done', msg.result.detail);
      assert.equal(msg.result.newPath, `/archive/deep/${event.fileId}-x.exe`);
      assert.ok(fs.existsSync(sim.disk(`archive/deep/${event.fileId}-x.exe`)));
    });

    it('sanitizes hostile names from events into plain names in the same directory', async () => {
      const hostile = 'inv\u202Efdp.exe';
      fs.writeFileSync(sim.disk(`data/${hostile}`), 'h');
      const { node, out } = await load('qumulo-rename', { template: 'checked-{name}' });
      node.receive({ payload: eventFor(sim, `data/${hostile}`) });
      const [msg] = await out.next(1);
      assert.equal(msg.result.outcome, 'done', msg.result.detail);
      assert.equal(msg.result.newPath, '/data/checked-inv_fdp.exe');
      assert.ok(fs.existsSync(sim.disk('data/checked-inv_fdp.exe')));
    });

    it('dry-run predicts the name and touches nothing', async () => {
      const before = treeState(sim.root);
      const { node, out, intents } = await load('qumulo-rename', { template: 'new-{name}', dryRun: true });
      node.receive({ payload: eventFor(sim, 'data/a.txt') });
      const [msg] = await out.next(1);
      assert.equal(msg.result.outcome, 'dry-run');
      assert.equal(msg.result.newPath, '/data/new-a.txt');
      assert.deepEqual(treeState(sim.root), before);
      assert.equal(intents.length, 0);
    });
  });

  describe('qumulo-quarantine', () => {
    it('moves keeping the path relative to the watch root, creates directories, never overwrites', async () => {
      const { node, out } = await load('qumulo-quarantine', { root: '/quarantine', collision: 'number', mode: '0400' });
      const relEvent = (rel: string) => eventFor(sim, `data/${rel}`, 'child_file_added', { watchRoot: '/data', relativePath: rel });
      node.receive({ payload: relEvent('sub/deep/x.exe') });
      node.receive({ payload: relEvent('sub/deep/y.exe') });
      const results = (await out.next(2)).map((m) => m.result).sort((a, b) => a.path.localeCompare(b.path));
      assert.deepEqual(
        results.map((r) => [r.outcome, r.originalPath, r.newPath]),
        [
          ['done', '/data/sub/deep/x.exe', '/quarantine/sub/deep/x (1).exe'],
          ['done', '/data/sub/deep/y.exe', '/quarantine/sub/deep/y.exe'],
        ],
      );
      assert.equal(fs.readFileSync(sim.disk('quarantine/sub/deep/x.exe'), 'utf8'), 'an earlier x', 'existing file untouched');
      assert.equal(fs.readFileSync(sim.disk('quarantine/sub/deep/x (1).exe'), 'utf8'), 'x');
      assert.equal(diskMode(sim.disk('quarantine/sub/deep/y.exe')), '0400');
      assert.ok(!fs.existsSync(sim.disk('data/sub/deep/x.exe')));
    });

    it('uses the file id for collisions when asked, and can lock the quarantined copy', async () => {
      const { node, out } = await load('qumulo-quarantine', { root: '/quarantine', collision: 'file-id', keepStructure: false, lockRetention: '2030-01-01' });
      const event = eventFor(sim, 'other/x.exe', 'child_file_added', { watchRoot: '/other', relativePath: 'x.exe' });
      fs.writeFileSync(sim.disk('quarantine/x.exe'), 'occupied');
      node.receive({ payload: event });
      const [msg] = await out.next(1);
      assert.equal(msg.result.outcome, 'done', msg.result.detail);
      assert.equal(msg.result.newPath, `/quarantine/x.${event.fileId}.exe`);
      assert.deepEqual(sim.sim.lockOf(`quarantine/x.${event.fileId}.exe`), { legal_hold: false, retention_period: '2030-01-01T00:00:00Z' });
    });

    it('refuses targets that would escape the quarantine root, and skips files already inside it', async () => {
      const before = treeState(sim.root);
      const { node, out, caught, intents } = await load('qumulo-quarantine', { root: '/quarantine' });
      const base = eventFor(sim, 'data/a.txt', 'child_file_added', { watchRoot: '/data', relativePath: 'a.txt' });
      // (A bidi override in a name is legal: such a file is quarantined under a sanitized name,
      // see test/core/security-hostile-input.test.ts.)
      for (const relativePath of ['../../etc/passwd', '/etc/passwd', 'sub/../../a.txt', 'x\u0000y', '']) {
        node.receive({ payload: { ...base, relativePath } });
      }
      const refused = await out.next(5);
      for (const msg of refused) {
        assert.equal(msg.result.outcome, 'failed', JSON.stringify(msg.payload.relativePath));
        assert.match(msg.result.detail, /refused/);
      }
      await caught.next(5);
      node.receive({ payload: eventFor(sim, 'quarantine/sub/deep/x.exe', 'child_file_moved_to', { watchRoot: '/', relativePath: 'quarantine/sub/deep/x.exe' }) });
      const [inside] = await out.next(1);
      assert.equal(inside.result.outcome, 'skipped');
      assert.match(inside.result.detail, /already in quarantine/);
      assert.deepEqual(treeState(sim.root), before);
      assert.equal(intents.length, 0);
    });

    it('dry-run reports the target and touches nothing', async () => {
      const before = treeState(sim.root);
      const { node, out, intents } = await load('qumulo-quarantine', { root: '/quarantine', dryRun: true, mode: '0400' });
      node.receive({ payload: eventFor(sim, 'data/sub/deep/x.exe', 'child_file_added', { watchRoot: '/data', relativePath: 'sub/deep/x.exe' }) });
      const [msg] = await out.next(1);
      assert.equal(msg.result.outcome, 'dry-run');
      assert.equal(msg.result.newPath, '/quarantine/sub/deep/x (1).exe');
      assert.match(msg.result.detail, /would move to \/quarantine\/sub\/deep\/x \(1\)\.exe \(then mode 0400\)/);
      assert.deepEqual(treeState(sim.root), before);
      assert.equal(intents.length, 0);
    });
  });
});
