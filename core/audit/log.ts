// The audit trail: one JSON line per action result in day files under a directory,
//   audit-2026-12-07.jsonl, audit-2026-12-07.1.jsonl (a day past maxFileBytes), …
// Writes are group commits: every record appended in the same turn of the event loop goes out in
// one write, and while records keep coming, a write waits until `groupCommitMs` (default 4 ms)
// after the previous one, so records arriving one at a time but close together share a write
// system call. A record after a quiet spell, or a millisecond or more after the record before it
// (sparse records: waiting for company would cost a timer wake-up of its own, which in a process
// idling between results costs more than the write), is written at once; the most a record
// waits for others is groupCommitMs. append() resolves once its batch is in the file: a killed
// process (kill -9) loses nothing that was reported written, since the data is in the kernel's
// page cache; `fsync: true` also flushes each batch to the disk (survives a power cut, costs a
// disk flush per batch). Callers pass the message on only after append() resolved, and with the
// Redis queue the entry is acknowledged after that, so a crash in between (records still waiting
// for their group included) redelivers it: records are at-least-once, and a repeat carries the
// same id (export drops repeats). Files older than the retention are deleted at each day change.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

export interface AuditRecord {
  /** Stable for a repeat of the same action on the same delivery: de-duplicate by it. */
  id: string;
  /** ISO time the record was written. */
  time: string;
  action: string;
  outcome: string;
  path: string;
  fileId: string | null;
  detail: string;
  /** Parameters of the action as its result reports them (retention, mode, target …). */
  parameters: Record<string, unknown>;
  rules: string[];
  dryRun: boolean;
  error: string | null;
  /** The Node-RED instance (QUMULO_FLOW_INSTANCE or the host name). */
  instance: string;
  /** The audit node that wrote it, and the event behind it. */
  node: string;
  eventType: string | null;
  eventSeq: number | null;
  watchId: string | null;
  /** The Redis stream entry the event came from, when it came through the queue. */
  redisId: string | null;
}

export interface AuditLogOptions {
  dir: string;
  /** Days a file is kept (0 = forever). Default 400 (an auditor's "last March"). */
  retentionDays?: number;
  /** A day's file rolls over to the next numbered file past this size. Default 256 MiB. */
  maxFileBytes?: number;
  /** fdatasync after each batch (default false: safe against process kills, not power cuts). */
  fsync?: boolean;
  /**
   * Group commit: while records keep coming, a write waits until this long after the previous
   * one, so records arriving close together share it (the most a record waits; 0 = a write per
   * turn of the event loop). Default 4 ms.
   */
  groupCommitMs?: number;
  now?: () => Date;
}

/** The node's "Keep … days" field: '' = 400, 0 = forever; throws on anything but a whole number. */
export function parseRetentionDays(text: string): number {
  const trimmed = String(text ?? '').trim();
  if (trimmed === '') return 400;
  if (!/^\d+$/.test(trimmed)) throw new Error(`retention must be a whole number of days (0 = keep forever), not "${trimmed}"`);
  return Number(trimmed);
}

/**
 * Records further apart than this are written one by one, in their own turn: a group would be
 * written by a timer of its own, and in a process that idles between results each such wake-up
 * cost more CPU than the write saved (bench:actions BENCH_AUDIT=1, one lock every 2 ms).
 */
const SPARSE_GAP_MS = 1;

