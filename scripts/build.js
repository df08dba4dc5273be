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

const INCLUDE = /\/\* @include editor-checks \*\//;

const tsc = path.join(path.dirname(require.resolve('typescript/package.json', { paths: [root] })), 'bin', 'tsc');
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });

// A .ts removed or renamed must not leave its old .js running (see stale-output.js).
removeStaleOutput(dist, root);

fs.mkdirSync(nodesOut, { recursive: true });
const checks = editorChecks();
for (const file of fs.readdirSync(path.join(root, 'nodes'))) {
  if (!file.endsWith('.html')) continue;
  const html = fs.readFileSync(path.join(root, 'nodes', file), 'utf8');
  fs.writeFileSync(path.join(nodesOut, file), html.replace(INCLUDE, () => checks));
}
for (const dir of ['icons', 'locales']) {
  fs.cpSync(path.join(root, dir), path.join(nodesOut, dir), { recursive: true });
}
// Editor plugins (package.json node-red.plugins, e.g. the qumulo sidebar): their page and locales
// beside the compiled module, where Node-RED looks for them. Kept apart from the nodes' HTML, which
// the node tooling reads as node definitions.
const pluginsDir = path.join(root, 'nodes', 'plugins');
if (fs.existsSync(pluginsDir)) {
  const pluginsOut = path.join(nodesOut, 'plugins');
  fs.mkdirSync(pluginsOut, { recursive: true });
  for (const file of fs.readdirSync(pluginsDir)) {
    if (file.endsWith('.html')) fs.copyFileSync(path.join(pluginsDir, file), path.join(pluginsOut, file));
  }
  if (fs.existsSync(path.join(pluginsDir, 'locales'))) fs.cpSync(path.join(pluginsDir, 'locales'), path.join(pluginsOut, 'locales'), { recursive: true });
}
process.exit(result.status === null ? 1 : result.status);

/**
 * nodes/editor-checks.js with the placeholder lists taken from the compiled core, so the editor
 * knows exactly the {fields} the runtime accepts (one list, not a copy per HTML file).
 */
function editorChecks() {
  const source = fs.readFileSync(path.join(root, 'nodes', 'editor-checks.js'), 'utf8');
  let fields = {};
  try {
    const template = require(path.join(dist, 'core', 'actions', 'template.js'));
    const email = require(path.join(dist, 'core', 'actions', 'email.js'));
    fields = { event: [...template.EVENT_FIELDS], subject: [...email.SUBJECT_FIELDS], line: [...email.LINE_FIELDS], body: [...email.BODY_FIELDS] };
  } catch (err) {
    // tsc failed (its errors are printed above and the build exits non-zero).
    if (result.status === 0) throw err;
  }
  return source.replace('/* @generated fields */ {}', JSON.stringify(fields));
}
