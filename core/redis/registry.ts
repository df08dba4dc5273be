// Process-wide lookup from (stream key, group) to the running consumers, so a qumulo-ack node
// can acknowledge the entry behind `msg.redis` through the consumer that delivered it (which
// also frees its in-flight slot). XACK is per group, so any consumer of the group can do it.

export interface AckTarget {
  /** True when this consumer delivered `id` and has not settled it yet. */
  isInFlight(id: string): boolean;
  /** XACK `id` (batched); resolves once Redis has answered. */
  ack(id: string): Promise<void>;
}

const consumers = new Map<string, Set<AckTarget>>();
/** Callers waiting for a consumer of a group to register (a deploy is restarting its in node). */
const waiting = new Map<string, Set<() => void>>();

function registryKey(stream: string, group: string): string {
  return `${stream}\u0000${group}`;
}

export function registerConsumer(stream: string, group: string, target: AckTarget): () => void {
  const key = registryKey(stream, group);
  let set = consumers.get(key);
  if (!set) {
    set = new Set();
    consumers.set(key, set);
  }
  set.add(target);
  const waiters = waiting.get(key);
  if (waiters) {
    waiting.delete(key);
    for (const wake of waiters) wake();
  }
  return () => {
    const current = consumers.get(key);
    if (!current) return;
    current.delete(target);
    if (current.size === 0) consumers.delete(key);
  };
}

/** The consumer holding `id` in flight, else any consumer of the group, else undefined. */
export function findAckTarget(stream: string, group: string, id: string): AckTarget | undefined {
  const set = consumers.get(registryKey(stream, group));
  if (!set) return undefined;
  let fallback: AckTarget | undefined;
  for (const target of set) {
    if (target.isInFlight(id)) return target;
    fallback ??= target;
  }
  return fallback;
}

/**
 * Like findAckTarget, but while no consumer of the group runs (a deploy is restarting the in node)
 * waits up to `waitMs` for one to register. Undefined if none did.
 */
export async function awaitAckTarget(stream: string, group: string, id: string, waitMs: number): Promise<AckTarget | undefined> {
  const found = findAckTarget(stream, group, id);
  if (found || waitMs <= 0) return found;
  const key = registryKey(stream, group);
  await new Promise<void>((resolve) => {
    let set = waiting.get(key);
    if (!set) {
      set = new Set();
      waiting.set(key, set);
    }
    const waiters = set;
    const wake = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(wake);
      if (waiters.size === 0 && waiting.get(key) === waiters) waiting.delete(key);
      resolve();
    }, waitMs);
    waiters.add(wake);
  });
  return findAckTarget(stream, group, id);
}
