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

/**
 * Per node id, how many deliveries are scheduled and how many are held, as flat triples
 * `[id, scheduled, held, id, scheduled, held, …]`: a journey touches few nodes, and one small
 * array per message is much cheaper for the garbage collector than maps.
 */
type Cells = Array<string | number>;

interface Journey<H> {
  handle: H;
  cells: Cells;
  open: number;
  failed: boolean;
  error: unknown;
  onEnd: JourneyEnd<H>;
}

const SCHEDULED = 1;
const HELD = 2;

function add(cells: Cells, index: number, delta: number): void {
  cells[index] = (cells[index] as number) + delta;
}

function cellOf(cells: Cells, nodeId: string): number {
  for (let i = 0; i < cells.length; i += 3) if (cells[i] === nodeId) return i;
  return -1;
}

export class JourneyTracker<H> {
  private readonly journeys = new Map<string, Journey<H>>();

  get size(): number {
    return this.journeys.size;
  }

  /** Starts tracking a message about to be sent; `onEnd(handle, error)` runs once when it ends. */
  begin(msgid: string, handle: H, onEnd: JourneyEnd<H>): void {
    this.journeys.set(msgid, { handle, cells: [], open: 0, failed: false, error: undefined, onEnd });
  }

  /** The sender sent nothing that was tracked (e.g. no wires): end the journey now. */
  endIfIdle(msgid: string): void {
    const journey = this.journeys.get(msgid);
    if (journey && journey.open === 0) this.finish(msgid, journey);
  }

  preDeliver(msgid: string, destinationId: string): void {
    const journey = this.journeys.get(msgid);
    if (!journey) return;
    const cell = cellOf(journey.cells, destinationId);
    if (cell < 0) journey.cells.push(destinationId, 1, 0);
    else add(journey.cells, cell + SCHEDULED, 1);
    journey.open++;
  }

  receive(msgid: string, nodeId: string): void {
    const journey = this.journeys.get(msgid);
    if (!journey) return;
    const cells = journey.cells;
    const cell = cellOf(cells, nodeId);
    if (cell >= 0 && (cells[cell + SCHEDULED] as number) > 0) {
      add(cells, cell + SCHEDULED, -1);
      add(cells, cell + HELD, 1);
    } else {
      // Direct receive() (link in and friends): not announced by preDeliver.
      journey.open++;
      if (cell < 0) cells.push(nodeId, 0, 1);
      else add(cells, cell + HELD, 1);
    }
  }

  complete(msgid: string, nodeId: string, error: unknown): void {
    const journey = this.journeys.get(msgid);
    if (!journey) return;
    const cell = cellOf(journey.cells, nodeId);
    if (cell < 0 || (journey.cells[cell + HELD] as number) === 0) return;
    add(journey.cells, cell + HELD, -1);
    if (error !== undefined && error !== null && !journey.failed) {
      journey.failed = true;
      journey.error = error;
    }
    journey.open--;
    if (journey.open <= 0) this.finish(msgid, journey);
  }

  /** Stops tracking without calling onEnd (entry released). */
  abandon(msgid: string): void {
    this.journeys.delete(msgid);
  }

  /** Stops tracking every journey begun with this onEnd callback (its in node is closing). */
  abandonAllOf(onEnd: JourneyEnd<H>): void {
    for (const [msgid, journey] of this.journeys) if (journey.onEnd === onEnd) this.journeys.delete(msgid);
  }

  private finish(msgid: string, journey: Journey<H>): void {
    this.journeys.delete(msgid);
    journey.onEnd(journey.handle, journey.failed ? journey.error : undefined);
  }
}
