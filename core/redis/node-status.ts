// What the Redis nodes show: the connection's state, the consumer's figures, and the writer's
// tally of appends (written, refused by a lease fence, failed). Pure; the nodes turn `level`
// into a status dot.

import type { ConnectionStatus } from './connection';
import type { ConsumerHandlers, ConsumerStats } from './consumer';
import { deadLetterMessage, type EntrySource } from './delivery';
import { redisErrorText } from './errors';
import type { AppendFence } from './writer';

export interface RedisStatusText {
  level: 'ok' | 'connecting' | 'error';
  text: string;
}

/** The status of a connection (shared by the Redis nodes). */
export function connectionStatusText(state: ConnectionStatus): RedisStatusText {
  switch (state.state) {
    case 'connected':
      return { level: 'ok', text: 'connected' };
    case 'connecting':
      return { level: 'connecting', text: 'connecting' };
    case 'reconnecting':
      return { level: 'connecting', text: 'reconnecting' };
    case 'error':
      return { level: 'error', text: state.error ? `reconnecting: ${state.error}` : 'error' };
    default:
      return { level: 'error', text: 'disconnected' };
  }
}

/** qumulo-redis-in: the connection, else the read loop's error, else the consumer's figures. */
export function consumerStatusText(connection: ConnectionStatus, loopError: string | null, stats: ConsumerStats | null): RedisStatusText {
  if (connection.state !== 'connected') return connectionStatusText(connection);
  if (loopError) return { level: 'error', text: loopError };
  if (!stats) return { level: 'ok', text: 'connected' };
  const parts = [`in flight ${stats.inFlight}`];
  if (stats.pending !== undefined) parts.push(`pending ${stats.pending}`);
  if (stats.lag !== undefined && stats.lag !== null) parts.push(`lag ${stats.lag}`);
  if (stats.deadLettered > 0) parts.push(`dead ${stats.deadLettered}`);
  return { level: 'ok', text: parts.join(' · ') };
}

/** The fence a message asks for (`msg.lease` set by a qumulo-watch with scale-out), if well formed. */
export function appendFenceOf(lease: unknown): AppendFence | undefined {
  const l = lease as Partial<AppendFence> | null | undefined;
  return l && typeof l.key === 'string' && typeof l.token === 'string' ? { key: l.key, token: l.token } : undefined;
}

/** What became of one append, for the node: the error for done(), a warning, and how soon to show it. */
export interface AppendOutcome {
  error?: Error;
  warning?: string;
  /** now: the status changed in kind; soon: only a count changed. */
  show: 'now' | 'soon';
}

/**
 * qumulo-redis-out's tally: appends written, refused by a fence (a stale leader's events: counted
 * and warned once per term, not errors — the current leader delivers them), and the last error.
 */
export class AppendTally {
  written = 0;
  fenced = 0;
  lastError: string | null = null;
  private lastFencedToken = '';

  /** Records Redis' answer for one append to `key` (with `fence`, if the message had one). */
  settle(err: Error | null | undefined, key: string, fence: AppendFence | undefined): AppendOutcome {
    if (err?.name === 'FencedError' && fence) {
      this.fenced++;
      let warning: string | undefined;
      if (fence.token !== this.lastFencedToken) {
        this.lastFencedToken = fence.token;
        warning = (err as Error & { current?: string | null }).current
          ? `Not appended: the watch lease term ${fence.token} is over (another instance leads the watch now); events of that term are dropped here`
          : `Not appended: the watch lease ${fence.key} does not exist on this Redis — is this node on the same Redis server as the watch's Scale-out setting? (or the lease just ran out)`;
      }
      return { warning, show: 'now' };
    }
    if (err) {
      this.lastError = redisErrorText(err);
      return { error: new Error(`XADD to ${key} failed: ${this.lastError}`), show: 'now' };
    }
    this.written++;
    if (!this.lastError) return { show: 'soon' };
    this.lastError = null;
    return { show: 'now' };
  }

  status(connection: ConnectionStatus): RedisStatusText {
    if (connection.state !== 'connected') return connectionStatusText(connection);
    if (this.lastError) return { level: 'error', text: this.lastError };
    const refused = this.fenced > 0 ? ` · fenced ${this.fenced}` : '';
    return { level: 'ok', text: (this.written > 0 ? `written ${this.written}` : 'connected') + refused };
  }
}

/** qumulo-redis-in's view of its consumer: the connection, the read loop's error, the latest figures. */
export class ConsumerView {
  connection: ConnectionStatus = { state: 'connecting' };
  loopError: string | null = null;
  stats: ConsumerStats | null = null;

  status(): RedisStatusText {
    return consumerStatusText(this.connection, this.loopError, this.stats);
  }

  /**
   * The consumer's handlers that report and update this view (the node adds `deliver` and
   * `timedOut`). `changed(urgent)`: the status changed, to show at once or with the throttle.
   */
  handlers(source: EntrySource, out: { warn(text: string): void; error(text: string, msg?: object): void; changed(urgent: boolean): void }): Pick<ConsumerHandlers, 'deadLettered' | 'warning' | 'error' | 'healthy' | 'stats'> {
    return {
      deadLettered: (report) => {
        const { text, msg } = deadLetterMessage(report, source);
        out.error(text, msg);
        out.changed(false);
      },
      warning: (text) => out.warn(text),
      error: (err) => {
        this.loopError = redisErrorText(err);
        out.error(`reading ${source.stream} as ${source.group}/${source.consumer}: ${this.loopError}`);
        out.changed(true);
      },
      healthy: () => {
        this.loopError = null;
        out.changed(true);
      },
      stats: (latest) => {
        this.stats = latest;
        out.changed(false);
      },
    };
  }
}
