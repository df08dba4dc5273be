// Turns the qumulo-redis config (URL, credentials, TLS, Sentinel / Cluster) into ioredis clients,
// and keeps one shared, reference-counted command connection per config with a simple state
// machine (connecting / connected / reconnecting / error / closed) the node adapters mirror.
import { EventEmitter } from 'node:events';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redactUrls } from '../redact';
import { redisErrorText } from './errors';

export const REDIS_MODES = ['standalone', 'sentinel', 'cluster'] as const;
export type RedisMode = (typeof REDIS_MODES)[number];

export interface HostPort {
  host: string;
  port: number;
}

export interface RedisTlsSettings {
  /** PEM text of the CA(s) to trust in addition to the system store. */
  ca?: string;
  /** Verify the server certificate (default true; turn off only for tests/labs). */
  rejectUnauthorized: boolean;
  /** Name checked against the certificate, when it differs from the host. */
  servername?: string;
}

export interface RedisConnectionConfig {
  /** `redis://host:port/db` or `rediss://…` (TLS). In Sentinel mode only the scheme and db are used. */
  url: string;
  mode: RedisMode;
  username?: string;
  password?: string;
  /** Database number; overrides the URL's `/db` when set. Must be 0 (or unset) in Cluster mode. */
  database?: number;
  /** Prepended to every stream name (done by our code, not by ioredis). */
  keyPrefix?: string;
  tls?: RedisTlsSettings;
  /** Sentinel mode: sentinel addresses and the monitored master's name. */
  sentinels?: HostPort[];
  sentinelName?: string;
  sentinelPassword?: string;
  /** Cluster mode: seed nodes (the URL's host:port is used when empty). */
  clusterNodes?: HostPort[];
  /** Shown in CLIENT LIST. */
  connectionName?: string;
}

export type RedisClient = Redis | Cluster;

export class RedisConfigError extends Error {
  override readonly name = 'RedisConfigError';
}

/** Parses `host:port, host:port` (commas, spaces or new lines); port defaults to `defaultPort`. */
export function parseHostList(text: string | undefined, defaultPort: number): HostPort[] {
  if (!text) return [];
  return text
    .split(/[\s,]+/)
    .filter((item) => item.length > 0)
    .map((item) => {
      const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(item); // [::1]:6379
      const plain = /^([^:]+)(?::(\d+))?$/.exec(item);
      const match = bracketed ?? plain;
      if (!match) throw new RedisConfigError(`not a host[:port]: "${item}"`);
      const port = match[2] ? Number(match[2]) : defaultPort;
      if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new RedisConfigError(`bad port in "${item}"`);
      return { host: match[1], port };
    });
}

interface ParsedUrl {
  tls: boolean;
  host: string;
  port: number;
  db?: number;
  username?: string;
  password?: string;
}

