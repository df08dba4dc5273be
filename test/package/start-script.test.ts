// `npm start`'s script end to end, as a child process: it starts the simulator over a demo
// directory (with sample files), Node-RED with this bundle, deploys the starter flow, a file
// touched in the demo directory reaches the debug sidebar (editor websocket), no Redis is
// needed, and SIGTERM stops everything with exit code 0. Ports are 0, directories temporary.

import * as assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket = require('ws');
import { REPO_ROOT } from '../support/runtime';

function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { Accept: 'application/json', ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
          } catch (err) {
            reject(err);
          }
        });
      })
      .on('error', reject);
  });
}

describe('npm start (scripts/start.js)', function () {
  this.timeout(60_000);
  let tmp: string;
  let child: ChildProcess | null = null;
  let output = '';

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-start-'));
  });
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs the simulator and Node-RED with the starter flow, and stops cleanly on SIGTERM', async () => {
    const demo = path.join(tmp, 'demo');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: '0',
      QUMULO_SIM_PORT: '0',
      QUMULO_FLOW_USER_DIR: path.join(tmp, 'user'),
      QUMULO_FLOW_DEMO_DIR: demo,
    };
    for (const key of ['QUMULO_HOST', 'REDIS_URL', 'QUMULO_ACCESS_TOKEN']) delete env[key];
    child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts', 'start.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    const deadline = Date.now() + 30_000;
    let editor: string | null = null;
    while (!editor) {
      editor = /Node-RED editor: (http:\/\/\S+)/.exec(output)?.[1] ?? null;
      if (child.exitCode !== null) assert.fail(`start.js exited early:\n${output}`);
      if (Date.now() > deadline) assert.fail(`no editor URL printed:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(output, /simulator: http:\/\/127\.0\.0\.1:\d+ over .*demo \(created with sample files\), user admin\/admin/);
    assert.match(output, /deployed the starter flow/);
    assert.ok(fs.existsSync(path.join(demo, 'incoming', 'welcome.txt')));

    const flows = await getJson<{ flows: Array<{ type: string; path?: string }> }>(`${editor}flows`, { 'Node-RED-API-Version': 'v2' });
    assert.ok(flows.flows.some((n) => n.type === 'qumulo-watch' && n.path === '/'));
    assert.ok(flows.flows.some((n) => n.type === 'qumulo-cluster'));

    // Listen to the debug sidebar the way the editor does, then touch a file in the demo data.
    const ws = new WebSocket(editor.replace(/^http/, 'ws') + 'comms');
    const debug: Array<{ msg?: string }> = [];
    const statuses: Array<{ text?: string }> = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (raw: WebSocket.Data) => {
      const parsed = JSON.parse(String(raw)) as Array<{ topic: string; data: { msg?: string; text?: string } }> | { topic: string; data: { msg?: string; text?: string } };
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        if (m.topic === 'debug') debug.push(m.data);
        if (m.topic?.startsWith('status/')) statuses.push(m.data);
      }
    });
    ws.send(JSON.stringify({ subscribe: 'debug' }));
    ws.send(JSON.stringify({ subscribe: 'status/#' }));
    const until = async (predicate: () => boolean, what: string) => {
      const end = Date.now() + 15_000;
      while (!predicate()) {
        if (Date.now() > end) assert.fail(`timed out waiting for ${what}:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await until(() => statuses.some((s) => /^watching \//.test(s.text ?? '')), 'watch status');
    fs.writeFileSync(path.join(demo, 'incoming', 'from-test.txt'), 'hello');
    await until(() => debug.some((d) => (d.msg ?? '').includes('from-test.txt')), 'the change in the debug sidebar');
    assert.match(debug.find((d) => (d.msg ?? '').includes('from-test.txt'))!.msg!, /"path":"\/incoming\/from-test.txt"/);
    ws.close();

    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    assert.match(output, /SIGTERM: stopping/);
    assert.match(output, /\[qumulo-flow\] stopped/);
    assert.doesNotMatch(output, /redis/i);
  });
});
