// The Qumulo simulator over real HTTP(S) and SSE against a temporary backing directory.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { QumuloSimulator, type SimulatorOptions } from '../../sim/index';
import { brief, encodeRef, sleep, SseReader, tempRoot, TestApi, waitUntil } from '../support/sim-client';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'tls');

describe('Qumulo simulator', function () {
  this.timeout(30000);

  let root: string;
  let sim: QumuloSimulator;
  let api: TestApi;
  const readers: SseReader[] = [];

  async function startSim(extra: Partial<SimulatorOptions> = {}): Promise<void> {
    sim = new QumuloSimulator({ root, ...extra });
    await sim.start();
    api = new TestApi(sim.url, extra.tls ? { ca: fs.readFileSync(path.join(FIXTURES, 'cert.pem')) } : {});
    await api.login();
  }

  async function watch(absPath: string, query = 'recursive=true'): Promise<SseReader> {
    const reader = await SseReader.open(api, encodeRef(absPath), query);
    readers.push(reader);
    return reader;
  }

  beforeEach(function () {
    root = tempRoot('spec');
  });

  afterEach(async function () {
    for (const reader of readers.splice(0)) reader.close();
    await sim?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe('sessions', function () {
    beforeEach(() => startSim({ accessTokens: ['access-v1:long-lived'] }));

    it('serves /v1/version without a token and answers 401 with a Qumulo error body otherwise', async function () {
      const version = await api.request('GET', '/v1/version', undefined, null);
      assert.equal(version.status, 200);
      assert.match(version.body.revision_id, /Qumulo Core/);

      const missing = await api.request('GET', '/v1/session/who-am-i', undefined, null);
      assert.equal(missing.status, 401);
      assert.equal(missing.body.error_class, 'http_unauthorized_error');
      assert.deepEqual(missing.body.stack, []);

      const bogus = await api.request('GET', '/v1/session/who-am-i', undefined, 'session-v1:made-up');
      assert.equal(bogus.status, 401);

      const badLogin = await api.request('POST', '/v1/session/login', { username: 'admin', password: 'wrong' }, null);
      assert.equal(badLogin.status, 401);
      assert.equal(badLogin.body.error_class, 'http_unauthorized_error');
    });

    it('issues session tokens, reports privileges and accepts configured access tokens', async function () {
      assert.match(api.token, /^session-v1:/);
      const me = await api.request('GET', '/v1/session/who-am-i');
      assert.equal(me.status, 200);
      assert.equal(me.body.name, 'admin');
      assert.ok(me.body.privileges.includes('PRIVILEGE_FS_FILE_LOCK_WRITE'));

      const viaAccess = await api.request('GET', '/v1/session/who-am-i', undefined, 'access-v1:long-lived');
      assert.equal(viaAccess.status, 200);
      assert.ok(sim.stats.logins >= 1);
    });

    it('expires session tokens after tokenTtlMs and refuses revoked ones', async function () {
      sim.faults.tokenTtlMs = 30;
      const token = await api.login();
      await sleep(60);
      assert.equal((await api.request('GET', '/v1/session/who-am-i', undefined, token)).status, 401);
      // access tokens do not expire with the session TTL
      assert.equal((await api.request('GET', '/v1/session/who-am-i', undefined, 'access-v1:long-lived')).status, 200);

      sim.faults.tokenTtlMs = 0;
      const fresh = await api.login();
      assert.equal((await api.request('GET', '/v1/session/who-am-i', undefined, fresh)).status, 200);
      sim.revokeTokens();
      const revoked = await api.request('GET', '/v1/session/who-am-i', undefined, fresh);
      assert.equal(revoked.status, 401);
      assert.equal(revoked.body.error_class, 'http_unauthorized_error');
      const again = await api.login();
      assert.equal((await api.request('GET', '/v1/session/who-am-i', undefined, again)).status, 200);
    });
  });

  describe('files', function () {
    beforeEach(() => startSim());

    it('reports attributes by id and by path; ids are inode numbers, the root is "2"', async function () {
      fs.mkdirSync(path.join(root, 'dir'));
      fs.writeFileSync(path.join(root, 'dir', 'f.txt'), 'hello');
      const byPath = await api.request('GET', `/v1/files/${encodeRef('/dir/f.txt')}/info/attributes`);
      assert.equal(byPath.status, 200);
      const inode = fs.statSync(path.join(root, 'dir', 'f.txt')).ino.toString();
      assert.equal(byPath.body.id, inode);
      assert.equal(byPath.body.file_number, inode);
      assert.equal(byPath.body.path, '/dir/f.txt');
      assert.equal(byPath.body.name, 'f.txt');
      assert.equal(byPath.body.type, 'FS_FILE_TYPE_FILE');
      assert.equal(byPath.body.size, '5');
      assert.match(byPath.body.mode, /^0[0-7]{3}$/);
      assert.match(byPath.body.modification_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      assert.equal(byPath.body.lock, undefined);
      assert.equal(sim.fileIdOf('dir/f.txt'), inode);

      const byId = await api.request('GET', `/v1/files/${inode}/info/attributes`);
      assert.deepEqual(byId.body, byPath.body);

      const dir = await api.request('GET', `/v1/files/${encodeRef('/dir')}/info/attributes`);
      assert.equal(dir.body.path, '/dir/');
      assert.equal(dir.body.type, 'FS_FILE_TYPE_DIRECTORY');
      assert.equal(dir.body.child_count, 1);

      const rootAttrs = await api.request('GET', '/v1/files/%2F/info/attributes');
      assert.equal(rootAttrs.body.id, '2');
      assert.equal(rootAttrs.body.path, '/');
      assert.equal((await api.request('GET', '/v1/files/2/info/attributes')).body.path, '/');

      const missing = await api.request('GET', `/v1/files/${encodeRef('/nope.txt')}/info/attributes`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error_class, 'fs_no_such_entry_error');
      assert.equal((await api.request('GET', '/v1/files/999999999999/info/attributes')).status, 404);
    });

    it('keeps ids across renames and resolves ids to paths', async function () {
      await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_DIRECTORY', name: 'a' });
      const created = await api.request('POST', `/v1/files/${encodeRef('/a')}/entries/`, { action: 'CREATE_FILE', name: 'one.txt' });
      assert.equal(created.status, 200);
      const id = created.body.id;
      const renamed = await api.request('POST', '/v1/files/%2F/entries/', { action: 'RENAME', old_path: '/a/one.txt', name: 'two.txt', clobber: false });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.id, id);
      assert.equal(renamed.body.path, '/two.txt');
      const resolved = await api.request('POST', '/v1/files/resolve', [id, sim.fileIdOf('a')]);
      assert.deepEqual(resolved.body, [
        { id, path: '/two.txt' },
        { id: sim.fileIdOf('a'), path: '/a/' },
      ]);
    });

    it('pages directory listings with paging.next until it is empty', async function () {
      const names = ['e.txt', 'a.txt', 'g.txt', 'c.txt', 'b.txt', 'f.txt', 'd.txt'];
      for (const name of names) fs.writeFileSync(path.join(root, name), name);
      const seen: string[] = [];
      let next = '/v1/files/%2F/entries/?limit=3';
      let pages = 0;
      while (next !== '') {
        const page = await api.request('GET', next);
        assert.equal(page.status, 200);
        assert.equal(page.body.path, '/');
        assert.equal(page.body.id, '2');
        assert.ok(page.body.files.length <= 3);
        for (const file of page.body.files) {
          assert.equal(file.path, '/' + file.name);
          seen.push(file.name);
        }
        next = page.body.paging.next;
        pages++;
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...names].sort());
    });

    it('creates, writes, renames with and without clobber, and deletes for real', async function () {
      const mkdir = await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_DIRECTORY', name: 'docs' });
      assert.equal(mkdir.body.path, '/docs/');
      assert.ok(fs.statSync(path.join(root, 'docs')).isDirectory());
      const again = await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_DIRECTORY', name: 'docs' });
      assert.equal(again.status, 409);
      assert.equal(again.body.error_class, 'fs_entry_exists_error');

      await api.request('POST', `/v1/files/${encodeRef('/docs')}/entries/`, { action: 'CREATE_FILE', name: 'a.txt' });
      const write = await api.request('PUT', `/v1/files/${encodeRef('/docs/a.txt')}/data`, Buffer.from('payload'));
      assert.equal(write.status, 200);
      assert.equal(write.body.size, '7');
      assert.equal(fs.readFileSync(path.join(root, 'docs', 'a.txt'), 'utf8'), 'payload');
      const read = await api.request('GET', `/v1/files/${encodeRef('/docs/a.txt')}/data`);
      assert.equal(read.text, 'payload');

      fs.writeFileSync(path.join(root, 'docs', 'b.txt'), 'other');
      const blocked = await api.request('POST', `/v1/files/${encodeRef('/docs')}/entries/`, { action: 'RENAME', old_path: '/docs/a.txt', name: 'b.txt', clobber: false });
      assert.equal(blocked.status, 409);
      const clobbered = await api.request('POST', `/v1/files/${encodeRef('/docs')}/entries/`, { action: 'RENAME', old_path: '/docs/a.txt', name: 'b.txt', clobber: true });
      assert.equal(clobbered.status, 200);
      assert.equal(fs.readFileSync(path.join(root, 'docs', 'b.txt'), 'utf8'), 'payload');
      assert.equal(fs.existsSync(path.join(root, 'docs', 'a.txt')), false);

      const notEmpty = await api.request('DELETE', `/v1/files/${encodeRef('/docs')}`);
      assert.equal(notEmpty.status, 409);
      assert.equal(notEmpty.body.error_class, 'fs_directory_not_empty_error');
      const delFile = await api.request('DELETE', `/v1/files/${encodeRef('/docs/b.txt')}`);
      assert.equal(delFile.status, 200);
      assert.equal(delFile.text, '');
      assert.equal((await api.request('DELETE', `/v1/files/${encodeRef('/docs')}`)).status, 200);
      assert.equal(fs.existsSync(path.join(root, 'docs')), false);

      const badAction = await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_SYMLINK', name: 'l' });
      assert.equal(badAction.status, 400);
      const badJson = await api.request('POST', '/v1/files/%2F/entries/', Buffer.from('{nope'));
      assert.equal(badJson.status, 400);
    });

    it('applies mode with a real chmod and keeps owner, group and times', async function () {
      fs.writeFileSync(path.join(root, 'm.txt'), 'x');
      const patched = await api.request('PATCH', `/v1/files/${encodeRef('/m.txt')}/info/attributes`, {
        mode: '0600',
        owner: '1234',
        group_details: { id_type: 'NFS_GID', id_value: '4321' },
        creation_time: '2020-01-02T03:04:05.123456789Z',
        modification_time: '2021-06-07T08:09:10Z',
      });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.mode, '0600');
      assert.equal(fs.statSync(path.join(root, 'm.txt')).mode & 0o777, 0o600);
      assert.equal(patched.body.owner, '1234');
      assert.deepEqual(patched.body.group_details, { id_type: 'NFS_GID', id_value: '4321' });
      assert.equal(patched.body.creation_time, '2020-01-02T03:04:05.123456789Z');
      assert.equal(patched.body.modification_time, '2021-06-07T08:09:10.000000000Z');
      const bad = await api.request('PATCH', `/v1/files/${encodeRef('/m.txt')}/info/attributes`, { mode: 'rwx' });
      assert.equal(bad.status, 400);
    });

    it('refuses paths that would leave the root', async function () {
      const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-sim-outside-'));
      try {
        fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
        fs.symlinkSync(outside, path.join(root, 'escape'));
        const cases = [
          `/v1/files/${encodeRef('/../etc')}/info/attributes`,
          `/v1/files/${encodeRef('/a/../../x')}/info/attributes`,
          `/v1/files/%2Fa%2F%2E%2E%2Fb/info/attributes`,
          `/v1/files/${encodeRef('/bad\u0000name')}/info/attributes`, // NUL (a tab or newline is a legal name)
          `/v1/files/${encodeRef('/escape/secret.txt')}/info/attributes`,
          `/v1/files/${encodeRef('/escape/secret.txt')}/data`,
          `/v1/files/${encodeRef('/escape/inner')}/notify`,
        ];
        for (const url of cases) {
          const res = await api.request('GET', url);
          assert.equal(res.status, 400, url);
          assert.equal(res.body.error_class, 'invalid_request_error', url);
        }
        const create = await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_FILE', name: '../x' });
        assert.equal(create.status, 400);
        const rename = await api.request('POST', '/v1/files/%2F/entries/', { action: 'RENAME', old_path: '/../x', name: 'y' });
        assert.equal(rename.status, 400);
        const write = await api.request('PUT', `/v1/files/${encodeRef('/escape/secret.txt')}/data`, Buffer.from('pwned'));
        assert.equal(write.status, 400);
        assert.equal(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'secret');
        // the link itself is an object inside the root and is reported, not followed
        const link = await api.request('GET', `/v1/files/${encodeRef('/escape')}/info/attributes`);
        assert.equal(link.body.type, 'FS_FILE_TYPE_SYMLINK');
      } finally {
        fs.rmSync(outside, { recursive: true, force: true });
      }
    });

    it('reuses keep-alive connections', async function () {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const client = new TestApi(sim.url, { agent });
        await client.login();
        const first = await client.request('GET', '/v1/session/who-am-i');
        const second = await client.request('GET', '/v1/files/%2F/info/attributes');
        assert.equal(first.status, 200);
        assert.equal(second.status, 200);
        assert.equal(first.socket, second.socket);
      } finally {
        agent.destroy();
      }
    });
  });

  describe('change notify', function () {
    beforeEach(() => startSim());

    it('streams API changes in order: relative paths, spines from the watched directory, one line per operation', async function () {
      const all = await watch('/', 'recursive=true');
      assert.equal(all.contentType, 'text/event-stream');
      assert.equal(all.comments()[0], ': watching');

      await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_DIRECTORY', name: 'docs' });
      const docsId = sim.fileIdOf('docs');
      assert.deepEqual(await all.next(), [{ type: 'child_dir_added', path: 'docs', spine: ['2', docsId], stream_name: null }]);

      const docs = await watch('/docs', 'recursive=false');
      const shallowRoot = await watch('/', 'recursive=False');

      await api.request('POST', `/v1/files/${encodeRef('/docs')}/entries/`, { action: 'CREATE_FILE', name: 'a.txt' });
      const id = sim.fileIdOf('docs/a.txt');
      assert.deepEqual(await all.next(), [{ type: 'child_file_added', path: 'docs/a.txt', spine: ['2', docsId, id], stream_name: null }]);
      assert.deepEqual(await docs.next(), [{ type: 'child_file_added', path: 'a.txt', spine: [docsId, id], stream_name: null }]);

      await api.request('PUT', `/v1/files/${encodeRef('/docs/a.txt')}/data`, Buffer.from('hello'));
      assert.deepEqual(brief(await all.next()), [['child_data_written', 'docs/a.txt'], ['child_size_changed', 'docs/a.txt']]);
      assert.deepEqual(brief(await docs.next()), [['child_data_written', 'a.txt'], ['child_size_changed', 'a.txt']]);

      await api.request('PUT', `/v1/files/${id}/data`, Buffer.from('HELLO'));
      assert.deepEqual(brief(await docs.next()), [['child_data_written', 'a.txt']]);
      assert.deepEqual(brief(await all.next()), [['child_data_written', 'docs/a.txt']]);

      await api.request('POST', `/v1/files/${docsId}/entries/`, { action: 'RENAME', old_path: '/docs/a.txt', name: 'b.txt' });
      const rename = await all.next();
      assert.deepEqual(rename, [
        { type: 'child_file_moved_from', path: 'docs/a.txt', spine: ['2', docsId, id], stream_name: null },
        { type: 'child_file_moved_to', path: 'docs/b.txt', spine: ['2', docsId, id], stream_name: null },
      ]);
      assert.deepEqual(brief(await docs.next()), [['child_file_moved_from', 'a.txt'], ['child_file_moved_to', 'b.txt']]);

      await api.request('PATCH', `/v1/files/${id}/info/attributes`, { mode: '0600' });
      assert.deepEqual(brief(await docs.next()), [['child_acl_changed', 'b.txt']]);
      await api.request('PATCH', `/v1/files/${id}/info/attributes`, { owner: '1000', group: '1000' });
      assert.deepEqual(brief(await docs.next()), [['child_owner_changed', 'b.txt'], ['child_group_changed', 'b.txt']]);
      await api.request('PATCH', `/v1/files/${id}/info/attributes`, { modification_time: '2022-01-01T00:00:00Z', creation_time: '2021-01-01T00:00:00Z' });
      assert.deepEqual(brief(await docs.next()), [['child_mtime_changed', 'b.txt'], ['child_btime_changed', 'b.txt']]);
      await api.request('PATCH', `/v1/files/${id}/file-lock`, { legal_hold: true });
      assert.deepEqual(brief(await docs.next()), [['child_extra_attrs_changed', 'b.txt']]);
      await api.request('PATCH', `/v1/files/${id}/file-lock`, { legal_hold: false });
      assert.deepEqual(brief(await docs.next()), [['child_extra_attrs_changed', 'b.txt']]);
      // the same five operations, seen from the root
      for (let i = 0; i < 5; i++) for (const n of await all.next()) assert.equal(n.path, 'docs/b.txt');

      // out of the watched directory: the docs watch sees only moved_from; back in: only moved_to
      await api.request('POST', '/v1/files/%2F/entries/', { action: 'RENAME', old_path: '/docs/b.txt', name: 'b.txt' });
      assert.deepEqual(await all.next(), [
        { type: 'child_file_moved_from', path: 'docs/b.txt', spine: ['2', docsId, id], stream_name: null },
        { type: 'child_file_moved_to', path: 'b.txt', spine: ['2', id], stream_name: null },
      ]);
      assert.deepEqual(await docs.next(), [{ type: 'child_file_moved_from', path: 'b.txt', spine: [docsId, id], stream_name: null }]);
      assert.deepEqual(await shallowRoot.next(), [{ type: 'child_file_moved_to', path: 'b.txt', spine: ['2', id], stream_name: null }]);

      await api.request('POST', `/v1/files/${docsId}/entries/`, { action: 'RENAME', old_path: '/b.txt', name: 'c.txt' });
      assert.deepEqual(brief(await all.next()), [['child_file_moved_from', 'b.txt'], ['child_file_moved_to', 'docs/c.txt']]);
      assert.deepEqual(await docs.next(), [{ type: 'child_file_moved_to', path: 'c.txt', spine: [docsId, id], stream_name: null }]);
      assert.deepEqual(brief(await shallowRoot.next()), [['child_file_moved_from', 'b.txt']]);

      await api.request('DELETE', `/v1/files/${id}`);
      assert.deepEqual(await docs.next(), [{ type: 'child_file_removed', path: 'c.txt', spine: [docsId, id], stream_name: null }]);
      assert.deepEqual(brief(await all.next()), [['child_file_removed', 'docs/c.txt']]);

      // a non-recursive watch never saw the grandchildren: its next line is this marker
      await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_FILE', name: 'marker' });
      assert.deepEqual(brief(await shallowRoot.next()), [['child_file_added', 'marker']]);
      assert.deepEqual(brief(await all.next()), [['child_file_added', 'marker']]);
      assert.equal(sim.openStreams(), 3);
      assert.ok(sim.stats.streamsOpened >= 3);
    });

    it('filters by type (raw or %2C-encoded commas) and sends keep-alives', async function () {
      await sim.stop();
      await startSim({ keepAliveMs: 20 });
      const encoded = await watch('/', 'recursive=true&filter=child_file_added%2Cchild_dir_added');
      const raw = await watch('/', 'filter=child_dir_added,child_file_removed&recursive=true');
      await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_DIRECTORY', name: 'd' });
      await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_FILE', name: 'f' });
      await api.request('PUT', '/v1/files/%2Ff/data', Buffer.from('data'));
      await api.request('DELETE', '/v1/files/%2Ff');
      assert.deepEqual(brief(await encoded.next()), [['child_dir_added', 'd']]);
      assert.deepEqual(brief(await encoded.next()), [['child_file_added', 'f']]);
      assert.deepEqual(brief(await raw.next()), [['child_dir_added', 'd']]);
      assert.deepEqual(brief(await raw.next()), [['child_file_removed', 'f']]);
      await waitUntil(() => encoded.comments().includes(': keepalive'), 'a keep-alive comment');
      const unknown = await api.request('GET', '/v1/files/%2F/notify?filter=child_nonsense');
      assert.equal(unknown.status, 400);
      const gone = await api.request('GET', '/v1/files/%2Ff/notify');
      assert.equal(gone.status, 404);
      fs.writeFileSync(path.join(root, 'plain'), '');
      const notDir = await api.request('GET', '/v1/files/%2Fplain/notify');
      assert.equal(notDir.status, 400);
      assert.equal(notDir.body.error_class, 'fs_not_a_directory_error');
    });

    it('sends self_removed and ends the stream when the watched directory is deleted', async function () {
      await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_DIRECTORY', name: 'gone' });
      const id = sim.fileIdOf('gone');
      const reader = await watch('/gone');
      await api.request('DELETE', `/v1/files/${id}`);
      assert.deepEqual(await reader.next(), [{ type: 'self_removed', path: '', spine: [id], stream_name: null }]);
      await reader.untilEnded();
      assert.equal(reader.aborted, false);
    });

    it('keeps a watch on its directory (by id) when an ancestor is renamed', async function () {
      fs.mkdirSync(path.join(root, 'a', 'b'), { recursive: true });
      const b = sim.fileIdOf('a/b');
      const inner = await watch('/a/b', 'recursive=true');
      const renamed = await api.request('POST', '/v1/files/%2F/entries/', { action: 'RENAME', old_path: '/a', name: 'z' });
      assert.equal(renamed.body.path, '/z/');
      await api.request('POST', `/v1/files/${encodeRef('/z/b')}/entries/`, { action: 'CREATE_FILE', name: 'f.txt' });
      assert.deepEqual(await inner.next(), [{ type: 'child_file_added', path: 'f.txt', spine: [b, sim.fileIdOf('z/b/f.txt')], stream_name: null }]);
    });

    it('ends the watch with self_removed when its directory is removed on disk', async function () {
      fs.mkdirSync(path.join(root, 'tmp', 'sub'), { recursive: true });
      const sub = sim.fileIdOf('tmp/sub');
      const reader = await watch('/tmp/sub', 'recursive=false');
      fs.rmSync(path.join(root, 'tmp'), { recursive: true });
      assert.deepEqual(await reader.next(), [{ type: 'self_removed', path: '', spine: [sub], stream_name: null }]);
      await reader.untilEnded();
      assert.equal(sim.openStreams(), 0);
    });

    it('detects changes made directly on disk and reports them with the same types', async function () {
      const all = await watch('/');
      const at = (rel: string): string => path.join(root, rel);

      fs.writeFileSync(at('x.txt'), ''); // touch
      const x = await all.next();
      assert.deepEqual(x, [{ type: 'child_file_added', path: 'x.txt', spine: ['2', sim.fileIdOf('x.txt')], stream_name: null }]);
      assert.equal(sim.fileIdOf('x.txt'), fs.statSync(at('x.txt')).ino.toString());

      fs.writeFileSync(at('x.txt'), 'some data\n'); // echo > x.txt
      assert.deepEqual(brief(await all.next()), [['child_data_written', 'x.txt'], ['child_size_changed', 'x.txt']]);

      fs.chmodSync(at('x.txt'), 0o600);
      assert.deepEqual(brief(await all.next()), [['child_acl_changed', 'x.txt']]);

      const id = sim.fileIdOf('x.txt');
      fs.renameSync(at('x.txt'), at('y.txt'));
      assert.deepEqual(await all.next(), [
        { type: 'child_file_moved_from', path: 'x.txt', spine: ['2', id], stream_name: null },
        { type: 'child_file_moved_to', path: 'y.txt', spine: ['2', id], stream_name: null },
      ]);

      fs.mkdirSync(at('a/b/c'), { recursive: true });
      const a = sim.fileIdOf('a');
      const b = sim.fileIdOf('a/b');
      const c = sim.fileIdOf('a/b/c');
      assert.deepEqual(await all.next(), [{ type: 'child_dir_added', path: 'a', spine: ['2', a], stream_name: null }]);
      assert.deepEqual(await all.next(), [{ type: 'child_dir_added', path: 'a/b', spine: ['2', a, b], stream_name: null }]);
      assert.deepEqual(await all.next(), [{ type: 'child_dir_added', path: 'a/b/c', spine: ['2', a, b, c], stream_name: null }]);

      fs.renameSync(at('y.txt'), at('a/b/y.txt'));
      assert.deepEqual(brief(await all.next()), [['child_file_moved_from', 'y.txt'], ['child_file_moved_to', 'a/b/y.txt']]);

      fs.renameSync(at('a'), at('z'));
      assert.deepEqual(await all.next(), [
        { type: 'child_dir_moved_from', path: 'a', spine: ['2', a], stream_name: null },
        { type: 'child_dir_moved_to', path: 'z', spine: ['2', a], stream_name: null },
      ]);
      assert.equal(sim.fileIdOf('z/b/y.txt'), id);

      fs.rmSync(at('z'), { recursive: true });
      const removed = [await all.next(), await all.next(), await all.next(), await all.next()].map((line) => brief(line)[0]);
      // deepest first, the directory itself last
      assert.deepEqual(removed.slice(2), [['child_dir_removed', 'z/b'], ['child_dir_removed', 'z']]);
      assert.deepEqual(new Set(removed.slice(0, 2).map(String)), new Set([String(['child_dir_removed', 'z/b/c']), String(['child_file_removed', 'z/b/y.txt'])]));
    });

    it('reports an API change once, not again when the disk watcher sees it', async function () {
      const all = await watch('/');
      await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_FILE', name: 'api.txt' });
      await api.request('PUT', '/v1/files/%2Fapi.txt/data', Buffer.from('written by the API'));
      await api.request('PATCH', '/v1/files/%2Fapi.txt/info/attributes', { mode: '0640' });
      await api.request('POST', '/v1/files/%2F/entries/', { action: 'RENAME', old_path: '/api.txt', name: 'moved.txt' });
      assert.deepEqual(brief(await all.next()), [['child_file_added', 'api.txt']]);
      assert.deepEqual(brief(await all.next()), [['child_data_written', 'api.txt'], ['child_size_changed', 'api.txt']]);
      assert.deepEqual(brief(await all.next()), [['child_acl_changed', 'api.txt']]);
      assert.deepEqual(brief(await all.next()), [['child_file_moved_from', 'api.txt'], ['child_file_moved_to', 'moved.txt']]);
      fs.writeFileSync(path.join(root, 'marker.txt'), '');
      assert.deepEqual(brief(await all.next()), [['child_file_added', 'marker.txt']]);
      assert.deepEqual(all.pending(), []);
    });

    it('delivers injected notifications, with stable synthetic spines for paths that do not exist', async function () {
      fs.mkdirSync(path.join(root, 'real'));
      const all = await watch('/');
      const real = await watch('/real', 'recursive=false');
      sim.notify('real/ghost.txt', 'child_file_added');
      sim.notify('/nowhere/deep/file.bin', 'child_stream_added', { streamName: 'ads' });
      sim.notify('nowhere/deep/file.bin', 'child_file_removed');
      const realId = sim.fileIdOf('real');
      const ghost = await all.next();
      assert.equal(ghost[0].path, 'real/ghost.txt');
      assert.equal(ghost[0].spine[1], realId);
      assert.deepEqual(await real.next(), [{ type: 'child_file_added', path: 'ghost.txt', spine: [realId, ghost[0].spine[2]], stream_name: null }]);
      const [stream] = await all.next();
      assert.equal(stream.stream_name, 'ads');
      assert.equal(stream.spine.length, 4);
      const [again] = await all.next();
      assert.deepEqual(again.spine, stream.spine);

      // a numbered stream arrives complete and in order
      const count = 20000;
      for (let i = 0; i < count; i++) {
        sim.notify(`bench/f${i}.txt`, 'child_file_added');
        if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
      }
      for (let i = 0; i < count; i++) assert.equal((await all.next())[0].path, `bench/f${i}.txt`);
      assert.ok(sim.stats.notifications >= count + 3);
    });
  });

  describe('file locks', function () {
    beforeEach(() => startSim());

    const future = (days: number): string => new Date(Date.now() + days * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');

    it('locks with a retention period that can only be extended and refuses changes while locked', async function () {
      fs.writeFileSync(path.join(root, 'worm.txt'), 'keep me');
      const ref = encodeRef('/worm.txt');
      const until = future(1);
      const locked = await api.request('PATCH', `/v1/files/${ref}/file-lock`, { retention_period: until });
      assert.equal(locked.status, 200);
      assert.equal(locked.body.path, '/worm.txt');
      assert.deepEqual(locked.body.lock, { legal_hold: false, retention_period: until });
      assert.deepEqual(sim.lockOf('worm.txt'), { legal_hold: false, retention_period: until });

      const withLock = await api.request('GET', `/v1/files/${ref}/info/attributes?retrieve-file-lock=true`);
      assert.deepEqual(withLock.body.lock, { legal_hold: false, retention_period: until });
      assert.equal((await api.request('GET', `/v1/files/${ref}/info/attributes`)).body.lock, undefined);
      assert.deepEqual((await api.request('GET', `/v1/files/${ref}/file-lock`)).body.lock, withLock.body.lock);

      const refusals = [
        await api.request('PUT', `/v1/files/${ref}/data`, Buffer.from('overwrite')),
        await api.request('DELETE', `/v1/files/${ref}`),
        await api.request('PATCH', `/v1/files/${ref}/info/attributes`, { mode: '0777' }),
        await api.request('POST', '/v1/files/%2F/entries/', { action: 'RENAME', old_path: '/worm.txt', name: 'moved.txt' }),
      ];
      for (const res of refusals) {
        assert.equal(res.status, 403);
        assert.equal(res.body.error_class, 'fs_read_only_error');
      }
      assert.equal(fs.readFileSync(path.join(root, 'worm.txt'), 'utf8'), 'keep me');

      const shorter = await api.request('PATCH', `/v1/files/${ref}/file-lock`, { retention_period: future(0.5) });
      assert.equal(shorter.status, 400);
      const removed = await api.request('PATCH', `/v1/files/${ref}/file-lock`, { retention_period: null });
      assert.equal(removed.status, 400);
      const later = future(2);
      const extended = await api.request('PATCH', `/v1/files/${ref}/file-lock`, { retention_period: later, legal_hold: false });
      assert.equal(extended.status, 200);
      assert.equal(extended.body.lock.retention_period, later);
    });

    it('places and lifts a legal hold; a past retention period does not lock', async function () {
      fs.writeFileSync(path.join(root, 'held.txt'), 'x');
      fs.writeFileSync(path.join(root, 'past.txt'), 'x');
      const held = encodeRef('/held.txt');
      assert.equal((await api.request('PATCH', `/v1/files/${held}/file-lock`, { legal_hold: true })).body.lock.legal_hold, true);
      assert.equal((await api.request('DELETE', `/v1/files/${held}`)).status, 403);
      assert.equal((await api.request('PATCH', `/v1/files/${held}/file-lock`, { legal_hold: false })).body.lock.legal_hold, false);
      assert.equal((await api.request('DELETE', `/v1/files/${held}`)).status, 200);

      const past = encodeRef('/past.txt');
      assert.equal((await api.request('PATCH', `/v1/files/${past}/file-lock`, { retention_period: '2001-01-01T00:00:00Z' })).status, 200);
      assert.equal((await api.request('PUT', `/v1/files/${past}/data`, Buffer.from('still writable'))).status, 200);

      fs.mkdirSync(path.join(root, 'dir'));
      const dirLock = await api.request('PATCH', `/v1/files/${encodeRef('/dir')}/file-lock`, { legal_hold: true });
      assert.equal(dirLock.status, 400);
      const badDate = await api.request('PATCH', `/v1/files/${past}/file-lock`, { retention_period: 'tomorrow' });
      assert.equal(badDate.status, 400);
    });
  });

  describe('snapshots', function () {
    beforeEach(() => startSim());

    it('records the tree and diffs two snapshots into CREATE/MODIFY/DELETE by path, paged', async function () {
      for (const name of ['keep.txt', 'mod.txt', 'del.txt', 'ren.txt']) fs.writeFileSync(path.join(root, name), name);
      fs.mkdirSync(path.join(root, 'dir'));
      fs.mkdirSync(path.join(root, 'other'));
      const first = await api.request('POST', '/v3/snapshots/', { source_file_id: '2', name_suffix: 'checkpoint', expiration: null });
      assert.equal(first.status, 200);
      await sleep(20); // let the coarse file-system clock move on, so directory mtimes change below
      assert.equal(first.body.name, `${first.body.id}_checkpoint`);
      assert.equal(first.body.source_file_id, '2');
      assert.equal(first.body.in_delete, false);

      await api.request('PUT', '/v1/files/%2Fmod.txt/data', Buffer.from('modified content'));
      await api.request('DELETE', '/v1/files/%2Fdel.txt');
      await api.request('POST', '/v1/files/%2F/entries/', { action: 'RENAME', old_path: '/ren.txt', name: 'renamed.txt' });
      await api.request('POST', `/v1/files/${encodeRef('/dir')}/entries/`, { action: 'CREATE_FILE', name: 'new.txt' });
      await api.request('PATCH', '/v1/files/%2Fkeep.txt/file-lock', { legal_hold: true });
      const second = await api.request('POST', '/v3/snapshots/', { source_file_id: '2' });
      assert.equal(second.body.name, `${second.body.id}_OnDemand`);

      const entries: Array<{ op: string; path: string }> = [];
      let next: string | null = `/v2/snapshots/${second.body.id}/changes-since/${first.body.id}?limit=2`;
      let pages = 0;
      while (next) {
        const page = await api.request('GET', next);
        assert.equal(page.status, 200);
        assert.ok(page.body.entries.length <= 2);
        entries.push(...page.body.entries);
        next = page.body.paging.next;
        pages++;
      }
      assert.ok(pages >= 4);
      assert.deepEqual(entries, [
        { op: 'MODIFY', path: '/' },
        { op: 'DELETE', path: '/del.txt' },
        { op: 'MODIFY', path: '/dir/' },
        { op: 'CREATE', path: '/dir/new.txt' },
        { op: 'MODIFY', path: '/keep.txt' },
        { op: 'MODIFY', path: '/mod.txt' },
        { op: 'DELETE', path: '/ren.txt' },
        { op: 'CREATE', path: '/renamed.txt' },
      ]);

      const old = await api.request('GET', `/v1/files/%2Fdel.txt/info/attributes?snapshot=${first.body.id}&retrieve-file-lock=true`);
      assert.equal(old.status, 200);
      assert.equal(old.body.size, '7');
      assert.deepEqual(old.body.lock, { legal_hold: false, retention_period: null });
      assert.equal((await api.request('GET', `/v1/files/%2Fdel.txt/info/attributes?snapshot=${second.body.id}`)).status, 404);

      const listed = await api.request('GET', '/v3/snapshots/');
      assert.deepEqual(listed.body.entries.map((s: { id: number }) => s.id), [first.body.id, second.body.id]);
      assert.equal((await api.request('GET', `/v2/snapshots/${first.body.id}/changes-since/${second.body.id}`)).status, 400);
      assert.equal((await api.request('DELETE', `/v3/snapshots/${first.body.id}`)).status, 200);
      assert.equal((await api.request('GET', `/v3/snapshots/${first.body.id}`)).status, 404);
      assert.equal((await api.request('GET', `/v2/snapshots/${second.body.id}/changes-since/${first.body.id}`)).status, 404);
      assert.equal((await api.request('GET', `/v3/snapshots/${second.body.id}`)).body.id, second.body.id);
    });

    it('snapshots a subdirectory and reports a directory rename as DELETE old + CREATE new', async function () {
      fs.mkdirSync(path.join(root, 'data', 'in'), { recursive: true });
      fs.writeFileSync(path.join(root, 'data', 'in', 'a.txt'), 'a');
      fs.writeFileSync(path.join(root, 'outside.txt'), 'o');
      const source = sim.fileIdOf('data');
      const before = await api.request('POST', '/v3/snapshots/', { source_file_id: source });
      await sleep(20); // let the coarse file-system clock move on, so directory mtimes change below
      fs.renameSync(path.join(root, 'data', 'in'), path.join(root, 'data', 'out'));
      fs.writeFileSync(path.join(root, 'outside.txt'), 'changed outside the source');
      const after = await api.request('POST', '/v3/snapshots/', { source_file_id: source });
      const diff = await api.request('GET', `/v2/snapshots/${after.body.id}/changes-since/${before.body.id}`);
      assert.deepEqual(diff.body.entries, [
        { op: 'MODIFY', path: '/data/' },
        { op: 'DELETE', path: '/data/in/' },
        { op: 'DELETE', path: '/data/in/a.txt' },
        { op: 'CREATE', path: '/data/out/' },
        { op: 'CREATE', path: '/data/out/a.txt' },
      ]);
      assert.equal(diff.body.paging.next, null);
      const root2 = await api.request('POST', '/v3/snapshots/', { source_file_id: '2' });
      assert.equal((await api.request('GET', `/v2/snapshots/${root2.body.id}/changes-since/${after.body.id}`)).status, 400);
    });
  });

  describe('faults', function () {
    beforeEach(() => startSim());

    it('delays REST responses by latencyMs before acting on them', async function () {
      sim.faults.latencyMs = 300;
      const pending = api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_FILE', name: 'slow.txt' });
      await sleep(20);
      assert.equal(fs.existsSync(path.join(root, 'slow.txt')), false);
      assert.equal((await pending).status, 200);
      assert.equal(fs.existsSync(path.join(root, 'slow.txt')), true);
    });

    it('answers a share of REST requests with 503 but never login or version', async function () {
      sim.faults.errorRate = 1;
      const failed = await api.request('GET', '/v1/files/%2F/info/attributes');
      assert.equal(failed.status, 503);
      assert.equal(typeof failed.body.error_class, 'string');
      assert.deepEqual(failed.body.stack, []);
      assert.equal((await api.request('GET', '/v1/version', undefined, null)).status, 200);
      await api.login();
      sim.faults.errorRate = 0.5;
      const statuses = new Set<number>();
      for (let i = 0; i < 60; i++) statuses.add((await api.request('GET', '/v1/session/who-am-i')).status);
      assert.deepEqual([...statuses].sort(), [200, 503]);
      sim.faults.errorRate = 0;
      assert.equal((await api.request('GET', '/v1/files/%2F/info/attributes')).status, 200);
    });

    it('drops streams abruptly and overflows them cleanly on request', async function () {
      const a = await watch('/');
      const b = await watch('/');
      assert.equal(sim.openStreams(), 2);
      assert.equal(sim.dropStreams(), 2);
      await a.untilEnded();
      await b.untilEnded();
      assert.equal(a.aborted, true);
      assert.equal(sim.openStreams(), 0);

      const c = await watch('/');
      sim.notify('before.txt', 'child_file_added');
      assert.deepEqual(brief(await c.next()), [['child_file_added', 'before.txt']]);
      assert.equal(sim.overflowStreams(), 1);
      await c.untilEnded();
      assert.equal(c.aborted, false); // the stream ends without an in-band error line
      assert.equal(sim.openStreams(), 0);
    });

    it('overflows a stream whose client stops reading once more than streamBufferLimit events are queued', async function () {
      await sim.stop();
      await startSim({ streamBufferLimit: 50 });
      const socket = net.connect(sim.port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      let received = '';
      let closed = false;
      socket.on('close', () => (closed = true));
      socket.once('data', (chunk) => {
        received += chunk.toString();
        socket.pause(); // a client that stops reading after the first bytes
      });
      socket.write(`GET /v1/files/%2F/notify?recursive=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${api.token}\r\n\r\n`);
      await waitUntil(() => received.includes(': watching') || sim.openStreams() === 1, 'the stream to open');
      await waitUntil(() => sim.openStreams() === 1, 'the stream to register');
      const longName = 'n'.repeat(200);
      const deep = Array.from({ length: 15 }, () => longName).join('/');
      let sent = 0;
      try {
        while (sim.openStreams() === 1) {
          for (let i = 0; i < 100; i++) sim.notify(`${deep}/f${sent++}.txt`, 'child_file_added');
          await sleep(5);
          if (sent > 400000) throw new Error('stream never overflowed');
        }
        assert.ok(received.startsWith('HTTP/1.1 200'));
        assert.equal(sim.openStreams(), 0);
        socket.resume();
        await waitUntil(() => closed, 'the overflowed connection to close');
      } finally {
        socket.destroy();
      }
    });

    it('lets a reading client absorb a synchronous burst larger than streamBufferLimit, even when the loop stalls', async function () {
      await sim.stop();
      await startSim({ streamBufferLimit: 20 });
      const reader = await watch('/');
      const deep = Array.from({ length: 15 }, () => 'n'.repeat(200)).join('/');
      const count = 3000; // ~10 MB: far more than the socket takes without the client reading
      for (let i = 0; i < count; i++) sim.notify(`${deep}/f${i}.txt`, 'child_file_added');
      // block the event loop (without spinning) past the stall window: nobody can read meanwhile
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
      for (let i = 0; i < count; i++) assert.equal((await reader.next())[0].path, `${deep}/f${i}.txt`);
      assert.equal(reader.ended, false);
      assert.equal(sim.openStreams(), 1);
    });

    it('goes offline for an outage: streams die, connections are refused, then it recovers', async function () {
      const reader = await watch('/');
      const outage = sim.outage(400);
      assert.equal(sim.faults.offline, true);
      await reader.untilEnded();
      assert.equal(reader.aborted, true);
      await assert.rejects(api.request('GET', '/v1/version', undefined, null));
      await outage;
      assert.equal(sim.faults.offline, false);
      assert.equal((await api.request('GET', '/v1/version', undefined, null)).status, 200);
      const again = await watch('/');
      sim.notify('after.txt', 'child_file_added');
      assert.deepEqual(brief(await again.next()), [['child_file_added', 'after.txt']]);

      sim.faults.offline = true;
      await again.untilEnded();
      await assert.rejects(api.request('GET', '/v1/version', undefined, null));
      sim.faults.offline = false;
      assert.equal((await api.request('GET', '/v1/version', undefined, null)).status, 200);
    });
  });

  describe('HTTPS', function () {
    it('serves the API and the notify stream over TLS with the fixture certificate', async function () {
      await startSim({ tls: { key: fs.readFileSync(path.join(FIXTURES, 'key.pem')), cert: path.join(FIXTURES, 'cert.pem') } });
      assert.match(sim.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const me = await api.request('GET', '/v1/session/who-am-i');
      assert.equal(me.status, 200);
      const reader = await watch('/');
      await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_FILE', name: 'tls.txt' });
      assert.deepEqual(brief(await reader.next()), [['child_file_added', 'tls.txt']]);
      const untrusted = new TestApi(sim.url);
      await assert.rejects(untrusted.request('GET', '/v1/version', undefined, null));
    });
  });

  it('counts requests, logins, notifications and streams', async function () {
    await startSim();
    const reader = await watch('/');
    await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_FILE', name: 's.txt' });
    await reader.next();
    assert.equal(sim.stats.logins, 1);
    assert.equal(sim.stats.streamsOpened, 1);
    assert.equal(sim.stats.notifications, 1);
    assert.equal(sim.stats.requests, 3);
  });
});
