// Property tests: on random rule sets and random events, the indexed compiled matcher returns
// exactly what the straightforward reference evaluator returns. Rules and events are drawn from a
// shared vocabulary (unicode, spaces, dotfiles, upper-case and missing extensions, nested
// directories, every notification type, optional attributes) so that matches are frequent.

import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { NOTIFICATION_TYPES, normalizeNotification } from '../../../core/event';
import type { EventAttributes, NotificationType, QumuloEvent } from '../../../core/event';
import { compileRuleSet, referenceMatch, ruleSetFromDocument, ruleSetHash, ruleSetToDocument } from '../../../core/rules';

// Directory names per depth: few per level, so rule directories and event paths meet often.
const LEVELS = [
  ['projects', 'Résumé final', '.hidden'],
  ['p1', 'p2', 'データ', 'x y'],
  ['incoming', 'archive', 'A'],
];
const SEGMENTS = LEVELS.flat();
const NAMES = [
  'report.pdf',
  'REPORT.PDF',
  'a.b.pdf',
  '.env',
  '.pdf',
  'Makefile',
  'archive.tar.gz',
  'trailing.',
  '~lock.docx',
  'été 2024.pdf',
  'x.tmp',
  'invoice-42.pdf',
  'Invoice-7.PDF',
  'data set.csv',
  'a',
  'file.LOCKED',
  'p1',
];
const EXTENSIONS = ['pdf', 'PDF', 'gz', '', 'docx', 'tmp', 'LOCKED', 'csv', 'env'];

// ------------------------------------------------------------------ events
function dirsArb(minLength: number, maxLength: number): fc.Arbitrary<string[]> {
  return fc.tuple(fc.integer({ min: minLength, max: maxLength }), fc.constantFrom(...LEVELS[0]), fc.constantFrom(...LEVELS[1]), fc.constantFrom(...LEVELS[2])).map(([depth, ...parts]) => parts.slice(0, depth));
}
const segmentsArb = dirsArb(0, 3);

const attributesArb: fc.Arbitrary<EventAttributes | undefined> = fc.option(
  fc.record({
    size: fc.constantFrom(0, 1024, 5_000_000, 200_000_000),
    owner: fc.constantFrom('500', '501'),
    group: fc.constantFrom('100', '200'),
    mode: fc.constantFrom('0644', '0666', '0777', '0600', '0755', 'junk'),
  }),
  { nil: undefined },
);

const eventArb: fc.Arbitrary<QumuloEvent> = fc
  .record({
    dirs: segmentsArb,
    name: fc.constantFrom(...NAMES),
    type: fc.constantFrom(...NOTIFICATION_TYPES),
    rootDepth: fc.nat({ max: 4 }),
    attributes: attributesArb,
    seq: fc.nat(),
  })
  .map(({ dirs, name, type, rootDepth, attributes, seq }) => {
    // rootDepth 4: an event about the watch root itself (relative path ''), which may be '/'.
    const aboutRoot = rootDepth === 4;
    const parts = aboutRoot ? dirs : [...dirs, name];
    const depth = aboutRoot ? dirs.length : Math.min(rootDepth, dirs.length);
    const root = '/' + parts.slice(0, depth).join('/');
    const event = normalizeNotification({ type: type as NotificationType, path: parts.slice(depth).join('/'), spine: null }, { watchId: 'w', watchRoot: root, seq, receivedAt: 0 });
    if (attributes) event.attributes = attributes;
    return event;
  });

// ------------------------------------------------------------------ rule documents
const absoluteDir = fc.oneof(dirsArb(1, 3), fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 2 })).map((parts) => '/' + parts.join('/'));
const relativeDir = fc.oneof(dirsArb(1, 2), dirsArb(2, 3).map((parts) => parts.slice(1))).map((parts) => parts.join('/'));
const extensionWord = fc.constantFrom('pdf', 'PDF', 'gz', 'tmp', 'LOCKED', 'csv');
const nameWord = fc.constantFrom(...NAMES);

