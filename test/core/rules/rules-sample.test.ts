// The shipped samples: watched_items.yml (repo root, copied into examples/) covers every condition
// and group and validates; the filter example flow's rules, its YAML message and its sample events
// do what the example says.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizeNotification } from '../../../core/event';
import type { NotificationType, QumuloEvent } from '../../../core/event';
import { compileRuleSet, CONDITION_KEYS, GROUP_KEYS, ruleSetFromDocument, ruleSetFromFile, ruleSetFromYaml } from '../../../core/rules';
import type { Condition } from '../../../core/rules';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const SAMPLE = path.join(ROOT, 'watched_items.yml');
const EXAMPLE = path.join(ROOT, 'examples', '06 - Filter events with rules.json');

function event(absolutePath: string, type: NotificationType, attributes?: QumuloEvent['attributes']): QumuloEvent {
  const e = normalizeNotification({ type, path: absolutePath.slice(1), spine: null }, { watchId: 'w', watchRoot: '/', seq: 1, receivedAt: 0 });
  if (attributes) e.attributes = attributes;
  return e;
}

function kindsIn(condition: Condition, into: Set<string>): Set<string> {
  into.add(condition.kind);
  if (condition.kind === 'all' || condition.kind === 'any') for (const item of condition.items) kindsIn(item, into);
  if (condition.kind === 'not') kindsIn(condition.item, into);
  return into;
}

describe('shipped rule samples', () => {
  it('watched_items.yml validates, uses every condition and group, and is shipped in examples/', () => {
    const ruleSet = ruleSetFromFile(SAMPLE);
    const kinds = new Set<string>();
    for (const rule of ruleSet.rules) kindsIn(rule.when, kinds);
    for (const key of [...CONDITION_KEYS, ...GROUP_KEYS]) assert.ok(kinds.has(key), `watched_items.yml does not show "${key}"`);
    assert.ok(fs.readFileSync(SAMPLE, 'utf8').includes('\nwatched:\n'), 'the watched: sugar is shown too');
    assert.equal(fs.readFileSync(path.join(ROOT, 'examples', 'watched_items.yml'), 'utf8'), fs.readFileSync(SAMPLE, 'utf8'));
  });

  it('watched_items.yml does what its comments say', () => {
    const compiled = compileRuleSet(ruleSetFromFile(SAMPLE));
    const names = (e: QumuloEvent) => compiled.match(e).map((r) => r.rule.name);
    assert.deepEqual(names(event('/projects/p7/contracts/2024/NDA.pdf', 'child_file_added')), ['lock-contracts']);
    assert.deepEqual(names(event('/projects/p7/contracts/~$NDA.docx', 'child_file_added')), []);
    assert.deepEqual(names(event('/projects/p7/incoming/setup.EXE', 'child_file_added')), ['quarantine-suspicious']);
    assert.deepEqual(names(event('/projects/p7/report.xlsx.LOCKED', 'child_file_moved_to')), ['quarantine-suspicious']);
    assert.deepEqual(names(event('/home/ann/.canary-1', 'child_data_written')), ['ransomware-canary']);
    assert.deepEqual(names(event('/projects/p9', 'child_dir_added')), ['new-project-folder']);
    assert.deepEqual(names(event('/projects/p9/sub', 'child_dir_added')), []);
    assert.deepEqual(names(event('/scratch/x.tmp', 'child_file_added')), [], 'tidy-temp-files is disabled');
    assert.deepEqual(names(event('/projects/p1/big.mp4', 'child_data_written', { size: 3e9 })), ['large-media-outside-share']);
    assert.deepEqual(names(event('/media/big.mp4', 'child_data_written', { size: 3e9 })), []);
    assert.deepEqual(names(event('/projects/p1/a.txt', 'child_acl_changed', { mode: '0666', owner: '700', group: '1' })), ['fix-world-writable']);
    assert.deepEqual(names(event('/projects/p1/a.txt', 'child_acl_changed', { mode: '0644' })), []);
    assert.deepEqual(names(event('/finance/exports/q1.csv', 'child_data_written')), ['finance-records']);
    assert.deepEqual(names(event('/board/plan.xlsx', 'child_file_added')), ['finance-records']);
  });

  it('the filter example: its rules, its YAML message and its sample events', () => {
    const flow = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8')) as Array<Record<string, unknown>>;
    const filters = flow.filter((n) => n.type === 'qumulo-filter');
    assert.equal(filters.length, 2);
    for (const f of filters) ruleSetFromDocument(f.rules);
    const yamlInject = flow.find((n) => n.type === 'inject' && n.topic === 'rules')!;
    assert.equal(ruleSetFromYaml(String(yamlInject.payload)).rules[0].name, 'only-pdfs');
    const compiled = compileRuleSet(ruleSetFromDocument(filters.find((f) => f.name === 'sample rules')!.rules));
    const outcome = flow
      .filter((n) => n.type === 'inject' && n.payloadType === 'json')
      .map((n) => [n.name, compiled.match(JSON.parse(String(n.payload)) as QumuloEvent).map((r) => r.rule.name)]);
    assert.deepEqual(outcome, [
      ['contract PDF added', ['lock-contracts']],
      ['Word lock file added', []],
      ['setup.EXE in incoming', ['quarantine-executables']],
      ['report renamed to .locked', ['quarantine-executables']],
      ['project folder added', ['new-project-folders']],
      ['photo in home (no rule)', []],
    ]);
  });
});
