// NotifySubscription over real SSE: normalization, filters, watch by id, reconnect after drops,
// overflow and token expiry (gaps recorded), auth/permission/not-found errors, the idle
// watchdog, and malformed payloads (from a tiny raw SSE server for shapes the simulator never
// produces). Reconnect backoff is shortened so the spec stays fast.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { QumuloEvent } from '../../../core/event';
import { QumuloClient } from '../../../core/qumulo/client';
import type { MalformedReport } from '../../../core/qumulo/sse';
import { bytesAfterLastLineBreak, type GapRecord, NotifySubscription, type SubscriptionOptions, type SubscriptionStatus } from '../../../core/qumulo/subscription';
import { type TestSim, TLS_FIXTURES, startSim } from '../../support/sim';
import { waitUntil as until } from '../../support/wait';

interface Recorder {
  sub: NotifySubscription;
  events: QumuloEvent[];
  statuses: SubscriptionStatus[];
  disconnects: GapRecord[];
  gaps: GapRecord[];
  malformed: MalformedReport[];
}

function record(options: SubscriptionOptions): Recorder {
  const sub = new NotifySubscription({ backoffInitialMs: 20, backoffMaxMs: 200, ...options });
  const rec: Recorder = { sub, events: [], statuses: [], disconnects: [], gaps: [], malformed: [] };
  sub.on('event', (e) => rec.events.push(e));
  sub.on('status', (s) => rec.statuses.push(s));
  sub.on('disconnected', (g) => rec.disconnects.push(g));
  sub.on('gap', (g) => rec.gaps.push(g));
  sub.on('malformed', (m) => rec.malformed.push(m));
  sub.start();
  return rec;
}


