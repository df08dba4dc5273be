// Shared by the Redis node adapters (qumulo-redis, -out, -in, qumulo-ack): what the config node
// offers its users, status dots, consumer names. How its properties become connection settings is
// in core/redis/settings.ts. (Not a node itself: package.json does not list it.)

import * as os from 'node:os';
import { createHash } from 'node:crypto';
import type { Node, NodeAPI } from 'node-red';
import type { ConnectionStatus, RedisClient, SharedRedisConnection } from '../core/redis';
import { connectionStatusText } from '../core/redis/node-status';
import { status, statusDot, type StatusDot } from './lib/status';

export const REDIS_CONFIG_TYPE = 'qumulo-redis';

// The settings themselves are read in the core; re-exported for the Redis nodes.
export { connectionConfigFrom, describeEndpoint, type RedisConfigProperties, type RedisCredentials } from '../core/redis/settings';

/** What user nodes rely on from the config node. */
export interface QumuloRedisConfigNode extends Node {
  /** Null when the configuration is invalid (see configError). */
  readonly connection: SharedRedisConnection | null;
  readonly configError: string | null;
  /** `host:port` (or sentinel master / cluster) for status texts and logs, no secrets. */
  readonly endpoint: string;
  /** Takes a reference on the shared client; `onStatus` is called now and on every change. */
  register(user: Node, onStatus?: (status: ConnectionStatus) => void): RedisClient | null;
  /** Drops the reference; the last user closes the shared connection. */
  deregister(user: Node): Promise<void>;
}

/** Status dot for a connection state (shared by the Redis nodes). */
export function connectionDot(state: ConnectionStatus): StatusDot {
  return statusDot(connectionStatusText(state));
}

/** A consumer name stable across restarts: host + this Node-RED's userDir + node id. */
export function defaultConsumerName(RED: NodeAPI, nodeId: string): string {
  const userDir = String((RED.settings as unknown as { userDir?: string }).userDir ?? '');
  const instance = createHash('sha1').update(userDir).digest('hex').slice(0, 6);
  return `${os.hostname()}-${instance}-${nodeId}`;
}

/** Finds the config node for a user node; reports a clear error on the user when missing. */
export function getRedisConfig(RED: NodeAPI, user: Node, id: string | undefined): QumuloRedisConfigNode | null {
  const config = id ? (RED.nodes.getNode(id) as QumuloRedisConfigNode | null) : null;
  if (!config) {
    user.status(status.error('no Redis server configured'));
    user.error('No qumulo-redis config node selected: open the node and pick or add a Redis server');
    return null;
  }
  if (!config.connection) {
    user.status(status.error(config.configError ?? 'invalid Redis configuration'));
    user.error(`Redis configuration "${config.name || config.id}" is invalid: ${config.configError}`);
    return null;
  }
  return config;
}
