// Change-notify fan-out: every open SSE connection is a subscription on a directory id. An
// operation becomes, per subscription, one `data: [...]` line holding the notifications that fall
// inside the watched directory (paths relative to it, spines starting at it). Subscriptions follow
// the directory by id, so renaming the watched directory (or an ancestor) does not disturb them.

import type { ServerResponse } from 'node:http';
import type { Operation } from './tree';

interface WireNotification {
  type: string;
  path: string;
  spine: string[];
  stream_name: string | null;
}

interface Subscription {
  dirId: string;
  recursive: boolean;
  filter: ReadonlySet<string> | null;
  res: ServerResponse;
  /** Lines the socket has not accepted yet (write() asked us to wait for 'drain'). */
  queue: string[];
  blocked: boolean;
  drains: number;
  stallCheck: NodeJS.Timeout | null;
  keepAlive: NodeJS.Timeout;
  closed: boolean;
}

/**
 * How long a connection over its queue limit may go without draining before it counts as a slow
 * consumer. Lets a healthy client absorb a large synchronous burst of injected events.
 */
const STALL_WINDOW_MS = 500;
/** Queued lines are handed over in writes of about this size, so drains (progress) come often. */
const BYTES_PER_WRITE = 64 * 1024;

export class NotifyHub {
  private readonly subscriptions = new Set<Subscription>();

  constructor(private readonly queueLimit: () => number) {}

  get size(): number {
    return this.subscriptions.size;
  }

  subscribe(res: ServerResponse, dirId: string, recursive: boolean, filter: ReadonlySet<string> | null, keepAliveMs: number): void {
    const sub: Subscription = {
      dirId,
      recursive,
      filter,
      res,
      queue: [],
      blocked: false,
      drains: 0,
      stallCheck: null,
      keepAlive: setInterval(() => {
        if (!sub.blocked) this.write(sub, ': keepalive\n\n');
      }, keepAliveMs),
      closed: false,
    };
    this.subscriptions.add(sub);
    res.on('drain', () => this.onDrain(sub));
    res.on('close', () => this.forget(sub));
    res.socket?.setNoDelay(true);
    this.write(sub, ': watching\n\n');
  }

  publish(op: Operation): void {
    if (this.subscriptions.size === 0) return;
    let parts: string[][] | null = null; // each change's path components, split once
    for (const sub of [...this.subscriptions]) {
      const items: WireNotification[] = [];
      let selfRemoved = false;
      for (let i = 0; i < op.length; i++) {
        const change = op[i];
        const at = change.spine.indexOf(sub.dirId);
        if (at < 0) continue;
        if (at === change.spine.length - 1) {
          if (change.type === 'child_dir_removed' || change.type === 'self_removed') selfRemoved = true;
          continue;
        }
        if (!sub.recursive && at !== change.spine.length - 2) continue;
        if (sub.filter && !sub.filter.has(change.type)) continue;
        parts ??= op.map((c) => c.rel.split('/'));
        items.push({ type: change.type, path: parts[i].slice(at).join('/'), spine: change.spine.slice(at), stream_name: change.streamName ?? null });
      }
      if (items.length > 0) this.send(sub, `data: ${JSON.stringify(items)}\n\n`);
      if (selfRemoved) {
        // nothing follows self_removed: hand over what is queued and end the stream
        const last = `data: ${JSON.stringify([{ type: 'self_removed', path: '', spine: [sub.dirId], stream_name: null }])}\n\n`;
        const pending = sub.queue.join('') + last;
        this.forget(sub);
        sub.res.end(pending);
      }
    }
  }

  /** Abruptly destroys every stream (connection reset from the client's point of view). */
  dropAll(): number {
    const subs = [...this.subscriptions];
    for (const sub of subs) {
      this.forget(sub);
      sub.res.destroy();
    }
    return subs.length;
  }

  /** Closes every stream the way an overflow does. */
  overflowAll(): number {
    const subs = [...this.subscriptions];
    for (const sub of subs) this.overflow(sub);
    return subs.length;
  }

  /**
   * Overflow: the queued events are discarded and the stream is closed, without an in-band error.
   * A stream that still drains ends cleanly; one whose socket is stuck is destroyed.
   */
  private overflow(sub: Subscription): void {
    const stuck = sub.blocked;
    this.forget(sub);
    if (stuck) sub.res.destroy();
    else sub.res.end();
  }

  private send(sub: Subscription, line: string): void {
    if (sub.closed) return;
    if (!sub.blocked) {
      this.write(sub, line);
      return;
    }
    sub.queue.push(line);
    if (sub.queue.length > this.queueLimit()) this.watchForStall(sub);
  }

  /**
   * Over the limit: overflow unless the socket drains within the stall window. A check that runs
   * late proves nothing (the event loop was busy, e.g. injecting a burst, so nobody could read or
   * drain): it looks again instead.
   */
  private watchForStall(sub: Subscription): void {
    if (sub.stallCheck) return;
    const drainsBefore = sub.drains;
    const due = Date.now() + STALL_WINDOW_MS;
    sub.stallCheck = setTimeout(() => {
      sub.stallCheck = null;
      if (sub.closed || sub.queue.length <= this.queueLimit()) return;
      const late = Date.now() - due > STALL_WINDOW_MS / 2;
      if (sub.drains === drainsBefore && !late) this.overflow(sub);
      else this.watchForStall(sub); // still moving, or not yet given a fair chance: look again
    }, STALL_WINDOW_MS);
  }

  private write(sub: Subscription, chunk: string): void {
    if (sub.closed) return;
    if (!sub.res.write(chunk)) sub.blocked = true;
  }

  private onDrain(sub: Subscription): void {
    if (sub.closed) return;
    sub.drains++;
    sub.blocked = false;
    let taken = 0;
    while (taken < sub.queue.length && !sub.blocked) {
      let chunk = '';
      while (taken < sub.queue.length && chunk.length < BYTES_PER_WRITE) chunk += sub.queue[taken++];
      this.write(sub, chunk);
    }
    sub.queue = taken >= sub.queue.length ? [] : sub.queue.slice(taken);
  }

  private forget(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    sub.queue = [];
    clearInterval(sub.keepAlive);
    if (sub.stallCheck) clearTimeout(sub.stallCheck);
    this.subscriptions.delete(sub);
  }
}