describe('NotifySubscription', function () {
  this.timeout(30_000);

  describe('against the simulator', () => {
    let sim: TestSim;
    let client: QumuloClient;
    const open: Recorder[] = [];
    const watch = (options: Partial<SubscriptionOptions> & { ref: string }) => {
      const rec = record({ client, watchId: 'w-test', ...options });
      open.push(rec);
      return rec;
    };

    before(async () => {
      sim = await startSim({ accessTokens: ['access-v1:ok'], files: { 'docs/a.txt': 'a', 'docs/sub/deep.txt': 'd', 'other/x.txt': 'x' } });
    });
    after(async () => {
      await sim?.stop();
    });
    beforeEach(() => {
      client = new QumuloClient(sim.clientOptions());
      sim.sim.faults.tokenTtlMs = 0;
    });
    afterEach(async () => {
      for (const rec of open.splice(0)) rec.sub.close();
      await client.close();
    });

    it('normalizes notifications of a non-root watch, in order, with a per-subscription seq', async () => {
      const rec = watch({ ref: '/docs' });
      await until(() => rec.sub.status.state === 'watching', 'watching');
      sim.sim.notify('docs/a.txt', 'child_data_written');
      sim.sim.notify('docs/sub/deep.txt', 'child_mtime_changed');
      sim.sim.notify('docs/sub', 'child_dir_added');
      sim.sim.notify('other/x.txt', 'child_file_added'); // outside the watch
      sim.sim.notify('docs/a.txt', 'child_stream_added', { streamName: 'Zone.Identifier' });
      await until(() => rec.events.length === 4, '4 events');
      const [a, deep, dir, ads] = rec.events;
      assert.deepEqual(
        { ...a, receivedAt: 0 },
        {
          type: 'child_data_written',
          path: '/docs/a.txt',
          relativePath: 'a.txt',
          name: 'a.txt',
          extension: 'txt',
          parentDir: '/docs',
          fileId: sim.sim.fileIdOf('docs/a.txt'),
          spine: [sim.sim.fileIdOf('docs'), sim.sim.fileIdOf('docs/a.txt')],
          isDirectory: false,
          streamName: null,
          watchId: 'w-test',
          watchRoot: '/docs',
          seq: 1,
          receivedAt: 0,
        },
      );
      assert.equal(deep.path, '/docs/sub/deep.txt');
      assert.equal(deep.parentDir, '/docs/sub');
      assert.equal(deep.isDirectory, null);
      assert.deepEqual(deep.spine, [sim.sim.fileIdOf('docs'), sim.sim.fileIdOf('docs/sub'), sim.sim.fileIdOf('docs/sub/deep.txt')]);
      assert.equal(dir.isDirectory, true);
      assert.equal(ads.streamName, 'Zone.Identifier');
      assert.deepEqual(rec.events.map((e) => e.seq), [1, 2, 3, 4]);
      assert.ok(a.receivedAt > 0);
    });

    it('asks the cluster for the chosen types only, and only direct children when not recursive', async () => {
      const filtered = watch({ ref: '/docs', types: ['child_file_added'] });
      const flat = watch({ ref: '/docs', recursive: false });
      await until(() => filtered.sub.status.state === 'watching' && flat.sub.status.state === 'watching', 'watching');
      sim.sim.notify('docs/a.txt', 'child_data_written');
      sim.sim.notify('docs/sub/deep.txt', 'child_file_added');
      sim.sim.notify('docs/new.txt', 'child_file_added');
      await until(() => filtered.events.length === 2 && flat.events.length === 2, 'events');
      assert.deepEqual(filtered.events.map((e) => e.relativePath), ['sub/deep.txt', 'new.txt']);
      assert.deepEqual(flat.events.map((e) => `${e.type} ${e.relativePath}`), ['child_data_written a.txt', 'child_file_added new.txt']);
    });

    it('watches a directory given by file id, reporting absolute paths', async () => {
      const rec = watch({ ref: sim.sim.fileIdOf('docs/sub') });
      await until(() => rec.sub.status.state === 'watching', 'watching');
      assert.equal(rec.sub.status.watchRoot, '/docs/sub');
      sim.sim.notify('docs/sub/deep.txt', 'child_acl_changed');
      await until(() => rec.events.length === 1, 'event');
      assert.equal(rec.events[0].path, '/docs/sub/deep.txt');
    });

    it('reconnects after a dropped stream and records the gap', async () => {
      const rec = watch({ ref: '/docs' });
      await until(() => rec.sub.status.state === 'watching', 'watching');
      sim.sim.notify('docs/a.txt', 'child_data_written');
      await until(() => rec.events.length === 1, 'first event');
      assert.equal(sim.sim.dropStreams(), 1);
      await until(() => rec.gaps.length === 1, 'gap closed');
      assert.equal(rec.disconnects.length, 1);
      const gap = rec.gaps[0];
      assert.equal(gap.reason, 'error');
      assert.equal(gap.lastSeqBefore, 1);
      assert.ok(gap.end !== null && gap.end >= gap.start);
      assert.ok(gap.attempts >= 1);
      assert.ok(rec.statuses.some((s) => s.state === 'reconnecting' && s.disconnectedSince === gap.start));
      assert.equal(rec.sub.status.state, 'watching');
      assert.equal(rec.sub.status.disconnectedSince, null);
      sim.sim.notify('docs/a.txt', 'child_mtime_changed');
      await until(() => rec.events.length === 2, 'event after reconnect');
      assert.equal(rec.events[1].seq, 2);
      assert.equal(sim.sim.openStreams(), 1);
    });

    it('treats an overflow (the cluster ends the stream) as a gap and reconnects', async () => {
      const rec = watch({ ref: '/docs' });
      await until(() => rec.sub.status.state === 'watching', 'watching');
      sim.sim.overflowStreams();
      await until(() => rec.gaps.length === 1, 'gap');
      assert.equal(rec.gaps[0].reason, 'stream-end');
      assert.equal(rec.sub.status.state, 'watching');
    });

    it('logs in again when the token expired while the stream was down', async () => {
      const rec = watch({ ref: '/docs' });
      await until(() => rec.sub.status.state === 'watching', 'watching');
      const logins = sim.sim.stats.logins;
      sim.sim.faults.tokenTtlMs = 1; // every session token is now expired
      await new Promise((r) => setTimeout(r, 5));
      sim.sim.dropStreams();
      await until(() => rec.statuses.some((s) => s.failureKind === 'auth'), '401 seen');
      sim.sim.faults.tokenTtlMs = 0;
      await until(() => rec.gaps.length === 1, 'back');
      assert.ok(sim.sim.stats.logins > logins, 'logged in again');
      assert.ok(client.stats.reauthentications >= 1);
      sim.sim.notify('docs/a.txt', 'child_data_written');
      await until(() => rec.events.length === 1, 'event after re-login');
    });

    it('renews a revoked session on 401 and keeps going', async () => {
      const rec = watch({ ref: '/docs' });
      await until(() => rec.sub.status.state === 'watching', 'watching');
      sim.sim.revokeTokens();
      sim.sim.dropStreams();
      await until(() => rec.gaps.length === 1, 'back');
      assert.equal(rec.sub.status.state, 'watching');
      assert.ok(rec.statuses.some((s) => s.failureKind === 'auth'));
    });

    it('reports a rejected access token as an error and keeps retrying', async () => {
      const tokenClient = new QumuloClient({ host: sim.host, port: sim.port, protocol: 'http', accessToken: 'access-v1:expired' });
      try {
        const rec = record({ client: tokenClient, ref: '/docs', watchId: 'w-token' });
        open.push(rec);
        await until(() => rec.sub.status.state === 'error', 'error');
        assert.equal(rec.sub.status.failureKind, 'auth');
        assert.match(rec.sub.status.lastError ?? '', /401/);
        await until(() => rec.sub.status.attempt >= 2, 'keeps retrying');
        // A new token (config changed) fixes it right away.
        const fixed = new QumuloClient({ host: sim.host, port: sim.port, protocol: 'http', accessToken: 'access-v1:ok' });
        rec.sub.setClient(fixed);
        await until(() => rec.sub.status.state === 'watching', 'watching with the new token');
        rec.sub.close();
        await fixed.close();
      } finally {
        await tokenClient.close();
      }
    });

    it('reports a missing directory as not-found', async () => {
      const rec = watch({ ref: '/does/not/exist' });
      await until(() => rec.sub.status.state === 'error', 'error');
      assert.equal(rec.sub.status.failureKind, 'not-found');
    });

    it('delivers self_removed when the watched directory is deleted, then reports it missing', async () => {
      await client.mkdir('/', 'doomed');
      const rec = watch({ ref: '/doomed' });
      await until(() => rec.sub.status.state === 'watching', 'watching');
      await client.deleteFile('/doomed');
      await until(() => rec.events.some((e) => e.type === 'self_removed'), 'self_removed');
      const last = rec.events[rec.events.length - 1];
      assert.equal(last.type, 'self_removed');
      assert.equal(last.path, '/doomed');
      assert.equal(last.isDirectory, true);
      await until(() => rec.sub.status.state === 'error', 'error after removal');
      assert.equal(rec.sub.status.failureKind, 'not-found');
    });
  });

  describe('over HTTPS', () => {
    let tlsSim: TestSim;
    before(async () => {
      tlsSim = await startSim({ https: true, files: { 'secure/': '' } });
    });
    after(async () => {
      await tlsSim?.stop();
    });

    it('streams with the cluster CA, and reports a TLS error without it', async () => {
      const ca = fs.readFileSync(path.join(TLS_FIXTURES, 'cert.pem'), 'utf8');
      const trusted = new QumuloClient(tlsSim.clientOptions({ ca }));
      const untrusted = new QumuloClient(tlsSim.clientOptions());
      const ok = record({ client: trusted, ref: '/secure', watchId: 'tls-ok' });
      const refused = record({ client: untrusted, ref: '/secure', watchId: 'tls-refused' });
      try {
        await until(() => ok.sub.status.state === 'watching', 'watching over TLS');
        tlsSim.sim.notify('secure/s.txt', 'child_file_added');
        await until(() => ok.events.length === 1, 'event over TLS');
        await until(() => refused.sub.status.state === 'error', 'TLS error');
        assert.equal(refused.sub.status.failureKind, 'tls');
        assert.match(refused.sub.status.lastError ?? '', /TLS verification failed/);
      } finally {
        ok.sub.close();
        refused.sub.close();
        await trusted.close();
        await untrusted.close();
      }
    });
  });

  describe('against a raw SSE server', () => {
    let server: http.Server;
    let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
    let port: number;
    let client: QumuloClient;
    let rec: Recorder | null = null;

    before(async () => {
      server = http.createServer((req, res) => handler(req, res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    beforeEach(() => {
      client = new QumuloClient({ host: '127.0.0.1', port, protocol: 'http', accessToken: 'access-v1:raw' });
    });
    afterEach(async () => {
      rec?.sub.close();
      rec = null;
      server.closeAllConnections();
      await client.close();
    });

    const data = (items: unknown) => `data: ${JSON.stringify(items)}\n\n`;
    const added = (path: string) => ({ type: 'child_file_added', path, spine: ['2', '99'], stream_name: null });

    it('counts and reports malformed payloads while the stream keeps flowing', async () => {
      const bigLine = 'data: [' + '{"type":"child_file_added","path":"x","spine":["2"]},'.repeat(60_000) + '{}]\n\n';
      assert.ok(bigLine.length > 3_000_000);
      handler = (req, res) => {
        assert.equal(req.headers.authorization, 'Bearer access-v1:raw');
        assert.match(String(req.url), /^\/v1\/files\/%2Fraw\/notify\?recursive=true$/);
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(': watching\n\n');
        res.write(data([added('one')]));
        res.write('data: this is not json\n\n');
        res.write(data({ type: 'child_file_added', path: 'object-not-array' }));
        res.write(data([added('two'), { type: 'child_file_added' }, { path: 'no-type' }]));
        res.write(data([{ type: 'child_brand_new_type', path: 'x' }, added('three')]));
        res.write(data([{ type: 'child_file_added', path: '../escape' }]));
        res.write(bigLine);
        res.write('data: [{"type":"child_file_added","path":"four","spine":["2","4"],"stream_name":null}]\r\n\r\n');
        res.write(data([{ type: 'child_file_added', path: 'five', spine: [2, 5] }]));
      };
      rec = record({ client, ref: '/raw', watchId: 'raw' });
      await until(() => rec!.events.length === 5, '5 good events');
      assert.deepEqual(rec.events.map((e) => e.relativePath), ['one', 'two', 'three', 'four', 'five']);
      assert.deepEqual(rec.events.map((e) => e.seq), [1, 2, 3, 4, 5]);
      assert.deepEqual(rec.events[4].spine, ['2', '5']);
      assert.deepEqual(
        rec.malformed.map((m) => m.kind),
        ['not-json', 'wrong-shape', 'wrong-shape', 'wrong-shape', 'unknown-type', 'wrong-shape', 'too-large'],
      );
      assert.equal(rec.sub.status.malformed, 7);
      assert.equal(rec.malformed[6].total, 7);
      assert.ok(rec.malformed[6].sample.length <= 200);
      assert.equal(rec.sub.status.state, 'watching');
      assert.equal(rec.gaps.length, 0);
    });

    it('reconnects when nothing arrives for the idle timeout', async () => {
      let connections = 0;
      handler = (_req, res) => {
        connections++;
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(': watching\n\n'); // …and then silence
      };
      rec = record({ client, ref: '/raw', watchId: 'raw', idleTimeoutMs: 200 });
      await until(() => rec!.gaps.length >= 1, 'idle gap');
      assert.equal(rec.disconnects[0].reason, 'idle');
      assert.ok(connections >= 2);
    });

    it('keeps a stream alive on keep-alive comments alone', async () => {
      let connections = 0;
      const timers: NodeJS.Timeout[] = [];
      handler = (_req, res) => {
        connections++;
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(': watching\n\n');
        const t = setInterval(() => res.write(': keepalive\n\n'), 40);
        timers.push(t);
        res.on('close', () => clearInterval(t));
      };
      rec = record({ client, ref: '/raw', watchId: 'raw', idleTimeoutMs: 300 });
      await until(() => rec!.sub.status.state === 'watching', 'watching');
      await new Promise((r) => setTimeout(r, 900));
      timers.forEach(clearInterval);
      assert.equal(connections, 1);
      assert.equal(rec.disconnects.length, 0);
    });

    it('accepts the stream whatever Content-Type the cluster sends', async () => {
      handler = (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(': watching\n\n' + data([added('typed')]));
      };
      rec = record({ client, ref: '/raw', watchId: 'raw' });
      await until(() => rec!.events.length === 1, 'event');
      assert.equal(rec.events[0].name, 'typed');
    });

    it('explains a 403 on a recursive watch with the DATA_ADMINISTRATOR privilege', async () => {
      handler = (_req, res) => {
        res.writeHead(403, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ module: 'qfsd', error_class: 'fs_access_denied_error', description: 'access denied', user_visible: true }));
      };
      rec = record({ client, ref: '/raw', watchId: 'raw' });
      await until(() => rec!.sub.status.state === 'error', 'error');
      assert.equal(rec.sub.status.failureKind, 'permission');
      assert.match(rec.sub.status.lastError ?? '', /DATA_ADMINISTRATOR/);
      assert.match(rec.sub.status.lastError ?? '', /fs_access_denied_error/);
    });

    it('marks a gap as overflow when the cluster says it dropped events', async () => {
      let call = 0;
      handler = (_req, res) => {
        call++;
        if (call === 1) {
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          res.end(': watching\n\n' + data([added('before')]));
        } else if (call === 2) {
          res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error_class: 'fs_watcher_missed_events_error', description: 'client did not keep up' }));
        } else {
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          res.write(': watching\n\n');
        }
      };
      rec = record({ client, ref: '/raw', watchId: 'raw' });
      await until(() => rec!.gaps.length === 1, 'gap');
      assert.equal(rec.gaps[0].reason, 'overflow');
      assert.match(rec.gaps[0].detail, /fs_watcher_missed_events_error/);
    });
  });
});

