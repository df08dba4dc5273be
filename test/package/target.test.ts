// Which Node and Node-RED this run is on, and that every way a test reaches Node-RED gets the same
// copy: the test helper, the embedded runtime's require('node-red'), red.js for child processes,
// and the @node-red/util the bundle falls back to. The Node-RED 5 target (scripts/test-target.js)
// sets QUMULO_EXPECT_NODE_MAJOR / QUMULO_EXPECT_NODE_RED; without them this is the devDependency.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { NODE_RED_DIR, NODE_RED_VERSION, runtimeVersions } from '../support/node-red';
import { REPO_ROOT } from '../support/runtime';

const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  'node-red': { version: string };
  devDependencies: Record<string, string>;
};

/** "4.1.x || 5.0.x" -> ["4.1.", "5.0."]: the series package.json says are tested. */
function testedSeries(range: string): string[] {
  return range.split('||').map((part) => {
    const match = /^\s*(\d+)\.(\d+)\.x\s*$/.exec(part);
    assert.ok(match, `node-red.version part "${part}" is not of the form <major>.<minor>.x`);
    return `${match[1]}.${match[2]}.`;
  });
}

describe(`test target: ${runtimeVersions()}`, () => {
  it('runs the Node and Node-RED it is meant to', () => {
    const expectNode = process.env.QUMULO_EXPECT_NODE_MAJOR;
    const expectNodeRed = process.env.QUMULO_EXPECT_NODE_RED;
    if (expectNode || expectNodeRed) {
      assert.equal(process.versions.node.split('.')[0], expectNode);
      assert.ok(NODE_RED_VERSION.startsWith(String(expectNodeRed)), `Node-RED ${NODE_RED_VERSION}, expected ${expectNodeRed}x`);
      assert.equal(NODE_RED_DIR, path.resolve(String(process.env.QUMULO_NODE_RED_DIR)));
    } else {
      assert.equal(NODE_RED_DIR, path.join(REPO_ROOT, 'node_modules', 'node-red'));
      const devSeries = /^~(\d+\.\d+)\./.exec(PACKAGE.devDependencies['node-red'])?.[1];
      assert.ok(devSeries && NODE_RED_VERSION.startsWith(`${devSeries}.`), `Node-RED ${NODE_RED_VERSION} vs devDependency ${PACKAGE.devDependencies['node-red']}`);
    }
    // What package.json declares is what runs here.
    assert.ok(
      testedSeries(PACKAGE['node-red'].version).some((series) => NODE_RED_VERSION.startsWith(series)),
      `Node-RED ${NODE_RED_VERSION} is outside node-red.version "${PACKAGE['node-red'].version}"`,
    );
    const minimum = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(PACKAGE.engines.node)!.slice(1).map(Number);
    const actual = process.versions.node.split('.').map(Number);
    const atLeast = actual[0] !== minimum[0] ? actual[0] > minimum[0] : actual[1] !== minimum[1] ? actual[1] > minimum[1] : actual[2] >= minimum[2];
    assert.ok(atLeast, `Node ${process.version} is below engines.node ${PACKAGE.engines.node}`);
  });

  it('the test helper, the embedded runtime, red.js and the bundle all reach that one Node-RED', () => {
    const inside = (file: string) => file.startsWith(path.dirname(NODE_RED_DIR) + path.sep);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const helper = require('node-red-node-test-helper') as { init(p: string): void; _RED: { version(): string } };
    helper.init(require.resolve('node-red'));
    assert.equal(helper._RED.version().replace(/-git$/, ''), NODE_RED_VERSION); // -git: run from a folder, not an npm install
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    assert.equal((require('node-red') as { version(): string }).version().replace(/-git$/, ''), NODE_RED_VERSION);
    assert.equal(require.resolve('node-red/red.js'), path.join(NODE_RED_DIR, 'red.js'));
    // The bundle's fallback for the runtime hooks (nodes/qumulo-redis-common.ts) must find the
    // runtime's own @node-red/util singleton, not another copy.
    const util = createRequire(path.join(REPO_ROOT, 'dist', 'nodes', 'qumulo-redis-common.js')).resolve('@node-red/util');
    assert.ok(inside(util), `@node-red/util from the bundle: ${util}`);
    const flowJs = createRequire(require.resolve('node-red')).resolve('@node-red/runtime/lib/flows/Flow.js');
    assert.ok(inside(flowJs), `the runtime's Flow.js: ${flowJs}`);
    assert.equal(util, createRequire(flowJs).resolve('@node-red/util'), 'the bundle and the runtime see different @node-red/util copies');
  });
});
