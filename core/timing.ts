// Timing helpers the node adapters use for status texts and reports: pure (timers, no Node-RED),
// so they are tested in the core. A busy stream must neither flood the editor with status
// updates nor the log with repeats of one problem.

/**
 * Calls `apply` at most once per `intervalMs` with the latest value (trailing edge), so a busy
 * stream does not flood the editor with status updates.
 */
export class Throttle<T> {
  private timer: NodeJS.Timeout | null = null;
  // Kept as two fields, not a wrapper object: push() runs per message on busy nodes.
  private hasPending = false;
  private pendingValue: T | undefined = undefined;
  private last = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly apply: (value: T) => void,
  ) {}

  push(value: T): void {
    if (this.timer) {
      this.hasPending = true;
      this.pendingValue = value;
      return;
    }
    const now = Date.now();
    if (now - this.last >= this.intervalMs) {
      this.last = now;
      this.apply(value);
      return;
    }
    this.hasPending = true;
    this.pendingValue = value;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.last = Date.now();
      const had = this.hasPending;
      const pending = this.pendingValue as T;
      this.clearPending();
      if (had) this.apply(pending);
    }, Math.max(0, this.intervalMs - (now - this.last)));
  }

  /** Applies `value` now and drops anything pending. */
  now(value: T): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.clearPending();
    this.last = Date.now();
    this.apply(value);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.clearPending();
  }

  private clearPending(): void {
    this.hasPending = false;
    this.pendingValue = undefined;
  }
}

/**
 * Reports a stream of similar problems without flooding the log or Catch nodes: the first `burst`
 * of each `intervalMs` window at once, the rest held back and reported as one item when the window
 * ends, carrying how many it stands for (`suppressed`; the latest item is the one shown). Nothing
 * is lost from the count.
 */
export class RateLimitedReports<T> {
  private timer: NodeJS.Timeout | null = null;
  private windowStart = -Infinity;
  private inWindow = 0;
  private held: T | null = null;
  private suppressed = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly burst: number,
    private readonly emit: (item: T, suppressed: number) => void,
  ) {}

  report(item: T): void {
    const now = Date.now();
    if (this.timer === null && now - this.windowStart >= this.intervalMs) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.timer === null && this.inWindow < this.burst) {
      this.inWindow++;
      this.emit(item, 0);
      return;
    }
    this.held = item;
    this.suppressed++;
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.intervalMs - now));
      this.timer.unref();
    }
  }

  /** Reports what is held back now (also called by the timer); starts a new window. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.held === null) return;
    const item = this.held;
    const suppressed = this.suppressed;
    this.held = null;
    this.suppressed = 0;
    this.windowStart = Date.now();
    this.inWindow = this.burst;
    this.emit(item, suppressed);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.held = null;
    this.suppressed = 0;
  }
}

/**
 * At most `perWindow` items per `windowMs` window (fixed windows, the first starting with the first
 * item). What is held back is counted and handed to `onDropped` when the next window opens, so a
 * summary can say how many were left out.
 */
export class WindowBudget {
  private windowStart = -Infinity;
  private used = 0;
  private dropped = 0;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
  ) {}

  /** true: this item may go out now. */
  take(onDropped?: (dropped: number) => void, now = Date.now()): boolean {
    if (now - this.windowStart >= this.windowMs) {
      if (this.dropped > 0) onDropped?.(this.dropped);
      this.windowStart = now;
      this.used = 0;
      this.dropped = 0;
    }
    if (this.used < this.perWindow) {
      this.used++;
      return true;
    }
    this.dropped++;
    return false;
  }
}

/** Seconds/minutes for status texts: "45 s", "3 min", "2 h". */
export function shortDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.round(minutes / 60)} h`;
}
