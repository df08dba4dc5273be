// Runs Node-RED as a child process, the way it runs in production: `node-red/red.js` with its own
// userDir, a generated settings.js, a flow file, and this bundle loaded through nodesDir = repo
// root (so package.json `node-red.nodes` decides what is loaded). The admin API is real (deploy
// types through POST /flows), and so is `kill -9`.
//
//   const nr = await NodeRedProcess.start({ flows, credentials, env: { SINK_FILE } });
//   await nr.deploy(changedFlows, 'nodes');
//   await nr.kill();       // SIGKILL, like a crash
//   await nr.restart();    // same userDir, port, flows
//   await nr.stop();       // always (after hooks); also removes a userDir it created
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './redis-server';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..'); // dist/test/support -> repo root
const RED_JS = require.resolve('node-red/red.js');

export type DeploymentType = 'full' | 'nodes' | 'flows' | 'reload';

export interface NodeRedProcessOptions {
  /** The flow to start with (written to flows.json). */
  flows: unknown[];
  /** Plain credentials by node id (written unencrypted: the settings disable encryption). */
  credentials?: Record<string, Record<string, string>>;
  /** Reuse this userDir (kept on stop); default: a fresh temp dir, removed on stop. */
  userDir?: string;
  /** Extra environment for the process (e.g. where a sink writes). */
  env?: Record<string, string>;
  /** Extra settings, JSON-serializable, merged over the defaults. */
  settings?: Record<string, unknown>;
  /** Modules a function node can reach with global.get(name): name -> module id. Default { fs: 'fs' }. */
  globalModules?: Record<string, string>;
  /** Extra node CLI flags, e.g. ['--max-old-space-size=256']. */
  nodeArgs?: string[];
}

/** Every process this module started; killed if the test process exits without stop(). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

const STARTED = /\[info\] (Started flows|Started modified nodes|Started modified flows)/g;

export class NodeRedProcess {
  private child: ChildProcess | undefined;
  private log = '';
  private startedCount = 0;
  private stopped = false;

  private constructor(
    readonly userDir: string,
    readonly port: number,
    private readonly ownsUserDir: boolean,
    private readonly options: NodeRedProcessOptions,
  ) {}

  /** Writes userDir (settings, flows, credentials), starts Node-RED and waits for "Started flows". */
  static async start(options: NodeRedProcessOptions): Promise<NodeRedProcess> {
    const ownsUserDir = !options.userDir;
    const userDir = options.userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'qf-nr-'));
    fs.mkdirSync(userDir, { recursive: true });
    const port = await freePort();
    const nr = new NodeRedProcess(userDir, port, ownsUserDir, options);
    nr.writeUserDir();
    try {
      await nr.launch();
    } catch (err) {
      await nr.stop();
      throw err;
    }
    return nr;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The tail of stdout/stderr (for failure messages). */
  output(): string {
    return this.log.slice(-6000);
  }

  /** Resident set size of the process in bytes (Linux /proc). */
  rss(): number {
    if (!this.child?.pid) return 0;
    try {
      const status = fs.readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      return match ? Number(match[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  /** CPU time (user + system) the process has used so far, in seconds (Linux /proc). */
  cpuSeconds(): number {
    return this.child?.pid ? processCpuSeconds(this.child.pid) : 0;
  }

  private writeUserDir(): void {
    const modules = this.options.globalModules ?? { fs: 'fs' };
    const settings = {
      uiHost: '127.0.0.1',
      uiPort: this.port,
      flowFile: 'flows.json',
      credentialSecret: false,
      userDir: this.userDir,
      nodesDir: [REPO_ROOT],
      disableEditor: true,
      // info, not less: start and deploy detection read the "Started flows" lines.
      logging: { console: { level: 'info', metrics: false, audit: false } },
      ...this.options.settings,
    };
    const globals = Object.entries(modules)
      .map(([name, id]) => `${JSON.stringify(name)}: require(${JSON.stringify(id)})`)
      .join(', ');
    fs.writeFileSync(
      path.join(this.userDir, 'settings.js'),
      `module.exports = Object.assign(${JSON.stringify(settings, null, 2)}, { functionGlobalContext: { ${globals} } });\n`,
    );
    const flowFile = path.join(this.userDir, 'flows.json');
    if (!fs.existsSync(flowFile)) {
      fs.writeFileSync(flowFile, JSON.stringify(this.options.flows, null, 2));
      if (this.options.credentials) fs.writeFileSync(path.join(this.userDir, 'flows_cred.json'), JSON.stringify(this.options.credentials, null, 2));
    }
  }

  private async launch(): Promise<void> {
    this.log = '';
    this.startedCount = 0;
    const args = [...(this.options.nodeArgs ?? []), RED_JS, '--userDir', this.userDir, '--settings', path.join(this.userDir, 'settings.js')];
    const child = spawn(process.execPath, args, {
      cwd: this.userDir,
      env: { ...process.env, ...this.options.env, NODE_RED_ENABLE_SAFE_MODE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      this.startedCount += (text.match(STARTED) ?? []).length;
      // Keep a bounded log: long runs print a lot.
      this.log = (this.log + text).slice(-200_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    await this.waitForStarts(1, 60_000);
  }

  /** Waits until `count` "Started …" lines have been printed since launch. */
  private async waitForStarts(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.startedCount < count) {
      const child = this.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`Node-RED exited (code ${child?.exitCode}, signal ${child?.signalCode}):\n${this.output()}`);
      }
      if (Date.now() > deadline) throw new Error(`Node-RED did not report started flows within ${timeoutMs} ms:\n${this.output()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** GET /flows (v2): `{ rev, flows }`. */
  async getFlows(): Promise<{ rev: string; flows: unknown[] }> {
    const response = await fetch(`${this.url}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } });
    if (!response.ok) throw new Error(`GET /flows: HTTP ${response.status}`);
    return (await response.json()) as { rev: string; flows: unknown[] };
  }

  /**
   * POST /flows with the given deployment type through the real admin API, then waits until the
   * runtime reports the new flows started (the HTTP reply comes before that).
   */
  async deploy(flows: unknown[], type: DeploymentType): Promise<void> {
    const before = this.startedCount;
    const response = await fetch(`${this.url}/flows`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': type },
      body: JSON.stringify({ flows }),
    });
    if (!response.ok) throw new Error(`POST /flows (${type}): HTTP ${response.status} ${await response.text()}\n${this.output()}`);
    await this.waitForStarts(before + 1, 30_000);
  }

  /** kill -9: no close handlers, no flush — like a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await waitForExit(child);
    this.child = undefined;
  }

  /** Starts again with the same userDir, port and (current) flows. */
  async restart(): Promise<void> {
    if (this.child) await this.kill();
    await this.launch();
  }

  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and removes a userDir it created. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await waitForExit(child);
      clearTimeout(timer);
    }
    this.child = undefined;
    if (this.ownsUserDir) fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}

/** CPU seconds (utime + stime) of any process, from /proc/<pid>/stat; 0 when unavailable. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** USER_HZ: 100 on Linux for every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
