// The Redis config dialog's Test connection endpoint in an embedded Node-RED runtime against real
// redis-servers: it answers JSON requests from the editor's own origin only, tests what is typed,
// never resolves ${ENV} from a request, and lends a deployed node's stored password only for the
// URL that node is deployed with.

import * as assert from 'node:assert/strict';
import { startRuntime, type EmbeddedRuntime } from '../support/runtime';
import { freePort, startRedisServer, type RedisServer } from '../support/redis-server';

interface Answer {
  ok: boolean;
  version?: string;
  error?: string;
}

describe('qumulo-redis Test connection endpoint (POST /qumulo-flow/redis/test)', function () {
  this.timeout(60_000);
  let runtime: EmbeddedRuntime;
  let open: RedisServer;
  let locked: RedisServer;
  const PATH = '/qumulo-flow/redis/test';

  before(async () => {
    open = await startRedisServer();
    locked = await startRedisServer({ password: 'stored-secret' });
    runtime = await startRuntime();
    await runtime.deploy(
      [{ id: 'r1', type: 'qumulo-redis', name: 'locked', url: locked.url, mode: 'standalone', database: '', keyPrefix: '', ca: '', rejectUnauthorized: true, servername: '', sentinels: '', sentinelName: '', clusterNodes: '' }],
      'full',
      { r1: { password: 'stored-secret' } },
    );
  });
  after(async () => {
    await runtime?.stop();
    await open?.stop();
    await locked?.stop();
  });

  it('connects to what the dialog has typed and says which Redis answered', async () => {
    const res = await runtime.request<Answer>('POST', PATH, { url: open.url, mode: 'standalone' });
    assert.equal(res.status, 200);
    assert.equal(res.body.ok, true, JSON.stringify(res.body));
    assert.match(String(res.body.version), /^\d+\.\d+/);
  });

  it('says in words why it failed: nothing listening, a password missing', async () => {
    const port = await freePort();
    const refused = await runtime.request<Answer>('POST', PATH, { url: `redis://127.0.0.1:${port}` });
    assert.equal(refused.body.ok, false);
    assert.equal(refused.body.error, `Redis refused the connection at 127.0.0.1:${port}: is it running there?`);
    const noPassword = await runtime.request<Answer>('POST', PATH, { id: 'someone-else', url: locked.url, password: '__PWRD__' });
    assert.equal(noPassword.body.ok, false);
    assert.match(String(noPassword.body.error), /password/);
  });

  it('lends the deployed node its stored password only for the URL it is deployed with', async () => {
    const same = await runtime.request<Answer>('POST', PATH, { id: 'r1', url: locked.url, password: '__PWRD__' });
    assert.equal(same.body.ok, true, JSON.stringify(same.body));
    // The same server under another URL: r1's password is not lent, so Redis asks for one.
    const elsewhere = await runtime.request<Answer>('POST', PATH, { id: 'r1', url: locked.url.replace('127.0.0.1', 'localhost'), password: '__PWRD__' });
    assert.equal(elsewhere.body.ok, false, JSON.stringify(elsewhere.body));
    assert.match(String(elsewhere.body.error), /password/);
  });

  it('never resolves ${ENV} from a request', async () => {
    process.env.QF_TEST_REDIS_URL = open.url;
    try {
      const res = await runtime.request<Answer>('POST', PATH, { url: '${QF_TEST_REDIS_URL}' });
      assert.equal(res.body.ok, false);
      assert.match(String(res.body.error), /deployed/);
      assert.doesNotMatch(res.text, /127\.0\.0\.1/);
    } finally {
      delete process.env.QF_TEST_REDIS_URL;
    }
  });

  it('refuses what a cross-site page can send: a form post, or JSON from another origin', async () => {
    const form = await runtime.request<Answer>('POST', PATH, 'url=redis%3A%2F%2F127.0.0.1', { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    const foreign = await runtime.request<Answer>('POST', PATH, { url: open.url }, { Origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
  });
});
