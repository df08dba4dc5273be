// The Qumulo REST client every qumulo-flow node uses (docs/qumulo-api.md). One instance per cluster
// connection: keep-alive connections through one undici Agent (which also carries the TLS
// settings), a per-cluster concurrency limit, login → bearer token with a single-flight re-login
// on 401, retries with backoff for reads and transient failures, typed errors.
//
// Every mutation announces a MutationIntent to the mutation listeners and awaits them BEFORE the
// request is sent: the loop guard's ledger relies on this being the single choke point.

import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import type { NotificationType } from '../event';
import {
  QumuloApiError,
  QumuloAuthError,
  QumuloError,
  isAlreadyExists,
  isNotFound,
  isTransient,
  toTransportError,
} from './errors';
import { ConcurrencyLimiter } from './limiter';
import { type FileRef, checkEntryName, encodeRef, isFileId, joinPath, normalizeAbsolutePath } from './refs';
import { observeRest } from '../metrics';
import {
  EXPECTED_ECHOES,
  type AttributesPatch,
  type DirectoryPage,
  type FileAttributes,
  type FileLockPatch,
  type MutationIntent,
  type MutationKind,
  type MutationListener,
  type Snapshot,
  type SnapshotChangesPage,
  type WhoAmI,
  type WireError,
} from './types';

export interface QumuloClientOptions {
  host: string;
  /** REST port, 8000 on a real cluster. */
  port?: number;
  protocol?: 'https' | 'http';
  username?: string;
  password?: string;
  /** Long-lived access token (`access-v1:…`); used instead of username/password when set. */
  accessToken?: string;
  /** PEM text of the CA (or CAs) that signed the cluster certificate. */
  ca?: string | string[];
  /** Verify the cluster certificate (default true). false = accept any certificate: testing only. */
  rejectUnauthorized?: boolean;
  /** Requests in flight at once against this cluster (default 8). SSE streams do not count. */
  maxConcurrency?: number;
  /** Per-attempt timeout of a REST request (default 30 s). */
  requestTimeoutMs?: number;
  /** Extra attempts for retryable calls (default 3). */
  retries?: number;
  /** First backoff delay; doubles per attempt with full jitter (default 200 ms, cap 5 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** Per-call options of the public methods. */
export interface CallOptions {
  /** Retry on transient failures (5xx, 429, timeouts, connection errors). Default: reads yes, mutations no. */
  retry?: boolean;
  /** Named in the error message when the cluster answers 403, e.g. `PRIVILEGE_FS_FILE_LOCK_WRITE`. */
  privilegeHint?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Options of mutation calls: also what the loop guard's intent should carry. */
export interface MutationOptions extends CallOptions {
  /** Correlation for the ledger, e.g. the node or rule that asked for the change. */
  origin?: string;
  /** File ids the caller already knows (e.g. from the event's spine), added to the intent. */
  fileIds?: string[];
  /** Extra absolute paths for the intent. */
  paths?: string[];
}

export interface ClientStats {
  requests: number;
  logins: number;
  retries: number;
  reauthentications: number;
}

interface RequestSpec extends CallOptions {
  query?: Record<string, string | number | boolean | undefined | null>;
  json?: unknown;
  raw?: Buffer;
  /** Send the bearer token (default true). */
  auth?: boolean;
  /** Do not take a concurrency slot (login: a request waiting for a token must not block it). */
  bypassLimiter?: boolean;
}

type HeadersLike = Record<string, string> | Array<[string, string]> | { forEach(cb: (value: string, key: string) => void): void } | undefined;

/** What eventsource v4 passes to its `fetch` option. */
export interface FetchInit {
  headers?: HeadersLike;
  signal?: AbortSignal | null;
  method?: string;
  [key: string]: unknown;
}

const DEFAULT_PORT = 8000;
const LOCK_PRIVILEGE_HINT = 'PRIVILEGE_FS_FILE_LOCK_WRITE plus Write-ACL permission on the file';
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;

export class QumuloClient {
  readonly host: string;
  readonly port: number;
  readonly protocol: 'https' | 'http';
  readonly origin: string;
  readonly stats: ClientStats = { requests: 0, logins: 0, retries: 0, reauthentications: 0 };
  readonly limiter: ConcurrencyLimiter;

