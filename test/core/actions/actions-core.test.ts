// Unit tests of the pure action core: retention specs, name safety, templates, mode arithmetic,
// lock planning, quarantine path mapping and rename rendering. No I/O except the chmod oracle,
// which checks our symbolic-mode arithmetic against the system's own chmod on real files.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import type { QumuloEvent } from '../../../core/event';
import { QumuloApiError } from '../../../core/qumulo/errors';
import {
  actionFailure,
  AllStopRefusal,
  applyModeSpec,
  describeError,
  collisionCandidate,
  compileRenameTemplate,
  compileTargetDirTemplate,
  compileTemplate,
  EVENT_FIELDS,
  eventTemplateValues,
  formatMode,
  isInside,
  joinInside,
  MAX_NAME_BYTES,
  nameProblem,
  parseModeSpec,
  planLock,
  quarantineTarget,
  renderRename,
  safeAbsoluteDir,
  safeRelativeComponents,
  sanitizeName,
  splitExtension,
  TemplateError,
  UnsafePathError,
} from '../../../core/actions';
import { RECENT_LOCK_ENTRIES, RECENT_LOCK_MS, RecentLocks } from '../../../core/actions/lock';
import {
  DurationError,
  formatRetention,
  parseQumuloTimestamp,
  parseRetentionSpec,
  resolveRetention,
} from '../../../core/time/duration';

function sampleEvent(overrides: Partial<QumuloEvent> = {}): QumuloEvent {
  return {
    type: 'child_file_added',
    path: '/data/incoming/report.final.pdf',
    relativePath: 'incoming/report.final.pdf',
    name: 'report.final.pdf',
    extension: 'pdf',
    parentDir: '/data/incoming',
    fileId: '1459590167',
    spine: ['10003', '5007655', '1459590167'],
    isDirectory: false,
    streamName: null,
    watchId: 'w1',
    watchRoot: '/data',
    seq: 7,
    receivedAt: Date.UTC(2025, 2, 4, 5, 6, 7, 890),
    ...overrides,
  };
}

describe('actions core: retention specs', () => {
  const now = new Date('2025-01-31T10:00:00.250Z');

  it('reads relative durations in days, years, mixed units and ISO 8601', () => {
    assert.equal(formatRetention(resolveRetention(parseRetentionSpec('30d'), now)), '2025-03-02T10:00:01Z');
    assert.equal(formatRetention(resolveRetention(parseRetentionSpec('7y'), now)), '2032-01-31T10:00:01Z');
    assert.equal(formatRetention(resolveRetention(parseRetentionSpec('1y 6mo'), now)), '2026-07-31T10:00:01Z');
    assert.equal(formatRetention(resolveRetention(parseRetentionSpec('12h30min'), now)), '2025-01-31T22:30:01Z');
    assert.equal(formatRetention(resolveRetention(parseRetentionSpec('P30D'), now)), '2025-03-02T10:00:01Z');
    assert.equal(formatRetention(resolveRetention(parseRetentionSpec('PT45S'), now)), '2025-01-31T10:00:46Z');
    assert.equal(formatRetention(resolveRetention(parseRetentionSpec('2w'), now)), '2025-02-14T10:00:01Z');
  });

  it('reads absolute dates (midnight UTC) and date-times with a zone', () => {
    const date = parseRetentionSpec('2030-01-01');
    assert.equal(date.kind, 'absolute');
    assert.equal(formatRetention(resolveRetention(date, now)), '2030-01-01T00:00:00Z');
    assert.equal(formatRetention(resolveRetention(parseRetentionSpec('2030-06-01T12:00:00+02:00'), now)), '2030-06-01T10:00:00Z');
  });

  it('refuses ambiguous, unknown, zero, zone-less and impossible specs with a helpful message', () => {
    assert.throws(() => parseRetentionSpec('6m'), /ambiguous.*mo.*min/);
    assert.throws(() => parseRetentionSpec('3 fortnights'), /unknown unit/);
    assert.throws(() => parseRetentionSpec('0d'), /zero/);
    assert.throws(() => parseRetentionSpec(''), DurationError);
    assert.throws(() => parseRetentionSpec('2030-01-01T00:00:00'), /time zone/);
    assert.throws(() => parseRetentionSpec('2030-02-30'), /calendar date/);
    assert.throws(() => parseRetentionSpec('500y'), /longer than/);
    assert.throws(() => parseRetentionSpec('P'), DurationError);
  });

  it('rounds sub-second instants up so a lock never ends before what was asked', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), (ms) => {
        const formatted = formatRetention(new Date(ms));
        assert.match(formatted, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        const back = new Date(formatted).getTime();
        assert.ok(back >= ms && back - ms < 1000);
      }),
    );
  });

  it('parses Qumulo timestamps with nanoseconds', () => {
    assert.equal(parseQumuloTimestamp('2024-10-08T21:53:46.493886743Z')?.toISOString(), '2024-10-08T21:53:46.493Z');
    assert.equal(parseQumuloTimestamp(null), null);
    assert.equal(parseQumuloTimestamp('garbage'), null);
  });
});

