// WORM lock: a retention period (until a date) and/or a legal hold on a file (docs/qumulo-api.md §4).
// Idempotent by design: a file already locked at least as long (and with the wanted legal hold)
// is reported as skipped without a PATCH. The current lock is read first, except for a file the
// watch has just reported as added (one PATCH; see createLockAction) and for a file this node has
// just locked (answered from a short, bounded memory).

import type { QumuloEvent } from '../event';
import type { FileLockPatch, WireFileLock } from '../qumulo/types';
import { formatRetention, parseQumuloTimestamp, resolveRetention, type RetentionSpec } from '../time/duration';
import { actionFailure } from './run';
import { startMutation, readOptions, attributesPath, errorStatus, isDirectoryAttributes, isNotFound, mutationOptions, PRIVILEGE_HINTS, type Action, type ActionContext, type ActionReport } from './types';

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

/** How long a lock this action saw land answers later events for the same file without a read. */
export const RECENT_LOCK_MS = 60_000;
/** At most this many files remembered (oldest forgotten first). */
export const RECENT_LOCK_ENTRIES = 10_000;

interface KnownLock {
  ref: string;
  retentionPeriod: string;
  forgetAt: number;
  /** Neighbours in remembering order (oldest first). */
  older: KnownLock | null;
  newer: KnownLock | null;
}

/**
 * Retention ends this action has just seen on files (from its own PATCH answers or reads). A
 * retention can only be extended, never shortened or removed, and a locked file cannot be
 * deleted, so "locked until X" stays true; the memory is only kept briefly and is bounded.
 * Legal holds can be released by anyone, so they are never answered from memory.
 * The eviction order is a list linked through the entries, not the Map's insertion order: taking
 * a Map's first key steps over every slot deleted at its front since its table was last rebuilt
 * (thousands at the cap), once per lock.
 */
export class RecentLocks {
  private readonly known = new Map<string, KnownLock>();
  private oldest: KnownLock | null = null;
  private newest: KnownLock | null = null;

  get(ref: string, nowMs: number): string | null {
    const entry = this.known.get(ref);
    if (!entry) return null;
    if (entry.forgetAt <= nowMs) {
      this.forget(entry);
      return null;
    }
    return entry.retentionPeriod;
  }

  remember(ref: string, retentionPeriod: string | null | undefined, nowMs: number): void {
    if (!retentionPeriod) return;
    let entry = this.known.get(ref);
    if (entry) {
      this.unlink(entry); // moves to the newest end
      entry.retentionPeriod = retentionPeriod;
      entry.forgetAt = nowMs + RECENT_LOCK_MS;
    } else {
      entry = { ref, retentionPeriod, forgetAt: nowMs + RECENT_LOCK_MS, older: null, newer: null };
      this.known.set(ref, entry);
    }
    entry.older = this.newest;
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
    if (this.known.size > RECENT_LOCK_ENTRIES && this.oldest) this.forget(this.oldest);
  }

  private forget(entry: KnownLock): void {
    this.known.delete(entry.ref);
    this.unlink(entry);
  }

  private unlink(entry: KnownLock): void {
    if (entry.older) entry.older.newer = entry.newer;
    else if (this.oldest === entry) this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else if (this.newest === entry) this.newest = entry.older;
    entry.older = null;
    entry.newer = null;
  }

  get size(): number {
    return this.known.size;
  }
}

/**
 * Requests per lock: a file the watch has just reported as added cannot be locked yet, so its
 * lock is one PATCH without a prior read; the answer (or an error, then one read) says whether it
 * was in fact locked already. Later events for a file this action has just locked, the same
 * "added" event sent twice included, are answered from memory (retention only). Everything else,
 * a redelivered "added" event included (ctx.replay), reads the current lock first, so re-applying
 * a relative retention does not extend it each time.
 */
export function createLockAction(options: LockOptions): Action {
  validateLockOptions(options);
  const recent = new RecentLocks();
  // The plan for a file without a lock depends only on the clock: a burst of events handled in the
  // same millisecond shares one computation (date arithmetic and formatting showed in --cpu-prof).
  // Each action gets its own copy: the patch travels on in msg.result.
  let planMs = NaN;
  let unlockedPlan: LockPlan | null = null;
  const planForUnlocked = (now: Date): LockPlan => {
    if (now.getTime() !== planMs || !unlockedPlan) {
      unlockedPlan = planLock(undefined, options, now);
      planMs = now.getTime();
    }
    return { patch: unlockedPlan.patch ? { ...unlockedPlan.patch } : null, requestedUntil: unlockedPlan.requestedUntil, notes: [...unlockedPlan.notes] };
  };
  return async (event: QumuloEvent, ctx: ActionContext) => {
    if (event.isDirectory === true) {
      return { outcome: 'skipped', detail: 'directories cannot be locked (Qumulo locks files only)' };
    }
    const ref = eventRef(event);
    const now = ctx.now ? ctx.now() : new Date();
    const nowMs = now.getTime();
    // A replayed "added" event (a redelivered queue entry) may find the file locked by its first
    // delivery: read first, or the PATCH would push a relative retention further out again.
    const justAdded = event.type === 'child_file_added' && ctx.replay !== true;
    if (options.legalHold === 'leave' && !ctx.dryRun) {
      const knownUntil = recent.get(ref, nowMs);
      if (knownUntil) {
        const plan = planLock({ retention_period: knownUntil, legal_hold: false }, options, now);
        if (!plan.patch) {
          return {
            outcome: 'skipped',
            detail: `${plan.notes.join('; ')} (locked moments ago by this node; not read again)`,
            retentionPeriod: knownUntil,
            requestedUntil: plan.requestedUntil,
            fromMemory: true,
          };
        }
      }
    }
    if (justAdded && !ctx.dryRun) {
      const plan = planForUnlocked(now);
      if (plan.patch) return lockWithoutRead(event, ref, { ...plan, patch: plan.patch }, options, ctx, now, recent);
    }
    return lockAfterRead(event, ref, options, ctx, now, recent);
  };
}

