// `{placeholder}` templates for rename names and email subject/body. Templates are parsed once
// (at deploy) so an unknown placeholder is a configuration error, not a per-event failure.
// `{{` and `}}` stand for literal braces.

import type { QumuloEvent } from '../event';
import { splitExtension } from './names';

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Piece = { literal: string } | { field: string };

export interface CompiledTemplate {
  readonly source: string;
  readonly fields: readonly string[];
  render(values: Readonly<Record<string, string>>): string;
}

export function compileTemplate(source: string, allowed: readonly string[]): CompiledTemplate {
  const pieces: Piece[] = [];
  const fields: string[] = [];
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '{' && source[i + 1] === '{') {
      literal += '{';
      i += 2;
    } else if (ch === '}' && source[i + 1] === '}') {
      literal += '}';
      i += 2;
    } else if (ch === '{') {
      const end = source.indexOf('}', i);
      if (end < 0) throw new TemplateError(`unclosed "{" at position ${i + 1} in template "${source}"`);
      const field = source.slice(i + 1, end).trim();
      if (!allowed.includes(field)) {
        throw new TemplateError(`unknown placeholder {${field}} (known: ${allowed.map((f) => `{${f}}`).join(' ')})`);
      }
      if (literal) pieces.push({ literal });
      literal = '';
      pieces.push({ field });
      fields.push(field);
      i = end + 1;
    } else if (ch === '}') {
      throw new TemplateError(`unmatched "}" at position ${i + 1} in template "${source}" (write "}}" for a literal brace)`);
    } else {
      literal += ch;
      i++;
    }
  }
  if (literal) pieces.push({ literal });
  return {
    source,
    fields,
    render(values) {
      let out = '';
      for (const p of pieces) out += 'literal' in p ? p.literal : (values[p.field] ?? '');
      return out;
    },
  };
}

/** Placeholders every event offers (rename names, email lines and subjects). */
export const EVENT_FIELDS = [
  'name',
  'stem',
  'ext',
  'extension',
  'path',
  'relativePath',
  'parent',
  'parentDir',
  'fileId',
  'type',
  'watchRoot',
  'seq',
  'date',
  'time',
  'datetime',
  'timestamp',
] as const;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Values of the event placeholders. Times come from `event.receivedAt` (UTC), not from the clock,
 * so the same event always renders the same text (idempotent renames).
 *
 * - `{ext}` includes the dot (`.pdf`, or `''` without extension) so `{stem}{ext}` == `{name}`;
 *   `{extension}` is the bare extension (`pdf`).
 * - `{date}` `YYYY-MM-DD`, `{time}` `HHMMSS` (no colons: valid in names everywhere),
 *   `{datetime}` `YYYY-MM-DDTHHMMSSZ`, `{timestamp}` epoch milliseconds.
 */
export function eventTemplateValues(event: QumuloEvent): Record<string, string> {
  const { stem, ext } = splitExtension(event.name ?? '');
  const at = new Date(Number.isFinite(event.receivedAt) ? event.receivedAt : 0);
  const date = `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`;
  const time = `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  const parentDir = event.parentDir ?? '/';
  return {
    name: event.name ?? '',
    stem,
    ext,
    extension: ext.replace(/^\./, ''),
    path: event.path ?? '',
    relativePath: event.relativePath ?? '',
    parent: parentDir === '/' ? '' : parentDir.slice(parentDir.lastIndexOf('/') + 1),
    parentDir,
    fileId: event.fileId ?? '',
    type: event.type ?? '',
    watchRoot: event.watchRoot ?? '',
    seq: event.seq === undefined ? '' : String(event.seq),
    date,
    time,
    datetime: `${date}T${time}Z`,
    timestamp: String(at.getTime()),
  };
}
