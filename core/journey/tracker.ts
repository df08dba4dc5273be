// Knows when the whole journey of a message through a flow has ended, and HOW it ended, so the
// source behind it (a Redis entry, a change notification) is settled only when the work is done
// and delivered again when the flow lost it. Pure: fed by the runtime's message hooks through an
// adapter (nodes/lib/journeys.ts), which passes node instances as opaque references.
//
// A journey is identified by the message's `_msgid` (kept by every node that forwards it, also
// through clones on fan-out). Units of work are counted per node INSTANCE (a redeployed node is a
// new instance with the same id):
//   routed(msgid)             a node sent it on a wire; the runtime is about to look up the target
//   scheduled(msgid, node)    the target exists: delivery is queued (preDeliver)
//   received(msgid, node, …)  the node's input handler is about to run (also direct receive()s
//                             such as Catch nodes, not preceded by scheduled)
//   completed(msgid, node, e) the node called done() / done(err)
//
// A node whose input handler cannot report completion (one or two arguments, like the core switch
// node) never calls done(), and may send later than its handler returns (the switch queues a burst
// and handles one message per tick). Such nodes handle messages in arrival order, so one is
// finished with a message when it sends it on (sent), or sends a message that arrived after it
// (those before it matched nothing), or has been quiet for a moment (releaseQuiet).
//
// Endings:
//   done    nothing is routed, scheduled or held any more, and no node failed it
//   failed  a node called done(err), or a Catch node received it (unless caught errors count as
//           handled, a choice of the source)
//   cut     the runtime lost it: a send found no target (a deploy removed or is replacing the
//           node), it reached a stopped node, or a node holding it was stopped (sweep). The
//           source should deliver it again once the flows run.
//
// The runtime does some things right after the hook that ends a journey, in the same tick: a
// done(err) hands the message to Catch nodes, a done() to Complete nodes, and a send is routed
// before preDeliver. So endings are decided a microtask later, when that has happened.

export type JourneyEnding =
  | { kind: 'done' }
  | { kind: 'failed'; error: unknown; caught: boolean }
  | { kind: 'cut'; reason: string };

export type JourneyEnd<H> = (handle: H, ending: JourneyEnding) => void;

export interface JourneyOptions {
  /** An error that a Catch node received counts as handled (the journey can still end done). */
  caughtErrorsAreHandled?: boolean;
}

/** Per node instance: deliveries scheduled to it, and messages its handler holds. */
interface Cell<N> {
  node: N;
  scheduled: number;
  held: number;
}

interface Journey<H, N> {
  /** Every message id of the journey: the first, and those of messages derived from it (adopt). */
  ids: string[];
  handle: H;
  onEnd: JourneyEnd<H>;
  cells: Cell<N>[];
  /** Sends whose target the runtime has not found yet (resolved within the same tick). */
  routing: number;
  /** routing + every scheduled and held unit. */
  open: number;
  error: unknown;
  failed: boolean;
  caught: boolean;
  caughtErrorsAreHandled: boolean;
  startedAt: number;
}

/** Messages held by a node that cannot report completion, in arrival order. */
interface LegacyQueue {
  msgids: string[];
  lastActivity: number;
}

function cellOf<N>(cells: Cell<N>[], node: N): Cell<N> | undefined {
  for (const cell of cells) if (cell.node === node) return cell;
  return undefined;
}

export class JourneyTracker<H, N = unknown> {
  private readonly journeys = new Map<string, Journey<H, N>>();
  private count = 0;
  /** Journeys with sends whose routing is not confirmed yet. */
  private readonly routingOpen = new Set<string>();
  /** Journeys with nothing open any more: they end at the next check unless something reopened them. */
  private readonly idle = new Set<string>();
  private checkQueued = false;
  private readonly legacy = new Map<N, LegacyQueue>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Journeys in progress (a journey with derived message ids counts once). */
  get size(): number {
    return this.count;
  }

  has(msgid: string): boolean {
    return this.journeys.has(msgid);
  }

  /** Starts tracking a message about to be sent; `onEnd` runs exactly once when it ends. */
  begin(msgid: string, handle: H, onEnd: JourneyEnd<H>, options: JourneyOptions = {}): void {
    if (this.journeys.has(msgid)) this.abandon(msgid);
    this.count++;
    this.journeys.set(msgid, {
      ids: [msgid],
      handle,
      onEnd,
      cells: [],
      routing: 0,
      open: 0,
      error: undefined,
      failed: false,
      caught: false,
      caughtErrorsAreHandled: options.caughtErrorsAreHandled === true,
      startedAt: this.now(),
    });
  }

