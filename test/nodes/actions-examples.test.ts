// The action nodes' example flows (examples/40–46) as a user gets them: listed under Import →
// Examples by a real embedded Node-RED, fetched through the admin API's library, deployed, and
// their inject nodes clicked — with QUMULO_* set for a simulator on a free port, as `npm start` sets
// them (the examples read the cluster from the environment).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_STOP_FILE_NAME, AllStopStore } from '../../core/allstop/allstop';
import { REPO_ROOT, type EmbeddedRuntime, type FlowNode } from '../support/runtime';
import { startSim, type TestSim } from '../support/sim';
import { startRuntimeReady, waitFor } from '../support/actions';
import { exampleEnv } from '../support/shipping';

const MODULE = '@qumulo-flow/node-red-qumulo-flow';
const OURS = /^4[0-6] - /;

describe('action node examples (embedded runtime)', function () {
  this.timeout(60_000);
  let sim: TestSim;
  let runtime: EmbeddedRuntime;
  let userDir: string;
  let restoreEnv = () => {};

  before(async () => {
    sim = await startSim({ files: { 'incoming/welcome.txt': 'hello\n', 'archive/report-2024.csv': 'q,r\n', 'incoming/setup.exe': 'MZ', 'incoming/.canary.docx': 'canary' } });
    restoreEnv = exampleEnv(sim.sim.clusterEnv());
    ({ runtime, userDir } = await startRuntimeReady({}));
  });
  after(async () => {
    await runtime.stop();
    AllStopStore.forget(path.join(userDir, ALL_STOP_FILE_NAME));
    fs.rmSync(userDir, { recursive: true, force: true });
    await sim.stop();
    restoreEnv();
  });

  const files = fs.readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => OURS.test(f) && f.endsWith('.json'));

  it('every action node type has an example, and none carries a password', () => {
    const all = fs.readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.json'));
    const types = new Set(all.flatMap((f) => (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', f), 'utf8')) as FlowNode[]).map((n) => n.type)));
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
      // As shipped: the cluster comes from QUMULO_* (set above), irreversible actions run dry.
      const flow = fetched.body;
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

describe('action node editor definitions', () => {
  // The editor scripts run in the browser; here they run in a VM with a recording
  // RED.nodes.registerType, which checks they parse, register the right type in the qumulo
  // category, and that every default value passes its own validator (a dialog that opens red
  // on a fresh node is a bug, except required fields only the user can fill). The real editor is exercised by the browser test suite.
  const TYPES = ['qumulo-lock', 'qumulo-quarantine', 'qumulo-chmod', 'qumulo-rename', 'qumulo-email', 'qumulo-all-stop', 'qumulo-settle'];
  for (const type of TYPES) {
    it(`${type}.html registers ${type} with valid defaults, credentials matching the runtime, and help`, () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const vm = require('node:vm') as typeof import('node:vm');
      // The built HTML (scripts/build.js inlines the shared editor checks into it).
      const html = fs.readFileSync(path.join(REPO_ROOT, 'dist', 'nodes', `${type}.html`), 'utf8');
      const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
      assert.equal(scripts.length, 1);
      const registered: Record<string, { category: string; defaults: Record<string, { value: unknown; required?: boolean; validate?: (v: unknown) => unknown }>; credentials?: Record<string, unknown>; icon: string }> = {};
      const jq = () => ({ length: 0, val: () => undefined });
      vm.runInNewContext(scripts[0], { RED: { nodes: { registerType: (t: string, def: never) => (registered[t] = def) } }, $: jq, window: {}, URL, TextEncoder });
      const def = registered[type];
      assert.ok(def, 'registered');
      assert.equal(def.category, 'qumulo');
      assert.equal(def.icon, `${type}.svg`);
      assert.ok(fs.existsSync(path.join(REPO_ROOT, 'icons', def.icon)));
      for (const [name, prop] of Object.entries(def.defaults)) {
        // Required fields left empty on purpose (SMTP host, addresses) are for the user to fill.
        if (prop.validate && !(prop.required && prop.value === '')) assert.equal(prop.validate.call({ ...Object.fromEntries(Object.entries(def.defaults).map(([k, p]) => [k, p.value])) }, prop.value), true, `default of ${name} validates`);
      }
      if (type === 'qumulo-email') assert.deepEqual(Object.keys(def.credentials ?? {}), ['user', 'password']);
      else assert.equal(def.credentials, undefined);
      const help = fs.readFileSync(path.join(REPO_ROOT, 'locales', 'en-US', `${type}.html`), 'utf8');
      assert.match(help, new RegExp(`data-help-name="${type}"`));
      for (const section of ['<h3>Inputs</h3>', '<h3>Outputs</h3>', '<h3>Details</h3>', '<h3>Example</h3>']) assert.ok(help.includes(section), `${type} help has ${section}`);
      const labels = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'locales', 'en-US', `${type}.json`), 'utf8'));
      for (const key of [...html.matchAll(/data-i18n="(?:\[[a-z]+\])?([^"]+)"/g)].map((m) => m[1])) {
        const value = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], labels);
        assert.equal(typeof value, 'string', `label ${key} exists`);
      }
    });
  }
});
