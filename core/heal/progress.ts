// Progress of a long heal (issue 17.6): entries looked at so far, an estimate of how many there are,
// and the rate — reported through a callback at most a few times a second, so a node status that
// shows it is not redrawn for every directory page.
//
// Where the estimate comes from (only what the cluster answers cheaply):
//   walk, recursive:     the watched directory's aggregates (`GET /v1/files/{ref}/aggregates/`:
//                        total_files + total_directories + total_symlinks + total_other — field
//                        names and number-or-string values UNCONFIRMED, see docs/gap-healing.md);
//   walk, not recursive: the directory's `child_count` (its attributes, §2);
//   diff:                no count is offered for a tree diff — no estimate, only done and rate.
// Whatever is missing or unreadable means "no estimate"; it never fails the heal.

import type { QumuloClient } from '../qumulo/client';
import type { HealMethod } from './types';

export interface HealProgress {
  method: HealMethod;
  /** Walk: directory entries listed; diff: diff entries read. */
  done: number;
  /** About how many entries the heal will look at; null when the cluster offers no cheap count. */
  estimate: number | null;
  /** Entries per second since the heal started. */
  perSecond: number;
  startedAt: number;
}

/** At most this often (ms) a running heal reports progress (the last report always goes out). */
export const DEFAULT_PROGRESS_INTERVAL_MS = 250;

/** Counts a heal's entries and reports them, throttled. */
export class ProgressMeter {
  private done = 0;
  private estimate: number | null = null;
  private lastReport = Number.NEGATIVE_INFINITY;
  private readonly startedAt: number;

  constructor(
    private readonly method: HealMethod,
    private readonly report: (progress: HealProgress) => void,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = DEFAULT_PROGRESS_INTERVAL_MS,
  ) {
    this.startedAt = now();
  }

  /** `n` more entries looked at. */
  add(n: number): void {
    if (n <= 0) return;
    this.done += n;
    if (this.now() - this.lastReport >= this.intervalMs) this.flush();
  }

  setEstimate(estimate: number | null): void {
    this.estimate = estimate;
    this.flush();
  }

  /** Reports now (the end of a heal, a new estimate). */
  flush(): void {
    this.lastReport = this.now();
    try {
      this.report(this.snapshot());
    } catch {
      // a failing listener must not fail the heal
    }
  }

  snapshot(): HealProgress {
    const seconds = (this.now() - this.startedAt) / 1000;
    // The estimate is a lower bound of what is left once the walk has gone past it (files added).
    const estimate = this.estimate === null ? null : Math.max(this.estimate, this.done);
    return { method: this.method, done: this.done, estimate, perSecond: seconds > 0 ? this.done / seconds : 0, startedAt: this.startedAt };
  }
}

/** A count the wire may give as a number or a decimal string (Qumulo sends 64-bit numbers as strings). */
function count(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** Entries below a directory from its aggregates, or null when the answer has no usable count. */
export function entriesFromAggregates(aggregates: unknown): number | null {
  if (typeof aggregates !== 'object' || aggregates === null) return null;
  const a = aggregates as Record<string, unknown>;
  const files = count(a.total_files);
  const directories = count(a.total_directories);
  if (files === null && directories === null) return null;
  return (files ?? 0) + (directories ?? 0) + (count(a.total_symlinks) ?? 0) + (count(a.total_other) ?? 0);
}

/**
 * About how many entries a walk of `root` lists, or null (not offered, not allowed, unreadable).
 * One request either way: the aggregates (recursive) or the attributes (`child_count`).
 */
export async function estimateWalk(client: QumuloClient, root: string, recursive: boolean, signal?: AbortSignal): Promise<number | null> {
  try {
    if (!recursive) return count((await client.getAttributes(root, { signal })).child_count);
    return entriesFromAggregates(await client.aggregates(root, { signal }));
  } catch {
    return null;
  }
}

/** "12,400/~50,000 · 3.1k/s" (no estimate: "12,400 · 3.1k/s"). */
export function formatHealProgress(progress: HealProgress): string {
  const done = progress.done.toLocaleString('en-US');
  const of = progress.estimate === null ? '' : `/~${progress.estimate.toLocaleString('en-US')}`;
  return `${done}${of} · ${formatRate(progress.perSecond)}`;
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1_000_000) return `${(perSecond / 1_000_000).toFixed(1)}M/s`;
  if (perSecond >= 1_000) return `${(perSecond / 1_000).toFixed(1)}k/s`;
  return `${Math.round(perSecond)}/s`;
}
