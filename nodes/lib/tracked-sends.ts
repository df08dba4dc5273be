// Messages whose journey through the flow is tracked (nodes/lib/journeys.ts): a source node sends
// through this, and hears when every node its message reached is done with it, when one failed,
// or when a deploy cut it. Also the sweep of journeys that never end (a node that never calls done()).

import type { Node, NodeAPI, NodeMessage } from 'node-red';
import type { JourneyOptions } from '../../core/journey/tracker';
import { acquireJourneyHooks, hasWires, journeys, messageIds, releaseJourneyHooks, type JourneyEnding } from './journeys';

export interface TrackedSends {
  /** A fresh message id. */
  nextId(): string;
  /** Tracks the journey of `msg` (by its `_msgid`), sends it with `send`, and ends it at once when nothing is wired. */
  send(msg: NodeMessage & { _msgid: string }, handle: unknown, send: () => void, options?: JourneyOptions): void;
  /** Stops tracking; with `abandon`, forgets this node's journeys first (returns how many). */
  close(abandon: boolean): number;
}

export interface TrackedSendsOptions {
  /** Only this output's wires count (default: any output). */
  port?: number;
  /** Journeys older than this are no longer tracked, with a warning (checked every minute). */
  staleAfterMs?: number;
}

const STALE_CHECK_MS = 60_000;

export function trackSends(RED: NodeAPI, node: Node, ended: (handle: unknown, ending: JourneyEnding) => void, options: TrackedSendsOptions = {}): TrackedSends {
  acquireJourneyHooks(RED);
  const wired = hasWires(node, options.port);
  const nextId = messageIds();
  const limit = options.staleAfterMs;
  const check =
    limit === undefined
      ? null
      : setInterval(() => {
          const stale = journeys.startedBefore(Date.now() - limit, ended);
          for (const [msgid] of stale) journeys.abandon(msgid);
          if (stale.length > 0) node.warn(`${stale.length} message(s) were still in the flow after ${limit / 60_000} min (a node that never calls done()?); no longer tracked`);
        }, STALE_CHECK_MS);
  check?.unref();
  return {
    nextId,
    send(msg, handle, send, journeyOptions) {
      journeys.begin(msg._msgid, handle, ended, journeyOptions);
      send();
      if (!wired) journeys.endIfIdle(msg._msgid);
    },
    close(abandon) {
      if (check) clearInterval(check);
      const abandoned = abandon ? journeys.abandonAllOf(ended) : 0;
      releaseJourneyHooks(RED);
      return abandoned;
    },
  };
}
