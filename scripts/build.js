#!/usr/bin/env node
// Builds what Node-RED loads: compiled JS under dist/, with each node's .html, the icons/ and
// locales/ folders copied beside the compiled node modules (Node-RED looks for them there).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { removeStaleOutput } = require('./stale-output');
const { assembleDialogs } = require('./editor-rows');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const nodesOut = path.join(dist, 'nodes');

// Every node's editor script runs in its own function scope with the shared layer
// (nodes/editor-checks.js, `QF`) inlined at its top, so nothing leaks into the editor's globals.
const EDITOR_SCRIPT = /(<script type="text\/javascript">\n)([\s\S]*?)(<\/script>)/g;
const PREDICATES = /\/\* @generated predicates \*\/ \[\]/;

const tsc = path.join(path.dirname(require.resolve('typescript/package.json', { paths: [root] })), 'bin', 'tsc');
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });

// A .ts removed or renamed must not leave its old .js running (see stale-output.js).
removeStaleOutput(dist, root);

fs.mkdirSync(nodesOut, { recursive: true });
const lists = optionLists();
const checks = editorChecks(lists);
const predicates = rulePredicates();
for (const file of fs.readdirSync(path.join(root, 'nodes'))) {
  if (!file.endsWith('.html')) continue;
  const html = fs.readFileSync(path.join(root, 'nodes', file), 'utf8');
  // The shared form rows (scripts/editor-rows.js), the predicate table, then the shared layer around the script.
  const built = assembleDialogs(html, lists)
    .replace(PREDICATES, () => predicates)
    .replace(EDITOR_SCRIPT, (all, open, body, close) => `${open}(function () {\n${checks}\n${body}})();\n${close}`);
  fs.writeFileSync(path.join(nodesOut, file), built);
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
 * The lists the editor shows, taken from the compiled core (one list each, not a copy per dialog):
 * notification types, option lists of the dialogs (`@select … group=@NAME`), template {fields}.
 */
function optionLists() {
  const core = (file) => require(path.join(dist, 'core', file));
  try {
    return {
      NOTIFICATION_TYPES: [...core('event.js').NOTIFICATION_TYPES],
      APPLY_TO: [...core('actions/chmod.js').APPLY_TO],
      COLLISION_STYLES: [...core('actions/names.js').COLLISION_STYLES],
      MOVE_COLLISIONS: [...core('actions/names.js').MOVE_COLLISIONS],
      LEGAL_HOLD_CHOICES: [...core('actions/lock.js').LEGAL_HOLD_CHOICES],
      SMTP_SECURITY: [...core('actions/email.js').SMTP_SECURITY],
      REDIS_MODES: [...core('redis/connection.js').REDIS_MODES],
      fields: {
        event: [...core('actions/template.js').EVENT_FIELDS],
        subject: [...core('actions/email.js').SUBJECT_FIELDS],
        line: [...core('actions/email.js').LINE_FIELDS],
        body: [...core('actions/email.js').BODY_FIELDS],
      },
    };
  } catch (err) {
    // tsc failed (its errors are printed above and the build exits non-zero).
    if (result.status === 0) throw err;
    return { fields: {} };
  }
}

/** nodes/editor-checks.js with the generated lists filled in. */
function editorChecks(lists) {
  const source = fs.readFileSync(path.join(root, 'nodes', 'editor-checks.js'), 'utf8');
  return source
    .replace('/* @generated fields */ {}', JSON.stringify(lists.fields))
    .replace('/* @generated notification types */ []', JSON.stringify(lists.NOTIFICATION_TYPES || []));
}

/** The filter dialog's condition menu: key, label and input hint of every rule predicate, from the core's table. */
function rulePredicates() {
  try {
    return JSON.stringify(require(path.join(dist, 'core', 'rules', 'predicates.js')).editorPredicateList());
  } catch (err) {
    if (result.status === 0) throw err;
    return '[]';
  }
}
