// QumuloSimulator: a small Qumulo Core REST + change-notify (SSE) server over a real local
// directory, for tests, benchmarks and demos (`npm run sim`). It implements the subset of
// docs/qumulo-api.md that qumulo-flow uses, with fault switches for the failure paths.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { isNotificationType, type NotificationType } from '../core/event';
import { parseRfc3339, SidecarStore } from './attributes';
import { ApiError, badRequest, notFound, unauthorized } from './errors';
import { FilesApi } from './files-api';
import { parseFlag, parsePositiveInt, readJson, readJsonObject, sendEmpty, sendJson } from './http-util';
import { NotifyHub } from './notify-hub';
import { RootJail } from './paths';
import { recordTree, SnapshotStore } from './snapshots';
import { FsTree, lstatQuiet, ROOT_ID, type Operation } from './tree';

export interface SimulatorOptions {
  /** Real local directory backing the "cluster" (created if missing). */
  root: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** HTTPS when given: PEM text or Buffers (a string without `-----BEGIN` is read as a file path). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Default 'admin' / 'admin'. */
  username?: string;
  password?: string;
  /** Long-lived tokens accepted as-is ('access-v1:...'). */
  accessTokens?: string[];
  /** SSE ': keepalive' cadence, default 15000. */
  keepAliveMs?: number;
  /** Default true: changes made directly in `root` emit notifications. */
  watchDisk?: boolean;
  /** Initial fault settings (see `faults`). */
  latencyMs?: number;
  errorRate?: number;
  tokenTtlMs?: number;
  /** Per-SSE-connection queued events before overflow (slow consumer), default 10000. */
  streamBufferLimit?: number;
}

export interface SimulatorFaults {
  /** Added to every REST response (not to SSE events). */
  latencyMs: number;
  /** 0..1 share of REST requests (not login, not version) answered 503 with a Qumulo error body. */
  errorRate: number;
  /** 0 = never; else session tokens expire N ms after login → 401. */
  tokenTtlMs: number;
  /** true: open SSE streams are destroyed and new connections are reset. */
  offline: boolean;
  /**
   * How a lock PATCH that would shorten a retention is answered (qumulo-api.md §4.1: UNCONFIRMED):
   * 'error-400' (default, invalid_request_error), 'error-403' (fs_read_only_error), or
   * 'unchanged-200' (200 with the longer lock left as it is).
   */
  lockShortenAnswer: 'error-400' | 'error-403' | 'unchanged-200';
  /** true: lock PATCH answers leave out the `lock` field (whether Qumulo includes it is not shown). */
  lockAnswerOmitsLock: boolean;
}

export interface SimulatorStats {
  requests: number;
  logins: number;
  notifications: number;
  streamsOpened: number;
}

const PRIVILEGES = [
  'PRIVILEGE_FILE_FULL_ACCESS',
  'PRIVILEGE_FS_ATTRIBUTES_READ',
  'PRIVILEGE_FS_FILE_LOCK_WRITE',
  'PRIVILEGE_FS_SETTINGS_READ',
  'PRIVILEGE_SNAPSHOT_READ',
  'PRIVILEGE_SNAPSHOT_WRITE',
  'PRIVILEGE_ACCESS_TOKENS_READ',
  'PRIVILEGE_ACCESS_TOKENS_WRITE',
  'PRIVILEGE_TREE_DELETE_WRITE',
];

const DEFAULT_CHANGES_LIMIT = 1000;

