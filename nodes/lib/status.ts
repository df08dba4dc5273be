// Status dots used by every qumulo-flow node: yellow ring = connecting/reconnecting,
// green dot = connected/working, red ring = error. Texts are short: the editor truncates them.

export interface StatusDot {
  fill: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape: 'ring' | 'dot';
  text: string;
}

const MAX_TEXT = 60;

function clip(text: string): string {
  return text.length > MAX_TEXT ? text.slice(0, MAX_TEXT - 1) + '…' : text;
}

export const status = {
  connecting: (text = 'connecting'): StatusDot => ({ fill: 'yellow', shape: 'ring', text: clip(text) }),
  ok: (text: string): StatusDot => ({ fill: 'green', shape: 'dot', text: clip(text) }),
  warning: (text: string): StatusDot => ({ fill: 'yellow', shape: 'dot', text: clip(text) }),
  error: (text: string): StatusDot => ({ fill: 'red', shape: 'ring', text: clip(text) }),
  clear: (): Record<string, never> => ({}),
};

/** Seconds/minutes for status texts: "45 s", "3 min", "2 h". */
export function shortDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.round(minutes / 60)} h`;
}

/**
 * Calls `apply` at most once per `intervalMs` with the latest value (trailing edge), so a busy
 * stream does not flood the editor with status updates.
 */
export class Throttle<T> {
  private timer: NodeJS.Timeout | null = null;
  private pending: { value: T } | null = null;
  private last = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly apply: (value: T) => void,
  ) {}

  push(value: T): void {
    const now = Date.now();
    if (!this.timer && now - this.last >= this.intervalMs) {
      this.last = now;
      this.apply(value);
      return;
    }
    this.pending = { value };
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.last = Date.now();
        const pending = this.pending;
        this.pending = null;
        if (pending) this.apply(pending.value);
      }, Math.max(0, this.intervalMs - (now - this.last)));
    }
  }

  /** Applies `value` now and drops anything pending. */
  now(value: T): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    this.last = Date.now();
    this.apply(value);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}
