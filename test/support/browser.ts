// Real-browser support: Debian's Chromium (/usr/bin/chromium, never a downloaded browser) driven by
// playwright-core with a fresh profile, and `npm start` (scripts/start.js) as a child process on
// free ports with its own user dir and demo-data dir, exactly as a user runs it.
//
//   const app = await startNpmStart();          // editor + built-in simulator
//   const browser = await launchChromium();
//   const page = await browser.context.newPage();
//   ...
//   await browser.close(); await app.stop();    // always, also on failure

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { REPO_ROOT } from './shipping';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
/** The README's pictures: taken by the browser test on every run, so they show the editor as it is. */
export const DOC_IMAGES = path.join(REPO_ROOT, 'docs', 'images');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Chromium {
  context: BrowserContext;
  profileDir: string;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, with a fresh `--user-data-dir` (removed on close). */
export async function launchChromium(viewport = { width: 1600, height: 1000 }): Promise<Chromium> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium package (apt-get install chromium); no browser is downloaded`);
  }
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-chromium-'));
  // Playwright passes the profile as --user-data-dir itself (it refuses the flag in args).
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    timeout: 120_000,
  });
  let closed = false;
  return {
    context,
    profileDir,
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      fs.rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

export interface ConsoleProblems {
  /** console.error messages and uncaught page errors, with where they came from. */
  readonly errors: string[];
  /** Problems since `mark()`. */
  since(mark: number): string[];
  mark(): number;
}

/** Records console errors and uncaught exceptions of a page from now on. */
export function watchConsole(page: Page): ConsoleProblems {
  const errors: string[] = [];
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() === 'error') {
      const where = msg.location();
      errors.push(`console.error: ${msg.text()}${where?.url ? ` (${where.url}:${where.lineNumber})` : ''}`);
    }
  });
  page.on('pageerror', (err: Error) => errors.push(`pageerror: ${err.message}\n${err.stack ?? ''}`));
  page.on('requestfailed', (req) => {
    // A request the editor needed and did not get (not one the browser aborted on navigation).
    const failure = req.failure()?.errorText ?? '';
    if (!/ERR_ABORTED/.test(failure)) errors.push(`request failed: ${req.method()} ${req.url()} ${failure}`);
  });
  return {
    errors,
    mark: () => errors.length,
    since: (mark: number) => errors.slice(mark),
  };
}

/**
 * Waits for a node or config dialog to be ready for typing: its Done button (`ok`), then the tray's own
 * first focus, which Node-RED gives 150 ms after opening. Typed before that, a value can lose the focus
 * mid-fill and never fire the change that validates it.
 */
export async function dialogReady(page: Page, ok: string): Promise<void> {
  await page.locator(ok).waitFor();
  await page.waitForFunction(() => {
    const trays = document.querySelectorAll('#red-ui-editor-stack .red-ui-tray');
    const top = trays[trays.length - 1];
    return !!top && top.contains(document.activeElement);
  }, undefined, { timeout: 5_000 });
}

export interface NpmStart {
  /** Editor URL, e.g. http://127.0.0.1:PORT/ */
  url: string;
  simPort: number;
  userDir: string;
  demoDir: string;
  /** stdout + stderr so far. */
  output(): string;
  /** Lines Node-RED logged at [error] (and [warn] when asked). */
  logged(level: 'error' | 'warn'): string[];
  stop(): Promise<void>;
}

/**
 * `node scripts/start.js` (what `npm start` runs after the build) on free ports (PORT=0,
 * QUMULO_SIM_PORT=0) with a temp user dir and demo-data dir; resolves when the editor is up.
 */
export async function startNpmStart(env: Record<string, string> = {}): Promise<NpmStart> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-npm-start-'));
  const userDir = path.join(base, 'user');
  const demoDir = path.join(base, 'demo-data');
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    QUMULO_SIM_PORT: '0',
    QUMULO_FLOW_USER_DIR: userDir,
    QUMULO_FLOW_DEMO_DIR: demoDir,
    NODE_RED_CREDENTIAL_SECRET: 'browser-test-secret',
    QUMULO_FLOW_STATE_DIR: path.join(base, 'state'),
    ...env,
  };
  for (const key of ['QUMULO_HOST', 'QUMULO_PORT', 'QUMULO_PROTOCOL', 'QUMULO_USERNAME', 'QUMULO_PASSWORD', 'QUMULO_ACCESS_TOKEN', 'QUMULO_CA', 'QUMULO_CA_FILE']) {
    if (!(key in env)) delete childEnv[key];
  }
  let out = '';
  const child: ChildProcess = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts', 'start.js')], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (c: Buffer) => {
    out += c.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);

  const stop = async () => {
    process.removeListener('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(base, { recursive: true, force: true });
  };

  const deadline = Date.now() + 120_000;
  let url = '';
  let simPort = 0;
  try {
    while (!url) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`npm start exited (${child.exitCode ?? child.signalCode}):\n${out}`);
      if (Date.now() > deadline) throw new Error(`npm start did not print the editor URL in time:\n${out}`);
      const editor = /Node-RED editor: (http:\/\/\S+?)\/?\s/.exec(out);
      const sim = /simulator: https?:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (editor && sim) {
        url = editor[1].replace(/\/$/, '') + '/';
        simPort = Number(sim[1]);
      } else {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    simPort,
    userDir,
    demoDir,
    output: () => out,
    logged: (level) => out.split('\n').filter((line) => line.includes(`[${level}]`)),
    stop,
  };
}

/** Saves a full-page screenshot under test-artifacts/ and returns its path. */
export async function screenshot(page: Page, name: string, clip?: { x: number; y: number; width: number; height: number }, dir = ARTIFACTS): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, ...(clip ? { clip } : {}) });
  return file;
}
