// GapHealer: makes up for the notifications one watch consumer (a qumulo-watch node) may have
// missed. The change-notify stream cannot resume, so whenever the watch was blind — the stream
// ended, failed, overflowed, was refused (401), Node-RED restarted, or the node was removed and
// added again — the healer knows the window and, once the stream is back, heals it:
//
//   diff: with checkpoints on, take a snapshot now and page through its tree diff against the last
//         checkpoint taken before the window (exact: creates, modifications, deletions, renames);
//   walk: otherwise (or when no checkpoint is usable), list the tree and report entries created or
//         modified inside the window (no deletions).
//
// Synthetic events (`resync: true`) go to `emit`; each heal ends with one HealResult. Live events
// keep flowing during a heal; what the live stream already delivered is not emitted again (see
// dedup.ts). The "last healthy" marker (marker.ts) makes restarts visible. Pure core: no Node-RED.

import { createHash } from 'node:crypto';
import { type NotificationType, type QumuloEvent, normalizeDirPath } from '../event';
import type { QumuloClient } from '../qumulo/client';
import { isAccessDenied, isNotFound } from '../qumulo/errors';
import type { GapRecord, SubscriptionStatus } from '../qumulo/subscription';
import { CheckpointKeeper, CHECKPOINT_PREFIX } from './checkpoints';
import { HealAbortedError } from './concurrency';
import { type HealTally, healByDiff } from './diff';
import { LiveLedger } from './ledger';
import { type MarkerPersistence, type MarkerRecord, MarkerStore } from './marker';
import { estimateWalk, type HealProgress, ProgressMeter } from './progress';
import type { BlindReason, BlindWindow, CheckpointRef, HealMethod, HealResult, WatchScope } from './types';
import { healByWalk } from './walk';

export interface CheckpointSettings {
  enabled: boolean;
  /** How often a new checkpoint is taken while the stream is healthy. */
  intervalMs: number;
  /** Expiration set on each checkpoint snapshot. */
  expiryMs: number;
}

export type HealerState = 'off' | 'idle' | 'blind' | 'healing' | 'failed';

export interface HealerStatus {
  state: HealerState;
  /** Blind since (epoch ms) while blind, healing or failed. */
  since: number | null;
  method: HealMethod | null;
  /** Synthetic events emitted so far by the running heal. */
  emitted: number;
  /** Entries looked at, estimate and rate of the running heal (null between heals). */
  progress: HealProgress | null;
  checkpoints: number;
  lastResult: HealResult | null;
  lastError: string | null;
}

export interface GapHealerOptions {
  /** The cluster client to use (it may change when the cluster config does). */
  client: () => QumuloClient;
  watchId: string;
  /** Identity of the consumer (the Node-RED node id): markers and checkpoints are per consumer. */
  consumerId: string;
  /** Absolute watched directory; null while unknown (a watch by file id learns it on connect). */
  watchRoot: string | null;
  recursive: boolean;
  types: readonly NotificationType[] | null;
  /** Where the marker lives (e.g. Node-RED's userDir); null = not persisted (no restart healing). */
  stateDirectory: string | null;
  /** Where markers live instead of stateDirectory (e.g. Redis, shared by the instances of a scale-out). */
  markerStore?: MarkerPersistence;
  checkpoints?: CheckpointSettings;
  /** Clock skew and in-flight notifications allowance (default 5 s). */
  toleranceMs?: number;
  /** After a stream end or overflow the cluster may have dropped events before closing: look back this far (default 60 s). */
  overflowLookbackMs?: number;
  /** Directory listings in flight during a walk (default 4). */
  walkConcurrency?: number;
  /** Attribute lookups in flight during a diff (default 8). */
  lookupConcurrency?: number;
  pageSize?: number;
  /** How often the marker is advanced while healthy (default 5 s). */
  markerIntervalMs?: number;
  /** First retry delay of a failed heal (default 2 s; doubles up to retryMaxMs, default 60 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  ledgerPaths?: number;
  now?: () => number;
  /** seq of the next synthetic event (the subscription's numbering). */
  nextSeq(): number;
  emit(events: QumuloEvent[]): void;
  onResult(result: HealResult): void;
  onStatus?(status: HealerStatus): void;
  /** Progress of a running heal, at most every `progressIntervalMs` (default 250 ms) and at its end. */
  onProgress?(progress: HealProgress): void;
  progressIntervalMs?: number;
  onWarning?(text: string): void;
}