const pathGlobArb = fc.oneof(
  absoluteDir.map((d) => d + '/**'),
  extensionWord.map((x) => '**/*.' + x),
  nameWord.map((n) => '**/' + n),
  absoluteDir.map((d) => d + '/*'),
  fc.tuple(absoluteDir, extensionWord).map(([d, x]) => `${d}/*.${x}`),
  fc.tuple(absoluteDir, extensionWord).map(([d, x]) => `${d}/**/*.${x}`),
  fc.tuple(absoluteDir, nameWord).map(([d, n]) => `${d}/**/${n}`),
  fc.tuple(absoluteDir, nameWord).map(([d, n]) => `${d}/${n}`),
  absoluteDir,
  fc.constant('/{p1,p2}/**'),
  fc.constant('/projects/p?/**'),
  fc.constant('/projects/[ab]*/**'),
  fc.constant('/projects/*/incoming/**'),
  fc.constant('/**'),
  fc.constant('**'),
  fc.constant('/**/*.{pdf,PDF}'),
);

const relativeGlobArb = fc.oneof(
  relativeDir.map((d) => d + '/**'),
  extensionWord.map((x) => '**/*.' + x),
  fc.tuple(relativeDir, nameWord).map(([d, n]) => `${d}/${n}`),
  nameWord,
  fc.constant('*/incoming/**'),
  fc.constant('**'),
);

const nameGlobArb = fc.constantFrom('*.pdf', '*.PDF', '~*', '.*', '*', 'report*', '*.tar.gz', 'Makefile', 'é*', '*LOCKED', 'invoice-??.pdf', '*.{pdf,docx}', '[a-z]*', 'p1', '*.', '*t*');

function oneOrMany<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | T[]> {
  return fc.oneof(arb, fc.uniqueArray(arb, { minLength: 1, maxLength: 3 }));
}

const sizeArb = fc.oneof(
  fc.constantFrom<unknown>(0, 1024, '5MB'),
  // Lower bounds are always below upper bounds, so ranges are never empty.
  fc
    .tuple(fc.constantFrom<unknown>(0, 1000, 1024, '1KiB'), fc.constantFrom<unknown>(2048, '5MB', 5_000_000, '1GB'), fc.constantFrom('gt', 'gte'), fc.constantFrom('lt', 'lte'), fc.constantFrom('low', 'high', 'both'))
    .map(([low, high, lowOp, highOp, sides]) => ({ ...(sides !== 'high' ? { [lowOp]: low } : {}), ...(sides !== 'low' ? { [highOp]: high } : {}) })),
);

const leafArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  oneOrMany(fc.constantFrom(...NOTIFICATION_TYPES)).map((type) => ({ type })),
  fc.uniqueArray(fc.constantFrom('child_file_added', 'child_data_written', 'child_dir_added', 'child_mtime_changed'), { minLength: 1, maxLength: 2 }).map((type) => ({ type })),
  oneOrMany(pathGlobArb).map((path) => ({ path })),
  oneOrMany(relativeGlobArb).map((relativePath) => ({ relativePath })),
  fc.tuple(oneOrMany(fc.oneof(absoluteDir, fc.constant('/'))), fc.option(fc.boolean(), { nil: undefined })).map(([path, subtree]) => (subtree === undefined ? { directory: path } : { directory: { path, subtree } })),
  // A directory together with one of its subdirectories (the index must not count the rule twice).
  fc.tuple(dirsArb(2, 3), fc.integer({ min: 1, max: 2 }), fc.boolean()).map(([parts, cut, subtree]) => ({
    directory: { path: ['/' + parts.slice(0, Math.min(cut, parts.length - 1)).join('/'), '/' + parts.join('/')], subtree },
  })),
  fc.tuple(dirsArb(2, 3), extensionWord).map(([parts, x]) => ({ path: ['/' + parts.join('/') + '/*.' + x, '/' + parts[0] + '/**'] })),
  oneOrMany(nameGlobArb).map((name) => ({ name })),
  fc.constantFrom({ nameRegex: '^invoice-\\d+\\.pdf$' }, { nameRegex: { pattern: '^invoice-\\d+\\.pdf$', flags: 'i' } }, { nameRegex: '\\.(LOCKED|crypt)$' }, { nameRegex: { pattern: '^é', flags: 'u' } }),
  fc.tuple(fc.uniqueArray(fc.constantFrom(...EXTENSIONS), { minLength: 1, maxLength: 3 }), fc.boolean()).map(([values, caseSensitive]) => (caseSensitive ? { extension: { values, caseSensitive } } : { extension: values })),
  fc.boolean().map((isDirectory) => ({ isDirectory })),
  sizeArb.map((size) => ({ size })),
  oneOrMany(fc.constantFrom('500', '501', 502)).map((owner) => ({ owner })),
  fc.constantFrom('100', '200').map((group) => ({ group })),
  fc.constantFrom<unknown>('0644', '0666', { hasAny: '0002' }, { hasAll: '0600' }, { hasNone: '0111' }, { equals: '0777', hasAny: '0001' }).map((mode) => ({ mode })),
);

