// The predicate table (core/rules/predicates.ts) is the one list of rule conditions: every entry is
// read by the validator, written by the canonical form, compiled, evaluated by the reference
// evaluator, offered by the filter dialog and described in docs/rules.md. A new entry that misses
// any of these fails here, by name.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NOTIFICATION_TYPES, normalizeNotification } from '../../../core/event';
import type { EventAttributes, NotificationType, QumuloEvent } from '../../../core/event';
import {
  CONDITION_KEYS,
  GROUP_KEYS,
  PREDICATES,
  compileRuleSet,
  editorPredicateList,
  predicateFor,
  referenceMatch,
  ruleSetFromDocument,
  ruleSetHash,
  ruleSetToDocument,
  validateRuleDocument,
} from '../../../core/rules';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const NOW = Date.parse('2026-06-01T00:00:00Z');

function event(absolutePath: string, type: NotificationType, attributes?: EventAttributes): QumuloEvent {
  const e = normalizeNotification({ type, path: absolutePath.slice(1), spine: null }, { watchId: 'w', watchRoot: '/', seq: 1, receivedAt: 0 });
  if (attributes) e.attributes = attributes;
  return e;
}

// Events that between them make every example condition true somewhere and false somewhere.
const ATTRIBUTES: Array<EventAttributes | undefined> = [
  undefined,
  { size: 20_000_000, owner: '500', group: '100', mode: '0666', modificationTime: '2025-01-01T00:00:00.123456789Z' },
  { size: 10, owner: '700', group: '501', mode: '0644', modificationTime: '2026-05-31T23:00:00Z' },
];
const PATHS = ['/projects/p1/incoming/a.pdf', '/projects/incoming/invoice-42.PDF', '/projects/incoming/x.tmp', '/home/u/Makefile', '/projects/incoming/sub/report.docx'];
const EVENTS: QumuloEvent[] = [];
for (const [i, p] of PATHS.entries()) {
  for (const [j, attributes] of ATTRIBUTES.entries()) EVENTS.push(event(p, NOTIFICATION_TYPES[(i * 3 + j * 7) % NOTIFICATION_TYPES.length], attributes));
}
EVENTS.push(event('/projects/incoming/new.pdf', 'child_file_added'), event('/projects/incoming/moved', 'child_dir_moved_to'));

function ruleFor(key: string, value: unknown) {
  return { rules: [{ name: key, when: { [key]: value } }] };
}

function generatedEditorList(): Array<{ key: string; label: string }> {
  const html = fs.readFileSync(path.join(ROOT, 'dist', 'nodes', 'qumulo-filter.html'), 'utf8');
  const match = /var PREDICATES = (\[.*?\]);/.exec(html);
  assert.ok(match, 'the built filter dialog has no generated PREDICATES list');
  return JSON.parse(match[1]) as Array<{ key: string; label: string }>;
}

