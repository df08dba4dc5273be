// qumulo-redis: the config node that owns the Redis connection (URL, credentials, TLS, Sentinel,
// Cluster, key prefix). Modeled on core MQTT's broker node: user nodes register/deregister, the
// shared command connection is reference-counted, reconnects with backoff (ioredis), and its
// state is mirrored to every user node. Blocking readers get their own connections.

import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { redactUrls } from '../core/redact';
import { adminGuard } from './lib/admin-guard';
import { SharedRedisConnection, createRedisClient, redisErrorText, type ConnectionStatus } from '../core/redis';
import {
  REDIS_CONFIG_TYPE,
  connectionConfigFrom,
  describeEndpoint,
  type QumuloRedisConfigNode,
  type RedisConfigProperties,
  type RedisCredentials,
} from './qumulo-redis-common';
import { storedConfig } from './lib/stored-config';

/** How long the config node's close waits for its users to finish and deregister. */
const CLOSE_WAIT_FOR_USERS_MS = 12_000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export = function register(RED: NodeAPI): void {
  function QumuloRedisNode(this: Mutable<QumuloRedisConfigNode>, config: NodeDef & RedisConfigProperties): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const credentials = (node as unknown as { credentials?: RedisCredentials }).credentials;
    const users = new Map<Node, ((status: ConnectionStatus) => void) | undefined>();
    let lastLogged: string | undefined;

    node.connection = null;
    node.configError = null;
    node.endpoint = '?';
    try {
      // The stored URL tells a password typed into the flow from one in ${REDIS_URL}.
      const settings = connectionConfigFrom(config, credentials, node.id, storedConfig(RED, node.id)?.url ?? config.url);
      node.endpoint = describeEndpoint(settings);
      // The URL this node connects to (Test connection lends it the stored password only for this).
      (node as unknown as { endpointUrl?: string }).endpointUrl = settings.url;
      node.connection = new SharedRedisConnection(settings);
      if (settings.url.startsWith('rediss:') && settings.tls?.rejectUnauthorized === false) {
        node.warn(`TLS certificate verification is OFF for ${node.endpoint}: anyone on the network path can impersonate Redis`);
      }
    } catch (err) {
      node.configError = redactUrls((err as Error).message);
      node.error(`Redis configuration: ${node.configError}`);
    }

    const connection = node.connection;
    connection?.on('status', (state: ConnectionStatus) => {
      // Log transitions once, not every failed reconnect attempt.
      const line = state.state === 'error' ? `error: ${state.error}` : state.state;
      if (line !== lastLogged) {
        lastLogged = line;
        if (state.state === 'error') node.warn(redactUrls(`Redis ${node.endpoint}: ${state.error}`));
        else if (state.state === 'connected') node.log(`connected to Redis ${node.endpoint}`);
      }
      for (const listener of users.values()) listener?.(state);
    });

    node.register = (user: Node, onStatus?: (status: ConnectionStatus) => void) => {
      if (!connection) return null;
      users.set(user, onStatus);
      const client = connection.acquire();
      onStatus?.(connection.status);
      return client;
    };

    /** Resolved when the last user has deregistered (the config node's close waits for it). */
    let lastUserGone: (() => void) | null = null;

    node.deregister = async (user: Node) => {
      if (!connection || !users.has(user)) return;
      users.delete(user);
      if (users.size === 0) lastUserGone?.();
      await connection.release();
    };

    // Its users are stopped in the same deploy (Node-RED restarts every node of a changed config)
    // and flush their writes before they deregister: closing the shared connection under them
    // failed those writes ("Connection is closed"). So wait for the users first, within a bound
    // below Node-RED's 15 s close timeout.
    node.on('close', (_removed: boolean, done: () => void) => {
      if (!connection) {
        done();
        return;
      }
      const usersGone = users.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (lastUserGone = resolve));
      const bound = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_WAIT_FOR_USERS_MS).unref());
      Promise.race([usersGone, bound])
        .then(() => {
          users.clear();
          return connection.close();
        })
        .then(
          () => done(),
          () => done(),
        );
    });
  }

  RED.nodes.registerType(REDIS_CONFIG_TYPE, QumuloRedisNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1], {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
      sentinelPassword: { type: 'password' },
    },
  } as unknown as Parameters<NodeAPI['nodes']['registerType']>[2]);

  // Test connection (the dialog's button). JSON only and same-origin through the shared admin
  // guard (a cross-site form cannot reach it); request values are used as typed (no ${ENV}), and a
  // stored password is used only by the deployed node it belongs to, for the URL it is deployed with.
  RED.httpAdmin.post('/qumulo-flow/redis/test', adminGuard, RED.auth.needsPermission('qumulo-redis.write'), (req: Request, res: Response) => {
    void testRedis(RED, (req.body ?? {}) as RedisTestRequest).then((result) => res.json(result));
  });
};

interface RedisTestRequest {
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

async function testRedis(RED: NodeAPI, body: RedisTestRequest): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v));
  const values = [body.url, body.database, body.ca, body.servername, body.username, body.password].map(text);
  if (values.some((v) => v.includes('${'))) return { ok: false, error: '${…} values are read when the node is deployed: deploy, then test with the values typed in' };
  if ((text(body.mode) || 'standalone') !== 'standalone') return { ok: false, error: 'the test covers standalone Redis; deploy to try Sentinel or Cluster' };
  const url = text(body.url);
  if (!/^rediss?:\/\/./i.test(url)) return { ok: false, error: 'enter a redis:// or rediss:// URL' };
  let password = text(body.password);
  if (password === UNCHANGED_PASSWORD || password === '') {
    password = '';
    const deployed = typeof body.id === 'string' ? (RED.nodes.getNode(body.id) as (Node & { type: string; credentials?: RedisCredentials; connection?: unknown }) | null) : null;
    const stored = deployed?.type === REDIS_CONFIG_TYPE ? deployed.credentials?.password : undefined;
    // Only where the deployed node itself connects: the same URL, exactly.
    if (stored && (deployed as unknown as { endpointUrl?: string }).endpointUrl === url) password = stored;
  }
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