const conditionArb: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ condition: Record<string, unknown> }>((tie) => ({
  condition: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('condition'), { minLength: 1, maxLength: 4 }).map((all) => ({ all })),
    fc.array(tie('condition'), { minLength: 1, maxLength: 4 }).map((any) => ({ any })),
    tie('condition').map((not) => ({ not })),
    // Implicit all: two different keys in one mapping.
    fc.tuple(leafArb, leafArb).map(([a, b]) => ({ ...b, ...a })),
  ),
})).condition;

const ruleSetArb = fc.array(fc.record({ when: conditionArb, enabled: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(false)), actions: fc.constantFrom([], ['lock'], ['email', 'lock']) }), { minLength: 1, maxLength: 25 }).map((rules) => ({
  rules: rules.map((rule, i) => ({ name: 'r' + i, ...rule })),
}));

// Conditions the indexes are built from (types, extensions, directories, globs with a literal base
// or a pinned extension), in shallow groups: the cases where pruning could go wrong.
const indexableLeafArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.uniqueArray(fc.constantFrom('child_file_added', 'child_data_written', 'child_dir_added', 'child_mtime_changed', 'self_removed'), { minLength: 1, maxLength: 3 }).map((type) => ({ type })),
  fc.uniqueArray(fc.constantFrom(...EXTENSIONS), { minLength: 1, maxLength: 2 }).map((extension) => ({ extension })),
  fc.tuple(fc.uniqueArray(segmentsArb.filter((d) => d.length > 0), { minLength: 1, maxLength: 3 }), fc.boolean()).map(([dirs, subtree]) => ({ directory: { path: dirs.map((d) => '/' + d.join('/')), subtree } })),
  fc.tuple(dirsArb(2, 3), fc.integer({ min: 1, max: 2 })).map(([parts, cut]) => ({ directory: ['/' + parts.slice(0, Math.min(cut, parts.length - 1)).join('/'), '/' + parts.join('/')] })),
  fc.uniqueArray(pathGlobArb, { minLength: 1, maxLength: 3 }).map((path) => ({ path })),
  fc.uniqueArray(nameGlobArb, { minLength: 1, maxLength: 2 }).map((name) => ({ name })),
);
const indexableConditionArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  indexableLeafArb,
  fc.array(indexableLeafArb, { minLength: 2, maxLength: 3 }).map((all) => ({ all })),
  fc.array(indexableLeafArb, { minLength: 2, maxLength: 3 }).map((any) => ({ any })),
  fc.tuple(indexableLeafArb, fc.array(indexableLeafArb, { minLength: 1, maxLength: 2 })).map(([a, rest]) => ({ all: [a, { any: rest }] })),
  fc.tuple(indexableLeafArb, indexableLeafArb).map(([a, b]) => ({ all: [a, { not: b }] })),
  indexableLeafArb.map((a) => ({ not: { not: a } })),
);
const indexableRuleSetArb = fc.array(indexableConditionArb, { minLength: 1, maxLength: 40 }).map((whens) => ({ rules: whens.map((when, i) => ({ name: 'r' + i, when })) }));

