// Shared shapes of the action core: the result every action reports, the subset of the Qumulo
// client the actions use, and how an API error is described in a result.

import type { QumuloEvent } from '../event';
import type { QumuloClient } from '../qumulo/client';
import type { FileAttributes } from '../qumulo/types';

export type ActionName = 'lock' | 'quarantine' | 'chmod' | 'rename' | 'email' | 'all-stop';
export type ActionOutcome = 'done' | 'skipped' | 'dry-run' | 'failed';

/** `msg.result`: one per input message, the audit trail of what an action did. */
export interface ActionResult {
  action: ActionName;
  /** The path the action was asked to act on (the event's path). */
  path: string;
  outcome: ActionOutcome;
  /** One human sentence: what was done, would be done, or why not. */
  detail: string;
  durationMs: number;
  fileId?: string | null;
  dryRun?: boolean;
  /** Set when the all-stop refused the action. */
  refusedBy?: 'all-stop';
  error?: ResultError;
  [extra: string]: unknown;
}

export interface ResultError {
  message: string;
  status?: number;
  errorClass?: string;
  /** The privilege a 403 most likely lacks, e.g. PRIVILEGE_FS_FILE_LOCK_WRITE. */
  privilege?: string;
}

/**
 * What the actions need from the Qumulo client (`core/qumulo/client.ts`). Every mutation goes
 * through it, so the loop guard sees a MutationIntent before each request.
 */
export type ActionClient = Pick<QumuloClient, 'getAttributes' | 'setFileLock' | 'setAttributes' | 'rename' | 'mkdirs' | 'createSnapshot'>;

/**
 * Called by an action right before each mutation. Throws AllStopRefusal (or anything) to stop the
 * action there, so an all-stop that fires mid-action still prevents the next change.
 */
export type BeforeMutation = () => void;

export interface ActionContext {
  client: ActionClient;
  dryRun: boolean;
  /** Defaults to `() => new Date()`; injectable for deterministic tests of time-based plans. */
  now?: () => Date;
  beforeMutation?: BeforeMutation;
  /** Correlation for the loop guard's ledger, e.g. `qumulo-lock:<node id>`. */
  origin?: string;
  /**
   * Aborted (with an AllStopRefusal as reason) when the all-stop fires: requests still waiting for
   * a slot in the client's concurrency limit are then never sent.
   */
  signal?: AbortSignal;
  /**
   * The event may have been handled before: a queue entry delivered again (after a deploy, a crash
   * or an unacknowledged timeout). An action must not read "just added" as "untouched" then.
   */
  replay?: boolean;
  /** Set by actions once they have asked the client for a change (for honest refusal texts). */
  mutationStarted?: boolean;
}

/**
 * Options for reads. Reads do not carry the all-stop signal: they change nothing, every mutation
 * re-checks the stop right before it is asked for, and combining a signal per request
 * (AbortSignal.any in the client) costs measurable CPU at thousands of requests per second.
 */
export function readOptions(_ctx: ActionContext): Record<string, never> {
  return {};
}

/** Runs the all-stop check right before a mutation and records that one has started. */
export function startMutation(ctx: ActionContext): void {
  ctx.beforeMutation?.();
  if (ctx.signal?.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new AllStopRefusal('now');
  ctx.mutationStarted = true;
}

/** Mutation options every action passes: origin and known file ids for the ledger, plus retries. */
export function mutationOptions(
  ctx: ActionContext,
  fileId: string | null | undefined,
  paths: string[],
  retry: boolean,
): { origin?: string; fileIds?: string[]; paths: string[]; retry: boolean; signal?: AbortSignal } {
  return { origin: ctx.origin, ...(fileId ? { fileIds: [String(fileId)] } : {}), paths, retry, ...(ctx.signal ? { signal: ctx.signal } : {}) };
}

/** What an action returns; `runAction` adds `action`, `durationMs` and defaults `path`. */
export interface ActionReport {
  outcome: ActionOutcome;
  detail: string;
  path?: string;
  fileId?: string | null;
  [extra: string]: unknown;
}

export type Action = (event: QumuloEvent, ctx: ActionContext) => Promise<ActionReport>;

/** Thrown by `beforeMutation` when the all-stop is active. */
export class AllStopRefusal extends Error {
  /** What the action had already done when it was stopped (e.g. quarantine's newPath). */
  partial: Record<string, unknown> = {};
  constructor(readonly since: string) {
    super(`all-stop active since ${since}`);
    this.name = 'AllStopRefusal';
  }
}

/** Duck-typed view of the client's typed API error (status, Qumulo error class, privilege hint). */
export function describeError(err: unknown): ResultError {
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; status?: unknown; errorClass?: unknown; privilegeHint?: unknown };
    const out: ResultError = { message: typeof e.message === 'string' ? e.message : String(err) };
    if (typeof e.status === 'number') out.status = e.status;
    if (typeof e.errorClass === 'string' && e.errorClass !== '') out.errorClass = e.errorClass;
    // The client names the privilege a call needs; it is the likely culprit only on a 403 that is
    // not a locked-file refusal (fs_read_only_error).
    if (out.status === 403 && out.errorClass !== 'fs_read_only_error' && typeof e.privilegeHint === 'string') out.privilege = e.privilegeHint;
    return out;
  }
  return { message: String(err) };
}

export function errorStatus(err: unknown): number | undefined {
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

export function errorClassOf(err: unknown): string | undefined {
  const c = (err as { errorClass?: unknown } | null)?.errorClass;
  return typeof c === 'string' ? c : undefined;
}

/** The target vanished between the event and the action (404 / fs_no_such_entry_error). */
export function isNotFound(err: unknown): boolean {
  return errorStatus(err) === 404 || errorClassOf(err) === 'fs_no_such_entry_error' || errorClassOf(err) === 'fs_no_such_path_error';
}

export function isEntryExists(err: unknown): boolean {
  return errorClassOf(err) === 'fs_entry_exists_error' || errorStatus(err) === 409;
}

export function isDirectoryAttributes(attrs: FileAttributes): boolean {
  return attrs.type === 'FS_FILE_TYPE_DIRECTORY';
}

/** Paths of directories come back with a trailing `/` (§2); results report them without. */
export function attributesPath(attrs: FileAttributes, fallback: string): string {
  if (typeof attrs.path !== 'string' || attrs.path === '') return fallback;
  return attrs.path.length > 1 ? attrs.path.replace(/\/+$/, '') : attrs.path;
}

/** Privilege a 403 on each kind of action most likely lacks (named in errors and docs). */
export const PRIVILEGE_HINTS: Readonly<Record<string, string>> = {
  lock: 'PRIVILEGE_FS_FILE_LOCK_WRITE',
  snapshot: 'PRIVILEGE_SNAPSHOT_WRITE',
};
