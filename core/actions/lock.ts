// WORM lock: a retention period (until a date) and/or a legal hold on a file (docs/qumulo-api.md §4).
// Idempotent by design: the current lock is read first, and a file already locked at least as
// long (and with the wanted legal hold) is reported as skipped without a PATCH.

import type { QumuloEvent } from '../event';
import type { FileLockPatch, WireFileLock } from '../qumulo/types';
import { formatRetention, parseQumuloTimestamp, resolveRetention, type RetentionSpec } from '../time/duration';
import { actionFailure } from './run';
import { startMutation, readOptions, attributesPath, isDirectoryAttributes, isNotFound, mutationOptions, PRIVILEGE_HINTS, type Action, type ActionContext } from './types';

export const LEGAL_HOLD_CHOICES = ['leave', 'on', 'off'] as const;
export type LegalHoldChoice = (typeof LEGAL_HOLD_CHOICES)[number];

export interface LockOptions {
  /** Retention to apply; null leaves the retention alone (legal hold only). */
  retention: RetentionSpec | null;
  legalHold: LegalHoldChoice;
  /**
   * For relative retentions only: an existing lock that ends less than this before the requested
   * end counts as "already locked" (so `30d` re-applied an hour later does not extend by an hour
   * each time, which would also make every lock echo re-trigger the lock). Absolute dates are exact.
   */
  extendThresholdMs: number;
}

export interface LockPlan {
  patch: FileLockPatch | null;
  /** The retention end asked for, formatted for Qumulo; null when no retention is configured. */
  requestedUntil: string | null;
  /** Why nothing (or only part) needs doing. */
  notes: string[];
}

/** Decides what to PATCH given the file's current lock. Pure: no I/O, `now` passed in. */
export function planLock(current: WireFileLock | undefined, options: LockOptions, now: Date): LockPlan {
  const patch: FileLockPatch = {};
  const notes: string[] = [];
  let requestedUntil: string | null = null;
  if (options.retention) {
    const requested = resolveRetention(options.retention, now);
    requestedUntil = formatRetention(requested);
    if (requested.getTime() <= now.getTime()) {
      throw new Error(`retention ${options.retention.text} (${requestedUntil}) is in the past`);
    }
    const existing = parseQumuloTimestamp(current?.retention_period ?? null);
    if (existing && existing.getTime() >= requested.getTime() - 999) {
      // -999 ms: Qumulo reports second precision; our request is rounded up to the next second.
      notes.push(`already locked until ${current!.retention_period}`);
    } else if (existing && options.retention.kind === 'relative' && requested.getTime() - existing.getTime() <= options.extendThresholdMs) {
      notes.push(`already locked until ${current!.retention_period} (within the re-lock threshold of ${requestedUntil})`);
    } else {
      patch.retention_period = requestedUntil;
    }
  }
  const hold = current?.legal_hold === true;
  if (options.legalHold === 'on') {
    if (hold) notes.push('legal hold already on');
    else patch.legal_hold = true;
  } else if (options.legalHold === 'off') {
    if (!hold) notes.push('legal hold already off');
    else patch.legal_hold = false;
  }
  return { patch: Object.keys(patch).length > 0 ? patch : null, requestedUntil, notes };
}

/** "lock until X and set legal hold" (future) or "locked until X and set legal hold" (past). */
export function describeLockPatch(patch: FileLockPatch, tense: 'future' | 'past'): string {
  const parts: string[] = [];
  if (patch.retention_period) parts.push(`${tense === 'past' ? 'locked' : 'lock'} until ${patch.retention_period}`);
  if (patch.legal_hold === true) parts.push(`${tense === 'past' ? 'legal hold set' : 'set legal hold'}`);
  if (patch.legal_hold === false) parts.push(`${tense === 'past' ? 'legal hold released' : 'release legal hold'}`);
  return parts.join(' and ');
}

/** File lock ref: the file id when the event has one (it follows the file across moves), else the path. */
export function eventRef(event: QumuloEvent): string {
  return event.fileId ? String(event.fileId) : event.path;
}

export function validateLockOptions(options: LockOptions): void {
  if (!options.retention && options.legalHold === 'leave') throw new Error('set a retention period and/or a legal hold');
  if (!Number.isFinite(options.extendThresholdMs) || options.extendThresholdMs < 0) throw new Error('re-lock threshold must be >= 0');
}

export function createLockAction(options: LockOptions): Action {
  validateLockOptions(options);
  return async (event: QumuloEvent, ctx: ActionContext) => {
    if (event.isDirectory === true) {
      return { outcome: 'skipped', detail: 'directories cannot be locked (Qumulo locks files only)' };
    }
    const ref = eventRef(event);
    let attrs;
    try {
      attrs = await ctx.client.getAttributes(ref, { retrieveLock: true, ...readOptions(ctx) });
    } catch (err) {
      if (isNotFound(err)) return { outcome: 'skipped', detail: `${event.path} no longer exists` };
      throw actionFailure(`lock ${event.path}: reading the current lock`, err);
    }
    const path = attributesPath(attrs, event.path);
    const facts = { path, fileId: attrs.id ?? event.fileId ?? null };
    if (isDirectoryAttributes(attrs)) {
      return { ...facts, outcome: 'skipped', detail: 'directories cannot be locked (Qumulo locks files only)' };
    }
    const now = ctx.now ? ctx.now() : new Date();
    const plan = planLock(attrs.lock, options, now);
    const before = { retentionPeriod: attrs.lock?.retention_period ?? null, legalHold: attrs.lock?.legal_hold ?? false };
    if (!plan.patch) {
      return { ...facts, outcome: 'skipped', detail: plan.notes.join('; '), ...before, requestedUntil: plan.requestedUntil };
    }
    if (ctx.dryRun) {
      return { ...facts, outcome: 'dry-run', detail: `would ${describeLockPatch(plan.patch, 'future')}`, ...before, requestedUntil: plan.requestedUntil, patch: plan.patch };
    }
    startMutation(ctx);
    let after;
    try {
      after = await ctx.client.setFileLock(attrs.id ? String(attrs.id) : ref, plan.patch, mutationOptions(ctx, facts.fileId, [path], true));
    } catch (err) {
      throw actionFailure(`lock ${path}`, err, { ...facts, patch: plan.patch }, PRIVILEGE_HINTS.lock);
    }
    const lock = after?.lock;
    return {
      ...facts,
      outcome: 'done',
      detail: describeLockPatch(plan.patch, 'past'),
      retentionPeriod: lock?.retention_period ?? plan.patch.retention_period ?? before.retentionPeriod,
      legalHold: lock?.legal_hold ?? plan.patch.legal_hold ?? before.legalHold,
      previous: before,
      requestedUntil: plan.requestedUntil,
      patch: plan.patch,
    };
  };
}
