// Keeping messages in arrival order when some of them must wait for something (attributes being
// fetched, a shared ledger catching up): later ones wait behind them instead of overtaking.
// Used by the filter (ArrivalOrder) and the loop guard (BarrierQueue); no Node-RED in here.

interface Slot {
  task: () => void;
  ready: boolean;
}

/**
 * Runs tasks in the order they were handed in. A task that is ready runs at once when nothing
 * waits before it; a reserved place holds back everything after it until it is settled.
 */
export class ArrivalOrder {
  private readonly queue: Slot[] = [];
  private closed = false;

  /** How many tasks wait (reserved places and the ready tasks behind them). */
  get waiting(): number {
    return this.queue.length;
  }

  /** Runs `task` now, or after the places reserved before it have been settled and run. */
  run(task: () => void): void {
    if (this.queue.length === 0) {
      task();
      return;
    }
    this.queue.push({ task, ready: true });
    this.drain();
  }

  /**
   * Reserves a place for `task`; the returned function settles it, optionally with another task to
   * run instead (e.g. with the fetched data). Settling twice, or after flush(), does nothing.
   */
  reserve(task: () => void): (replacement?: () => void) => void {
    const slot: Slot = { task, ready: false };
    this.queue.push(slot);
    return (replacement) => {
      if (slot.ready) return;
      if (replacement) slot.task = replacement;
      slot.ready = true;
      if (!this.closed) this.drain();
    };
  }

  /** Runs everything still waiting now, in order, settled or not (a node closing). */
  flush(): void {
    this.closed = true;
    for (const slot of this.queue.splice(0)) slot.task();
  }

  private drain(): void {
    while (this.queue.length > 0 && this.queue[0].ready) this.queue.shift()!.task();
  }
}

/**
 * Decides jobs in arrival order, each once its barrier (a promise, or null for "now") has passed.
 * The barrier is asked for when a job reaches the head, so a job never overtakes an earlier one.
 */
export class BarrierQueue<J> {
  private readonly backlog: J[] = [];
  private draining = false;
  private closed = false;

  constructor(
    private readonly barrierOf: (job: J) => Promise<unknown> | null,
    private readonly decide: (job: J) => void,
  ) {}

  get waiting(): number {
    return this.backlog.length;
  }

  push(job: J): void {
    if (this.closed || (!this.draining && this.barrierOf(job) === null)) {
      this.decide(job);
      return;
    }
    this.backlog.push(job);
    if (!this.draining) void this.drain();
  }

  /** Decides everything still waiting now, without waiting for barriers (a node closing). */
  close(): void {
    this.closed = true;
    for (const job of this.backlog.splice(0)) this.decide(job);
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.backlog.length > 0) {
      const job = this.backlog[0];
      const barrier = this.closed ? null : this.barrierOf(job);
      if (barrier !== null) await barrier;
      if (this.backlog[0] !== job) continue; // closed meanwhile: close() decided it
      this.backlog.shift();
      this.decide(job);
    }
    this.draining = false;
  }
}
