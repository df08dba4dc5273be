// The loop guard: a shared, per-cluster record of what we changed (`GuardCore`: self-write ledger,
// hop chains) and a per-node decision maker (`LoopGuard`: options,
// breakers, counters) that says for each event: passed, suppressed (our own echo) or tripped.
//
// Order of the checks, cheapest and most precise first:
//   1. ledger  — the event is the echo of a mutation we announced: drop and count it;
//   2. breaker — too many actions on this file / by this rule lately: divert;
//   3. hops    — the file's chain of action → unrecognised event → action… is past the limit: divert;
//   4. pass.

import type { QumuloEvent } from '../event';
import type { MutationIntent, MutationListener } from '../qumulo/types';
import { Breaker, type BreakerOptions, type OpenBreaker } from './breaker';
import { ChainTracker, DEFAULT_CHAIN_WINDOW, type ChainOptions, type ChainState, type ChainStep, type ChainWindow } from './chains';
import {
  DEFAULT_MATCH_WINDOW,
  LOCAL_SOURCE,
  SelfWriteLedger,
  type LedgerCapacity,
  type LedgerEntry,
  type LedgerMatchWindow,
  type LedgerStats,
} from './ledger';

export interface IntentRecord {
  intent: MutationIntent;
  /** The intent's file ids (empty when the caller knew only paths). */
  fileIds: readonly string[];
  recordedAt: number;
  source: string;
  entry: LedgerEntry | null;
}

export type IntentObserver = (record: IntentRecord) => void;

/** Publishes local intents elsewhere (the shared Redis ledger); awaited before the mutation is sent. */
export type IntentPublisher = (record: IntentRecord) => Promise<void>;

export interface GuardCoreOptions {
  ledger: Partial<LedgerCapacity>;
  chains: Partial<ChainOptions>;
}

/**
 * Per-cluster state shared by every guard node (and surviving redeploys): the ledger and the
 * chains. Fed by the cluster client's mutation listener and, with a shared ledger, by
 * the intents of peer instances.
 */
export class GuardCore {
  readonly ledger: SelfWriteLedger;
  readonly chains: ChainTracker;
  private readonly observers = new Set<IntentObserver>();
  private readonly publishers = new Set<IntentPublisher>();
  private localIntents = 0;
  private remoteIntents = 0;

  constructor(
    options: Partial<GuardCoreOptions> = {},
    readonly now: () => number = Date.now,
  ) {
    this.ledger = new SelfWriteLedger(options.ledger, now);
    this.chains = new ChainTracker(options.chains, now);
  }

  /** The listener to register with `QumuloClient.addMutationListener`. */
  readonly mutationListener: MutationListener = (intent) => {
    const record = this.recordIntent(intent);
    if (this.publishers.size === 0) return;
    return Promise.all([...this.publishers].map((publish) => publish(record))).then(() => undefined);
  };

  /** Records an intent in the ledger and the chains, and tells the per-node guards. */
  recordIntent(intent: MutationIntent, recordedAt: number = this.now(), source: string = LOCAL_SOURCE): IntentRecord {
    const fileIds = intent.fileIds;
    const entry = this.ledger.record(intent, recordedAt, source);
    this.chains.recordAction({ fileIds, paths: intent.paths }, { kind: intent.kind, at: recordedAt, source });
    if (source === LOCAL_SOURCE) this.localIntents++;
    else this.remoteIntents++;
    const record: IntentRecord = { intent, fileIds, recordedAt, source, entry };
    for (const observe of this.observers) observe(record);
    return record;
  }

