// Shared by the action node specs (test/actions*.test.ts, settle, all-stop, email): events for
// files on a real simulator, flow snippets, and a collector for output messages.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { QumuloEvent, NotificationType } from '../../core/event';
import type { ActionResult } from '../../core/actions';
import type { TestSim } from './sim';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as TestHelper;

export interface HelperNode {
  id: string;
  on(event: string, cb: (arg: any) => void): void; // eslint-disable-line @typescript-eslint/no-explicit-any
  receive(msg: object): void;
  status?: unknown;
}

/**
 * node-red-node-test-helper, typed. `Node` is what getNode returns in a spec (its own view of the
 * node and the helper's sinon spies), `Request` what request() returns (a supertest agent).
 */
export interface TestHelper<Node = HelperNode, Request = any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  init(path: string, settings?: object): void;
  settings(settings: object): object;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(nodes: unknown, flow: unknown[], credentials?: unknown): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): Node;
  setFlows(flow: object[], type?: string, credentials?: object): Promise<void>;
  request(): Request;
}

/**
 * The helper initialised with this Node-RED (no userDir), typed for a spec's own node shape: the
 * preamble of the node specs and benches that do not need initHelper's userDir.
 */
export function nodeTestHelper<Node = HelperNode, Request = any>(): TestHelper<Node, Request> { // eslint-disable-line @typescript-eslint/no-explicit-any
  helper.init(require.resolve('node-red'));
  return helper as TestHelper<Node, Request>;
}

let initialised = false;
/** Initialises the helper once per process with a userDir for all-stop state. */
export function initHelper(userDir: string): void {
  if (!initialised) {
    helper.init(require.resolve('node-red'));
    initialised = true;
  }
  helper.settings({ userDir });
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `qf-${label}-`));
}