describe('rule predicate table', () => {
  it('is the validator’s list of conditions: unique keys, no key outside it, groups apart', () => {
    const keys = PREDICATES.map((p) => p.key);
    assert.equal(new Set(keys).size, keys.length, 'a key appears twice');
    assert.deepEqual([...CONDITION_KEYS], keys);
    for (const group of GROUP_KEYS) assert.equal(predicateFor(group), undefined, `${group} is a group, not a predicate`);
    const { problems } = validateRuleDocument(ruleFor('modified', '1d'));
    assert.match(problems[0].message, /unknown condition "modified"/);
    for (const key of keys) assert.ok(problems[0].message.includes(key), `the unknown-condition message does not list ${key}`);
  });

  for (const predicate of PREDICATES) {
    describe(predicate.key, () => {
      it('validates its example into a condition of its own kind and refuses nonsense with a problem at its key', () => {
        const ruleSet = ruleSetFromDocument(ruleFor(predicate.key, predicate.example));
        assert.equal(ruleSet.rules[0].when.kind, predicate.key);
        const { ruleSet: refused, problems } = validateRuleDocument(ruleFor(predicate.key, { bogus: [1] }));
        assert.equal(refused, null, `${predicate.key} accepted {bogus: [1]}`);
        assert.ok(problems.some((p) => p.at.startsWith(`rules[0].when.${predicate.key}`)), JSON.stringify(problems));
      });

      it('has a canonical form that validates back to the same rule set and hash', () => {
        const ruleSet = ruleSetFromDocument(ruleFor(predicate.key, predicate.example));
        const document = ruleSetToDocument(ruleSet);
        assert.deepEqual(Object.keys(document.rules[0].when as object), [predicate.key]);
        const again = ruleSetFromDocument(JSON.parse(JSON.stringify(document)));
        assert.deepEqual(again, ruleSet);
        assert.equal(ruleSetHash(again), ruleSetHash(ruleSet));
      });

      it('compiles to a matcher that agrees with the reference evaluator, alone, negated and in groups', () => {
        const documents = [
          ruleFor(predicate.key, predicate.example),
          { rules: [{ name: 'not', when: { not: { [predicate.key]: predicate.example } } }] },
          { rules: [{ name: 'all', when: { all: [{ [predicate.key]: predicate.example }, { extension: ['pdf', 'PDF', ''] }] } }] },
          { rules: [{ name: 'any', when: { any: [{ [predicate.key]: predicate.example }, { type: 'child_file_added' }] } }] },
        ];
        let matched = 0;
        let unmatched = 0;
        for (const document of documents) {
          const ruleSet = ruleSetFromDocument(document);
          const compiled = compileRuleSet(ruleSet, { now: () => NOW });
          for (const e of EVENTS) {
            const fast = compiled.match(e).map((r) => r.rule.name);
            assert.deepEqual(fast, referenceMatch(ruleSet, e, NOW), `${JSON.stringify(document.rules[0].when)} on ${e.type} ${e.path} ${JSON.stringify(e.attributes)}`);
            if (document === documents[0]) (fast.length > 0 ? matched++ : unmatched++);
          }
        }
        assert.ok(matched > 0 && unmatched > 0, `the example matched ${matched} and missed ${unmatched} of the sample events: the test events do not exercise ${predicate.key}`);
      });

      it('says whether it needs the object’s attributes (what enrichment keys on)', () => {
        const compiled = compileRuleSet(ruleSetFromDocument(ruleFor(predicate.key, predicate.example)));
        assert.equal(compiled.needsAttributes, predicate.attributes);
        const attributeFree = EVENTS.filter((e) => e.attributes === undefined);
        if (predicate.attributes) for (const e of attributeFree) assert.equal(compiled.match(e).length, 0, `${predicate.key} matched an event without attributes`);
      });

      it('is offered by the filter dialog (generated at build time) and described in docs/rules.md', () => {
        const offered = generatedEditorList().find((p) => p.key === predicate.key);
        assert.ok(offered, `the filter dialog does not offer ${predicate.key}`);
        assert.equal(offered.label, predicate.label);
        const docs = fs.readFileSync(path.join(ROOT, 'docs', 'rules.md'), 'utf8');
        assert.ok(docs.includes('| `' + predicate.key + '`'), `docs/rules.md has no table row for ${predicate.key}`);
      });
    });
  }

  it('the dialog’s list is exactly the table, in order, with no placeholder left', () => {
    assert.deepEqual(generatedEditorList(), JSON.parse(JSON.stringify(editorPredicateList())));
    assert.ok(!fs.readFileSync(path.join(ROOT, 'dist', 'nodes', 'qumulo-filter.html'), 'utf8').includes('@generated'));
  });

  describe('mtimeOlderThan (modification time older than a duration)', () => {
    const DAY = 86_400_000;
    const modified = (modificationTime?: string) => event('/archive/2025/report.pdf', 'child_extra_attrs_changed', modificationTime === undefined ? { size: 1 } : { modificationTime });

    it('reads the clock the caller gave compileRuleSet, on every evaluation', () => {
      let now = Date.parse('2026-01-20T00:00:00Z');
      const ruleSet = ruleSetFromDocument(ruleFor('mtimeOlderThan', '30d'));
      const compiled = compileRuleSet(ruleSet, { now: () => now });
      const e = modified('2026-01-01T00:00:00.000000001Z');
      assert.equal(compiled.match(e).length, 0, '19 days old is not older than 30d');
      assert.deepEqual(referenceMatch(ruleSet, e, now), []);
      now = Date.parse('2026-01-31T00:00:00.001Z');
      assert.equal(compiled.match(e).length, 1, 'the same compiled rules see the clock move: 30 days and a bit');
      assert.deepEqual(referenceMatch(ruleSet, e, now), ['mtimeOlderThan']);
      now = Date.parse('2026-01-31T00:00:00Z');
      assert.equal(compiled.match(modified('2026-01-01T00:00:00Z')).length, 0, 'exactly 30 days is not older than 30 days');
      assert.equal(compiled.match(modified('2026-03-01T00:00:00Z')).length, 0, 'a modification time in the future is not old');
      assert.equal(compiled.match(modified()).length, 0, 'no modification time: false');
      assert.equal(compiled.match(modified('yesterday')).length, 0, 'an unreadable modification time: false');
      assert.ok(compiled.needsAttributes, 'the filter fetches attributes for it');
    });

    it('counts years and months on the calendar and agrees with the reference evaluator across a year of clock', () => {
      const ruleSet = ruleSetFromDocument({ rules: [{ name: 'year', when: { mtimeOlderThan: '1y' } }, { name: 'week', when: { mtimeOlderThan: 'P1W' } }, { name: 'not-a-day', when: { not: { mtimeOlderThan: '24h' } } }] });
      let now = 0;
      const compiled = compileRuleSet(ruleSet, { now: () => now });
      const e = modified('2024-02-29T12:00:00Z');
      for (let day = 0; day <= 400; day += 1) {
        now = Date.parse('2024-02-29T12:00:00Z') + day * DAY + 1;
        assert.deepEqual(compiled.match(e).map((r) => r.rule.name), referenceMatch(ruleSet, e, now), `day ${day}`);
      }
      now = Date.parse('2025-03-01T12:00:00Z');
      assert.deepEqual(compiled.match(e).map((r) => r.rule.name), ['week'], '2024-02-29 + 1y is 2025-03-01 on the calendar: not older yet');
      now += 1;
      assert.deepEqual(compiled.match(e).map((r) => r.rule.name), ['year', 'week']);
    });

    it('has one canonical spelling per length and refuses what is not a duration, saying why', () => {
      const canonical = (text: string) => (ruleSetToDocument(ruleSetFromDocument(ruleFor('mtimeOlderThan', text))).rules[0].when as { mtimeOlderThan: string }).mtimeOlderThan;
      assert.equal(canonical('2w'), '14d');
      assert.equal(canonical('P1D'), '1d');
      assert.equal(canonical('36h'), '1d12h');
      assert.equal(canonical('18mo'), '1y6mo');
      assert.equal(canonical('90 min'), '1h30min');
      assert.equal(ruleSetHash(ruleSetFromDocument(ruleFor('mtimeOlderThan', '14d'))), ruleSetHash(ruleSetFromDocument(ruleFor('mtimeOlderThan', '2 weeks'))));
      const problem = (value: unknown) => validateRuleDocument(ruleFor('mtimeOlderThan', value)).problems[0]?.message ?? '';
      assert.match(problem('6m'), /ambiguous/);
      assert.match(problem(30), /takes a duration such as 90d/);
      assert.match(problem('0d'), /zero/);
      assert.match(problem('soon'), /cannot read duration/);
    });
  });
});
