// The qumulo-filter dialog in a real browser (Debian's Chromium via playwright-core) on an embedded
// Node-RED 4.1: a person builds rules without writing YAML — adds a rule, conditions and a NOT
// group, checks them (and sees a problem named), converts to YAML and back, saves and deploys with
// the Deploy button. The deployed node then matches exactly what was built, and its status names
// the rule set's hash. No browser console errors along the way.

import * as assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { normalizeNotification } from '../../core/event';
import type { NotificationType } from '../../core/event';
import { compileRuleSet, ruleSetFromDocument } from '../../core/rules';
import { dialogReady, launchChromium, screenshot, watchConsole } from '../support/browser';
import type { Chromium, ConsoleProblems } from '../support/browser';
import { startRuntime } from '../support/runtime';
import type { EmbeddedRuntime, FlowNode } from '../support/runtime';

const FLOW: FlowNode[] = [
  { id: 'tab', type: 'tab', label: 'filter editor' },
  {
    id: 'f1',
    type: 'qumulo-filter',
    z: 'tab',
    name: '',
    source: 'editor',
    rules: { version: 1, rules: [{ name: 'pdfs', actions: ['lock'], tags: [], when: { all: [{ type: 'child_file_added' }, { extension: 'pdf' }] } }] },
    yaml: 'rules: []\n',
    file: '',
    watch: true,
    debounce: 250,
    unmatched: false,
    outputs: 1,
    enrich: false,
    cluster: '',
    enrichTtl: 5,
    x: 200,
    y: 100,
    wires: [[]],
  },
];

function event(absolutePath: string, type: NotificationType = 'child_file_added') {
  return normalizeNotification({ type, path: absolutePath.slice(1), spine: null }, { watchId: 'w', watchRoot: '/', seq: 1, receivedAt: 0 });
}

