// Test-side helpers for the simulator specs: a plain node:http(s) JSON client and a raw SSE
// reader that parses the change-notify stream line by line (independent of core/qumulo, so the
// simulator is checked against the wire format itself).

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  socket: unknown;
}

export interface Notification {
  type: string;
  path: string;
  spine: string[];
  stream_name: string | null;
}

export function tempRoot(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `qumulo-sim-${label}-`));
}

export function encodeRef(absPath: string): string {
  return encodeURIComponent(absPath);
}

export class TestApi {
  token = '';

  constructor(
    readonly baseUrl: string,
    readonly options: { ca?: string | Buffer; agent?: http.Agent } = {},
  ) {}

  async login(username = 'admin', password = 'admin'): Promise<string> {
    const res = await this.request('POST', '/v1/session/login', { username, password }, null);
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
    this.token = res.body.bearer_token;
    return this.token;
  }

  /** `token`: undefined → the logged-in token, null → no Authorization header. */
  request(method: string, pathAndQuery: string, body?: unknown, token?: string | null): Promise<ApiResponse> {
    const url = new URL(this.baseUrl);
    const bearer = token === undefined ? this.token : token;
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = {};
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (payload) {
      headers['Content-Type'] = Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        { host: url.hostname, port: url.port, method, path: pathAndQuery, headers, agent: this.options.agent, ca: this.options.ca },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = undefined;
            if (text.length > 0 && String(res.headers['content-type']).includes('json')) parsed = JSON.parse(text);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed, socket: res.socket });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

type Line = { kind: 'comment'; text: string } | { kind: 'data'; notifications: Notification[] };

/** Reads a change-notify stream and hands out its `data:` lines in order. */
export class SseReader {
  readonly lines: Line[] = [];
  status = 0;
  contentType = '';
  ended = false;
  /** Set when the connection died without a clean end (destroyed / reset). */
  aborted = false;
  private cursor = 0;
  private buffer = '';
  private wake: (() => void) | null = null;
  private req: http.ClientRequest | null = null;

  /** Opens `GET /v1/files/{ref}/notify?...` and resolves once `: watching` arrived. */
  static open(api: TestApi, ref: string, query = 'recursive=true', token?: string): Promise<SseReader> {
    const reader = new SseReader();
    const url = new URL(api.baseUrl);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.get(
        {
          host: url.hostname,
          port: url.port,
          path: `/v1/files/${ref}/notify${query ? '?' + query : ''}`,
          headers: { Authorization: `Bearer ${token ?? api.token}`, Accept: 'text/event-stream' },
          agent: false,
          ca: api.options.ca,
        },
        (res) => {
          reader.status = res.statusCode ?? 0;
          reader.contentType = String(res.headers['content-type']);
          if (reader.status !== 200) {
            res.resume();
            reject(new Error(`notify answered ${reader.status}`));
            return;
          }
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            reader.feed(chunk);
            if (reader.lines.length > 0 && reader.lines[0].kind === 'comment') resolve(reader);
          });
          res.on('end', () => reader.finish(false));
          res.on('aborted', () => reader.finish(true));
          res.on('error', () => reader.finish(true));
          res.on('close', () => reader.finish(!res.complete));
        },
      );
      reader.req = req;
      req.on('error', (err) => {
        reader.finish(true);
        reject(err);
      });
    });
  }

  close(): void {
    this.req?.destroy();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '');
      this.buffer = this.buffer.slice(newline + 1);
      if (line === '') continue;
      if (line.startsWith(':')) this.lines.push({ kind: 'comment', text: line });
      else if (line.startsWith('data: ')) this.lines.push({ kind: 'data', notifications: JSON.parse(line.slice(6)) });
      else throw new Error(`unexpected SSE line: ${line}`);
    }
    this.poke();
  }

  private finish(aborted: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.aborted = aborted;
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  comments(): string[] {
    return this.lines.filter((line) => line.kind === 'comment').map((line) => (line as { text: string }).text);
  }

  /** The next unread `data:` line; fails when the stream ends or nothing comes within `waitMs`. */
  async next(waitMs = 10000): Promise<Notification[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      while (this.cursor < this.lines.length) {
        const line = this.lines[this.cursor++];
        if (line.kind === 'data') return line.notifications;
      }
      if (this.ended) throw new Error('stream ended while waiting for a data line');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no data line arrived');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Unread data lines so far, without waiting. */
  pending(): Notification[][] {
    const out: Notification[][] = [];
    for (let i = this.cursor; i < this.lines.length; i++) {
      const line = this.lines[i];
      if (line.kind === 'data') out.push(line.notifications);
    }
    return out;
  }

  /** Waits until the stream has ended (cleanly or not). */
  async untilEnded(waitMs = 10000): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('stream did not end');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

/** `[type, path]` pairs of a data line, for compact assertions. */
export function brief(notifications: Notification[]): Array<[string, string]> {
  return notifications.map((n) => [n.type, n.path]);
}

export { waitUntil } from './wait';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
