// Several real Node-RED processes running one flow against one redis-server and the simulator,
// for test/system/scale-out.test.ts (short) and bench/scale.ts (full sizes). The flow is what
// docs/scaling.md describes: a watch electing its ingester through Redis → qumulo-redis-out;
// qumulo-redis-in (one consumer group across instances) → a function that holds each message
// HOLD_MS (so consumers have entries pending when one is killed) → qumulo-lock → a recorder that
// appends "<file> <pid>" to one file. A status node copies qumulo-redis-out's status text to a
// file per instance ("written N · fenced M"), which is how a test sees what an instance appended.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { NodeRedProcess } from './nr-process';
import type { RedisServer } from './redis-server';
import type { TestSim } from './sim';

export interface ScaleOptions {
  sim: TestSim;
  redis: RedisServer;
  instances: number;
  /** Lease of the watch, seconds. */
  leaseSeconds: number;
  /** Claim idle time of qumulo-redis-in, seconds. */
  claimIdleSeconds: number;
  /** How long the flow holds each message before locking (ms). */
  holdMs?: number;
  keyPrefix: string;
  /** Watch only; no consumers (bench phases that measure ingest alone). */
  group?: string;
}

export const SCALE_STREAM = 'scale:events';
const WATCH_ID = 'w';

function buildFlow(options: ScaleOptions, watchName = ''): Array<Record<string, unknown>> {
  const z = 'scale';
  const nodes: Array<Record<string, unknown>> = [
    { id: z, type: 'tab', label: 'scale-out' },
    { id: 'c', type: 'qumulo-cluster', name: 'sim', host: options.sim.host, port: String(options.sim.port), protocol: 'http', maxConcurrency: '16' },
    { id: 'r', type: 'qumulo-redis', url: options.redis.url, keyPrefix: options.keyPrefix },
    {
      id: WATCH_ID, type: 'qumulo-watch', z, name: watchName, cluster: 'c', path: '/in', recursive: true, types: ['child_file_added'], heal: true,
      redis: 'r', lease: `${options.leaseSeconds}s`, wires: [['out'], []],
    },
    { id: 'out', type: 'qumulo-redis-out', z, redis: 'r', stream: SCALE_STREAM, wires: [] },
    {
      id: 'in', type: 'qumulo-redis-in', z, redis: 'r', stream: SCALE_STREAM, group: options.group ?? 'scale', start: '0', ackMode: 'complete',
      claimIdle: String(options.claimIdleSeconds), maxDeliveries: '10', ackTimeout: '120', wires: [['hold']],
    },
    {
      id: 'hold', type: 'function', z, outputs: 1, wires: [['lock']],
      // Uses node.done(), so the runtime does not call done() on return: every path calls it.
      func: "const ms = Number(env.get('HOLD_MS') || 0);\nif (!ms) { node.send(msg); node.done(); return null; }\nsetTimeout(() => { node.send(msg); node.done(); }, ms);\nreturn null;",
    },
    { id: 'lock', type: 'qumulo-lock', z, cluster: 'c', retention: '1d', legalHold: 'leave', relockThreshold: '', dryRun: false, wires: [['rec']] },
    {
      id: 'rec', type: 'function', z, outputs: 0, wires: [],
      func: "if (msg.result) global.get('fs').appendFileSync(env.get('RECORD_FILE'), msg.payload.name + ' ' + env.get('INSTANCE') + '\\n');\nreturn null;",
    },
    { id: 'st', type: 'status', z, scope: ['out'], wires: [['stw']] },
    { id: 'stw', type: 'function', z, outputs: 0, wires: [], func: "global.get('fs').writeFileSync(env.get('STATUS_FILE'), String(msg.status.text || ''));\nreturn null;" },
  ];
  nodes.forEach((node, i) => {
    if (node.z) Object.assign(node, { x: 120 + (i % 6) * 160, y: 60 + Math.floor(i / 6) * 80 });
  });
  return nodes;
}

export class ScaleRig {
  readonly admin: Redis;
  readonly workDir: string;
  readonly recordFile: string;
  private leaseKey: string | null = null;

  private constructor(
    readonly options: ScaleOptions,
    readonly nodes: Array<NodeRedProcess | null>,
    workDir: string,
  ) {
    this.workDir = workDir;
    this.recordFile = path.join(workDir, 'locked.txt');
    this.admin = new Redis(options.redis.url, { maxRetriesPerRequest: null });
    this.admin.on('error', () => undefined);
  }