interface PendingWindow {
  start: number;
  /** When the stream was back; null while it is not. */
  end: number | null;
  reason: BlindReason;
  detail: string;
}

const DEFAULT_TOLERANCE_MS = 5_000;
const DEFAULT_OVERFLOW_LOOKBACK_MS = 60_000;
const DEFAULT_MARKER_INTERVAL_MS = 5_000;
const CLOSE_CLEANUP_TIMEOUT_MS = 10_000;

/** Short stable id of a watch consumer, used in snapshot names: `qumulo-flow-checkpoint-<healId>`. */
export function healIdFor(watchId: string, consumerId: string): string {
  return createHash('sha256').update(`${watchId}\u0000${consumerId}`).digest('hex').slice(0, 12);
}

export class GapHealer {
  readonly healId: string;
  readonly checkpointSuffix: string;
  private readonly options: GapHealerOptions;
  private readonly now: () => number;
  private readonly toleranceMs: number;
  private readonly scope: WatchScope;
  private ledger: LiveLedger;
  private readonly keeper: CheckpointKeeper | null;
  private readonly markers: MarkerPersistence | null;
  private readonly abort = new AbortController();

  private coveredUntil: number;
  private pending: PendingWindow | null = null;
  private healingWindow: BlindWindow | null = null;
  private streamUp = false;
  private started = false;
  private closed = false;
  private work: Promise<void> | null = null;
  private workRequested = false;
  private ready: Promise<void> = Promise.resolve();
  private checkpointNeeded = false;
  /** After a failed checkpoint, not before this time (no hammering a cluster that refuses). */
  private nextCheckpointAttempt = 0;
  private watchRootKnown: boolean;
  private retryDelayMs: number;
  private retryTimer: NodeJS.Timeout | null = null;
  private markerTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private state: HealerState = 'idle';
  private currentMethod: HealMethod | null = null;
  private emittedInHeal = 0;
  private progress: HealProgress | null = null;
  private activeMeter: ProgressMeter | null = null;
  private lastResult: HealResult | null = null;
  private lastError: string | null = null;

  constructor(options: GapHealerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.toleranceMs = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
    this.healId = healIdFor(options.watchId, options.consumerId);
    this.checkpointSuffix = CHECKPOINT_PREFIX + this.healId;
    this.scope = {
      watchId: options.watchId,
      watchRoot: options.watchRoot ? normalizeDirPath(options.watchRoot) : '/',
      recursive: options.recursive,
      types: options.types && options.types.length > 0 ? new Set(options.types) : null,
    };
    this.ledger = new LiveLedger(this.now(), options.ledgerPaths);
    this.keeper = options.checkpoints?.enabled
      ? new CheckpointKeeper({
          client: options.client,
          sourcePath: () => this.scope.watchRoot,
          suffix: this.checkpointSuffix,
          expiryMs: options.checkpoints.expiryMs,
          now: this.now,
        })
      : null;
    this.markers = options.markerStore ?? (options.stateDirectory ? new MarkerStore(options.stateDirectory) : null);
    this.coveredUntil = this.now();
    this.retryDelayMs = options.retryInitialMs ?? 2_000;
    this.watchRootKnown = options.watchRoot !== null;
  }

  get status(): HealerStatus {
    const blindSince = this.healingWindow?.start ?? this.pending?.start ?? null;
    return {
      state: this.state,
      since: this.state === 'idle' ? null : blindSince,
      method: this.currentMethod,
      emitted: this.emittedInHeal,
      progress: this.progress,
      checkpoints: this.keeper?.all.length ?? 0,
      lastResult: this.lastResult,
      lastError: this.lastError,
    };
  }

  /** Checkpoints alive (oldest first); empty with checkpoints off. */
  get checkpoints(): readonly CheckpointRef[] {
    return this.keeper?.all ?? [];
  }

  /** Path of the persisted marker, null when not persisted. */
  get markerFile(): string | null {
    return this.markers ? this.markers.fileFor(this.options.watchId, this.options.consumerId) : null;
  }

