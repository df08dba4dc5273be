// Parser of change-notify `data:` payloads (docs/qumulo-api.md §3.2–3.4): each data line is one JSON
// array of `{type, path, spine?, stream_name?}`. Anything else (not JSON, another shape, a huge
// line, a type outside the documented 24) is counted and reported through a callback, never
// thrown: one bad line must not stop the stream.

import { type NotificationType, type RawNotification, isNotificationType } from '../event';

export type MalformedKind = 'not-json' | 'wrong-shape' | 'too-large' | 'unknown-type';

export interface MalformedReport {
  kind: MalformedKind;
  /** Human-readable reason. */
  detail: string;
  /** Start of the offending text (at most 200 characters). */
  sample: string;
  /** Length of the offending line in characters. */
  length: number;
  /** Running total of malformed payloads seen by this parser. */
  total: number;
}

export type ValidNotification = RawNotification & { type: NotificationType };

export interface NotifyPayloadParserOptions {
  /** Longest data line accepted (characters, default 1 MiB); longer lines are reported, not parsed. */
  maxLineLength?: number;
  onMalformed?: (report: MalformedReport) => void;
}

export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;
const SAMPLE_LENGTH = 200;

export class NotifyPayloadParser {
  /** Malformed payloads (lines or array elements) seen so far. */
  malformedCount = 0;
  /** Valid notifications returned so far. */
  notificationCount = 0;
  readonly maxLineLength: number;
  private readonly onMalformed: ((report: MalformedReport) => void) | undefined;

  constructor(options: NotifyPayloadParserOptions = {}) {
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.onMalformed = options.onMalformed;
  }

  /**
   * Parses the data of one SSE event. An SSE event with several `data:` lines arrives joined by
   * `\n` (SSE framing); Qumulo sends one JSON array per line, so each line is parsed on its own.
   */
  parse(data: string): ValidNotification[] {
    const out: ValidNotification[] = [];
    // Fast path: the common single-line event.
    if (data.indexOf('\n') === -1) {
      this.parseLine(data, out);
    } else {
      for (const line of data.split('\n')) this.parseLine(line, out);
    }
    this.notificationCount += out.length;
    return out;
  }

  private parseLine(rawLine: string, out: ValidNotification[]): void {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim().length === 0) return;
    if (line.length > this.maxLineLength) {
      this.report('too-large', `data line of ${line.length} characters exceeds the ${this.maxLineLength} limit`, line);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      this.report('not-json', `data line is not JSON (${(err as Error).message})`, line);
      return;
    }
    if (!Array.isArray(parsed)) {
      this.report('wrong-shape', 'data line is not a JSON array of notifications', line);
      return;
    }
    for (const item of parsed) {
      const checked = this.checkNotification(item, line);
      if (checked) out.push(checked);
    }
  }

  private checkNotification(item: unknown, line: string): ValidNotification | null {
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      this.report('wrong-shape', 'notification is not an object', safeStringify(item) ?? line);
      return null;
    }
    const obj = item as Record<string, unknown>;
    if (typeof obj.type !== 'string' || typeof obj.path !== 'string') {
      this.report('wrong-shape', 'notification lacks a string "type" and "path"', safeStringify(item) ?? line);
      return null;
    }
    if (!isNotificationType(obj.type)) {
      this.report('unknown-type', `unknown notification type ${JSON.stringify(obj.type.slice(0, 100))}`, safeStringify(item) ?? line);
      return null;
    }
    const pathProblem = checkRelativePath(obj.path);
    if (pathProblem) {
      this.report('wrong-shape', pathProblem, safeStringify(item) ?? line);
      return null;
    }
    let spine: string[] | null = null;
    if (obj.spine !== undefined && obj.spine !== null) {
      if (!Array.isArray(obj.spine) || !obj.spine.every((id) => typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)))) {
        this.report('wrong-shape', '"spine" is not an array of file ids', safeStringify(item) ?? line);
        return null;
      }
      spine = obj.spine.map(String);
    }
    let streamName: string | null = null;
    if (obj.stream_name !== undefined && obj.stream_name !== null) {
      if (typeof obj.stream_name !== 'string') {
        this.report('wrong-shape', '"stream_name" is not a string', safeStringify(item) ?? line);
        return null;
      }
      streamName = obj.stream_name;
    }
    return { type: obj.type, path: obj.path, spine, stream_name: streamName };
  }

  /** Counts and reports a problem found outside `parse` (the subscription's stream guard). */
  reportExternal(kind: MalformedKind, detail: string, sample: string, length: number): void {
    this.report(kind, detail, sample, length);
  }

  private report(kind: MalformedKind, detail: string, text: string, length = text.length): void {
    this.malformedCount++;
    if (!this.onMalformed) return;
    try {
      this.onMalformed({ kind, detail, sample: text.slice(0, SAMPLE_LENGTH), length, total: this.malformedCount });
    } catch {
      // A failing reporter must not break parsing.
    }
  }
}

/**
 * A notification path is relative to the watched directory; refuse ones that climb out of it.
 * Any other character is legal in a file name (tab, newline, zero-width and bidi characters,
 * backslash): such names flow on — rules must see them — and are escaped where they are shown.
 * Only NUL, which no file name can hold, is refused.
 */
function checkRelativePath(path: string): string | null {
  if (path.includes('\0')) return '"path" contains NUL';
  for (const part of path.split('/')) {
    if (part === '..' || part === '.') return `"path" contains a "${part}" component`;
  }
  return null;
}

function safeStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
