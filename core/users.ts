// The user nodes of a config node (qumulo-cluster, qumulo-redis): who registered, with what, and a
// way for the config node's close to wait until they have gone — its users are stopped in the same
// deploy and may still be finishing work on the shared connection.

export class Users<U, V> {
  private readonly members = new Map<U, V>();
  private lastGone: (() => void) | null = null;

  get size(): number {
    return this.members.size;
  }

  has(user: U): boolean {
    return this.members.has(user);
  }

  add(user: U, value: V): void {
    this.members.set(user, value);
  }

  /** Removes a user; false when it was not registered. */
  remove(user: U): boolean {
    if (!this.members.delete(user)) return false;
    if (this.members.size === 0) this.lastGone?.();
    return true;
  }

  entries(): IterableIterator<[U, V]> {
    return this.members.entries();
  }

  values(): IterableIterator<V> {
    return this.members.values();
  }

  clear(): void {
    this.members.clear();
  }

  /** Resolves once the last user has gone, or after `maxWaitMs` at the latest. */
  whenEmpty(maxWaitMs: number): Promise<void> {
    if (this.members.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, maxWaitMs);
      timer.unref();
      this.lastGone = () => {
        clearTimeout(timer);
        this.lastGone = null;
        resolve();
      };
    });
  }
}