describe('bytesAfterLastLineBreak (the stream guard of long lines)', () => {
  /** The definition: split at CR or LF, every line within the limit, the length of the last part. */
  function reference(text: string, carried: number, limit: number): number {
    const parts = text.split(/\r|\n/);
    parts[0] = 'x'.repeat(carried) + parts[0];
    for (let i = 0; i < parts.length - 1; i++) if (parts[i].length > limit) return parts[i].length;
    return parts[parts.length - 1].length;
  }

  it('agrees with splitting at CR and LF, for mixed, missing and long lines', () => {
    const texts = ['', 'abc', 'a\nb', 'data: 1\n\ndata: 2\n\n', 'a\r\nbb\rccc\n', '\n\n\r', 'x'.repeat(50) + '\nshort', 'short\n' + 'y'.repeat(50), 'no break at all but long enough to pass'];
    for (const text of texts) {
      for (const carried of [0, 5, 30]) {
        for (const limit of [10, 40, 1000]) {
          const got = bytesAfterLastLineBreak(Buffer.from(text), carried, limit);
          const want = reference(text, carried, limit);
          // past the limit, any value above it will do (the stream is dropped)
          if (want > limit) assert.ok(got > limit, `${JSON.stringify(text)} carried ${carried} limit ${limit}: ${got}`);
          else assert.equal(got, want, `${JSON.stringify(text)} carried ${carried} limit ${limit}`);
        }
      }
    }
  });
});
