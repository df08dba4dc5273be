// An embedded Node-RED 4.1 runtime for tests that need the real admin API (POST /flows with
// deployment types, GET /nodes, the examples library, credentials handling). It loads this
// bundle the way a user's Node-RED would: nodesDir = [repo root], so package.json's `node-red`
// section decides what is loaded. Temp userDir, credentialSecret set, admin API on a loopback
// HTTP server on port 0. Node-RED is a process singleton: start one runtime at a time.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export type DeploymentType = 'full' | 'nodes' | 'flows' | 'reload';

export interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

export interface HttpResult<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
  text: string;
}

export interface EmbeddedRuntime {
  /** Base URL of the admin API (and editor), e.g. http://127.0.0.1:PORT */
  readonly url: string;
  readonly userDir: string;
  /** The node-red module itself (RED.events, RED.nodes …). */
  readonly RED: NodeRedModule;
  /**
   * Deploys through the real `POST /flows` (API v2, `Node-RED-Deployment-Type`) and resolves once
   * the runtime reports the new revision started. `credentials` maps node id → plain credentials.
   */
  deploy(flows: FlowNode[], type?: DeploymentType, credentials?: Record<string, Record<string, string>>): Promise<string>;
  /** `GET /flows` (API v2): `{rev, flows}`. */
  getFlows(): Promise<{ rev: string; flows: FlowNode[] }>;
  /** Any admin API request; JSON bodies in and out. */
  request<T = unknown>(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult<T>>;
  /** Messages logged by the runtime at warn level or above (and node errors/warnings). */
  readonly logs: Array<{ level: number; msg: string; type?: string; id?: string }>;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  /** Extra node directories (e.g. a temp dir with test-only nodes). */
  extraNodesDirs?: string[];
  /** Merged into the settings. */
  settings?: Record<string, unknown>;
  /** Flows file content to start with. */
  flows?: FlowNode[];
}

interface NodeRedModule {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAdmin: http.RequestListener;
  httpNode: http.RequestListener;
  events: import('node:events').EventEmitter;
  nodes: Record<string, unknown>;
}

const DEPLOY_TIMEOUT_MS = 20_000;

export async function startRuntime(options: RuntimeOptions = {}): Promise<EmbeddedRuntime> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red') as NodeRedModule;
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-nr-'));
  if (options.flows) fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(options.flows));
  const logs: EmbeddedRuntime['logs'] = [];
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/api/')) RED.httpNode(req, res);
    else RED.httpAdmin(req, res);
  });
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: 'qumulo-flow-test-secret',
    nodesDir: [REPO_ROOT, ...(options.extraNodesDirs ?? [])],
    httpAdminRoot: '/',
    httpNodeRoot: '/api',
    uiHost: '127.0.0.1',
    uiPort: 0,
    editorTheme: { tours: false, projects: { enabled: false } },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    logging: {
      console: { level: 'off' },
      capture: {
        level: 'warn',
        handler: () => (entry: { level: number; msg: unknown; type?: string; id?: string }) => {
          logs.push({ level: entry.level, msg: String(entry.msg), type: entry.type, id: entry.id });
        },
      },
    },
    ...options.settings,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await RED.start();

  const deployed: string[] = [];
  const onRuntimeEvent = (event: { id?: string; payload?: { revision?: string } }) => {
    if (event?.id === 'runtime-deploy' && event.payload?.revision) deployed.push(event.payload.revision);
  };
  RED.events.on('runtime-event', onRuntimeEvent);

  const request = <T>(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = http.request(
        url + urlPath,
        {
          method,
          headers: {
            Accept: 'application/json',
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T, text });
          });
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });

  const waitForRevision = async (rev: string): Promise<void> => {
    const deadline = Date.now() + DEPLOY_TIMEOUT_MS;
    while (!deployed.includes(rev)) {
      if (Date.now() > deadline) throw new Error(`flows revision ${rev} did not start within ${DEPLOY_TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          RED.events.removeListener('runtime-event', done);
          resolve();
        };
        const timer = setTimeout(done, 200);
        RED.events.on('runtime-event', done);
      });
    }
  };

  return {
    url,
    userDir,
    RED,
    logs,
    request,
    async deploy(flows, type = 'full', credentials) {
      const body: Record<string, unknown> = { flows };
      if (credentials) body.credentials = credentials;
      const res = await request<{ rev?: string }>('POST', '/flows', type === 'reload' ? { flows: [] } : body, {
        'Node-RED-API-Version': 'v2',
        'Node-RED-Deployment-Type': type,
      });
      if (res.status !== 200 || !res.body?.rev) throw new Error(`POST /flows (${type}) failed: HTTP ${res.status} ${res.text}`);
      await waitForRevision(res.body.rev);
      return res.body.rev;
    },
    async getFlows() {
      const res = await request<{ rev: string; flows: FlowNode[] }>('GET', '/flows', undefined, { 'Node-RED-API-Version': 'v2' });
      if (res.status !== 200) throw new Error(`GET /flows failed: HTTP ${res.status}`);
      return res.body;
    },
    async stop() {
      RED.events.removeListener('runtime-event', onRuntimeEvent);
      await RED.stop();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** An adminAuth user of startRuntimeWithUsers, with its plain password. */
export interface RuntimeUser {
  username: string;
  password: string;
  /** Node-RED permissions: '*' (admin) or 'read'. */
  permissions: string;
}

/**
 * startRuntime with Node-RED's credentials adminAuth on for `users` (passwords bcrypt-hashed here,
 * with the cheapest cost so tests stay quick); `options.settings` is merged as for startRuntime.
 */
export function startRuntimeWithUsers(users: RuntimeUser[], options: RuntimeOptions = {}): Promise<EmbeddedRuntime> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bcrypt = require('bcryptjs') as { hashSync(password: string, rounds: number): string };
  const adminAuth = {
    type: 'credentials',
    users: users.map((user) => ({ ...user, password: bcrypt.hashSync(user.password, 4) })),
  };
  return startRuntime({ ...options, settings: { ...options.settings, adminAuth } });
}
