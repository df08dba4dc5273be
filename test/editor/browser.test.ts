// The editor in a real browser (Debian's Chromium, headless, playwright-core) against what
// `npm start` runs (scripts/start.js: embedded Node-RED + the built-in simulator over a demo-data
// dir), on free ports with its own user and demo-data dirs:
// - the palette shows every node type of package.json under the "qumulo" category;
// - every example imports through the menu (Import → Examples → this package) and deploys with the
//   Deploy button, with no node error in the debug sidebar or the log and no red status;
// - the debug sidebar shows change events after a file is created in the demo data;
// - every node's edit dialog opens on a node dragged from the palette, shows its help, and saves
//   with Done; config nodes' dialogs open from the nodes that use them and save with Add;
// - no errors in the browser console, from start to end.
// Node types and examples added later are covered without editing this file. Screenshots go to
// test-artifacts/ (the README's picture is taken from there).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { type Chromium, type ConsoleProblems, DOC_IMAGES, type NpmStart, dialogReady, launchChromium, screenshot, startNpmStart, watchConsole } from '../support/browser';
import { FIELD_CASES } from '../support/field-cases';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import { type Example, type FlowNode, type TestSmtp, IRREVERSIBLE_ACTIONS, REPO_ROOT, bundleTypes, configTypes, readPackage, startSmtp, validate, waitUntil } from '../support/shipping';

const PACKAGE = readPackage();
const EXAMPLES: Example[] = validate.listExamples(REPO_ROOT);
const UI_TIMEOUT = 60_000;

/**
 * Where an example's nodes name outside services, and what the test types into their dialogs. The
 * cluster and Redis nodes read QUMULO_* and REDIS_URL, which npm start sets (the simulator) and this
 * test passes on (its redis-server); only the e-mail server is typed in.
 */
interface Services {
  smtp?: { host: string; port: number };
}
const SERVICE_FIELDS: Record<string, { config: boolean; fields(s: Services): Record<string, string> | null }> = {
  'qumulo-email': { config: false, fields: (s) => (s.smtp ? { host: s.smtp.host, port: String(s.smtp.port), security: 'none' } : null) },
};

interface EditorNodeState {
  id: string;
  type: string;
  z?: string;
  valid?: boolean;
  status?: { fill?: string; shape?: string; text?: string };
}

