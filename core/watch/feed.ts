// One qumulo-watch node's side of the registry: the consumer it registers (events, stream
// status, gaps, roles), what it counts and says about them, its status text, and its gap healer
// (core/watch/healing.ts). Pure: the node supplies how to send, log and show a status.
//
// Messages go out only while the flows run: events wait in the registry slot (pause/resume),
// heal results here. A message a deploy cut goes back into the slot (`cut`) and out again with
// its re-send count (core/watch/resends.ts).

import type { QumuloEvent } from '../event';
import { GapHealer, type HealerStatus } from '../heal/healer';
import type { QumuloClient } from '../qumulo/client';
import { isFileId } from '../qumulo/refs';
import type { HealResult } from '../heal/types';
import type { MalformedReport } from '../qumulo/sse';
import type { GapRecord, SubscriptionStatus } from '../qumulo/subscription';
import { displaySafe } from '../display';
import { RateLimitedReports, Throttle } from '../timing';
import { WatchHealing } from './healing';
import { watchRegistry, type BufferOverflow, type WatchHandle, type WatchRegistry, type WatchSpec } from './registry';
import { watchResends, type WatchResends } from './resends';
import type { HealSettings } from './settings';
import { disconnectedText, gapText, healResultText, malformedText, overflowText, watchStatus, type WatchStatusText } from './status';

export const STATUS_INTERVAL_MS = 500;
/** Malformed notifications: a few per interval are reported at once, the rest as one summary. */
export const MALFORMED_REPORT_INTERVAL_MS = 10_000;
export const MALFORMED_REPORT_BURST = 3;

/** Hooks for the metrics (the node passes its counters). */
export interface WatchObserver {
  event(type: string): void;
  reconnect(): void;
  gap(): void;
  heal(result: HealResult): void;
}

export interface WatchFeedOptions {
  /** The node id: the consumer's identity in the registry. */
  id: string;
  /** The cluster's endpoint, for the error text of a failed watch. */
  endpoint: string;
  /** Null: gap healing is off. */
  heal: HealSettings | null;
  /** The cluster client for gap healing (it may change when the cluster config does; throws when closed). */
  client(): QumuloClient;
  /** Where the heal marker lives; null = not persisted (no restart healing). */
  stateDirectory: string | null;
  /** Sends the message of an event; `resent`: how often it was sent again after a deploy cut it. */
  sendEvent(event: QumuloEvent, resent: number | undefined): void;
  /** Sends a heal result (called only while the flows run). */
  sendResult(result: HealResult): void;
  status(shown: WatchStatusText): void;
  log(text: string): void;
  warn(text: string): void;
  /** An error for the log and Catch nodes (`msg`: the message they get). */
  error(text: string, msg?: object): void;
  observer?: WatchObserver;
}

export class WatchFeed {
  readonly handle: WatchHandle;
  private events = 0;
  private lastGap: GapRecord | null = null;
  private subscription: SubscriptionStatus | null = null;
  private closed = false;
  private flowsRunning = false;
  /** Heal results wait here while the flows are not running (a deploy is replacing nodes). */
  private readonly heldResults: HealResult[] = [];
  private readonly healing: WatchHealing;
  /** null: show the status as it is when the throttle fires (not computed per event). */
  private readonly statusThrottle: Throttle<WatchStatusText | null>;
  // One hostile stream produced 200,000 errors in 4 s: each reached every Catch node.
  private readonly malformed: RateLimitedReports<MalformedReport>;

  constructor(
    private readonly spec: WatchSpec,
    private readonly options: WatchFeedOptions,
    registry: Pick<WatchRegistry, 'acquire'> = watchRegistry,
    private readonly resends: WatchResends = watchResends,
  ) {
    const out = options;
    this.statusThrottle = new Throttle<WatchStatusText | null>(STATUS_INTERVAL_MS, (shown) => {
      if (!this.closed) out.status(shown ?? this.status());
    });
    // A synthetic message so Catch nodes see it; the stream itself keeps flowing.
    this.malformed = new RateLimitedReports<MalformedReport>(MALFORMED_REPORT_INTERVAL_MS, MALFORMED_REPORT_BURST, (report, suppressed) =>
      out.error(malformedText(report, suppressed, MALFORMED_REPORT_BURST, MALFORMED_REPORT_INTERVAL_MS), { topic: 'qumulo/malformed', payload: { ...report, suppressed } }),
    );
    const handle = registry.acquire(spec, {
      id: options.id,
      onEvent: (event) => this.onEvent(event),
      onStatus: (s) => this.onStatus(s),
      onDisconnected: (gap) => {
        out.observer?.reconnect();
        this.healing?.onDisconnected(gap);
        out.warn(disconnectedText(gap));
      },
      onGap: (gap) => {
        this.lastGap = gap;
        out.observer?.gap();
        out.warn(gapText(gap, options.heal));
        this.healing?.onGap(gap);
        this.showNow();
      },
      onMalformed: (report) => this.malformed.report(report),
      onRole: () => {
        // While a deploy pauses this node, the role is read again once flows run.
        if (this.flowsRunning ? this.healing?.follow(this.handle.role, false) : !this.closed) this.showNow();
      },
      onBufferOverflow: (overflow) => this.onBufferOverflow(overflow),
    });
    this.handle = handle;
    this.healing = new WatchHealing({
      settings: options.heal,
      elected: spec.election !== undefined,
      ref: spec.ref,
      make: (settings, onStatus) => this.makeHealer(settings, onStatus),
      refreshMarkers: () => handle.sharedMarkers?.refresh() ?? Promise.resolve(),
      log: (text) => out.log(text),
      warn: (text) => out.warn(text),
      changed: (urgent) => (urgent ? this.showNow() : this.statusThrottle.push(this.status())),
    });
  }

