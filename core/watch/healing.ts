// The gap healer of one watch consumer through its life: made at once (no election) or per lease
// term while this instance leads (a scale-out), started once the flows run, told about the stream,
// and closed with the node. The healer itself is core/heal/healer.ts; how to make one (the
// cluster client, the registry slot) comes from the caller.

import type { GapHealer, HealerStatus } from '../heal/healer';
import type { BlindReason } from '../heal/types';
import type { GapRecord, SubscriptionStatus } from '../qumulo/subscription';
import type { QumuloEvent } from '../event';
import { TermFollower } from '../scale/follow';
import type { LeaseInfo } from '../scale/lease';
import type { HealSettings } from './settings';
import { roleText } from './status';

export interface WatchHealingOptions {
  /** Null: healing is off (the election is still followed for the log). */
  settings: HealSettings | null;
  /** With an election the healer runs only while this instance leads. */
  elected: boolean;
  /** The watched directory, for log lines. */
  ref: string;
  make(settings: HealSettings, onStatus: (status: HealerStatus) => void): GapHealer;
  /** Reads the heal markers shared by the instances before a term's healer starts. */
  refreshMarkers(): Promise<void>;
  log(text: string): void;
  warn(text: string): void;
  /** The healer's status changed: `urgent` to show at once, else it may wait for the throttle. */
  changed(urgent: boolean): void;
}

export class WatchHealing {
  /** The current healer's status (null: none, or not reported yet). */
  status: HealerStatus | null = null;
  private healer: GapHealer | null = null;
  private started = false;
  private closed = false;
  private readonly term = new TermFollower();

  constructor(private readonly options: WatchHealingOptions) {
    if (options.settings && !options.elected) this.healer = this.make(options.settings);
  }

  onEvent(event: QumuloEvent): void {
    this.healer?.onEvent(event);
  }
  onStatus(status: SubscriptionStatus): void {
    this.healer?.onStatus(status);
  }
  onDisconnected(gap: GapRecord): void {
    this.healer?.onDisconnected(gap);
  }
  onGap(gap: GapRecord): void {
    this.healer?.onGap(gap);
  }
  onEventsLost(reason: BlindReason, detail: string): void {
    this.healer?.onEventsLost(reason, detail);
  }

  /**
   * The flows run (again): with an election, follow the current role; else start the healer once.
   * `continued`: the registry buffered for this consumer while it was away (no gap).
   */
  flowsStarted(continued: boolean, role: LeaseInfo | null): boolean {
    if (this.options.elected) return this.follow(role, continued);
    if (this.healer && !this.started) {
      this.started = true;
      this.healer.start({ resumed: continued });
    }
    return false;
  }

  /**
   * Election: start or stop leading (the healer) to match `info`. Returns false when there is
   * nothing to follow (no role yet, or closed); true otherwise (the status may have changed).
   */
  follow(info: LeaseInfo | null, continued: boolean): boolean {
    if (!info || this.closed) return false;
    const token = this.term.follow(info);
    if (token === undefined) return true;
    this.options.log(roleText(info, token, this.options.ref));
    const previous = this.healer;
    this.healer = null;
    this.started = false;
    this.status = null;
    // A lost term's marker is not written to Redis (fenced): the next leader heals from the last good one.
    previous?.close(false).catch((err: unknown) => this.options.warn(`Gap healing did not close cleanly: ${(err as Error).message}`));
    const settings = this.options.settings;
    if (token && settings) {
      const next = this.make(settings);
      this.healer = next;
      this.options
        .refreshMarkers()
        .catch((err: unknown) => this.options.warn(`Heal markers could not be read from Redis (${(err as Error).message}); a gap before this term cannot be healed`))
        .then(() => {
          if (this.healer !== next || this.closed) return;
          this.started = true;
          next.start({ resumed: continued });
        });
    }
    return true;
  }

  /**
   * Closes the healer (a removed node deletes its checkpoint snapshots); null when there is none,
   * so the caller can finish at once. Never rejects.
   */
  close(removed: boolean): Promise<void> | null {
    this.closed = true;
    if (!this.healer) return null;
    return this.healer.close(removed).catch((err: unknown) => this.options.warn(`Gap healing did not close cleanly: ${(err as Error).message}`));
  }

  private make(settings: HealSettings): GapHealer {
    const made = this.options.make(settings, (status) => {
      const wasHealing = this.status?.state === 'healing';
      this.status = status;
      // Short heals do not flash a status; the end of a heal shows at once.
      if (status.state === 'healing') this.options.changed(false);
      else if (wasHealing || status.state === 'failed') this.options.changed(true);
    });
    if (settings.checkpoints.enabled) this.options.log(`Checkpoint snapshots of ${this.options.ref} are named *_${made.checkpointSuffix}`);
    return made;
  }
}
