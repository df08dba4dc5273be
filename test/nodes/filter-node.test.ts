// qumulo-filter in a real Node-RED runtime (node-red-node-test-helper): outputs, rule sources
// (dialog, YAML, file), rules/reload messages, invalid updates, admin endpoints, and attribute
// enrichment through the qumulo-cluster node's client against the simulator.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NodeMessage } from 'node-red';
import { normalizeNotification } from '../../core/event';
import type { NotificationType, QumuloEvent } from '../../core/event';
import { startSim } from '../support/sim';
import type { TestSim } from '../support/sim';
import { nodeTestHelper } from '../support/actions';
import { waitUntil as until } from '../support/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const filterNode = require('../../nodes/qumulo-filter');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const clusterNode = require('../../nodes/qumulo-cluster');

interface StatusCall {
  args: [{ fill?: string; shape?: string; text?: string }];
}
interface TestNode {
  on(event: string, listener: (...args: never[]) => void): void;
  receive(msg: unknown): void;
  status: { lastCall: StatusCall | null; getCalls(): StatusCall[] };
  error: { getCalls(): Array<{ args: unknown[] }> };
  warn: { getCalls(): Array<{ args: unknown[] }> };
}
interface SupertestResponse {
  status: number;
  body: Record<string, unknown>;
}
const helper = nodeTestHelper<TestNode, { post(url: string): { send(body?: unknown): Promise<SupertestResponse> } }>();

type FilterMsg = NodeMessage & { payload: QumuloEvent; rules?: Array<{ name: string; actions: string[]; tags: string[] }>; actions?: string[]; ruleset?: { version: number; hash: string } };

let seq = 0;
function event(absolutePath: string, type: NotificationType = 'child_file_added'): QumuloEvent {
  return normalizeNotification({ type, path: absolutePath.slice(1), spine: null }, { watchId: 'test', watchRoot: '/', seq: ++seq, receivedAt: Date.now() });
}

function eventMsg(absolutePath: string, type: NotificationType = 'child_file_added') {
  const payload = event(absolutePath, type);
  return { payload, topic: payload.type };
}

const RULES = {
  rules: [
    { name: 'lock-pdfs', actions: ['lock'], tags: ['legal'], when: { all: [{ directory: '/projects' }, { extension: 'pdf' }] } },
    { name: 'mail-projects', actions: ['email', 'lock'], when: { path: '/projects/**' } },
  ],
};

/** Collects both outputs and the errors reported through done(err) (seen by a catch node). */
async function load(filterConfig: Record<string, unknown>, extraNodes: unknown[] = [], credentials?: unknown) {
  const flow = [
    { id: 'tab', type: 'tab' },
    { id: 'f1', z: 'tab', type: 'qumulo-filter', wires: [['matched'], ['unmatched']], unmatched: true, outputs: 2, ...filterConfig },
    { id: 'matched', z: 'tab', type: 'helper' },
    { id: 'unmatched', z: 'tab', type: 'helper' },
    { id: 'catch', z: 'tab', type: 'catch', scope: ['f1'], x: 100, y: 100, wires: [['caught']] },
    { id: 'caught', z: 'tab', type: 'helper' },
    ...extraNodes,
  ];
  await helper.load([filterNode, clusterNode], flow, credentials);
  const out = { matched: [] as FilterMsg[], unmatched: [] as FilterMsg[], caught: [] as Array<NodeMessage & { error: { message: string } }>, order: [] as string[] };
  helper.getNode('matched').on('input', (msg: FilterMsg) => {
    out.matched.push(msg);
    out.order.push(msg.payload.path);
  });
  helper.getNode('unmatched').on('input', (msg: FilterMsg) => {
    out.unmatched.push(msg);
    out.order.push(msg.payload.path);
  });
  helper.getNode('caught').on('input', (msg: NodeMessage & { error: { message: string } }) => out.caught.push(msg));
  return { node: helper.getNode('f1'), out };
}


function lastStatus(node: TestNode): { fill?: string; shape?: string; text?: string } {
  return node.status.lastCall?.args[0] ?? {};
}

