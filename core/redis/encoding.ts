// The stable encoding of an event inside a Redis stream entry. Version 1, field order fixed:
//
//   v      "1"                      encoding version (readers refuse versions they do not know)
//   type   event.type               copy for humans / redis-cli (XRANGE), not read back
//   path   event.path               copy for humans / redis-cli, not read back
//   event  JSON.stringify(event)    the whole QumuloEvent; the only field decoded
//
// `type` and `path` are written only when they are strings, so any JSON object can travel.
// Changing this layout means a new `v`; decoders keep reading the old ones.
import type { QumuloEvent } from '../event';

export const ENCODING_VERSION = '1';

export const FIELD_VERSION = 'v';
export const FIELD_TYPE = 'type';
export const FIELD_PATH = 'path';
export const FIELD_EVENT = 'event';

/** What can be stored: a QumuloEvent, or any plain JSON object. */
export type StoredEvent = QumuloEvent | Record<string, unknown>;

export class EncodingError extends Error {
  override readonly name = 'EncodingError';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** The `event` field: the event's JSON. Throws EncodingError when the event is not a JSON object. */
export function encodeEventJson(event: unknown): string {
  if (!isPlainObject(event)) {
    throw new EncodingError(`an event must be a JSON object, got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}`);
  }
  try {
    return JSON.stringify(event);
  } catch (err) {
    throw new EncodingError(`event is not serializable to JSON: ${(err as Error).message}`);
  }
}

/** The human-readable copy of `type` or `path` stored beside the JSON, when it is a string. */
export function copiedField(event: unknown, name: typeof FIELD_TYPE | typeof FIELD_PATH): string | undefined {
  const value = (event as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** Field/value list for XADD, from the parts above. */
export function entryFields(json: string, type: string | undefined, path: string | undefined): string[] {
  const fields = [FIELD_VERSION, ENCODING_VERSION];
  if (type !== undefined) fields.push(FIELD_TYPE, type);
  if (path !== undefined) fields.push(FIELD_PATH, path);
  fields.push(FIELD_EVENT, json);
  return fields;
}

/** Field/value list for XADD. Throws EncodingError when the event is not a JSON object. */
export function encodeEvent(event: unknown): string[] {
  const json = encodeEventJson(event);
  return entryFields(json, copiedField(event, FIELD_TYPE), copiedField(event, FIELD_PATH));
}

/** Turns the flat `[field, value, ...]` list Redis returns into a lookup. Later duplicates win. */
export function fieldsToRecord(fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1];
  return record;
}

/** Parses the `event` field's JSON (of a version-1 entry). Throws EncodingError with the reason. */
export function decodeEventJson(json: string): StoredEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new EncodingError(`"${FIELD_EVENT}" field is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new EncodingError(`"${FIELD_EVENT}" field does not hold a JSON object`);
  return parsed;
}

/** Decodes an entry's fields back into the event. Throws EncodingError with the reason. */
export function decodeEvent(fields: readonly string[]): StoredEvent {
  let version: string | undefined;
  let json: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    if (name === FIELD_VERSION) version = fields[i + 1];
    else if (name === FIELD_EVENT) json = fields[i + 1];
  }
  if (version === undefined) throw new EncodingError(`entry has no "${FIELD_VERSION}" field (not written by qumulo-redis-out?)`);
  if (version !== ENCODING_VERSION) throw new EncodingError(`unsupported encoding version "${version}" (this reader knows "${ENCODING_VERSION}")`);
  if (json === undefined) throw new EncodingError(`entry has no "${FIELD_EVENT}" field`);
  return decodeEventJson(json);
}
