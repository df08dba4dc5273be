// What the qumulo-settle node adds around the Settler (core/actions/settle.ts): its settings, the
// completion of held messages (each is done once the coalesced message it became part of is sent),
// holding back sends until the flows run, and handing pending files to the node that replaces a
// restarted one. Timers and maps only; no Node-RED in here.

import type { QumuloEvent } from '../event';
import { SETTLE_ACTIVITY_TYPES, settleKey, Settler, systemClock, type SettleClock, type SettleEntry, type SettleReason, type SettlerOptions } from './settle';
import { numberSetting } from '../settings';

/** The dialog's quiet time (seconds, default 5) and cap on held files (default 10,000). */
export function settleSettings(config: { quietSeconds?: unknown; maxPending?: unknown }): SettlerOptions {
  const quiet = numberSetting(config.quietSeconds, 5, { what: 'quiet time (seconds)', min: 0, max: 86400 });
  const maxPending = numberSetting(config.maxPending, 10_000, { what: 'maximum held files', min: 1, integer: true });
  return { quietMs: Math.round(quiet * 1000), maxPending };
}

export type SettleMessage = { payload: QumuloEvent; settle?: Record<string, unknown> };

/**
 * Coalesces messages per file and sends each file's latest once it has been quiet, with
 * `msg.settle = {count, firstAt, lastAt, types, reason, key}`. Sends wait until open() (the flows
 * run); the done() of every message a sent one stands for is called right after it is sent.
 */
export class SettleOutbox<M extends SettleMessage> {
  sent = 0;
  private readonly settler: Settler<M>;
  private readonly holding = new Map<string, Array<() => void>>();
  private readonly waiting: Array<{ entry: SettleEntry<M>; reason: SettleReason }> = [];
  private isOpen = false;

  constructor(
    options: SettlerOptions,
    private readonly send: (msg: M) => void,
    clock: SettleClock = systemClock,
  ) {
    this.settler = new Settler<M>(options, (entry, reason) => (this.isOpen ? this.deliver(entry, reason) : this.waiting.push({ entry, reason })), clock);
  }

  /** Files held now. */
  get holdingCount(): number {
    return this.settler.size;
  }

  /** Files sent early because the cap was reached. */
  get overflowCount(): number {
    return this.settler.overflowCount;
  }

  /** Takes a message; `done` is called once the coalesced message it joins has been sent. */
  add(msg: M, done: () => void): void {
    const key = settleKey(msg.payload);
    const dones = this.holding.get(key);
    if (dones) dones.push(done);
    else this.holding.set(key, [done]);
    const type = String(msg.payload.type);
    this.settler.add(key, msg, type, SETTLE_ACTIVITY_TYPES.has(type));
  }

  /** The flows run: sends go out from now on, the ones held back first. Repeats do nothing. */
  open(): void {
    if (this.isOpen) return;
    this.isOpen = true;
    for (const w of this.waiting.splice(0)) this.deliver(w.entry, w.reason);
  }

  /** Sends everything now, held or not (the node is removed). */
  flushAll(): void {
    this.open();
    this.settler.flush();
  }

  /** Takes out everything pending, unsent (for the node that replaces this one). */
  takeAll(): SettleEntry<M>[] {
    return [...this.waiting.splice(0).map((w) => w.entry), ...this.settler.take()];
  }

  /** Pending files of a predecessor, with their quiet-time clocks. */
  adopt(entries: readonly SettleEntry<M>[]): void {
    if (entries.length > 0) this.settler.adopt(entries);
  }

  stop(): void {
    this.settler.stop();
  }

  status(): { level: 'ok' | 'warning'; text: string } {
    const overflow = this.settler.overflowCount;
    const text = `holding ${this.settler.size} · sent ${this.sent}${overflow ? ` · ${overflow} early (full)` : ''}`;
    return { level: overflow ? 'warning' : 'ok', text };
  }

  private deliver(entry: SettleEntry<M>, reason: SettleReason): void {
    const msg = entry.latest;
    msg.settle = { count: entry.count, firstAt: entry.firstAt, lastAt: entry.lastAt, types: entry.types, reason, key: entry.key };
    this.sent++;
    this.send(msg);
    const dones = this.holding.get(entry.key);
    if (dones) {
      this.holding.delete(entry.key);
      for (const done of dones) done();
    }
  }
}

/**
 * Items parked by id for a successor (a node restarted by a deploy), dropped with a report when
 * none takes them within `graceMs`.
 */
export class Handovers<T> {
  private readonly parked = new Map<string, { items: T[]; timer: NodeJS.Timeout }>();

  constructor(private readonly graceMs: number) {}

  park(id: string, items: T[], onDropped: (count: number) => void): void {
    if (items.length === 0) return;
    items = [...this.take(id), ...items];
    const timer = setTimeout(() => {
      this.parked.delete(id);
      onDropped(items.length);
    }, this.graceMs);
    timer.unref();
    this.parked.set(id, { items, timer });
  }

  take(id: string): T[] {
    const parked = this.parked.get(id);
    if (!parked) return [];
    this.parked.delete(id);
    clearTimeout(parked.timer);
    return parked.items;
  }
}
