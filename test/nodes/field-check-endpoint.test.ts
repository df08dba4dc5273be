// The editor's one server-side check endpoint (issue 18.3), in an embedded Node-RED runtime over
// real HTTP: for every field of test/support/field-cases.ts that the runtime reads with a core
// parser, the endpoint says what that parser says — same verdict, same message — for every good
// and bad value; ${ENV} values are never resolved; malformed requests get a clear 400.

import * as assert from 'node:assert/strict';
import { FIELD_PARSERS } from '../../nodes/lib/field-check';
import { FIELD_CASES } from '../support/field-cases';
import { type EmbeddedRuntime, startRuntime } from '../support/runtime';

type Answer = { ok: boolean; error?: string; deferred?: boolean };

describe('POST /qumulo-flow/check: the dialogs\' server-side checks go through the core parsers', function () {
  this.timeout(30_000);
  let runtime: EmbeddedRuntime;
  const check = async (body: unknown) => (await runtime.request<Answer>('POST', '/qumulo-flow/check', body)).body;

  before(async () => {
    runtime = await startRuntime();
  });
  after(async () => {
    delete process.env.QF_CHECK_SECRET;
    await runtime?.stop();
  });

  it('every field the runtime reads with a core parser has a server-side check', () => {
    const withCore = [...new Set(FIELD_CASES.filter((c) => c.core).map((c) => `${c.type}.${c.field}`))];
    const missing = withCore.filter((key) => !(key in FIELD_PARSERS));
    assert.deepEqual(missing, []);
  });

  it('answers like the core for every good and bad value of the field table', async () => {
    let asked = 0;
    for (const c of FIELD_CASES) {
      if (!c.core || !(`${c.type}.${c.field}` in FIELD_PARSERS)) continue;
      for (const value of [...c.good, ...c.bad]) {
        let expected: string | null = null;
        try {
          c.core(value);
        } catch (err) {
          expected = (err as Error).message;
        }
        const answer = await check({ type: c.type, field: c.field, value, props: c.props ?? {} });
        asked++;
        const where = `${c.type}.${c.field} = ${JSON.stringify(value)}`;
        if (expected === null) assert.deepEqual(answer, { ok: true }, where);
        else assert.deepEqual(answer, { ok: false, error: expected }, where);
        if (c.bad.includes(value)) assert.equal(answer.ok, false, `${where} is in the bad list`);
      }
    }
    assert.ok(asked > 150, `${asked} values checked`);
  });

  it('never resolves ${ENV}: such a value is left for the deploy', async () => {
    process.env.QF_CHECK_SECRET = 'https://bad.example.com:8000/';
    const answer = await check({ type: 'qumulo-cluster', field: 'host', value: '${QF_CHECK_SECRET}' });
    assert.deepEqual(answer, { ok: true, deferred: true });
  });

  it('refuses what is not a check request, and says which fields it does not know', async () => {
    for (const body of [{ type: 'qumulo-chmod', field: 'mode' }, { type: 'qumulo-chmod', field: 'mode', value: 640 }, [1, 2], { type: 'qumulo-chmod', field: 'mode', value: '0640', props: 'x' }]) {
      const res = await runtime.request<Answer>('POST', '/qumulo-flow/check', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.error ?? '', /expected JSON/);
    }
    assert.deepEqual(await check({ type: 'qumulo-chmod', field: 'constructor', value: 'x' }), { ok: false, error: 'no server-side check for qumulo-chmod.constructor' });
    assert.equal((await check({ type: 'qumulo-chmod', field: 'mode', value: '7'.repeat(20_000) })).ok, false);
  });
});
