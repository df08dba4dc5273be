// A qumulo-redis config node's properties as connection settings: `${VAR}` values resolved, a
// password typed into the URL refused, Sentinel and Cluster checked. Pure (no Node-RED), so the
// config node, its tests and the Test connection endpoint read the settings the same way.

import { urlHasPassword } from '../redact';
import { isEnvReference, resolveEnv } from '../settings';
import { parseHostList } from './connection';
import type { RedisConnectionConfig, RedisMode } from './connection';

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

