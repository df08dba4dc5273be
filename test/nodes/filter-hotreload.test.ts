// Hot reload in a real Node-RED runtime: 100 rule changes (50 by message, 50 by editing the watched
// file — in place and by rename — plus one invalid file) while more than 50,000 numbered events flow
// through qumulo-filter. Every event must come out exactly once, in order, evaluated against the
// rule set in force when it arrived: the output names the rule set (msg.ruleset.hash), and the
// matched rules must be exactly what the reference evaluator says for that rule set.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NodeMessage } from 'node-red';
import { normalizeNotification } from '../../core/event';
import type { QumuloEvent } from '../../core/event';
import { referenceMatch, ruleSetFromYaml, ruleSetHash } from '../../core/rules';
import type { RuleSet } from '../../core/rules';
import { nodeTestHelper } from '../support/actions';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const filterNode = require('../../nodes/qumulo-filter');

interface TestNode {
  on(event: string, listener: (...args: never[]) => void): void;
  receive(msg: unknown): void;
  error: { getCalls(): Array<{ args: unknown[] }> };
  status: { lastCall: { args: [{ fill?: string; text?: string }] } | null };
}
const helper = nodeTestHelper<TestNode>();

type FilterMsg = NodeMessage & { payload: QumuloEvent; rules?: Array<{ name: string }>; ruleset?: { version: number; hash: string } };

interface Seen {
  seq: number;
  output: 1 | 2;
  hash: string;
  version: number;
  names: string[];
  event: QumuloEvent;
}

const RELOADS = 100;
const EVENTS_BETWEEN_RELOADS = 500;
const BATCH = 100;
const INVALID_AT = 51;

/** Rule set of generation g: which events match, and with which rules, depends on g. */
function yamlFor(g: number): string {
  return [
    'rules:',
    `  - name: gen-${g}`,
    `    actions: [gen-${g}]`,
    `    tags: [g${g}]`,
    '    when: {directory: /stream/even}',
    `  - name: ext-${g}`,
    '    actions: [ext]',
    `    when: {extension: [x${g % 7}, X${(g + 3) % 7}]}`,
    `  - name: odd-${g}`,
    '    actions: [odd]',
    `    when: {all: [{directory: /stream/odd}, {not: {name: "e*${g % 10}.*"}}]}`,
    '',
  ].join('\n');
}

function documentFor(g: number): unknown {
  return {
    rules: [
      { name: `gen-${g}`, actions: [`gen-${g}`], tags: [`g${g}`], when: { directory: '/stream/even' } },
      { name: `ext-${g}`, actions: ['ext'], when: { extension: [`x${g % 7}`, `X${(g + 3) % 7}`] } },
      { name: `odd-${g}`, actions: ['odd'], when: { all: [{ directory: '/stream/odd' }, { not: { name: `e*${g % 10}.*` } }] } },
    ],
  };
}

