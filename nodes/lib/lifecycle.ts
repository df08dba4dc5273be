// One listener pair on Node-RED's runtime events for all nodes that care about the flows'
// lifecycle (instead of one pair per node, which trips EventEmitter's leak warning past 10).

import type { EventEmitter } from 'node:events';

export interface FlowLifecycleHandlers {
  /** All nodes of the (re)deployed flows exist and run: safe to send. */
  started(): void;
  /** A deploy (or shutdown) is about to stop nodes: stop sending. */
  stopping(): void;
}

const subscribers = new Set<FlowLifecycleHandlers>();
let installedOn: EventEmitter | null = null;

function each(pick: (h: FlowLifecycleHandlers) => void): void {
  for (const handlers of [...subscribers]) {
    try {
      pick(handlers);
    } catch {
      // One node's failure must not keep the others paused.
    }
  }
}

const onStarted = () => each((h) => h.started());
const onStopping = () => each((h) => h.stopping());

/** Subscribes to 'flows:started' / 'flows:stopping'; returns the unsubscribe. */
export function onFlowLifecycle(events: EventEmitter, handlers: FlowLifecycleHandlers): () => void {
  if (installedOn !== events) {
    installedOn?.removeListener('flows:started', onStarted);
    installedOn?.removeListener('flows:stopping', onStopping);
    events.on('flows:started', onStarted);
    events.on('flows:stopping', onStopping);
    installedOn = events;
  }
  subscribers.add(handlers);
  return () => {
    subscribers.delete(handlers);
  };
}

/**
 * Runs `finish` once the given work has settled, or after `maxWaitMs` at the latest (Node-RED
 * gives a close handler 15 s before it logs "Close timed out"). `finish` runs exactly once.
 */
export function finishAfterSettled(work: Iterable<Promise<unknown>>, maxWaitMs: number, finish: () => void): void {
  const pending = [...work];
  let finished = false;
  const once = (): void => {
    if (finished) return;
    finished = true;
    finish();
  };
  if (pending.length === 0) return once();
  const timer = setTimeout(once, maxWaitMs);
  void Promise.allSettled(pending).then(() => {
    clearTimeout(timer);
    once();
  });
}

/** Fallback if the runtime never says flows have started (it always should). */
export const START_FALLBACK_MS = 10_000;

/**
 * For nodes that may send only while the flows run: `started` runs on every 'flows:started' (before
 * the first one the nodes wired to this one may not exist yet), or after `fallbackMs` if none came;
 * `stopping` on 'flows:stopping' (a deploy may be replacing the nodes downstream). Returns the
 * unsubscribe, which also cancels the fallback.
 */
export function whenFlowsRun(events: EventEmitter, handlers: { started(): void; stopping?(): void }, fallbackMs = START_FALLBACK_MS): () => void {
  let started = false;
  const fallback = setTimeout(() => {
    if (started) return;
    started = true;
    handlers.started();
  }, fallbackMs);
  fallback.unref();
  const unsubscribe = onFlowLifecycle(events, {
    started: () => {
      started = true;
      clearTimeout(fallback);
      handlers.started();
    },
    stopping: () => handlers.stopping?.(),
  });
  return () => {
    clearTimeout(fallback);
    unsubscribe();
  };
}