  private readonly username: string | undefined;
  private readonly password: string | undefined;
  private readonly accessToken: string | undefined;
  private readonly agent: Agent;
  private readonly requestTimeoutMs: number;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly listeners = new Set<MutationListener>();
  private token: string | null = null;
  private loginInFlight: Promise<string> | null = null;
  private closed = false;

  constructor(options: QumuloClientOptions) {
    if (!options.host) throw new QumuloError('QumuloClient: host is required');
    this.host = options.host;
    this.port = options.port ?? DEFAULT_PORT;
    this.protocol = options.protocol ?? 'https';
    const hostPart = this.host.includes(':') && !this.host.startsWith('[') ? `[${this.host}]` : this.host;
    this.origin = `${this.protocol}://${hostPart}:${this.port}`;
    this.username = options.username || undefined;
    this.password = options.password;
    this.accessToken = options.accessToken || undefined;
    if (!this.accessToken && !this.username) {
      throw new QumuloError('QumuloClient: give either username/password or an access token');
    }
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = options.retries ?? DEFAULT_RETRIES;
    this.retryBaseMs = options.retryBaseMs ?? 200;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
    this.limiter = new ConcurrencyLimiter(options.maxConcurrency ?? DEFAULT_CONCURRENCY);
    this.agent = new Agent({
      keepAliveTimeout: 10_000,
      // Timeouts are enforced per request with an AbortSignal; SSE streams must be allowed to idle.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: {
        rejectUnauthorized: options.rejectUnauthorized !== false,
        ...(options.ca ? { ca: options.ca } : {}),
      },
    });
  }

  /** Whether the client renews its token by logging in (false with an access token). */
  get canLogin(): boolean {
    return !this.accessToken && !!this.username;
  }

  get authenticatedAs(): string {
    return this.username ?? '(access token)';
  }

  // ----- authentication -------------------------------------------------------------------

  /** The current bearer token, logging in first when needed (single-flight). */
  async getToken(): Promise<string> {
    return this.tokenAtHand() ?? this.login();
  }

  /** The access token or the session's token when there is one, without logging in. */
  private tokenAtHand(): string | undefined {
    return this.accessToken || this.token || undefined;
  }

  /** Logs in now. Concurrent callers share one login request. */
  login(): Promise<string> {
    if (this.accessToken) return Promise.resolve(this.accessToken);
    if (!this.loginInFlight) {
      this.loginInFlight = this.doLogin().finally(() => {
        this.loginInFlight = null;
      });
    }
    return this.loginInFlight;
  }

  /** Drops `token` if it is still the current one, so the next call logs in again. */
  invalidateToken(token: string): void {
    if (this.token === token) {
      this.token = null;
      this.stats.reauthentications++;
    }
  }

  private async doLogin(): Promise<string> {
    const result = await this.request<{ bearer_token?: string }>('POST', '/v1/session/login', {
      json: { username: this.username, password: this.password ?? '' },
      auth: false,
      retry: true,
      bypassLimiter: true,
    });
    if (!result || typeof result.bearer_token !== 'string') {
      throw new QumuloError(`Login as ${this.username} returned no bearer_token`);
    }
    this.stats.logins++;
    this.token = result.bearer_token;
    return this.token;
  }

  // ----- mutation listeners --------------------------------------------------------------

