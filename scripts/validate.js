#!/usr/bin/env node
// The Flow Library scorecard (node-red-dev validate, 0.1.6) for this package, runnable on a
// machine without access to flows.nodered.org's catalogue.
//
//   node scripts/validate.js            # scorecard + editor checks, exit 1 on a failed check
//   node scripts/validate.js --json f   # also write the scorecard as JSON
//
// It runs node-red-dev's own check modules (checkpackage, checknodes, checkdeps) on the repo.
// Those fetch https://catalogue.nodered.org/catalogue.json for P08 (similar package names) and
// N01 (node type names unique in the catalogue). When the catalogue cannot be reached, this script
// says so, reports P08 and N01 as NOT RUN (never as passed) and lets the other checks run; the npm
// registry checks (P06, P07, D02, D03) still need registry.npmjs.org.
//
// On top of the scorecard it runs the editor checks Node-RED users notice (the scorecard does not):
// every node's HTML parses the way node-red-dev parses it, has an inline category, icon, defaults,
// a palette label and a label function, a help panel and a message catalogue in locales/en-US.
// The same functions are used by the tests (test/package/examples.test.ts, test/package/package.test.ts).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const dns = require('node:dns').promises;

const ROOT = path.resolve(__dirname, '..');
const NRD_DIR = path.dirname(require.resolve('node-red-dev/package.json', { paths: [ROOT] }));
const acorn = require(require.resolve('acorn', { paths: [NRD_DIR] }));
const walk = require(require.resolve('acorn-walk', { paths: [NRD_DIR] }));

const CATALOGUE_HOST = 'catalogue.nodered.org';

/** The package.json of a package root. */
function readPackage(root = ROOT) {
  return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
}

/** `<script type="text/javascript">` blocks of an HTML file, as node-red-dev extracts them. */
function scriptBlocks(html) {
  const re = /<script.+?type=['"]text\/javascript['"].*?>([\S\s]*?)<\/script>/gi;
  const blocks = [];
  let match;
  while ((match = re.exec(html)) !== null) blocks.push(match[1]);
  return blocks;
}

function literal(node) {
  return node && node.type === 'Literal' ? node.value : undefined;
}

/**
 * Node definitions of one editor HTML file, parsed like node-red-dev's checknodes (acorn over the
 * text/javascript blocks, literal type names, inline object properties), with a little more
 * detail: which properties are literal, which are functions, the declared defaults and credentials.
 * Returns { defs: {type: def}, problems: [string] }.
 */
function parseEditorHtml(file) {
  const problems = [];
  const defs = {};
  const html = fs.readFileSync(file, 'utf8');
  const blocks = scriptBlocks(html);
  if (blocks.length === 0) problems.push('no <script type="text/javascript"> block');
  for (const block of blocks) {
    let ast;
    try {
      ast = acorn.parse(block, { ecmaVersion: 'latest' });
    } catch (err) {
      problems.push(`script does not parse: ${err.message}`);
      continue;
    }
    walk.simple(ast, {
      CallExpression(call) {
        if (!call.callee.property || call.callee.property.name !== 'registerType') return;
        const [typeNode, defNode] = call.arguments;
        if (!typeNode || typeNode.type !== 'Literal') {
          problems.push('registerType with a non-literal type name');
          return;
        }
        if (!defNode || defNode.type !== 'ObjectExpression') {
          problems.push(`registerType('${typeNode.value}') definition is not an inline object`);
          return;
        }
        const def = { defaults: {}, credentials: [], functions: [], literals: {} };
        for (const prop of defNode.properties) {
          const key = prop.key && (prop.key.name || prop.key.value);
          if (!key) continue;
          const value = prop.value;
          if (key === 'defaults' || key === 'credentials') {
            if (value.type !== 'ObjectExpression') {
              problems.push(`${typeNode.value}: ${key} not inline`);
              continue;
            }
            for (const entry of value.properties) {
              const name = entry.key.name || entry.key.value;
              const spec = {};
              if (entry.value.type === 'ObjectExpression') {
                for (const field of entry.value.properties) {
                  const fieldName = field.key.name || field.key.value;
                  spec[fieldName] = field.value.type === 'Literal' ? field.value.value : field.value.type === 'ArrayExpression' ? '[array]' : `[${field.value.type}]`;
                }
              }
              if (key === 'defaults') def.defaults[name] = spec;
              else def.credentials.push(name);
            }
          } else if (value.type === 'FunctionExpression' || value.type === 'ArrowFunctionExpression') {
            def.functions.push(key);
          } else if (value.type === 'Literal') {
            def.literals[key] = value.value;
          } else if (['category', 'icon', 'color', 'inputs', 'outputs'].includes(key)) {
            problems.push(`${typeNode.value}: ${key} not inline (node-red-dev cannot read it)`);
          }
        }
        defs[typeNode.value] = def;
      },
    });
  }
  if (blocks.length > 0 && Object.keys(defs).length === 0 && problems.length === 0) problems.push('no registerType call found');
  return { defs, problems, html };
}

/** Every file under dir (recursive), relative names with forward slashes. */
function listFiles(dir, base = dir) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full, base));
    else out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out.sort();
}