describe('actions core: lock planning (idempotency)', () => {
  const now = new Date('2025-01-01T00:00:00Z');
  const relative = { retention: parseRetentionSpec('30d'), legalHold: 'leave' as const, extendThresholdMs: 24 * 3600_000 };

  it('locks an unlocked file until now + duration', () => {
    const plan = planLock({ legal_hold: false, retention_period: null }, relative, now);
    assert.deepEqual(plan.patch, { retention_period: '2025-01-31T00:00:00Z' });
  });

  it('skips a file already locked at least as long', () => {
    const plan = planLock({ legal_hold: false, retention_period: '2026-01-01T00:00:00Z' }, relative, now);
    assert.equal(plan.patch, null);
    assert.match(plan.notes.join(), /already locked until 2026-01-01T00:00:00Z/);
  });

  it('skips a relative re-lock within the threshold but extends beyond it', () => {
    const within = planLock({ legal_hold: false, retention_period: '2025-01-30T12:00:00Z' }, relative, now);
    assert.equal(within.patch, null);
    assert.match(within.notes.join(), /within the re-lock threshold/);
    const beyond = planLock({ legal_hold: false, retention_period: '2025-01-20T00:00:00Z' }, relative, now);
    assert.deepEqual(beyond.patch, { retention_period: '2025-01-31T00:00:00Z' });
  });

  it('extends to an absolute date exactly, without a threshold', () => {
    const absolute = { retention: parseRetentionSpec('2030-01-01'), legalHold: 'leave' as const, extendThresholdMs: 24 * 3600_000 };
    const plan = planLock({ legal_hold: false, retention_period: '2029-12-31T23:00:00Z' }, absolute, now);
    assert.deepEqual(plan.patch, { retention_period: '2030-01-01T00:00:00Z' });
  });

  it('sets and releases legal holds only when needed', () => {
    const on = { retention: null, legalHold: 'on' as const, extendThresholdMs: 0 };
    assert.deepEqual(planLock({ legal_hold: false, retention_period: null }, on, now).patch, { legal_hold: true });
    assert.equal(planLock({ legal_hold: true, retention_period: null }, on, now).patch, null);
    const off = { retention: null, legalHold: 'off' as const, extendThresholdMs: 0 };
    assert.deepEqual(planLock({ legal_hold: true, retention_period: null }, off, now).patch, { legal_hold: false });
    assert.equal(planLock(undefined, off, now).patch, null);
  });

  it('refuses an absolute date in the past', () => {
    const past = { retention: parseRetentionSpec('2020-01-01'), legalHold: 'leave' as const, extendThresholdMs: 0 };
    assert.throws(() => planLock(undefined, past, now), /in the past/);
  });

  it('never plans a retention shorter than the existing one (retention only extends)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3650 }), fc.integer({ min: -5000, max: 5000 }), (days, existingOffsetDays) => {
        const options = { retention: parseRetentionSpec(`${days}d`), legalHold: 'leave' as const, extendThresholdMs: 0 };
        const existing = new Date(now.getTime() + existingOffsetDays * 86400_000);
        const plan = planLock({ legal_hold: false, retention_period: formatRetention(existing) }, options, now);
        if (plan.patch?.retention_period) assert.ok(new Date(plan.patch.retention_period) > existing);
      }),
    );
  });
});