  /** Registers a listener called (and awaited) before every mutation is sent. Returns an unsubscribe. */
  addMutationListener(listener: MutationListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Tells the mutation listeners (the loop guard's ledger) what is about to change; a promise only
   * when a listener returned one, so a mutation on a client nobody listens to costs no intent and
   * no extra await (--cpu-prof, bench:actions).
   */
  private announce(kind: MutationKind, paths: string[], fileIds: string[], opts: MutationOptions | undefined): Promise<unknown> | undefined {
    if (this.listeners.size === 0) return undefined;
    const intent: MutationIntent = {
      kind,
      paths: unique([...paths, ...(opts?.paths ?? []).map(normalizeAbsolutePath)]),
      fileIds: unique([...fileIds, ...(opts?.fileIds ?? [])].map(String)),
      expectedTypes: [...EXPECTED_ECHOES[kind]] as NotificationType[],
      ...(opts?.origin ? { origin: opts.origin } : {}),
    };
    let pending: Array<void | Promise<void>> | null = null;
    for (const listener of this.listeners) {
      const answer = listener(intent);
      if (answer && typeof (answer as Promise<void>).then === 'function') (pending ??= []).push(answer);
    }
    return pending ? Promise.all(pending) : undefined;
  }

  // ----- reads -----------------------------------------------------------------------------

  /** `GET /v1/version` (no authentication needed). */
  async version(opts?: CallOptions): Promise<Record<string, unknown>> {
    return this.request('GET', '/v1/version', { ...opts, auth: false });
  }

  async whoAmI(opts?: CallOptions): Promise<WhoAmI> {
    return this.request('GET', '/v1/session/who-am-i', opts);
  }

  async getAttributes(ref: FileRef, opts?: CallOptions & { retrieveLock?: boolean; snapshot?: string | number }): Promise<FileAttributes> {
    return this.request('GET', `/v1/files/${encodeRef(ref)}/info/attributes`, {
      privilegeHint: opts?.retrieveLock ? 'READ_ACL permission on the file (to read its lock)' : undefined,
      ...opts,
      query: {
        'retrieve-file-lock': opts?.retrieveLock ? 'true' : undefined,
        snapshot: opts?.snapshot,
      },
    });
  }

  /** Path → file id. */
  async resolvePath(path: string, opts?: CallOptions): Promise<string> {
    const attrs = await this.getAttributes(normalizeAbsolutePath(path), opts);
    return String(attrs.id);
  }

  /** Bulk id → canonical path (`POST /v1/files/resolve`; read-only, so retried like a read). */
  async resolveIds(ids: string[], opts?: CallOptions): Promise<Array<{ id: string; path: string }>> {
    if (ids.length === 0) return [];
    for (const id of ids) if (!isFileId(String(id))) throw new QumuloError(`Not a file id: ${JSON.stringify(id)}`);
    const result = await this.request<Array<{ id: string; path: string }>>('POST', '/v1/files/resolve', {
      retry: true,
      ...opts,
      json: ids.map(String),
    });
    return Array.isArray(result) ? result : [];
  }

  /** Directory listing, one page per iteration, following `paging.next` until it is empty. */
  async *listEntries(ref: FileRef, opts?: CallOptions & { limit?: number; snapshot?: string | number }): AsyncGenerator<DirectoryPage> {
    let next: string | null = `/v1/files/${encodeRef(ref)}/entries/` + queryString({ limit: opts?.limit, snapshot: opts?.snapshot });
    while (next) {
      const page: DirectoryPage = await this.request<DirectoryPage>('GET', next, opts);
      yield page;
      next = pagingNext(page?.paging?.next);
    }
  }

  /**
   * `GET /v1/files/{ref}/aggregates/`: totals below a directory (file and directory counts, sizes),
   * kept up to date by the cluster, so one cheap call. Field names UNCONFIRMED (core/heal/progress.ts).
   */
  async aggregates(ref: FileRef, opts?: CallOptions): Promise<Record<string, unknown>> {
    return this.request<Record<string, unknown>>('GET', `/v1/files/${encodeRef(ref)}/aggregates/`, opts);
  }

  // ----- mutations -------------------------------------------------------------------------

  /** `PATCH /v1/files/{ref}/file-lock`: send only the fields being changed (§4.1). */
  async setFileLock(ref: FileRef, patch: FileLockPatch, opts?: MutationOptions): Promise<FileAttributes> {
    if (this.listeners.size > 0) {
      const target = describeRef(ref);
      await this.announce('lock', target.paths, target.fileIds, opts);
    }
    return this.request('PATCH', `/v1/files/${encodeRef(ref)}/file-lock`, {
      privilegeHint: opts?.privilegeHint ?? LOCK_PRIVILEGE_HINT,
      retry: opts?.retry,
      signal: opts?.signal,
      timeoutMs: opts?.timeoutMs,
      json: patch,
    });
  }

  /** Rename/move: `POST /v1/files/{destDir}/entries/` with `action: RENAME` (§5). */
  async rename(sourcePath: string, destDirPath: string, newName: string, opts?: MutationOptions & { clobber?: boolean }): Promise<FileAttributes> {
    const source = normalizeAbsolutePath(sourcePath);
    const destDir = normalizeAbsolutePath(destDirPath);
    const dest = joinPath(destDir, checkEntryName(newName));
    await this.announce('rename', [source, dest], [], opts);
    return this.request('POST', `/v1/files/${encodeRef(destDir)}/entries/`, {
      ...opts,
      json: { action: 'RENAME', name: newName, old_path: source, clobber: opts?.clobber === true },
    });
  }

  async mkdir(parentPath: string, name: string, opts?: MutationOptions): Promise<FileAttributes> {
    const parent = normalizeAbsolutePath(parentPath);
    await this.announce('mkdir', [joinPath(parent, checkEntryName(name))], [], opts);
    return this.request('POST', `/v1/files/${encodeRef(parent)}/entries/`, {
      ...opts,
      json: { action: 'CREATE_DIRECTORY', name },
    });
  }

  /** Creates `path` and any missing ancestors; an existing directory is fine. Returns its attributes. */
  async mkdirs(path: string, opts?: MutationOptions): Promise<FileAttributes> {
    const target = normalizeAbsolutePath(path);
    const parts = target.split('/').filter(Boolean);
    // Find the deepest existing ancestor first, so only really missing directories are announced.
    let existing = parts.length;
    let attrs: FileAttributes | null = null;
    while (existing >= 0) {
      try {
        attrs = await this.getAttributes('/' + parts.slice(0, existing).join('/'), opts);
        break;
      } catch (err) {
        if (!isNotFound(err) || existing === 0) throw err;
        existing--;
      }
    }
    for (let i = existing; i < parts.length; i++) {
      const parent = '/' + parts.slice(0, i).join('/');
      try {
        attrs = await this.mkdir(parent, parts[i], opts);
      } catch (err) {
        // Someone else created it in between: fine.
        if (!isAlreadyExists(err)) throw err;
        attrs = await this.getAttributes(joinPath(parent, parts[i]), opts);
      }
    }
    return attrs as FileAttributes;
  }

  async createFile(parentPath: string, name: string, opts?: MutationOptions): Promise<FileAttributes> {
    const parent = normalizeAbsolutePath(parentPath);
    await this.announce('create-file', [joinPath(parent, checkEntryName(name))], [], opts);
    return this.request('POST', `/v1/files/${encodeRef(parent)}/entries/`, {
      ...opts,
      json: { action: 'CREATE_FILE', name },
    });
  }

  /** Replaces the file's data (`PUT /v1/files/{ref}/data`). */
  async writeData(ref: FileRef, data: Buffer, opts?: MutationOptions): Promise<FileAttributes | undefined> {
    const target = describeRef(ref);
    await this.announce('write-data', target.paths, target.fileIds, opts);
    return this.request('PUT', `/v1/files/${encodeRef(ref)}/data`, { ...opts, raw: data });
  }

  /** Deletes a file or an empty directory. */
  async deleteFile(ref: FileRef, opts?: MutationOptions): Promise<void> {
    const target = describeRef(ref);
    await this.announce('delete', target.paths, target.fileIds, opts);
    await this.request('DELETE', `/v1/files/${encodeRef(ref)}`, opts);
  }

  /** chmod / chown / times: `PATCH /v1/files/{ref}/info/attributes` (§6). */
  async setAttributes(ref: FileRef, patch: AttributesPatch, opts?: MutationOptions): Promise<FileAttributes> {
    const target = describeRef(ref);
    await this.announce('set-attributes', target.paths, target.fileIds, opts);
    return this.request('PATCH', `/v1/files/${encodeRef(ref)}/info/attributes`, { ...opts, json: patch });
  }

  // ----- snapshots (§9) ------------------------------------------------------------------

  async createSnapshot(
    spec: { sourceFileId: string; nameSuffix?: string; expiration?: string | null },
    opts?: MutationOptions,
  ): Promise<Snapshot> {
    await this.announce('snapshot', [], [String(spec.sourceFileId)], opts);
    return this.request('POST', '/v3/snapshots/', {
      privilegeHint: 'PRIVILEGE_SNAPSHOT_WRITE',
      ...opts,
      json: {
        source_file_id: String(spec.sourceFileId),
        ...(spec.nameSuffix ? { name_suffix: spec.nameSuffix } : {}),
        expiration: spec.expiration ?? null,
      },
    });
  }

  async getSnapshot(id: number | string, opts?: CallOptions): Promise<Snapshot> {
    return this.request('GET', `/v3/snapshots/${snapshotId(id)}`, { privilegeHint: 'PRIVILEGE_SNAPSHOT_READ', ...opts });
  }

  /** All snapshots; accepts a bare array or an `{entries: [...]}` page (shape UNCONFIRMED). */
  async listSnapshots(opts?: CallOptions): Promise<Snapshot[]> {
    const result = await this.request<unknown>('GET', '/v3/snapshots/', { privilegeHint: 'PRIVILEGE_SNAPSHOT_READ', ...opts });
    if (Array.isArray(result)) return result as Snapshot[];
    const entries = (result as { entries?: unknown })?.entries;
    return Array.isArray(entries) ? (entries as Snapshot[]) : [];
  }

  async deleteSnapshot(id: number | string, opts?: CallOptions): Promise<void> {
    await this.request('DELETE', `/v3/snapshots/${snapshotId(id)}`, { privilegeHint: 'PRIVILEGE_SNAPSHOT_WRITE', ...opts });
  }

  /** `GET /v2/snapshots/{newer}/changes-since/{older}`, one page per iteration. */
  async *snapshotChanges(newer: number | string, older: number | string, opts?: CallOptions & { limit?: number }): AsyncGenerator<SnapshotChangesPage> {
    let next: string | null = `/v2/snapshots/${snapshotId(newer)}/changes-since/${snapshotId(older)}` + queryString({ limit: opts?.limit });
    while (next) {
      const page: SnapshotChangesPage = await this.request<SnapshotChangesPage>('GET', next, { privilegeHint: 'PRIVILEGE_SNAPSHOT_READ', ...opts });
      yield page;
      next = pagingNext(page?.paging?.next);
    }
  }

  // ----- change notify ---------------------------------------------------------------------

  /** Absolute URL of the change-notify SSE stream (§3.1). */
  notifyUrl(ref: FileRef, opts?: { recursive?: boolean; filter?: readonly string[] | null }): string {
    const query: Record<string, string> = { recursive: opts?.recursive === false ? 'false' : 'true' };
    if (opts?.filter && opts.filter.length > 0) query.filter = opts.filter.join(',');
    return `${this.origin}/v1/files/${encodeRef(ref)}/notify` + queryString(query);
  }

  /**
   * A `fetch` for eventsource's `fetch` option: adds `Authorization` (logging in when needed),
   * keeps `init.headers`, goes through this client's Agent (TLS settings, keep-alive). A 401
   * answer invalidates the token it carried so the next call logs in again.
   */
  readonly authorizedFetch = async (input: string | URL, init?: FetchInit): Promise<Response> => {
    this.assertOpen();
    const token = await this.getToken();
    const headers: Record<string, string> = { ...plainHeaders(init?.headers), Authorization: `Bearer ${token}` };
    let response: Response;
    try {
      response = (await undiciFetch(input, { ...(init as object), headers, dispatcher: this.agent } as Parameters<typeof undiciFetch>[1])) as unknown as Response;
    } catch (err) {
      if (init?.signal?.aborted) throw err;
      throw toTransportError(err, this.origin);
    }
    if (response.status === 401) this.invalidateToken(token);
    return response;
  };

  // ----- lifecycle ---------------------------------------------------------------------------

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes every connection (open SSE streams included). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.agent.destroy().catch(() => undefined);
  }

  private assertOpen(): void {
    if (this.closed) throw new QumuloError(`Client for ${this.origin} is closed`);
  }

  // ----- transport ---------------------------------------------------------------------------

  /** Sends a request with auth, concurrency limit, 401 re-login and retries; parses JSON. */
  async request<T>(method: string, pathAndQuery: string, spec: RequestSpec = {}): Promise<T> {
    this.assertOpen();
    const path = pathAndQuery + (spec.query ? queryString(spec.query, pathAndQuery.includes('?')) : '');
    const useAuth = spec.auth !== false;
    const retryable = spec.retry ?? (method === 'GET' || method === 'HEAD');
    let attempt = 0;
    let reauthenticated = false;
    for (;;) {
      let token: string | undefined;
      let result: { status: number; text: string };
      try {
        // The limiter slot and the token without a closure or an await when both are at hand
        // (this runs once per REST request: --cpu-prof, bench:actions).
        const slot = spec.bypassLimiter ? undefined : this.limiter.acquire();
        if (slot) await slot;
        try {
          token = useAuth ? (this.tokenAtHand() ?? (await this.login())) : undefined;
          result = await this.sendOnce(method, path, spec, token);
        } finally {
          if (!spec.bypassLimiter) this.limiter.release();
        }
      } catch (err) {
        if (spec.signal?.aborted) throw spec.signal.reason ?? err;
        const typed = toTransportError(err, this.origin, spec.timeoutMs ?? this.requestTimeoutMs);
        if (retryable && isTransient(typed) && attempt < this.retries) {
          attempt++;
          await this.backoff(attempt, spec.signal);
          continue;
        }
        throw typed;
      }
      if (result.status >= 200 && result.status < 300) {
        return (result.text.length > 0 ? safeJson(result.text) : undefined) as T;
      }
      const body = parseErrorBody(result.text);
      const init = { status: result.status, method, path: stripQuery(path), body, text: result.text, privilegeHint: spec.privilegeHint };
      if (result.status === 401 && useAuth) {
        if (this.canLogin && !reauthenticated && token) {
          // Expired or revoked session token: log in once (shared with concurrent callers), retry once.
          reauthenticated = true;
          this.invalidateToken(token);
          continue;
        }
        throw new QumuloAuthError({
          ...init,
          body: body ?? {
            error_class: 'http_unauthorized_error',
            description: this.canLogin ? 'token rejected again after a fresh login' : 'access token rejected (expired, disabled or deleted?)',
          },
        });
      }
      if (result.status === 401 && path.startsWith('/v1/session/login')) {
        throw new QumuloAuthError({ ...init, body: body ?? { error_class: 'http_unauthorized_error', description: `login as ${this.username} refused` } });
      }
      const error = new QumuloApiError(init);
      if (retryable && isTransient(error) && attempt < this.retries) {
        attempt++;
        await this.backoff(attempt, spec.signal);
        continue;
      }
      throw error;
    }
  }

  private async sendOnce(method: string, path: string, spec: RequestSpec, token: string | undefined): Promise<{ status: number; text: string }> {
    this.stats.requests++;
    let headers: Record<string, string>;
    let body: string | Buffer | undefined;
    if (spec.raw) {
      headers = token ? { Accept: 'application/json', Authorization: 'Bearer ' + token } : { Accept: 'application/json' };
      headers['Content-Type'] = 'application/octet-stream';
      body = spec.raw;
    } else {
      // The common headers are built once per token, not per request (undici only reads them).
      const json = spec.json !== undefined;
      headers = this.headersFor(token, json);
      if (json) body = JSON.stringify(spec.json);
    }
    // The per-attempt timeout is undici's own headers/body timeout (its cheap shared timer wheel),
    // not a setTimeout + AbortController per request, and the answer is collected by a plain
    // dispatch handler instead of undici's request() with a Readable body stream: at thousands
    // of requests per second all of those showed up in --cpu-prof (bench:actions).
    const timeoutMs = spec.timeoutMs ?? this.requestTimeoutMs;
    // undici's timer wheel ticks about every 0.5 s: short timeouts get a timer of their own.
    const precise = timeoutMs < PRECISE_TIMEOUT_BELOW_MS;
    const options: Dispatcher.DispatchOptions = precise
      ? { origin: this.origin, path, method: method as 'GET', headers, body }
      : { origin: this.origin, path, method: method as 'GET', headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
    const started = performance.now();
    let answered: number | null = null;
    try {
      const answer = await dispatchText(this.agent, options, spec.signal, precise ? timeoutMs : 0);
      answered = answer.status;
      return answer;
    } finally {
      observeRest(method, path, answered, (performance.now() - started) / 1000);
    }
  }

  private headersToken: string | undefined = undefined;
  private readonly plainHeaders: Record<string, string> = Object.freeze({ Accept: 'application/json' }) as Record<string, string>;
  private readonly plainJsonHeaders: Record<string, string> = Object.freeze({ Accept: 'application/json', 'Content-Type': 'application/json' }) as Record<string, string>;
  private tokenHeaders: Record<string, string> = this.plainHeaders;
  private tokenJsonHeaders: Record<string, string> = this.plainJsonHeaders;

  /** Frozen, shared header objects for the current token (rebuilt when the token changes). */
  private headersFor(token: string | undefined, json: boolean): Record<string, string> {
    if (!token) return json ? this.plainJsonHeaders : this.plainHeaders;
    if (token !== this.headersToken) {
      // Flattened once here instead of undici flattening 'Bearer ' + token on every request.
      const authorization = Buffer.from('Bearer ' + token, 'utf8').toString('utf8');
      this.tokenHeaders = Object.freeze({ Accept: 'application/json', Authorization: authorization }) as Record<string, string>;
      this.tokenJsonHeaders = Object.freeze({ Accept: 'application/json', Authorization: authorization, 'Content-Type': 'application/json' }) as Record<string, string>;
      this.headersToken = token;
    }
    return json ? this.tokenJsonHeaders : this.tokenHeaders;
  }

  private backoff(attempt: number, signal?: AbortSignal): Promise<void> {
    this.stats.retries++;
    const ceiling = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempt - 1));
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    return sleep(delay, signal);
  }
}

// ----- helpers -----------------------------------------------------------------------------------

/** Largest REST answer read (a cluster controls the size; directory pages are far smaller). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Request timeouts shorter than this use a timer of their own instead of undici's coarse one. */
const PRECISE_TIMEOUT_BELOW_MS = 5_000;

/**
 * Aborts for the requests in flight per caller signal: ONE 'abort' listener per signal (the action
 * nodes share one signal across all their requests), not an addEventListener/removeEventListener
 * pair per request, which showed in --cpu-prof (bench:actions).
 */
const abortsBySignal = new WeakMap<AbortSignal, Set<TextAnswer>>();

function watchSignal(signal: AbortSignal, answer: TextAnswer): void {
  let answers = abortsBySignal.get(signal);
  if (!answers) {
    const set = new Set<TextAnswer>();
    answers = set;
    abortsBySignal.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        abortsBySignal.delete(signal);
        for (const pending of set) pending.abort(signal.reason);
        set.clear();
      },
      { once: true },
    );
  }
  answers.add(answer);
}

