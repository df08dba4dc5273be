// What the qumulo-loop-guard node adds around LoopGuard, kept here so it is tested without
// Node-RED: its settings (seconds in the dialog, ms in the core), the `msg.guard` it attaches and
// which output a decision goes to, its status text, and rate-limited warnings.

import { displaySafe } from '../display';
import { numberSetting } from '../settings';
import { WindowBudget } from '../timing';
import { DEFAULT_CHAIN_WINDOW } from './chains';
import { DEFAULT_GUARD_OPTIONS, type GuardAlert, type GuardCounters, type GuardDecision, type LoopGuardOptions } from './guard';
import { DEFAULT_MATCH_WINDOW } from './ledger';

/** The dialog's fields (text or numbers; empty means the default). */
export interface GuardSettings {
  hopLimit?: unknown;
  echoWindow?: unknown;
  settle?: unknown;
  chainWindow?: unknown;
  fileThreshold?: unknown;
  fileWindow?: unknown;
  ruleThreshold?: unknown;
  ruleWindow?: unknown;
  cooldown?: unknown;
  remoteSkew?: unknown;
}

/** Builds the core options from the dialog's fields; throws naming the field that is wrong. */
export function guardOptionsFromSettings(config: GuardSettings): LoopGuardOptions {
  const seconds = (value: unknown, fallbackMs: number, min: number, what: string) => numberSetting(value, fallbackMs / 1000, { what, min }) * 1000;
  const count = (value: unknown, fallback: number, min: number, what: string) => Math.floor(numberSetting(value, fallback, { what, min }));
  const defaults = DEFAULT_GUARD_OPTIONS;
  const cooldownMs = seconds(config.cooldown, defaults.fileBreaker.cooldownMs, 1, 'cooldown');
  return {
    hopLimit: count(config.hopLimit, defaults.hopLimit, 1, 'hop limit'),
    echo: {
      echoWindowMs: seconds(config.echoWindow, DEFAULT_MATCH_WINDOW.echoWindowMs, 0.1, 'echo window'),
      settleMs: seconds(config.settle, DEFAULT_MATCH_WINDOW.settleMs, 0, 'settle time'),
      localSkewMs: DEFAULT_MATCH_WINDOW.localSkewMs,
      remoteSkewMs: numberSetting(config.remoteSkew, DEFAULT_MATCH_WINDOW.remoteSkewMs, { what: 'remote skew', min: 0 }),
    },
    chain: { chainWindowMs: seconds(config.chainWindow, DEFAULT_CHAIN_WINDOW.chainWindowMs, 0.1, 'chain window'), skewMs: DEFAULT_CHAIN_WINDOW.skewMs },
    fileBreaker: {
      threshold: count(config.fileThreshold, defaults.fileBreaker.threshold, 0, 'file threshold'),
      windowMs: seconds(config.fileWindow, defaults.fileBreaker.windowMs, 1, 'file window'),
      cooldownMs,
    },
    ruleBreaker: {
      threshold: count(config.ruleThreshold, defaults.ruleBreaker.threshold, 0, 'rule threshold'),
      windowMs: seconds(config.ruleWindow, defaults.ruleBreaker.windowMs, 1, 'rule window'),
      cooldownMs,
    },
  };
}

/** What the guard adds to every message it sends (`msg.guard`). */
export interface GuardMessageInfo {
  verdict: GuardDecision['verdict'];
  hop: number;
  hopLimit: number;
  reason?: string;
  detail?: string;
  history?: unknown[];
  breaker?: unknown;
  echoOf?: unknown;
}

/** Where a decision goes: output 0 (passed) or 1 (tripped, and suppressed echoes if asked), or nowhere. */
export function routeDecision(decision: GuardDecision, hopLimit: number, emitSuppressed: boolean): { output: 0 | 1; guard: GuardMessageInfo } | null {
  if (decision.verdict === 'passed') return { output: 0, guard: { verdict: 'passed', hop: decision.hop, hopLimit } };
  if (decision.verdict === 'tripped') {
    const { hop, reason, detail, history, breaker } = decision;
    return { output: 1, guard: { verdict: 'tripped', hop, hopLimit, reason, detail, history, ...(breaker ? { breaker } : {}) } };
  }
  if (!emitSuppressed) return null;
  const { hop, echoOf } = decision;
  return { output: 1, guard: { verdict: 'suppressed', hop, hopLimit, reason: 'echo', echoOf, detail: `echo of our own ${echoOf.kind} (${echoOf.echoLagMs} ms after it was sent)` } };
}

/** A trip stays in the status this long, so a human can read it. */
export const TRIP_STATUS_MS = 10_000;
/** At most this many warnings per minute; the rest are counted in one summary line. */
export const WARNINGS_PER_MINUTE = 10;

export interface GuardStatus {
  level: 'ok' | 'warning' | 'error';
  text: string;
}

/**
 * The guard node's state for humans: the last trip, the shared ledger's last error, and its
 * warnings, rate-limited so a storm of trips cannot flood the log.
 */
export class GuardMonitor {
  lastTrip: { at: number; text: string } | null = null;
  sharedError: string | null = null;
  private readonly budget = new WindowBudget(WARNINGS_PER_MINUTE, 60_000);

  constructor(private readonly warnSink: (text: string) => void) {}

  warn(text: string, now = Date.now()): void {
    const allowed = this.budget.take((dropped) => this.warnSink(`loop guard: ${dropped} more warnings in the last minute (see the tripped output and metrics)`), now);
    if (allowed) this.warnSink(displaySafe(text));
  }

  tripped(alert: GuardAlert, now = Date.now()): void {
    this.lastTrip = { at: now, text: displaySafe(alert.kind === 'hop-limit' ? `hop limit: ${alert.path}` : `breaker: ${alert.key.replace(/^(id|path):/, '')}`) };
    this.warn(`loop guard: ${alert.detail}`, now);
  }

  sharedFailed(error: Error): void {
    this.sharedError = error.message;
    this.warn(`loop guard: shared ledger (Redis) error, deciding with the local ledger: ${error.message}`);
  }

  /** `sharedFailing`: no shared ledger although one is configured, or it fails now. */
  status(counts: GuardCounters, sharedFailing: boolean, now = Date.now()): GuardStatus {
    const text = `${counts.passed} passed · ${counts.suppressed} echoes · ${counts.tripped} tripped`;
    if (this.lastTrip && now - this.lastTrip.at < TRIP_STATUS_MS) return { level: 'warning', text: `${this.lastTrip.text} · ${text}` };
    if (this.sharedError !== null && sharedFailing) return { level: 'error', text: `shared ledger: ${this.sharedError}` };
    return { level: counts.tripped > 0 ? 'warning' : 'ok', text };
  }

  lastTripInfo(): { at: string; text: string } | null {
    return this.lastTrip ? { at: new Date(this.lastTrip.at).toISOString(), text: this.lastTrip.text } : null;
  }
}