  /**
   * Starts the healer. `resumed`: the watch registry kept this consumer's events while it was away
   * (a deploy restarted the node) — then only a heal the previous instance left unfinished is due.
   * Otherwise a marker left behind means the watch was blind since it was written.
   */
  start(options: { resumed: boolean }): void {
    if (this.started || this.closed) return;
    this.started = true;
    let record: MarkerRecord | null = null;
    let adopted = false;
    if (this.markers) {
      try {
        const loaded = this.markers.load(this.options.watchId, this.options.consumerId);
        if (loaded.problem) this.warn(`heal marker ignored: ${loaded.problem}; a gap before this start cannot be healed`);
        record = loaded.record;
        if (!record) {
          record = this.markers.adoptRemoved(this.options.watchId);
          adopted = record !== null;
        }
      } catch (err) {
        this.warn(`heal marker unreadable: ${message(err)}`);
      }
    }
    // Gaps already reported to this instance (buffered notices drained before start) are kept:
    // the marker's window is merged into them.
    const streamBack = this.streamUp ? this.now() : null;
    const merge = (start: number, reason: BlindReason, detail: string) => {
      this.pending = mergeWindows({ start, end: streamBack, reason, detail }, this.pending);
      if (this.pending && this.pending.end === null && streamBack !== null) this.pending.end = streamBack;
    };
    if (record) {
      if (!adopted && this.keeper) this.keeper.restore(record.checkpoints);
      if (record.pending) merge(Math.min(record.pending.start, record.coveredUntil), record.pending.reason, record.pending.detail);
      else if (adopted || record.removed) merge(record.coveredUntil, 're-added', 'the watch node was removed and added again');
      else if (!options.resumed) merge(record.coveredUntil, 'restart', 'Node-RED (or the watch) was not running');
      this.coveredUntil = Math.min(this.coveredUntil, record.coveredUntil);
    }
    this.state = this.pending ? 'blind' : 'idle';
    this.saveMarker();
    const markerEvery = this.options.markerIntervalMs ?? DEFAULT_MARKER_INTERVAL_MS;
    this.markerTimer = setInterval(() => this.tick(), markerEvery);
    this.markerTimer.unref();
    if (this.keeper) {
      const keeper = this.keeper;
      this.ready = keeper.reconcile(this.abort.signal).catch((err: unknown) => {
        if (!this.closed) this.warn(`checkpoints could not be listed (${message(err)}); they will be checked again on the next checkpoint`);
      });
      this.checkpointTimer = setInterval(() => this.requestWork(), Math.max(1_000, this.options.checkpoints!.intervalMs));
      this.checkpointTimer.unref();
    }
    this.publishStatus();
    this.requestWork();
  }

  /** Every live event the consumer receives (synthetic ones are ignored). */
  onEvent(event: QumuloEvent): void {
    this.ledger.record(event);
  }

  onStatus(status: SubscriptionStatus): void {
    if (status.watchRoot && !this.watchRootKnown) {
      this.scope.watchRoot = normalizeDirPath(status.watchRoot);
      this.watchRootKnown = true;
    }
    if (status.state === 'watching') {
      if (!this.streamUp) {
        this.streamUp = true;
        if (this.pending && this.pending.end === null) this.pending.end = this.now();
      }
      this.requestWork();
    } else {
      this.streamUp = false;
    }
  }

  /** The stream was lost: blind from `gap.start`. */
  onDisconnected(gap: GapRecord): void {
    this.streamUp = false;
    this.openWindow(gap.start, gap.reason, gap.detail, null);
  }

  /** The stream is back after `gap`: heal it. */
  onGap(gap: GapRecord): void {
    this.openWindow(gap.start, gap.reason, gap.detail, gap.end ?? this.now());
    this.streamUp = true;
    this.requestWork();
  }

  /**
   * Events were dropped on the way to this consumer (e.g. the registry's buffer overflowed while a
   * deploy restarted the node). Without `start`, blind since the last covered instant.
   */
  onEventsLost(reason: BlindReason, detail: string, start?: number): void {
    this.openWindow(start ?? this.coveredUntil, reason, detail, this.streamUp ? this.now() : null);
    this.requestWork();
  }

  /** Resolves once no heal or checkpoint work is running or due (tests, shutdown). */
  async settled(): Promise<void> {
    for (;;) {
      await this.ready;
      const work = this.work;
      if (!work) return;
      await work;
    }
  }