describe('actions core: names and path safety', () => {
  it('refuses traversal, absolute, separators, control and bidi characters', () => {
    for (const bad of ['..', '.', '', 'a/b', 'a\\b', 'x\0y', 'evil\u202Egpj.exe', 'line\r\nBcc: x@y', 'zero\u200Bwidth', '\u2028', ' ']) {
      assert.notEqual(nameProblem(bad), null, JSON.stringify(bad));
    }
    assert.equal(nameProblem('Réport (final) #2.pdf'), null);
    assert.equal(nameProblem('日本語のファイル.txt'), null);
    assert.notEqual(nameProblem('a'.repeat(MAX_NAME_BYTES + 1)), null);
  });

  it('splits relative paths only when every component is safe', () => {
    assert.deepEqual(safeRelativeComponents('a/b/c.txt'), ['a', 'b', 'c.txt']);
    for (const bad of ['../etc/passwd', 'a/../../b', '/etc/passwd', 'a//b', 'a/./b', 'a/\u202Eb', 'a/b\u0000']) {
      assert.throws(() => safeRelativeComponents(bad), UnsafePathError, bad);
    }
  });

  it('validates configured absolute directories', () => {
    assert.equal(safeAbsoluteDir('/quarantine//x/'), '/quarantine/x');
    assert.throws(() => safeAbsoluteDir('quarantine'), /absolute/);
    assert.throws(() => safeAbsoluteDir('/q/../etc'), UnsafePathError);
  });

  it('sanitized names are always safe single names (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const name = sanitizeName(text);
        assert.equal(nameProblem(name), null, JSON.stringify(name));
      }),
      { numRuns: 1000 },
    );
  });

  it('collision candidates keep the extension and stay within 255 bytes', () => {
    assert.equal(collisionCandidate('report.pdf', 0, 'number'), 'report.pdf');
    assert.equal(collisionCandidate('report.pdf', 1, 'number'), 'report (1).pdf');
    assert.equal(collisionCandidate('report.pdf', 3, 'number'), 'report (3).pdf');
    assert.equal(collisionCandidate('report.pdf', 1, 'file-id', '42'), 'report.42.pdf');
    assert.equal(collisionCandidate('report.pdf', 2, 'file-id', '42'), 'report.42 (1).pdf');
    assert.equal(collisionCandidate('.env', 1, 'number'), '.env (1)');
    const long = 'é'.repeat(127) + '.txt';
    const candidate = collisionCandidate(long, 12, 'number');
    assert.ok(Buffer.byteLength(candidate) <= MAX_NAME_BYTES);
    assert.ok(candidate.endsWith(' (12).txt'));
  });

  it('splits extensions like the event does (dotfiles have none)', () => {
    assert.deepEqual(splitExtension('a.tar.gz'), { stem: 'a.tar', ext: '.gz' });
    assert.deepEqual(splitExtension('.env'), { stem: '.env', ext: '' });
    assert.deepEqual(splitExtension('noext'), { stem: 'noext', ext: '' });
    assert.deepEqual(splitExtension('trailing.'), { stem: 'trailing.', ext: '' });
  });
});

describe('actions core: quarantine targets', () => {
  it('keeps the path relative to the watch root', () => {
    assert.deepEqual(quarantineTarget(sampleEvent(), { root: '/quarantine', keepStructure: true }), { dir: '/quarantine/incoming', name: 'report.final.pdf', sanitized: false });
    assert.deepEqual(quarantineTarget(sampleEvent(), { root: '/quarantine', keepStructure: false }), { dir: '/quarantine', name: 'report.final.pdf', sanitized: false });
  });

  it('refuses every relative path that would escape the root (property)', () => {
    const segment = fc.oneof(
      fc.constantFrom('..', '.', '', 'ok', 'a b', '\u202E', '\u0000', '\r\n', '/', '\\', 'x\u2066y', '..\\..'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.boolean(), (segments, keep) => {
        const relativePath = segments.join('/');
        let target: { dir: string; name: string } | null = null;
        try {
          target = quarantineTarget(sampleEvent({ relativePath }), { root: '/quarantine', keepStructure: keep });
        } catch (err) {
          assert.ok(err instanceof UnsafePathError);
          return;
        }
        const full = path.posix.join(target.dir, target.name);
        assert.ok(isInside('/quarantine', full) && full !== '/quarantine', full);
        assert.equal(path.posix.normalize(full), full);
        assert.equal(nameProblem(target.name), null);
      }),
      { numRuns: 3000 },
    );
  });

  it('joinInside never yields a path outside its root', () => {
    assert.throws(() => joinInside('/q', ['..', 'etc']), UnsafePathError);
    assert.equal(joinInside('/q', ['a', 'b']), '/q/a/b');
  });
});

