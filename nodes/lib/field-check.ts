// One admin endpoint for the edit dialogs' server-side checks (issue 18.3): `POST /qumulo-flow/check`
// with `{ type, field, value, props? }` answers `{ ok: true }` or `{ ok: false, error }` from the very
// parser the runtime uses for that field (core/), so what the editor is told cannot drift from what
// a deploy does. Like every admin endpoint of the bundle it goes through adminGuard (JSON only, same
// origin) and a permission; it reads no node, no credentials and no environment: a value written as
// `${ENV}` is answered `{ ok: true, deferred: true }` (checked at deploy), never resolved here.

import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { compileRenameTemplate, compileTargetDirTemplate, parseAddressList, parseModeSpec, safeAbsoluteDir, validateLockOptions } from '../../core/actions';
import { BODY_FIELDS, LINE_FIELDS, SUBJECT_FIELDS } from '../../core/actions/email';
import { createQuarantineAction } from '../../core/actions/quarantine';
import { compileTemplate } from '../../core/actions/template';
import { parseRetentionSpec } from '../../core/time/duration';
import { parseRetentionDays } from '../../core/audit';
import { parseLeaseTime } from '../../core/scale/lease';
import { parseClusterHost, parseClusterPort } from '../../core/qumulo/address';
import { isFileId, normalizeAbsolutePath } from '../../core/qumulo/refs';
import { connectionConfigFrom } from '../qumulo-redis-common';
import { adminGuard } from './admin-guard';
import { lockOptionsFromConfig } from './action-node';
import { clientOptionsFromConfig } from './cluster';

type Props = Record<string, unknown>;
/** Reads a field as the runtime does: returns on a good value, throws (with the user's message) on a bad one. */
type FieldParser = (value: string, props: Props) => unknown;

const optional = (parse: (v: string) => unknown): FieldParser => (v) => (v.trim() === '' ? null : parse(v));
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** `type.field` → the core parser the runtime applies to it. */
export const FIELD_PARSERS: Readonly<Record<string, FieldParser>> = {
  'qumulo-cluster.host': (v) => parseClusterHost(v),
  'qumulo-cluster.port': (v) => parseClusterPort(v),
  // The rest of the connection is fixed here (no stored config, no credentials, nothing resolved).
  'qumulo-cluster.maxConcurrency': (v) =>
    clientOptionsFromConfig({ host: 'qumulo.example.com', port: '8000', protocol: 'https', maxConcurrency: v } as never, { username: 'check', password: 'check' }, (x) => String(x ?? '')),
  'qumulo-watch.path': (v) => (isFileId(v.trim() || '/') ? v : normalizeAbsolutePath(v.trim() || '/')),
  'qumulo-lock.retention': (v, p) => validateLockOptions(lockOptionsFromConfig({ retention: v, legalHold: text(p.legalHold) ?? 'leave', relockThreshold: text(p.relockThreshold) ?? '1d' })),
  'qumulo-lock.relockThreshold': (v, p) => lockOptionsFromConfig({ retention: text(p.retention) ?? '30d', relockThreshold: v }),
  'qumulo-chmod.mode': (v) => parseModeSpec(v),
  'qumulo-quarantine.root': (v) => createQuarantineAction({ root: v, keepStructure: true, collision: 'number', mode: null, lock: null }),
  'qumulo-quarantine.mode': optional(parseModeSpec),
  'qumulo-quarantine.lockRetention': optional(parseRetentionSpec),
  'qumulo-rename.template': (v) => compileRenameTemplate(v),
  'qumulo-rename.targetDir': (v) => compileTargetDirTemplate(v),
  'qumulo-email.host': (v) => parseClusterHost(v),
  'qumulo-email.from': (v) => parseAddressList(v),
  'qumulo-email.to': (v) => parseAddressList(v),
  'qumulo-email.subject': (v) => compileTemplate(v, SUBJECT_FIELDS),
  'qumulo-email.line': (v) => compileTemplate(v, LINE_FIELDS),
  'qumulo-email.body': (v) => compileTemplate(v, BODY_FIELDS),
  'qumulo-all-stop.snapshotPath': optional((v) => safeAbsoluteDir(v.trim())),
  'qumulo-all-stop.snapshotExpiration': optional(parseRetentionSpec),
  'qumulo-audit.directory': optional((v) => safeAbsoluteDir(v.trim(), 'audit directory')),
  'qumulo-audit.retentionDays': (v) => parseRetentionDays(v),
  'qumulo-watch.lease': (v) => parseLeaseTime(v),
  'qumulo-redis.database': (v) => connectionConfigFrom({ url: 'redis://127.0.0.1', database: v } as never, undefined, 'field-check'),
};

/** A field value longer than this is refused unread (a dialog field is never this long). */
export const MAX_CHECK_VALUE = 16_384;

export type CheckAnswer = { ok: true; deferred?: true } | { ok: false; error: string };

/** The verdict for one request body; `null` when the body is not a check request at all. */
export function checkField(body: unknown): CheckAnswer | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const { type, field, value, props } = body as Record<string, unknown>;
  if (typeof type !== 'string' || typeof field !== 'string' || typeof value !== 'string') return null;
  if (props !== undefined && (typeof props !== 'object' || props === null || Array.isArray(props))) return null;
  const parse = Object.prototype.hasOwnProperty.call(FIELD_PARSERS, `${type}.${field}`) ? FIELD_PARSERS[`${type}.${field}`] : undefined;
  if (!parse) return { ok: false, error: `no server-side check for ${type}.${field}` };
  if (value.length > MAX_CHECK_VALUE) return { ok: false, error: `longer than ${MAX_CHECK_VALUE} characters` };
  // ${ENV} is resolved by Node-RED at deploy, from the server's environment: never here.
  if (/\$\{\w+\}/.test(value)) return { ok: true, deferred: true };
  try {
    parse(value, (props ?? {}) as Props);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

const registered = new WeakSet<object>();

/** Registers the endpoint once per runtime (every action node module asks). */
export function registerFieldCheckEndpoint(RED: NodeAPI): void {
  if (registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  RED.httpAdmin.post('/qumulo-flow/check', adminGuard, RED.auth.needsPermission('qumulo-flow.read'), (req: Request, res: Response) => {
    const answer = checkField(req.body);
    if (answer === null) {
      res.status(400).json({ ok: false, error: 'expected JSON {type, field, value, props?} with string values' });
      return;
    }
    res.json(answer);
  });
}
