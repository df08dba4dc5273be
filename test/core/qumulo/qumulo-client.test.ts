// QumuloClient against the real simulator over HTTP and HTTPS: wire formats, paging, mutations
// and their intents, 401 handling (single-flight re-login, access tokens), retries, timeouts,
// the concurrency limit and TLS verification.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { QumuloClient } from '../../../core/qumulo/client';
import {
  QumuloApiError,
  QumuloAuthError,
  QumuloPathError,
  QumuloTimeoutError,
  QumuloTlsError,
  isAlreadyExists,
  isAuthError,
  isNotFound,
  isReadOnly,
  isTransient,
} from '../../../core/qumulo/errors';
import type { MutationIntent } from '../../../core/qumulo/types';
import { type TestSim, TLS_FIXTURES, startSim } from '../../support/sim';

describe('QumuloClient against the simulator', function () {
  this.timeout(30_000);
  let sim: TestSim;
  let client: QumuloClient;

  before(async () => {
    sim = await startSim({
      accessTokens: ['access-v1:valid-token'],
      files: { 'docs/a.txt': 'aaa', 'docs/b.txt': 'bb', 'docs/c.txt': 'c', 'docs/d.txt': '', 'docs/e.txt': 'eeeee', 'empty/': '' },
    });
  });
  after(async () => {
    await sim?.stop();
  });
  beforeEach(() => {
    client = new QumuloClient(sim.clientOptions({ retries: 2, retryBaseMs: 5, retryMaxMs: 20 }));
    sim.sim.faults.errorRate = 0;
    sim.sim.faults.latencyMs = 0;
    sim.sim.faults.tokenTtlMs = 0;
  });
  afterEach(async () => {
    await client.close();
  });

  describe('reads', () => {
    it('reads the version without logging in, who-am-i after one login', async () => {
      const version = await client.version();
      assert.match(String(version.revision_id), /Qumulo Core/);
      assert.equal(client.stats.logins, 0);
      const who = await client.whoAmI();
      assert.equal(who.name, 'admin');
      assert.ok(who.privileges?.includes('PRIVILEGE_FS_FILE_LOCK_WRITE'));
      await client.whoAmI();
      assert.equal(client.stats.logins, 1);
    });

    it('gets attributes by path and by id, resolves paths and ids', async () => {
      const byPath = await client.getAttributes('/docs/a.txt');
      assert.equal(byPath.path, '/docs/a.txt');
      assert.equal(byPath.type, 'FS_FILE_TYPE_FILE');
      assert.equal(byPath.size, '3');
      assert.equal(byPath.id, sim.sim.fileIdOf('docs/a.txt'));
      const byId = await client.getAttributes(byPath.id);
      assert.equal(byId.path, '/docs/a.txt');
      const dir = await client.getAttributes('/docs/');
      assert.equal(dir.type, 'FS_FILE_TYPE_DIRECTORY');
      assert.equal(await client.resolvePath('/'), '2');
      assert.equal(await client.resolvePath('/docs//b.txt'), sim.sim.fileIdOf('docs/b.txt'));
      const resolved = await client.resolveIds([sim.sim.fileIdOf('docs/c.txt'), sim.sim.fileIdOf('docs')]);
      assert.deepEqual(
        resolved.map((r) => r.path),
        ['/docs/c.txt', '/docs/'],
      );
      const locked = await client.getAttributes('/docs/a.txt', { retrieveLock: true });
      assert.deepEqual(locked.lock, { legal_hold: false, retention_period: null });
    });

    it('turns a missing path into a typed 404', async () => {
      const err = await client.getAttributes('/docs/nope.txt').catch((e: unknown) => e);
      assert.ok(err instanceof QumuloApiError);
      assert.equal(err.status, 404);
      assert.equal(err.errorClass, 'fs_no_such_entry_error');
      assert.ok(isNotFound(err));
      assert.match(err.message, /HTTP 404 fs_no_such_entry_error/);
    });

    it('lists a directory page by page following paging.next', async () => {
      const pages = [];
      for await (const page of client.listEntries('/docs', { limit: 2 })) pages.push(page);
      assert.equal(pages.length, 3);
      assert.deepEqual(pages.map((p) => p.files.length), [2, 2, 1]);
      assert.deepEqual(
        pages.flatMap((p) => p.files.map((f) => f.name)).sort(),
        ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt'],
      );
    });

    it('refuses relative paths and dot components without sending anything', async () => {
      const before = sim.sim.stats.requests;
      for (const bad of ['docs/a.txt', '/docs/../etc/passwd', '/docs/./a.txt', '/docs/\u0000x', '']) {
        await assert.rejects(client.getAttributes(bad), QumuloPathError, bad);
      }
      await assert.rejects(client.rename('/docs/a.txt', '/docs', '../x'), QumuloPathError);
      await assert.rejects(client.mkdir('/docs', 'a/b'), QumuloPathError);
      assert.equal(sim.sim.stats.requests, before);
    });

    it('encodes paths with reserved characters', async () => {
      const name = "it's (draft) #1 *100%! & more.txt";
      await client.createFile('/docs', name);
      const attrs = await client.getAttributes(`/docs/${name}`);
      assert.equal(attrs.name, name);
      assert.ok(fs.existsSync(sim.disk(`docs/${name}`)));
      await client.deleteFile(`/docs/${name}`);
    });
  });

  describe('mutations', () => {
    it('creates, writes, renames, chmods, locks and deletes, on disk', async () => {
      const created = await client.createFile('/empty', 'new.txt');
      assert.equal(created.path, '/empty/new.txt');
      await client.writeData('/empty/new.txt', Buffer.from('hello world'));
      assert.equal(fs.readFileSync(sim.disk('empty/new.txt'), 'utf8'), 'hello world');
      await client.mkdir('/empty', 'sub');
      const renamed = await client.rename('/empty/new.txt', '/empty/sub', 'renamed.txt');
      assert.equal(renamed.path, '/empty/sub/renamed.txt');
      assert.ok(fs.existsSync(sim.disk('empty/sub/renamed.txt')));
      assert.ok(!fs.existsSync(sim.disk('empty/new.txt')));
      const chmod = await client.setAttributes('/empty/sub/renamed.txt', { mode: '0600' });
      assert.equal(chmod.mode, '0600');
      assert.equal(fs.statSync(sim.disk('empty/sub/renamed.txt')).mode & 0o777, 0o600);

      const exists = await client.mkdir('/empty', 'sub').catch((e: unknown) => e);
      assert.ok(isAlreadyExists(exists), String(exists));

      const until = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
      await client.setFileLock('/empty/sub/renamed.txt', { retention_period: until });
      assert.equal(sim.sim.lockOf('empty/sub/renamed.txt').retention_period, until);
      const refused = await client.deleteFile('/empty/sub/renamed.txt', { privilegeHint: 'SOMETHING' }).catch((e: unknown) => e);
      assert.ok(refused instanceof QumuloApiError);
      assert.ok(isReadOnly(refused), refused.message);
      assert.doesNotMatch(refused.message, /SOMETHING/, 'a locked file is not a missing privilege');

      await client.mkdir('/empty', 'gone');
      await client.deleteFile('/empty/gone');
      assert.ok(!fs.existsSync(sim.disk('empty/gone')));
    });

    it('mkdirs creates only the missing ancestors and tolerates an existing tree', async () => {
      const intents: MutationIntent[] = [];
      const off = client.addMutationListener((intent) => {
        intents.push(intent);
      });
      const attrs = await client.mkdirs('/empty/x/y/z');
      assert.equal(attrs.path, '/empty/x/y/z/');
      assert.ok(fs.statSync(sim.disk('empty/x/y/z')).isDirectory());
      assert.deepEqual(intents.map((i) => i.paths[0]), ['/empty/x', '/empty/x/y', '/empty/x/y/z']);
      const again = await client.mkdirs('/empty/x/y/z');
      assert.equal(again.id, attrs.id);
      assert.equal(intents.length, 3, 'nothing announced for existing directories');
      off();
    });

    it('announces every mutation and awaits the listeners before sending', async () => {
      const intents: MutationIntent[] = [];
      let existedWhenAnnounced: boolean | null = null;
      client.addMutationListener(async (intent) => {
        if (intent.kind === 'create-file') {
          // An async ledger write: the request must wait for it.
          await new Promise((r) => setTimeout(r, 30));
          existedWhenAnnounced = fs.existsSync(sim.disk('empty/intent.txt'));
        }
        intents.push(intent);
      });
      await client.createFile('/empty', 'intent.txt', { origin: 'test-node' });
      assert.equal(existedWhenAnnounced, false);
      assert.ok(fs.existsSync(sim.disk('empty/intent.txt')));
      const id = sim.sim.fileIdOf('empty/intent.txt');
      await client.setFileLock(id, { legal_hold: true });
      await client.setFileLock(id, { legal_hold: false });
      await client.rename('/empty/intent.txt', '/empty', 'intent2.txt', { fileIds: [id] });
      await client.setAttributes('/empty/intent2.txt', { mode: '0644' });
      await client.deleteFile('/empty/intent2.txt');
      assert.deepEqual(
        intents.map((i) => i.kind),
        ['create-file', 'lock', 'lock', 'rename', 'set-attributes', 'delete'],
      );
      assert.deepEqual(intents[0], { kind: 'create-file', paths: ['/empty/intent.txt'], fileIds: [], expectedTypes: ['child_file_added'], origin: 'test-node' });
      assert.deepEqual(intents[1].fileIds, [id]);
      assert.ok(intents[1].expectedTypes.includes('child_extra_attrs_changed'));
      assert.deepEqual(intents[3].paths, ['/empty/intent.txt', '/empty/intent2.txt']);
      assert.deepEqual(intents[3].fileIds, [id]);
      assert.deepEqual(intents[5].expectedTypes, ['child_file_removed', 'child_dir_removed']);
    });

    it('does not send a mutation whose listener failed', async () => {
      client.addMutationListener(() => {
        throw new Error('ledger down');
      });
      await assert.rejects(client.createFile('/empty', 'never.txt'), /ledger down/);
      assert.ok(!fs.existsSync(sim.disk('empty/never.txt')));
    });

    it('creates snapshots and lists what changed between two', async () => {
      const dirId = sim.sim.fileIdOf('docs');
      const older = await client.createSnapshot({ sourceFileId: dirId, nameSuffix: 'qf-test' });
      assert.match(older.name, /qf-test$/);
      fs.writeFileSync(sim.disk('docs/new-after-snapshot.txt'), 'x');
      const newer = await client.createSnapshot({ sourceFileId: dirId });
      assert.equal((await client.getSnapshot(newer.id)).id, newer.id);
      assert.ok((await client.listSnapshots()).some((s) => s.id === older.id));
      const changes = [];
      for await (const page of client.snapshotChanges(newer.id, older.id, { limit: 1 })) changes.push(...page.entries);
      assert.ok(changes.some((c) => c.op === 'CREATE' && c.path.endsWith('new-after-snapshot.txt')), JSON.stringify(changes));
      await client.deleteSnapshot(older.id);
      await client.deleteSnapshot(newer.id);
      await assert.rejects(client.getSnapshot(older.id), (e: unknown) => isNotFound(e));
      fs.rmSync(sim.disk('docs/new-after-snapshot.txt'));
    });
  });

  describe('authentication', () => {
    it('re-logs in once for 50 concurrent requests whose token was revoked', async () => {
      await client.whoAmI();
      const loginsBefore = sim.sim.stats.logins;
      sim.sim.revokeTokens();
      const results = await Promise.all(Array.from({ length: 50 }, () => client.getAttributes('/docs/a.txt')));
      assert.equal(results.length, 50);
      assert.equal(sim.sim.stats.logins - loginsBefore, 1);
      assert.equal(client.stats.logins, 2);
    });

    it('renews an expired session token transparently', async () => {
      sim.sim.faults.tokenTtlMs = 50;
      await client.whoAmI();
      await new Promise((r) => setTimeout(r, 80));
      const attrs = await client.getAttributes('/docs/a.txt');
      assert.equal(attrs.name, 'a.txt');
      assert.equal(client.stats.logins, 2);
    });

    it('uses an access token as-is and reports a rejected one as an auth error', async () => {
      const good = new QumuloClient({ host: sim.host, port: sim.port, protocol: 'http', accessToken: 'access-v1:valid-token' });
      const bad = new QumuloClient({ host: sim.host, port: sim.port, protocol: 'http', accessToken: 'access-v1:revoked' });
      try {
        assert.equal((await good.whoAmI()).name, 'admin');
        assert.equal(good.stats.logins, 0);
        const err = await bad.whoAmI().catch((e: unknown) => e);
        assert.ok(err instanceof QumuloAuthError, String(err));
        assert.ok(isAuthError(err));
        assert.equal(err.status, 401);
        assert.equal(bad.stats.logins, 0);
      } finally {
        await good.close();
        await bad.close();
      }
    });

    it('reports a wrong password as an auth error naming the user', async () => {
      const wrong = new QumuloClient(sim.clientOptions({ password: 'wrong' }));
      try {
        const err = await wrong.whoAmI().catch((e: unknown) => e);
        assert.ok(err instanceof QumuloAuthError, String(err));
        assert.match(err.message, /login/);
      } finally {
        await wrong.close();
      }
    });
  });

  describe('retries, timeouts, concurrency', () => {
    it('retries reads on 5xx, not mutations unless asked', async () => {
      await client.whoAmI();
      sim.sim.faults.errorRate = 1;
      let before = sim.sim.stats.requests;
      const readErr = await client.getAttributes('/docs/a.txt').catch((e: unknown) => e);
      assert.ok(readErr instanceof QumuloApiError && readErr.status === 503 && isTransient(readErr));
      assert.equal(sim.sim.stats.requests - before, 3, 'one try + 2 retries');

      before = sim.sim.stats.requests;
      await assert.rejects(client.createFile('/empty', 'retry.txt'), (e: unknown) => e instanceof QumuloApiError && e.status === 503);
      assert.equal(sim.sim.stats.requests - before, 1, 'a mutation is not retried by default');

      before = sim.sim.stats.requests;
      await assert.rejects(client.createFile('/empty', 'retry.txt', { retry: true }));
      assert.equal(sim.sim.stats.requests - before, 3, 'retry: true retries a mutation');

      sim.sim.faults.errorRate = 0;
      const ok = await client.getAttributes('/docs/a.txt');
      assert.equal(ok.name, 'a.txt');
    });

    it('times out a slow answer with a typed error', async () => {
      const slow = new QumuloClient(sim.clientOptions({ requestTimeoutMs: 100, retries: 0 }));
      try {
        await slow.whoAmI();
        sim.sim.faults.latencyMs = 400;
        const err = await slow.getAttributes('/docs/a.txt').catch((e: unknown) => e);
        assert.ok(err instanceof QumuloTimeoutError, String(err));
        assert.ok(isTransient(err));
      } finally {
        sim.sim.faults.latencyMs = 0;
        await slow.close();
      }
    });

    it('keeps at most maxConcurrency requests in flight', async () => {
      const limited = new QumuloClient(sim.clientOptions({ maxConcurrency: 2 }));
      try {
        await limited.whoAmI();
        const calls = Array.from({ length: 10 }, () => limited.getAttributes('/docs/a.txt'));
        assert.equal(limited.limiter.running, 2);
        assert.equal(limited.limiter.queued, 8);
        const results = await Promise.all(calls);
        assert.equal(results.length, 10);
        assert.equal(limited.limiter.running, 0);
      } finally {
        await limited.close();
      }
    });
  });

  describe('TLS', () => {
    let tlsSim: TestSim;
    const ca = () => fs.readFileSync(path.join(TLS_FIXTURES, 'cert.pem'), 'utf8');
    before(async () => {
      tlsSim = await startSim({ https: true, files: { 'x.txt': 'x' } });
    });
    after(async () => {
      await tlsSim?.stop();
    });

    it('verifies the cluster certificate against the given CA', async () => {
      const verified = new QumuloClient(tlsSim.clientOptions({ ca: ca() }));
      try {
        assert.equal((await verified.getAttributes('/x.txt')).name, 'x.txt');
        assert.match(verified.origin, /^https:/);
      } finally {
        await verified.close();
      }
    });

    it('fails with a clear TLS error without the CA, and is not retried', async () => {
      const unverified = new QumuloClient(tlsSim.clientOptions({ retries: 3 }));
      try {
        const before = tlsSim.sim.stats.requests;
        const err = await unverified.version().catch((e: unknown) => e);
        assert.ok(err instanceof QumuloTlsError, String(err));
        assert.match(err.message, /TLS verification failed/);
        assert.match(err.message, /CA/);
        assert.ok(!isTransient(err));
        assert.equal(tlsSim.sim.stats.requests, before);
      } finally {
        await unverified.close();
      }
    });

    it('works with verification skipped', async () => {
      const skipping = new QumuloClient(tlsSim.clientOptions({ rejectUnauthorized: false }));
      try {
        assert.equal((await skipping.whoAmI()).name, 'admin');
      } finally {
        await skipping.close();
      }
    });
  });
});