describe('actions core: templates and rename rendering', () => {
  it('offers the documented placeholders with {ext} including the dot', () => {
    const v = eventTemplateValues(sampleEvent());
    assert.equal(v.stem, 'report.final');
    assert.equal(v.ext, '.pdf');
    assert.equal(v.extension, 'pdf');
    assert.equal(v.date, '2025-03-04');
    assert.equal(v.time, '050607');
    assert.equal(v.datetime, '2025-03-04T050607Z');
    assert.equal(v.parent, 'incoming');
    assert.equal(v.fileId, '1459590167');
    assert.equal(compileTemplate('{stem}{ext}', EVENT_FIELDS).render(v), 'report.final.pdf');
  });

  it('rejects unknown placeholders and stray braces at compile time, keeps {{ }} literal', () => {
    assert.throws(() => compileTemplate('{nope}', EVENT_FIELDS), TemplateError);
    assert.throws(() => compileTemplate('{stem', EVENT_FIELDS), /unclosed/);
    assert.throws(() => compileTemplate('a}b', EVENT_FIELDS), /unmatched/);
    assert.equal(compileTemplate('{{{stem}}}', EVENT_FIELDS).render({ stem: 'x' }), '{x}');
    assert.throws(() => compileRenameTemplate('sub/{name}'), /target directory/);
  });

  it('renders a sanitized name in the same directory unless a target directory is set', () => {
    const template = compileRenameTemplate('{date}_{stem}{ext}');
    const evil = sampleEvent({ name: 'a\u202Egpj.exe', path: '/data/incoming/a\u202Egpj.exe' });
    const same = renderRename(evil, { template, targetDir: null }, evil.path);
    assert.equal(same.dir, '/data/incoming');
    assert.equal(same.name, '2025-03-04_a_gpj.exe');
    const moved = renderRename(sampleEvent(), { template, targetDir: compileTargetDirTemplate('/archive/{date}') }, '/data/incoming/report.final.pdf');
    assert.deepEqual(moved, { dir: '/archive/2025-03-04', name: '2025-03-04_report.final.pdf' });
    const relative = renderRename(sampleEvent(), { template, targetDir: compileTargetDirTemplate('../done/{parent}') }, '/data/incoming/report.final.pdf');
    assert.equal(relative.dir, '/data/incoming/_/done/incoming', 'a ".." component is sanitized, never climbs');
  });
});

