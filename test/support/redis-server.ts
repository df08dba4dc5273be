// Starts and stops a real redis-server for tests: loopback only, a free port, its own temp dir,
// optional AOF, graceful or hard restart on the same port and dir (so data survives when AOF is on).
// With REDIS_URL set, an existing server is used instead (restart/kill are then refused).
//
//   const redis = await startRedisServer({ appendOnly: true });
//   ... redis.url ...
//   await redis.restart();       // SHUTDOWN (AOF flushed) + start again on the same port
//   await redis.stop();          // always, also in after() hooks; idempotent
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';

export const REDIS_MISSING_MESSAGE =
  'redis-server not found: install it (apt-get install redis-server) or set REDIS_URL';

export interface RedisServerOptions {
  /** Turn on the append-only file (needed for "restart without loss"). */
  appendOnly?: boolean;
  /** `appendfsync` policy when appendOnly is on: `everysec` (Redis default) or `always` (survives kill -9). */
  appendFsync?: 'always' | 'everysec' | 'no';
  /** Serve TLS only (no plain port) with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
  /** `requirepass` for the default user. */
  password?: string;
  /** An extra ACL user with full rights: `{ username, password }`. */
  /** An ACL user with every right, narrowed by `rules` (e.g. ['-@scripting']). */
  aclUser?: { username: string; password: string; rules?: string[] };
  /** Start as a one-node Redis Cluster owning all 16384 slots. */
  cluster?: boolean;
  /**
   * Where the temp data dir is made (default os.tmpdir()). '/dev/shm' (tmpfs) makes
   * `appendfsync always` cheap: a process crash keeps the data, fsync costs nothing.
   */
  dataBase?: string;
  /** Extra `--name value` arguments for redis-server. */
  extraArgs?: string[];
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (or REDIS_URL). */
  readonly url: string;
  /** Data directory (AOF/RDB live here); empty string for an external server. */
  readonly dir: string;
  /** True when REDIS_URL pointed at an existing server. */
  readonly external: boolean;
  /** Process id of the running server, or undefined (external / stopped). */
  readonly pid: number | undefined;
  /** Graceful stop (SIGTERM: Redis flushes the AOF), then restart on the same port and dir. */
  restart(): Promise<void>;
  /** kill -9, then start again on the same port and dir. */
  crashAndRestart(): Promise<void>;
  /** Graceful stop without restart (the port stays reserved for a later `start()`). */
  shutdown(): Promise<void>;
  /** Start again after `shutdown()`. */
  start(): Promise<void>;
  /** Stops the server (if ours) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Every server this process started; killed synchronously if the process exits without stop(). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

let cachedBinary: string | null | undefined;

/** Finds redis-server on PATH (or /usr/bin, /usr/local/bin); null when absent. */
export function findRedisServerBinary(): string | null {
  if (cachedBinary !== undefined) return cachedBinary;
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin', '/usr/sbin']);
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, 'redis-server');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      cachedBinary = candidate;
      return candidate;
    } catch {
      // keep looking
    }
  }
  cachedBinary = null;
  return null;
}

/** A TCP port that was free a moment ago on 127.0.0.1 (Redis cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A key prefix unique to one test, so tests can share an external REDIS_URL server. */
export function uniquePrefix(label = 'test'): string {
  return `qf-${label}-${randomBytes(4).toString('hex')}:`;
}

interface RawTarget {
  host: string;
  port: number;
  tls: boolean;
  /** `AUTH` arguments sent first, when the server needs them. */
  auth?: string[];
}

/**
 * Sends inline commands over a raw socket (no client library needed) and resolves with the reply
 * text of the last one once `complete(text)` says it is whole (default: one line).
 */