/** Example flows under examples/ (recursive): [{ name, file, flow?, error? }]; name = menu path without .json. */
function listExamples(root = ROOT) {
  const dir = path.join(root, 'examples');
  return listFiles(dir)
    .filter((rel) => rel.endsWith('.json'))
    .map((rel) => {
      const file = path.join(dir, rel);
      const item = { name: rel.replace(/\.json$/, ''), file };
      try {
        item.flow = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        item.error = err.message;
      }
      return item;
    });
}

/**
 * Editor definitions of the package: for every `node-red.nodes` entry, the HTML that Node-RED
 * (and node-red-dev) reads beside the JS. `htmlFrom` chooses where: 'dist' (what is loaded and
 * packed, after `npm run build`) or 'source' (nodes/<name>.html in the repo).
 * Returns { types: {type: def & { set, htmlFile }}, problems: [{ set, message }] }.
 */
function editorDefinitions(root = ROOT, htmlFrom = 'dist') {
  const pkg = readPackage(root);
  const sets = (pkg['node-red'] && pkg['node-red'].nodes) || {};
  const types = {};
  const problems = [];
  for (const [set, jsPath] of Object.entries(sets)) {
    const distHtml = path.join(root, jsPath.replace(/\.c?js$/, '.html'));
    const htmlFile = htmlFrom === 'source' ? path.join(root, 'nodes', path.basename(distHtml)) : distHtml;
    if (!fs.existsSync(htmlFile)) {
      problems.push({ set, message: `no editor HTML (${path.relative(root, htmlFile)}): the node cannot appear in the palette` });
      continue;
    }
    const parsed = parseEditorHtml(htmlFile);
    for (const message of parsed.problems) problems.push({ set, message });
    for (const [type, def] of Object.entries(parsed.defs)) types[type] = { ...def, set, htmlFile, html: parsed.html };
  }
  return { types, problems };
}

/** The scorecard's N02: non-config types without an example. */
function exampleCoverage(root = ROOT, htmlFrom = 'dist') {
  const { types } = editorDefinitions(root, htmlFrom);
  const used = new Set();
  for (const example of listExamples(root)) {
    if (Array.isArray(example.flow)) for (const node of example.flow) used.add(node && node.type);
  }
  const nonConfig = Object.keys(types).filter((t) => types[t].literals.category !== 'config');
  return { nonConfig, missing: nonConfig.filter((t) => !used.has(t)) };
}

/** Editor checks beyond the scorecard: what a Node-RED user sees in the palette, dialog and help. */
function editorChecks(root = ROOT, htmlFrom = 'dist') {
  const { types, problems } = editorDefinitions(root, htmlFrom);
  const pkg = readPackage(root);
  const findings = problems.map((p) => ({ type: p.set, message: p.message }));
  const localeDir = htmlFrom === 'dist' ? path.join(root, 'dist', 'nodes', 'locales', 'en-US') : path.join(root, 'locales', 'en-US');
  const iconDir = htmlFrom === 'dist' ? path.join(root, 'dist', 'nodes', 'icons') : path.join(root, 'icons');
  for (const [type, def] of Object.entries(types)) {
    const add = (message) => findings.push({ type, message });
    const isConfig = def.literals.category === 'config';
    if (!('category' in def.literals)) add('no literal category');
    else if (!isConfig && def.literals.category !== 'qumulo') add(`palette category "${def.literals.category}", expected "qumulo"`);
    if (!('name' in def.defaults)) add('no "name" default');
    if (!def.functions.includes('label')) add('no label function (the node cannot say what it is set to)');
    if (!isConfig) {
      if (!('icon' in def.literals)) add('no literal icon');
      else {
        const icon = String(def.literals.icon);
        if (!icon.startsWith('font-awesome/') && !fs.existsSync(path.join(iconDir, icon))) add(`icon ${icon} is not in icons/`);
      }
      if (!('paletteLabel' in def.literals) && !def.functions.includes('paletteLabel')) add('no paletteLabel');
      if (!('color' in def.literals)) add('no literal color');
      if (!('inputs' in def.literals)) add('no literal inputs');
      if (!('outputs' in def.literals)) add('no literal outputs');
    }
    if (!new RegExp(`data-template-name=["']${type}["']`).test(def.html)) add('no edit dialog template (data-template-name)');
    const catalogue = path.join(localeDir, `${def.set}.json`);
    if (!fs.existsSync(catalogue)) add(`no message catalogue locales/en-US/${def.set}.json`);
    const helpFile = path.join(localeDir, `${def.set}.html`);
    const inlineHelp = new RegExp(`data-help-name=["']${type}["']`).test(def.html);
    if (!fs.existsSync(helpFile) && !inlineHelp) add(`no help panel (locales/en-US/${def.set}.html)`);
    else {
      const help = fs.existsSync(helpFile) ? fs.readFileSync(helpFile, 'utf8') : def.html;
      if (!new RegExp(`data-help-name=["']${type}["']`).test(help)) add(`help file has no data-help-name="${type}"`);
      // Node-RED's help style: a summary paragraph first, then Inputs / Outputs sections.
      const body = help.replace(/^[\s\S]*?data-help-name=["'][^"']+["'][^>]*>/, '').trim();
      if (!/^<p[\s>]/i.test(body)) add('help does not start with a summary paragraph');
      const needs = [];
      if (!isConfig && def.literals.inputs) needs.push('Inputs');
      if (!isConfig && def.literals.outputs) needs.push('Outputs');
      for (const heading of needs) {
        if (!new RegExp(`<h3>\\s*${heading}\\s*</h3>`, 'i').test(help)) add(`help has no <h3>${heading}</h3> section`);
      }
    }
  }
  const registered = Object.keys((pkg['node-red'] && pkg['node-red'].nodes) || {});
  for (const set of registered) {
    if (!Object.values(types).some((d) => d.set === set) && !findings.some((f) => f.type === set)) findings.push({ type: set, message: 'no registerType in its HTML' });
  }
  return { types, findings };
}