  /** The sender sent nothing that was tracked (no wires, or it returned no message): end now. */
  endIfIdle(msgid: string): void {
    const journey = this.journeys.get(msgid);
    if (journey && journey.open === 0) this.finish(journey);
  }

  /**
   * A node sent a new message (its own id) while handling `parentId`, like split sending parts:
   * it belongs to the parent's journey.
   */
  adopt(msgid: string, parentId: string): boolean {
    const journey = this.journeys.get(parentId);
    if (!journey || this.journeys.has(msgid)) return false;
    this.journeys.set(msgid, journey);
    journey.ids.push(msgid);
    return true;
  }

  /** A node sent it on one wire. Returns true when the message is tracked. */
  routed(msgid: string): boolean {
    const journey = this.journeys.get(msgid);
    if (!journey) return false;
    journey.routing++;
    journey.open++;
    this.routingOpen.add(msgid);
    this.queueCheck();
    return true;
  }

  /** The runtime found the target and queued the delivery. */
  scheduled(msgid: string, node: N): void {
    const journey = this.journeys.get(msgid);
    if (!journey) return;
    if (journey.routing > 0) {
      journey.routing--;
      journey.open--;
    }
    const cell = cellOf(journey.cells, node);
    if (cell) cell.scheduled++;
    else journey.cells.push({ node, scheduled: 1, held: 0 });
    journey.open++;
  }

  /**
   * Runs the pending checks now (normally a microtask after the hooks that made them necessary):
   * every send routed so far should have been scheduled (the runtime routes in the same tick as
   * the send), so whatever is still routing found no target node and was dropped; journeys with
   * nothing open end.
   */
  check(): void {
    this.checkQueued = false;
    if (this.routingOpen.size > 0) {
      const ids = [...this.routingOpen];
      this.routingOpen.clear();
      for (const msgid of ids) {
        const journey = this.journeys.get(msgid);
        if (journey && journey.routing > 0) this.cut(journey, 'sent to a node that is not running (a deploy was replacing or removing it)');
      }
    }
    if (this.idle.size > 0) {
      const ids = [...this.idle];
      this.idle.clear();
      for (const msgid of ids) {
        const journey = this.journeys.get(msgid);
        if (journey && journey.open <= 0) this.finish(journey);
      }
    }
  }

  private queueCheck(): void {
    if (this.checkQueued) return;
    this.checkQueued = true;
    queueMicrotask(() => this.check());
  }

  /**
   * The node's input handler is about to get it. `running` is false for a node that has been
   * stopped (a deploy replaced or removed it): the message goes nowhere. `catches` marks a Catch
   * node (it receives messages that failed elsewhere); `reportsCompletion` false a node whose
   * handler never calls done().
   */
  received(msgid: string, node: N, running: boolean, catches = false, reportsCompletion = true): void {
    const journey = this.journeys.get(msgid);
    if (!journey) return;
    let cell = cellOf(journey.cells, node);
    if (cell && cell.scheduled > 0) {
      cell.scheduled--;
    } else {
      // Direct receive() (Catch, Complete, link call return…): not announced by scheduled().
      journey.open++;
      if (!cell) {
        cell = { node, scheduled: 0, held: 0 };
        journey.cells.push(cell);
      }
    }
    cell.held++;
    if (catches) {
      journey.caught = true;
      if (!journey.failed) {
        journey.failed = true;
        journey.error = new Error('a Catch node received the message');
      }
    }
    if (!running) {
      this.cut(journey, 'delivered to a node that has been stopped (deploy)');
      return;
    }
    if (!reportsCompletion) {
      let queue = this.legacy.get(node);
      if (!queue) {
        queue = { msgids: [], lastActivity: 0 };
        this.legacy.set(node, queue);
      }
      queue.msgids.push(msgid);
      queue.lastActivity = this.now();
    }
  }

  /**
   * A node sent the message on (call after routed() for the send). For a node that cannot report
   * completion this finishes the message, and every message that arrived there before it.
   */
  sent(msgid: string, node: N): void {
    const queue = this.legacy.get(node);
    if (!queue) return;
    queue.lastActivity = this.now();
    const index = queue.msgids.indexOf(msgid);
    if (index < 0) return;
    for (const finished of queue.msgids.splice(0, index + 1)) this.release(finished, node, undefined);
  }

