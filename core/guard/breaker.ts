// Circuit breaker: the last line of defence for loops that neither the ledger nor the hop counter
// can see (e.g. an action that creates a *new* file each time, so no file id links the chain).
// Counts actions per key (file / path, or rule) in a sliding window; above the threshold the key
// opens for a cool-down, during which the guard diverts its events to the tripped output.

export interface BreakerOptions {
  /** Actions allowed per key per window; 0 disables the breaker. */
  threshold: number;
  windowMs: number;
  cooldownMs: number;
}

export interface OpenBreaker {
  key: string;
  /** Estimated count in the window when it opened. */
  count: number;
  openedAt: number;
  closesAt: number;
}

interface Buckets {
  /** Start of the current fixed bucket (a multiple of windowMs). */
  start: number;
  current: number;
  previous: number;
}

/**
 * Sliding-window counter approximated with two fixed buckets (the current and the previous one,
 * weighted by how much of it still overlaps the window): O(1) time and two numbers per key.
 */
export class SlidingCounter {
  private readonly counts = new Map<string, Buckets>();
  /** Bucket start of the last sweep of idle keys (once per window). */
  private sweptAt = -Infinity;

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number = 100_000,
  ) {}

  get size(): number {
    return this.counts.size;
  }

  add(key: string, at: number, amount = 1): number {
    // Keys idle for two windows count nothing: dropped once per window, so the map holds the
    // keys of the last two windows (not every key ever counted until maxKeys).
    if (at - this.sweptAt >= this.windowMs) this.dropIdle(at);
    let buckets = this.counts.get(key);
    if (buckets === undefined) {
      if (this.counts.size >= this.maxKeys) this.prune();
      buckets = { start: this.bucketStart(at), current: 0, previous: 0 };
      this.counts.set(key, buckets);
    }
    this.roll(buckets, at);
    buckets.current += amount;
    return this.estimate(buckets, at);
  }

  reset(key: string): void {
    this.counts.delete(key);
  }

  count(key: string, at: number): number {
    const buckets = this.counts.get(key);
    if (buckets === undefined) return 0;
    this.roll(buckets, at);
    return this.estimate(buckets, at);
  }

  private bucketStart(at: number): number {
    return Math.floor(at / this.windowMs) * this.windowMs;
  }

  private roll(buckets: Buckets, at: number): void {
    const start = this.bucketStart(at);
    if (start === buckets.start) return;
    buckets.previous = start - buckets.start === this.windowMs ? buckets.current : 0;
    buckets.current = 0;
    buckets.start = start;
  }

  private estimate(buckets: Buckets, at: number): number {
    const overlap = 1 - (at - buckets.start) / this.windowMs;
    return buckets.current + buckets.previous * Math.max(0, overlap);
  }

  private dropIdle(at: number): void {
    this.sweptAt = this.bucketStart(at);
    const idleBefore = this.sweptAt - this.windowMs;
    for (const [key, buckets] of this.counts) if (buckets.start < idleBefore) this.counts.delete(key);
  }

  /**
   * Full (idle keys are dropped once per window in add()): drops the oldest inserted tenth, so the
   * next prune is a tenth of the cap away. Dropping one key per new key used to rescan the whole
   * map for idle keys on every new key once it was full: at 2,000 actions/s, with 240,000 keys
   * live in two windows, that cost a millisecond per action and stalled the guard.
   */
  private prune(): void {
    const excess = this.counts.size - this.maxKeys + Math.max(1, Math.floor(this.maxKeys / 10));
    let dropped = 0;
    for (const key of this.counts.keys()) {
      if (dropped++ >= excess) break;
      this.counts.delete(key);
    }
  }
}

export class Breaker {
  private readonly counter: SlidingCounter;
  private readonly open = new Map<string, OpenBreaker>();
  private opened = 0;

  constructor(private readonly options: BreakerOptions) {
    this.counter = new SlidingCounter(Math.max(1, options.windowMs));
  }

  get enabled(): boolean {
    return this.options.threshold > 0;
  }

  /** Cheap pre-check for the hot path: is any key open (or awaiting its lazy close)? */
  get anyOpen(): boolean {
    return this.open.size > 0;
  }

  /** Counts one action for the key; returns the breaker when this action opened it. */
  count(key: string, at: number): OpenBreaker | null {
    if (!this.enabled) return null;
    const count = this.counter.add(key, at);
    if (count <= this.options.threshold || this.isOpen(key, at) !== null) return null;
    const breaker: OpenBreaker = { key, count: Math.round(count), openedAt: at, closesAt: at + this.options.cooldownMs };
    this.open.set(key, breaker);
    this.opened++;
    return breaker;
  }

  /** The open breaker for the key, or null; closes it (and forgets its count) once cooled down. */
  isOpen(key: string, at: number): OpenBreaker | null {
    if (this.open.size === 0) return null;
    const breaker = this.open.get(key);
    if (breaker === undefined) return null;
    if (at < breaker.closesAt) return breaker;
    this.open.delete(key);
    this.counter.reset(key); // the next window starts from zero
    return null;
  }

  openBreakers(at: number): OpenBreaker[] {
    return [...this.open.values()].filter((b) => this.isOpen(b.key, at) !== null);
  }

  get openedTotal(): number {
    return this.opened;
  }
}
