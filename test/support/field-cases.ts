// Good and bad values for every validated field of every node's edit dialog. One table for two
// specs: test/editor/editor-validators.test.ts (the built HTML's validators, in a vm, against the core
// parsers the runtime uses) and test/editor/browser.test.ts (a bad value typed into the real dialog turns
// the field red and puts the warning triangle on the node).
//
// `core` is what the runtime does with the field (throws on a bad value); fields whose runtime
// check lives inside a node module (plain number ranges) have none and are held to the table only.

import { compileRenameTemplate, compileTargetDirTemplate, createQuarantineAction, parseAddressList, parseModeSpec, safeAbsoluteDir, validateLockOptions } from '../../core/actions';
import { parseRetentionSpec } from '../../core/time/duration';
import { compileTemplate } from '../../core/actions/template';
import { BODY_FIELDS, LINE_FIELDS, SUBJECT_FIELDS } from '../../core/actions/email';
import { parseClusterHost, parseClusterPort } from '../../core/qumulo/address';
import { isFileId, normalizeAbsolutePath } from '../../core/qumulo/refs';
import { parseRetentionDays } from '../../core/audit';
import { clientOptionsFromConfig } from '../../nodes/lib/cluster';
import { lockOptionsFromConfig } from '../../nodes/lib/action-node';
import { connectionConfigFrom } from '../../nodes/qumulo-redis-common';
import { parseLeaseTime } from '../../core/scale/lease';

export interface FieldCase {
  type: string;
  field: string;
  good: string[];
  /** The first one is what the browser test types. */
  bad: string[];
  /** Other properties of the node while this field is checked. */
  props?: Record<string, unknown>;
  /** The runtime's reading of the field: returns on a good value, throws on a bad one. */
  core?: (value: string) => unknown;
}

const DURATIONS_BAD = ['forever', '6m', '0d', '70000y', '30 days ago', 'P', 'PT'];
const RETENTION_GOOD = ['30d', '7y', '1y6mo', '12h 30min', 'P30D', 'P1Y2M10DT2H30M', '2030-01-01', '2030-01-01T00:00:00Z', '2030-01-01 12:00+02:00'];
const RETENTION_BAD = [...DURATIONS_BAD, '2030-02-30', '2030-01-01T00:00', '01/01/2030'];
const MODE_GOOD = ['0640', '640', '0400', 'go-rwx', 'u+x,g=r', 'a=rX', 'g=u', '+t'];
const MODE_BAD = ['everyone-can-read', '0999', '88888', 'u+q', 'rwxr-x---', 'u+x,'];
const EVENT_TEMPLATES_GOOD = ['{stem}-{date}{ext}', '{name}', 'copy of {name}', '{{literal}} {name}', '{ stem }.bak'];
const TEMPLATES_BAD = ['{bogus}', '{name', 'name}', '{name}}x}', '{}'];

const cluster = (props: Record<string, unknown>) => clientOptionsFromConfig({ host: 'qumulo.example.com', port: '8000', protocol: 'https', ...props } as never, { username: 'admin', password: 'x' });

