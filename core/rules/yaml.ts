// YAML text -> plain value plus a locator that turns a document location (keys and indexes) into a
// 1-based line/column, so validation errors can point into the file. Uses js-yaml's core schema
// only (no custom tags, no code execution).

import { constructFromEvents, getScalarValue, parseEvents, EVENT_ID, YAMLException } from 'js-yaml';
import type { Event as YamlEvent } from 'js-yaml';

export type DocPath = ReadonlyArray<string | number>;

export interface SourcePosition {
  line: number;
  column: number;
}

export interface Locator {
  /** Position of the value at `path` (or of the nearest ancestor that has one). */
  valueAt(path: DocPath): SourcePosition | undefined;
  /** Position of the key that names `path`'s last element (falls back to the value). */
  keyAt(path: DocPath): SourcePosition | undefined;
}

export interface ParsedYaml {
  value: unknown;
  locator: Locator;
}

/** A YAML syntax problem with its 1-based position. */
export class YamlSyntaxError extends Error {
  readonly line?: number;
  readonly column?: number;
  constructor(reason: string, line?: number, column?: number) {
    super(reason);
    this.name = 'YamlSyntaxError';
    this.line = line;
    this.column = column;
  }
}

/** Aliases are handy (`&pdf [pdf, docx]`) but unbounded aliasing can blow up validation. */
const MAX_ALIASES = 200;

function pathKey(path: DocPath): string {
  return JSON.stringify(path);
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function positionOf(lineStarts: number[], offset: number): SourcePosition {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - lineStarts[lo] + 1 };
}

interface Frame {
  kind: 'map' | 'seq' | 'skip' | 'doc';
  path: (string | number)[];
  nextIndex: number;
  expectingKey: boolean;
  currentKey: string;
}

function offsetOf(event: YamlEvent): number {
  switch (event.type) {
    case EVENT_ID.SCALAR:
      return event.anchorStart >= 0 ? Math.min(event.anchorStart, event.valueStart) : event.valueStart;
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return event.anchorStart >= 0 ? Math.min(event.anchorStart, event.start) : event.start;
    case EVENT_ID.ALIAS:
      return Math.max(0, event.anchorStart - 1);
    default:
      return 0;
  }
}

function buildOffsets(text: string, events: YamlEvent[]): { values: Map<string, number>; keys: Map<string, number> } {
  const values = new Map<string, number>();
  const keys = new Map<string, number>();
  const stack: Frame[] = [];
  for (const event of events) {
    if (event.type === EVENT_ID.DOCUMENT) {
      stack.push({ kind: 'doc', path: [], nextIndex: 0, expectingKey: false, currentKey: '' });
      continue;
    }
    if (event.type === EVENT_ID.POP) {
      stack.pop();
      continue;
    }
    const parent = stack[stack.length - 1];
    if (parent === undefined) continue;
    const isCollection = event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE;
    if (parent.kind === 'skip') {
      if (isCollection) stack.push({ ...parent });
      continue;
    }
    if (parent.kind === 'map' && parent.expectingKey) {
      parent.expectingKey = false;
      if (event.type === EVENT_ID.SCALAR) {
        parent.currentKey = getScalarValue(text, event);
        keys.set(pathKey([...parent.path, parent.currentKey]), offsetOf(event));
      } else {
        // Complex keys are not part of the rule language; the validator reports them.
        parent.currentKey = '?';
        if (isCollection) stack.push({ kind: 'skip', path: parent.path, nextIndex: 0, expectingKey: false, currentKey: '' });
      }
      continue;
    }
    let path: (string | number)[];
    if (parent.kind === 'map') {
      path = [...parent.path, parent.currentKey];
      parent.expectingKey = true;
    } else if (parent.kind === 'seq') {
      path = [...parent.path, parent.nextIndex++];
    } else {
      path = [];
    }
    values.set(pathKey(path), offsetOf(event));
    if (event.type === EVENT_ID.MAPPING) stack.push({ kind: 'map', path, nextIndex: 0, expectingKey: true, currentKey: '' });
    else if (event.type === EVENT_ID.SEQUENCE) stack.push({ kind: 'seq', path, nextIndex: 0, expectingKey: false, currentKey: '' });
  }
  return { values, keys };
}

function syntaxError(err: unknown): YamlSyntaxError {
  if (err instanceof YAMLException) {
    const mark = err.mark;
    return new YamlSyntaxError(err.reason || 'invalid YAML', mark ? mark.line + 1 : undefined, mark ? mark.column + 1 : undefined);
  }
  return new YamlSyntaxError(err instanceof Error ? err.message : String(err));
}

/**
 * Parses one YAML document with the core schema. Throws `YamlSyntaxError` (reason and 1-based
 * position, never a source snippet) for syntax errors, unknown tags, duplicate keys, empty input.
 */
export function parseYaml(text: string, filename?: string): ParsedYaml {
  let events: YamlEvent[];
  let documents: unknown[];
  try {
    events = parseEvents(text, { filename, maxDepth: 64 });
    documents = constructFromEvents(events, { source: text, filename, maxAliases: MAX_ALIASES });
  } catch (err) {
    throw syntaxError(err);
  }
  if (documents.length === 0) throw new YamlSyntaxError('the YAML document is empty', 1, 1);
  if (documents.length > 1) throw new YamlSyntaxError('expected one YAML document, found ' + documents.length + ' (remove the extra `---`)');
  // Positions are only needed when there is a problem: build the maps on first use.
  let index: { values: Map<string, number>; keys: Map<string, number>; lineStarts: number[] } | null = null;
  const lookup = (which: 'values' | 'keys', path: DocPath): SourcePosition | undefined => {
    index ??= { ...buildOffsets(text, events), lineStarts: lineStartsOf(text) };
    const map = index[which];
    for (let len = path.length; len >= 0; len--) {
      const offset = map.get(pathKey(path.slice(0, len)));
      if (offset !== undefined) return positionOf(index.lineStarts, offset);
      if (which === 'keys') break;
    }
    return undefined;
  };
  return {
    value: documents[0],
    locator: {
      valueAt: (path) => lookup('values', path),
      keyAt: (path) => lookup('keys', path) ?? lookup('values', path),
    },
  };
}