describe('rule matcher: property tests', () => {
  it('the indexed compiled matcher agrees with the reference evaluator on random rules and events', function () {
    this.timeout(60_000);
    let matches = 0;
    let comparisons = 0;
    fc.assert(
      fc.property(ruleSetArb, fc.array(eventArb, { minLength: 30, maxLength: 30 }), (document, events) => {
        const ruleSet = ruleSetFromDocument(document);
        const compiled = compileRuleSet(ruleSet);
        for (const event of events) {
          const fast = compiled.match(event).map((r) => r.rule.name);
          const reference = referenceMatch(ruleSet, event);
          assert.deepEqual(fast, reference, `event ${event.type} ${event.path} (root ${event.watchRoot})`);
          assert.ok(compiled.countCandidates(event) >= fast.length);
          matches += fast.length;
          comparisons++;
        }
      }),
      { numRuns: 400 },
    );
    // The vocabulary is shared on purpose: make sure the property was not vacuous.
    assert.ok(matches > comparisons / 20, `only ${matches} matches in ${comparisons} comparisons`);
  });

  it('the indexes never lose or duplicate a candidate (rules built from indexable conditions)', function () {
    this.timeout(60_000);
    let matches = 0;
    fc.assert(
      fc.property(indexableRuleSetArb, fc.array(eventArb, { minLength: 60, maxLength: 60 }), (document, events) => {
        const ruleSet = ruleSetFromDocument(document);
        const compiled = compileRuleSet(ruleSet);
        for (const event of events) {
          const fast = compiled.match(event).map((r) => r.rule.name);
          assert.deepEqual(fast, referenceMatch(ruleSet, event), `event ${event.type} ${event.path}`);
          matches += fast.length;
        }
      }),
      { numRuns: 400 },
    );
    assert.ok(matches > 1000, `only ${matches} matches`);
  });

  it('the canonical document validates back to the same rule set and hash', () => {
    fc.assert(
      fc.property(ruleSetArb, (document) => {
        const ruleSet = ruleSetFromDocument(document);
        const again = ruleSetFromDocument(JSON.parse(JSON.stringify(ruleSetToDocument(ruleSet))));
        assert.deepEqual(again, ruleSet);
        assert.equal(ruleSetHash(again), ruleSetHash(ruleSet));
      }),
      { numRuns: 200 },
    );
  });

  it('indexes prune: an event in one project is tested against that project’s rules only', () => {
    const rules = [];
    for (let p = 0; p < 1000; p++) {
      rules.push({ name: `lock-${p}`, actions: ['lock'], when: { all: [{ directory: `/projects/p${p}/archive` }, { extension: ['pdf', 'docx'] }] } });
      rules.push({ name: `tmp-${p}`, actions: ['rename'], when: { path: `/projects/p${p}/**/*.tmp` } });
      rules.push({ name: `big-${p}`, actions: ['email'], when: { directory: `/projects/p${p}`, size: { gt: '1GB' } } });
    }
    rules.push({ name: 'exe-anywhere', actions: ['quarantine'], when: { extension: 'exe' } });
    rules.push({ name: 'new-dirs', actions: ['email'], when: { type: 'child_dir_added' } });
    const compiled = compileRuleSet(ruleSetFromDocument({ rules }));
    assert.equal(compiled.stats.always, 0);
    const e = normalizeNotification({ type: 'child_file_added', path: 'projects/p417/archive/2024/x.pdf', spine: null }, { watchId: 'w', watchRoot: '/', seq: 1, receivedAt: 0 });
    // lock-417, tmp-417, big-417 — out of 3,002 rules.
    assert.equal(compiled.countCandidates(e), 3);
    assert.deepEqual(
      compiled.match(e).map((r) => r.rule.name),
      ['lock-417'],
    );
    const exe = normalizeNotification({ type: 'child_file_added', path: 'home/u/setup.EXE', spine: null }, { watchId: 'w', watchRoot: '/', seq: 2, receivedAt: 0 });
    assert.equal(compiled.countCandidates(exe), 1);
    assert.deepEqual(
      compiled.match(exe).map((r) => r.rule.name),
      ['exe-anywhere'],
    );
  });
});