export const FIELD_CASES: FieldCase[] = [
  {
    type: 'qumulo-cluster',
    field: 'host',
    good: ['qumulo.example.com', '10.1.2.3', 'qumulo', 'q-1.lab.local', '::1', '[fd00::10]', 'fe80::1%eth0', 'cluster.example.com.'],
    bad: ['https://x:8000/', 'x:8000', 'http://x', 'x/api', 'my cluster', '-bad.example.com', 'a..b', '[nothex]', 'x_y:1'],
    core: parseClusterHost,
  },
  { type: 'qumulo-cluster', field: 'port', good: ['8000', '1', '65535', '443'], bad: ['99999', '0', '-5', 'abc', '80.5', '+80', '1e3'], core: (v) => parseClusterPort(v) },
  { type: 'qumulo-cluster', field: 'maxConcurrency', good: ['', '1', '8', '64'], bad: ['0', '-1', '2.5', 'many'], core: (v) => cluster({ maxConcurrency: v }) },
  {
    type: 'qumulo-lock',
    field: 'retention',
    good: RETENTION_GOOD,
    bad: [...RETENTION_BAD, ''],
    props: { legalHold: 'leave' },
    core: (v) => validateLockOptions(lockOptionsFromConfig({ retention: v, legalHold: 'leave', relockThreshold: '1d' })),
  },
  { type: 'qumulo-lock', field: 'retention', good: ['', '30d'], bad: [], props: { legalHold: 'on' }, core: (v) => validateLockOptions(lockOptionsFromConfig({ retention: v, legalHold: 'on' })) },
  { type: 'qumulo-lock', field: 'relockThreshold', good: ['', '0', '1d', '12h', 'PT6H'], bad: ['-5', 'soon', '6m', '0d'], props: { retention: '30d' }, core: (v) => lockOptionsFromConfig({ retention: '30d', relockThreshold: v }) },
  { type: 'qumulo-chmod', field: 'mode', good: MODE_GOOD, bad: MODE_BAD, core: parseModeSpec },
  {
    type: 'qumulo-quarantine',
    field: 'root',
    good: ['/quarantine', '/data/quarantine/', '/q//x'],
    bad: ['quarantine', '/', '/data/../etc', '/./q', '/q\u202ex', '//'],
    core: (v) => createQuarantineAction({ root: v, keepStructure: true, collision: 'number', mode: null, lock: null }),
  },
  { type: 'qumulo-quarantine', field: 'mode', good: ['', ...MODE_GOOD], bad: MODE_BAD, core: (v) => (v.trim() === '' ? null : parseModeSpec(v)) },
  { type: 'qumulo-quarantine', field: 'lockRetention', good: ['', ...RETENTION_GOOD], bad: RETENTION_BAD, core: (v) => (v.trim() === '' ? null : parseRetentionSpec(v)) },
  { type: 'qumulo-rename', field: 'template', good: EVENT_TEMPLATES_GOOD, bad: [...TEMPLATES_BAD, 'sub/{name}', '{count}'], core: compileRenameTemplate },
  { type: 'qumulo-rename', field: 'targetDir', good: ['', '/archive/{date}', 'done', '../{parent}'], bad: ['{bogus}', '/archive/{date'], core: compileTargetDirTemplate },
  { type: 'qumulo-settle', field: 'quietSeconds', good: ['5', '0', '0.5', '86400'], bad: ['-5', '86401', 'soon'] },
  { type: 'qumulo-settle', field: 'maxPending', good: ['1', '10000'], bad: ['0', '2.5', '-1', 'lots'] },
  { type: 'qumulo-email', field: 'host', good: ['smtp.example.com', '127.0.0.1'], bad: ['smtp://mail.example.com', 'mail:25'], core: parseClusterHost },
  { type: 'qumulo-email', field: 'port', good: ['25', '465', '587'], bad: ['999999', '0', 'smtp'] },
  { type: 'qumulo-email', field: 'from', good: ['qumulo-flow@example.com', 'Ops <ops@example.com>'], bad: ['nobody', 'a@b@c', 'x@example.com\nBcc: y@example.com'], core: (v) => parseAddressList(v) },
  { type: 'qumulo-email', field: 'to', good: ['a@example.com, b@example.com', 'a@example.com; Ops <ops@example.com>'], bad: ['everyone', 'a@example.com, not-an-address'], core: (v) => parseAddressList(v) },
  { type: 'qumulo-email', field: 'subject', good: ['{count} event(s), first {type} {path}', 'static subject'], bad: [...TEMPLATES_BAD, '{events}'], core: (v) => compileTemplate(v, SUBJECT_FIELDS) },
  { type: 'qumulo-email', field: 'line', good: ['{datetime} {type} {path}', '{rules}: {name}'], bad: [...TEMPLATES_BAD, '{count}'], core: (v) => compileTemplate(v, LINE_FIELDS) },
  { type: 'qumulo-email', field: 'body', good: ['{count} events\n\n{events}\n', 'window {windowStart}–{windowEnd}'], bad: TEMPLATES_BAD, core: (v) => compileTemplate(v, BODY_FIELDS) },
  { type: 'qumulo-email', field: 'windowSeconds', good: ['60', '1', '86400', '0.5e1'], bad: ['0', '86401', 'hourly'] },
  { type: 'qumulo-email', field: 'maxListed', good: ['1', '100'], bad: ['0', '1.5', 'all'] },
  { type: 'qumulo-email', field: 'maxHeld', good: ['1', '1000'], bad: ['0', '-3', 'many'] },
  { type: 'qumulo-all-stop', field: 'snapshotPath', good: ['', '/', '/data'], bad: ['data', '/data/../x'], core: (v) => (v.trim() === '' ? null : safeAbsoluteDir(v.trim())) },
  { type: 'qumulo-audit', field: 'directory', good: ['', '/', '/data/audit'], bad: ['audit', '/data/../x'], core: (v) => (v.trim() === '' ? null : safeAbsoluteDir(v.trim(), 'audit directory')) },
  { type: 'qumulo-audit', field: 'retentionDays', good: ['', '0', '400', '3650'], bad: ['-1', '2.5', 'forever'], core: (v) => parseRetentionDays(v) },
  { type: 'qumulo-all-stop', field: 'snapshotExpiration', good: ['', ...RETENTION_GOOD], bad: RETENTION_BAD, core: (v) => (v.trim() === '' ? null : parseRetentionSpec(v)) },
  {
    type: 'qumulo-watch',
    field: 'path',
    good: ['/', '/data/incoming', '/data//x/', '5007655'],
    bad: ['data', '/data/../etc', '/./x', '/a\u0000b'],
    core: (v) => (isFileId(v.trim() || '/') ? v : normalizeAbsolutePath(v.trim() || '/')),
  },
  { type: 'qumulo-watch', field: 'checkpointInterval', good: ['', '15min', '30s', '1h'], bad: ['10s', 'often', '6m'], props: { heal: true, checkpoints: true } },
  { type: 'qumulo-watch', field: 'checkpointExpiry', good: ['', '2d', '30min'], bad: ['20min', 'never'], props: { heal: true, checkpoints: true, checkpointInterval: '15min' } },
  { type: 'qumulo-watch', field: 'lease', good: ['', '15s', '1s', '10min'], bad: ['11min', 'soon', '0s'], props: { redis: 'r1' }, core: (v) => parseLeaseTime(v) },
  { type: 'qumulo-watch', field: 'healTolerance', good: ['', '0', '5s', '10min'], bad: ['11min', 'a bit', '-1s'], props: { heal: true } },
  { type: 'qumulo-loop-guard', field: 'hopLimit', good: ['1', '16'], bad: ['0', '2.5', 'lots'] },
  { type: 'qumulo-loop-guard', field: 'echoWindow', good: ['', '0.1', '5'], bad: ['0', '0.05', '-1'] },
  { type: 'qumulo-loop-guard', field: 'settle', good: ['', '0', '0.5'], bad: ['-0.5', 'x'] },
  { type: 'qumulo-loop-guard', field: 'chainWindow', good: ['', '0.1', '5'], bad: ['0', 'x'] },
  { type: 'qumulo-loop-guard', field: 'fileThreshold', good: ['', '0', '60'], bad: ['-1', '1.5'] },
  { type: 'qumulo-loop-guard', field: 'fileWindow', good: ['', '1', '60'], bad: ['0.5', 'x'] },
  { type: 'qumulo-loop-guard', field: 'ruleThreshold', good: ['', '0', '10'], bad: ['-1', 'x'] },
  { type: 'qumulo-loop-guard', field: 'ruleWindow', good: ['', '1', '60'], bad: ['0', 'x'] },
  { type: 'qumulo-loop-guard', field: 'cooldown', good: ['', '1', '60'], bad: ['0', 'x'] },
  { type: 'qumulo-loop-guard', field: 'remoteSkew', good: ['', '0', '250'], bad: ['-1', 'x'] },
  { type: 'qumulo-loop-guard', field: 'watcherSkew', good: ['', '0', '100'], bad: ['-1', 'x'] },
  { type: 'qumulo-redis-in', field: 'batchSize', good: ['', '1', '100'], bad: ['0', 'x'] },
  { type: 'qumulo-redis-in', field: 'maxInFlight', good: ['', '1000'], bad: ['0', 'x'] },
  { type: 'qumulo-redis-in', field: 'claimIdle', good: ['', '0.01', '30'], bad: ['0', 'x'] },
  { type: 'qumulo-redis-in', field: 'maxDeliveries', good: ['', '5'], bad: ['0', 'x'] },
  { type: 'qumulo-redis-in', field: 'ackTimeout', good: ['', '0', '300'], bad: ['-1', 'x'] },
  { type: 'qumulo-redis-out', field: 'maxLen', good: ['', '0', '1000000'], bad: ['-1', '1.5', 'x'] },
  { type: 'qumulo-redis-out', field: 'batchSize', good: ['', '1', '500'], bad: ['0', '1.5', 'x'] },
  { type: 'qumulo-redis', field: 'url', good: ['redis://127.0.0.1:6379', 'rediss://redis.example.com:6380/0', 'redis://redis'], bad: ['127.0.0.1:6379', 'http://redis', 'redis://', 'redis://default:secret@127.0.0.1:6379'] },
  { type: 'qumulo-redis', field: 'database', good: ['', '0', '15'], bad: ['-1', '1.5', 'db0'], core: (v) => connectionConfigFrom({ url: 'redis://127.0.0.1', database: v } as never, undefined, 'n') },
  { type: 'qumulo-filter', field: 'debounce', good: ['', '0', '250'], bad: ['-1', 'x'], props: { source: 'file', file: 'rules.yml' } },
  { type: 'qumulo-filter', field: 'enrichTtl', good: ['', '0', '5'], bad: ['-1', 'x'], props: { enrich: true } },
  { type: 'qumulo-filter', field: 'file', good: ['rules.yml', '/data/rules.yml'], bad: [''], props: { source: 'file', file: 'rules.yml' } },
];