describe('qumulo-filter node', function () {
  this.timeout(30_000);
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-filter-'));
    return helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends matching events with msg.rules, msg.actions and msg.ruleset; others to output 2', async () => {
    const { node, out } = await load({ source: 'editor', rules: RULES });
    assert.match(lastStatus(node).text ?? '', /^2 rules · v1 · [0-9a-f]{8}$/);
    assert.equal(lastStatus(node).fill, 'green');
    node.receive(eventMsg('/projects/a/report.pdf'));
    node.receive(eventMsg('/projects/a/notes.txt'));
    node.receive(eventMsg('/home/u/report.pdf'));
    await until(() => out.order.length === 3, 'three messages');
    assert.deepEqual(out.order, ['/projects/a/report.pdf', '/projects/a/notes.txt', '/home/u/report.pdf']);
    const [pdf, txt] = out.matched;
    assert.deepEqual(pdf.rules, [
      { name: 'lock-pdfs', actions: ['lock'], tags: ['legal'] },
      { name: 'mail-projects', actions: ['email', 'lock'], tags: [] },
    ]);
    assert.deepEqual(pdf.actions, ['lock', 'email']);
    assert.deepEqual(txt.actions, ['email', 'lock']);
    assert.equal(pdf.topic, 'child_file_added');
    assert.equal(pdf.ruleset?.version, 1);
    assert.match(pdf.ruleset?.hash ?? '', /^[0-9a-f]{8}$/);
    assert.equal(out.unmatched.length, 1);
    assert.equal(out.unmatched[0].rules, undefined);
    assert.deepEqual(out.unmatched[0].ruleset, pdf.ruleset);
  });

  it('with one output, drops events that match nothing', async () => {
    const flow = [
      { id: 'f1', type: 'qumulo-filter', source: 'yaml', yaml: 'rules:\n  - name: pdf\n    when: {extension: pdf}\n', wires: [['matched']] },
      { id: 'matched', type: 'helper' },
    ];
    await helper.load([filterNode], flow);
    const matched: FilterMsg[] = [];
    helper.getNode('matched').on('input', (msg: FilterMsg) => matched.push(msg));
    const node = helper.getNode('f1');
    for (const p of ['/a.txt', '/b.pdf', '/c.doc', '/d.PDF']) node.receive(eventMsg(p));
    await until(() => matched.length === 2, 'two matches');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      matched.map((m) => m.payload.path),
      ['/b.pdf', '/d.PDF'],
    );
  });

  it('replaces the rules from a message (object or YAML) and keeps them when the message is invalid', async () => {
    const { node, out } = await load({ source: 'editor', rules: RULES });
    node.receive({ topic: 'rules', payload: { rules: [{ name: 'txt', actions: ['rename'], when: { extension: 'txt' } }] } });
    node.receive(eventMsg('/projects/a/notes.txt'));
    node.receive({ topic: 'rules', payload: 'rules:\n  - name: docs\n    when: {extension: [doc, docx]}\n' });
    node.receive(eventMsg('/x/y.docx'));
    node.receive({ topic: 'rules', payload: 'rules:\n  - name: broken\n    when: {extention: pdf}\n' });
    node.receive(eventMsg('/x/z.docx'));
    await until(() => out.matched.length === 3 && out.caught.length === 1, 'three events and one error');
    assert.deepEqual(out.matched[0].rules?.map((r) => r.name), ['txt']);
    assert.equal(out.matched[0].ruleset?.version, 2);
    assert.deepEqual(out.matched[1].rules?.map((r) => r.name), ['docs']);
    assert.equal(out.matched[1].ruleset?.version, 3);
    // The invalid set was rejected: same rules, same version.
    assert.deepEqual(out.matched[2].rules?.map((r) => r.name), ['docs']);
    assert.deepEqual(out.matched[2].ruleset, out.matched[1].ruleset);
    assert.match(out.caught[0].error.message, /Rules in msg.payload rejected, still using v3/);
    assert.match(out.caught[0].error.message, /line 3:12 rule "broken" rules\[0\]\.when\.extention: unknown condition "extention" \(did you mean "extension"\?\)/);
    assert.equal(lastStatus(node).fill, 'red');
    assert.match(lastStatus(node).text ?? '', /1 problem in rules \(kept v3 · [0-9a-f]{8}\)/);
    // A good set turns the status green again.
    node.receive({ topic: 'rules', payload: RULES });
    await until(() => lastStatus(node).fill === 'green', 'green status');
    assert.match(lastStatus(node).text ?? '', /^2 rules · v4 ·/);
  });

  it('refuses payloads that are not Qumulo events with an error a Catch node sees', async () => {
    const { node, out } = await load({ source: 'editor', rules: RULES });
    node.receive({ payload: 'hello' });
    node.receive({ payload: { type: 'file_created', path: '/a' } });
    await until(() => out.caught.length === 2, 'two errors');
    assert.match(out.caught[0].error.message, /msg.payload is not a Qumulo event/);
    assert.equal(out.order.length, 0);
  });

  it('reads a YAML file, re-reads it when it changes (also when replaced by rename), keeps the last good rules', async () => {
    const file = path.join(dir, 'watched_items.yml');
    fs.writeFileSync(file, 'rules:\n  - name: v1\n    when: {extension: pdf}\n');
    const { node, out } = await load({ source: 'file', file, watch: true, debounce: 20 });
    const probe = async (p: string) => {
      const before = out.order.length;
      node.receive(eventMsg(p));
      await until(() => out.order.length === before + 1, 'the probe event');
      return out.matched.length > 0 && out.order[out.order.length - 1] === p && out.matched[out.matched.length - 1].payload.path === p ? out.matched[out.matched.length - 1].rules!.map((r) => r.name) : [];
    };
    assert.deepEqual(await probe('/a.pdf'), ['v1']);

    fs.writeFileSync(file, 'rules:\n  - name: v2\n    when: {extension: txt}\n');
    await until(() => /· v2 ·/.test(lastStatus(node).text ?? ''), 'v2 from an in-place write');
    assert.deepEqual(await probe('/a.txt'), ['v2']);

    // An editor that saves to a temporary file and renames it over the original.
    fs.writeFileSync(file + '.tmp', 'rules:\n  - name: v3\n    when: {extension: csv}\n');
    fs.renameSync(file + '.tmp', file);
    await until(() => /· v3 ·/.test(lastStatus(node).text ?? ''), 'v3 from a rename');
    assert.deepEqual(await probe('/a.csv'), ['v3']);

    fs.writeFileSync(file, 'rules:\n  - name: v4\n    when: {extension: [csv}\n');
    await until(() => lastStatus(node).fill === 'red', 'red status for the invalid file');
    assert.match(lastStatus(node).text ?? '', /kept v3/);
    const logged = node.error.getCalls().map((c) => String(c.args[0]));
    assert.ok(logged.some((text) => /still using v3/.test(text) && /watched_items\.yml:3:\d+/.test(text)), logged.join('\n'));
    assert.deepEqual(await probe('/b.csv'), ['v3']);

    fs.writeFileSync(file, 'rules:\n  - name: v5\n    when: {extension: csv}\n');
    await until(() => /· v4 ·/.test(lastStatus(node).text ?? ''), 'the fixed file (version 4)');
    assert.equal(lastStatus(node).fill, 'green');
    assert.deepEqual(await probe('/c.csv'), ['v5']);
  });

  it('re-reads the file on a reload message, in order with the events around it', async () => {
    const file = path.join(dir, 'rules.yml');
    fs.writeFileSync(file, 'rules:\n  - name: old\n    when: {extension: pdf}\n');
    const { node, out } = await load({ source: 'file', file, watch: false });
    fs.writeFileSync(file, 'rules:\n  - name: new\n    when: {extension: pdf}\n');
    node.receive(eventMsg('/1.pdf'));
    node.receive({ topic: 'reload' });
    node.receive(eventMsg('/2.pdf'));
    await until(() => out.matched.length === 2, 'two events');
    assert.deepEqual(
      out.matched.map((m) => m.rules![0].name),
      ['old', 'new'],
    );
    // A reload message also restores the configured rules after a rules message.
    node.receive({ topic: 'rules', payload: { rules: [{ name: 'temporary', when: { extension: 'pdf' } }] } });
    node.receive(eventMsg('/3.pdf'));
    node.receive({ topic: 'reload' });
    node.receive(eventMsg('/4.pdf'));
    await until(() => out.matched.length === 4, 'four events');
    assert.deepEqual(
      out.matched.slice(2).map((m) => m.rules![0].name),
      ['temporary', 'new'],
    );
  });

  it('admin endpoints: the reload button and the dialog check (validation and YAML conversion)', async () => {
    const file = path.join(dir, 'rules.yml');
    fs.writeFileSync(file, 'rules:\n  - name: a\n    when: {extension: pdf}\n');
    await load({ source: 'file', file, watch: false });
    fs.writeFileSync(file, 'rules:\n  - name: b\n    when: {extension: pdf}\n');
    // The editor's reload button posts an empty JSON object: the admin guard takes JSON only.
    const reloaded = await helper.request().post('/qumulo-filter/f1/reload').send({});
    assert.equal(reloaded.status, 200);
    assert.equal(reloaded.body.version, 2);
    assert.equal(reloaded.body.changed, true);
    fs.writeFileSync(file, 'rules:\n  - name: b\n    when: {extension: [pdf}\n');
    const refused = await helper.request().post('/qumulo-filter/f1/reload').send({});
    assert.equal(refused.status, 400);
    assert.equal(refused.body.version, 2, 'still the last good version');
    assert.match(JSON.stringify(refused.body.problems), /YAML syntax/);
    assert.equal((await helper.request().post('/qumulo-filter/nope/reload').send({})).status, 404);

    const check = await helper.request().post('/qumulo-filter/check').send({ source: 'editor', rules: RULES });
    assert.equal(check.body.ok, true);
    assert.equal(check.body.rules, 2);
    assert.match(String(check.body.yaml), /name: lock-pdfs/);
    const fromYaml = await helper.request().post('/qumulo-filter/check').send({ source: 'yaml', yaml: String(check.body.yaml) });
    assert.equal(fromYaml.body.hash, check.body.hash, 'YAML round trip keeps the rules');
    assert.deepEqual(fromYaml.body.document, check.body.document);
    const bad = await helper.request().post('/qumulo-filter/check').send({ source: 'yaml', yaml: 'rules:\n  - name: x\n    when: {all: []}\n' });
    assert.equal(bad.body.ok, false);
    assert.match(JSON.stringify(bad.body.problems), /line 3:\d+ rule \\"x\\" rules\[0\]\.when\.all: empty \\"all\\" group/);
  });

  describe('attribute enrichment through the cluster client', () => {
    let sim: TestSim;
    before(async () => {
      sim = await startSim({ files: { 'media/big.bin': 'x'.repeat(5000), 'media/small.bin': 'tiny', 'media/other.txt': 'x'.repeat(9000) } });
    });
    after(() => sim.stop());

    it('fetches size when a rule needs it, keeps the event order, evaluates without attributes when the lookup fails', async () => {
      const cluster = { id: 'c1', type: 'qumulo-cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http' };
      const rules = { rules: [{ name: 'big', actions: ['email'], when: { size: { gt: '4KB' } } }, { name: 'txt', when: { extension: 'txt' } }] };
      const { node, out } = await load({ source: 'editor', rules, enrich: true, cluster: 'c1', enrichTtl: 5 }, [cluster], { c1: { username: 'admin', password: 'admin' } });
      const paths = ['/media/big.bin', '/media/small.bin', '/media/missing.bin', '/media/other.txt', '/media/big.bin'];
      for (const p of paths) node.receive(eventMsg(p, 'child_data_written'));
      await until(() => out.order.length === paths.length, 'every event');
      assert.deepEqual(out.order, paths, 'order kept while waiting for attributes');
      assert.deepEqual(
        out.matched.map((m) => [m.payload.path, m.payload.attributes?.size, m.rules!.map((r) => r.name).join('+')]),
        [
          ['/media/big.bin', 5000, 'big'],
          ['/media/other.txt', 9000, 'big+txt'],
          ['/media/big.bin', 5000, 'big'],
        ],
      );
      assert.equal(out.unmatched[0].payload.attributes?.size, 4);
      assert.equal(out.unmatched[1].payload.attributes, undefined, 'the missing file has no attributes');
      const warnings = node.warn.getCalls().map((c) => String(c.args[0]));
      assert.ok(warnings.some((w) => /could not fetch attributes of \/media\/missing\.bin/.test(w)), warnings.join('\n'));
    });
  });
});