export function parseRedisUrl(url: string): ParsedUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisConfigError(`not a URL: "${redactUrls(url)}" (expected redis://host:port/db or rediss://…)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisConfigError(`unsupported scheme "${parsed.protocol}" (use redis:// or rediss://)`);
  }
  const dbText = parsed.pathname.replace(/^\//, '');
  let db: number | undefined;
  if (dbText !== '') {
    db = Number(dbText);
    if (!Number.isInteger(db) || db < 0) throw new RedisConfigError(`bad database "${dbText}" in URL`);
  }
  return {
    tls: parsed.protocol === 'rediss:',
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
}

function tlsOptions(settings: RedisTlsSettings | undefined): RedisOptions['tls'] {
  const result: NonNullable<RedisOptions['tls']> = { rejectUnauthorized: settings?.rejectUnauthorized ?? true };
  if (settings?.ca && settings.ca.trim() !== '') result.ca = settings.ca;
  if (settings?.servername) result.servername = settings.servername;
  return result;
}

export type ClientPurpose = 'commands' | 'blocking';

/** ioredis options common to every connection of a config; purpose decides retry behaviour. */
function baseOptions(config: RedisConnectionConfig, url: ParsedUrl, purpose: ClientPurpose): RedisOptions {
  const options: RedisOptions = {
    // RESP2: the same reply shapes as RESP3 "legacy" mapping, and no HELLO needed, which keeps
    // Redis-compatible servers and proxies working.
    protocol: 2,
    username: config.username || url.username,
    password: config.password || url.password,
    connectionName: `${config.connectionName ?? 'qumulo-flow'}:${purpose}`,
    enableAutoPipelining: false,
    lazyConnect: false,
  };
  if (purpose === 'blocking') {
    // The read loop owns retries, so it must hear about a dropped connection at once: with 0
    // retries ioredis rejects the outstanding XREADGROUP on close (instead of resending it, or
    // with resend off, silently forgetting it), and fails reads issued while disconnected.
    options.maxRetriesPerRequest = 0;
    options.autoResendUnfulfilledCommands = false;
  }
  if (url.tls) options.tls = tlsOptions(config.tls);
  return options;
}

/** Builds a new ioredis client for the config. The caller owns it (disconnect/quit). */
export function createRedisClient(config: RedisConnectionConfig, purpose: ClientPurpose = 'commands'): RedisClient {
  const url = parseRedisUrl(config.url);
  const db = config.database ?? url.db ?? 0;
  const options = baseOptions(config, url, purpose);
  switch (config.mode) {
    case 'standalone':
      return new Redis({ ...options, host: url.host, port: url.port, db });
    case 'sentinel': {
      if (!config.sentinels || config.sentinels.length === 0) throw new RedisConfigError('Sentinel mode needs at least one sentinel host:port');
      if (!config.sentinelName) throw new RedisConfigError('Sentinel mode needs the master name');
      return new Redis({
        ...options,
        db,
        sentinels: config.sentinels,
        name: config.sentinelName,
        sentinelPassword: config.sentinelPassword || undefined,
        enableTLSForSentinelMode: url.tls,
        sentinelTLS: url.tls ? tlsOptions(config.tls) : undefined,
      });
    }
    case 'cluster': {
      if (db !== 0) throw new RedisConfigError('Redis Cluster has only database 0');
      const nodes = config.clusterNodes && config.clusterNodes.length > 0 ? config.clusterNodes : [{ host: url.host, port: url.port }];
      const clusterOptions: ClusterOptions = {
        redisOptions: options,
        enableAutoPipelining: false,
        maxRedirections: 16,
      };
      return new Cluster(nodes, clusterOptions);
    }
    default:
      throw new RedisConfigError(`unknown mode "${String((config as { mode: unknown }).mode)}"`);
  }
}

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'error' | 'closed';

export interface ConnectionStatus {
  state: ConnectionState;
  /** Last connection error text while not connected. */
  error?: string;
}

/**
 * Watches a client's events and reduces them to a ConnectionStatus. ioredis emits `error` for
 * every failed attempt; the status keeps the message until the next `ready`.
 */
export function watchClient(client: RedisClient, onStatus: (status: ConnectionStatus) => void): () => void {
  let lastError: string | undefined;
  let current: ConnectionStatus = { state: 'connecting' };
  const emit = (status: ConnectionStatus) => {
    if (status.state === current.state && status.error === current.error) return;
    current = status;
    onStatus(status);
  };
  const onReady = () => {
    lastError = undefined;
    emit({ state: 'connected' });
  };
  const onError = (err: Error) => {
    lastError = redactUrls(redisErrorText(err));
    if (current.state !== 'connected') emit({ state: 'error', error: lastError });
  };
  const onReconnecting = () => emit(lastError ? { state: 'error', error: lastError } : { state: 'reconnecting' });
  const onClose = () => {
    if (current.state === 'connected') emit({ state: 'reconnecting' });
  };
  const onEnd = () => emit({ state: 'closed' });
  client.on('ready', onReady);
  client.on('error', onError);
  client.on('reconnecting', onReconnecting);
  client.on('close', onClose);
  client.on('end', onEnd);
  if (client.status === 'ready') onReady();
  return () => {
    client.off('ready', onReady);
    client.off('error', onError);
    client.off('reconnecting', onReconnecting);
    client.off('close', onClose);
    client.off('end', onEnd);
  };
}

/**
 * One shared command connection per config, created on the first acquire() and closed when the
 * last user releases it. Blocking readers get their own clients from createBlockingClient().
 * Emits `status` (ConnectionStatus) whenever the shared connection's state changes.
 */
export class SharedRedisConnection extends EventEmitter {
  private client: RedisClient | undefined;
  private unwatch: (() => void) | undefined;
  private users = 0;
  private readonly blockingClients = new Set<RedisClient>();
  private currentStatus: ConnectionStatus = { state: 'closed' };

  constructor(
    readonly config: RedisConnectionConfig,
    private readonly factory: (config: RedisConnectionConfig, purpose: ClientPurpose) => RedisClient = createRedisClient,
  ) {
    super();
    // Validate early so a bad URL shows on deploy, not on first use.
    parseRedisUrl(config.url);
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  get userCount(): number {
    return this.users;
  }

  /** Full Redis key for a stream name (key prefix applied). */
  key(name: string): string {
    return (this.config.keyPrefix ?? '') + name;
  }

  /** Takes a reference on the shared client, connecting it on first use. */
  acquire(): RedisClient {
    this.users++;
    if (!this.client) {
      const client = this.factory(this.config, 'commands');
      this.client = client;
      this.setStatus({ state: 'connecting' });
      this.unwatch = watchClient(client, (status) => this.setStatus(status));
    }
    return this.client;
  }

  /** Drops a reference; the last one closes the shared client (QUIT, so queued replies arrive). */
  async release(): Promise<void> {
    if (this.users === 0) return;
    this.users--;
    if (this.users === 0) await this.closeShared();
  }

  /** A new dedicated client (XREADGROUP BLOCK holds its connection). Closed by the caller or by close(). */
  createBlockingClient(): RedisClient {
    const client = this.factory(this.config, 'blocking');
    // Its failures surface through the read loop and the shared connection's status.
    client.on('error', () => undefined);
    this.blockingClients.add(client);
    client.once('end', () => this.blockingClients.delete(client));
    return client;
  }

  /** Closes everything regardless of users (config node closing). */
  async close(): Promise<void> {
    this.users = 0;
    for (const client of this.blockingClients) client.disconnect();
    this.blockingClients.clear();
    await this.closeShared();
  }

  private async closeShared(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    try {
      if (client.status === 'ready') await quitWithin(client, 2000);
      else client.disconnect();
    } finally {
      this.unwatch?.();
      this.unwatch = undefined;
      // A handshake or socket error can still arrive after the close: keep it from going unhandled.
      client.on('error', () => undefined);
      this.setStatus({ state: 'closed' });
    }
  }

  private setStatus(status: ConnectionStatus): void {
    this.currentStatus = status;
    this.emit('status', status);
  }
}

/** QUIT (lets pending replies arrive) but never waits longer than `ms`, then disconnects. */
export async function quitWithin(client: RedisClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    client.disconnect();
  }
}
