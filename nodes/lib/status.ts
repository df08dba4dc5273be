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
  /** Waiting for its turn (a scale-out standby). */
  standby: (text: string): StatusDot => ({ fill: 'grey', shape: 'ring', text: clip(text) }),
  clear: (): Record<string, never> => ({}),
};

/** The dot for a status the core worked out (`level` and `text`). */
export function statusDot(shown: { level: 'ok' | 'warning' | 'error' | 'connecting' | 'standby'; text: string }): StatusDot {
  return status[shown.level](shown.text);
}

// The timers behind status texts and rate-limited reports live in the core (no Node-RED in them).
export { RateLimitedReports, Throttle, shortDuration } from '../../core/timing';

import type { Node } from 'node-red';
import { Throttle as StatusThrottle } from '../../core/timing';

/** A node's status from `describe`: at most every `intervalMs` (latest wins) or at once; nothing after stop(). */
export function throttledStatus(node: Node, describe: () => StatusDot, intervalMs = 500): { soon(): void; now(): void; stop(): void } {
  let stopped = false;
  const throttle = new StatusThrottle<StatusDot>(intervalMs, (dot) => {
    if (!stopped) node.status(dot);
  });
  return {
    soon: () => throttle.push(describe()),
    now: () => throttle.now(describe()),
    stop: () => {
      stopped = true;
      throttle.cancel();
    },
  };
}
