// The qumulo-watch dialog's settings as the core needs them: the watched directory, the
// notification types, gap healing, and the reconnect tuning from settings.js. Each parser throws
// a user-facing message naming the field; an empty field means its default.

import { NOTIFICATION_TYPES, type NotificationType, isNotificationType } from '../event';
import type { CheckpointSettings } from '../heal/healer';
import { isFileId, normalizeAbsolutePath } from '../qumulo/refs';
import { flag } from '../settings';
import { durationSetting } from '../time/duration';
import type { RegistryOptions } from './registry';

/** The dialog's fields that shape the watch (the node's cluster, Redis and name aside). */
export interface WatchSettings {
  path?: unknown;
  recursive?: unknown;
  /** Selected notification types; empty or all 24 = no filter. */
  types?: unknown;
  /** Heal gaps: on for nodes made in the editor; absent in flows older than healing = off. */
  heal?: unknown;
  /** Heal by snapshot diff against rolling checkpoints (default off: walk the tree). */
  checkpoints?: unknown;
  /** Checkpoint interval, e.g. "15min". */
  checkpointInterval?: unknown;
  /** Expiration set on each checkpoint, e.g. "2d". */
  checkpointExpiry?: unknown;
  /** Clock skew / in-flight allowance, e.g. "5s". */
  healTolerance?: unknown;
}

export interface HealSettings {
  checkpoints: CheckpointSettings;
  toleranceMs: number;
}

/** The watched directory: a file id as given, else a normalized absolute path ("/" when empty); throws when invalid. */
export function watchRef(value: unknown): string {
  const raw = String(value ?? '').trim() || '/';
  return isFileId(raw) ? raw : normalizeAbsolutePath(raw);
}

/** Recursive unless switched off. */
export function isRecursive(value: unknown): boolean {
  return value !== false && value !== 'false';
}

/** The selected notification types (a list or comma-separated text); null = all (none or every one selected). */
export function parseTypes(value: unknown): NotificationType[] | null {
  const list: unknown[] = Array.isArray(value) ? value : typeof value === 'string' && value.trim() ? value.split(',') : [];
  const types = [...new Set(list.map((t) => String(t).trim()).filter(isNotificationType))];
  return types.length === 0 || types.length === NOTIFICATION_TYPES.length ? null : types;
}

/**
 * The heal settings of a node, or null when healing is off; throws with a user-facing message.
 * A flow saved before healing existed has no `heal` property: it keeps its old behaviour (off).
 */
export function parseHealSettings(config: WatchSettings): HealSettings | null {
  if (!flag(config.heal, false)) return null;
  const toleranceText = String(config.healTolerance ?? '').trim();
  const toleranceMs = toleranceText === '0' ? 0 : durationSetting(toleranceText, '5s', 'tolerance');
  if (toleranceMs > 600_000) throw new Error('tolerance: at most 10 min');
  if (!flag(config.checkpoints, false)) return { checkpoints: { enabled: false, intervalMs: 0, expiryMs: 0 }, toleranceMs };
  const intervalMs = durationSetting(config.checkpointInterval, '15min', 'checkpoint interval');
  const expiryMs = durationSetting(config.checkpointExpiry, '2d', 'checkpoint expiry');
  if (intervalMs < 30_000) throw new Error('checkpoint interval: at least 30 s');
  if (expiryMs < 2 * intervalMs) throw new Error('checkpoint expiry: at least twice the interval (two checkpoints are kept)');
  return { checkpoints: { enabled: true, intervalMs, expiryMs }, toleranceMs };
}

export type WatchTuning = Pick<RegistryOptions, 'backoffInitialMs' | 'backoffMaxMs' | 'idleTimeoutMs' | 'healthyAfterMs'>;

/**
 * Reconnect tuning from settings.js (`qumuloWatch: {backoffInitialMs, backoffMaxMs, idleTimeoutMs,
 * healthyAfterMs}`); null without it. Keys absent or not a number > 0 stay undefined (the
 * registry's defaults: 1 s, 30 s, 60 s, 10 s).
 */
export function watchTuning(tuning: unknown): WatchTuning | null {
  if (!tuning || typeof tuning !== 'object') return null;
  const pick = (key: string): number | undefined => {
    const value = Number((tuning as Record<string, unknown>)[key]);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  };
  return { backoffInitialMs: pick('backoffInitialMs'), backoffMaxMs: pick('backoffMaxMs'), idleTimeoutMs: pick('idleTimeoutMs'), healthyAfterMs: pick('healthyAfterMs') };
}