describe('the editor in a real browser (Chromium) on npm start', function () {
  this.timeout(240_000);
  let app: NpmStart | undefined;
  let browser: Chromium | undefined;
  let page: Page;
  let consoleProblems: ConsoleProblems;
  let redis: RedisServer | undefined;
  let smtp: TestSmtp | undefined;
  const external: string[] = [];
  const allExampleNodes = EXAMPLES.flatMap((e) => e.flow ?? []);

  before(async function () {
    this.timeout(300_000);
    if (allExampleNodes.some((n) => n.type === 'qumulo-redis')) redis = await startRedisServer({ appendOnly: true });
    if (allExampleNodes.some((n) => n.type === 'qumulo-email')) smtp = await startSmtp();
    app = await startNpmStart(redis ? { REDIS_URL: redis.url } : {});
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    consoleProblems = watchConsole(page);
    await page.goto(app.url);
    await page.waitForFunction(
      () => {
        const w = window as unknown as { RED?: { nodes?: unknown } };
        return !!w.RED?.nodes && document.querySelectorAll('.red-ui-palette-node').length > 0 && document.querySelector('#red-ui-header-button-deploy') !== null;
      },
      null,
      { timeout: 120_000 },
    );
    // First start: Node-RED asks about update notifications. Answer "no" like a user would.
    await page.waitForFunction(() => {
      const RED = (window as unknown as { RED: { settings: { telemetryEnabled?: boolean } } }).RED;
      return RED.settings.telemetryEnabled !== undefined || document.querySelector('.red-ui-popover.red-ui-dialog') !== null;
    });
    const telemetry = page.locator('.red-ui-popover.red-ui-dialog button');
    if ((await telemetry.count()) > 0) await telemetry.nth(1).click();
    await page.waitForFunction(() => document.querySelector('.red-ui-popover.red-ui-dialog') === null);
  });

  after(async () => {
    if (page && consoleProblems) {
      fs.mkdirSync(path.join(REPO_ROOT, 'test-artifacts'), { recursive: true });
      fs.writeFileSync(path.join(REPO_ROOT, 'test-artifacts', 'browser-console.txt'), [...consoleProblems.errors, ...external.map((e) => `(outside the editor, ignored) ${e}`)].join('\n') + '\n');
      if (app) fs.writeFileSync(path.join(REPO_ROOT, 'test-artifacts', 'npm-start.log'), app.output());
    }
    await browser?.close();
    await app?.stop();
    await redis?.stop();
    await smtp?.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      await screenshot(page, `failed-${(this.currentTest.title || 'test').replace(/[^\w-]+/g, '_').slice(0, 80)}`).catch(() => undefined);
      // Leave the editor usable for the next test: close dialogs and edit trays a failure left open.
      await page
        .evaluate(() => {
          const w = window as unknown as { RED: { tray: { close(): void } }; $: (s: string) => { dialog(cmd: string): void; length: number } };
          for (let i = 0; i < 5; i++) w.RED.tray.close();
          const dialogs = w.$('.ui-dialog-content:visible');
          if (dialogs.length) dialogs.dialog('close');
        })
        .catch(() => undefined);
      await page.keyboard.press('Escape').catch(() => undefined);
    }
  });

  /** Console errors from the editor (its own origin); failures of outside resources are recorded, not counted. */
  /** Console lines a test causes on purpose (the browser logs every refused request). */
  const deliberate: RegExp[] = [];
  function editorConsoleErrors(mark = 0): string[] {
    const origin = new URL(app!.url).origin;
    const problems: string[] = [];
    for (const line of consoleProblems.since(mark)) {
      if (deliberate.some((pattern) => pattern.test(line))) continue;
      const urls = line.match(/https?:\/\/[^\s)]+/g) ?? [];
      if (urls.length > 0 && urls.every((u) => !u.startsWith(origin))) {
        if (!external.includes(line)) external.push(line);
        continue;
      }
      problems.push(line);
    }
    return problems;
  }

  async function editorNodes(): Promise<EditorNodeState[]> {
    return page.evaluate(() => {
      type N = { id: string; type: string; z?: string; valid?: boolean; status?: { fill?: string; shape?: string; text?: string } };
      const RED = (window as unknown as { RED: { nodes: { eachNode(cb: (n: N) => void): void; eachConfig(cb: (n: N) => void): void } } }).RED;
      const out: EditorNodeState[] = [];
      const take = (n: N) => out.push({ id: n.id, type: n.type, z: n.z, valid: n.valid, status: n.status ? { fill: n.status.fill, shape: n.status.shape, text: n.status.text } : undefined });
      RED.nodes.eachNode(take);
      RED.nodes.eachConfig(take);
      return out;
    });
  }

  /** Fills the open dialog's fields (`node-input-*` or `node-config-input-*`) as a user would. */
  async function fillFields(prefix: string, fields: Record<string, string>): Promise<void> {
    for (const [name, value] of Object.entries(fields)) {
      const field = page.locator(`#${prefix}${name}`);
      // The tray shows its buttons before oneditprepare has finished building the form.
      await field.waitFor({ state: 'attached' }).catch(() => undefined);
      assert.equal(await field.count(), 1, `dialog field #${prefix}${name} not found`);
      const tag = await field.evaluate((el) => el.tagName.toLowerCase());
      if (tag === 'select') await field.selectOption(value);
      else await field.fill(value);
    }
  }

  describe('1. the editor and its palette', () => {
  it('the editor loads without console errors', () => {
    assert.deepEqual(editorConsoleErrors(), []);
  });

  it('the palette shows every node type of package.json under the "qumulo" category', async () => {
    const config = configTypes();
    const palette = await page.evaluate(() =>
      [...document.querySelectorAll('.red-ui-palette-node[data-palette-type]')].map((el) => ({
        type: el.getAttribute('data-palette-type') ?? '',
        category: el.closest('.red-ui-palette-category')?.id ?? '',
        label: (el.querySelector('.red-ui-palette-label')?.textContent ?? '').trim(),
        lines: el.querySelector('.red-ui-palette-label')?.querySelectorAll('br').length ?? 0,
        icon: !!el.querySelector('.red-ui-palette-icon'),
      })),
    );
    for (const type of bundleTypes()) {
      const registered = await page.evaluate((t) => {
        const def = (window as unknown as { RED: { nodes: { getType(t: string): { category?: string } | null } } }).RED.nodes.getType(t);
        return def ? def.category ?? null : 'missing';
      }, type);
      assert.notEqual(registered, 'missing', `${type} is not registered in the editor (no HTML loaded)`);
      if (config.has(type)) {
        assert.equal(registered, 'config', `${type}`);
        continue;
      }
      const entry = palette.find((p) => p.type === type);
      assert.ok(entry, `${type} not in the palette`);
      assert.equal(entry.category, 'red-ui-palette-container-qumulo', `${type} is in ${entry.category}`);
      assert.ok(entry.label.length > 0, `${type} has no palette label`);
      // One line, and not "qumulo …" again under the "qumulo" category.
      assert.equal(entry.lines, 0, `${type}: palette label "${entry.label}" wraps`);
      assert.doesNotMatch(entry.label, /^qumulo\b/i, `${type}: palette label repeats the category`);
      assert.ok(entry.icon, `${type} has no icon`);
    }
    const category = page.locator('#red-ui-palette-container-qumulo');
    await category.scrollIntoViewIfNeeded();
    await screenshot(page, 'palette');
  });
  });

  /** Menu → Import → Examples → <package> → (folders) → example → Import; resolves with the imported nodes. */
  async function importExample(example: Example): Promise<EditorNodeState[]> {
    const before = new Set((await editorNodes()).map((n) => n.id));
    await page.click('#red-ui-header-button-sidemenu');
    await page.click('#menu-item-import');
    await page.click('#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples a');
    const tree = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
    const label = (text: string) => tree.locator('.red-ui-treeList-label-text').getByText(text, { exact: true });
    for (const part of [PACKAGE.name, ...example.name.split('/')]) {
      await label(part).waitFor();
      await label(part).click();
    }
    await page.locator('#red-ui-clipboard-dialog-ok').click();
    // The dialog closes first; the editor fetches the flow and imports it right after.
    const expected = example.flow!.filter((n) => n.type !== 'tab');
    let imported: EditorNodeState[] = [];
    await waitUntil(
      async () => {
        imported = (await editorNodes()).filter((n) => !before.has(n.id));
        return imported.length >= expected.length;
      },
      UI_TIMEOUT,
      `${example.name}: nodes imported`,
      100,
    ).catch(() => undefined);
    // With their ids: nothing was renamed on import.
    assert.deepEqual(imported.map((n) => n.id).sort(), expected.map((n) => n.id).sort(), 'imported nodes');
    return imported;
  }

  /** Types this test's service addresses into the example's cluster / Redis / email dialogs. */
  async function pointAtTestServices(example: Example): Promise<void> {
    const services: Services = { smtp: smtp ? { host: smtp.host, port: smtp.port } : undefined };
    for (const node of example.flow!) {
      const spec = SERVICE_FIELDS[node.type];
      const fields = spec?.fields(services);
      if (!spec || !fields) continue;
      if (spec.config) {
        await page.evaluate(([type, id]) => (window as unknown as { RED: { editor: { editConfig(a: string, t: string, i: string): void } } }).RED.editor.editConfig('', type, id), [node.type, node.id]);
        await dialogReady(page, '#node-config-dialog-ok');
        await fillFields('node-config-input-', fields);
        await page.locator('#node-config-dialog-ok').click();
        await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
      } else {
        await showTab(String(node.z));
        await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${node.id}"] .red-ui-flow-node`).first().dblclick();
        await dialogReady(page, '#node-dialog-ok');
        await fillFields('node-input-', fields);
        await page.locator('#node-dialog-ok').click();
        await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
      }
    }
  }

  async function showTab(id: string): Promise<void> {
    await page.evaluate((z) => (window as unknown as { RED: { workspaces: { show(z: string): void } } }).RED.workspaces.show(z), id);
  }

  /** Clicks Deploy and waits until the editor has nothing left to deploy; a confirmation dialog fails. */
  async function clickDeploy(): Promise<void> {
    await page.click('#red-ui-header-button-deploy');
    await page.waitForFunction(
      () => !(window as unknown as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty() || document.querySelector('.red-ui-deploy-dialog-confirm-list') !== null,
      null,
      { timeout: UI_TIMEOUT },
    );
    const warning = await page.locator('.red-ui-deploy-dialog-confirm-list').allTextContents();
    assert.deepEqual(warning, [], 'Deploy asked for confirmation (unknown, invalid or unused nodes)');
  }

  /** Waits until no qumulo node of the example says "connecting" and its watches are up; returns their states. */
  async function settled(example: Example): Promise<EditorNodeState[]> {
    const ours = example.flow!.filter((n: FlowNode) => n.type.startsWith('qumulo-') && n.x !== undefined && !n.d);
    let states: EditorNodeState[] = [];
    await waitUntil(
      async () => {
        states = (await editorNodes()).filter((n) => ours.some((o) => o.id === n.id));
        const connecting = states.some((st) => st.status?.fill === 'yellow' && st.status?.shape === 'ring');
        const watchesUp = states.filter((st) => st.type === 'qumulo-watch').every((st) => st.status?.fill === 'green' || st.status?.fill === 'red');
        return !connecting && watchesUp;
      },
      UI_TIMEOUT,
      `${example.name}: statuses settled`,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(states)}`);
    });
    return states;
  }

  /** Deletes the example's flow tab and config nodes in the editor and deploys that. */
  async function removeExample(example: Example): Promise<void> {
    await page.evaluate((ids) => {
      const RED = (window as unknown as {
        RED: {
          workspaces: { delete(ws: unknown): void };
          nodes: { node(id: string): unknown; workspace(id: string): unknown; remove(id: string): void; dirty(d: boolean): void };
          view: { redraw(full: boolean): void };
        };
      }).RED;
      // What the tab menu's Delete does, then the example's config nodes (now unused).
      for (const { id, type } of ids) {
        if (type === 'tab' && RED.nodes.workspace(id)) RED.workspaces.delete(RED.nodes.workspace(id));
      }
      for (const { id } of ids) if (RED.nodes.node(id)) RED.nodes.remove(id);
      RED.nodes.dirty(true);
      RED.view.redraw(true);
    }, example.flow!.map((n) => ({ id: n.id, type: n.type })));
    const left = (await editorNodes()).filter((n) => example.flow!.some((e) => e.id === n.id));
    assert.deepEqual(left, [], `${example.name}: nodes left after removing it`);
    await clickDeploy();
  }

  async function debugErrors(): Promise<string[]> {
    return page.locator('.red-ui-debug-msg.red-ui-debug-msg-level-20').allTextContents();
  }

  /** Pairs of the example's nodes whose boxes overlap on the canvas (sizes as the editor drew them). */
  async function overlaps(example: Example): Promise<string[]> {
    const tab = example.flow!.find((n) => n.type === 'tab');
    if (tab) await showTab(tab.id);
    return page.evaluate((ids) => {
      type N = { id: string; name?: string; type: string; x: number; y: number; w: number; h: number };
      const RED = (window as unknown as { RED: { nodes: { node(id: string): N | null } } }).RED;
      const boxes = ids.map((id) => RED.nodes.node(id)).filter((n): n is N => !!n && typeof n.x === 'number' && typeof n.w === 'number');
      const out: string[] = [];
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i];
          const b = boxes[j];
          if (Math.abs(a.x - b.x) < (a.w + b.w) / 2 && Math.abs(a.y - b.y) < (a.h + b.h) / 2) out.push(`${a.name || a.type} (${a.id}) overlaps ${b.name || b.type} (${b.id})`);
        }
      }
      return out;
    }, example.flow!.map((n) => n.id));
  }

  describe('2a. two examples imported one after the other share one cluster and one Redis node', () => {
    it('the second import keeps the existing config nodes (View nodes… → Import selected), and both deploy without warnings', async () => {
      const [first, second] = [EXAMPLES.find((e) => /^00 - /.test(e.name)), EXAMPLES.find((e) => /Full pipeline/.test(e.name))];
      assert.ok(first?.flow && second?.flow, 'quick start or full pipeline example missing');
      const consoleMark = consoleProblems.mark();
      await importExample(first);
      // The same again through the menu: Node-RED says some nodes already exist (the shared config nodes).
      await page.click('#red-ui-header-button-sidemenu');
      await page.click('#menu-item-import');
      await page.click('#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples a');
      const tree = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
      for (const part of [PACKAGE.name, ...second.name.split('/')]) {
        const label = tree.locator('.red-ui-treeList-label-text').getByText(part, { exact: true });
        await label.waitFor();
        await label.click();
      }
      await page.locator('#red-ui-clipboard-dialog-ok').click();
      // View nodes… lists them (the existing shared config nodes are left unticked), Import selected keeps ids.
      const view = page.locator('.red-ui-notification button').filter({ hasText: /view nodes/i });
      await view.waitFor();
      await view.click();
      const importSelected = page.locator('#red-ui-clipboard-dialog-import-conflict');
      await importSelected.waitFor();
      await screenshot(page, 'import-second-example');
      await importSelected.click();
      await waitUntil(async () => (await editorNodes()).some((n) => n.type === 'qumulo-redis-in' || n.type === 'qumulo-redis-out'), UI_TIMEOUT, 'second example imported', 100);
      // (the starter flow's own cluster node aside)
      const configs = (await editorNodes()).filter((n) => (n.type === 'qumulo-cluster' || n.type === 'qumulo-redis') && n.id !== 'qf-starter-cluster');
      assert.deepEqual(configs.map((n) => `${n.type} ${n.id}`).sort(), ['qumulo-cluster qf-cluster', 'qumulo-redis qf-redis'], 'config nodes after importing two examples');
      // Opening the shared cluster node and pressing Update keeps every ${ENV} reference (the
      // protocol select included).
      const before = await page.evaluate(() => JSON.stringify((window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> } } }).RED.nodes.node('qf-cluster'), ['host', 'port', 'protocol', 'ca']));
      await page.evaluate(() => (window as unknown as { RED: { editor: { editConfig(a: string, t: string, i: string): void } } }).RED.editor.editConfig('', 'qumulo-cluster', 'qf-cluster'));
      await dialogReady(page, '#node-config-dialog-ok');
      await page.locator('#node-config-input-host').waitFor({ state: 'attached' });
      await screenshot(page, 'dialog-shared-cluster');
      await page.locator('#node-config-dialog-ok').click();
      await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
      const after = await page.evaluate(() => JSON.stringify((window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> } } }).RED.nodes.node('qf-cluster'), ['host', 'port', 'protocol', 'ca']));
      assert.equal(after, before);
      assert.match(after, /"protocol":"\$\{QUMULO_PROTOCOL\}"/);
      await pointAtTestServices(second);
      await clickDeploy();
      assert.deepEqual(editorConsoleErrors(consoleMark), [], 'browser console errors');
      // Leave a clean editor for the next tests: remove both tabs and the config nodes.
      await page.evaluate(() => {
        type N = { id: string; type: string; z?: string };
        const RED = (window as unknown as {
          RED: {
            nodes: { eachWorkspace(cb: (w: { id: string; label: string }) => void): void; workspace(id: string): unknown; eachConfig(cb: (n: N) => void): void; remove(id: string): void; dirty(d: boolean): void };
            workspaces: { delete(ws: unknown): void };
            view: { redraw(full: boolean): void };
          };
        }).RED;
        const tabs: string[] = [];
        RED.nodes.eachWorkspace((w) => {
          if (!/starter/.test(w.label)) tabs.push(w.id);
        });
        for (const id of tabs) RED.workspaces.delete(RED.nodes.workspace(id));
        const configs: string[] = [];
        RED.nodes.eachConfig((n) => {
          if (n.type.startsWith('qumulo-') && n.id !== 'qf-starter-cluster') configs.push(n.id);
        });
        for (const id of configs) RED.nodes.remove(id);
        RED.nodes.dirty(true);
        RED.view.redraw(true);
      });
      await clickDeploy();
    });
  });

  describe('2. every example imports from Import → Examples and deploys with the Deploy button', () => {
    for (const example of EXAMPLES) {
      it(`"${example.name}"`, async () => {
        assert.ok(example.flow, `${example.name} does not parse: ${example.error}`);
        const consoleMark = consoleProblems.mark();
        const errorsBefore = (await debugErrors()).length;
        const logErrorsBefore = app!.logged('error').length;

        const imported = await importExample(example);
        assert.deepEqual(imported.filter((n) => n.valid === false), [], 'nodes the editor marks invalid after import');
        assert.deepEqual(await overlaps(example), [], 'nodes that overlap on the canvas');
        await pointAtTestServices(example);
        await clickDeploy();
        const states = await settled(example);
        // Node errors go to the debug sidebar (level 20) and the log: none may follow a deploy.
        await page.waitForTimeout(1_000);
        const red = states.filter((st) => st.status?.fill === 'red').map((st) => `${st.type} ${st.id}: ${st.status?.text}`);
        assert.deepEqual(red, [], 'nodes with a red status');
        assert.deepEqual((await debugErrors()).slice(errorsBefore), [], 'node errors in the debug sidebar');
        const tab = example.flow.find((n) => n.type === 'tab');
        if (tab) await showTab(tab.id);
        await screenshot(page, `example-${example.name.replace(/[^\w-]+/g, '_')}`);

        // Removing it again stops its nodes cleanly (no close timeouts, no errors).
        await removeExample(example);
        assert.deepEqual((await debugErrors()).slice(errorsBefore), [], 'node errors in the debug sidebar after removing the example');
        assert.deepEqual(app!.logged('error').slice(logErrorsBefore), [], 'errors in the Node-RED log');
        assert.deepEqual(editorConsoleErrors(consoleMark), [], 'browser console errors');
      });
    }
  });

  describe('3. events in the debug sidebar', () => {
    it('the debug sidebar shows change events after a file is created in the demo data', async () => {
      const consoleMark = consoleProblems.mark();
      await page.evaluate(() => (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('debug'));
      const name = `browser-test-${Date.now()}.txt`;
      const dir = path.join(app!.demoDir, 'incoming');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, name), 'created by the browser test\n');
      const message = page.locator('.red-ui-debug-msg').filter({ hasText: name });
      await message.first().waitFor({ timeout: UI_TIMEOUT });
      const text = (await message.first().textContent()) ?? '';
      assert.match(text, /child_file_added/, `debug message: ${text}`);
      assert.deepEqual(editorConsoleErrors(consoleMark), []);
    });

    const pipeline = EXAMPLES.find((e) => /full pipeline/i.test(e.name));
    it(`the full pipeline example quarantines and locks files on the demo data (${pipeline?.name ?? 'missing'})`, async () => {
      assert.ok(pipeline?.flow, 'no full pipeline example');
      const consoleMark = consoleProblems.mark();
      await page.evaluate(() => (window as unknown as { RED: { actions: { invoke(a: string): void } } }).RED.actions.invoke('core:clear-debug-messages'));
      const errorsBefore = (await debugErrors()).length;
      await importExample(pipeline);
      await pointAtTestServices(pipeline);
      // The example ships its irreversible actions as a dry run; untick it as its description says.
      const tabId = pipeline.flow.find((n) => n.type === 'tab')?.id;
      if (tabId) await showTab(tabId);
      for (const node of pipeline.flow.filter((n) => n.dryRun === true && IRREVERSIBLE_ACTIONS.includes(n.type))) {
        await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${node.id}"] .red-ui-flow-node`).first().dblclick();
        await dialogReady(page, '#node-dialog-ok');
        await page.locator('#node-input-dryRun').uncheck();
        await page.locator('#node-dialog-ok').click();
        await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
      }
      await clickDeploy();
      await settled(pipeline);
      const tab = pipeline.flow.find((n) => n.type === 'tab');
      if (tab) await showTab(tab.id);
      await page.evaluate(() => (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('debug'));
      // An executable dropped into incoming/, and a file moved into archive/ once the cluster saw it.
      fs.writeFileSync(path.join(app!.demoDir, 'incoming', 'invoice.pdf.exe'), 'MZ not really');
      fs.writeFileSync(path.join(app!.demoDir, 'incoming', 'q3-report.csv'), 'quarter,revenue\nQ3,140\n');
      await page.locator('.red-ui-debug-msg').filter({ hasText: 'q3-report.csv' }).first().waitFor({ state: 'attached' });
      fs.renameSync(path.join(app!.demoDir, 'incoming', 'q3-report.csv'), path.join(app!.demoDir, 'archive', 'q3-report.csv'));
      const results = page.locator('.red-ui-debug-msg').filter({ hasText: 'action results' });
      await results.filter({ hasText: 'quarantine' }).filter({ hasText: 'invoice.pdf.exe' }).first().waitFor();
      await results.filter({ hasText: 'lock' }).filter({ hasText: 'q3-report.csv' }).first().waitFor();
      await waitUntil(() => fs.existsSync(path.join(app!.demoDir, 'quarantine', 'incoming', 'invoice.pdf.exe')), UI_TIMEOUT, 'invoice.pdf.exe in quarantine/incoming');
      const states = await settled(pipeline);
      assert.deepEqual(states.filter((st) => st.status?.fill === 'red').map((st) => `${st.type}: ${st.status?.text}`), [], 'red statuses');
      assert.deepEqual((await debugErrors()).slice(errorsBefore), [], 'node errors in the debug sidebar');
      assert.deepEqual(editorConsoleErrors(consoleMark), []);
      // The README picture: the pipeline with its statuses and the debug sidebar.
      await page.evaluate(() => (window as unknown as { RED: { view: { select(sel: unknown): void } } }).RED.view.select(null));
      // (hidden, not removed: the editor removes them itself when they fade out)
      await page.evaluate(() => document.querySelectorAll<HTMLElement>('.red-ui-notification').forEach((n) => (n.style.visibility = 'hidden')));
      await screenshot(page, 'pipeline');
      // …and for the README (docs/images/, rewritten on every run): the canvas with the node statuses
      // and the debug sidebar, and the sidebar alone with what the actions did to the two files.
      const canvas = await page.locator('#red-ui-workspace').boundingBox();
      const sidebar = await page.locator('#red-ui-sidebar').boundingBox();
      const viewport = page.viewportSize();
      assert.ok(canvas && sidebar && viewport, 'the workspace and the sidebar are on screen');
      const readme = [await screenshot(page, 'pipeline', { x: canvas.x, y: 0, width: viewport.width - canvas.x, height: Math.min(viewport.height, 560) }, DOC_IMAGES)];
      // For the second picture only the action results stay in view (the change events are hidden, then shown again).
      const showOnly = (text: string | null) =>
        page.evaluate((keep) => {
          for (const msg of document.querySelectorAll<HTMLElement>('.red-ui-debug-msg')) msg.style.display = keep === null || (msg.textContent ?? '').includes(keep) ? '' : 'none';
          document.querySelector('.red-ui-debug-content')?.scrollTo(0, 0);
        }, text);
      await showOnly('action results');
      readme.push(await screenshot(page, 'pipeline-actions', { x: sidebar.x, y: sidebar.y, width: sidebar.width, height: Math.min(sidebar.height, 560) }, DOC_IMAGES));
      await showOnly(null);
      for (const file of readme) assert.ok(fs.statSync(file).mtimeMs > Date.now() - UI_TIMEOUT, `${file} was just written`);
    });
  });

  describe('3b. the "qumulo" sidebar (plugin)', () => {
    it('shows event rates that move while files change, an all-stop, and resets it with its button', async () => {
      const consoleMark = consoleProblems.mark();
      // A canary flow beside the deployed pipeline: a file named canary-* under /incoming stops all actions.
      await page.evaluate(() => {
        const RED = (window as unknown as { RED: { view: { importNodes(nodes: unknown[], options?: unknown): void } } }).RED;
        RED.view.importNodes([
          { id: 'sb-tab', type: 'tab', label: 'sidebar canary' },
          { id: 'sb-watch', type: 'qumulo-watch', z: 'sb-tab', name: 'incoming', cluster: 'qf-cluster', path: '/incoming', recursive: true, types: [], heal: false, checkpoints: false, x: 120, y: 80, wires: [['sb-filter']] },
          { id: 'sb-filter', type: 'qumulo-filter', z: 'sb-tab', name: 'canary', source: 'yaml', yaml: 'rules:\n  - name: canary\n    when: {name: "canary-*"}\n', x: 320, y: 80, wires: [['sb-stop']] },
          { id: 'sb-stop', type: 'qumulo-all-stop', z: 'sb-tab', name: 'ALL-STOP', cluster: 'qf-cluster', x: 520, y: 80, wires: [[]] },
        ]);
      });
      await clickDeploy();
      await page.evaluate(() => (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('qumulo-flow'));
      const watchRow = page.locator('.qumulo-sidebar-watch[data-id="sb-watch"]');
      // Files keep changing under /incoming while the sidebar is read (it polls every 2 s).
      const dir = path.join(app!.demoDir, 'incoming');
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          fs.writeFileSync(path.join(dir, `sidebar-${i % 20}.txt`), `change ${i}\n`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const rates = new Set<string>();
      try {
        await watchRow.waitFor({ timeout: UI_TIMEOUT });
        await waitUntil(
          async () => {
            const text = (await watchRow.locator('.qumulo-sidebar-rate').textContent().catch(() => null)) ?? '';
            if (text) rates.add(text);
            // (a sparkline needs two samples: the first rates seen may come from one)
            return rates.size >= 2 && [...rates].some((r) => parseFloat(r) > 0) && (await watchRow.locator('svg.qumulo-sidebar-spark polyline').count()) >= 1;
          },
          UI_TIMEOUT,
          'the watch rate in the sidebar to move',
          300,
        );
      } finally {
        writing = false;
        await writer;
      }
      assert.ok((await watchRow.locator('svg.qumulo-sidebar-spark polyline').count()) >= 1, 'a sparkline');
      // Per-watch lag: the full pipeline's watch (deployed in 3) shows its events' age at their
      // actions and the backlog of the Redis stream it feeds.
      const pipelineWatch = EXAMPLES.find((e) => /full pipeline/i.test(e.name))?.flow?.find((n) => n.type === 'qumulo-watch');
      assert.ok(pipelineWatch, 'the full pipeline example has a watch');
      const lagRow = page.locator(`.qumulo-sidebar-watch[data-id="${pipelineWatch.id}"]`);
      await waitUntil(async () => /lag: events [\d.]+ m?s old/.test((await lagRow.locator('.qumulo-sidebar-age').textContent().catch(() => null)) ?? ''), UI_TIMEOUT, 'the pipeline watch to show its lag', 300);
      // (the consumer reads its group's backlog every few seconds: numbers once it has)
      await waitUntil(async () => /: pending \d+ · not delivered (\d+|\?)/.test((await lagRow.locator('.qumulo-sidebar-watch-stream').first().textContent().catch(() => null)) ?? ''), UI_TIMEOUT, 'the pipeline watch to show its stream backlog', 300);
      // The canary: the all-stop fires and the sidebar shows it with a Reset button.
      fs.writeFileSync(path.join(dir, 'canary-sidebar.txt'), 'decoy\n');
      const stopped = page.locator('.qumulo-sidebar-cluster.qumulo-sidebar-stopped');
      await stopped.first().waitFor({ timeout: UI_TIMEOUT });
      assert.match((await stopped.first().textContent()) ?? '', /ALL-STOP since/);
      await page.evaluate(() => document.querySelectorAll<HTMLElement>('.red-ui-notification').forEach((n) => (n.style.visibility = 'hidden')));
      const sidebar = await page.locator('#red-ui-sidebar').boundingBox();
      await screenshot(page, 'sidebar');
      // docs/images/sidebar.png (the README's picture) is taken from this one.
      if (sidebar) await screenshot(page, 'sidebar-readme', { x: sidebar.x, y: 0, width: sidebar.width, height: Math.min(page.viewportSize()?.height ?? 1000, 700) });
      await stopped.first().locator('.qumulo-sidebar-reset').click();
      await stopped.first().waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      const state = await page.evaluate(async () => (await fetch('qumulo-flow/observability')).json() as Promise<{ clusters: Array<{ allStop: { active: boolean; resetBy?: string } }> }>);
      assert.ok(state.clusters.every((c) => !c.allStop.active), JSON.stringify(state.clusters));
      assert.ok(state.clusters.some((c) => /sidebar/.test(c.allStop.resetBy ?? '')), JSON.stringify(state.clusters));
      assert.deepEqual(editorConsoleErrors(consoleMark), []);
    });

    it('exports the audit trail from its button: a wrong time is refused with the server\'s reason as text, a range downloads as CSV and as JSON under the server\'s file name', async () => {
      const consoleMark = consoleProblems.mark();
      await page.evaluate(() => (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('qumulo-flow'));
      const form = page.locator('.qumulo-sidebar-export-form');
      const openExport = async (from: string) => {
        await page.locator('.qumulo-sidebar-export').click();
        await form.waitFor({ timeout: UI_TIMEOUT });
        await form.locator('.qumulo-export-from').fill(from);
      };
      deliberate.push(/status of 400 \(Bad Request\) \(http:\/\/[^/]+\/qumulo-flow\/audit\/export\?from=yesterday&/);
      await openExport('yesterday');
      await page.locator('.qumulo-export-csv').click();
      const refused = page.locator('.red-ui-notification-error', { hasText: 'Audit export failed' });
      await refused.first().waitFor({ timeout: UI_TIMEOUT });
      assert.match((await refused.first().textContent()) ?? '', /Audit export failed: "from" is not a time: give an ISO time/);
      assert.ok(await form.isVisible(), 'the form stays open to correct the field');
      await screenshot(page, 'audit-export-refused');
      await page.locator('.red-ui-notification button', { hasText: 'Cancel' }).click();
      await form.waitFor({ state: 'detached', timeout: UI_TIMEOUT });

      const from = new Date(Date.now() - 3_600_000).toISOString();
      for (const [format, button] of [['csv', '.qumulo-export-csv'], ['json', '.qumulo-export-json']] as const) {
        await openExport(from);
        const [download] = await Promise.all([page.waitForEvent('download', { timeout: UI_TIMEOUT }), page.locator(button).click()]);
        assert.match(download.suggestedFilename(), new RegExp(`^qumulo-audit-\\d{4}-\\d{2}-\\d{2}T\\d{6}-\\d{4}-\\d{2}-\\d{2}T\\d{6}\\.${format}$`), 'named after the range');
        const text = fs.readFileSync((await download.path())!, 'utf8');
        if (format === 'csv') assert.match(text, /^id,time,action,outcome,path,/);
        else assert.equal((JSON.parse(text) as { from: string }).from, from);
        await form.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      }
      assert.deepEqual(editorConsoleErrors(consoleMark), []);
    });
  });

  describe('4. every node’s edit dialog opens, shows its help and saves', () => {
    let workspace = '';
    let dropped = 0;

    before(async () => {
      workspace = await page.evaluate(() => {
        const RED = (window as unknown as { RED: { workspaces: { add(): { id: string } } } }).RED;
        return RED.workspaces.add().id;
      });
    });

    const flowTypes = (): string[] => {
      const config = configTypes();
      return bundleTypes().filter((t) => !config.has(t));
    };

    for (const type of bundleTypes()) {
      it(type, async () => {
        const consoleMark = consoleProblems.mark();
        const config = configTypes();
        if (config.has(type)) {
          await checkConfigDialog(type, flowTypes());
        } else {
          await checkNodeDialog(type);
        }
        assert.deepEqual(editorConsoleErrors(consoleMark), [], 'browser console errors');
      });
    }

    it('qumulo-filter: a rule is built in the dialog without writing YAML, checked, and saved on the node', async () => {
      assert.ok(bundleTypes().includes('qumulo-filter'), 'qumulo-filter is not in package.json');
      const consoleMark = consoleProblems.mark();
      const id = await dropFromPalette('qumulo-filter');
      await openDialog(id);
      await page.locator('#dialog-form .red-ui-editableList-addButton').first().click();
      const rule = page.locator('#qumulo-filter-rules > li').last();
      await rule.locator('.qumulo-filter-rule-name').fill('lock-contracts');
      await rule.locator('.qumulo-filter-actions').fill('lock, email');
      // A condition: extension is pdf or docx.
      await rule.locator('.qumulo-filter-add-condition').first().click();
      const condition = rule.locator('.qumulo-filter-condition').last();
      await condition.locator('select.qumulo-filter-kind').selectOption('extension');
      await condition.locator('.qumulo-filter-value input[type="text"]').first().fill('pdf, docx');
      await page.getByRole('button', { name: /check rules/i }).click();
      const result = page.locator('#qumulo-filter-check-result');
      await result.waitFor();
      assert.match((await result.getAttribute('class')) ?? '', /qumulo-filter-good/, `check result: ${await result.textContent()}`);
      // The README's picture of the rule editor (docs/images/, rewritten on every run).
      const tray = await page.locator('.red-ui-tray').last().boundingBox();
      assert.ok(tray, 'the edit tray is on screen');
      await screenshot(page, 'rule-editor', tray, DOC_IMAGES);
      await page.locator('#node-dialog-ok').click();
      await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
      const saved = await page.evaluate((nodeId) => (window as unknown as { RED: { nodes: { node(i: string): { rules: unknown; valid?: boolean } } } }).RED.nodes.node(nodeId), id);
      const rules = (saved.rules as { rules: Array<{ name: string; actions: string[]; when: unknown }> }).rules;
      assert.equal(rules.length, 1);
      assert.equal(rules[0].name, 'lock-contracts');
      assert.deepEqual(rules[0].actions, ['lock', 'email']);
      assert.match(JSON.stringify(rules[0].when), /extension/);
      assert.match(JSON.stringify(rules[0].when), /docx/);
      const label = (await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node-label`).first().textContent()) ?? '';
      assert.match(label, /1 rule/, `label "${label}" does not say how many rules`);
      assert.deepEqual(editorConsoleErrors(consoleMark), [], 'browser console errors');
    });

    it('qumulo-redis: Test connection in the dialog reaches the Redis typed in and says its version', async () => {
      assert.ok(redis, 'no redis-server started (no example uses qumulo-redis?)');
      const consoleMark = consoleProblems.mark();
      const id = await page.evaluate((z) => {
        const RED = (window as unknown as { RED: { nodes: { id(): string }; view: { importNodes(n: unknown[], o: unknown): void }; workspaces: { show(z: string): void } } }).RED;
        const nodeId = RED.nodes.id();
        RED.workspaces.show(z);
        RED.view.importNodes([{ id: nodeId, type: 'qumulo-redis', name: 'test button', url: 'redis://127.0.0.1:1', mode: 'standalone' }], { generateIds: false, touchImport: true });
        return nodeId;
      }, workspace);
      await page.evaluate((nodeId) => (window as unknown as { RED: { editor: { editConfig(a: string, t: string, i: string): void } } }).RED.editor.editConfig('', 'qumulo-redis', nodeId), id);
      await dialogReady(page, '#node-config-dialog-ok');
      await page.locator('#node-config-input-url').fill(redis.url);
      await page.locator('#qumulo-redis-test').click();
      const result = page.locator('#qumulo-redis-test-result');
      await page.waitForFunction(() => /Connected|Failed/.test(document.querySelector('#qumulo-redis-test-result')?.textContent ?? ''), null, { timeout: 20_000 });
      await screenshot(page, 'dialog-qumulo-redis-test');
      assert.match((await result.textContent()) ?? '', /^Connected: Redis \d+\.\d+/);
      await page.locator('#node-config-dialog-cancel').click();
      // Closed before the next test opens a config dialog (two at once confuse both).
      await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
      assert.deepEqual(editorConsoleErrors(consoleMark), [], 'browser console errors');
    });

    async function dropFromPalette(type: string): Promise<string> {
      const before = new Set((await editorNodes()).map((n) => n.id));
      await page.evaluate((z) => (window as unknown as { RED: { workspaces: { show(z: string): void } } }).RED.workspaces.show(z), workspace);
      // Drag it like a hand does: press on the palette entry, move in steps, release on the canvas.
      const slot = dropped++;
      const item = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      await item.scrollIntoViewIfNeeded();
      const from = await item.boundingBox();
      const chart = await page.locator('#red-ui-workspace-chart').boundingBox();
      assert.ok(from && chart, 'palette entry or canvas not visible');
      await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
      await page.mouse.down();
      await page.mouse.move(from.x + from.width / 2 + 30, from.y + from.height / 2, { steps: 5 });
      await page.mouse.move(chart.x + 160 + (slot % 3) * 280, chart.y + 60 + (Math.floor(slot / 3) % 10) * 60, { steps: 20 });
      await page.mouse.up();
      let added: EditorNodeState | undefined;
      await waitUntil(
        async () => {
          added = (await editorNodes()).find((n) => !before.has(n.id) && n.type === type);
          return !!added;
        },
        UI_TIMEOUT,
        `${type} on the canvas`,
        100,
      );
      return added!.id;
    }

    async function openDialog(id: string): Promise<void> {
      await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node`).first().dblclick();
      await dialogReady(page, '#node-dialog-ok');
      // It is this node's dialog (not a neighbour's): the editor's title names its type.
      const type = (await editorNodes()).find((n) => n.id === id)!.type;
      const def = validate.editorDefinitions(REPO_ROOT, 'dist').types[type];
      const title = (await page.locator('.red-ui-tray-titlebar').last().textContent()) ?? '';
      assert.ok(title.includes(String(def?.literals.paletteLabel ?? type)), `dialog title "${title}" is not the ${type} dialog`);
    }

    /** Labels, placeholders and tips are translated: no raw message key such as "qumulo-x.label.y" shows. */
    async function assertTranslated(type: string, form: import('playwright-core').Locator): Promise<void> {
      const texts = await form.evaluate((el) => {
        const out = [el.textContent ?? ''];
        el.querySelectorAll('[placeholder]').forEach((i) => out.push(i.getAttribute('placeholder') ?? ''));
        el.querySelectorAll('[title]').forEach((i) => out.push(i.getAttribute('title') ?? ''));
        return out.join('\n');
      });
      const raw = texts.match(new RegExp(`\\b${type.replace(/[-]/g, '\\-')}\\.[A-Za-z]+(\\.[A-Za-z]+)*`, 'g')) ?? [];
      assert.deepEqual(raw, [], `${type}: untranslated message keys in the dialog`);
    }

    async function checkNodeDialog(type: string): Promise<void> {
      const id = await dropFromPalette(type);
      // Selecting the node shows its help in the Help sidebar.
      await page.evaluate(() => (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('help'));
      await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node`).first().click();
      const help = page.locator('.red-ui-sidebar-help-stack .red-ui-help').first();
      await help.waitFor();
      const helpText = (await help.textContent()) ?? '';
      assert.ok(helpText.trim().length > 80 && !/^\s*None\s*$/.test(helpText), `${type}: help panel is empty: ${helpText}`);

      await openDialog(id);
      const form = page.locator('#dialog-form');
      await form.waitFor();
      const inputs = await form.locator('[id^="node-input-"]').count();
      assert.ok(inputs > 0, `${type}: dialog has no inputs`);
      const defaults = validate.editorDefinitions(REPO_ROOT, 'dist').types[type]?.defaults ?? {};
      if ('name' in defaults) assert.equal(await form.locator('#node-input-name').count(), 1, `${type}: no name field`);
      await assertTranslated(type, form);
      await screenshot(page, `dialog-${type}`);
      await page.locator('#node-dialog-ok').click();
      await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
      // The canvas label says what the node is (its label function), never an empty box.
      const label = (await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node-label`).first().textContent()) ?? '';
      assert.ok(label.trim().length > 0, `${type}: empty label on the canvas`);
    }

    async function checkConfigDialog(type: string, candidates: string[]): Promise<void> {
      // Open it the way users do: from a node that needs one, with the pencil next to the field.
      const { types } = validate.editorDefinitions(REPO_ROOT, 'dist');
      const user = candidates.find((t) => Object.values(types[t]?.defaults ?? {}).some((d) => d.type === type));
      assert.ok(user, `no node type uses ${type}`);
      const property = Object.entries(types[user].defaults).find(([, d]) => d.type === type)![0];
      const id = await dropFromPalette(user);
      const before = new Set((await editorNodes()).map((n) => n.id));
      await openDialog(id);
      await page.locator(`#node-input-btn-${property}-add`).click();
      await dialogReady(page, '#node-config-dialog-ok');
      const form = page.locator('#node-config-dialog-edit-form');
      await form.locator('[id^="node-config-input-"]').first().waitFor({ state: 'attached' });
      assert.ok((await form.locator('[id^="node-config-input-"]').count()) > 0, `${type}: config dialog has no inputs`);
      await assertTranslated(type, form);
      await screenshot(page, `dialog-${type}`);
      if (type === 'qumulo-cluster') {
        // "Test connection" goes through the bundle's admin guard (JSON only, same origin): the
        // button must still log in with the dialog's unsaved values.
        await fillFields('node-config-input-', { host: '127.0.0.1', port: String(app!.simPort), protocol: 'http', authMethod: 'password', username: 'admin', password: 'admin' });
        await page.locator('#qumulo-cluster-test').click();
        const result = page.locator('#qumulo-cluster-test-result');
        await waitUntil(async () => /Connected as|Failed/.test((await result.textContent()) ?? ''), UI_TIMEOUT, 'Test connection answers', 100);
        assert.match((await result.textContent()) ?? '', /Connected as admin/);
      }
      await page.locator('#node-config-dialog-ok').click();
      await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
      await page.locator('#node-dialog-ok').click();
      await page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
      const created = (await editorNodes()).filter((n) => !before.has(n.id) && n.type === type);
      assert.equal(created.length, 1, `${type}: the config dialog did not add a node`);
      const selected = await page.evaluate(([nodeId, prop]) => (window as unknown as { RED: { nodes: { node(i: string): Record<string, unknown> } } }).RED.nodes.node(nodeId)[prop], [id, property]);
      assert.equal(selected, created[0].id, `${user}.${property} does not use the new ${type}`);
    }
  });

  describe('4b. a bad value in every validated field turns the field red and puts the warning triangle on the node', () => {
    // The table test/editor/editor-validators.test.ts holds to the core parsers; here the first bad value
    // of each field is typed into the real dialog.
    const cases = FIELD_CASES.filter((c, i) => c.bad.length > 0 && FIELD_CASES.findIndex((o) => o.type === c.type && o.field === c.field && o.bad.length > 0) === i);
    /** What makes a node of the type valid before the bad value goes in (fields the defaults leave empty). */
    const BASELINE: Record<string, Record<string, unknown>> = {
      'qumulo-cluster': { host: '127.0.0.1', port: '8000' },
      'qumulo-email': { host: 'smtp.example.com', from: 'qumulo-flow@example.com', to: 'ops@example.com' },
      'qumulo-redis': { url: 'redis://127.0.0.1:6379' },
    };
    let workspace = '';
    let slot = 0;

    before(async () => {
      workspace = await page.evaluate(() => (window as unknown as { RED: { workspaces: { add(): { id: string } } } }).RED.workspaces.add().id);
    });

    /** Adds a node of `type` (defaults + baseline + props) to the test's tab through the import API; its config nodes are valid ones. */
    async function addNode(type: string, props: Record<string, unknown>): Promise<{ id: string; config: boolean }> {
      const position = slot++;
      return page.evaluate(
        ([t, extra, baseline, z, n]) => {
          type Def = { category: string; defaults: Record<string, { value: unknown; type?: string }> };
          const RED = (window as unknown as {
            RED: { nodes: { getType(t: string): Def; id(): string }; view: { importNodes(nodes: unknown[], opts?: unknown): void }; workspaces: { show(z: string): void } };
          }).RED;
          const def = RED.nodes.getType(t);
          const make = (type: string, more: Record<string, unknown>) => {
            const d = RED.nodes.getType(type);
            const node: Record<string, unknown> = { id: RED.nodes.id(), type };
            for (const [k, v] of Object.entries(d.defaults)) node[k] = JSON.parse(JSON.stringify(v.value ?? ''));
            return Object.assign(node, (baseline as Record<string, Record<string, unknown>>)[type] ?? {}, more);
          };
          const nodes: Record<string, unknown>[] = [];
          const node = make(t, extra as Record<string, unknown>);
          for (const [k, d] of Object.entries(def.defaults)) {
            if (d.type && d.type.startsWith('qumulo-')) {
              const cfg = make(d.type, {});
              nodes.push(cfg);
              node[k] = cfg.id;
            }
          }
          const config = def.category === 'config';
          if (!config) Object.assign(node, { z, x: 180 + (Number(n) % 4) * 260, y: 60 + (Math.floor(Number(n) / 4) % 12) * 60, wires: [] });
          nodes.push(node);
          RED.workspaces.show(z as string);
          RED.view.importNodes(nodes, { generateIds: false, touchImport: true });
          return { id: node.id as string, config };
        },
        [type, props, BASELINE, workspace, position] as const,
      );
    }

    async function validity(id: string): Promise<boolean | undefined> {
      return page.evaluate((nodeId) => (window as unknown as { RED: { nodes: { node(i: string): { valid?: boolean } } } }).RED.nodes.node(nodeId).valid, id);
    }

    // (a failing case leaves a screenshot through the afterEach hook)
    const tooltipChecked = new Set<string>();
    for (const c of cases) {
      it(`${c.type}.${c.field} = ${JSON.stringify(c.bad[0])}`, async () => {
        const consoleMark = consoleProblems.mark();
        const { id, config } = await addNode(c.type, c.props ?? {});
        assert.equal(await validity(id), true, `${c.type} is not valid before the bad value`);
        const prefix = config ? 'node-config-input-' : 'node-input-';
        const ok = config ? '#node-config-dialog-ok' : '#node-dialog-ok';
        if (config) {
          await page.evaluate(([type, nodeId]) => (window as unknown as { RED: { editor: { editConfig(a: string, t: string, i: string): void } } }).RED.editor.editConfig('', type, nodeId), [c.type, id]);
        } else {
          await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node`).first().dblclick();
        }
        await dialogReady(page, ok);
        const field = page.locator(`#${prefix}${c.field}`);
        await field.waitFor({ state: 'attached' });
        if (await field.isVisible()) {
          await field.fill(c.bad[0]);
          await field.press('Tab');
        } else {
          // In a section the dialog folds away until a checkbox or select opens it: set it as the form would.
          await field.evaluate((el, v) => {
            const $ = (window as unknown as { $: (e: Element) => { val(v: string): { trigger(e: string): void } } }).$;
            $(el).val(v).trigger('change');
          }, c.bad[0]);
        }
        await page.waitForFunction((sel) => document.querySelector(sel)?.classList.contains('input-error') === true, `#${prefix}${c.field}`, { timeout: 5_000 }).catch(() => undefined);
        const red = await field.evaluate((el) => el.classList.contains('input-error') || !!el.nextElementSibling?.classList.contains('input-error'));
        assert.ok(red, `#${prefix}${c.field} is not red with ${JSON.stringify(c.bad[0])}`);
        if (!tooltipChecked.has(c.type) && (await field.isVisible())) {
          // Hovering the red field shows why (a two-argument validator's message, from the catalogue).
          // (the tooltip opens 750 ms after the pointer enters the field: enter it afresh; once per
          // node type — the tooltip is Node-RED's, the messages are checked against the catalogue
          // by editor-validators.test for every field)
          tooltipChecked.add(c.type);
          await page.mouse.move(0, 0);
          await field.hover();
          const tip = page.locator('.red-ui-popover:visible .red-ui-popover-content').last();
          await tip.waitFor({ timeout: 15_000 });
          const text = ((await tip.textContent()) ?? '').trim();
          assert.ok(text.length > 0 && !/\.errors\./.test(text), `${c.type}.${c.field}: tooltip "${text}"`);
        }
        await page.locator(ok).click();
        await page.locator(ok).waitFor({ state: 'detached' });
        assert.equal(await validity(id), false, `${c.type} is not marked invalid after Done`);
        if (!config) {
          const triangle = page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] .red-ui-flow-node-error`).first();
          // The canvas redraws after the dialog closes (a frame later under load): wait for it.
          const shown = await triangle.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false);
          assert.ok(shown, `${c.type}: no warning triangle on the canvas`);
        }
        assert.deepEqual(editorConsoleErrors(consoleMark), [], 'browser console errors');
      });
    }
  });

  describe('5. the whole session', () => {
    it('no errors in the browser console from start to end', async () => {
      await screenshot(page, 'final');
      assert.deepEqual(editorConsoleErrors(0), []);
    });
  });
});
