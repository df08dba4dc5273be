// Pure units of the core: ref encoding and path checks, the notify payload parser, the
// concurrency limiter, error typing, connection identity, watch keys, event normalization.

import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { joinWatchPath, normalizeNotification, splitName } from '../../../core/event';
import { ConcurrencyLimiter } from '../../../core/qumulo/limiter';
import { QumuloApiError, QumuloTlsError, isAccessDenied, isAlreadyExists, isNotFound, isReadOnly, isTransient, toTransportError } from '../../../core/qumulo/errors';
import { clientFingerprint, connectionKey } from '../../../core/qumulo/pool';
import { encodeRef, joinPath, normalizeAbsolutePath, parentOf } from '../../../core/qumulo/refs';
import { NotifyPayloadParser, type MalformedReport } from '../../../core/qumulo/sse';
import { watchKey } from '../../../core/watch/registry';

describe('core units', () => {
  describe('refs', () => {
    it('sends ids as-is and encodes paths completely, slashes and !\'()* included', () => {
      assert.equal(encodeRef('5007655'), '5007655');
      assert.equal(encodeRef('/'), '%2F');
      assert.equal(encodeRef('/home/joe'), '%2Fhome%2Fjoe');
      assert.equal(encodeRef("/a b/it's (1)*!.txt"), '%2Fa%20b%2Fit%27s%20%281%29%2A%21.txt');
      assert.equal(encodeRef('/data/'), '%2Fdata');
    });

    it('round-trips any absolute path through the encoding (property)', () => {
      const segment = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('/') && s !== '.' && s !== '..' && !/[\u0000-\u001f\u007f]/.test(s));
      fc.assert(
        fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (parts) => {
          const path = '/' + parts.join('/');
          const encoded = encodeRef(path);
          assert.ok(!/[/!'()*]/.test(encoded), encoded);
          assert.equal(decodeURIComponent(encoded), path);
        }),
      );
    });

    it('normalizes any absolute path like splitting on / and joining the non-empty parts (the fast path for normal paths included, property)', () => {
      const reference = (path: string): string => {
        const parts = path.split('/').filter((p) => p.length > 0);
        if (parts.some((p) => p === '.' || p === '..')) return 'refused';
        return '/' + parts.join('/');
      };
      fc.assert(
        fc.property(fc.array(fc.constantFrom('/', '.', 'a', 'b', ' '), { maxLength: 10 }), (chars) => {
          const path = '/' + chars.join('');
          let actual: string;
          try {
            actual = normalizeAbsolutePath(path);
          } catch {
            actual = 'refused';
          }
          assert.equal(actual, reference(path), JSON.stringify(path));
        }),
        { numRuns: 5000 },
      );
    });

    it('refuses relative paths, dot components and NUL; other odd characters are legal in names', () => {
      for (const bad of ['relative', '/a/../b', '/a/./b', '/..', '/a\u0000b', '']) assert.throws(() => normalizeAbsolutePath(bad), bad);
      assert.equal(normalizeAbsolutePath('/a\nb/\tc\u202E'), '/a\nb/\tc\u202E');
      assert.equal(normalizeAbsolutePath('//a///b/'), '/a/b');
      assert.equal(joinPath('/', 'x'), '/x');
      assert.equal(joinPath('/a', 'x'), '/a/x');
      assert.throws(() => joinPath('/a', '..'));
      assert.throws(() => joinPath('/a', 'x/y'));
      assert.equal(parentOf('/a/b'), '/a');
      assert.equal(parentOf('/a'), '/');
    });
  });

  describe('notify payload parser', () => {
    const parse = (data: string, max?: number) => {
      const reports: MalformedReport[] = [];
      const parser = new NotifyPayloadParser({ maxLineLength: max, onMalformed: (r) => reports.push(r) });
      return { out: parser.parse(data), reports, parser };
    };

    it('parses the documented array of notifications', () => {
      const { out, reports } = parse(
        '[{"type": "child_file_added", "path": "home/joe/fff2", "spine": ["2", "10003", "5007655", "1459590167"], "stream_name": null},' +
          '{"type":"child_file_moved_to","path":"x"}]',
      );
      assert.deepEqual(reports, []);
      assert.deepEqual(out, [
        { type: 'child_file_added', path: 'home/joe/fff2', spine: ['2', '10003', '5007655', '1459590167'], stream_name: null },
        { type: 'child_file_moved_to', path: 'x', spine: null, stream_name: null },
      ]);
    });

    it('parses each line of a multi-line event on its own, tolerating CRLF', () => {
      const { out } = parse('[{"type":"child_file_added","path":"a"}]\r\n[{"type":"child_file_removed","path":"b"}]');
      assert.deepEqual(out.map((n) => n.path), ['a', 'b']);
    });

    it('reports every malformed shape with a running count and never throws', () => {
      const { out, reports, parser } = parse(
        ['nope', '{"type":"child_file_added","path":"a"}', '[1, null, "x"]', '[{"type":"child_x","path":"a"}]', '[{"type":"child_file_added","path":"a","spine":"2"}]', '[{"type":"child_file_added","path":"a","stream_name":5}]', 'x'.repeat(80)].join('\n'),
        60,
      );
      assert.deepEqual(out, []);
      assert.deepEqual(
        reports.map((r) => r.kind),
        ['not-json', 'wrong-shape', 'wrong-shape', 'wrong-shape', 'wrong-shape', 'unknown-type', 'wrong-shape', 'wrong-shape', 'too-large'],
      );
      assert.equal(parser.malformedCount, 9);
      assert.equal(reports.at(-1)!.total, 9);
    });

    it('survives arbitrary input (property)', () => {
      const parser = new NotifyPayloadParser();
      fc.assert(
        fc.property(fc.string({ maxLength: 200 }), (text) => {
          const out = parser.parse(text);
          assert.ok(Array.isArray(out));
        }),
      );
    });
  });

  describe('normalized event', () => {
    it('builds absolute paths, names, extensions and ids', () => {
      const event = normalizeNotification(
        { type: 'child_file_moved_to', path: 'in/Report.Final.PDF', spine: ['10', '11', '12'] },
        { watchId: 'w', watchRoot: '/data/', seq: 7, receivedAt: 1 },
      );
      assert.equal(event.path, '/data/in/Report.Final.PDF');
      assert.equal(event.relativePath, 'in/Report.Final.PDF');
      assert.equal(event.extension, 'PDF');
      assert.equal(event.parentDir, '/data/in');
      assert.equal(event.fileId, '12');
      assert.equal(event.watchRoot, '/data');
      assert.equal(event.isDirectory, false);
      assert.equal(joinWatchPath('/', ''), '/');
      assert.deepEqual(splitName('/.env'), { name: '.env', parentDir: '/', extension: '' });
    });
  });

  describe('limiter', () => {
    it('runs at most `limit` tasks at once, in arrival order', async () => {
      const limiter = new ConcurrencyLimiter(3);
      let active = 0;
      let peak = 0;
      const started: number[] = [];
      const release: Array<() => void> = [];
      const tasks = Array.from({ length: 10 }, (_, i) =>
        limiter.run(async () => {
          started.push(i);
          active++;
          peak = Math.max(peak, active);
          await new Promise<void>((r) => release.push(r));
          active--;
          return i;
        }),
      );
      while (started.length < 10) {
        await new Promise((r) => setImmediate(r));
        release.shift()?.();
      }
      release.forEach((r) => r());
      assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(peak, 3);
      assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(limiter.running, 0);
    });

    it('frees the slot when a task fails', async () => {
      const limiter = new ConcurrencyLimiter(1);
      await assert.rejects(limiter.run(async () => Promise.reject(new Error('boom'))));
      assert.equal(await limiter.run(async () => 'next'), 'next');
    });
  });

  describe('errors', () => {
    it('names the privilege on a 403 when the caller gave one', () => {
      const err = new QumuloApiError({
        status: 403,
        method: 'PATCH',
        path: '/v1/files/%2Fx/file-lock',
        body: { error_class: 'fs_access_denied_error', description: 'denied' },
        privilegeHint: 'PRIVILEGE_FS_FILE_LOCK_WRITE',
      });
      assert.match(err.message, /HTTP 403 fs_access_denied_error: denied \(this call needs PRIVILEGE_FS_FILE_LOCK_WRITE\)/);
      assert.ok(isAccessDenied(err));
      assert.ok(!isTransient(err));
    });

    it('classifies Qumulo error classes', () => {
      const make = (status: number, errorClass: string) => new QumuloApiError({ status, method: 'GET', path: '/', body: { error_class: errorClass } });
      assert.ok(isNotFound(make(404, 'fs_no_such_entry_error')));
      assert.ok(isReadOnly(make(403, 'fs_read_only_error')));
      assert.ok(!isAccessDenied(make(403, 'fs_read_only_error')));
      assert.ok(isAlreadyExists(make(409, 'fs_entry_exists_error')));
      assert.ok(!isAlreadyExists(make(409, 'fs_directory_not_empty_error')));
      assert.ok(isTransient(make(503, 'service_unavailable_error')));
      assert.ok(isTransient(make(429, '')));
      const noBody = new QumuloApiError({ status: 401, method: 'GET', path: '/x' });
      assert.equal(noBody.errorClass, '');
      assert.match(noBody.message, /HTTP 401/);
    });

    it('turns certificate failures into a TLS error that explains the fix', () => {
      const cause = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      const err = toTransportError(Object.assign(new TypeError('fetch failed'), { cause }), 'https://q:8000');
      assert.ok(err instanceof QumuloTlsError);
      assert.match(err.message, /CA certificate/);
      assert.ok(!isTransient(err));
      const refused = toTransportError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'https://q:8000');
      assert.ok(isTransient(refused));
    });
  });

  describe('identity', () => {
    it('keeps secrets out of the connection key and in the fingerprint', () => {
      const base = { host: 'Q.example', port: 8000, protocol: 'https' as const, username: 'svc', password: 'one' };
      assert.equal(connectionKey(base), connectionKey({ ...base, password: 'two' }));
      assert.notEqual(clientFingerprint(base), clientFingerprint({ ...base, password: 'two' }));
      assert.ok(!connectionKey(base).includes('one') && !clientFingerprint(base).includes('one'));
      assert.notEqual(connectionKey(base), connectionKey({ ...base, rejectUnauthorized: false }));
      assert.notEqual(connectionKey(base), connectionKey({ ...base, ca: 'PEM' }));
      const token = { host: 'q', accessToken: 'access-v1:secret' };
      assert.ok(!connectionKey(token).includes('secret'));
      assert.equal(connectionKey(token), connectionKey({ ...token, accessToken: 'access-v1:other' }));
    });

    it('keys watches by connection, path, recursion and types (order-insensitive)', () => {
      const client = { host: 'q', username: 'u', password: 'p' };
      const a = watchKey({ client, ref: '/d', recursive: true, types: ['child_file_added', 'child_acl_changed'] });
      const b = watchKey({ client: { ...client, password: 'changed' }, ref: '/d', recursive: true, types: ['child_acl_changed', 'child_file_added'] });
      assert.equal(a, b);
      assert.notEqual(a, watchKey({ client, ref: '/d', recursive: false, types: ['child_file_added', 'child_acl_changed'] }));
      assert.notEqual(a, watchKey({ client, ref: '/d', recursive: true, types: null }));
    });
  });
});
