// qumulo-redis: the config node that owns the Redis connection (URL, credentials, TLS, Sentinel,
// Cluster, key prefix). Modeled on core MQTT's broker node: user nodes register/deregister, the
// shared command connection is reference-counted, reconnects with backoff (ioredis), and its
// state is mirrored to every user node. Blocking readers get their own connections.

import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { redactUrls } from '../core/redact';
import { SharedRedisConnection, type ConnectionStatus } from '../core/redis';
import { testRedisConnection, type RedisTestRequest } from '../core/redis/test-connection';
import { Users } from '../core/users';
import { adminGuard } from './lib/admin-guard';
import {
  REDIS_CONFIG_TYPE,
  connectionConfigFrom,
  describeEndpoint,
  type QumuloRedisConfigNode,
  type RedisConfigProperties,
  type RedisCredentials,
} from './qumulo-redis-common';
import { registerNodeType } from './lib/runtime';
import { storedConfig } from './lib/stored-config';

/** How long the config node's close waits for its users to finish and deregister. */
const CLOSE_WAIT_FOR_USERS_MS = 12_000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export = function register(RED: NodeAPI): void {
  function QumuloRedisNode(this: Mutable<QumuloRedisConfigNode> & { credentials?: RedisCredentials; endpointUrl?: string }, config: NodeDef & RedisConfigProperties): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const users = new Users<Node, ((status: ConnectionStatus) => void) | undefined>();
    let lastLogged: string | undefined;

    node.connection = null;
    node.configError = null;
    node.endpoint = '?';
    try {
      // The stored URL tells a password typed into the flow from one in ${REDIS_URL}.
      const settings = connectionConfigFrom(config, node.credentials, node.id, storedConfig(RED, node.id)?.url ?? config.url);
      node.endpoint = describeEndpoint(settings);
      // The URL this node connects to (Test connection lends it the stored password only for this).
      node.endpointUrl = settings.url;
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
      users.add(user, onStatus);
      const client = connection.acquire();
      onStatus?.(connection.status);
      return client;
    };

    node.deregister = async (user: Node) => {
      if (!connection || !users.remove(user)) return;
      await connection.release();
    };

    // Its users are stopped in the same deploy (Node-RED restarts every node of a changed config)
    // and flush their writes before they deregister: closing the shared connection under them
    // failed those writes ("Connection is closed"). So wait for the users first, within a bound
    // below Node-RED's 15 s close timeout.
    node.on('close', (_removed: boolean, done: () => void) => {
      if (!connection) return done();
      users
        .whenEmpty(CLOSE_WAIT_FOR_USERS_MS)
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

  registerNodeType(RED, REDIS_CONFIG_TYPE, QumuloRedisNode, {
    credentials: { username: { type: 'text' }, password: { type: 'password' }, sentinelPassword: { type: 'password' } },
  });

  // Test connection (the dialog's button). JSON only and same-origin through the shared admin
  // guard (a cross-site form cannot reach it); request values are used as typed (no ${ENV}), and a
  // stored password is used only by the deployed node it belongs to, for the URL it is deployed with.
  RED.httpAdmin.post('/qumulo-flow/redis/test', adminGuard, RED.auth.needsPermission('qumulo-redis.write'), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as RedisTestRequest;
    const deployed = typeof body.id === 'string' ? (RED.nodes.getNode(body.id) as (Node & { type: string; credentials?: RedisCredentials; endpointUrl?: string }) | null) : null;
    // Only where the deployed node itself connects: the same URL, exactly.
    const storedPassword = (url: string) => (deployed?.type === REDIS_CONFIG_TYPE && deployed.endpointUrl === url ? deployed.credentials?.password : undefined);
    void testRedisConnection(body, storedPassword).then((result) => res.json(result));
  });
};