  onIntent(observer: IntentObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  addPublisher(publisher: IntentPublisher): () => void {
    this.publishers.add(publisher);
    return () => this.publishers.delete(publisher);
  }

  intentCounts(): { local: number; remote: number } {
    return { local: this.localIntents, remote: this.remoteIntents };
  }
}

export interface LoopGuardOptions {
  /** Events past this many hops in a chain are diverted (AWS Lambda stops after 16). */
  hopLimit: number;
  echo: LedgerMatchWindow;
  chain: ChainWindow;
  /** Actions per file (id, or path when no id is known) per window. */
  fileBreaker: BreakerOptions;
  /** Passed events per rule name (`msg.rules[].name`) per window; threshold 0 = off. */
  ruleBreaker: BreakerOptions;
}

export const DEFAULT_GUARD_OPTIONS: Readonly<LoopGuardOptions> = {
  hopLimit: 16,
  echo: DEFAULT_MATCH_WINDOW,
  chain: DEFAULT_CHAIN_WINDOW,
  fileBreaker: { threshold: 60, windowMs: 60_000, cooldownMs: 60_000 },
  ruleBreaker: { threshold: 0, windowMs: 60_000, cooldownMs: 60_000 },
};

export type TripReason = 'hop-limit' | 'file-breaker' | 'rule-breaker';

export interface EchoInfo {
  kind: string;
  recordedAt: number;
  source: string;
  origin?: string;
  /** How long after the mutation the watcher saw the echo. */
  echoLagMs: number;
}

export type GuardDecision =
  | { verdict: 'passed'; hop: number }
  | { verdict: 'suppressed'; hop: number; echoOf: EchoInfo }
  | {
      verdict: 'tripped';
      hop: number;
      reason: TripReason;
      /** One sentence for the status, the warning and the tripped message. */
      detail: string;
      /** The file's chain (events and actions), oldest first; empty when the file has none. */
      history: ChainStep[];
      breaker: OpenBreaker | null;
    };

export type GuardAlert =
  | { kind: 'hop-limit'; path: string; fileId: string | null; hop: number; detail: string; history: ChainStep[] }
  | { kind: 'breaker-open'; scope: 'file' | 'rule'; key: string; breaker: OpenBreaker; detail: string };

export interface GuardCounters {
  passed: number;
  suppressed: number;
  tripped: number;
  trippedByHops: number;
  trippedByFileBreaker: number;
  trippedByRuleBreaker: number;
}

export interface GuardMetrics extends GuardCounters {
  hopLimit: number;
  intents: { local: number; remote: number };
  ledger: LedgerStats;
  chains: number;
  openBreakers: { scope: 'file' | 'rule'; key: string; count: number; closesAt: number }[];
}

const NO_RULES: readonly string[] = Object.freeze([]);
const PASSED_HOP_1: GuardDecision = Object.freeze({ verdict: 'passed', hop: 1 }) as GuardDecision;

/** One guard node's decisions over a shared `GuardCore`. */
export class LoopGuard {
  readonly options: LoopGuardOptions;
  private readonly fileBreaker: Breaker;
  private readonly ruleBreaker: Breaker;
  private readonly counters: GuardCounters = {
    passed: 0,
    suppressed: 0,
    tripped: 0,
    trippedByHops: 0,
    trippedByFileBreaker: 0,
    trippedByRuleBreaker: 0,
  };
  /** Chains this guard has already warned about (until they start over). */
  private readonly announcedChains = new WeakSet<ChainState>();
  private readonly unsubscribe: () => void;

  constructor(
    readonly core: GuardCore,
    options: Partial<LoopGuardOptions> = {},
    private readonly onAlert: (alert: GuardAlert) => void = () => undefined,
  ) {
    this.options = { ...DEFAULT_GUARD_OPTIONS, ...options };
    this.fileBreaker = new Breaker(this.options.fileBreaker);
    this.ruleBreaker = new Breaker(this.options.ruleBreaker);
    this.unsubscribe = core.onIntent((record) => this.countAction(record));
  }

