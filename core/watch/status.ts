// What a qumulo-watch node shows and says: its status text (role, stream, healing) and the texts
// of its warnings and logs about gaps, heals and malformed notifications. Pure, so it is tested
// without Node-RED; the node turns `level` into a status dot.

import { displaySafe } from '../display';
import { formatHealProgress } from '../heal/progress';
import type { HealerStatus } from '../heal/healer';
import type { HealResult } from '../heal/types';
import type { LeaseInfo } from '../scale/lease';
import type { MalformedReport } from '../qumulo/sse';
import type { GapRecord, SubscriptionStatus } from '../qumulo/subscription';
import { shortDuration } from '../timing';
import type { BufferOverflow } from './registry';
import type { HealSettings } from './settings';

export interface WatchStatusText {
  level: 'ok' | 'warning' | 'error' | 'connecting' | 'standby';
  text: string;
}

export interface WatchState {
  /** The watched directory as configured (path or file id). */
  ref: string;
  /** Election role (null without an election). */
  role: LeaseInfo | null;
  subscription: SubscriptionStatus | null;
  healer: HealerStatus | null;
  /** Live events received. */
  events: number;
  lastGap: GapRecord | null;
}

/** The node's status: a standby's role, else the stream's state and, while watching, healing and the last gap. */
export function watchStatus(state: WatchState, now = Date.now()): WatchStatusText {
  const role = state.role;
  if (role && role.role !== 'leader') {
    if (role.reason === 'Redis unreachable') return { level: 'connecting', text: 'standby: Redis unreachable' };
    return { level: 'standby', text: `standby${role.holder ? ` (leader ${role.holder})` : ''}` };
  }
  const s = state.subscription;
  const where = s?.watchRoot ?? state.ref;
  if (!s || s.state === 'connecting') return { level: 'connecting', text: `connecting to ${where}` };
  if (s.state === 'watching') {
    const h = state.healer;
    if (h?.state === 'healing') {
      const blindFor = h.since === null ? '' : `${shortDuration(now - h.since)} `;
      // Progress (entries done/~estimate · rate) once the heal has a method; the healer throttles it.
      if (h.progress) return { level: 'ok', text: `healing ${formatHealProgress(h.progress)} (${h.progress.method}, ${blindFor}gap)` };
      return { level: 'ok', text: `healing ${blindFor}gap (${h.method ?? '…'}): ${h.emitted}` };
    }
    if (h?.state === 'failed') return { level: 'warning', text: `heal failed, retrying: ${h.lastError ?? ''}` };
    const base = `watching ${where} (${state.events})`;
    const healed = h?.lastResult?.outcome === 'healed' && h.lastResult.entries > 0 ? ` · healed ${h.lastResult.entries}` : '';
    const gap = state.lastGap ? ` · gap ${shortDuration((state.lastGap.end ?? now) - state.lastGap.start)}` : '';
    return { level: 'ok', text: base + gap + healed };
  }
  if (s.state === 'reconnecting') return { level: 'connecting', text: `reconnecting (${s.attempt}): ${s.failureKind ?? ''}`.trim() };
  if (s.state === 'error') return { level: 'error', text: `${s.failureKind ?? 'error'}: ${s.lastError ?? ''}` };
  return { level: 'error', text: 'closed' };
}

/** The warning when the stream is lost. */
export function disconnectedText(gap: GapRecord): string {
  return displaySafe(`Change-notify stream for ${gap.watchRoot} lost (${gap.reason}: ${gap.detail}); reconnecting. Events after seq ${gap.lastSeqBefore} may be missed until it is back.`);
}

/** The warning when the stream is back after a gap, saying how (and whether) it is healed. */
export function gapText(gap: GapRecord, heal: HealSettings | null, now = Date.now()): string {
  const end = gap.end ?? now;
  const healing = heal ? (heal.checkpoints.enabled ? ' Healing the gap (snapshot diff).' : ' Healing the gap (tree walk).') : '';
  return displaySafe(
    `Change-notify stream for ${gap.watchRoot} is back after ${shortDuration(end - gap.start)} (${gap.reason}). ` +
      `Events between ${new Date(gap.start).toISOString()} and ${new Date(end).toISOString()} may have been lost (the stream cannot resume).${healing}`,
  );
}

/** The log line (healed: level "log") or warning (failed) of one heal result. */
export function healResultText(result: HealResult): { level: 'log' | 'warn'; text: string } {
  const gap = `${shortDuration(result.gap.durationMs)} gap (${result.gap.reason}) of ${result.watchRoot}`;
  if (result.outcome !== 'healed') return { level: 'warn', text: `Healing the ${gap} failed (${result.error ?? 'unknown error'}); retrying` };
  const via = result.fallbackReason ? `${result.method}: ${result.fallbackReason}` : result.method;
  return { level: 'log', text: `Healed the ${gap} by ${via}: ${result.entries} events (${result.duplicates} already delivered live) in ${shortDuration(result.durationMs)}` };
}

/** The error text of a malformed notification (with how many more were held back since the last report). */
export function malformedText(report: MalformedReport, suppressed: number, burst: number, intervalMs: number): string {
  const what = `Malformed change notification #${report.total} (${report.kind}): ${displaySafe(report.detail, 500)}`;
  const more = suppressed > 1 ? ` … and ${suppressed - 1} more since the last report (${report.total} in all; at most ${burst} reports and one summary per ${shortDuration(intervalMs)})` : '';
  return what + more;
}

/** The warning when a restarting node's buffer overflowed. */
export function overflowText(overflow: BufferOverflow): string {
  return `${overflow.dropped} events (seq ${overflow.firstSeq}–${overflow.lastSeq}) were dropped while this node was restarting: the buffer limit was reached.`;
}

/** The log line when this instance starts leading (token) or stands by (null). */
export function roleText(info: LeaseInfo, token: string | null, ref: string): string {
  if (token) return `Leading the watch of ${ref} (lease term ${token})`;
  return `Standing by for the watch of ${ref}: ${info.reason}${info.holder ? ` (leader ${info.holder})` : ''}`;
}
