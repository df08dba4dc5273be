// The "Test connection" admin endpoint is guarded by Node-RED's own permissions: on an embedded
// runtime with adminAuth, a read-only editor user is refused, an admin gets the cluster's answer,
// and an anonymous caller is refused.

import * as assert from 'node:assert/strict';
import { type EmbeddedRuntime, startRuntimeWithUsers } from '../support/runtime';
import { type TestSim, startSim } from '../support/sim';

describe('POST /qumulo-flow/cluster/test permissions', function () {
  this.timeout(30_000);
  let sim: TestSim;
  let runtime: EmbeddedRuntime;

  before(async () => {
    sim = await startSim();
    runtime = await startRuntimeWithUsers([
      { username: 'viewer', password: 'viewer-pw', permissions: 'read' },
      { username: 'editor', password: 'editor-pw', permissions: '*' },
    ]);
  });
  after(async () => {
    await runtime?.stop();
    await sim?.stop();
  });

  async function token(username: string, password: string, scope: string): Promise<string> {
    const res = await runtime.request<{ access_token?: string }>('POST', '/auth/token', {
      client_id: 'node-red-admin',
      grant_type: 'password',
      scope,
      username,
      password,
    });
    assert.equal(res.status, 200, res.text);
    return res.body.access_token!;
  }

  const body = () => ({ host: '127.0.0.1', port: String(sim.port), protocol: 'http', username: 'admin', password: 'admin' });

  it('refuses anonymous and read-only callers', async () => {
    const anonymous = await runtime.request('POST', '/qumulo-flow/cluster/test', body());
    assert.equal(anonymous.status, 401);
    const viewer = await runtime.request('POST', '/qumulo-flow/cluster/test', body(), { Authorization: `Bearer ${await token('viewer', 'viewer-pw', 'read')}` });
    assert.equal(viewer.status, 401);
    assert.doesNotMatch(viewer.text, /Qumulo Core/);
  });

  it('answers a user allowed to edit cluster nodes', async () => {
    const res = await runtime.request<{ ok: boolean; user: { name: string } }>('POST', '/qumulo-flow/cluster/test', body(), {
      Authorization: `Bearer ${await token('editor', 'editor-pw', '*')}`,
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.ok, true);
    assert.equal(res.body.user.name, 'admin');
  });
});