  /**
   * Stops the healer. `removed`: the node was deleted or disabled — its checkpoints are deleted and
   * the marker says so (a node added again for the same watch heals from here). Otherwise (deploy,
   * shutdown) checkpoints stay and the marker records what is covered.
   */
  async close(removed: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    if (this.markerTimer) clearInterval(this.markerTimer);
    this.abort.abort();
    await this.work?.catch(() => undefined);
    await this.ready;
    if (this.streamUp && !this.pending && !this.healingWindow) this.coveredUntil = Math.max(this.coveredUntil, this.now());
    if (removed && this.keeper) {
      try {
        await this.keeper.removeAll(AbortSignal.timeout(CLOSE_CLEANUP_TIMEOUT_MS));
      } catch (err) {
        this.warn(`checkpoint snapshots (${this.checkpointSuffix}) could not be deleted: ${message(err)}; they expire by themselves`);
      }
    }
    this.saveMarker(removed);
  }

  // ----- internals ------------------------------------------------------------------------------

  private openWindow(start: number, reason: BlindReason, detail: string, end: number | null): void {
    if (this.pending) {
      // The same gap reported again (disconnected, then back) may know better why: keep the latest.
      if (start <= this.pending.start) {
        this.pending.start = start;
        this.pending.reason = reason;
        this.pending.detail = detail;
      }
      this.pending.end = end;
    } else {
      this.pending = { start, end, reason, detail };
    }
    if (this.state !== 'healing' && this.state !== 'failed') this.state = 'blind';
    this.saveMarker();
    this.publishStatus();
  }

  /** Runs due work (heal, else checkpoint) one piece at a time. */
  private requestWork(): void {
    if (this.closed || !this.started) return;
    if (this.work) {
      this.workRequested = true;
      return;
    }
    this.work = (async () => {
      await this.ready;
      do {
        this.workRequested = false;
        if (this.closed) break;
        if (this.healDue()) await this.healPending();
        else if (this.checkpointDue()) await this.takeCheckpoint();
      } while (this.workRequested || this.healDue() || this.checkpointDue());
    })()
      .catch((err: unknown) => {
        if (!(err instanceof HealAbortedError) && !this.closed) this.warn(`heal work failed: ${message(err)}`);
      })
      .finally(() => {
        this.work = null;
      });
  }

  private healDue(): boolean {
    return !this.closed && this.streamUp && this.retryTimer === null && this.pending !== null && this.pending.end !== null;
  }

  private checkpointDue(): boolean {
    if (!this.keeper || this.closed || !this.streamUp || this.pending || this.retryTimer) return false;
    if (this.now() < this.nextCheckpointAttempt) return false;
    if (this.checkpointNeeded) return true;
    const newest = this.keeper.all[this.keeper.all.length - 1];
    return !newest || this.now() - newest.takenAt >= this.options.checkpoints!.intervalMs;
  }

  private async takeCheckpoint(): Promise<void> {
    const keeper = this.keeper!;
    try {
      await keeper.take(null, this.abort.signal);
      this.checkpointNeeded = false;
      this.saveMarker();
      this.publishStatus();
    } catch (err) {
      if (this.closed) return;
      this.checkpointNeeded = false;
      this.nextCheckpointAttempt = this.now() + this.options.checkpoints!.intervalMs;
      const hint = isAccessDenied(err) ? ' (the user needs PRIVILEGE_SNAPSHOT_WRITE; gaps are healed by walking the tree until then)' : '';
      this.warn(`checkpoint snapshot failed: ${message(err)}${hint}`);
    }
  }

