// The filter node's rule set handling without Node-RED (core/rules/active.ts): versions that count
// real changes, a refused set that keeps the last good one, what a matched message carries, the
// status text, and the editor's Check with its file-access limits.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { normalizeNotification } from '../../../core/event';
import { ruleSetFromDocument } from '../../../core/rules';
import { ActiveRules, checkRules, loadRuleSet, problemsOf, ruleFileRoots, type MatchTarget } from '../../../core/rules/active';

const pdfRules = { rules: [{ name: 'pdf', when: { extension: 'pdf' }, actions: ['lock', 'email'] }, { name: 'inbox', when: { path: '/in/**' }, actions: ['email'] }] };
const eventFor = (p: string) => normalizeNotification({ type: 'child_file_added', path: p.replace(/^\/in\//, ''), spine: ['1', '2'] }, { watchId: 'w', watchRoot: '/in', seq: 1, receivedAt: 1 });

describe('active rules (core/rules/active.ts)', () => {
  it('annotates a matched message with its rules, their actions (once each) and the rule set version', () => {
    const logged: string[] = [];
    const rules = new ActiveRules((text) => logged.push(text));
    const first = rules.install(ruleSetFromDocument(pdfRules), 'the dialog');
    assert.deepEqual({ ok: first.ok, changed: first.changed, version: first.version, rules: first.rules }, { ok: true, changed: true, version: 1, rules: 2 });
    assert.match(logged[0], /^rules v1 \(\w+\) from the dialog: 2 enabled of 2$/);
    const msg: MatchTarget = {};
    assert.equal(rules.annotate(msg, eventFor('/in/a.pdf')), true);
    assert.deepEqual(msg.rules, [
      { name: 'pdf', actions: ['lock', 'email'], tags: [] },
      { name: 'inbox', actions: ['email'], tags: [] },
    ]);
    assert.deepEqual(msg.actions, ['lock', 'email']);
    assert.deepEqual(msg.ruleset, { version: 1, hash: first.hash });
    const other: MatchTarget = {};
    assert.equal(rules.annotate(other, normalizeNotification({ type: 'child_file_added', path: 'b.txt' }, { watchId: 'w', watchRoot: '/out', seq: 2, receivedAt: 2 })), false);
    assert.deepEqual(other, { ruleset: { version: 1, hash: first.hash } }, 'unmatched: only the version');
  });

  it('the same rules again do not count as a new version; a refused set keeps the last good one', () => {
    const rules = new ActiveRules();
    assert.equal(rules.status(), null, 'nothing to show before the first set');
    assert.equal(rules.keptText, 'no rules active');
    const first = rules.install(ruleSetFromDocument(pdfRules), 'a');
    assert.equal(rules.install(ruleSetFromDocument(pdfRules), 'b').changed, false);
    let problems;
    try {
      ruleSetFromDocument({ rules: [{ name: 'bad', when: { nope: 1 } }] });
      assert.fail('an unknown condition must be refused');
    } catch (err) {
      problems = problemsOf(err);
    }
    const refused = rules.rejected(problems);
    assert.deepEqual({ ok: refused.ok, version: refused.version, hash: refused.hash }, { ok: false, version: 1, hash: first.hash });
    assert.equal(rules.keptText, `still using v1 (${first.hash})`);
    assert.deepEqual(rules.status(problems.length), { level: 'error', text: `${problems.length} problem${problems.length === 1 ? '' : 's'} in rules (kept v1 · ${first.hash})` });
    assert.deepEqual(rules.status(), { level: 'ok', text: `2 rules · v1 · ${first.hash}` });
  });

  it('loads from the dialog (document or its JSON text), YAML, or a file relative to the user directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-active-'));
    try {
      fs.writeFileSync(path.join(dir, 'rules.yaml'), 'rules:\n  - name: pdf\n    when: { extension: pdf }\n');
      assert.equal(loadRuleSet({ source: 'file', file: 'rules.yaml' }, dir).rules.length, 1);
      assert.equal(loadRuleSet({ source: 'yaml', yaml: 'rules: []' }, dir).rules.length, 0);
      assert.equal(loadRuleSet({ rules: JSON.stringify(pdfRules) }, dir).rules.length, 2);
      assert.equal(loadRuleSet({}, dir).rules.length, 0);
      assert.throws(() => loadRuleSet({ source: 'file', file: ' ' }, dir), /no rule file configured/);

      const where = ruleFileRoots({ userDir: dir });
      const ok = checkRules({ source: 'file', file: 'rules.yaml' }, where);
      assert.equal(ok.ok, true);
      assert.match(String(ok.yaml), /name: pdf/);
      const outside = checkRules({ source: 'file', file: '/etc/passwd' }, where);
      assert.equal(outside.ok, false, 'a file outside the allowed directories is not read');
      assert.equal(checkRules({ source: 'file', file: 42 as unknown as string }, where).ok, false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists the allowed rule file directories from settings.js', () => {
    assert.deepEqual(ruleFileRoots({ userDir: '/u', qumuloFlow: { ruleFileDirs: ['/r', 3] } }), { baseDir: '/u', roots: ['/u', '/r'] });
    assert.deepEqual(ruleFileRoots({ qumuloFlow: { ruleFileDirs: '/r' } }, '/cwd'), { baseDir: '/cwd', roots: ['/r'] });
  });
});
