// qumulo-cluster + qumulo-watch in node-red-node-test-helper against the real simulator: the
// documented notification types, paths and file ids, in order, for changes made through the API
// and directly on disk; status; malformed payloads reaching a Catch node; a missing cluster; and
// the "Test connection" admin endpoint.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QumuloEvent } from '../../core/event';
import { QumuloClient } from '../../core/qumulo/client';
import { watchRegistry } from '../../core/watch/registry';
import clusterNode = require('../../nodes/qumulo-cluster');
import watchNode = require('../../nodes/qumulo-watch');
import { nodeTestHelper } from '../support/actions';
import { type TestSim, startSim } from '../support/sim';
import { waitUntil as until } from '../support/wait';

interface SuperTestLike {
  post(path: string): { send(body: unknown): { expect(status: number): Promise<{ body: Record<string, any> }> } };
}
const helper = nodeTestHelper<{ on(event: string, cb: (msg: never) => void): void }, SuperTestLike>();

interface Msg {
  payload: QumuloEvent;
  topic: string;
}

type HelperNode = {
  on(event: 'input', cb: (msg: Msg) => void): void;
  status: { args: unknown[][]; lastCall?: { args: unknown[] } } & ((...args: unknown[]) => void);
  error: { args: unknown[][] };
  warn: { args: unknown[][] };
  credentials?: Record<string, string>;
};

/** The last status the node itself set (the helper's spies sit on Node.prototype, shared by all nodes). */
function lastStatusOf(node: unknown): unknown {
  const spy = (node as { status: { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> } }).status;
  return spy.getCalls().filter((c) => c.thisValue === node).at(-1)?.args[0];
}