  /** The status the node shows now. */
  status(): WatchStatusText {
    return watchStatus({ ref: this.spec.ref, role: this.handle?.role ?? null, subscription: this.subscription, healer: this.healing?.status ?? null, events: this.events, lastGap: this.lastGap });
  }

  /** A deploy cut the message of `event`: it goes out again through the slot (buffered while the deploy runs). */
  cut(event: QumuloEvent): void {
    this.resends.cut(event, this.options.id);
    this.handle.deliver([event]);
  }

  /** The flows run (again): drain the slot, start or follow the healer, send held heal results. */
  flowsStarted(): void {
    if (this.closed) return;
    this.flowsRunning = true;
    const cuts = this.resends.takeCuts(this.options.id);
    if (cuts) this.options.log(`${cuts} message(s) cut by the deploy are sent again`);
    // continued: the registry buffered for this node while a deploy restarted it (no gap).
    if (this.healing.flowsStarted(this.handle.resume(), this.handle.role)) this.showNow();
    for (const result of this.heldResults.splice(0)) this.options.sendResult(result);
  }

  /** A deploy (or shutdown) is stopping the flows: the slot buffers until they run again. */
  flowsStopping(): void {
    this.flowsRunning = false;
    if (!this.closed) this.handle.pause();
  }

  /**
   * Stops showing and reporting, and closes the healer first (it records what is covered while
   * the stream is still up; a removed node deletes its checkpoints). Null when there is no healer
   * to wait for; never rejects. Release the slot afterwards (`release`).
   */
  close(removed: boolean): Promise<void> | null {
    this.closed = true;
    this.statusThrottle.cancel();
    this.malformed.flush();
    return this.healing.close(removed);
  }

  release(removed: boolean): void {
    this.handle.release({ removed });
  }

  private onEvent(event: QumuloEvent): void {
    const resent = this.resends.timesResent(event);
    if (resent === undefined) {
      this.healing?.onEvent(event);
      this.events++;
      this.options.observer?.event(event.type);
    }
    this.options.sendEvent(event, resent);
    this.statusThrottle.push(null);
  }

  private onStatus(s: SubscriptionStatus): void {
    this.healing?.onStatus(s);
    if (s.state === 'error' && this.subscription?.state !== 'error') this.options.error(displaySafe(`Watch on ${this.options.endpoint}${s.watchRoot ?? this.spec.ref}: ${s.lastError ?? 'failed'}`));
    this.subscription = s;
    this.showNow();
  }

  private onBufferOverflow(overflow: BufferOverflow): void {
    this.options.warn(overflowText(overflow));
    this.healing?.onEventsLost('buffer-overflow', `${overflow.dropped} events dropped while the node was restarting`);
    this.statusThrottle.now({ level: 'warning', text: `buffer overflow: ${overflow.dropped} dropped` });
  }

  private makeHealer(settings: HealSettings, onStatus: (status: HealerStatus) => void): GapHealer {
    const { handle, spec, options } = this;
    const healer = new GapHealer({
      client: options.client,
      watchId: handle.watchId,
      consumerId: options.id,
      watchRoot: isFileId(spec.ref) ? null : spec.ref,
      recursive: spec.recursive,
      types: spec.types,
      stateDirectory: options.stateDirectory,
      markerStore: handle.sharedMarkers ?? undefined,
      checkpoints: settings.checkpoints,
      toleranceMs: settings.toleranceMs,
      nextSeq: () => handle.nextSeq(),
      // Through the registry slot: in order with live events, buffered while a deploy runs.
      emit: (healed) => handle.deliver(healed),
      onResult: (result) => this.onHealResult(result),
      onStatus,
      onWarning: (text) => options.warn(text),
    });
    healer.onStatus(handle.status);
    return healer;
  }

  private onHealResult(result: HealResult): void {
    this.options.observer?.heal(result);
    const said = healResultText(result);
    if (said.level === 'log') this.options.log(said.text);
    else this.options.warn(said.text);
    if (this.flowsRunning) this.options.sendResult(result);
    else this.heldResults.push(result);
  }

  private showNow(): void {
    this.statusThrottle.now(this.status());
  }
}
