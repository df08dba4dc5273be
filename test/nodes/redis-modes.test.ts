// The qumulo-redis config node's ways in: TLS with a CA (verification on by default), ACL
// credentials from ${ENV}, Redis Sentinel and Redis Cluster — each with a real server and a round
// trip out → Redis → in through the Node-RED runtime (node-red-node-test-helper).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { QumuloEvent } from '../../core/event';
import { nodeTestHelper } from '../support/actions';
import { startRedisSentinel, startRedisServer, type RedisSentinel, type RedisServer } from '../support/redis-server';
import { makeEvent, waitFor } from '../support/redis-helpers';

/* eslint-disable @typescript-eslint/no-require-imports */
const NODES = [require('../../nodes/qumulo-redis'), require('../../nodes/qumulo-redis-out'), require('../../nodes/qumulo-redis-in')];
/* eslint-enable @typescript-eslint/no-require-imports */

const helper = nodeTestHelper<unknown>();

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'tls');
const CERT_FILE = path.join(FIXTURES, 'cert.pem');
const KEY_FILE = path.join(FIXTURES, 'key.pem');

interface TestNode {
  receive(msg: unknown): void;
  on(event: string, listener: (...args: never[]) => void): void;
  status: { getCalls(): Array<{ args: unknown[] }> };
  warn: { getCalls(): Array<{ args: unknown[] }> };
}
interface StatusDot {
  fill?: string;
  shape?: string;
  text?: string;
}

