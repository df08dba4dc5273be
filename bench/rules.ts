// npm run bench:rules — events/s of the compiled rule matcher at 10, 100, 1,000 and 10,000 rules on
// a generated workload (per-project directories, mixed extensions and notification types, some
// events carrying attributes), and json-rules-engine 7 on the same 10 and 100 rules in the same run
// (custom picomatch / directory / regex / mode operators, one awaited run() per event, as
// shared/anchors.md §1.2). Both engines' answers are compared on every event json-rules-engine saw.
//
// A second table times hostile names against the rules that froze Node-RED before matching became
// linear (issue 16): µs per match through the compiled rule set.
//
// Options (env): BENCH_SECONDS (per measurement, default 1.5), BENCH_RULES (comma list),
// BENCH_HOSTILE_ONLY=1 (only the hostile-name table).

import picomatch from 'picomatch';
import { Engine } from 'json-rules-engine';
import type { NestedCondition, RuleProperties, TopLevelCondition } from 'json-rules-engine';
import { isDirectoryType, splitName } from '../core/event';
import type { NotificationType, QumuloEvent } from '../core/event';
import { compileRuleSet, ruleSetFromDocument } from '../core/rules';
import type { Condition, RuleSet } from '../core/rules';
import { ranOn } from './ran-on';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);
const RULE_COUNTS = (process.env.BENCH_RULES ?? '10,100,1000,10000').split(',').map(Number);
const JRE_RULE_COUNTS = [10, 100];
const EVENT_POOL = 200_000;
const PROJECTS = 2_000;

// ------------------------------------------------------------------ deterministic randomness
let seed = 0x2545f491;
function random(): number {
  // xorshift32
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}
function weighted<T>(table: ReadonlyArray<readonly [T, number]>): T {
  const total = table.reduce((sum, [, weight]) => sum + weight, 0);
  let r = random() * total;
  for (const [value, weight] of table) {
    r -= weight;
    if (r < 0) return value;
  }
  return table[table.length - 1][0];
}

const project = (k: number) => 'p' + String(k).padStart(4, '0');

// ------------------------------------------------------------------ workload
const TYPES: ReadonlyArray<readonly [NotificationType, number]> = [
  ['child_data_written', 30],
  ['child_mtime_changed', 15],
  ['child_file_added', 12],
  ['child_size_changed', 10],
  ['child_atime_changed', 5],
  ['child_file_removed', 5],
  ['child_file_moved_from', 3],
  ['child_file_moved_to', 3],
  ['child_dir_added', 3],
  ['child_extra_attrs_changed', 3],
  ['child_acl_changed', 2],
  ['child_owner_changed', 1],
  ['child_group_changed', 1],
  ['child_btime_changed', 1],
  ['child_dir_removed', 1],
  ['child_stream_data_written', 1],
];
const EXTENSIONS: ReadonlyArray<readonly [string, number]> = [
  ['pdf', 15],
  ['docx', 10],
  ['xlsx', 8],
  ['jpg', 10],
  ['png', 5],
  ['tmp', 8],
  ['log', 8],
  ['txt', 8],
  ['csv', 5],
  ['PDF', 2],
  ['', 6],
  ['mp4', 3],
  ['zip', 4],
  ['gz', 4],
  ['exe', 1],
  ['js', 1],
  ['LOCKED', 1],
];
const AREAS = ['incoming', 'archive', 'work', 'shared'];
const WORDS = ['report', 'scan', 'Invoice', 'draft', 'data set', 'résumé', 'final', '~lock', '.hidden', 'img', 'notes'];

function makeEvent(seq: number): QumuloEvent {
  const type = weighted(TYPES);
  const isDir = isDirectoryType(type) === true;
  let path: string;
  const where = random();
  if (where < 0.85) {
    path = `/projects/${project(Math.floor(random() * PROJECTS))}/${pick(AREAS)}`;
    const depth = Math.floor(random() * 3);
    for (let d = 0; d < depth; d++) path += '/' + pick(['2024', '2025', 'batch-' + Math.floor(random() * 50), 'raw', 'out']);
  } else if (where < 0.95) {
    path = `/home/user${Math.floor(random() * 200)}`;
  } else {
    path = `/scratch/${Math.floor(random() * 100)}`;
  }
  const extension = isDir ? '' : weighted(EXTENSIONS);
  const stem = pick(WORDS) + (random() < 0.7 ? '-' + Math.floor(random() * 10_000) : '');
  path += '/' + stem + (extension ? '.' + extension : '');
  const { name, parentDir, extension: ext } = splitName(path);
  const event: QumuloEvent = {
    type,
    path,
    relativePath: path.slice(1),
    name,
    extension: ext,
    parentDir,
    fileId: String(1000 + seq),
    spine: ['2', String(1000 + seq)],
    isDirectory: isDirectoryType(type),
    streamName: null,
    watchId: 'bench',
    watchRoot: '/',
    seq,
    receivedAt: 0,
  };
  if (random() < 0.3) {
    event.attributes = {
      size: Math.floor(random() * random() * 400_000_000),
      owner: String(500 + Math.floor(random() * 20)),
      group: String(100 + Math.floor(random() * 5)),
      mode: pick(['0644', '0664', '0666', '0600', '0755', '0777']),
    };
  }
  return event;
}