function rawCommand(
  target: RawTarget,
  command: string,
  timeoutMs = 1000,
  complete: (text: string) => boolean = (text) => text.includes('\r\n'),
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: net.Socket = target.tls
      ? tls.connect({ port: target.port, host: target.host, rejectUnauthorized: false })
      : net.connect({ port: target.port, host: target.host });
    let buffer = '';
    let skipReplies = target.auth ? 1 : 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to ${command} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on(target.tls ? 'secureConnect' : 'connect', () => {
      const auth = target.auth ? `AUTH ${target.auth.join(' ')}\r\n` : '';
      socket.write(auth + command + '\r\n');
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      while (skipReplies > 0) {
        const end = buffer.indexOf('\r\n');
        if (end < 0) return;
        buffer = buffer.slice(end + 2);
        skipReplies--;
      }
      if (complete(buffer)) {
        clearTimeout(timer);
        socket.end();
        resolve(buffer);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function waitUntilReady(target: RawTarget, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited during start (code ${child.exitCode}, signal ${child.signalCode}):\n${log()}`);
    }
    try {
      const reply = await rawCommand(target, 'PING', 500);
      // -LOADING while the AOF is replayed; keep waiting for +PONG.
      if (reply.startsWith('+PONG')) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${target.port} not ready after 15 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

class LocalRedisServer implements RedisServer {
  readonly host = '127.0.0.1';
  readonly external = false;
  private child: ChildProcess | undefined;
  private output = '';
  private stopped = false;

  constructor(
    private readonly binary: string,
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  get url(): string {
    return `${this.options.tls ? 'rediss' : 'redis'}://${this.host}:${this.port}`;
  }

  private target(): RawTarget {
    return {
      host: this.host,
      port: this.port,
      tls: Boolean(this.options.tls),
      auth: this.options.password ? [this.options.password] : undefined,
    };
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private args(): string[] {
    const args = [
      '--port', this.options.tls ? '0' : String(this.port),
      '--bind', this.host,
      '--dir', this.dir,
      '--save', '',
      '--daemonize', 'no',
      '--protected-mode', 'yes',
      '--appendonly', this.options.appendOnly ? 'yes' : 'no',
      '--logfile', '',
    ];
    if (this.options.appendOnly) args.push('--appendfsync', this.options.appendFsync ?? 'everysec');
    if (this.options.tls) {
      args.push(
        '--tls-port', String(this.port),
        '--tls-cert-file', this.options.tls.certFile,
        '--tls-key-file', this.options.tls.keyFile,
        '--tls-auth-clients', 'no',
      );
    }
    if (this.options.password) args.push('--requirepass', this.options.password);
    if (this.options.aclUser) {
      const { username, password, rules = [] } = this.options.aclUser;
      // One argv element per ACL token: a single quoted string would become the user name.
      args.push('--user', username, 'on', `>${password}`, '~*', '&*', '+@all', ...rules);
    }
    if (this.options.cluster) {
      // A lone node does not learn its own address (CLUSTER SLOTS would answer ""): announce it.
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', path.join(this.dir, 'nodes.conf'), '--cluster-announce-ip', this.host);
    }
    return args.concat(this.options.extraArgs ?? []);
  }

  async start(): Promise<void> {
    if (this.stopped) throw new Error('redis-server handle already stopped');
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return;
    this.output = '';
    const child = spawn(this.binary, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    const collect = (chunk: Buffer) => {
      // Keep the tail only: enough to explain a failed start.
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    await waitUntilReady(this.target(), child, () => this.output);
    if (this.options.cluster) await this.claimAllSlots();
  }

  /** Makes this single node a working cluster: owns every slot, then waits for cluster_state:ok. */
  private async claimAllSlots(): Promise<void> {
    const info = () => rawCommand(this.target(), 'CLUSTER INFO', 1000, (text) => text.includes('cluster_known_nodes'));
    if (!(await info()).includes('cluster_state:ok')) {
      // After a restart nodes.conf already holds the slots; ADDSLOTSRANGE then answers an error.
      await rawCommand(this.target(), 'CLUSTER ADDSLOTSRANGE 0 16383');
    }
    const deadline = Date.now() + 10_000;
    while (!(await info()).includes('cluster_state:ok')) {
      if (Date.now() > deadline) throw new Error('one-node cluster did not reach cluster_state:ok');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async shutdown(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    await waitForExit(child);
    this.child = undefined;
  }

  async restart(): Promise<void> {
    await this.shutdown();
    await this.start();
  }

  async crashAndRestart(): Promise<void> {
    const child = this.child;
    if (child) {
      child.kill('SIGKILL');
      await waitForExit(child);
      this.child = undefined;
    }
    await this.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    try {
      const child = this.child;
      if (child) {
        child.kill('SIGKILL');
        await waitForExit(child);
      }
    } finally {
      this.child = undefined;
      this.stopped = true;
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

class ExternalRedisServer implements RedisServer {
  readonly external = true;
  readonly dir = '';
  readonly pid = undefined;
  readonly host: string;
  readonly port: number;

  constructor(readonly url: string) {
    const parsed = new URL(url);
    this.host = parsed.hostname;
    this.port = parsed.port ? Number(parsed.port) : 6379;
  }

  private refuse(what: string): Promise<void> {
    return Promise.reject(new Error(`cannot ${what} an external Redis (REDIS_URL); unset REDIS_URL to let the test start its own redis-server`));
  }
  restart(): Promise<void> {
    return this.refuse('restart');
  }
  crashAndRestart(): Promise<void> {
    return this.refuse('crash');
  }
  shutdown(): Promise<void> {
    return this.refuse('shut down');
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Starts a redis-server on a free loopback port with a fresh temp dir, or returns a handle on
 * REDIS_URL when set. Tests that restart or crash Redis need their own server: pass `{ own: true }`
 * to ignore REDIS_URL for them.
 */
export async function startRedisServer(options: RedisServerOptions & { own?: boolean } = {}): Promise<RedisServer> {
  const externalUrl = process.env.REDIS_URL;
  if (externalUrl && !options.own) return new ExternalRedisServer(externalUrl);
  const binary = findRedisServerBinary();
  if (!binary) throw new Error(REDIS_MISSING_MESSAGE);
  let lastError: unknown;
  // The free port can be taken between the probe and redis-server's bind: retry a few times.
  for (let attempt = 0; attempt < 5; attempt++) {
    const base = options.dataBase && fs.existsSync(options.dataBase) ? options.dataBase : os.tmpdir();
    const dir = fs.mkdtempSync(path.join(base, 'qf-redis-'));
    const server = new LocalRedisServer(binary, await freePort(), dir, options);
    try {
      await server.start();
      return server;
    } catch (err) {
      lastError = err;
      await server.stop();
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

export interface RedisSentinel {
  readonly host: string;
  readonly port: number;
  readonly masterName: string;
  stop(): Promise<void>;
}

/**
 * Starts a Redis Sentinel (redis-server --sentinel) on a free loopback port that monitors
 * `master` under `masterName`, and waits until it answers for that master.
 */
export async function startRedisSentinel(master: RedisServer, masterName = 'qumulo'): Promise<RedisSentinel> {
  const binary = findRedisServerBinary();
  if (!binary) throw new Error(REDIS_MISSING_MESSAGE);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-sentinel-'));
  const port = await freePort();
  const conf = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} ${master.host} ${master.port} 1`,
      `sentinel down-after-milliseconds ${masterName} 5000`,
      '',
    ].join('\n'),
  );
  const child = spawn(binary, [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const stop = async () => {
    child.kill('SIGKILL');
    await waitForExit(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const target: RawTarget = { host: '127.0.0.1', port, tls: false };
    await waitUntilReady(target, child, () => output);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const reply = await rawCommand(target, `SENTINEL get-master-addr-by-name ${masterName}`, 1000, (t) => t.startsWith('*-1') || (t.match(/\r\n/g) ?? []).length >= 5);
      if (reply.includes(String(master.port))) break;
      if (Date.now() > deadline) throw new Error(`sentinel does not know master ${masterName}:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: '127.0.0.1', port, masterName, stop };
}

/** redis-server's version string, e.g. "7.0.15" (null when the binary is missing). */
export function redisServerVersion(): string | null {
  const binary = findRedisServerBinary();
  if (!binary) return null;
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const match = /v=(\S+)/.exec(out);
  return match ? match[1] : null;
}