describe('qumulo-redis connection modes (TLS, ACL, Sentinel, Cluster; real servers)', function () {
  this.timeout(60_000);
  const servers: RedisServer[] = [];
  const sentinels: RedisSentinel[] = [];

  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    for (const sentinel of sentinels.splice(0)) await sentinel.stop();
    for (const server of servers.splice(0)) await server.stop();
    delete process.env.QF_TEST_REDIS_USER;
    delete process.env.QF_TEST_REDIS_PASSWORD;
  });

  async function start(options: Parameters<typeof startRedisServer>[0]): Promise<RedisServer> {
    const server = await startRedisServer({ own: true, ...options });
    servers.push(server);
    return server;
  }

  function flow(configNode: Record<string, unknown>, stream = 'events'): unknown[] {
    return [
      { id: 'tab', type: 'tab' },
      { id: 'redis', type: 'qumulo-redis', ...configNode },
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', redis: 'redis', stream, wires: [] },
      { id: 'in', type: 'qumulo-redis-in', z: 'tab', redis: 'redis', stream, group: 'g', consumer: 'c', wires: [['sink']] },
      { id: 'sink', type: 'helper', z: 'tab' },
    ];
  }

  /** Sends 20 events through out → Redis → in and checks they all arrive, in order. */
  async function roundTrip(): Promise<void> {
    const received: QumuloEvent[] = [];
    (helper.getNode('sink') as TestNode).on('input', ((msg: { payload: QumuloEvent }, _send: unknown, done: () => void) => {
      received.push(msg.payload);
      done();
    }) as never);
    const out = helper.getNode('out') as TestNode;
    const events = Array.from({ length: 20 }, (_, i) => makeEvent(i + 1));
    for (const event of events) out.receive({ payload: event });
    await waitFor(() => received.length === 20, 'round trip');
    assert.deepEqual(received, events);
  }

  function lastStatus(id: string): StatusDot {
    const calls = (helper.getNode(id) as TestNode).status.getCalls();
    return (calls[calls.length - 1]?.args[0] ?? {}) as StatusDot;
  }

  it('TLS: rediss:// with the server CA pasted, certificate verified', async () => {
    const server = await start({ tls: { certFile: CERT_FILE, keyFile: KEY_FILE } });
    assert.match(server.url, /^rediss:/);
    await helper.load(NODES, flow({ url: server.url, ca: fs.readFileSync(CERT_FILE, 'utf8') }));
    await roundTrip();
    await waitFor(() => lastStatus('in').fill === 'green', 'in node green');
  });

  it('TLS: without the CA the unknown certificate is refused (red status, nothing delivered)', async () => {
    const server = await start({ tls: { certFile: CERT_FILE, keyFile: KEY_FILE } });
    await helper.load(NODES, flow({ url: server.url }));
    await waitFor(() => lastStatus('out').fill === 'red' && /certificate/i.test(lastStatus('out').text ?? ''), 'red ring naming the certificate problem');
    assert.equal(lastStatus('out').shape, 'ring');
  });

  it('TLS: verification can be turned off (for labs), with a warning', async () => {
    const server = await start({ tls: { certFile: CERT_FILE, keyFile: KEY_FILE } });
    await helper.load(NODES, flow({ url: server.url, rejectUnauthorized: false }));
    await roundTrip();
    const warnings = (helper.getNode('redis') as TestNode).warn.getCalls().map((c) => String(c.args[0]));
    assert.ok(warnings.some((w) => /verification is OFF/.test(w)), warnings.join('\n'));
  });

  it('ACL user and password from credentials, given as ${ENV} references', async () => {
    const server = await start({ password: 'default-secret', aclUser: { username: 'flow', password: 'flow-secret' } });
    process.env.QF_TEST_REDIS_USER = 'flow';
    process.env.QF_TEST_REDIS_PASSWORD = 'flow-secret';
    await helper.load(NODES, flow({ url: server.url }), { redis: { username: '${QF_TEST_REDIS_USER}', password: '${QF_TEST_REDIS_PASSWORD}' } });
    await roundTrip();
  });

  it('ACL user without scripting rights: out and in fall back to plain XADD / XREADGROUP, say so once, lose nothing', async () => {
    const server = await start({ password: 'default-secret', aclUser: { username: 'flow', password: 'flow-secret', rules: ['-@scripting'] } });
    await helper.load(NODES, flow({ url: server.url }), { redis: { username: 'flow', password: 'flow-secret' } });
    await roundTrip();
    const outWarnings = (helper.getNode('out') as TestNode).warn.getCalls().map((c) => String(c.args[0]));
    const inWarnings = (helper.getNode('in') as TestNode).warn.getCalls().map((c) => String(c.args[0]));
    assert.equal(outWarnings.filter((w) => /refused the batch-append script \(NOPERM/.test(w)).length, 1, outWarnings.join('\n'));
    assert.equal(inWarnings.filter((w) => /refused the read script \(NOPERM/.test(w)).length, 1, inWarnings.join('\n'));
  });

  it('a wrong password shows a red ring with the reason', async () => {
    const server = await start({ password: 'right' });
    await helper.load(NODES, flow({ url: server.url }), { redis: { password: 'wrong' } });
    await waitFor(() => lastStatus('in').fill === 'red' && /user name or password|asks for a password/.test(lastStatus('in').text ?? ''), 'red ring with the auth error');
  });

  it('Sentinel: the master is found through the sentinel', async () => {
    const master = await start({});
    const sentinel = await startRedisSentinel(master, 'qumulo');
    sentinels.push(sentinel);
    await helper.load(NODES, flow({ url: 'redis://sentinel', mode: 'sentinel', sentinels: `${sentinel.host}:${sentinel.port}`, sentinelName: 'qumulo' }));
    await roundTrip();
  });

  it('Cluster: a one-node Redis Cluster with a hash-tagged stream', async () => {
    const server = await start({ cluster: true });
    await helper.load(NODES, flow({ url: server.url, mode: 'cluster' }, '{qumulo}:events'));
    await roundTrip();
  });

  it('a config error (bad URL scheme) is reported on the user nodes', async () => {
    await helper.load(NODES, flow({ url: 'http://127.0.0.1:6379' }));
    assert.equal(lastStatus('in').fill, 'red');
    assert.match(lastStatus('in').text ?? '', /unsupported scheme/);
  });
});
