// The test support that starts real redis-server processes: other specs rely on restart keeping
// data (AOF), on crash + restart, and on stop() leaving nothing behind.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Redis from 'ioredis';
import { startRedisServer, type RedisServer } from '../support/redis-server';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test support: redis-server', function () {
  this.timeout(30_000);
  const servers: RedisServer[] = [];
  const clients: Redis[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    for (const server of servers.splice(0)) await server.stop();
  });

  async function start(options: Parameters<typeof startRedisServer>[0] = {}): Promise<RedisServer> {
    const server = await startRedisServer({ own: true, ...options });
    servers.push(server);
    return server;
  }

  function connect(server: RedisServer): Redis {
    const client = new Redis(server.url, { maxRetriesPerRequest: null });
    clients.push(client);
    return client;
  }

  it('starts on a loopback port with its own temp dir and answers commands', async () => {
    const server = await start();
    assert.equal(server.host, '127.0.0.1');
    assert.ok(server.port > 0);
    assert.ok(fs.statSync(server.dir).isDirectory());
    const client = connect(server);
    await client.set('k', 'v');
    assert.equal(await client.get('k'), 'v');
  });

  it('keeps data across a graceful restart with AOF on, on the same port', async () => {
    const server = await start({ appendOnly: true });
    const client = connect(server);
    await client.xadd('s', '*', 'n', '1');
    await client.xadd('s', '*', 'n', '2');
    const port = server.port;
    await server.restart();
    assert.equal(server.port, port);
    assert.equal(await client.xlen('s'), 2);
  });

  it('keeps data across kill -9 when appendfsync is always', async () => {
    const server = await start({ appendOnly: true, appendFsync: 'always' });
    const client = connect(server);
    for (let i = 0; i < 50; i++) await client.xadd('s', '*', 'n', String(i));
    const oldPid = server.pid;
    await server.crashAndRestart();
    assert.notEqual(server.pid, oldPid);
    assert.equal(await client.xlen('s'), 50);
  });

  it('loses the data on restart without AOF (so AOF tests mean something)', async () => {
    const server = await start();
    const client = connect(server);
    await client.set('k', 'v');
    await server.restart();
    assert.equal(await client.get('k'), null);
  });

  it('stop() kills the process and removes the temp dir, and is idempotent', async () => {
    const server = await start();
    const pid = server.pid;
    assert.ok(pid && processAlive(pid));
    await server.stop();
    await server.stop();
    assert.ok(!processAlive(pid));
    assert.ok(!fs.existsSync(server.dir));
    servers.splice(servers.indexOf(server), 1);
  });

  it('requires the password when one is set', async () => {
    const server = await start({ password: 's3cret' });
    const anonymous = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    clients.push(anonymous);
    anonymous.on('error', () => undefined); // the NOAUTH during the handshake is what we expect
    await anonymous.connect().catch(() => undefined);
    await assert.rejects(anonymous.ping(), /NOAUTH|closed/);
    const authed = new Redis(server.url, { password: 's3cret' });
    clients.push(authed);
    assert.equal(await authed.ping(), 'PONG');
  });
});