async function reachable(host) {
  try {
    await dns.lookup(host);
    return true;
  } catch {
    return false;
  }
}

/** Runs node-red-dev's check modules on the package root. Resolves { scorecard, lines, notRun }. */
async function runScorecard(root = ROOT) {
  const lines = [];
  const notRun = [];
  const cli = {
    log: (text) => lines.push({ level: 'ok', text: String(text) }),
    warn: (text) => lines.push({ level: 'warn', text: String(text) }),
    error: (err) => {
      lines.push({ level: 'error', text: String(err && err.message ? err.message : err) });
      throw err instanceof Error ? err : new Error(String(err));
    },
  };
  const catalogueUp = await reachable(CATALOGUE_HOST);
  const axios = require(require.resolve('axios', { paths: [NRD_DIR] }));
  const originalGet = axios.get;
  if (!catalogueUp) {
    notRun.push({ code: 'P08', reason: `${CATALOGUE_HOST} unreachable (similar package names not checked)` });
    notRun.push({ code: 'N01', reason: `${CATALOGUE_HOST} unreachable (node type names not checked against the catalogue)` });
    // Without the catalogue node-red-dev aborts the whole run; answer its two catalogue requests
    // with an empty catalogue so the remaining checks run, and report P08/N01 as not run.
    axios.get = function (url, ...rest) {
      if (String(url).includes(CATALOGUE_HOST)) return Promise.resolve({ data: { modules: [] } });
      return originalGet.call(this, url, ...rest);
    };
  }
  const scorecard = {};
  try {
    const checkpackage = require(path.join(NRD_DIR, 'src', 'libs', 'checkpackage'));
    const checknodes = require(path.join(NRD_DIR, 'src', 'libs', 'checknodes'));
    const checkdeps = require(path.join(NRD_DIR, 'src', 'libs', 'checkdeps'));
    await checkpackage(root, cli, scorecard, false);
    await checknodes(root, cli, scorecard, false);
    await checkdeps(root, cli, scorecard, false);
  } finally {
    axios.get = originalGet;
  }
  for (const { code } of notRun) {
    if (scorecard[code]) scorecard[code] = { test: null, notRun: true };
    // node-red-dev printed a ✅ for the empty catalogue; take it back.
    for (const line of lines) {
      if (code === 'P08' && /No similar named packages found/.test(line.text)) Object.assign(line, { level: 'not-run', text: `P08 not run: ${CATALOGUE_HOST} unreachable` });
      if (code === 'N01' && /Nodes all have unique names/.test(line.text)) Object.assign(line, { level: 'not-run', text: `N01 not run: ${CATALOGUE_HOST} unreachable` });
    }
  }
  return { scorecard, lines, notRun };
}

async function main() {
  const args = process.argv.slice(2);
  const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
  const { scorecard, lines, notRun } = await runScorecard(ROOT);
  const mark = { ok: '  ', warn: '⚠ ', error: '✖ ', 'not-run': '… ' };
  console.log('node-red-dev validate (0.1.6 check modules)');
  for (const line of lines) console.log(mark[line.level] + line.text);
  const { findings } = editorChecks(ROOT, 'dist');
  console.log('\neditor checks (palette, dialog, help, icons, locales)');
  if (findings.length === 0) console.log('  ✅ every node passes');
  for (const f of findings) console.log(`⚠  ${f.type}: ${f.message}`);
  const failed = Object.entries(scorecard)
    .filter(([code, value]) => /^[PND]\d\d$/.test(code) && value && value.test === false)
    .map(([code]) => code);
  console.log(`\nscorecard: ${failed.length === 0 ? 'no failed checks' : `failed ${failed.join(', ')}`}${notRun.length ? `; not run: ${notRun.map((n) => n.code).join(', ')}` : ''}`);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ scorecard, notRun, editorFindings: findings }, null, 2));
  // node-red-dev's modules open a readline on stdin at load time: exit explicitly.
  process.exit(failed.length === 0 && findings.length === 0 ? 0 : 1);
}

module.exports = { readPackage, parseEditorHtml, editorDefinitions, exampleCoverage, editorChecks, listExamples, runScorecard, scriptBlocks };

if (require.main === module) {
  main().catch((err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(2);
  });
}