  /** Decides what to do with one event. `ruleNames` are the filter's matched rules (`msg.rules`). */
  evaluate(event: QumuloEvent, ruleNames: readonly string[] = NO_RULES): GuardDecision {
    const core = this.core;

    const entry = core.ledger.recognise(event, this.options.echo);
    if (entry !== null) {
      this.counters.suppressed++;
      return {
        verdict: 'suppressed',
        hop: core.chains.lookup(event)?.hop ?? 1,
        echoOf: { kind: entry.kind, recordedAt: entry.recordedAt, source: entry.source, origin: entry.origin, echoLagMs: event.receivedAt - entry.recordedAt },
      };
    }

    // The processing clock is needed only by the breakers (a clock read saved on the hot path).
    const now = this.fileBreaker.anyOpen || this.ruleBreaker.enabled ? core.now() : 0;
    const openFile = this.fileBreaker.anyOpen ? this.openFileBreaker(event, now) : null;
    if (openFile !== null) {
      return this.trip(event, 'file-breaker', openFile, `breaker open for ${event.path}: ${openFile.count} actions within ${this.options.fileBreaker.windowMs / 1000} s`);
    }
    if (this.ruleBreaker.anyOpen) {
      for (const rule of ruleNames) {
        const open = this.ruleBreaker.isOpen(rule, now);
        if (open !== null) return this.trip(event, 'rule-breaker', open, `breaker open for rule "${rule}": ${open.count} events within ${this.options.ruleBreaker.windowMs / 1000} s`);
      }
    }

    const { hop, chain } = core.chains.observe(event, this.options.chain);
    if (hop > this.options.hopLimit && chain !== null) {
      const detail = `hop limit ${this.options.hopLimit} reached for ${event.path}: ${chain.actions} actions in a chain our own echoes did not explain`;
      if (!this.announcedChains.has(chain)) {
        this.announcedChains.add(chain);
        this.onAlert({ kind: 'hop-limit', path: event.path, fileId: event.fileId, hop, detail, history: chain.history.slice() });
      }
      return this.trip(event, 'hop-limit', null, detail, chain);
    }
    if (chain !== null) this.announcedChains.delete(chain);

    if (this.ruleBreaker.enabled) {
      for (const rule of ruleNames) {
        const opened = this.ruleBreaker.count(rule, now);
        if (opened !== null) {
          const detail = `breaker opened for rule "${rule}": ${opened.count} events within ${this.options.ruleBreaker.windowMs / 1000} s`;
          this.onAlert({ kind: 'breaker-open', scope: 'rule', key: rule, breaker: opened, detail });
          return this.trip(event, 'rule-breaker', opened, detail, chain ?? undefined);
        }
      }
    }
    this.counters.passed++;
    return hop === 1 ? PASSED_HOP_1 : { verdict: 'passed', hop };
  }

  counts(): GuardCounters {
    return { ...this.counters };
  }

  /** The live counters (read-only view, no copy: for per-message use). */
  get liveCounts(): Readonly<GuardCounters> {
    return this.counters;
  }

  metrics(): GuardMetrics {
    const now = this.core.now();
    return {
      ...this.counts(),
      hopLimit: this.options.hopLimit,
      intents: this.core.intentCounts(),
      ledger: this.core.ledger.getStats(),
      chains: this.core.chains.size,
      openBreakers: [
        ...this.fileBreaker.openBreakers(now).map((b) => ({ scope: 'file' as const, key: b.key, count: b.count, closesAt: b.closesAt })),
        ...this.ruleBreaker.openBreakers(now).map((b) => ({ scope: 'rule' as const, key: b.key, count: b.count, closesAt: b.closesAt })),
      ],
    };
  }

  /** Stops listening to the core's intents (the core itself lives on for the next deploy). */
  close(): void {
    this.unsubscribe();
  }

  private openFileBreaker(event: QumuloEvent, now: number): OpenBreaker | null {
    return (event.fileId !== null ? this.fileBreaker.isOpen('id:' + event.fileId, now) : null) ?? this.fileBreaker.isOpen('path:' + event.path, now);
  }

  /** Counts an action (a recorded intent) against its files for the file breaker. */
  private countAction(record: IntentRecord): void {
    if (!this.fileBreaker.enabled) return;
    const keys = record.fileIds.length > 0 ? record.fileIds.map((id) => 'id:' + id) : record.intent.paths.map((p) => 'path:' + p);
    const at = this.core.now();
    for (const key of keys) {
      const opened = this.fileBreaker.count(key, at);
      if (opened === null) continue;
      const target = record.intent.paths[record.intent.paths.length - 1] ?? key;
      const detail = `breaker opened for ${target}: ${opened.count} actions within ${this.options.fileBreaker.windowMs / 1000} s`;
      this.onAlert({ kind: 'breaker-open', scope: 'file', key, breaker: opened, detail });
    }
  }

  private trip(event: QumuloEvent, reason: TripReason, breaker: OpenBreaker | null, detail: string, chain?: ChainState): GuardDecision {
    this.counters.tripped++;
    if (reason === 'hop-limit') this.counters.trippedByHops++;
    else if (reason === 'file-breaker') this.counters.trippedByFileBreaker++;
    else this.counters.trippedByRuleBreaker++;
    const state = chain ?? this.core.chains.lookup(event);
    return { verdict: 'tripped', hop: state?.hop ?? 1, reason, detail, history: state?.history.slice() ?? [], breaker };
  }
}