/** A normalized event for a file that exists in the simulator (watch root `/`). */
export function eventFor(sim: TestSim, rel: string, type: NotificationType = 'child_file_added', extra: Partial<QumuloEvent> = {}): QumuloEvent {
  const relativePath = rel.replace(/^\/+/, '');
  const abs = '/' + relativePath;
  const name = abs.slice(abs.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  let fileId: string | null = null;
  try {
    fileId = sim.sim.fileIdOf(relativePath);
  } catch {
    fileId = null; // the file does not exist (tests of vanished files)
  }
  return {
    type,
    path: abs,
    relativePath,
    name,
    extension: dot > 0 && dot < name.length - 1 ? name.slice(dot + 1) : '',
    parentDir: abs.slice(0, abs.lastIndexOf('/')) || '/',
    fileId,
    spine: fileId ? [fileId] : [],
    isDirectory: type.includes('_dir_') ? true : type.includes('_file_') || type === 'child_data_written' ? false : null,
    streamName: null,
    watchId: 'test-watch',
    watchRoot: '/',
    seq: 1,
    receivedAt: Date.now(),
    ...extra,
  };
}

/** The qumulo-cluster config node for a simulator, and its credentials. */
export function clusterNode(sim: TestSim, id = 'cluster', maxConcurrency = 8): { node: object; credentials: Record<string, object> } {
  return {
    node: { id, type: 'qumulo-cluster', name: 'sim', host: sim.host, port: String(sim.port), protocol: 'http', maxConcurrency: String(maxConcurrency) },
    credentials: { [id]: { username: 'admin', password: 'admin' } },
  };
}

export interface ResultMsg {
  payload: QumuloEvent;
  result: ActionResult;
  results: ActionResult[];
  [key: string]: unknown;
}

/** Collects messages arriving at a helper node; `next(n)` resolves with the next n of them. */
export class Collector<M = ResultMsg> {
  readonly messages: M[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];

  constructor(node: HelperNode) {
    node.on('input', (msg: M) => {
      this.messages.push(msg);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async next(count = 1, waitMs = 15_000): Promise<M[]> {
    const deadline = Date.now() + waitMs;
    while (this.messages.length - this.cursor < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} more message(s), got ${this.messages.length - this.cursor}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const out = this.messages.slice(this.cursor, this.cursor + count);
    this.cursor += count;
    return out;
  }

  async one(waitMs?: number): Promise<M> {
    return (await this.next(1, waitMs))[0];
  }
}

/** Mode bits of a file on the simulator's backing disk, as "0640". */
export function diskMode(file: string): string {
  return (fs.statSync(file).mode & 0o7777).toString(8).padStart(4, '0');
}

/** A snapshot of the backing tree (relative path → mode:size), to prove nothing changed. */
export function treeState(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      if (rel.startsWith('.qumulo') || entry.name.startsWith('.qumulo-sim')) continue;
      const st = fs.statSync(full);
      out[rel + (entry.isDirectory() ? '/' : '')] = `${(st.mode & 0o7777).toString(8)}:${entry.isDirectory() ? '-' : st.size}`;
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(root);
  return out;
}

// ---- embedded-runtime helpers --------------------------------------------------------------

const SINK_JS = `module.exports = function (RED) {
  function Sink(config) {
    RED.nodes.createNode(this, config);
    const store = (globalThis.__qfSink = globalThis.__qfSink || {});
    const list = (store[config.id] = store[config.id] || []);
    this.on('input', (msg, send, done) => { list.push(msg); done(); });
  }
  RED.nodes.registerType('qf-test-sink', Sink);
};
`;
const SINK_HTML = `<script type="text/javascript">
  RED.nodes.registerType('qf-test-sink', { category: 'test', defaults: { name: { value: '' } }, inputs: 1, outputs: 0, label: function () { return this.name || 'sink'; } });
</script>
`;

/** A directory holding `qf-test-sink`, a node that records every message it gets (for runtime.extraNodesDirs). */
export function writeSinkNode(): string {
  const dir = tempDir('sink-node');
  fs.writeFileSync(path.join(dir, 'qf-test-sink.js'), SINK_JS);
  fs.writeFileSync(path.join(dir, 'qf-test-sink.html'), SINK_HTML);
  return dir;
}

/** Messages a `qf-test-sink` node has received so far (survives redeploys: kept per node id). */
export function sinkMessages<M = ResultMsg>(id: string): M[] {
  const store = ((globalThis as { __qfSink?: Record<string, M[]> }).__qfSink ??= {});
  return (store[id] ??= []);
}

export function clearSinks(): void {
  (globalThis as { __qfSink?: Record<string, unknown[]> }).__qfSink = {};
}

export interface RuntimeNodeHandle {
  receive(msg: object): void;
}

/** Hands a message to a deployed node of an embedded runtime, like a wire would. */
export function sendTo(RED: unknown, id: string, msg: object): void {
  const node = (RED as { nodes: { getNode(id: string): RuntimeNodeHandle | null } }).nodes.getNode(id);
  if (!node) throw new Error(`node ${id} is not deployed`);
  node.receive(msg);
}

/** Polls until `check` is true (event-driven waits are not available across the runtime boundary). */
export async function waitFor(check: () => boolean, what: string, waitMs = 15_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts an embedded runtime whose flows (and plain credentials, which Node-RED encrypts on its
 * next save) are in the user directory from the start, and waits until those nodes exist.
 * Deploying right after start instead races Node-RED's own initial flows load, which can reset the
 * credentials a deploy just added. Without `flows` a comment node is used as the readiness mark.
 */
export async function startRuntimeReady(options: {
  flows?: FlowNodeLike[];
  credentials?: Record<string, Record<string, string>>;
  extraNodesDirs?: string[];
  userDir?: string;
}): Promise<{ runtime: EmbeddedRuntimeLike; userDir: string }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startRuntime } = require('./runtime') as typeof import('./runtime');
  const userDir = options.userDir ?? tempDir('nr-user');
  const flows = options.flows ?? [
    { id: 'qf-ready-tab', type: 'tab', label: 'ready' },
    { id: 'qf-ready', type: 'comment', z: 'qf-ready-tab', name: 'ready', info: '', x: 100, y: 40, wires: [] },
  ];
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  if (options.credentials) fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(options.credentials));
  const runtime = await startRuntime({ extraNodesDirs: options.extraNodesDirs, settings: { userDir } });
  const nodes = (runtime.RED as unknown as { nodes: { getNode(id: string): unknown } }).nodes;
  await waitFor(() => flows.filter((n) => n.z).every((n) => nodes.getNode(n.id)), 'initial flows started');
  return { runtime, userDir };
}

export interface FlowNodeLike {
  id: string;
  type: string;
  [key: string]: unknown;
}
type EmbeddedRuntimeLike = import('./runtime').EmbeddedRuntime;
