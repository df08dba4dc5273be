// Reads the audit trail back for a time range and a path prefix: line by line, each line read
// with a byte limit, repeats (same id) dropped, so an at-least-once trail exports exactly once.

import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { auditFiles, type AuditRecord } from './log';

export interface ExportQuery {
  from: Date;
  to: Date;
  /** Absolute path prefix: `/a/b` matches `/a/b` and everything under it; '' or '/' = all. */
  pathPrefix?: string;
  /** Most records returned (default 1,000,000); `truncated` says when more matched. */
  limit?: number;
}

export interface ExportResult {
  records: AuditRecord[];
  truncated: boolean;
  /** Repeats (same id) dropped. */
  duplicates: number;
  /** Lines that were not audit records (torn by a crash mid-write, or too long). */
  skippedLines: number;
}

const MAX_LINE_BYTES = 1024 * 1024;

export function matchesPrefix(filePath: string, prefix: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  if (p === '') return true;
  return filePath === p || filePath.startsWith(p + '/');
}

export async function exportAudit(dir: string, query: ExportQuery): Promise<ExportResult> {
  const from = query.from.getTime();
  const to = query.to.getTime();
  const limit = Math.max(1, query.limit ?? 1_000_000);
  const prefix = query.pathPrefix ?? '';
  const seen = new Set<string>();
  const records: AuditRecord[] = [];
  let duplicates = 0;
  let skippedLines = 0;
  let truncated = false;
  for (const file of auditFiles(dir, query.from, query.to)) {
    const input = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line.length === 0) continue;
        if (line.length > MAX_LINE_BYTES) {
          skippedLines++;
          continue;
        }
        let record: AuditRecord;
        try {
          record = JSON.parse(line) as AuditRecord;
        } catch {
          skippedLines++;
          continue;
        }
        if (!record || typeof record.id !== 'string' || typeof record.time !== 'string') {
          skippedLines++;
          continue;
        }
        const time = Date.parse(record.time);
        if (!(time >= from && time < to) || !matchesPrefix(String(record.path ?? ''), prefix)) continue;
        if (seen.has(record.id)) {
          duplicates++;
          continue;
        }
        if (records.length >= limit) {
          truncated = true;
          break;
        }
        seen.add(record.id);
        records.push(record);
      }
    } finally {
      lines.close();
      input.destroy();
    }
    if (truncated) break;
  }
  return { records, truncated, duplicates, skippedLines };
}

export const CSV_COLUMNS = ['id', 'time', 'action', 'outcome', 'path', 'fileId', 'detail', 'parameters', 'rules', 'dryRun', 'error', 'instance', 'node', 'eventType', 'eventSeq', 'watchId', 'redisId'] as const;

/** One CSV field: quoted, quotes doubled; a leading = + - @ is neutralised (spreadsheet formulas). */
function csvField(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export function toCsv(records: AuditRecord[]): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const record of records) {
    const r = record as unknown as Record<string, unknown>;
    rows.push(CSV_COLUMNS.map((c) => csvField(c === 'rules' ? (record.rules ?? []).join(' ') : r[c])).join(','));
  }
  return rows.join('\r\n') + '\r\n';
}
