#!/usr/bin/env node
// Builds what Node-RED loads: compiled JS under dist/, with each node's .html, the icons/ and
// locales/ folders copied beside the compiled node modules (Node-RED looks for them there).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { removeStaleOutput } = require('./stale-output');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const nodesOut = path.join(dist, 'nodes');

const tsc = path.join(path.dirname(require.resolve('typescript/package.json', { paths: [root] })), 'bin', 'tsc');
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });

// A .ts removed or renamed must not leave its old .js running (see stale-output.js).
removeStaleOutput(dist, root);

fs.mkdirSync(nodesOut, { recursive: true });
for (const file of fs.readdirSync(path.join(root, 'nodes'))) {
  if (file.endsWith('.html')) fs.copyFileSync(path.join(root, 'nodes', file), path.join(nodesOut, file));
}
for (const dir of ['icons', 'locales']) {
  fs.cpSync(path.join(root, dir), path.join(nodesOut, dir), { recursive: true });
}
process.exit(result.status === null ? 1 : result.status);