const FILE_PATTERN = /^audit-(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.jsonl$/;

/** Called once a line is written (null) or could not be (the error). */
type Written = (err: Error | null) => void;

/**
 * One entry per directory. `configured`: how many of its users have settings of their own (a
 * qumulo-audit node); users that take the directory as they find it (the action nodes' audit
 * option) do not set its retention or sync.
 */
const logs = new Map<string, { log: AuditLog; users: number; configured: number }>();

export class AuditLog {
  readonly dir: string;
  private retentionDays: number;
  private readonly maxFileBytes: number;
  private fsync: boolean;
  /** Closed by its last user: later appends fail instead of reopening a file nobody closes. */
  private closed = false;
  /** Milliseconds since the epoch (options.now, for tests, or Date.now). */
  private readonly clock: () => number;
  private readonly groupCommitMs: number;
  /** Writes made so far (one per group of records): benches and tests read it. */
  writes = 0;
  /** Lines waiting for the next write, and whom to tell once they are in the file. */
  private pendingText = '';
  private pendingCallbacks: Written[] = [];
  /** The write loop runs (a write, or its fsync): appends only queue, the loop takes them. */
  private flushing = false;
  /** A flush is queued for the next turn. */
  private immediate = false;
  /** performance.now() of the previous write. */
  private lastWriteAt = -Infinity;
  /** performance.now() of the previous append: a gap of SPARSE_GAP_MS or more means records come one by one. */
  private lastAppendAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private fd: number | null = null;
  private currentFile: string | null = null;
  private currentDay: string | null = null;
  /** The current file's UTC day, as times: within it the file stays (no date to format per write). */
  private dayStartsAt = 0;
  private dayEndsAt = 0;
  private currentSize = 0;
  private idle: Array<() => void> = [];

  /**
   * One shared log per directory and process (several audit nodes may write to one directory).
   * With `asFound`, the caller has no settings of its own (the action nodes' audit option): it
   * neither sets the retention and sync of a log it opens (defaults until a configured user comes)
   * nor changes them: the settings of the configured users apply (the first of those present),
   * whoever opened the log. Release with the same `asFound`.
   */
  static acquire(options: AuditLogOptions, asFound = false): AuditLog {
    const dir = path.resolve(options.dir);
    let entry = logs.get(dir);
    if (!entry) logs.set(dir, (entry = { log: new AuditLog({ ...options, dir }), users: 0, configured: 0 }));
    else if (!asFound && entry.configured === 0) {
      // The first configured user of a log opened as found (or left by its configured users).
      entry.log.retentionDays = Math.max(0, options.retentionDays ?? 400);
      entry.log.fsync = options.fsync === true;
    }
    entry.users++;
    if (!asFound) entry.configured++;
    return entry.log;
  }

  /** Gives a shared log back; the last user closes it once its writes are done. */
  static async release(log: AuditLog, asFound = false): Promise<void> {
    const entry = logs.get(log.dir);
    if (!entry || entry.log !== log) return;
    if (!asFound) entry.configured = Math.max(0, entry.configured - 1);
    if (--entry.users > 0) return;
    logs.delete(log.dir);
    await log.close();
  }

  constructor(options: AuditLogOptions) {
    this.dir = path.resolve(options.dir);
    this.retentionDays = Math.max(0, options.retentionDays ?? 400);
    this.maxFileBytes = Math.max(1024, options.maxFileBytes ?? 256 * 1024 * 1024);
    this.fsync = options.fsync === true;
    const now = options.now;
    this.clock = now ? () => now().getTime() : Date.now;
    this.groupCommitMs = Math.max(0, Math.min(1000, options.groupCommitMs ?? 4));
  }

  /** Appends records; resolves once they are in the file (and on disk with fsync). */
  append(records: AuditRecord[]): Promise<void> {
    return new Promise<void>((resolve, reject) => this.appendThen(records, (err) => (err ? reject(err) : resolve())));
  }

  /** Appends records and calls back once they are written (or with the error): no promise per call. */
  appendThen(records: AuditRecord[], callback: Written): void {
    if (this.closed) {
      callback(new Error(`audit log ${this.dir} is closed (its last user has gone)`));
      return;
    }
    if (records.length === 0) {
      callback(null);
      return;
    }
    // Encoded whole before anything is queued: a record JSON cannot encode (a BigInt) throws here, to the caller.
    let lines = '';
    for (const record of records) lines += JSON.stringify(record) + '\n';
    this.pendingText += lines;
    this.pendingCallbacks.push(callback);
    this.schedule();
  }

  /**
   * Group commit without wake-ups of its own: the write goes out in the turn of the first append
   * that comes 3/4 of the window after the previous write (or later: after a quiet spell, at once),
   * so a steady stream of results shares writes in turns that happen anyway; a timer at the end of
   * the window writes what is left when no such append comes. The most a record waits: the window.
   * A record SPARSE_GAP_MS or more after the one before it is written in its own turn: records that
   * far apart would mostly be written by that timer, a wake-up of its own in an idle process.
   */
  private schedule(): void {
    const at = performance.now();
    const sparse = at - this.lastAppendAt >= SPARSE_GAP_MS;
    this.lastAppendAt = at;
    if (this.flushing || this.immediate) return;
    if (sparse || at - this.lastWriteAt >= this.groupCommitMs * 0.75) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.immediate = true;
      // A later turn (setImmediate), so everything appended in this one joins the write.
      setImmediate(this.flushNow);
    } else if (!this.timer) {
      this.timer = setTimeout(this.flushNow, this.lastWriteAt + this.groupCommitMs - at);
    }
  }

  /** Resolves when nothing is waiting to be written. */
  whenIdle(): Promise<void> {
    if (!this.flushing && !this.immediate && this.timer === null && this.pendingCallbacks.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async close(): Promise<void> {
    // Waiting records go out now rather than at the end of their group-commit window.
    if (this.timer) {
      clearTimeout(this.timer);
      this.flushNow();
    }
    await this.whenIdle();
    this.closed = true;
    this.closeFile();
  }

  private readonly flushNow = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.immediate = false;
    if (!this.flushing) void this.flush();
  };

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pendingCallbacks.length > 0) {
      const text = this.pendingText;
      const callbacks = this.pendingCallbacks;
      this.pendingText = '';
      this.pendingCallbacks = [];
      let error: Error | null = null;
      try {
        // A synchronous append: it goes to the kernel's page cache (microseconds, no disk wait),
        // and costs far less CPU than a round trip through libuv's thread pool per batch. The
        // string is written as it is: Node encodes it on the way, a third of Buffer.from's cost.
        const bytes = Buffer.byteLength(text, 'utf8');
        const fd = this.fileFor(bytes);
        let written = fs.writeSync(fd, text, null, 'utf8');
        if (written < bytes) {
          // A short write (rare on a file): the rest as bytes.
          const data = Buffer.from(text, 'utf8');
          while (written < bytes) written += fs.writeSync(fd, data, written, bytes - written, null);
        }
        this.currentSize += bytes;
        this.lastWriteAt = performance.now();
        this.writes++;
        if (this.fsync) await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
      } catch (err) {
        // Reopen next time (the directory may have been removed or the disk filled up).
        this.closeFile();
        error = new Error(`audit log ${this.dir}: ${(err as Error).message}`);
      }
      for (const callback of callbacks) {
        try {
          callback(error);
        } catch (thrown) {
          // A caller's callback threw: its problem, not the other records' (they still get theirs).
          process.emitWarning(`audit log callback threw: ${(thrown as Error)?.message ?? thrown}`);
        }
      }
    }
    this.flushing = false;
    if (this.timer === null && !this.immediate && this.idle.length > 0) for (const wake of this.idle.splice(0)) wake();
  }

  private closeFile(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already gone
      }
    }
    this.fd = null;
    this.currentFile = null;
  }

  private fileFor(bytes: number): number {
    const nowMs = this.clock();
    const sameDay = nowMs >= this.dayStartsAt && nowMs < this.dayEndsAt;
    if (this.fd !== null && sameDay && (this.currentSize === 0 || this.currentSize + bytes <= this.maxFileBytes)) return this.fd;
    const day = new Date(nowMs).toISOString().slice(0, 10);
    const dayChanged = this.currentDay !== day;
    this.closeFile();
    fs.mkdirSync(this.dir, { recursive: true });
    // The newest file of the day that still has room (a restart continues it).
    const names = fs.readdirSync(this.dir).filter((n) => FILE_PATTERN.exec(n)?.[1] === day);
    let index = names.reduce((max, n) => Math.max(max, Number(FILE_PATTERN.exec(n)![2] ?? 0)), 0);
    let file = fileName(day, index);
    let size = fs.existsSync(path.join(this.dir, file)) ? fs.statSync(path.join(this.dir, file)).size : 0;
    if (size > 0 && size + bytes > this.maxFileBytes) {
      index++;
      file = fileName(day, index);
      size = 0;
    }
    this.fd = fs.openSync(path.join(this.dir, file), 'a', 0o640);
    this.currentFile = file;
    this.currentDay = day;
    this.dayStartsAt = Date.parse(`${day}T00:00:00Z`);
    this.dayEndsAt = this.dayStartsAt + 86_400_000;
    this.currentSize = size;
    if (dayChanged) this.removeExpired(day);
    return this.fd;
  }

  private removeExpired(today: string): void {
    if (this.retentionDays === 0) return;
    const cutoff = new Date(Date.parse(`${today}T00:00:00Z`) - this.retentionDays * 86_400_000).toISOString().slice(0, 10);
    for (const name of fs.readdirSync(this.dir)) {
      const day = FILE_PATTERN.exec(name)?.[1];
      if (day && day < cutoff) fs.rmSync(path.join(this.dir, name), { force: true });
    }
  }
}

function fileName(day: string, index: number): string {
  return index === 0 ? `audit-${day}.jsonl` : `audit-${day}.${index}.jsonl`;
}

/** The audit files of a directory whose day may hold records in [from, to), oldest first. */
export function auditFiles(dir: string, from: Date, to: Date): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  // A day either side: a record stamped just before midnight may sit in the next day's file.
  const first = new Date(from.getTime() - 86_400_000).toISOString().slice(0, 10);
  const last = new Date(to.getTime() + 86_400_000).toISOString().slice(0, 10);
  return names
    .map((name) => ({ name, match: FILE_PATTERN.exec(name) }))
    .filter((f): f is { name: string; match: RegExpExecArray } => f.match !== null && f.match[1] >= first && f.match[1] <= last)
    .sort((a, b) => (a.match[1] === b.match[1] ? Number(a.match[2] ?? 0) - Number(b.match[2] ?? 0) : a.match[1] < b.match[1] ? -1 : 1))
    .map((f) => path.join(dir, f.name));
}
