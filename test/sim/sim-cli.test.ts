// `npm run sim` (dist/sim/cli.js) as a real process: prints its URL and credentials, serves the
// API, and stops cleanly on SIGINT and SIGTERM.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempRoot, TestApi, waitUntil } from '../support/sim-client';

const CLI = path.join(__dirname, '..', '..', 'sim', 'cli.js');
const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'tls');

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function urlOf(running: Running): Promise<string> {
  await waitUntil(() => /try: .*\n/.test(running.output()) || running.child.exitCode !== null, 'the simulator to print its banner');
  const match = /listening on (\S+)/.exec(running.output());
  if (!match) throw new Error(`simulator did not start:\n${running.output()}`);
  return match[1];
}

describe('simulator CLI', function () {
  this.timeout(30000);
  const roots: string[] = [];
  const children: ChildProcess[] = [];

  afterEach(function () {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
  });

  it('serves a directory with the given credentials and stops on SIGTERM', async function () {
    const root = path.join(tempRoot('cli'), 'demo-data');
    roots.push(path.dirname(root));
    const running = run(['--root', root, '--port', '0', '--username', 'svc', '--password', 'secret']);
    children.push(running.child);
    const url = await urlOf(running);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(running.output(), /svc \/ secret/);
    assert.ok(fs.statSync(root).isDirectory(), 'the root is created');

    const api = new TestApi(url);
    await api.login('svc', 'secret');
    const created = await api.request('POST', '/v1/files/%2F/entries/', { action: 'CREATE_FILE', name: 'hello.txt' });
    assert.equal(created.status, 200);
    assert.ok(fs.existsSync(path.join(root, 'hello.txt')));

    running.child.kill('SIGTERM');
    assert.equal(await running.exited, 0);
    assert.match(running.output(), /SIGTERM: stopping simulator/);
  });

  it('takes settings from the environment, serves HTTPS, and stops on SIGINT', async function () {
    const root = tempRoot('cli-env');
    roots.push(root);
    const running = run(['--tls-key', path.join(FIXTURES, 'key.pem'), '--tls-cert', path.join(FIXTURES, 'cert.pem')], {
      QUMULO_SIM_ROOT: root,
      QUMULO_SIM_PORT: '0',
      QUMULO_SIM_PASSWORD: 'from-env',
    });
    children.push(running.child);
    const url = await urlOf(running);
    assert.match(url, /^https:/);
    const api = new TestApi(url, { ca: fs.readFileSync(path.join(FIXTURES, 'cert.pem')) });
    await api.login('admin', 'from-env');
    assert.equal((await api.request('GET', '/v1/session/who-am-i')).status, 200);
    running.child.kill('SIGINT');
    assert.equal(await running.exited, 0);
  });

  it('refuses unknown options with a usage message', async function () {
    const running = run(['--bogus', '1']);
    children.push(running.child);
    assert.equal(await running.exited, 1);
    assert.match(running.output(), /unknown option --bogus/);
  });
});
