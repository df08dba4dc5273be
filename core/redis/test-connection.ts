// The qumulo-redis dialog's "Test connection": connects with the values typed into the dialog
// (standalone Redis only), PINGs and reads the server version, within a time limit. Values are
// used as typed (no ${ENV}); a stored password is only lent by the caller for the exact URL its
// deployed node connects to. Answers are our own words, never a reply body a host wrote.

import { createRedisClient } from './connection';
import { redisErrorText } from './errors';

export interface RedisTestRequest {
  id?: unknown;
  url?: unknown;
  mode?: unknown;
  database?: unknown;
  ca?: unknown;
  rejectUnauthorized?: unknown;
  servername?: unknown;
  username?: unknown;
  password?: unknown;
}

/** Node-RED's stand-in for "the stored password, unchanged" in an edit dialog. */
const UNCHANGED_PASSWORD = '__PWRD__';
const TEST_TIMEOUT_MS = 5_000;

/**
 * `storedPassword(url)`: the deployed node's stored password when the dialog left the field
 * unchanged or empty, for that URL only (undefined otherwise).
 */
export async function testRedisConnection(body: RedisTestRequest, storedPassword: (url: string) => string | undefined): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v));
  const values = [body.url, body.database, body.ca, body.servername, body.username, body.password].map(text);
  if (values.some((v) => v.includes('${'))) return { ok: false, error: '${…} values are read when the node is deployed: deploy, then test with the values typed in' };
  if ((text(body.mode) || 'standalone') !== 'standalone') return { ok: false, error: 'the test covers standalone Redis; deploy to try Sentinel or Cluster' };
  const url = text(body.url);
  if (!/^rediss?:\/\/./i.test(url)) return { ok: false, error: 'enter a redis:// or rediss:// URL' };
  let password = text(body.password);
  if (password === UNCHANGED_PASSWORD || password === '') password = storedPassword(url) ?? '';
  const databaseText = text(body.database);
  const database = databaseText === '' ? undefined : Number(databaseText);
  if (database !== undefined && (!Number.isInteger(database) || database < 0)) return { ok: false, error: 'the database is a whole number, 0 or more' };
  let client: ReturnType<typeof createRedisClient> | undefined;
  try {
    client = createRedisClient({
      url,
      mode: 'standalone',
      database,
      username: text(body.username) || undefined,
      password: password || undefined,
      tls: { ca: text(body.ca) || undefined, rejectUnauthorized: body.rejectUnauthorized !== false && body.rejectUnauthorized !== 'false', servername: text(body.servername) || undefined },
      connectionName: 'qumulo-flow:test',
    } as Parameters<typeof createRedisClient>[0]);
    const c = client;
    // The first connection error is the answer (ioredis would keep retrying in the background).
    const failed = new Promise<never>((_, reject) => c.once('error', reject));
    const work = (async () => {
      await c.ping();
      const info = await c.info('server');
      return /redis_version:([^\r\n]{1,40})/.exec(info)?.[1] ?? '?';
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('Connection timeout')), TEST_TIMEOUT_MS)));
    // The losers of the race settle later (or never): no unhandled rejection may reach Node-RED.
    for (const p of [failed, work, timeout]) p.catch(() => undefined);
    const answer = await Promise.race([work, failed, timeout]).finally(() => clearTimeout(timer));
    return { ok: true, version: answer };
  } catch (err) {
    // Only our own words, bounded: never a reply body a host of the caller's choosing wrote.
    const said = redisErrorText(err);
    return { ok: false, error: said === (err as Error)?.message ? 'Redis did not answer as expected' : said };
  } finally {
    client?.disconnect();
  }
}