// ------------------------------------------------------------------ rules
const GLOBAL_EXTENSIONS = [['exe', 'scr'], ['js', 'vbs'], ['LOCKED'], ['iso'], ['bat', 'cmd']];

/** Rule `i` of a rule set: six per-project templates, and a site-wide rule every 100th. */
function ruleDocument(i: number): Record<string, unknown> {
  const p = project(Math.floor(i / 6) % PROJECTS);
  const name = `r${i}`;
  if (i % 100 === 99) {
    const j = Math.floor(i / 100);
    return {
      name,
      actions: ['quarantine'],
      tags: ['site-wide'],
      when: { all: [{ extension: GLOBAL_EXTENSIONS[j % GLOBAL_EXTENSIONS.length] }, { type: ['child_file_added', 'child_file_moved_to'] }, { not: { directory: `/home/user${j % 200}` } }] },
    };
  }
  switch (i % 6) {
    case 0:
      return { name, actions: ['lock'], when: { all: [{ directory: `/projects/${p}/archive` }, { type: ['child_file_added', 'child_file_moved_to', 'child_data_written'] }, { extension: ['pdf', 'docx', 'xlsx'] }] } };
    case 1:
      return { name, actions: ['quarantine'], when: { all: [{ path: `/projects/${p}/incoming/**` }, { extension: ['exe', 'js', 'zip'] }, { not: { name: '~*' } }] } };
    case 2:
      return { name, actions: ['rename'], when: { all: [{ path: `/projects/${p}/**/*.tmp` }, { type: 'child_file_added' }] } };
    case 3:
      return { name, actions: ['all-stop'], tags: ['ransomware'], when: { all: [{ directory: `/projects/${p}` }, { any: [{ name: '*.LOCKED' }, { nameRegex: { pattern: '\\.(encrypted|crypt)$', flags: 'i' } }] }] } };
    case 4:
      return { name, actions: ['email'], when: { all: [{ directory: `/projects/${p}` }, { size: { gt: '100MB' } }, { type: ['child_size_changed', 'child_data_written'] }] } };
    default:
      return { name, actions: ['chmod'], when: { all: [{ directory: { path: `/projects/${p}/shared`, subtree: true } }, { mode: { hasAny: '0002' } }, { isDirectory: false }] } };
  }
}

function makeRuleSet(count: number): RuleSet {
  return ruleSetFromDocument({ rules: Array.from({ length: count }, (_, i) => ruleDocument(i)) });
}

// ------------------------------------------------------------------ json-rules-engine translation
function factsOf(event: QumuloEvent): Record<string, unknown> {
  return {
    type: event.type,
    path: event.path,
    name: event.name,
    extensionLower: event.extension.toLowerCase(),
    isDirectory: event.isDirectory,
    size: event.attributes?.size,
    mode: event.attributes?.mode,
  };
}

function toJre(condition: Condition): NestedCondition {
  switch (condition.kind) {
    case 'all':
      return { all: condition.items.map(toJre) };
    case 'any':
      return { any: condition.items.map(toJre) };
    case 'not':
      return { not: toJre(condition.item) };
    case 'type':
      return { fact: 'type', operator: 'in', value: condition.types };
    case 'extension':
      return { fact: 'extensionLower', operator: 'in', value: condition.values };
    case 'path':
      return { any: condition.globs.map((glob) => ({ fact: 'path', operator: 'glob', value: glob })) };
    case 'name':
      return { any: condition.globs.map((glob) => ({ fact: 'name', operator: 'glob', value: glob })) };
    case 'nameRegex':
      return { fact: 'name', operator: 'regex', value: { pattern: condition.pattern, flags: condition.flags } };
    case 'directory':
      return { any: condition.dirs.map((dir) => ({ fact: 'path', operator: condition.subtree ? 'under' : 'childOf', value: dir })) };
    case 'isDirectory':
      return { fact: 'isDirectory', operator: 'equal', value: condition.value };
    case 'size': {
      const parts: NestedCondition[] = [];
      if (condition.range.gt !== undefined) parts.push({ fact: 'size', operator: 'greaterThan', value: condition.range.gt });
      if (condition.range.gte !== undefined) parts.push({ fact: 'size', operator: 'greaterThanInclusive', value: condition.range.gte });
      if (condition.range.lt !== undefined) parts.push({ fact: 'size', operator: 'lessThan', value: condition.range.lt });
      if (condition.range.lte !== undefined) parts.push({ fact: 'size', operator: 'lessThanInclusive', value: condition.range.lte });
      return { all: parts };
    }
    case 'mode':
      return { fact: 'mode', operator: 'modeHasAny', value: condition.test.hasAny ?? 0 };
    default:
      throw new Error('bench translation does not cover ' + condition.kind);
  }
}

