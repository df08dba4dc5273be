// What a user reads when Redis is not there or refuses: ioredis's own texts (errno codes, "Reached
// the max retries per request limit … maxRetriesPerRequest") turned into words, from real errors of
// a real client against a port nobody listens on and a real password-protected redis-server.

import * as assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { redisErrorText } from '../../../core/redis';
import { freePort, startRedisServer, type RedisServer } from '../../support/redis-server';

describe('Redis errors in user words (redisErrorText)', function () {
  this.timeout(30_000);
  let server: RedisServer | undefined;
  after(async () => server?.stop());

  it('nothing listening: the connection error and the given-up command say what to check, not which ioredis option', async () => {
    const port = await freePort();
    const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: (n) => (n > 3 ? null : 20), lazyConnect: true });
    const connectionErrors: unknown[] = [];
    client.on('error', (err) => connectionErrors.push(err));
    try {
      const failure = await client.xadd('s', '*', 'k', 'v').then(
        () => null,
        (err: unknown) => err,
      );
      assert.ok(failure, 'the command did not fail');
      const said = redisErrorText(failure);
      assert.doesNotMatch(said, /maxRetriesPerRequest|ECONNREFUSED|Stream isn't writeable/, said);
      assert.match(said, /Redis/);
      assert.ok(connectionErrors.length > 0, 'no connection error event');
      assert.equal(redisErrorText(connectionErrors[0]), `Redis refused the connection at 127.0.0.1:${port}: is it running there?`);
    } finally {
      client.disconnect();
    }
  });

  it('a password-protected Redis: no password and a wrong password are told apart', async () => {
    server = await startRedisServer({ password: 'right-one' });
    const port = Number(new URL(server.url).port);
    // The refusal comes while connecting (HELLO/AUTH), as the client's error event: what the
    // Redis nodes' status shows (watchClient); commands only see "Connection is closed".
    const attempt = async (password?: string): Promise<string> => {
      const client = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
      const events: unknown[] = [];
      client.on('error', (e) => events.push(e));
      try {
        await client.connect().catch(() => undefined);
        assert.ok(events.length > 0, 'no error event');
        return redisErrorText(events[0]);
      } finally {
        client.disconnect();
      }
    };
    assert.equal(await attempt(), 'Redis asks for a password: set it in the Redis config node');
    assert.equal(await attempt('wrong'), 'Redis refused the user name or password of the Redis config node');
  });

  it('an unknown text passes through unchanged', () => {
    assert.equal(redisErrorText(new Error('ERR something new')), 'ERR something new');
  });
});