  /**
   * Nodes that cannot report completion and were quiet for `quietMs` are finished with what they
   * hold. Not a node that no longer runs: what it holds was dropped (the sweep cuts it).
   */
  releaseQuiet(quietMs: number, isRunning: (node: N) => boolean): void {
    const before = this.now() - quietMs;
    for (const [node, queue] of [...this.legacy]) {
      if (queue.lastActivity > before) continue;
      this.legacy.delete(node);
      if (!isRunning(node)) continue;
      for (const msgid of queue.msgids) this.release(msgid, node, undefined);
    }
  }

  /**
   * The node called done() / done(err). A node that is no longer running (a deploy is stopping
   * it) may be reporting a message it dropped (the core delay node calls done() for its whole
   * queue on close): that journey is cut, not done.
   */
  completed(msgid: string, node: N, error: unknown, running = true): void {
    if (!running) {
      const journey = this.journeys.get(msgid);
      const cell = journey ? cellOf(journey.cells, node) : undefined;
      if (journey && cell && cell.held > 0) this.cut(journey, 'finished by a node that a deploy was stopping');
      return;
    }
    this.release(msgid, node, error);
  }

  /**
   * After a deploy: journeys with work scheduled to or held by a node that no longer runs were
   * cut (the runtime dropped that work without telling anyone).
   */
  sweep(isRunning: (node: N) => boolean): number {
    let cut = 0;
    for (const journey of new Set(this.journeys.values())) {
      const msgid = journey.ids[0];
      if (this.journeys.get(msgid) !== journey) continue; // ended by an earlier cut
      for (const cell of journey.cells) {
        if ((cell.scheduled > 0 || cell.held > 0) && !isRunning(cell.node)) {
          this.cut(journey, 'held by a node that a deploy stopped');
          cut++;
          break;
        }
      }
    }
    return cut;
  }

  /** Journeys begun before `olderThan` (ms since epoch): for sources that bound what they track. */
  startedBefore(olderThan: number, onEnd?: JourneyEnd<H>): Array<[string, H]> {
    const found: Array<[string, H]> = [];
    for (const [msgid, journey] of this.journeys) {
      if (msgid !== journey.ids[0]) continue;
      if (journey.startedAt < olderThan && (!onEnd || journey.onEnd === onEnd)) found.push([msgid, journey.handle]);
    }
    return found;
  }

  /** Stops tracking without calling onEnd. */
  abandon(msgid: string): void {
    const journey = this.journeys.get(msgid);
    if (journey) this.forget(journey);
  }

  /** Stops tracking every journey begun with this onEnd callback (its source is closing). */
  abandonAllOf(onEnd: JourneyEnd<H>): number {
    const mine = new Set<Journey<H, N>>();
    for (const journey of this.journeys.values()) if (journey.onEnd === onEnd) mine.add(journey);
    for (const journey of mine) this.forget(journey);
    return mine.size;
  }

  private release(msgid: string, node: N, error: unknown): void {
    const journey = this.journeys.get(msgid);
    if (!journey) return;
    const cell = cellOf(journey.cells, node);
    if (!cell || cell.held === 0) return;
    cell.held--;
    if (error !== undefined && error !== null && !journey.failed) {
      journey.failed = true;
      journey.error = error;
    }
    journey.open--;
    if (journey.open <= 0) {
      this.idle.add(msgid);
      this.queueCheck();
    }
  }

  private forget(journey: Journey<H, N>): void {
    if (this.journeys.get(journey.ids[0]) !== journey) return;
    for (const id of journey.ids) this.journeys.delete(id);
    this.count--;
  }

  private cut(journey: Journey<H, N>, reason: string): void {
    this.forget(journey);
    journey.onEnd(journey.handle, { kind: 'cut', reason });
  }

  private finish(journey: Journey<H, N>): void {
    this.forget(journey);
    if (journey.failed && !(journey.caught && journey.caughtErrorsAreHandled)) {
      journey.onEnd(journey.handle, { kind: 'failed', error: journey.error, caught: journey.caught });
    } else {
      journey.onEnd(journey.handle, { kind: 'done' });
    }
  }
}