  static async start(options: ScaleOptions): Promise<ScaleRig> {
    fs.mkdirSync(options.sim.disk('in'), { recursive: true });
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-scale-'));
    const rig = new ScaleRig(options, [], workDir);
    const started = await Promise.allSettled(Array.from({ length: options.instances }, (_, i) => rig.launch(i)));
    for (const result of started) if (result.status === 'fulfilled') rig.nodes.push(result.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      await rig.stop();
      throw (failed as PromiseRejectedResult).reason;
    }
    return rig;
  }

  private launch(index: number): Promise<NodeRedProcess> {
    return NodeRedProcess.start({
      flows: buildFlow(this.options),
      credentials: { c: { username: 'admin', password: 'admin' } },
      env: { RECORD_FILE: this.recordFile, STATUS_FILE: this.statusFile(index), HOLD_MS: String(this.options.holdMs ?? 0), INSTANCE: String(index) },
    });
  }

  statusFile(index: number): string {
    return path.join(this.workDir, `status-${index}.txt`);
  }

  /** qumulo-redis-out's status text of an instance ("written N · fenced M"). */
  outStatus(index: number): { written: number; fenced: number; text: string } {
    const text = fs.existsSync(this.statusFile(index)) ? fs.readFileSync(this.statusFile(index), 'utf8') : '';
    return { written: Number(/written (\d+)/.exec(text)?.[1] ?? 0), fenced: Number(/fenced (\d+)/.exec(text)?.[1] ?? 0), text };
  }

  /** The consumer name qumulo-redis-in uses on instance `index` (see defaultConsumerName). */
  consumerName(index: number): string {
    const nr = this.nodes[index]!;
    return `${os.hostname()}-${createHash('sha1').update(nr.userDir).digest('hex').slice(0, 6)}-in`;
  }

  get streamKey(): string {
    return this.options.keyPrefix + SCALE_STREAM;
  }

  /** Index of the instance holding the watch lease, -1 when none. */
  async leader(): Promise<number> {
    if (!this.leaseKey) {
      const keys = await this.admin.keys(`${this.options.keyPrefix}qumulo-flow:{lease:*}`);
      this.leaseKey = keys.find((k) => k.endsWith('}')) ?? null;
      if (!this.leaseKey) return -1;
    }
    const holder = await this.admin.hget(this.leaseKey, 'holder').catch(() => null);
    if (!holder) return -1;
    const pid = Number(holder.split(':').pop());
    return this.nodes.findIndex((nr) => nr?.pid === pid);
  }

