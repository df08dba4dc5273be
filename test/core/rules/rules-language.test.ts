// The rule language: every condition, grouping, rule fields, edge cases of names and paths, and
// the validator's messages. Every match is checked on both the compiled matcher and the reference
// evaluator, so a case here can never pass on one and fail on the other.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { normalizeNotification } from '../../../core/event';
import type { EventAttributes, NotificationType, QumuloEvent } from '../../../core/event';
import {
  compileRuleSet,
  formatProblem,
  referenceMatch,
  RuleSetError,
  ruleSetFromDocument,
  ruleSetFromFile,
  ruleSetFromYaml,
  ruleSetHash,
  ruleSetToDocument,
} from '../../../core/rules';
import type { RuleProblem, RuleSet } from '../../../core/rules';

function event(absolutePath: string, type: NotificationType = 'child_file_added', options: { root?: string; attributes?: EventAttributes } = {}): QumuloEvent {
  const root = options.root ?? '/';
  assert.ok(absolutePath === root || absolutePath.startsWith(root === '/' ? '/' : root + '/'), `${absolutePath} is under ${root}`);
  const relative = root === '/' ? absolutePath.slice(1) : absolutePath.slice(root.length + 1);
  const e = normalizeNotification({ type, path: relative, spine: ['2', '77'] }, { watchId: 'w', watchRoot: root, seq: 1, receivedAt: 0 });
  if (options.attributes) e.attributes = options.attributes;
  return e;
}

/** Names of matched rules; asserts the compiled matcher and the reference evaluator agree. */
function matched(ruleSet: RuleSet, e: QumuloEvent): string[] {
  const compiled = compileRuleSet(ruleSet).match(e).map((r) => r.rule.name);
  const reference = referenceMatch(ruleSet, e);
  assert.deepEqual(compiled, reference, `compiled and reference disagree on ${e.type} ${e.path}`);
  return compiled;
}

/** One rule with condition `when` (a document): does `e` match? */
function holds(when: unknown, e: QumuloEvent): boolean {
  return matched(ruleSetFromDocument({ rules: [{ name: 'r', when }] }), e).length === 1;
}

