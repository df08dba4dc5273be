// qumulo-redis: the config node that owns the Redis connection (URL, credentials, TLS, Sentinel,
// Cluster, key prefix). Modeled on core MQTT's broker node: user nodes register/deregister, the
// shared command connection is reference-counted, reconnects with backoff (ioredis), and its
// state is mirrored to every user node. Blocking readers get their own connections.

import type { Node, NodeAPI, NodeDef } from 'node-red';
import { redactUrls } from '../core/redact';
import { SharedRedisConnection, type ConnectionStatus } from '../core/redis';
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
};