function eventFor(seq: number): QumuloEvent {
  const parity = seq % 2 === 0 ? 'even' : 'odd';
  return normalizeNotification(
    { type: seq % 3 === 0 ? 'child_data_written' : 'child_file_added', path: `stream/${parity}/e${seq}.x${seq % 7}`, spine: null },
    { watchId: 'hot', watchRoot: '/', seq, receivedAt: 0 },
  );
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('qumulo-filter hot reload under load', function () {
  this.timeout(60_000);
  let dir: string;

  before(() => helper.startServer());
  after(() => helper.stopServer());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-filter-hot-'));
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('100 reloads (messages and file edits, one invalid file) while 50,000+ numbered events flow: each evaluated once, against the rules in force', async () => {
    const file = path.join(dir, 'watched_items.yml');
    const ruleSets = new Map<string, { generation: number; ruleSet: RuleSet }>();
    const remember = (g: number) => {
      const ruleSet = ruleSetFromYaml(yamlFor(g));
      const hash = ruleSetHash(ruleSet);
      ruleSets.set(hash, { generation: g, ruleSet });
      return hash;
    };
    fs.writeFileSync(file, yamlFor(0));
    const initialHash = remember(0);

    await helper.load(
      [filterNode],
      [
        { id: 'f1', type: 'qumulo-filter', source: 'file', file, watch: true, debounce: 10, unmatched: true, outputs: 2, wires: [['out1'], ['out2']] },
        { id: 'out1', type: 'helper' },
        { id: 'out2', type: 'helper' },
      ],
    );
    const filter = helper.getNode('f1');
    const seen: Seen[] = [];
    const record = (output: 1 | 2) => (msg: FilterMsg) =>
      seen.push({ seq: msg.payload.seq, output, hash: msg.ruleset!.hash, version: msg.ruleset!.version, names: (msg.rules ?? []).map((r) => r.name), event: msg.payload });
    helper.getNode('out1').on('input', record(1));
    helper.getNode('out2').on('input', record(2));

    let sent = 0;
    const sendEvents = async (count: number) => {
      for (let i = 0; i < count; i += BATCH) {
        for (let j = 0; j < Math.min(BATCH, count - i); j++) {
          const payload = eventFor(++sent);
          filter.receive({ payload, topic: payload.type });
        }
        await tick();
      }
    };
    /** Keeps events flowing until one comes out evaluated with `hash`; returns its seq. */
    const flowUntilApplied = async (hash: string, what: string): Promise<number> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const hit = seen.find((s) => s.hash === hash);
        if (hit) return hit.seq;
        if (Date.now() > deadline) throw new Error(`rule set ${what} (${hash}) never applied`);
        await sendEvents(10);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };

    const messageReloads: Array<{ afterSeq: number; hash: string }> = [];
    const fileReloads: Array<{ firstSeq: number; hash: string }> = [];
    let invalid: { afterSeq: number; keptHash: string } | null = null;
    let currentHash = initialHash;

    for (let k = 1; k <= RELOADS; k++) {
      await sendEvents(EVENTS_BETWEEN_RELOADS);
      const hash = remember(k);
      if (k % 2 === 1) {
        // In-band: the very next event must use the new rules. Alternate object and YAML payloads.
        filter.receive({ topic: 'rules', payload: k % 4 === 1 ? documentFor(k) : yamlFor(k) });
        messageReloads.push({ afterSeq: sent, hash });
      } else {
        if (k === INVALID_AT + 1) {
          const errorsBefore = filter.error.getCalls().length;
          fs.writeFileSync(file, yamlFor(k).replace('when: {directory: /stream/even}', 'when: {directory: [/stream/even}'));
          const deadline = Date.now() + 10_000;
          while (filter.error.getCalls().length === errorsBefore) {
            if (Date.now() > deadline) throw new Error('the invalid file was never reported');
            await sendEvents(10);
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
          invalid = { afterSeq: sent, keptHash: currentHash };
          await sendEvents(EVENTS_BETWEEN_RELOADS);
        }
        // Out-of-band: an edit in place, or a new file renamed over the old one.
        if (k % 4 === 0) fs.writeFileSync(file, yamlFor(k));
        else {
          fs.writeFileSync(file + '.new', yamlFor(k));
          fs.renameSync(file + '.new', file);
        }
        fileReloads.push({ firstSeq: await flowUntilApplied(hash, `generation ${k}`), hash });
      }
      currentHash = hash;
    }
    await sendEvents(EVENTS_BETWEEN_RELOADS);
    const total = sent;
    const deadline = Date.now() + 20_000;
    while (seen.length < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));

    // ---- exactly once, in order -------------------------------------------------------------------
    assert.ok(total >= 50_000, `only ${total} events`);
    assert.equal(seen.length, total, 'every event came out');
    const bySeq = new Array<Seen | undefined>(total + 1);
    for (const s of seen) {
      assert.equal(bySeq[s.seq], undefined, `event ${s.seq} came out twice`);
      bySeq[s.seq] = s;
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].seq > seen[i - 1].seq, `order: ${seen[i - 1].seq} then ${seen[i].seq}`);

    // ---- each against the rule set in force ---------------------------------------------------------
    const versionOfHash = new Map<string, number>();
    let previousVersion = 0;
    for (let seq = 1; seq <= total; seq++) {
      const s = bySeq[seq]!;
      const known = ruleSets.get(s.hash);
      assert.ok(known, `event ${seq} names an unknown rule set ${s.hash}`);
      assert.deepEqual(s.names, referenceMatch(known.ruleSet, s.event), `event ${seq} under generation ${known.generation}`);
      assert.equal(s.output, s.names.length > 0 ? 1 : 2, `event ${seq} on the wrong output`);
      // Versions only move forward, and one version is one rule set.
      assert.ok(s.version >= previousVersion, `event ${seq}: version went back from ${previousVersion} to ${s.version}`);
      previousVersion = s.version;
      const hashVersion = versionOfHash.get(s.hash);
      if (hashVersion === undefined) versionOfHash.set(s.hash, s.version);
      else assert.equal(hashVersion, s.version, `rule set ${s.hash} seen as two versions`);
    }
    assert.equal(versionOfHash.size, RELOADS + 1, 'the initial rules and every reload were used');
    assert.equal(previousVersion, RELOADS + 1);

    // Message reloads take effect exactly at the next event.
    for (const reload of messageReloads) {
      assert.notEqual(bySeq[reload.afterSeq]!.hash, reload.hash, `event ${reload.afterSeq} came before the rules message`);
      assert.equal(bySeq[reload.afterSeq + 1]!.hash, reload.hash, `event ${reload.afterSeq + 1} came after the rules message`);
    }
    // File reloads switch between two events (versions only move forward, so once is enough).
    for (const reload of fileReloads) {
      assert.notEqual(bySeq[reload.firstSeq - 1]!.hash, reload.hash);
      assert.equal(bySeq[reload.firstSeq]!.hash, reload.hash);
    }
    // The invalid file changed nothing: the rules in use stayed until the next valid edit.
    assert.ok(invalid);
    const nextFileReload = fileReloads.find((r) => r.firstSeq > invalid!.afterSeq)!;
    for (let seq = invalid.afterSeq - 10; seq < nextFileReload.firstSeq; seq++) assert.equal(bySeq[seq]!.hash, invalid.keptHash, `event ${seq} after the invalid file`);
    const reported = filter.error.getCalls().map((c) => String(c.args[0]));
    assert.ok(reported.some((text) => /rejected, still using v\d+ \(/.test(text) && /watched_items\.yml:5:\d+/.test(text)), reported.join('\n'));
    assert.equal(filter.status.lastCall?.args[0].fill, 'green');
  });
});