function problemsOf(fn: () => unknown): RuleProblem[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RuleSetError, `expected RuleSetError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected the rule set to be rejected');
}

function problemOf(when: unknown): string {
  const problems = problemsOf(() => ruleSetFromDocument({ rules: [{ name: 'r', when }] }));
  assert.equal(problems.length, 1, JSON.stringify(problems));
  return problems[0].message;
}

describe('rule language: conditions', () => {
  it('type: one type or a list', () => {
    assert.equal(holds({ type: 'child_file_added' }, event('/a/x.pdf', 'child_file_added')), true);
    assert.equal(holds({ type: 'child_file_added' }, event('/a/x.pdf', 'child_data_written')), false);
    assert.equal(holds({ type: ['child_file_added', 'child_data_written'] }, event('/a/x.pdf', 'child_data_written')), true);
    assert.match(problemOf({ type: 'child_file_add' }), /unknown notification type "child_file_add" \(did you mean "child_file_added"\?\)/);
  });

  it('path: picomatch globs against the absolute path, dot: true, case-sensitive', () => {
    assert.equal(holds({ path: '/projects/**' }, event('/projects/a/b/c.pdf')), true);
    assert.equal(holds({ path: '/projects/**' }, event('/projects', 'child_dir_added')), true, '** also matches the directory itself');
    assert.equal(holds({ path: '/projects/**' }, event('/projectsX/a.pdf')), false);
    assert.equal(holds({ path: '**/*.pdf' }, event('/a/b/c.pdf')), true);
    assert.equal(holds({ path: '**/*.pdf' }, event('/c.pdf')), true);
    assert.equal(holds({ path: '**/*.pdf' }, event('/a/c.PDF')), false, 'globs are case-sensitive');
    assert.equal(holds({ path: '/a/*' }, event('/a/.env')), true, 'dotfiles match *');
    assert.equal(holds({ path: '/a/*' }, event('/a/b/c')), false, '* stays inside one segment');
    assert.equal(holds({ path: '/projects/*/incoming/**' }, event('/projects/p1/incoming/x/y.txt')), true);
    assert.equal(holds({ path: '/projects/*/incoming/**' }, event('/projects/p1/outgoing/y.txt')), false);
    assert.equal(holds({ path: '/a/{b,c}/*.txt' }, event('/a/c/x.txt')), true);
    assert.equal(holds({ path: '/a/{b,c}/*.txt' }, event('/a/d/x.txt')), false);
    assert.equal(holds({ path: '/logs/app-?.log' }, event('/logs/app-7.log')), true);
    assert.equal(holds({ path: '/logs/app-[0-4].log' }, event('/logs/app-7.log')), false);
    assert.equal(holds({ path: ['/x/**', '/y/**'] }, event('/y/z')), true);
  });

  it('path: unicode and spaces in names', () => {
    assert.equal(holds({ path: '/Projets/Résumé final/*.pdf' }, event('/Projets/Résumé final/été 2024.pdf')), true);
    assert.equal(holds({ path: '/Projets/**/*é*.pdf' }, event('/Projets/Résumé final/été 2024.pdf')), true);
    assert.equal(holds({ path: '/データ/**' }, event('/データ/報告書.docx')), true);
  });

  it('path: globs that could never match are refused with what to write instead', () => {
    assert.match(problemOf({ path: 'projects/**' }), /start it with \/ .*or use relativePath/);
    assert.match(problemOf({ path: '/projects/a/' }), /ends with "\/".*"\/projects\/a" for the directory itself or "\/projects\/a\/\*\*"/);
    assert.match(problemOf({ path: '!/tmp/**' }), /negated glob.*not: \{path: "\/tmp\/\*\*"\}/);
    assert.match(problemOf({ path: '/a//b' }), /contains "\/\/"/);
    assert.match(problemOf({ path: '/a/../b' }), /"\." or "\.\." segment/);
    assert.match(problemOf({ path: [] }), /empty list/);
  });

  it('relativePath: globs against the path relative to the watch root', () => {
    const e = event('/projects/p1/incoming/a.pdf', 'child_file_added', { root: '/projects' });
    assert.equal(e.relativePath, 'p1/incoming/a.pdf');
    assert.equal(holds({ relativePath: '*/incoming/**' }, e), true);
    assert.equal(holds({ relativePath: 'p1/*.pdf' }, e), false);
    assert.match(problemOf({ relativePath: '/p1/**' }), /relative paths have no leading slash/);
  });

  it('directory: inside a directory, with or without its subtree; trailing slashes do not matter', () => {
    assert.equal(holds({ directory: '/projects/a' }, event('/projects/a/b/c.pdf')), true);
    assert.equal(holds({ directory: '/projects/a/' }, event('/projects/a/b/c.pdf')), true);
    assert.equal(holds({ directory: '/projects/a' }, event('/projects/a', 'child_dir_added')), false, 'the directory itself is not inside itself');
    assert.equal(holds({ directory: '/projects/a' }, event('/projects/ab/c.pdf')), false);
    assert.equal(holds({ directory: { path: '/projects/a', subtree: false } }, event('/projects/a/c.pdf')), true);
    assert.equal(holds({ directory: { path: '/projects/a', subtree: false } }, event('/projects/a/b/c.pdf')), false);
    assert.equal(holds({ directory: { path: ['/x', '/projects/a'], subtree: false } }, event('/projects/a/c.pdf')), true);
    assert.equal(holds({ directory: '/' }, event('/anything/at/all')), true);
    assert.equal(holds({ directory: { path: '/', subtree: false } }, event('/top.txt')), true);
    assert.equal(holds({ directory: { path: '/', subtree: false } }, event('/a/deep.txt')), false);
    assert.match(problemOf({ directory: 'projects' }), /absolute path/);
    assert.match(problemOf({ directory: '/projects/*' }), /glob characters.*path: "\/projects\/\*\/\*\*"/);
  });

  it('name: globs against the last path component', () => {
    assert.equal(holds({ name: '~*' }, event('/a/~lock.docx')), true);
    assert.equal(holds({ name: '~*' }, event('/a/lock~.docx')), false);
    assert.equal(holds({ name: '*.tmp' }, event('/a/b/x.tmp')), true);
    assert.equal(holds({ name: '.*' }, event('/a/.DS_Store')), true, 'dotfiles');
    assert.equal(holds({ name: '.*' }, event('/a/DS_Store')), false);
    assert.equal(holds({ name: 'report-??.pdf' }, event('/r/report-07.pdf')), true);
    assert.equal(holds({ name: 'report-??.pdf' }, event('/r/report-007.pdf')), false);
    assert.equal(holds({ name: 'été *' }, event('/r/été 2024.pdf')), true);
    assert.equal(holds({ name: 'Makefile' }, event('/src/Makefile')), true);
    assert.match(problemOf({ name: 'a/b' }), /contains "\/"/);
  });

  it('nameRegex: a JavaScript regular expression on the name, with i/m/s/u flags', () => {
    assert.equal(holds({ nameRegex: '^invoice-\\d+\\.pdf$' }, event('/f/invoice-42.pdf')), true);
    assert.equal(holds({ nameRegex: '^invoice-\\d+\\.pdf$' }, event('/f/Invoice-42.pdf')), false);
    assert.equal(holds({ nameRegex: { pattern: '^invoice-\\d+\\.pdf$', flags: 'i' } }, event('/f/Invoice-42.PDF')), true);
    assert.match(problemOf({ nameRegex: '(unclosed' }), /invalid regular expression/);
    assert.match(problemOf({ nameRegex: { pattern: 'x', flags: 'g' } }), /g and y would make matching stateful/);
  });

  it('extension: case-insensitive by default, with or without the dot; "" means none', () => {
    assert.equal(holds({ extension: 'pdf' }, event('/a/X.PDF')), true);
    assert.equal(holds({ extension: '.PDF' }, event('/a/x.pdf')), true);
    assert.equal(holds({ extension: ['docx', 'pdf'] }, event('/a/x.pdf')), true);
    assert.equal(holds({ extension: { values: ['pdf'], caseSensitive: true } }, event('/a/X.PDF')), false);
    assert.equal(holds({ extension: { values: ['PDF'], caseSensitive: true } }, event('/a/X.PDF')), true);
    assert.equal(holds({ extension: '' }, event('/src/Makefile')), true, 'no extension');
    assert.equal(holds({ extension: '' }, event('/a/.env')), true, 'a dotfile has no extension');
    assert.equal(holds({ extension: 'env' }, event('/a/.env')), false);
    assert.equal(holds({ extension: 'gz' }, event('/a/archive.tar.gz')), true, 'the part after the last dot');
    assert.equal(holds({ extension: '' }, event('/a/trailing.')), true);
    assert.match(problemOf({ extension: 'tar.gz' }), /part after the last dot \("gz"\), for "tar.gz" use name: "\*\.tar\.gz"/);
  });

  it('isDirectory: true/false when the type says so; unknown types match neither', () => {
    assert.equal(holds({ isDirectory: true }, event('/a/d', 'child_dir_added')), true);
    assert.equal(holds({ isDirectory: false }, event('/a/f.txt', 'child_file_added')), true);
    assert.equal(holds({ isDirectory: true }, event('/a/f.txt', 'child_file_added')), false);
    const unknown = event('/a/x', 'child_mtime_changed');
    assert.equal(unknown.isDirectory, null);
    assert.equal(holds({ isDirectory: true }, unknown), false);
    assert.equal(holds({ isDirectory: false }, unknown), false);
    assert.equal(holds({ not: { isDirectory: true } }, unknown), true);
    assert.match(problemOf({ isDirectory: 'yes' }), /true or false/);
  });

  it('size: bytes or units, comparisons; false when the event has no size', () => {
    const big = event('/a/v.mp4', 'child_size_changed', { attributes: { size: 150_000_000 } });
    const small = event('/a/v.mp4', 'child_size_changed', { attributes: { size: 1024 } });
    const none = event('/a/v.mp4', 'child_size_changed');
    assert.equal(holds({ size: { gt: '100MB' } }, big), true);
    assert.equal(holds({ size: { gt: '100MB' } }, small), false);
    assert.equal(holds({ size: { gt: '100MB' } }, none), false);
    assert.equal(holds({ not: { size: { gt: '100MB' } } }, none), true);
    assert.equal(holds({ size: { gte: '1KiB', lt: '1MB' } }, small), true);
    assert.equal(holds({ size: { gt: '1KiB' } }, small), false);
    assert.equal(holds({ size: 1024 }, small), true);
    assert.equal(holds({ size: '1 KiB' }, small), true);
    assert.match(problemOf({ size: { gt: '10 parsecs' } }), /not a size/);
    assert.match(problemOf({ size: { gt: '10MB', lt: '1MB' } }), /can never match/);
    assert.match(problemOf({ size: { bigger: 1 } }), /unknown key "bigger"/);
  });

  it('owner and group: text or numbers; false when absent', () => {
    const e = event('/a/x', 'child_owner_changed', { attributes: { owner: '500', group: '100' } });
    assert.equal(holds({ owner: 500 }, e), true);
    assert.equal(holds({ owner: ['501', '500'] }, e), true);
    assert.equal(holds({ owner: '501' }, e), false);
    assert.equal(holds({ group: '100' }, e), true);
    assert.equal(holds({ owner: '500' }, event('/a/x')), false);
  });

  it('mode: exact or bit tests on the octal mode; unquoted numbers are explained', () => {
    const e = event('/a/x', 'child_acl_changed', { attributes: { mode: '0666' } });
    assert.equal(holds({ mode: '0666' }, e), true);
    assert.equal(holds({ mode: '0644' }, e), false);
    assert.equal(holds({ mode: { hasAny: '0002' } }, e), true, 'world-writable');
    assert.equal(holds({ mode: { hasAll: '0600' } }, e), true);
    assert.equal(holds({ mode: { hasNone: '0111' } }, e), true);
    assert.equal(holds({ mode: { hasAll: '0700' } }, e), false);
    assert.equal(holds({ mode: { hasAny: '0002' } }, event('/a/x')), false);
    assert.equal(holds({ mode: { hasAny: '0002' } }, event('/a/x', 'child_acl_changed', { attributes: { mode: 'garbage' } })), false);
    assert.match(problemOf({ mode: 644 }), /quote it: "0644"/);
  });
});

describe('rule language: grouping', () => {
  const pdfInProjects = { all: [{ directory: '/projects' }, { extension: 'pdf' }] };

  it('all, any, not and implicit all of several keys', () => {
    assert.equal(holds(pdfInProjects, event('/projects/a.pdf')), true);
    assert.equal(holds(pdfInProjects, event('/home/a.pdf')), false);
    assert.equal(holds({ directory: '/projects', extension: 'pdf' }, event('/projects/a.pdf')), true);
    assert.equal(holds({ directory: '/projects', extension: 'pdf' }, event('/projects/a.doc')), false);
    assert.equal(holds({ any: [{ extension: 'exe' }, { name: '*.LOCKED' }] }, event('/x/y.LOCKED')), true);
    assert.equal(holds({ not: { extension: 'pdf' } }, event('/x/y.doc')), true);
    assert.equal(holds({ not: { any: [{ extension: 'pdf' }, { extension: 'doc' }] } }, event('/x/y.doc')), false);
  });

  it('nests to any depth', () => {
    // (in /projects AND NOT (tmp OR ~*)) OR (any dir event AND NOT (in /scratch))
    const when = {
      any: [
        { all: [{ directory: '/projects' }, { not: { any: [{ extension: 'tmp' }, { name: '~*' }] } }] },
        { all: [{ isDirectory: true }, { not: { not: { not: { directory: '/scratch' } } } }] },
      ],
    };
    assert.equal(holds(when, event('/projects/a/b.pdf')), true);
    assert.equal(holds(when, event('/projects/a/b.tmp')), false);
    assert.equal(holds(when, event('/projects/a/~b.pdf')), false);
    assert.equal(holds(when, event('/home/d', 'child_dir_added')), true);
    assert.equal(holds(when, event('/scratch/d', 'child_dir_added')), false);
    let deep: unknown = { extension: 'pdf' };
    for (let i = 0; i < 40; i++) deep = i % 2 === 0 ? { all: [deep] } : { any: [{ extension: 'never' }, deep] };
    assert.equal(holds(deep, event('/a.pdf')), true);
  });

  it('rejects empty groups, lists given to not, and empty conditions', () => {
    assert.match(problemOf({ all: [] }), /empty "all" group/);
    assert.match(problemOf({ any: [{ extension: 'pdf' }, { all: [] }] }), /empty "all" group/);
    assert.match(problemOf({ not: [{ extension: 'pdf' }] }), /"not" takes one condition.*not: \{any: \[\.\.\.\]\}/);
    assert.match(problemOf({}), /empty condition/);
    assert.match(problemOf([{ extension: 'pdf' }]), /write all: \[\.\.\.\] or any: \[\.\.\.\]/);
  });
});

describe('rule language: rules and rule sets', () => {
  it('matches report every matching rule in order with actions and tags; disabled rules never match', () => {
    const ruleSet = ruleSetFromYaml(`
rules:
  - name: lock-pdfs
    actions: [lock]
    tags: [legal]
    when: {extension: pdf}
  - name: off
    enabled: false
    actions: [email]
    when: {extension: pdf}
  - name: notify
    description: every change in projects
    actions: [email, lock]
    when: {directory: /projects}
`);
    const compiled = compileRuleSet(ruleSet);
    const hits = compiled.match(event('/projects/a.pdf'));
    assert.deepEqual(
      hits.map((h) => compiled.summaries[h.index]),
      [
        { name: 'lock-pdfs', actions: ['lock'], tags: ['legal'] },
        { name: 'notify', actions: ['email', 'lock'], tags: [] },
      ],
    );
    assert.equal(ruleSet.rules[2].description, 'every change in projects');
    assert.deepEqual(compiled.stats.enabled, 2);
  });

  it('watched: sugar expands to (directories or files) and extensions and types', () => {
    const ruleSet = ruleSetFromYaml(`
watched:
  - name: finance
    directories: [/finance]
    files: ["/board/*.xlsx"]
    extensions: [pdf, xlsx]
    types: [child_file_added]
    actions: [lock]
`);
    assert.deepEqual(matched(ruleSet, event('/finance/q1/report.pdf')), ['finance']);
    assert.deepEqual(matched(ruleSet, event('/board/plan.xlsx')), ['finance']);
    assert.deepEqual(matched(ruleSet, event('/board/plan.pdf')), [], 'files glob says xlsx only in /board');
    assert.deepEqual(matched(ruleSet, event('/finance/q1/report.pdf', 'child_data_written')), []);
    assert.deepEqual(matched(ruleSet, event('/home/report.pdf')), []);
  });

  it('an empty rule list is valid and matches nothing', () => {
    const ruleSet = ruleSetFromYaml('rules: []\n');
    assert.deepEqual(matched(ruleSet, event('/a.pdf')), []);
  });

  it('the same rules from YAML, a document and the canonical form have the same hash', () => {
    const fromYaml = ruleSetFromYaml('rules:\n  - name: a\n    actions: lock\n    when: {type: child_file_added, extension: PDF}\n');
    const fromDocument = ruleSetFromDocument({ rules: [{ name: 'a', actions: ['lock'], when: { all: [{ type: ['child_file_added'] }, { extension: ['pdf'] }] } }] });
    assert.equal(ruleSetHash(fromYaml), ruleSetHash(fromDocument));
    assert.match(ruleSetHash(fromYaml), /^[0-9a-f]{8}$/);
    const roundTrip = ruleSetFromDocument(JSON.parse(JSON.stringify(ruleSetToDocument(fromYaml))));
    assert.deepEqual(roundTrip, fromYaml);
    const changed = ruleSetFromDocument({ rules: [{ name: 'a', actions: ['lock'], when: { all: [{ type: ['child_file_added'] }, { extension: ['docx'] }] } }] });
    assert.notEqual(ruleSetHash(changed), ruleSetHash(fromYaml));
  });
});

describe('rule language: validation messages', () => {
  it('report the rule name, the location and the YAML line and column', () => {
    const yaml = ['rules:', '  - name: first', '    when: {extension: pdf}', '  - name: lock-contracts', '    when:', '      all:', '        - type: child_file_added', '        - extention: [pdf]', ''].join('\n');
    const problems = problemsOf(() => ruleSetFromYaml(yaml, 'watched_items.yml'));
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(problem.rule, 'lock-contracts');
    assert.equal(problem.at, 'rules[1].when.all[1].extention');
    assert.equal(problem.line, 8);
    assert.equal(problem.column, 11);
    assert.match(problem.message, /unknown condition "extention" \(did you mean "extension"\?\)/);
    assert.equal(formatProblem(problem).startsWith('watched_items.yml:8:11 rule "lock-contracts" rules[1].when.all[1].extention: unknown condition'), true);
  });

  it('collect every problem, each at its own line', () => {
    const yaml = [
      'rules:',
      '  - name: a',
      '    actions: lock',
      '    when: {size: {gt: lots}}',
      '  - name: a',
      '    when: {type: child_file_added}',
      '  - when: {extension: pdf}',
      '  - name: c',
      '    colour: red',
      '    when: {mode: 0644}',
      '',
    ].join('\n');
    const problems = problemsOf(() => ruleSetFromYaml(yaml));
    const expected: Array<[number, string, RegExp]> = [
      [4, 'a', /"lots" is not a size/],
      [5, 'a', /duplicate rule name "a" \(also used at rules\[0\]\)/],
      [7, '#2', /every rule needs a name/],
      [9, 'c', /unknown key "colour" in a rule/],
      [10, 'c', /YAML reads an unquoted 0644 as the number 644; quote it: "0644"/],
    ];
    assert.equal(problems.length, expected.length, JSON.stringify(problems, null, 1));
    expected.forEach(([line, rule, pattern], i) => {
      assert.equal(problems[i].line, line, problems[i].message);
      assert.equal(problems[i].rule, rule);
      assert.match(problems[i].message, pattern);
    });
  });

  it('reports YAML syntax errors with line and column, wrong top-level shapes, unknown keys', () => {
    const [syntax] = problemsOf(() => ruleSetFromYaml('rules:\n  - name: a\n    when: {extension: [pdf}\n'));
    assert.match(syntax.message, /^YAML syntax: /);
    assert.equal(syntax.line, 3);
    assert.ok(syntax.column !== undefined);
    assert.match(problemsOf(() => ruleSetFromYaml('- a\n- b\n'))[0].message, /must be a mapping with a "rules:" list/);
    assert.match(problemsOf(() => ruleSetFromYaml('rule: []\n'))[0].message, /unknown key "rule" in the rule set \(did you mean "rules"\?\)/);
    assert.match(problemsOf(() => ruleSetFromYaml('rules: {name: a}\n'))[0].message, /"rules" must be a list/);
    assert.match(problemsOf(() => ruleSetFromYaml('version: 2\nrules: []\n'))[0].message, /unsupported version/);
    assert.match(problemsOf(() => ruleSetFromYaml(''))[0].message, /empty/);
    assert.match(problemsOf(() => ruleSetFromYaml('rules: []\n---\nrules: []\n'))[0].message, /one YAML document/);
  });

  it('never executes code: JavaScript tags are unknown tags', () => {
    const [problem] = problemsOf(() => ruleSetFromYaml('rules:\n  - name: a\n    when: !!js/function "function () { process.exit(1) }"\n'));
    assert.match(problem.message, /unknown .*tag/);
    assert.equal(problem.line, 3);
  });

  it('refuses rule files that are missing, not regular files, or huge', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rules-file-'));
    try {
      assert.match(problemsOf(() => ruleSetFromFile(path.join(dir, 'missing.yml')))[0].message, /does not exist/);
      assert.match(problemsOf(() => ruleSetFromFile(dir))[0].message, /not a regular file/);
      const huge = path.join(dir, 'huge.yml');
      fs.writeFileSync(huge, 'rules: []\n' + '#'.repeat(5 * 1024 * 1024));
      assert.match(problemsOf(() => ruleSetFromFile(huge))[0].message, /limited to/);
      const good = path.join(dir, 'ok.yml');
      fs.writeFileSync(good, 'rules:\n  - name: a\n    when: {extension: pdf}\n');
      assert.equal(ruleSetFromFile(good).rules[0].name, 'a');
      fs.writeFileSync(good, 'rules:\n  - name: a\n    when: {extension: [pdf}\n');
      assert.equal(problemsOf(() => ruleSetFromFile(good))[0].file, 'ok.yml');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops validating runaway YAML aliases', () => {
    const defs = ['        - &a0 {extension: pdf}'];
    for (let i = 1; i <= 12; i++) defs.push(`        - &a${i} {any: [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]}`);
    const text = ['rules:', '  - name: defs', '    enabled: false', '    when:', '      any:', ...defs, '  - name: bomb', '    when: *a12', ''].join('\n');
    const problems = problemsOf(() => ruleSetFromYaml(text));
    assert.ok(problems.some((p) => /too large/.test(p.message)), JSON.stringify(problems.slice(0, 2)));
  });
});
