// Shared by the Redis node adapters (qumulo-redis, -out, -in, qumulo-ack): what the config node
// offers its users, how its properties become connection settings, status dots, consumer names.
// (Not a node itself: package.json does not list it.)

import * as os from 'node:os';
import { createHash } from 'node:crypto';
import type { Node, NodeAPI } from 'node-red';
import {
  parseHostList,
  type ConnectionStatus,
  type RedisClient,
  type RedisConnectionConfig,
  type RedisMode,
  type SharedRedisConnection,
} from '../core/redis';
import { urlHasPassword } from '../core/redact';
import { resolveEnv } from './lib/cluster';
import { isEnvReference } from './lib/stored-config';
import { status, type StatusDot } from './lib/status';

export const REDIS_CONFIG_TYPE = 'qumulo-redis';

export interface RedisConfigProperties {
  name?: string;
  url?: string;
  mode?: string;
  database?: string | number;
  keyPrefix?: string;
  ca?: string;
  rejectUnauthorized?: boolean | string;
  servername?: string;
  sentinels?: string;
  sentinelName?: string;
  clusterNodes?: string;
}

export interface RedisCredentials {
  username?: string;
  password?: string;
  sentinelPassword?: string;
}

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

/** Turns the node's properties and credentials into connection settings, or says what is wrong. */
export function connectionConfigFrom(config: RedisConfigProperties, credentials: RedisCredentials | undefined, nodeId: string, storedUrl: unknown = config.url): RedisConnectionConfig {
  // A password typed into the URL would sit in flows.json in clear and be shown by GET /flows to
  // read-only users. Refused: it belongs in the Password field (encrypted credentials). A URL from
  // the environment (`${REDIS_URL}`, the stored value) is not in the flow, so it may carry one.
  if (!isEnvReference(storedUrl) && urlHasPassword(String(config.url ?? ''))) {
    throw new Error('the Redis URL contains a password: remove it from the URL (redis://host:port) and put it in the Password field, where it is stored encrypted; or take the whole URL from the environment (${REDIS_URL})');
  }
  const url = resolveEnv(config.url) || 'redis://127.0.0.1:6379';
  const modeText = resolveEnv(config.mode) || 'standalone';
  if (modeText !== 'standalone' && modeText !== 'sentinel' && modeText !== 'cluster') throw new Error(`unknown mode "${modeText}"`);
  const mode: RedisMode = modeText;
  const databaseText = resolveEnv(config.database);
  let database: number | undefined;
  if (databaseText !== '') {
    database = Number(databaseText);
    if (!Number.isInteger(database) || database < 0) throw new Error(`invalid database "${databaseText}"`);
  }
  const rejectUnauthorized = !(config.rejectUnauthorized === false || String(config.rejectUnauthorized) === 'false');
  const result: RedisConnectionConfig = {
    url,
    mode,
    database,
    keyPrefix: resolveEnv(config.keyPrefix),
    username: resolveEnv(credentials?.username) || undefined,
    password: credentials?.password ? resolveEnv(credentials.password) : undefined,
    tls: { ca: resolveEnv(config.ca) || undefined, rejectUnauthorized, servername: resolveEnv(config.servername) || undefined },
    connectionName: `qumulo-flow:${nodeId}`,
  };
  if (mode === 'sentinel') {
    result.sentinels = parseHostList(resolveEnv(config.sentinels), 26379);
    result.sentinelName = resolveEnv(config.sentinelName);
    result.sentinelPassword = credentials?.sentinelPassword ? resolveEnv(credentials.sentinelPassword) : undefined;
    if (result.sentinels.length === 0) throw new Error('Sentinel mode needs at least one sentinel host:port');
    if (!result.sentinelName) throw new Error('Sentinel mode needs the master name');
  }
  if (mode === 'cluster') result.clusterNodes = parseHostList(resolveEnv(config.clusterNodes), 6379);
  return result;
}

export function describeEndpoint(config: RedisConnectionConfig): string {
  if (config.mode === 'sentinel') return `sentinel:${config.sentinelName}`;
  try {
    const url = new URL(config.url);
    const seed = config.mode === 'cluster' && config.clusterNodes?.length ? `${config.clusterNodes[0].host}:${config.clusterNodes[0].port}` : `${url.hostname}:${url.port || 6379}`;
    return config.mode === 'cluster' ? `cluster ${seed}` : seed;
  } catch {
    return '?';
  }
}

/** Status dot for a connection state (shared by the Redis nodes). */
export function connectionDot(state: ConnectionStatus): StatusDot {
  switch (state.state) {
    case 'connected':
      return status.ok('connected');
    case 'connecting':
      return status.connecting('connecting');
    case 'reconnecting':
      return status.connecting('reconnecting');
    case 'error':
      return status.error(state.error ? `reconnecting: ${state.error}` : 'error');
    default:
      return status.error('disconnected');
  }
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
