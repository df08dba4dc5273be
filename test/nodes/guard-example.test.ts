// The loop-guard example (examples/60 - Loop guard - rename once, not forever.json) in an embedded
// Node-RED runtime through the real admin API, against the simulator: it is listed under
// Import → Examples and deploys with QUMULO_* set for the simulator (as `npm start` sets them); as
// shipped the rename is a dry run and renames nothing; with Dry run unticked (what the example tells
// the user to do) it renames a new file exactly once (the rename's echo is dropped).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watchRegistry } from '../../core/watch/registry';
import { REPO_ROOT, startRuntime, type EmbeddedRuntime, type FlowNode } from '../support/runtime';
import { startSim, type TestSim } from '../support/sim';
import { waitUntil } from '../support/sim-client';
import { exampleEnv } from '../support/shipping';

const EXAMPLE = '60 - Loop guard - rename once, not forever';
const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string };

describe('loop guard example flow', function () {
  this.timeout(60_000);
  let sim: TestSim;
  let runtime: EmbeddedRuntime;

  let restoreEnv = () => {};

  before(async () => {
    sim = await startSim({ files: { 'incoming/': '' } });
    restoreEnv = exampleEnv(sim.sim.clusterEnv());
    runtime = await startRuntime();
  });
  after(async () => {
    await runtime?.stop();
    watchRegistry.closeAll();
    await sim?.stop();
    restoreEnv();
  });

  it('is listed under Import → Examples, deploys without errors, and renames each new file once', async () => {
    const list = await runtime.request<Array<{ fn?: string }>>('GET', `/library/examples/flows/${PACKAGE.name}`);
    assert.ok(list.body.some((entry) => entry.fn === EXAMPLE), JSON.stringify(list.body));
    const file = await runtime.request<FlowNode[]>('GET', `/library/examples/flows/${PACKAGE.name}/${encodeURIComponent(EXAMPLE)}`);
    assert.equal(file.status, 200);
    const rename = file.body.find((node) => node.type === 'qumulo-rename');
    assert.equal(rename?.dryRun, true, 'the rename ships as a dry run');
    const logsBefore = runtime.logs.length;
    let renameStatus = '';
    (runtime.RED.events as import('node:events').EventEmitter).on('node-status', (e: { id: string; status?: { text?: string } }) => {
      if (e.id === rename?.id) renameStatus = String(e.status?.text ?? '');
    });

    // As shipped: the dry run reports and renames nothing.
    await runtime.deploy(file.body, 'full');
    await waitUntil(() => watchRegistry.list().some((w) => w.status.state === 'watching' && w.consumers > 0), 'the watch streams', 15_000);
    fs.writeFileSync(sim.disk('incoming/draft.txt'), 'draft');
    // The rename node counts what it would have done ("dry-run · 1 would, …").
    await waitUntil(() => /dry-run · [1-9]\d* would/.test(renameStatus), `the dry run's status (now "${renameStatus}")`, 15_000);
    assert.deepEqual(fs.readdirSync(sim.disk('incoming')).sort(), ['draft.txt'], 'the dry run renamed something');
    fs.rmSync(sim.disk('incoming/draft.txt'));

    // Dry run unticked.
    const flows = file.body.map((node) => (node.type === 'qumulo-rename' ? { ...node, dryRun: false } : node));
    await runtime.deploy(flows, 'full');
    await waitUntil(() => watchRegistry.list().some((w) => w.status.state === 'watching' && w.consumers > 0), 'the watch streams', 15_000);

    fs.writeFileSync(sim.disk('incoming/report.pdf'), 'pdf');
    await waitUntil(() => fs.existsSync(sim.disk('incoming/report-x.pdf')), 'report.pdf renamed', 15_000);
    // Events are handled in order: once a later file has been renamed, the echo of the first
    // rename (its moved_to) has been judged too. Had it passed, report-x-x.pdf would exist.
    fs.writeFileSync(sim.disk('incoming/marker.txt'), 'm');
    await waitUntil(() => fs.existsSync(sim.disk('incoming/marker-x.txt')), 'marker.txt renamed', 15_000);
    assert.deepEqual(fs.readdirSync(sim.disk('incoming')).sort(), ['marker-x.txt', 'report-x.pdf']);

    const problems = runtime.logs.slice(logsBefore).filter((l) => l.level <= 30 && (l.type?.startsWith('qumulo') || /qumulo/i.test(l.msg)));
    assert.deepEqual(problems, []);
  });
});
