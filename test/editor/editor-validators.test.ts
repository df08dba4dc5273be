// The edit dialogs' validators, run as the editor runs them: the built HTML (dist/nodes/*.html,
// with nodes/editor-checks.js inlined by scripts/build.js) evaluated in a vm with a minimal RED, and
// each field judged the way Node-RED 4's validateNodeProperty judges it (${ENV} is valid, required
// and empty is invalid, a one-argument validator's result is coerced to a boolean, only a
// two-argument validator's string is a message).
// - No one-argument validator returns a string: Node-RED 4 would count it as valid.
// - For every field of test/support/field-cases.ts: the good values pass and the bad ones fail in
//   the editor, with a message from the node's message catalogue; and the core parser the runtime
//   uses agrees on every one of them (the editor and the runtime cannot drift apart).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { FIELD_CASES } from '../support/field-cases';
import { REPO_ROOT, bundleTypes } from '../support/shipping';

type Validator = ((this: unknown, value: unknown, opt?: unknown) => unknown) & { length: number };
interface PropertyDef {
  value?: unknown;
  required?: boolean;
  validate?: Validator;
}
interface NodeDef {
  defaults: Record<string, PropertyDef>;
}

const DIST_NODES = path.join(REPO_ROOT, 'dist', 'nodes');

/** Every node type's editor definition, from the built HTML, run in a vm. */
function loadDefinitions(): Map<string, NodeDef> {
  const defs = new Map<string, NodeDef>();
  const RED = {
    nodes: { registerType: (type: string, def: NodeDef) => defs.set(type, def) },
    validators: {
      number: () => (v: unknown) => String(v).trim() !== '' && !isNaN(Number(v)),
      regex: (re: RegExp) => (v: unknown) => re.test(String(v)),
    },
    _: (key: string) => key,
  };
  // Validators that look at another field of the open dialog: no dialog here, so they use the node's properties.
  const $ = () => ({ length: 0, val: () => undefined });
  for (const file of fs.readdirSync(DIST_NODES).filter((f) => f.endsWith('.html'))) {
    const html = fs.readFileSync(path.join(DIST_NODES, file), 'utf8');
    for (const m of html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)) {
      vm.runInNewContext(m[1], { RED, $, URL, TextEncoder, console }, { filename: file });
    }
  }
  return defs;
}

/** The node's `_` as the editor gives it: the node's message catalogue, the key itself when missing. */
function nodeWithCatalogue(type: string, props: Record<string, unknown>): Record<string, unknown> {
  const catalogue = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'locales', 'en-US', `${type}.json`), 'utf8')) as Record<string, unknown>;
  const _ = (key: string, args?: Record<string, unknown>): string => {
    let value: unknown = catalogue;
    for (const part of key.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    if (typeof value !== 'string') return key;
    return value.replace(/__(\w+)__/g, (_m, name: string) => String(args?.[name] ?? ''));
  };
  return { type, _, ...props };
}

/** Node-RED 4's validateNodeProperty (editor-client red.js), reduced to what it decides. */
function judge(def: NodeDef, field: string, value: string, node: Record<string, unknown>): true | { message: string | null } {
  if (/^\$\{[a-zA-Z_][a-zA-Z0-9_]*\}$/.test(value)) return true;
  const prop = def.defaults[field];
  if (prop.required && value === '') return { message: null };
  if (!prop.validate) return true;
  const result = prop.validate.call(node, value, {});
  if (prop.validate.length === 2 && typeof result === 'string') return { message: result };
  return result ? true : { message: null };
}

function coreVerdict(core: (v: string) => unknown, value: string): true | string {
  try {
    core(value);
    return true;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('editor validators (the built HTML in a vm) agree with the core parsers', () => {
  const defs = loadDefinitions();

  it('every node type of package.json has an editor definition', () => {
    for (const type of bundleTypes()) assert.ok(defs.has(type), `${type} has no registerType in dist/nodes`);
  });

  it('no one-argument validator returns a string (Node-RED 4 would count it as valid)', () => {
    const probes = ['', 'x', '-5', '0', '99999', '{bogus}', 'forever', '/', 'a b', 'https://x:8000/', '${X}', '1e3'];
    const offenders: string[] = [];
    for (const [type, def] of defs) {
      for (const [field, prop] of Object.entries(def.defaults)) {
        if (!prop.validate || prop.validate.length >= 2) continue;
        for (const value of probes) {
          const result = prop.validate.call(nodeWithCatalogue(type, {}), value, {});
          if (typeof result !== 'boolean') offenders.push(`${type}.${field}(${JSON.stringify(value)}) → ${JSON.stringify(result)}`);
        }
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('every text field with a validator is in the case table (so the browser test types a bad value into it)', () => {
    const covered = new Set(FIELD_CASES.map((c) => `${c.type}.${c.field}`));
    const missing: string[] = [];
    for (const [type, def] of defs) {
      for (const [field, prop] of Object.entries(def.defaults)) {
        if (prop.validate && typeof prop.value !== 'object' && !covered.has(`${type}.${field}`)) missing.push(`${type}.${field}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  for (const c of FIELD_CASES) {
    const label = `${c.type}.${c.field}${c.props ? ` (${JSON.stringify(c.props)})` : ''}`;
    it(`${label}: good values pass, bad values are red with a message${c.core ? ', and the core agrees' : ''}`, () => {
      const def = defs.get(c.type);
      assert.ok(def, `${c.type}: no editor definition`);
      assert.ok(def.defaults[c.field], `${c.type}: no field ${c.field}`);
      const node = nodeWithCatalogue(c.type, c.props ?? {});
      for (const value of c.good) {
        assert.equal(judge(def, c.field, value, node), true, `editor refuses good ${JSON.stringify(value)}`);
        if (c.core) assert.equal(coreVerdict(c.core, value), true, `core refuses good ${JSON.stringify(value)}`);
      }
      for (const value of c.bad) {
        const verdict = judge(def, c.field, value, node);
        assert.notEqual(verdict, true, `editor accepts bad ${JSON.stringify(value)}`);
        const { message } = verdict as { message: string | null };
        // Required-and-empty is Node-RED's own check (no message of ours); otherwise a catalogue text.
        if (!(def.defaults[c.field].required && value === '')) {
          assert.ok(message, `no message for bad ${JSON.stringify(value)}`);
          assert.ok(!/^qumulo-[\w-]+\.errors\./.test(message), `message for ${JSON.stringify(value)} is a missing catalogue key: ${message}`);
        }
        if (c.core) assert.notEqual(coreVerdict(c.core, value), true, `core accepts bad ${JSON.stringify(value)} that the editor refuses`);
      }
    });
  }
});