function jreEngine(ruleSet: RuleSet): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  const globs = new Map<string, (value: string) => boolean>();
  engine.addOperator('glob', (value: unknown, glob: string) => {
    let matcher = globs.get(glob);
    if (!matcher) globs.set(glob, (matcher = picomatch(glob, { dot: true, windows: false })));
    return typeof value === 'string' && matcher(value);
  });
  const regexes = new Map<string, RegExp>();
  engine.addOperator('regex', (value: unknown, spec: { pattern: string; flags: string }) => {
    const key = spec.flags + '/' + spec.pattern;
    let re = regexes.get(key);
    if (!re) regexes.set(key, (re = new RegExp(spec.pattern, spec.flags)));
    return typeof value === 'string' && re.test(value);
  });
  engine.addOperator('under', (value: unknown, dir: string) => typeof value === 'string' && value.startsWith(dir + '/'));
  engine.addOperator('childOf', (value: unknown, dir: string) => typeof value === 'string' && value.startsWith(dir + '/') && value.indexOf('/', dir.length + 1) === -1);
  engine.addOperator('modeHasAny', (value: unknown, bits: number) => typeof value === 'string' && (parseInt(value, 8) & bits) !== 0);
  for (const rule of ruleSet.rules) {
    const conditions = toJre(rule.when);
    const top: TopLevelCondition = 'all' in conditions || 'any' in conditions || 'not' in conditions ? (conditions as TopLevelCondition) : { all: [conditions] };
    const properties: RuleProperties = { name: rule.name, conditions: top, event: { type: rule.name } };
    engine.addRule(properties);
  }
  return engine;
}

// ------------------------------------------------------------------ measurement
/** Best of three timed windows after two warm-up passes: the machine is shared, spikes are not the matcher. */
function measureCompiled(ruleSet: RuleSet, events: QumuloEvent[]): { eventsPerSecond: number; compileMs: number; matchesPerEvent: number; candidatesPerEvent: number; stats: string } {
  const t0 = process.hrtime.bigint();
  const compiled = compileRuleSet(ruleSet);
  const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const out = new Int32Array(compiled.ruleCount);
  for (let pass = 0; pass < 2; pass++) for (let i = 0; i < events.length; i++) compiled.matchInto(events[i], out);
  let best = 0;
  let matches = 0;
  let processed = 0;
  for (let window = 0; window < 3; window++) {
    const deadline = (SECONDS / 3) * 1e9;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    let windowEvents = 0;
    while (elapsed < deadline) {
      for (let i = 0; i < events.length; i++) matches += compiled.matchInto(events[i], out);
      windowEvents += events.length;
      elapsed = Number(process.hrtime.bigint() - start);
    }
    processed += windowEvents;
    best = Math.max(best, windowEvents / (elapsed / 1e9));
  }
  let candidates = 0;
  for (let i = 0; i < 20_000; i++) candidates += compiled.countCandidates(events[i]);
  const s = compiled.stats;
  return {
    eventsPerSecond: best,
    compileMs,
    matchesPerEvent: matches / processed,
    candidatesPerEvent: candidates / 20_000,
    stats: `dir ${s.byDirectory} / ext ${s.byExtension} / type ${s.byType} / always ${s.always}`,
  };
}