  /** Waits for a leader other than `not`; returns its index and when it was seen. */
  async waitLeader(timeoutMs: number, not = -2): Promise<{ index: number; at: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = await this.leader();
      if (index >= 0 && index !== not) return { index, at: Date.now() };
      if (Date.now() > deadline) throw new Error(`no new leader within ${timeoutMs} ms`);
      await sleep(25);
    }
  }

  /** The number of the next file writeNext writes: files 1..nextFile-1 are written. */
  nextFile = 1;

  /** Writes the next `count` files (numbered on from the last writeNext) via writeFiles; returns their range. */
  async writeNext(count: number, perSecond: number, each?: (n: number) => Promise<void> | void): Promise<{ from: number; to: number }> {
    const from = this.nextFile;
    this.nextFile += count;
    await this.writeFiles(from, this.nextFile - 1, perSecond, each);
    return { from, to: this.nextFile - 1 };
  }

  /** Writes in/f-<n>.dat for n in [from, to] at `perSecond`; `each` runs after every file. */
  async writeFiles(from: number, to: number, perSecond: number, each?: (n: number) => Promise<void> | void): Promise<void> {
    const t0 = Date.now();
    for (let n = from; n <= to; n++) {
      const wait = t0 + ((n - from + 1) * 1000) / perSecond - Date.now();
      if (wait > 0) await sleep(wait);
      const file = this.options.sim.disk(`in/${fileName(n)}`);
      if (n === from || n % FILES_PER_DIRECTORY === 0) fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `file ${n}\n`);
      await each?.(n);
    }
  }

  isLocked(n: number): boolean {
    return this.options.sim.sim.lockOf(`in/${fileName(n)}`).retention_period !== null;
  }

  /** Waits until files [from, to] are locked; returns the numbers still unlocked at the deadline. */
  async waitLocked(from: number, to: number, timeoutMs: number): Promise<number[]> {
    let left: number[] = [];
    for (let n = from; n <= to; n++) left.push(n);
    const deadline = Date.now() + timeoutMs;
    // The simulator runs in this process: checking thousands of files per round would starve it.
    // Files lock roughly in order, so each round looks at the first few hundred still unlocked.
    while (left.length > 0 && Date.now() < deadline) {
      left = [...left.slice(0, 300).filter((n) => !this.isLocked(n)), ...left.slice(300)];
      if (left.length > 0) await sleep(200);
    }
    return left.filter((n) => !this.isLocked(n));
  }

  /** Stream entries per file name (every entry of the stream, read in pages). */
  async appendsPerFile(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    let start = '-';
    for (;;) {
      const page = (await this.admin.xrange(this.streamKey, start, '+', 'COUNT', 5000)) as Array<[string, string[]]>;
      for (const [, fields] of page) {
        const json = fields[fields.indexOf('event') + 1];
        const name = (JSON.parse(json) as { name: string }).name;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      if (page.length < 5000) break;
      start = '(' + page[page.length - 1][0];
    }
    return counts;
  }

  /** Appends beyond the first, for files [from, to]; and files never appended. */
  async appendSummary(from: number, to: number): Promise<{ duplicates: number; missing: number; max: number }> {
    const counts = await this.appendsPerFile();
    let duplicates = 0;
    let missing = 0;
    let max = 0;
    for (let n = from; n <= to; n++) {
      const count = counts.get(baseName(n)) ?? 0;
      if (count === 0) missing++;
      duplicates += Math.max(0, count - 1);
      max = Math.max(max, count);
    }
    return { duplicates, missing, max };
  }

  /** Pending entries of one consumer. */
  async pendingOf(consumer: string): Promise<string[]> {
    const rows = (await this.admin.xpending(this.streamKey, this.options.group ?? 'scale', '-', '+', 10_000, consumer)) as Array<[string, string, number, number]>;
    return rows.map((row) => row[0]);
  }

  /** Waits until no entry of the group is pending (every one acked); returns how many still are. */
  async waitNoPending(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const summary = (await this.admin.xpending(this.streamKey, this.options.group ?? 'scale')) as [number, ...unknown[]];
      const pending = Number(summary[0]);
      if (pending === 0 || Date.now() > deadline) return pending;
      await sleep(100);
    }
  }

  /** Ids still pending in the group among `ids`. */
  async stillPending(ids: string[]): Promise<number> {
    const rows = (await this.admin.xpending(this.streamKey, this.options.group ?? 'scale', '-', '+', 100_000)) as Array<[string, string, number, number]>;
    const pending = new Set(rows.map((row) => row[0]));
    return ids.filter((id) => pending.has(id)).length;
  }

  output(index: number): string {
    return this.nodes[index]?.output() ?? '';
  }

  signal(index: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
    const pid = this.nodes[index]?.pid;
    if (pid) process.kill(pid, signal);
  }

  async kill(index: number): Promise<void> {
    await this.nodes[index]?.kill();
  }

  /** Deploys the flow to one instance with the watch renamed (restarts the watch node there). */
  async renameWatch(index: number, name: string): Promise<void> {
    const flows = buildFlow(this.options, name).map((node) => (node.id === 'c' ? { ...node, credentials: { username: 'admin', password: 'admin' } } : node));
    await this.nodes[index]!.deploy(flows, 'nodes');
  }

  /** The lease's current token (changes with every new term). */
  async leaseToken(): Promise<string | null> {
    if (this.leaseKey === null && (await this.leader()) < 0) return null;
    return this.admin.hget(this.leaseKey!, 'token');
  }

  /** Starts a killed instance again (same userDir, so the same consumer name). */
  restart(index: number): Promise<void> {
    return this.nodes[index]!.restart();
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) this.signal(i, 'SIGCONT');
    await Promise.all(this.nodes.map((nr) => nr?.stop()));
    this.admin.disconnect();
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** Files per directory: the simulator re-reads a directory on changes, so none grows huge. */
const FILES_PER_DIRECTORY = 250;

/** Path of file n under the watched directory. */
export function fileName(n: number): string {
  return `d${Math.floor(n / FILES_PER_DIRECTORY)}/${baseName(n)}`;
}

/** Name of file n (what events carry). */
export function baseName(n: number): string {
  return `f-${n}.dat`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