describe('qumulo-watch node', function () {
  this.timeout(30_000);
  let sim: TestSim;

  before(async () => {
    sim = await startSim({ files: { 'in/': '', 'in/keep.txt': 'k' } });
  });
  after(async () => {
    await sim?.stop();
  });
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await helper.unload();
    watchRegistry.closeAll();
    await helper.stopServer();
  });

  const clusterConfig = () => ({ id: 'c1', type: 'qumulo-cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http', maxConcurrency: '4' });
  const credentials = { c1: { username: 'admin', password: 'admin' } };

  async function loadWatch(path: string, extra: Record<string, unknown> = {}): Promise<{ watch: HelperNode; out: Msg[] }> {
    const flow = [
      { id: 'tab', type: 'tab' },
      clusterConfig(),
      { id: 'w1', type: 'qumulo-watch', z: 'tab', name: 'watch', cluster: 'c1', path, recursive: true, types: [], wires: [['out']], ...extra },
      { id: 'out', type: 'helper', z: 'tab' },
    ];
    await helper.load([clusterNode, watchNode], flow, credentials);
    const out: Msg[] = [];
    helper.getNode('out').on('input', (msg: Msg) => out.push(msg));
    const watch = helper.getNode('w1') as unknown as HelperNode;
    await until(() => watchRegistry.list().some((w) => w.status.state === 'watching' && w.consumers === 1), 'watching');
    return { watch, out };
  }

  it('emits the documented types with paths and file ids, in order, for API changes', async () => {
    const { watch, out } = await loadWatch('/in');
    const client = new QumuloClient(sim.clientOptions());
    const seen = (n: number) => until(() => out.length >= n, `${n} events (have ${out.map((m) => m.topic).join(',')})`);
    try {
      await client.createFile('/in', 'a.txt');
      await seen(1);
      const id = sim.sim.fileIdOf('in/a.txt');
      await client.writeData('/in/a.txt', Buffer.from('hello'));
      await seen(3);
      await client.rename('/in/a.txt', '/in', 'b.txt');
      await seen(5);
      await client.setAttributes('/in/b.txt', { mode: '0600' });
      await seen(6);
      await client.setFileLock('/in/b.txt', { legal_hold: true });
      await seen(7);
      await client.setFileLock('/in/b.txt', { legal_hold: false });
      await seen(8);
      await client.mkdir('/in', 'sub');
      await seen(9);
      await client.deleteFile('/in/b.txt');
      await seen(10);
      assert.deepEqual(
        out.map((m) => `${m.topic} ${m.payload.path}`),
        [
          'child_file_added /in/a.txt',
          'child_data_written /in/a.txt',
          'child_size_changed /in/a.txt',
          'child_file_moved_from /in/a.txt',
          'child_file_moved_to /in/b.txt',
          'child_acl_changed /in/b.txt',
          'child_extra_attrs_changed /in/b.txt',
          'child_extra_attrs_changed /in/b.txt',
          'child_dir_added /in/sub',
          'child_file_removed /in/b.txt',
        ],
      );
      const fileEvents = out.filter((m) => m.payload.name !== 'sub');
      assert.ok(fileEvents.every((m) => m.payload.fileId === id), 'every event of the file carries its id');
      assert.equal(out[8].payload.fileId, sim.sim.fileIdOf('in/sub'));
      assert.ok(out.every((m) => m.topic === m.payload.type && m.payload.watchRoot === '/in'));
      assert.deepEqual(out.map((m) => m.payload.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.deepEqual(out[4].payload.spine, [sim.sim.fileIdOf('in'), id]);
      // Status says what it does.
      await until(() => JSON.stringify(lastStatusOf(watch) ?? {}).includes('(10)'), 'status with the count');
      assert.deepEqual(lastStatusOf(watch), { fill: 'green', shape: 'dot', text: 'watching /in (10)' });
    } finally {
      await client.close();
    }
  });

  it('emits the documented types for changes made directly on disk', async () => {
    const { out } = await loadWatch('/in');
    const has = (topic: string, name: string) => () => out.some((m) => m.topic === topic && m.payload.name === name);
    fs.closeSync(fs.openSync(sim.disk('in/disk.txt'), 'w')); // empty: only 'added'
    await until(has('child_file_added', 'disk.txt'), 'added');
    const id = sim.sim.fileIdOf('in/disk.txt');
    fs.renameSync(sim.disk('in/disk.txt'), sim.disk('in/moved.txt'));
    await until(has('child_file_moved_to', 'moved.txt'), 'moved');
    fs.chmodSync(sim.disk('in/moved.txt'), 0o600);
    await until(has('child_acl_changed', 'moved.txt'), 'chmod');
    fs.appendFileSync(sim.disk('in/moved.txt'), ' and more');
    await until(has('child_size_changed', 'moved.txt'), 'write');
    fs.unlinkSync(sim.disk('in/moved.txt'));
    await until(has('child_file_removed', 'moved.txt'), 'removed');
    const key = ['child_file_added', 'child_file_moved_from', 'child_file_moved_to', 'child_acl_changed', 'child_size_changed', 'child_file_removed'];
    const sequence = out.filter((m) => key.includes(m.topic)).map((m) => `${m.topic} ${m.payload.path}`);
    assert.deepEqual(sequence, [
      'child_file_added /in/disk.txt',
      'child_file_moved_from /in/disk.txt',
      'child_file_moved_to /in/moved.txt',
      'child_acl_changed /in/moved.txt',
      'child_size_changed /in/moved.txt',
      'child_file_removed /in/moved.txt',
    ]);
    assert.ok(out.every((m) => m.payload.fileId === id), `one file id throughout: ${out.map((m) => m.payload.fileId).join(',')}`);
  });

  it('emits only the selected types', async () => {
    const { out } = await loadWatch('/in', { types: ['child_file_removed'] });
    fs.writeFileSync(sim.disk('in/t.txt'), 'x');
    const client = new QumuloClient(sim.clientOptions());
    try {
      await client.getAttributes('/in/t.txt'); // the simulator reports pending disk changes first
      await client.deleteFile('/in/t.txt');
      await until(() => out.length === 1, 'one event');
      assert.equal(out[0].topic, 'child_file_removed');
    } finally {
      await client.close();
    }
  });

  it('shares one stream among many watch nodes without piling up runtime listeners', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const watches = Array.from({ length: 12 }, (_, i) => ({
        id: `w${i}`,
        type: 'qumulo-watch',
        z: 'tab',
        cluster: 'c1',
        path: '/in',
        recursive: true,
        types: [],
        wires: [['out']],
      }));
      await helper.load([clusterNode, watchNode], [{ id: 'tab', type: 'tab' }, clusterConfig(), ...watches, { id: 'out', type: 'helper', z: 'tab' }], credentials);
      const out: Msg[] = [];
      helper.getNode('out').on('input', (msg: Msg) => out.push(msg));
      await until(() => watchRegistry.list()[0]?.status.state === 'watching' && watchRegistry.list()[0].consumers === 12, 'all watching');
      assert.equal(watchRegistry.list().length, 1);
      assert.equal(sim.sim.openStreams(), 1);
      sim.sim.notify('in/shared.txt', 'child_file_added');
      await until(() => out.length === 12, 'one message per watch node');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning'), []);
    } finally {
      process.removeListener('warning', onWarning);
    }
  });

  it('mirrors the cluster connection status onto registered user nodes', async () => {
    // A minimal user node, as action nodes will be: register with mirrorStatus, deregister on close.
    const userModule = (RED: { nodes: { createNode(n: unknown, c: unknown): void; getNode(id: string): unknown; registerType(t: string, c: unknown): void } }) => {
      RED.nodes.registerType('qumulo-test-user', function (this: { on: (e: string, cb: (r: boolean, d: () => void) => void) => void }, config: { cluster: string }) {
        RED.nodes.createNode(this, config);
        const cluster = RED.nodes.getNode(config.cluster) as { register(n: unknown, o: unknown): void; deregister(n: unknown): void };
        cluster.register(this, { mirrorStatus: true });
        this.on('close', (_removed, done) => {
          cluster.deregister(this);
          done();
        });
      });
    };
    const flow = [
      { id: 'tab', type: 'tab' },
      clusterConfig(),
      { id: 'bad', type: 'qumulo-cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http' },
      { id: 'u1', type: 'qumulo-test-user', z: 'tab', cluster: 'c1', x: 1, y: 1, wires: [] },
      { id: 'u2', type: 'qumulo-test-user', z: 'tab', cluster: 'c1', x: 1, y: 2, wires: [] },
      { id: 'u3', type: 'qumulo-test-user', z: 'tab', cluster: 'bad', x: 1, y: 3, wires: [] },
    ];
    await helper.load([clusterNode, watchNode, userModule], flow, { ...credentials, bad: { username: 'admin', password: 'wrong' } });
    const lastStatus = (id: string) => lastStatusOf(helper.getNode(id)) as { fill?: string; text?: string } | undefined;
    await until(() => lastStatus('u1')?.fill === 'green' && lastStatus('u2')?.fill === 'green' && lastStatus('u3')?.fill === 'red', 'mirrored statuses');
    assert.equal(lastStatus('u1')?.text, 'connected as admin');
    assert.equal(lastStatus('u2')?.text, 'connected as admin');
    assert.match(lastStatus('u3')?.text ?? '', /401/);
  });

  it('shows a red status and logs an error without a cluster', async () => {
    await helper.load([clusterNode, watchNode], [{ id: 'w1', type: 'qumulo-watch', name: 'orphan', path: '/', wires: [] }]);
    const watch = helper.getNode('w1') as unknown as HelperNode;
    assert.deepEqual(lastStatusOf(watch), { fill: 'red', shape: 'ring', text: 'no cluster configured' });
    assert.match(String(watch.error.args[0][0]), /No Qumulo cluster configured/);
    assert.equal(watchRegistry.list().length, 0);
  });

  it('refuses a relative or escaping path', async () => {
    await helper.load([clusterNode, watchNode], [clusterConfig(), { id: 'w1', type: 'qumulo-watch', cluster: 'c1', path: '/in/../..', wires: [] }], credentials);
    const watch = helper.getNode('w1') as unknown as HelperNode;
    assert.equal((lastStatusOf(watch) as { fill: string }).fill, 'red');
    assert.match(String(watch.error.args[0][0]), /Invalid watch path/);
  });

  describe('malformed notifications', () => {
    let server: http.Server;
    before(async () => {
      server = http.createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(': watching\n\n');
        res.write('data: [{"type":"child_file_added","path":"good-1","spine":["2","10"],"stream_name":null}]\n\n');
        res.write('data: {not json\n\n');
        res.write('data: [{"type":"child_time_travelled","path":"x"}]\n\n');
        res.write('data: [{"type":"child_file_added","path":"good-2","spine":["2","11"],"stream_name":null}]\n\n');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('reports them with node.error to a Catch node and keeps the stream flowing', async () => {
      const port = (server.address() as AddressInfo).port;
      const flow = [
        { id: 'tab', type: 'tab' },
        { id: 'c2', type: 'qumulo-cluster', host: '127.0.0.1', port: String(port), protocol: 'http' },
        { id: 'w2', type: 'qumulo-watch', z: 'tab', cluster: 'c2', path: '/', x: 100, y: 100, wires: [['out']] },
        { id: 'out', type: 'helper', z: 'tab', x: 300, y: 100 },
        { id: 'catch', type: 'catch', z: 'tab', scope: ['w2'], uncaught: false, x: 100, y: 200, wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 'tab', x: 300, y: 200 },
      ];
      await helper.load([clusterNode, watchNode], flow, { c2: { accessToken: 'access-v1:raw' } });
      const out: Msg[] = [];
      const caught: Array<{ topic: string; payload: { kind: string; total: number }; error: { message: string } }> = [];
      helper.getNode('out').on('input', (msg: Msg) => out.push(msg));
      helper.getNode('caught').on('input', (msg: (typeof caught)[number]) => caught.push(msg));
      await until(() => out.length === 2 && caught.length === 2, 'two events and two errors');
      assert.deepEqual(out.map((m) => m.payload.name), ['good-1', 'good-2']);
      assert.deepEqual(caught.map((m) => m.payload.kind), ['not-json', 'unknown-type']);
      assert.deepEqual(caught.map((m) => m.payload.total), [1, 2]);
      assert.equal(caught[0].topic, 'qumulo/malformed');
      assert.match(caught[1].error.message, /Malformed change notification #2 \(unknown-type\)/);
    });
  });

  describe('Test connection endpoint', () => {
    it('logs in with the dialog values and reports version, user and privileges', async () => {
      await helper.load([clusterNode, watchNode], []);
      const res = await helper
        .request()
        .post('/qumulo-flow/cluster/test')
        .send({ host: '127.0.0.1', port: String(sim.port), protocol: 'http', username: 'admin', password: 'admin' })
        .expect(200);
      assert.equal(res.body.ok, true, JSON.stringify(res.body));
      assert.equal(res.body.user.name, 'admin');
      assert.match(res.body.version.revision_id, /Qumulo Core/);
      assert.ok(res.body.privileges.includes('PRIVILEGE_FS_FILE_LOCK_WRITE'));
    });

    it('falls back to the stored password of an existing node when the field is unchanged', async () => {
      await helper.load([clusterNode, watchNode], [clusterConfig()], credentials);
      const res = await helper
        .request()
        .post('/qumulo-flow/cluster/test')
        .send({ id: 'c1', host: '127.0.0.1', port: String(sim.port), protocol: 'http', username: 'admin', password: '__PWRD__' })
        .expect(200);
      assert.equal(res.body.ok, true, JSON.stringify(res.body));
    });

    it("reports the cluster's error for bad credentials or a bad address", async () => {
      await helper.load([clusterNode, watchNode], []);
      const wrong = await helper
        .request()
        .post('/qumulo-flow/cluster/test')
        .send({ host: '127.0.0.1', port: String(sim.port), protocol: 'http', username: 'admin', password: 'nope' })
        .expect(200);
      assert.equal(wrong.body.ok, false);
      assert.equal(wrong.body.status, 401);
      assert.equal(wrong.body.errorClass, 'http_unauthorized_error');
      const tls = await helper
        .request()
        .post('/qumulo-flow/cluster/test')
        .send({ host: '127.0.0.1', port: String(sim.port), protocol: 'https', username: 'admin', password: 'admin' })
        .expect(200);
      assert.equal(tls.body.ok, false);
      assert.match(tls.body.error, /TLS/);
      const missing = await helper.request().post('/qumulo-flow/cluster/test').send({ host: '', username: 'admin' }).expect(200);
      assert.equal(missing.body.ok, false);
      assert.match(missing.body.error, /no host/);
    });
  });
});