describe('actions core: mode arithmetic', () => {
  it('applies octal and symbolic specs', () => {
    const cases: Array<[string, string, boolean, string]> = [
      ['0640', '0777', false, '0640'],
      ['go-rwx', '0755', false, '0700'],
      ['u+x,g=r', '0600', false, '0740'],
      ['a=rX', '0644', false, '0444'],
      ['a=rX', '0744', false, '0555'],
      ['a=rX', '0600', true, '0555'],
      ['g=u', '0750', false, '0770'],
      ['u+s,o+t', '0755', true, '5755'],
      ['o=', '0777', false, '0770'],
    ];
    for (const [spec, from, dir, to] of cases) {
      assert.equal(formatMode(applyModeSpec(parseModeSpec(spec), parseInt(from, 8), dir)), to, `${spec} on ${from}`);
    }
  });

  it('refuses invalid specs', () => {
    for (const bad of ['', '0999', '12345', 'u+q', 'x=r', 'rwx', '8']) assert.throws(() => parseModeSpec(bad), bad);
  });

  it('matches the system chmod on real files and directories (oracle, property)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-mode-'));
    const file = path.join(dir, 'f');
    const sub = path.join(dir, 'd');
    fs.writeFileSync(file, '');
    fs.mkdirSync(sub);
    try {
      const clause = fc
        .tuple(fc.subarray(['u', 'g', 'o'], { minLength: 1 }), fc.constantFrom('+', '-', '='), fc.subarray(['r', 'w', 'x', 'X']))
        .map(([who, op, perms]) => `${who.join('')}${op}${perms.join('')}`);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 0o777 }), fc.array(clause, { minLength: 1, maxLength: 3 }), fc.boolean(), (start, clauses, onDir) => {
          const target = onDir ? sub : file;
          const spec = clauses.join(',');
          fs.chmodSync(target, start);
          execFileSync('chmod', [spec, target]);
          const expected = fs.statSync(target).mode & 0o7777;
          assert.equal(formatMode(applyModeSpec(parseModeSpec(spec), start, onDir)), formatMode(expected), `${spec} on ${formatMode(start)} (${onDir ? 'dir' : 'file'})`);
        }),
        { numRuns: 150 },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('actions core: error descriptions', () => {
  const forbidden = (errorClass: string) =>
    new QumuloApiError({
      status: 403,
      method: 'PATCH',
      path: '/v1/files/42/file-lock',
      body: { error_class: errorClass, description: 'denied' },
      privilegeHint: 'PRIVILEGE_FS_FILE_LOCK_WRITE plus Write-ACL permission on the file',
    });

  it('a 403 on a lock names the missing privilege in the message and the result', () => {
    const failure = actionFailure('lock /data/a.txt', forbidden('fs_access_denied_error'), {}, 'PRIVILEGE_FS_FILE_LOCK_WRITE');
    assert.match(failure.message, /^lock \/data\/a\.txt failed: .*HTTP 403 fs_access_denied_error.*PRIVILEGE_FS_FILE_LOCK_WRITE/);
    const described = describeError(forbidden('fs_access_denied_error'));
    assert.equal(described.status, 403);
    assert.equal(described.errorClass, 'fs_access_denied_error');
    assert.match(described.privilege ?? '', /^PRIVILEGE_FS_FILE_LOCK_WRITE/);
  });

  it('a 403 for a locked file is not blamed on a privilege', () => {
    const described = describeError(forbidden('fs_read_only_error'));
    assert.equal(described.privilege, undefined);
    const failure = actionFailure('chmod /data/a.txt', new QumuloApiError({ status: 403, method: 'PATCH', path: '/x', body: { error_class: 'fs_read_only_error' } }), {}, 'X');
    assert.doesNotMatch(failure.message, /needs X/);
  });

  it('all-stop refusals pass through failure wrapping, keeping what was already done', () => {
    const refusal = new AllStopRefusal('2025-01-01T00:00:00.000Z');
    const passed = actionFailure('quarantine /a', refusal, { newPath: '/q/a' });
    assert.ok(passed instanceof AllStopRefusal);
    assert.equal(passed.message, refusal.message);
    assert.deepEqual((passed as AllStopRefusal).partial, { newPath: '/q/a' });
    assert.deepEqual(refusal.partial, {}, 'the shared refusal is not changed');
  });
});

describe('actions core: recently seen locks (RecentLocks)', () => {
  it('forgets the least recently remembered file first at the cap, and a file after RECENT_LOCK_MS', () => {
    const recent = new RecentLocks();
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < RECENT_LOCK_ENTRIES; i++) recent.remember(`f${i}`, `2030-01-01T00:00:0${i % 10}Z`, t0);
    recent.remember('f0', '2031-01-01T00:00:00Z', t0 + 1); // remembered again: now the newest
    recent.remember('new', '2030-06-01T00:00:00Z', t0 + 2); // over the cap: f1 goes, not f0
    assert.equal(recent.size, RECENT_LOCK_ENTRIES);
    assert.equal(recent.get('f1', t0 + 3), null);
    assert.equal(recent.get('f0', t0 + 3), '2031-01-01T00:00:00Z');
    assert.equal(recent.get('f2', t0 + 3), '2030-01-01T00:00:02Z');
    recent.remember('new2', '2030-06-01T00:00:00Z', t0 + 4); // then f2, the oldest left
    assert.equal(recent.get('f2', t0 + 5), null);
    assert.equal(recent.get('f3', t0 + 5), '2030-01-01T00:00:03Z');
    recent.remember('x', null, t0 + 6); // no retention: nothing to remember
    assert.equal(recent.get('x', t0 + 6), null);
    // expired: forgotten when asked, and the list stays consistent for later evictions
    assert.equal(recent.get('f0', t0 + 1 + RECENT_LOCK_MS), null);
    assert.equal(recent.size, RECENT_LOCK_ENTRIES - 1);
    for (let i = 0; i < 3; i++) recent.remember(`later${i}`, '2030-06-01T00:00:00Z', t0 + 10);
    assert.equal(recent.size, RECENT_LOCK_ENTRIES);
    assert.equal(recent.get('f3', t0 + 11), null);
    assert.equal(recent.get('f4', t0 + 11), null);
    assert.equal(recent.get('f5', t0 + 11), '2030-01-01T00:00:05Z');
  });
});
