// What the nodes check of an incoming message: that the payload is a QumuloEvent with the fields
// the node uses, and which rules matched it (`msg.rules`, set by qumulo-filter).

import { isNotificationType, type QumuloEvent } from './event';

const isString = (v: unknown): boolean => typeof v === 'string';
const FIELD_CHECKS = {
  path: isString,
  name: isString,
  extension: isString,
  relativePath: isString,
  watchId: isString,
  receivedAt: (v: unknown): boolean => typeof v === 'number',
  fileId: (v: unknown): boolean => v === null || typeof v === 'string',
} as const;

export type EventField = keyof typeof FIELD_CHECKS;

/** What the rule filter matches on. */
export const MATCHED_FIELDS: readonly EventField[] = ['path', 'name', 'extension', 'relativePath'];
/** What the loop guard judges by: the object, the watch and the arrival time. */
export const GUARDED_FIELDS: readonly EventField[] = ['path', 'receivedAt', 'watchId', 'fileId'];

/** The payload as a QumuloEvent when it has a known type and the given fields; else null. */
export function asEvent(payload: unknown, fields: readonly EventField[]): QumuloEvent | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const e = payload as Record<string, unknown>;
  if (!isNotificationType(e.type)) return null;
  for (let i = 0; i < fields.length; i++) if (!FIELD_CHECKS[fields[i]](e[fields[i]])) return null;
  return payload as QumuloEvent;
}

/** Why a payload is not a usable event for an action (an absolute path at least), or null. */
export function eventProblem(payload: unknown): string | null {
  if (!payload || typeof payload !== 'object') return 'msg.payload is not a Qumulo event (expected an object with a path)';
  const e = payload as Partial<QumuloEvent>;
  if (typeof e.path !== 'string' || !e.path.startsWith('/')) return 'msg.payload.path must be an absolute path';
  return null;
}

const NO_RULES: readonly string[] = Object.freeze([]);

/** The names of the matched rules in `msg.rules` (names or `{name}` objects); others are skipped. */
export function ruleNames(rules: unknown): readonly string[] {
  if (!Array.isArray(rules) || rules.length === 0) return NO_RULES;
  const names: string[] = [];
  for (const rule of rules) {
    const name = typeof rule === 'string' ? rule : (rule as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && name) names.push(name);
  }
  return names;
}
