// A FIFO counting semaphore: at most `limit` tasks run at once, the rest wait in arrival order.
// One per cluster client, so many nodes acting on one cluster cannot flood it.

export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const waiting = this.acquire();
    if (waiting) await waiting;
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /**
   * Takes a slot: undefined when one was free (no promise, no extra tick), else a promise that
   * resolves once a slot is handed over. Every acquire must be paired with one release().
   */
  acquire(): Promise<void> | undefined {
    if (this.active < this.limit) {
      this.active++;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    // Hand the slot straight to the next waiter so `active` never dips and lets a newcomer cut in.
    if (next) next();
    else this.active--;
  }
}
