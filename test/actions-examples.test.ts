// The action nodes' example flows (examples/40–46) as a user gets them: listed under Import →
// Examples by a real embedded Node-RED, fetched through the admin API's library, deployed, and
// their inject nodes clicked — with the cluster pointed at a simulator on a free port.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_STOP_FILE_NAME, AllStopStore } from '../core/actions';
import { REPO_ROOT, type EmbeddedRuntime, type FlowNode } from './support/runtime';
import { startSim, type TestSim } from './support/sim';
import { startRuntimeReady, waitFor } from './support/actions';

const MODULE = '@qumulo-flow/node-red-qumulo-flow';
const OURS = /^4[0-6] - /;

describe('action node examples (embedded runtime)', function () {
  this.timeout(60_000);
  let sim: TestSim;
  let runtime: EmbeddedRuntime;
  let userDir: string;
  const savedEnv = { user: process.env.QUMULO_USERNAME, pass: process.env.QUMULO_PASSWORD };

  before(async () => {
    process.env.QUMULO_USERNAME = 'admin';
    process.env.QUMULO_PASSWORD = 'admin';
    sim = await startSim({ files: { 'incoming/welcome.txt': 'hello\n', 'archive/report-2024.csv': 'q,r\n', 'incoming/setup.exe': 'MZ', 'incoming/.canary.docx': 'canary' } });
    ({ runtime, userDir } = await startRuntimeReady({}));
  });
  after(async () => {
    await runtime.stop();
    AllStopStore.forget(path.join(userDir, ALL_STOP_FILE_NAME));
    fs.rmSync(userDir, { recursive: true, force: true });
    await sim.stop();
    if (savedEnv.user === undefined) delete process.env.QUMULO_USERNAME;
    else process.env.QUMULO_USERNAME = savedEnv.user;
    if (savedEnv.pass === undefined) delete process.env.QUMULO_PASSWORD;
    else process.env.QUMULO_PASSWORD = savedEnv.pass;
  });

  const files = fs.readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => OURS.test(f) && f.endsWith('.json'));

  it('every action node type has an example, and none carries a password', () => {
    const types = new Set(files.flatMap((f) => (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', f), 'utf8')) as FlowNode[]).map((n) => n.type)));
    for (const type of ['qumulo-lock', 'qumulo-quarantine', 'qumulo-chmod', 'qumulo-rename', 'qumulo-email', 'qumulo-all-stop', 'qumulo-settle']) {
      assert.ok(types.has(type), `an example uses ${type}`);
    }
    for (const f of files) {
      const text = fs.readFileSync(path.join(REPO_ROOT, 'examples', f), 'utf8');
      assert.doesNotMatch(text, /"password":\s*"(?!\$\{)/, `${f} holds no literal password`);
    }
  });

  for (const file of files) {
    it(`"${file}" is listed, imports and deploys without errors, and its injects run`, async () => {
      const name = file.replace(/\.json$/, '');
      const listing = await runtime.request<unknown[]>('GET', `/library/examples/flows/${encodeURIComponent(MODULE)}`);
      assert.equal(listing.status, 200);
      assert.ok(JSON.stringify(listing.body).includes(JSON.stringify(name)), `${name} is listed`);
      const fetched = await runtime.request<FlowNode[]>('GET', `/library/examples/flows/${encodeURIComponent(MODULE)}/${encodeURIComponent(name)}`);
      assert.equal(fetched.status, 200);
      // As a user would after import: point the cluster at this simulator (the example says 127.0.0.1:18000).
      const flow = fetched.body.map((n) => (n.type === 'qumulo-cluster' ? { ...n, port: String(sim.port) } : n));
      const logsBefore = runtime.logs.length;
      await runtime.deploy(flow, 'full');
      const nodes = (runtime.RED as unknown as { nodes: { getNode(id: string): { receive(m: object): void; type: string } | null } }).nodes;
      await waitFor(() => flow.filter((n) => n.z).every((n) => nodes.getNode(n.id)), 'example nodes started');
      for (const inject of flow.filter((n) => n.type === 'inject')) nodes.getNode(inject.id)!.receive({});
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const errors = runtime.logs.slice(logsBefore).filter((l) => l.level <= 20);
      assert.deepEqual(errors, [], `no errors from ${file}`);
    });
  }
});