async function measureJre(ruleSet: RuleSet, events: QumuloEvent[]): Promise<{ eventsPerSecond: number; checked: number; mismatches: number }> {
  const engine = jreEngine(ruleSet);
  const compiled = compileRuleSet(ruleSet);
  const deadline = SECONDS * 1e9;
  const start = process.hrtime.bigint();
  let processed = 0;
  let mismatches = 0;
  let elapsed = 0;
  while (elapsed < deadline && processed < events.length) {
    const event = events[processed];
    const result = await engine.run(factsOf(event));
    const jreNames = result.events.map((e) => e.type).sort().join(',');
    const ourNames = compiled.match(event).map((r) => r.rule.name).sort().join(',');
    if (jreNames !== ourNames) mismatches++;
    processed++;
    if ((processed & 63) === 0) elapsed = Number(process.hrtime.bigint() - start);
  }
  elapsed = Number(process.hrtime.bigint() - start);
  return { eventsPerSecond: processed / (elapsed / 1e9), checked: processed, mismatches };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Rules and names that take exponential or high-polynomial time on a backtracking matcher. */
const HOSTILE: ReadonlyArray<{ label: string; when: Record<string, unknown>; name: string }> = [
  { label: 'nameRegex ^(a+)+$', when: { nameRegex: '^(a+)+$' }, name: 'a'.repeat(33) + '!' },
  { label: 'nameRegex ^(a+)+$', when: { nameRegex: '^(a+)+$' }, name: 'a'.repeat(254) + '!' },
  { label: 'nameRegex (x|x|x)*y', when: { nameRegex: '^(x|x|x)*y$' }, name: 'x'.repeat(250) },
  { label: 'name *-*-*-*-*.tmp', when: { name: '*-*-*-*-*.tmp' }, name: '-'.repeat(250) },
  { label: 'name *a*a*a*a*a*b (6 stars)', when: { name: '*a*a*a*a*a*b' }, name: 'a'.repeat(100) },
  { label: 'name *a*a*a*a*a*b (6 stars)', when: { name: '*a*a*a*a*a*b' }, name: 'a'.repeat(255) },
  { label: 'path /**/*a*a*a*a*/**/x', when: { path: '/**/*a*a*a*a*/**/x' }, name: 'a'.repeat(200) },
  { label: 'name {*a,*b}{*a,*b}{*a,*b}c', when: { name: '{*a,*b}{*a,*b}{*a,*b}c' }, name: 'ab'.repeat(120) },
];

function measureHostile(): string[][] {
  const rows: string[][] = [['rule', 'name length', 'µs per match', 'matched']];
  for (const hostile of HOSTILE) {
    const ruleSet = ruleSetFromDocument({ rules: [{ name: 'hostile', when: hostile.when }] });
    const compiled = compileRuleSet(ruleSet);
    const path = '/projects/p1/' + hostile.name;
    const event = { ...makeEvent(1), path, relativePath: 'projects/p1/' + hostile.name, ...splitName(path) };
    const out = new Int32Array(1);
    let matched = compiled.matchInto(event, out);
    let rounds = 0;
    const started = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < Math.min(SECONDS, 0.5) * 1e9) {
      for (let i = 0; i < 10; i++) matched = compiled.matchInto(event, out);
      rounds += 10;
      elapsed = Number(process.hrtime.bigint() - started);
    }
    rows.push([hostile.label, String(hostile.name.length), (elapsed / rounds / 1e3).toFixed(1), matched > 0 ? 'yes' : 'no']);
  }
  return rows;
}

function printTable(rows: string[][], leftColumns: number[]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  rows.forEach((row, i) => {
    console.log('| ' + row.map((cell, c) => (leftColumns.includes(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ') + ' |');
    if (i === 0) console.log('|' + widths.map((w, c) => (leftColumns.includes(c) ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|') + '|');
  });
}

async function main(): Promise<void> {
  if (process.env.BENCH_HOSTILE_ONLY === '1') {
    console.log(`qumulo-flow rule matcher, hostile names — Node ${process.version}`);
    console.log('');
    printTable(measureHostile(), [0]);
    return;
  }
  const events = Array.from({ length: EVENT_POOL }, (_, i) => makeEvent(i + 1));
  console.log(`qumulo-flow rule matcher benchmark — ${ranOn()}, ${EVENT_POOL.toLocaleString('en-US')} generated events (${PROJECTS} projects), ${SECONDS}s per figure (compiled: best of 3 windows after 2 warm-up passes; json-rules-engine: one awaited run() per event)`);
  console.log('');
  const rows: string[][] = [['rules', 'compile ms', 'compiled events/s', 'rules tested/event', 'matches/event', 'indexed by', 'json-rules-engine events/s', 'ratio', 'answers compared']];
  for (const count of RULE_COUNTS) {
    const ruleSet = makeRuleSet(count);
    const ours = measureCompiled(ruleSet, events);
    let jreRate = '–';
    let ratio = '–';
    let compared = '–';
    if (JRE_RULE_COUNTS.includes(count)) {
      const jre = await measureJre(ruleSet, events);
      jreRate = fmt(jre.eventsPerSecond);
      ratio = fmt(ours.eventsPerSecond / jre.eventsPerSecond) + '×';
      compared = `${fmt(jre.checked)} events, ${jre.mismatches} differ`;
      if (jre.mismatches > 0) process.exitCode = 1;
    }
    rows.push([fmt(count), ours.compileMs.toFixed(1), fmt(ours.eventsPerSecond), ours.candidatesPerEvent.toFixed(2), ours.matchesPerEvent.toFixed(4), ours.stats, jreRate, ratio, compared]);
  }
  printTable(rows, [0, 5, 8]);
  console.log('');
  console.log('Hostile names (linear-time matching; each of these froze Node-RED for seconds to minutes with backtracking matchers):');
  console.log('');
  printTable(measureHostile(), [0]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