describe('qumulo-filter dialog in a real browser', function () {
  this.timeout(120_000);
  let runtime: EmbeddedRuntime;
  let browser: Chromium;
  let page: Page;
  let problems: ConsoleProblems;
  const statuses = new Map<string, { text?: string; fill?: string }>();
  const onStatus = (e: { id: string; status: { text?: string; fill?: string } }) => statuses.set(e.id, e.status ?? {});

  before(async () => {
    runtime = await startRuntime({ flows: FLOW });
    (runtime.RED.events as import('node:events').EventEmitter).on('node-status', onStatus);
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
    problems = watchConsole(page);
    await page.goto(runtime.url + '/');
    await page.waitForFunction(() => {
      const RED = (window as unknown as { RED?: { nodes?: { node(id: string): unknown } } }).RED;
      return !!RED?.nodes?.node('f1') && document.querySelector('#red-ui-header-button-deploy') !== null;
    });
    // A first start may ask about update notifications; answer like a user would.
    const prompt = page.locator('.red-ui-popover.red-ui-dialog button');
    if ((await prompt.count()) > 0) await prompt.nth(1).click();
  });

  after(async () => {
    (runtime?.RED.events as import('node:events').EventEmitter | undefined)?.removeListener('node-status', onStatus);
    await browser?.close();
    await runtime?.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await screenshot(page, 'failed-filter-editor').catch(() => undefined);
  });

  it('builds, checks, converts, saves and deploys rules without writing YAML', async () => {
    await page.evaluate(() => {
      const RED = (window as unknown as { RED: { editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown } } }).RED;
      RED.editor.edit(RED.nodes.node('f1'));
    });
    await dialogReady(page, '#node-dialog-ok');
    const rules = page.locator('#qumulo-filter-rules > li');
    assert.equal(await rules.count(), 1);
    assert.equal(await rules.nth(0).locator('.qumulo-filter-rule-name').inputValue(), 'pdfs');

    // Rule 1: add "in directory /projects, not its subdirectories" and a NONE group with "name ~*".
    const firstRoot = rules.nth(0).locator('.qumulo-filter-when > .qumulo-filter-group');
    const rootFoot = firstRoot.locator(':scope > .qumulo-filter-group-foot');
    await rootFoot.locator('.qumulo-filter-add-condition').click();
    const newRow = firstRoot.locator(':scope > .qumulo-filter-items > .qumulo-filter-condition').last();
    await newRow.locator('.qumulo-filter-kind').selectOption('directory');
    await newRow.locator('textarea').fill('/projects');
    await newRow.locator('input[type=checkbox]').uncheck();
    await rootFoot.locator('.qumulo-filter-add-group').click();
    const group = firstRoot.locator(':scope > .qumulo-filter-items > .qumulo-filter-group').last();
    await group.locator('.qumulo-filter-group-kind').selectOption('none');
    await group.locator('.qumulo-filter-condition textarea').fill('~*');
    // A predicate with no widget of its own (mtimeOlderThan): offered from the generated table, edited as text.
    await group.locator(':scope > .qumulo-filter-group-foot .qumulo-filter-add-condition').click();
    const ageRow = group.locator('.qumulo-filter-condition').last();
    await ageRow.locator('.qumulo-filter-kind').selectOption('mtimeOlderThan');
    assert.equal(await ageRow.locator('.qumulo-filter-kind option:checked').innerText(), 'modified longer ago than');
    await ageRow.locator('input[type=text]').fill('30d');

    // Rule 2 from the "+ rule" button: executables anywhere, two actions.
    await page.locator('.red-ui-editableList-addButton').click();
    assert.equal(await rules.count(), 2);
    const second = rules.nth(1);
    await second.locator('.qumulo-filter-rule-name').fill('executables');
    await second.locator('.qumulo-filter-actions').fill('quarantine, email');
    const secondRows = second.locator('.qumulo-filter-condition');
    await secondRows.nth(1).locator('input[type=text]').fill('exe, scr');
    // Drop the type condition of the template: any notification type.
    await secondRows.nth(0).locator('.qumulo-filter-remove').click();

    // Check: valid.
    await page.locator('#qumulo-filter-check').click();
    const result = page.locator('#qumulo-filter-check-result');
    await page.waitForFunction(() => document.querySelector('#qumulo-filter-check-result.qumulo-filter-good') !== null);
    assert.match(await result.innerText(), /2 enabled rules, valid \(hash [0-9a-f]{8}\)/);
    await screenshot(page, 'qumulo-filter-dialog');

    // A mistake is named with the rule and where it is.
    await second.locator('.qumulo-filter-rule-name').fill('');
    await page.locator('#qumulo-filter-check').click();
    await page.waitForFunction(() => document.querySelector('#qumulo-filter-check-result.qumulo-filter-bad') !== null);
    assert.match(await result.innerText(), /rule "#1" rules\[1\]\.name: every rule needs a name|rules\[1\]\.name: the rule name must be non-empty text/);
    await second.locator('.qumulo-filter-rule-name').fill('executables');

    // To YAML and back.
    await page.locator('#qumulo-filter-to-yaml').click();
    await page.waitForFunction(() => (document.querySelector('#node-input-source') as HTMLSelectElement).value === 'yaml');
    const yaml = await page.evaluate(() => (window as unknown as { RED: { nodes: { node(id: string): { yamlEditor: { getValue(): string } } } } }).RED.nodes.node('f1').yamlEditor.getValue());
    assert.match(yaml, /name: executables/);
    assert.match(yaml, /~\*/);
    await page.locator('.qumulo-filter-source-yaml.qumulo-filter-to-visual').click();
    await page.waitForFunction(() => (document.querySelector('#node-input-source') as HTMLSelectElement).value === 'editor');
    assert.equal(await rules.count(), 2);
    assert.equal(await rules.nth(1).locator('.qumulo-filter-actions').inputValue(), 'quarantine, email');

    // Done, then Deploy.
    await page.locator('#node-dialog-ok').click();
    await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
    await page.locator('#red-ui-header-button-deploy').click();
    let deployed: FlowNode | undefined;
    const deadline = Date.now() + 20_000;
    for (;;) {
      deployed = (await runtime.getFlows()).flows.find((n) => n.id === 'f1');
      const doc = deployed?.rules as { rules?: unknown[] } | undefined;
      if (doc?.rules?.length === 2) break;
      if (Date.now() > deadline) throw new Error('the deploy never reached the runtime: ' + JSON.stringify(deployed));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // The deployed rules mean what was built.
    const compiled = compileRuleSet(ruleSetFromDocument(deployed!.rules));
    const names = (path: string, type?: NotificationType) => compiled.match(event(path, type)).map((r) => r.rule.name);
    assert.deepEqual(names('/projects/offer.pdf'), ['pdfs']);
    assert.deepEqual(names('/projects/~offer.pdf'), [], 'the NONE group');
    assert.deepEqual((deployed!.rules as { rules: Array<{ when: unknown }> }).rules[0].when, {
      all: [{ type: 'child_file_added' }, { extension: 'pdf' }, { directory: { path: '/projects', subtree: false } }, { not: { any: [{ name: '~*' }, { mtimeOlderThan: '30d' }] } }],
    });
    assert.deepEqual(names('/projects/p1/offer.pdf'), [], 'direct children only');
    assert.deepEqual(names('/projects/offer.pdf', 'child_data_written'), []);
    assert.deepEqual(names('/home/u/setup.EXE', 'child_data_written'), ['executables']);
    assert.deepEqual(compiled.rules[1].rule.actions, ['quarantine', 'email']);
    const deadlineStatus = Date.now() + 10_000;
    while (!/^2 rules · v1 · /.test(statuses.get('f1')?.text ?? '') && Date.now() < deadlineStatus) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(statuses.get('f1')?.text, `2 rules · v1 · ${compiled.hash}`);
    assert.deepEqual(problems.errors, []);
  });

  it('switches to a YAML file source with the file settings, and the node shows a reload button', async () => {
    await page.evaluate(() => {
      const RED = (window as unknown as { RED: { editor: { edit(n: unknown): void }; nodes: { node(id: string): unknown } } }).RED;
      RED.editor.edit(RED.nodes.node('f1'));
    });
    await dialogReady(page, '#node-dialog-ok');
    await page.locator('#node-input-source').selectOption('file');
    assert.equal(await page.locator('#node-input-file').isVisible(), true);
    assert.equal(await page.locator('#qumulo-filter-rules').isVisible(), false);
    // Relative to the user directory: the only place (with settings' qumuloFlow.ruleFileDirs) Check reads.
    await page.locator('#node-input-file').fill('nonexistent/watched_items.yml');
    await page.locator('#qumulo-filter-check').click();
    await page.waitForFunction(() => document.querySelector('#qumulo-filter-check-result.qumulo-filter-bad') !== null);
    assert.match(await page.locator('#qumulo-filter-check-result').innerText(), /does not exist/);
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
    assert.deepEqual(problems.errors, []);
  });
});