function pem(value: string | Buffer): string | Buffer {
  return typeof value === 'string' && !value.includes('-----BEGIN') ? fs.readFileSync(value) : value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const REQUEST_LOG_SIZE = 10_000;

export class QumuloSimulator {
  readonly faults: SimulatorFaults;
  readonly stats: SimulatorStats = { requests: 0, logins: 0, notifications: 0, streamsOpened: 0 };
  /** `METHOD /path` (no query) of the latest REST requests, oldest first (at most REQUEST_LOG_SIZE). */
  readonly requestLog: string[] = [];

  private readonly opts: SimulatorOptions;
  private readonly jail: RootJail;
  private readonly sidecars = new SidecarStore();
  private readonly snapshots = new SnapshotStore();
  private readonly tree: FsTree;
  private readonly hub: NotifyHub;
  private readonly files: FilesApi;
  /** Session token → issue time (epoch ms). */
  private readonly sessions = new Map<string, number>();
  private readonly accessTokens: Set<string>;
  private readonly sockets = new Set<Socket>();
  private server: http.Server | https.Server | null = null;
  private boundPort = 0;
  private isOffline = false;
  private outageTimers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(opts: SimulatorOptions) {
    this.opts = opts;
    this.jail = new RootJail(opts.root);
    this.accessTokens = new Set(opts.accessTokens ?? []);
    this.tree = new FsTree(this.jail, {
      publish: (ops) => ops.forEach((op) => this.publish(op)),
      forget: (id) => this.sidecars.forget(id),
    });
    this.hub = new NotifyHub(() => this.opts.streamBufferLimit ?? 10000);
    this.files = new FilesApi({ jail: this.jail, tree: this.tree, sidecars: this.sidecars, snapshots: this.snapshots, publish: (op) => this.publish(op), faults: () => this.faults });
    const sim = this;
    this.faults = {
      latencyMs: opts.latencyMs ?? 0,
      errorRate: opts.errorRate ?? 0,
      tokenTtlMs: opts.tokenTtlMs ?? 0,
      lockShortenAnswer: 'error-400',
      lockAnswerOmitsLock: false,
      get offline(): boolean {
        return sim.isOffline;
      },
      set offline(value: boolean) {
        sim.setOffline(value);
      },
    };
  }

  get port(): number {
    return this.boundPort;
  }

  /**
   * The QUMULO_* settings that point the cluster config node at this simulator (what `npm start`
   * sets, and what the examples spec sets the same way).
   */
  clusterEnv(): Record<string, string> {
    return {
      QUMULO_HOST: this.opts.host ?? '127.0.0.1',
      QUMULO_PORT: String(this.boundPort),
      QUMULO_PROTOCOL: this.opts.tls ? 'https' : 'http',
      QUMULO_USERNAME: this.opts.username ?? 'admin',
      QUMULO_PASSWORD: this.opts.password ?? 'admin',
      QUMULO_ACCESS_TOKEN: '',
      QUMULO_CA: '',
    };
  }

  get url(): string {
    const host = this.opts.host ?? '127.0.0.1';
    const shownHost = host.includes(':') ? `[${host}]` : host;
    return `${this.opts.tls ? 'https' : 'http'}://${shownHost}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('simulator already started');
    this.tree.start(this.opts.watchDisk ?? true);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void this.handle(req, res);
    };
    const server = this.opts.tls ? https.createServer({ key: pem(this.opts.tls.key), cert: pem(this.opts.tls.cert) }, handler) : http.createServer(handler);
    server.on('connection', (socket: Socket) => {
      if (this.isOffline) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
  }

  /** Closes every connection (streams included), the disk watchers and pending outages. */
  async stop(): Promise<void> {
    this.tree.stop();
    for (const outage of this.outageTimers) {
      clearTimeout(outage.timer);
      outage.resolve();
    }
    this.outageTimers.clear();
    this.hub.dropAll();
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    server.closeAllConnections();
    await closed;
  }

  dropStreams(): number {
    return this.hub.dropAll();
  }

  overflowStreams(): number {
    return this.hub.overflowAll();
  }

  async outage(ms: number): Promise<void> {
    this.setOffline(true);
    await new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.outageTimers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.outageTimers.add(entry);
    });
    this.setOffline(false);
  }

  revokeTokens(): void {
    this.sessions.clear();
  }

  /**
   * Injects a notification for a path (existing or not), delivered like an API change's. Spines
   * of paths that do not exist use stable synthetic ids. Note: a synchronous burst larger than
   * `streamBufferLimit` can overflow a stream whose socket cannot take it all; yield now and then.
   */
  notify(relPath: string, type: NotificationType, opts?: { streamName?: string }): void {
    if (!isNotificationType(type)) throw new Error(`unknown notification type: ${String(type)}`);
    const rel = normalizeRel(relPath);
    this.publish([{ type, rel, spine: this.tree.spineOf(rel), streamName: opts?.streamName ?? null }]);
  }

  /**
   * Creates empty files on disk and reports them at once (`child_file_added`), as the cluster
   * would for a client's create: for load benches that create files at a fixed rate without the
   * disk watcher's settle delay or a REST round trip of their own.
   */
  createFilesNow(relPaths: string[]): void {
    const rels = relPaths.map(normalizeRel);
    const newDirs = new Set<string>();
    for (const rel of rels) {
      const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
      if (parent !== '' && !newDirs.has(parent) && !this.tree.get(parent)) {
        fs.mkdirSync(this.jail.disk(parent), { recursive: true });
        newDirs.add(parent);
      }
      fs.writeFileSync(this.jail.safeDisk(rel), '', { flag: 'wx' });
    }
    for (const op of this.tree.refresh([...newDirs, ...rels])) this.publish(op);
  }

  openStreams(): number {
    return this.hub.size;
  }

  fileIdOf(relPath: string): string {
    const rel = normalizeRel(relPath);
    if (rel === '') return ROOT_ID;
    const known = this.tree.get(rel);
    if (known) return known.id;
    const stat = lstatQuiet(this.jail.disk(rel));
    if (!stat) throw new Error(`no such path in the simulator root: ${relPath}`);
    return stat.ino.toString();
  }

  lockOf(relPath: string): { legal_hold: boolean; retention_period: string | null } {
    return this.sidecars.lockOf(this.fileIdOf(relPath));
  }

  // ---- internals ------------------------------------------------------------------------

  private publish(op: Operation): void {
    this.stats.notifications += op.length;
    this.hub.publish(op);
  }

  private setOffline(value: boolean): void {
    this.isOffline = value;
    if (!value) return;
    this.hub.dropAll();
    for (const socket of this.sockets) socket.destroy();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.stats.requests++;
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    if (this.requestLog.length >= REQUEST_LOG_SIZE) this.requestLog.splice(0, REQUEST_LOG_SIZE / 2);
    this.requestLog.push(`${req.method ?? 'GET'} ${queryAt < 0 ? target : target.slice(0, queryAt)}`);
    if (this.isOffline) {
      req.socket.destroy();
      return;
    }
    try {
      await this.route(req, res);
    } catch (err) {
      if (req.socket.destroyed) return;
      const apiError = err instanceof ApiError ? err : new ApiError(500, 'internal_error', (err as Error).message);
      sendJson(res, apiError.status, apiError.body());
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1));
    const segments = rawPath.split('/').slice(1);
    if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop(); // `entries/` == `entries`
    const method = req.method ?? 'GET';
    const path = segments.join('/');

    const isVersion = path === 'v1/version';
    const isLogin = path === 'v1/session/login';
    if (this.faults.latencyMs > 0) {
      await sleep(this.faults.latencyMs);
      if (this.isOffline || req.socket.destroyed) {
        req.socket.destroy();
        return;
      }
    }
    if (isVersion) {
      allow(method, ['GET']);
      sendJson(res, 200, { revision_id: 'Qumulo Core 7.2.3.1 (qumulo-flow simulator)', build_id: 'simulator', flavor: 'release', build_date: '2025-01-01T00:00:00Z' });
      return;
    }
    if (isLogin) {
      allow(method, ['POST']);
      await this.login(req, res);
      return;
    }
    if (this.faults.errorRate > 0 && Math.random() < this.faults.errorRate) {
      throw new ApiError(503, 'service_unavailable_error', 'injected fault: service temporarily unavailable');
    }
    this.authenticate(req);
    this.tree.flushDisk(); // report pending disk changes before this request's own

    const [version, area, ref, ...rest] = segments;
    const tail = rest.join('/');
    if (version === 'v1' && area === 'session' && ref === 'who-am-i' && tail === '') {
      allow(method, ['GET']);
      sendJson(res, 200, this.whoAmI());
      return;
    }
    if (version === 'v1' && area === 'files' && ref !== undefined && ref !== '') {
      if (ref === 'resolve' && tail === '') {
        allow(method, ['POST']);
        await this.files.resolve(req, res);
        return;
      }
      switch (`${method} ${tail}`) {
        case 'GET info/attributes': return this.files.getAttributes(ref, query, res);
        case 'PATCH info/attributes': return this.files.patchAttributes(ref, req, res);
        case 'GET entries': return this.files.listEntries(ref, query, res);
        case 'GET aggregates': return this.files.aggregates(ref, res);
        case 'POST entries': return this.files.createEntry(ref, req, res);
        case 'PUT data': return this.files.putData(ref, req, res);
        case 'GET data': return this.files.getData(ref, res);
        case 'DELETE ': return this.files.delete(ref, res);
        case 'GET file-lock': return this.files.getLock(ref, res);
        case 'PATCH file-lock': return this.files.patchLock(ref, req, res);
        case 'GET notify': return this.openNotify(ref, query, req, res);
      }
      if (['info/attributes', 'entries', 'aggregates', 'data', '', 'file-lock', 'notify'].includes(tail)) throw methodNotAllowed(method);
    }
    if (version === 'v3' && area === 'snapshots') {
      if (ref === undefined || ref === '') {
        allow(method, ['GET', 'POST']);
        if (method === 'POST') await this.createSnapshot(req, res);
        else sendJson(res, 200, { entries: this.snapshots.list() });
        return;
      }
      if (tail === '') {
        allow(method, ['GET', 'DELETE']);
        const id = snapshotId(ref);
        if (method === 'DELETE') {
          if (!this.snapshots.delete(id)) throw notFound(`snapshot ${id}`);
          sendEmpty(res, 200);
          return;
        }
        const snapshot = this.snapshots.get(id);
        if (!snapshot) throw notFound(`snapshot ${id}`);
        sendJson(res, 200, snapshot);
        return;
      }
    }
    if (version === 'v2' && area === 'snapshots' && ref !== undefined && rest.length === 2 && rest[0] === 'changes-since') {
      allow(method, ['GET']);
      this.changesSince(ref, rest[1], query, res);
      return;
    }
    throw new ApiError(404, 'http_not_found_error', `no such endpoint: ${method} ${rawPath}`);
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = readJsonObject(await readJson(req));
    const username = this.opts.username ?? 'admin';
    const password = this.opts.password ?? 'admin';
    if (body.username !== username || body.password !== password) throw unauthorized();
    const token = `session-v1:${crypto.randomBytes(24).toString('base64url')}`;
    this.sessions.set(token, Date.now());
    this.stats.logins++;
    sendJson(res, 200, { bearer_token: token });
  }

  private authenticate(req: http.IncomingMessage): void {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match) throw unauthorized();
    const token = match[1];
    if (this.accessTokens.has(token)) return;
    const issuedAt = this.sessions.get(token);
    if (issuedAt === undefined) throw unauthorized();
    const ttl = this.faults.tokenTtlMs;
    if (ttl > 0 && Date.now() - issuedAt >= ttl) throw unauthorized();
  }

  private whoAmI(): Record<string, unknown> {
    return {
      id: '500',
      name: this.opts.username ?? 'admin',
      primary_group: '513',
      sid: 'S-1-5-21-1000000000-1000000000-1000000000-500',
      uid: '',
      home_directory: null,
      can_change_password: true,
      privileges: PRIVILEGES,
    };
  }

  private openNotify(rawRef: string, query: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): void {
    const at = this.files.locate(rawRef);
    if (!at.isDir) throw new ApiError(400, 'fs_not_a_directory_error', 'change notify needs a directory');
    const recursive = parseFlag(query.get('recursive'), 'recursive', false);
    let filter: Set<string> | null = null;
    const filterText = query.get('filter');
    if (filterText !== null && filterText !== '') {
      filter = new Set(filterText.split(',').map((type) => type.trim()).filter((type) => type.length > 0));
      for (const type of filter) if (!isNotificationType(type)) throw badRequest(`unknown notification type in filter: ${type}`);
    }
    req.socket.setTimeout(0);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    this.stats.streamsOpened++;
    this.hub.subscribe(res, at.id, recursive, filter, this.opts.keepAliveMs ?? 15000);
  }

  private async createSnapshot(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = readJsonObject((await readJson(req)) ?? {});
    const sourceId = body.source_file_id === undefined ? ROOT_ID : String(body.source_file_id);
    if (!/^\d+$/.test(sourceId)) throw badRequest('source_file_id must be a file id');
    const source = this.files.locate(sourceId);
    if (!source.isDir) throw badRequest('source_file_id must be a directory');
    if (body.name_suffix !== undefined && typeof body.name_suffix !== 'string') throw badRequest('name_suffix must be a string');
    let expiration: string | null = null;
    let expiresNs: bigint | null = null;
    if (body.expiration !== undefined && body.expiration !== null && body.expiration !== '') {
      expiresNs = parseRfc3339(body.expiration);
      if (expiresNs === null) throw badRequest('expiration must be an RFC 3339 timestamp');
      expiration = body.expiration as string;
    }
    const entries = recordTree(this.jail, source.rel, (id) => (this.sidecars.get(id)?.lock ? this.sidecars.lockOf(id) : null));
    sendJson(res, 200, this.snapshots.create(sourceId, body.name_suffix as string | undefined, expiration, expiresNs, entries));
  }

  private changesSince(newerRef: string, olderRef: string, query: URLSearchParams, res: http.ServerResponse): void {
    const newer = snapshotId(newerRef);
    const older = snapshotId(olderRef);
    const changes = this.snapshots.changesSince(newer, older);
    if (changes === 'missing') throw notFound(`snapshot ${newer} or ${older}`);
    if (changes === 'mismatch') throw badRequest('snapshots must share a source and the newer id must be greater than the older');
    const limit = parsePositiveInt(query.get('limit'), 'limit', DEFAULT_CHANGES_LIMIT);
    const afterText = query.get('after');
    const start = afterText === null || afterText === '' ? 0 : parsePositiveInt(afterText, 'after', 0);
    const end = Math.min(start + limit, changes.length);
    const next = end < changes.length ? `/v2/snapshots/${newer}/changes-since/${older}?after=${end}&limit=${limit}` : null;
    sendJson(res, 200, { entries: changes.slice(start, end), paging: { next } });
  }
}

function normalizeRel(relPath: string): string {
  return relPath.split('/').filter((part) => part.length > 0).join('/');
}

function snapshotId(text: string): number {
  if (!/^\d+$/.test(text)) throw badRequest(`not a snapshot id: ${text}`);
  return Number(text);
}

function methodNotAllowed(method: string): ApiError {
  return new ApiError(405, 'http_method_not_allowed_error', `method ${method} not allowed here`);
}

function allow(method: string, methods: string[]): void {
  if (!methods.includes(method)) throw methodNotAllowed(method);
}
