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