  private async healPending(): Promise<void> {
    const pending = this.pending!;
    const window: BlindWindow = { start: pending.start, end: pending.end ?? this.now(), reason: pending.reason, detail: pending.detail };
    this.pending = null;
    this.healingWindow = window;
    this.state = 'healing';
    this.emittedInHeal = 0;
    this.publishStatus();
    const result = await this.healOnce(window);
    this.healingWindow = null;
    this.currentMethod = null;
    this.progress = null;
    this.activeMeter = null;
    if (this.closed) {
      // Cut short by a deploy or shutdown: the marker keeps the window, the next start heals it.
      this.pending = mergeWindows(window, this.pending);
      return;
    }
    this.lastResult = result;
    if (result.outcome === 'failed') {
      this.pending = mergeWindows(window, this.pending);
      this.lastError = result.error ?? 'heal failed';
      this.state = 'failed';
      this.scheduleRetry();
    } else {
      this.retryDelayMs = this.options.retryInitialMs ?? 2_000;
      this.lastError = null;
      if (!this.pending) this.coveredUntil = Math.max(this.coveredUntil, this.now());
      this.state = this.pending ? 'blind' : 'idle';
      this.pruneLedger();
    }
    this.saveMarker();
    this.publishStatus();
    try {
      this.options.onResult(result);
    } catch (err) {
      this.warn(`heal result handler failed: ${message(err)}`);
    }
  }