/**
 * undici dispatch handler (its plain callback interface) that collects the status and the body as
 * text, with the byte limit; one object per request instead of a set of closures.
 */
class TextAnswer {
  private status = 0;
  private size = 0;
  private readonly chunks: Buffer[] = [];
  private abortRequest: ((reason?: Error) => void) | null = null;
  private pendingAbort: Error | null = null;
  private settled = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly resolve: (value: { status: number; text: string }) => void,
    private readonly reject: (reason: unknown) => void,
    private readonly signal: AbortSignal | undefined,
  ) {}

  startTimer(ms: number): void {
    this.timer = setTimeout(() => this.abort(new DOMException(`request timed out after ${ms} ms`, 'TimeoutError')), ms);
  }

  /** Caller's signal or own timer: abort now, or as soon as undici hands over its abort. */
  abort(reason: unknown): void {
    if (this.settled) return;
    if (this.abortRequest) this.abortRequest(reason as Error);
    else this.pendingAbort = reason as Error;
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.abortRequest = abort;
    if (this.pendingAbort) abort(this.pendingAbort);
  }

  onHeaders(statusCode: number): boolean {
    if (statusCode >= 200) this.status = statusCode; // 1xx: informational, the real answer follows
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > MAX_RESPONSE_BYTES) {
      this.abortRequest?.(new QumuloError(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    const chunks = this.chunks;
    const text = chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.finish(null, { status: this.status, text });
  }

  onError(err: Error): void {
    this.finish(err);
  }

  private finish(err: unknown, value?: { status: number; text: string }): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.signal) abortsBySignal.get(this.signal)?.delete(this);
    if (err) this.reject(err);
    else this.resolve(value!);
  }
}