async function lockAfterRead(event: QumuloEvent, ref: string, options: LockOptions, ctx: ActionContext, now: Date, recent: RecentLocks): Promise<ActionReport> {
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
  const plan = planLock(attrs.lock, options, now);
  const before = { retentionPeriod: attrs.lock?.retention_period ?? null, legalHold: attrs.lock?.legal_hold ?? false };
  if (!plan.patch) {
    if (!ctx.dryRun) recent.remember(ref, before.retentionPeriod, now.getTime());
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
  const retentionPeriod = lock?.retention_period ?? plan.patch.retention_period ?? before.retentionPeriod;
  recent.remember(ref, retentionPeriod, now.getTime());
  return {
    ...facts,
    outcome: 'done',
    detail: describeLockPatch(plan.patch, 'past'),
    retentionPeriod,
    legalHold: lock?.legal_hold ?? plan.patch.legal_hold ?? before.legalHold,
    previous: before,
    requestedUntil: plan.requestedUntil,
    patch: plan.patch,
  };
}

/** 4xx answers to a lock PATCH that may mean "already locked at least as long" (class UNCONFIRMED, §4.1). */
function mayBeAlreadyLocked(err: unknown): boolean {
  const status = errorStatus(err);
  return status !== undefined && status >= 400 && status < 500 && status !== 401 && status !== 404 && status !== 429;
}

async function lockWithoutRead(
  event: QumuloEvent,
  ref: string,
  plan: LockPlan & { patch: FileLockPatch },
  options: LockOptions,
  ctx: ActionContext,
  now: Date,
  recent: RecentLocks,
): Promise<ActionReport> {
  const patch = plan.patch;
  startMutation(ctx);
  let after;
  try {
    after = await ctx.client.setFileLock(ref, patch, mutationOptions(ctx, event.fileId, [event.path], true));
  } catch (err) {
    if (isNotFound(err)) return { outcome: 'skipped', detail: `${event.path} no longer exists` };
    if (!mayBeAlreadyLocked(err)) throw actionFailure(`lock ${event.path}`, err, { patch }, PRIVILEGE_HINTS.lock);
    // Refused: shortening a retention is an error on Qumulo (its class and status are not
    // documented), so read the lock once and let the plan say whether there was nothing to do.
    let attrs;
    try {
      attrs = await ctx.client.getAttributes(ref, { retrieveLock: true, ...readOptions(ctx) });
    } catch {
      throw actionFailure(`lock ${event.path}`, err, { patch }, PRIVILEGE_HINTS.lock);
    }
    const path = attributesPath(attrs, event.path);
    const facts = { path, fileId: attrs.id ?? event.fileId ?? null };
    if (isDirectoryAttributes(attrs)) return { ...facts, outcome: 'skipped', detail: 'directories cannot be locked (Qumulo locks files only)' };
    const current = planLock(attrs.lock, options, now);
    const before = { retentionPeriod: attrs.lock?.retention_period ?? null, legalHold: attrs.lock?.legal_hold ?? false };
    if (current.patch) throw actionFailure(`lock ${path}`, err, { ...facts, patch }, PRIVILEGE_HINTS.lock);
    recent.remember(ref, before.retentionPeriod, now.getTime());
    return { ...facts, outcome: 'skipped', detail: current.notes.join('; '), ...before, requestedUntil: current.requestedUntil };
  }
  const path = after ? attributesPath(after, event.path) : event.path;
  const fileId = after?.id ?? event.fileId ?? null;
  const lock = after?.lock;
  // The answer normally carries the lock (§4.1). Had the file been locked longer already and
  // Qumulo answered 200 without shortening it (UNCONFIRMED), the answer shows that longer lock.
  // (The common answer repeats the requested end verbatim: no timestamps to parse then.)
  const answeredText = lock?.retention_period ?? null;
  const sameEnd = answeredText !== null && answeredText === patch.retention_period;
  const answered = sameEnd ? null : parseQumuloTimestamp(answeredText);
  const requested = sameEnd ? null : parseQumuloTimestamp(patch.retention_period ?? null);
  if (answered && requested && answered.getTime() > requested.getTime() + 999 && patch.legal_hold === undefined) {
    recent.remember(ref, lock!.retention_period, now.getTime());
    return { path, fileId, outcome: 'skipped', detail: `already locked until ${lock!.retention_period}`, retentionPeriod: lock!.retention_period, legalHold: lock?.legal_hold ?? false, requestedUntil: plan.requestedUntil };
  }
  const retentionPeriod = lock?.retention_period ?? patch.retention_period ?? null;
  recent.remember(ref, retentionPeriod, now.getTime());
  // A plain literal, not `{ ...facts, … }`: that spread and the fields added after it were most of
  // this function's time in --cpu-prof (per-line ticks, bench:actions).
  return {
    path,
    fileId,
    outcome: 'done',
    detail: describeLockPatch(patch, 'past'),
    retentionPeriod,
    legalHold: lock?.legal_hold ?? patch.legal_hold ?? false,
    // Not read first: the watch had just reported the file as added (see docs/actions.md).
    previous: null,
    requestedUntil: plan.requestedUntil,
    patch,
  };
}
