// Status dots used by every qumulo-flow node: yellow ring = connecting/reconnecting,
// green dot = connected/working, red ring = error. Texts are short: the editor truncates them.

export interface StatusDot {
  fill: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape: 'ring' | 'dot';
  text: string;
}

import { displaySafe } from '../../core/display';

const MAX_TEXT = 60;

/** Short, and with control/bidi characters of file names or server texts shown escaped. */
function clip(text: string): string {
  return displaySafe(text, MAX_TEXT);
}

export const status = {
  connecting: (text = 'connecting'): StatusDot => ({ fill: 'yellow', shape: 'ring', text: clip(text) }),
  ok: (text: string): StatusDot => ({ fill: 'green', shape: 'dot', text: clip(text) }),
  warning: (text: string): StatusDot => ({ fill: 'yellow', shape: 'dot', text: clip(text) }),
  error: (text: string): StatusDot => ({ fill: 'red', shape: 'ring', text: clip(text) }),
  clear: (): Record<string, never> => ({}),
};

/** The dot for a status the core worked out (`level` and `text`). */
export function statusDot(shown: { level: 'ok' | 'warning' | 'error'; text: string }): StatusDot {
  return status[shown.level](shown.text);
}

/** Seconds/minutes for status texts: "45 s", "3 min", "2 h". */
export function shortDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.round(minutes / 60)} h`;
}

// The timers behind status texts and rate-limited reports live in the core (no Node-RED in them).
export { RateLimitedReports, Throttle } from '../../core/timing';