/**
 * One request through undici's dispatcher with a minimal handler: status and the body as text.
 * The caller's signal aborts it; `ownTimeoutMs` > 0 adds a timer of its own.
 */
function dispatchText(agent: Agent, options: Dispatcher.DispatchOptions, signal: AbortSignal | undefined, ownTimeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const answer = new TextAnswer(resolve, reject, signal);
    if (signal) watchSignal(signal, answer);
    if (ownTimeoutMs > 0) answer.startTimer(ownTimeoutMs);
    agent.dispatch(options, answer as unknown as Dispatcher.DispatchHandler);
  });
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function describeRef(ref: FileRef): { paths: string[]; fileIds: string[] } {
  const text = String(ref);
  return isFileId(text) ? { paths: [], fileIds: [text] } : { paths: [normalizeAbsolutePath(text)], fileIds: [] };
}

function snapshotId(id: number | string): string {
  const text = String(id);
  if (!/^\d+$/.test(text)) throw new QumuloError(`Not a snapshot id: ${JSON.stringify(id)}`);
  return text;
}

function queryString(query: Record<string, string | number | boolean | undefined | null>, append = false): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  }
  if (parts.length === 0) return '';
  return (append ? '&' : '?') + parts.join('&');
}

/** `paging.next` is a URI relative to the API root, possibly absolute; `''`/null ends paging. */
function pagingNext(next: unknown): string | null {
  if (typeof next !== 'string' || next.length === 0) return null;
  if (/^https?:\/\//i.test(next)) {
    const url = new URL(next);
    return url.pathname + url.search;
  }
  return next.startsWith('/') ? next : '/' + next;
}

function stripQuery(path: string): string {
  const idx = path.indexOf('?');
  return idx === -1 ? path : path.slice(0, idx);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function parseErrorBody(text: string): WireError | null {
  if (!text) return null;
  try {
    const parsed = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as WireError) : null;
  } catch {
    return null;
  }
}

function plainHeaders(headers: HeadersLike): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (Array.isArray(headers)) {
    for (const [key, value] of headers) out[key] = value;
  } else if (typeof (headers as { forEach?: unknown }).forEach === 'function') {
    (headers as { forEach(cb: (value: string, key: string) => void): void }).forEach((value, key) => {
      out[key] = value;
    });
  } else {
    Object.assign(out, headers);
  }
  return out;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
