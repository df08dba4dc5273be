// Knows when a message's whole journey through a flow has ended, from the runtime's message
// hooks, so the Redis entry behind it can be acknowledged only after the work is done.
//
// A journey is identified by the message's `_msgid` (kept by every node that forwards the
// message, also through clones on fan-out). It is open while some node still holds the message:
//   preDeliver(msgid, dest)   a wire delivery was scheduled (synchronously inside send())
//   receive(msgid, node)      a node is about to get it (wire delivery, or a direct receive()
//                             such as link in, which is not preceded by preDeliver)
//   complete(msgid, node, e)  that node called done() / done(err)
// The journey ends when nothing is scheduled or held; it failed when any node called done(err).
// Completions from nodes that never received it through a counted path (catch, complete and
// status nodes get messages the runtime hands over directly) are ignored.

export type JourneyEnd<H> = (handle: H, error: unknown) => void;

interface Journey<H> {
  handle: H;
  /** Per node id: deliveries scheduled but not yet received. */
  scheduled: Map<string, number>;
  /** Per node id: messages received and not yet completed. */
  held: Map<string, number>;
  open: number;
  failed: boolean;
  error: unknown;
  onEnd: JourneyEnd<H>;
}

function bump(map: Map<string, number>, key: string, delta: number): number {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
  return next;
}

export class JourneyTracker<H> {
  private readonly journeys = new Map<string, Journey<H>>();

  get size(): number {
    return this.journeys.size;
  }

  has(msgid: string): boolean {
    return this.journeys.has(msgid);
  }

  /** Starts tracking a message about to be sent; `onEnd(handle, error)` runs once when it ends. */
  begin(msgid: string, handle: H, onEnd: JourneyEnd<H>): void {
    this.journeys.set(msgid, { handle, scheduled: new Map(), held: new Map(), open: 0, failed: false, error: undefined, onEnd });
  }

  /** The sender sent nothing that was tracked (e.g. no wires): end the journey now. */
  endIfIdle(msgid: string): void {
    const journey = this.journeys.get(msgid);
    if (journey && journey.open === 0) this.finish(msgid, journey);
  }

  preDeliver(msgid: string, destinationId: string): void {
    const journey = this.journeys.get(msgid);
    if (!journey) return;
    bump(journey.scheduled, destinationId, 1);
    journey.open++;
  }

  receive(msgid: string, nodeId: string): void {
    const journey = this.journeys.get(msgid);
    if (!journey) return;
    if (journey.scheduled.has(nodeId)) {
      bump(journey.scheduled, nodeId, -1);
    } else {
      journey.open++; // direct receive(): link in and friends
    }
    bump(journey.held, nodeId, 1);
  }

  complete(msgid: string, nodeId: string, error: unknown): void {
    const journey = this.journeys.get(msgid);
    if (!journey || !journey.held.has(nodeId)) return;
    bump(journey.held, nodeId, -1);
    if (error !== undefined && error !== null && !journey.failed) {
      journey.failed = true;
      journey.error = error;
    }
    journey.open--;
    if (journey.open <= 0) this.finish(msgid, journey);
  }

  /** Stops tracking without calling onEnd (entry released or node closing). */
  abandon(msgid: string): void {
    this.journeys.delete(msgid);
  }

  private finish(msgid: string, journey: Journey<H>): void {
    this.journeys.delete(msgid);
    journey.onEnd(journey.handle, journey.failed ? journey.error : undefined);
  }
}
