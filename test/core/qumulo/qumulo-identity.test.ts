// One cluster identity (core/qumulo/identity.ts) keys the all-stop state, the loop guard's ledger
// and starts the client pool's connection key.

import * as assert from 'node:assert/strict';
import { connectionKey } from '../../../core/qumulo/pool';
import { clusterIdentity } from '../../../core/qumulo/identity';

describe('cluster identity', () => {
  it('is the lower-cased host and the port (8000 when not given), whatever protocol or user', () => {
    assert.equal(clusterIdentity({ host: ' Cluster.Example ', port: 8000 }), 'cluster.example:8000');
    assert.equal(clusterIdentity({ host: 'cluster.example' }), 'cluster.example:8000');
    assert.equal(clusterIdentity({ host: 'cluster.example', port: '9000' }), 'cluster.example:9000');
    const http = { host: 'Q1', port: 8000, protocol: 'http' as const, username: 'a' };
    const https = { host: 'q1', port: 8000, protocol: 'https' as const, username: 'b' };
    assert.equal(clusterIdentity(http), clusterIdentity(https));
  });

  it('starts the pool’s connection key, which adds protocol, user and TLS settings', () => {
    const options = { host: 'Q1.example', port: 8443, protocol: 'https' as const, username: 'admin', password: 'secret' };
    const key = connectionKey(options);
    assert.ok(key.startsWith('https://' + clusterIdentity(options) + '|user=admin|'), key);
    assert.ok(!key.includes('secret'));
  });
});