  private scheduleRetry(): void {
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.options.retryMaxMs ?? 60_000, this.retryDelayMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.requestWork();
    }, delay);
    this.retryTimer.unref();
  }

  private async healOnce(window: BlindWindow): Promise<HealResult> {
    const startedAt = this.now();
    // After a stream end or overflow the cluster may have been dropping notifications for a while
    // before it closed the stream: look further back, and diff against the oldest checkpoint.
    const mayHaveDropped = window.reason === 'stream-end' || window.reason === 'overflow';
    const lookback = mayHaveDropped ? Math.max(this.toleranceMs, this.options.overflowLookbackMs ?? DEFAULT_OVERFLOW_LOOKBACK_MS) : this.toleranceMs;
    const lookedFrom = window.start - lookback;
    let method: HealMethod = 'walk';
    let fallbackReason: string | undefined;
    let baseline: CheckpointRef | null = null;
    let snapshot: CheckpointRef | null = null;
    const base = {
      client: this.options.client(),
      scope: { ...this.scope },
      window,
      lookedFrom,
      toleranceMs: this.toleranceMs,
      ledger: this.ledger,
      pageSize: this.options.pageSize,
      signal: this.abort.signal,
      nextSeq: this.options.nextSeq,
      emit: (events: QumuloEvent[]) => {
        this.emittedInHeal += events.length;
        this.options.emit(events);
        this.publishStatus();
      },
    };
    try {
      let tally: HealTally | null = null;
      if (this.keeper) {
        baseline = this.keeper.baselineFor(window.start - this.toleranceMs, mayHaveDropped);
        if (!baseline) fallbackReason = 'no checkpoint taken before the gap';
        else {
          try {
            snapshot = await this.keeper.take(baseline, this.abort.signal);
          } catch (err) {
            if (!isAccessDenied(err) && !isNotFound(err)) throw err;
            fallbackReason = `snapshot failed: ${message(err)}`;
          }
        }
        if (baseline && snapshot) {
          method = 'diff';
          this.currentMethod = 'diff';
          this.publishStatus();
          try {
            const progress = this.meter('diff');
            tally = await healByDiff({ ...base, baseline, snapshot, concurrency: this.options.lookupConcurrency, progress });
            progress.flush();
          } catch (err) {
            // The checkpoint vanished (expired, deleted by an admin) before the diff was read.
            if (!isNotFound(err) || this.emittedInHeal > 0) throw err;
            fallbackReason = `snapshot diff failed: ${message(err)}`;
            method = 'walk';
          }
        }
        if (method === 'walk') this.checkpointNeeded = true;
      }
      if (tally === null) {
        this.currentMethod = 'walk';
        this.publishStatus();
        const progress = this.meter('walk');
        // The estimate is one cheap call beside the walk; the walk does not wait for it.
        void estimateWalk(base.client, this.scope.watchRoot, this.scope.recursive, this.abort.signal).then((estimate) => {
          if (estimate !== null && this.activeMeter === progress) progress.setEstimate(estimate);
        });
        tally = await healByWalk({ ...base, concurrency: this.options.walkConcurrency, progress });
        progress.flush();
      }
      return this.result(window, lookedFrom, method, startedAt, tally, fallbackReason, baseline, snapshot);
    } catch (err) {
      const failed = this.result(window, lookedFrom, method, startedAt, null, fallbackReason, baseline, snapshot);
      failed.outcome = 'failed';
      failed.error = message(err);
      return failed;
    }
  }

  private result(
    window: BlindWindow,
    lookedFrom: number,
    method: HealMethod,
    startedAt: number,
    tally: HealTally | null,
    fallbackReason: string | undefined,
    baseline: CheckpointRef | null,
    snapshot: CheckpointRef | null,
  ): HealResult {
    const finishedAt = this.now();
    const result: HealResult = {
      watchId: this.scope.watchId,
      watchRoot: this.scope.watchRoot,
      outcome: 'healed',
      method,
      gap: {
        start: new Date(window.start).toISOString(),
        end: new Date(window.end).toISOString(),
        durationMs: Math.max(0, window.end - window.start),
        reason: window.reason,
        detail: window.detail,
        lookedFrom: new Date(lookedFrom).toISOString(),
      },
      entries: tally?.entries ?? this.emittedInHeal,
      counts: tally?.counts ?? { created: 0, modified: 0, deleted: 0 },
      found: tally?.found ?? 0,
      duplicates: tally?.duplicates ?? 0,
      ignored: tally?.ignored ?? 0,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      durationMs: finishedAt - startedAt,
    };
    if (fallbackReason) result.fallbackReason = fallbackReason;
    if (tally?.scanned !== undefined) result.scanned = tally.scanned;
    if (method === 'diff' && baseline && snapshot) {
      result.baseline = { id: baseline.id, name: baseline.name, timestamp: baseline.timestamp };
      result.snapshot = { id: snapshot.id, name: snapshot.name, timestamp: snapshot.timestamp };
    }
    return result;
  }

  /** A progress meter for a heal that starts now: its reports become the status' `progress`. */
  private meter(method: HealMethod): ProgressMeter {
    const meter = new ProgressMeter(
      method,
      (progress) => {
        if (this.closed) return;
        this.progress = progress;
        this.options.onProgress?.(progress);
        this.publishStatus();
      },
      this.now,
      this.options.progressIntervalMs,
    );
    this.progress = meter.snapshot();
    this.activeMeter = meter;
    return meter;
  }

  /** Marker tick: while healthy the watch is covered up to now; the ledger forgets what no heal needs. */
  private tick(): void {
    if (this.closed) return;
    if (this.streamUp && !this.pending && !this.healingWindow) {
      this.coveredUntil = Math.max(this.coveredUntil, this.now());
      this.pruneLedger();
      this.saveMarker();
    }
  }

  private pruneLedger(): void {
    const lookback = Math.max(this.toleranceMs, this.options.overflowLookbackMs ?? DEFAULT_OVERFLOW_LOOKBACK_MS);
    const oldestCheckpoint = this.keeper?.all[0]?.takenAt ?? Number.POSITIVE_INFINITY;
    const before = Math.min(oldestCheckpoint, this.now() - lookback) - 2 * this.toleranceMs;
    if (before > this.ledger.since) this.ledger.prune(before);
  }

  private saveMarker(removed = false): void {
    if (!this.markers || !this.started) return;
    const pending = mergeWindows(this.healingWindow, this.pending);
    const record: MarkerRecord = {
      version: 1,
      watchId: this.options.watchId,
      consumerId: this.options.consumerId,
      watchRoot: this.scope.watchRoot,
      coveredUntil: this.coveredUntil,
      pending: pending ? { start: pending.start, reason: pending.reason, detail: pending.detail } : null,
      removed,
      checkpoints: removed ? [] : [...(this.keeper?.all ?? [])],
      updatedAt: this.now(),
    };
    try {
      this.markers.save(record);
    } catch (err) {
      this.warn(`heal marker could not be written to ${this.markerFile}: ${message(err)}`);
    }
  }

  private publishStatus(): void {
    try {
      this.options.onStatus?.(this.status);
    } catch {
      // the adapter reports its own problems
    }
  }

  private warn(text: string): void {
    try {
      this.options.onWarning?.(text);
    } catch {
      // ditto
    }
  }
}

/** The union of two blind windows (earliest start; open while either is open). */
function mergeWindows(a: { start: number; end: number | null; reason: BlindReason; detail: string } | null, b: PendingWindow | null): PendingWindow | null {
  if (!a) return b ? { ...b } : null;
  if (!b) return { start: a.start, end: a.end, reason: a.reason, detail: a.detail };
  const first = a.start <= b.start ? a : b;
  return { start: first.start, end: b.end, reason: first.reason, detail: first.detail };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
