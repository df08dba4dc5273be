// qumulo-redis-in's side of at-least-once: entries the consumer hands over while a deploy is
// replacing nodes are held and sent once the flows run; a message's journey ending decides what
// happens to its entry (acked, failed, released, or delivered again when a deploy or a late send
// cut it). The journeys themselves are tracked by the node (Node-RED's hooks).

import type { JourneyEnding } from '../journey/tracker';
import type { DeadLetterReport, DeliveredEntry, StreamConsumer } from './consumer';
import type { AckMode } from './node-settings';

/** A message lost outside a deploy is delivered again after this pause (and counted). */
export const LOST_REDELIVERY_MS = 1_000;

type Consumer = Pick<StreamConsumer, 'ack' | 'fail' | 'release' | 'redeliver' | 'isAwaitingAck'>;

export interface DeliveryHooks {
  /** Sends the message of `entry` with id `msgid` into the flow (only while the flows run). */
  send(entry: DeliveredEntry, msgid: string): void;
  /** Whether a deploy is running (a cut then waits for the flows to start). */
  deploying(): boolean;
  warn(text: string): void;
  log(text: string): void;
}

export class Deliveries {
  /** Set by the node from the flows' lifecycle. */
  private flowsRunning = false;
  private closed = false;
  private warnedUnacked = false;
  /** Entries the consumer handed over while a deploy was replacing nodes: sent once flows run. */
  private readonly heldBack: Array<[DeliveredEntry, string]> = [];
  /** Entries whose message a deploy cut: delivered again once the flows run. */
  private readonly cutDuringDeploy = new Set<string>();

  constructor(
    private readonly consumer: Consumer,
    private readonly ackMode: AckMode,
    private readonly hooks: DeliveryHooks,
  ) {}

  /** Sends one entry as message `msgid`, or holds it while the flows do not run. */
  deliver(entry: DeliveredEntry, msgid: string): void {
    if (this.flowsRunning) this.hooks.send(entry, msgid);
    else this.heldBack.push([entry, msgid]);
  }

  /** The journey of the message carrying entry `entryId` ended. */
  ended(entryId: string, ending: JourneyEnding): void {
    const consumer = this.consumer;
    if (ending.kind === 'cut') {
      if (this.ackMode === 'receipt' || this.closed) return; // acked already / stays pending for the next start
      if (!this.flowsRunning || this.hooks.deploying()) {
        this.cutDuringDeploy.add(entryId);
      } else {
        // Lost while the flows run (a late send from a stopped node, a wire to a node that
        // failed to start): again after a pause, counted, so a permanent loss dead-letters.
        setTimeout(() => void consumer.redeliver(entryId, true), LOST_REDELIVERY_MS).unref();
      }
      return;
    }
    if (ending.kind === 'failed') return consumer.fail(entryId, ending.error);
    if (this.ackMode === 'complete') {
      consumer.ack(entryId).catch(() => undefined); // retried inside the consumer
      return;
    }
    if (this.ackMode === 'node' && consumer.isAwaitingAck(entryId) && !this.warnedUnacked) {
      this.warnedUnacked = true;
      this.hooks.warn(`a message finished its journey without reaching a qumulo-ack node (entry ${entryId}); it stays pending and is delivered again after the claim idle time. Wire every path, including "no match", to a qumulo-ack node, or use ack mode "when the flow is done".`);
    }
    // Ack node mode: free the slot (an unacknowledged entry comes back later). Receipt mode: done.
    consumer.release(entryId);
  }

  /** The flows run: send what was held, then (after the journeys' own sweep) deliver again what the deploy cut. */
  started(): void {
    if (this.closed) return;
    this.flowsRunning = true;
    for (const [entry, msgid] of this.heldBack.splice(0)) this.hooks.send(entry, msgid);
    setImmediate(() => {
      if (this.closed || !this.flowsRunning) return;
      const ids = [...this.cutDuringDeploy];
      this.cutDuringDeploy.clear();
      if (ids.length > 0) this.hooks.log(`${ids.length} message(s) cut by the deploy are delivered again`);
      for (const id of ids) void this.consumer.redeliver(id, false);
    });
  }

  /** A deploy (or shutdown) is stopping the flows: hold what comes until they run again. */
  stopping(): void {
    this.flowsRunning = false;
  }

  /** Closed: what a deploy cut stays pending in Redis (for the node that replaces this one); returns how many. */
  close(): number {
    this.closed = true;
    const cut = this.cutDuringDeploy.size;
    this.cutDuringDeploy.clear();
    return cut;
  }
}

/** Where a message's entry came from (`msg.redis`). */
export interface EntrySource {
  stream: string;
  group: string;
  consumer: string;
}

const topicOf = (event: unknown): string => {
  const type = (event as { type?: unknown } | null | undefined)?.type;
  return typeof type === 'string' ? type : '';
};

/** `msg.redis` of a delivered entry. */
export interface RedisMessageInfo extends EntrySource {
  id: string;
  deliveries: number;
}

/** The message of a delivered entry: payload = event, topic = its type, `msg.redis` = where it came from. */
export function entryMessage(entry: DeliveredEntry, source: EntrySource, msgid: string): { _msgid: string; payload: unknown; topic: string; redis: RedisMessageInfo } {
  return { _msgid: msgid, payload: entry.event, topic: topicOf(entry.event), redis: { ...source, id: entry.id, deliveries: entry.deliveries } };
}

/** The error text and the synthetic message (for Catch nodes: alert, re-drive) of a dead-lettered entry. */
export function deadLetterMessage(report: DeadLetterReport, source: EntrySource) {
  const text = `entry ${report.id} moved to dead-letter stream ${report.deadLetterStream} (${report.deadLetterId}): ${report.error}`;
  const redis = { ...source, id: report.id, deliveries: report.deliveries, deadLetterStream: report.deadLetterStream, deadLetterId: report.deadLetterId };
  return { text, msg: { payload: report.event, topic: topicOf(report.event), redis, error: { message: report.error } } };
}
