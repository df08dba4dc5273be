// What the qumulo-all-stop node does with a message, without Node-RED: activate the all-stop of its
// cluster (once; later triggers are counted), optionally take a snapshot, or reset it, and say so
// in one result. The state itself lives in AllStopStore (core/actions/allstop.ts).

import type { QumuloEvent } from '../event';
import { displaySafe } from '../display';
import { safeAbsoluteDir, type ActionClient, type ActionResult } from '../actions';
import { formatRetention, parseRetentionSpec, resolveRetention, type RetentionSpec } from '../time/duration';
import type { AllStopState, AllStopStore } from './allstop';

export interface AllStopSettings {
  snapshotPath: string | null;
  expiration: RetentionSpec | null;
}

/** The dialog's snapshot fields (both optional); throws a user-facing message when invalid. */
export function allStopSettings(config: { snapshotPath?: unknown; snapshotExpiration?: unknown }): AllStopSettings {
  const pathText = String(config.snapshotPath ?? '').trim();
  const expirationText = String(config.snapshotExpiration ?? '').trim();
  return {
    snapshotPath: pathText ? safeAbsoluteDir(pathText, 'snapshot path') : null,
    expiration: expirationText ? parseRetentionSpec(expirationText) : null,
  };
}

/** What a message that resets instead of triggers says: `msg.topic` "reset" (any case). */
export function isResetTopic(topic: unknown): boolean {
  return String(topic ?? '').toLowerCase() === 'reset';
}

export interface AllStopOutcome {
  action: 'trigger' | 'reset';
  state: AllStopState;
  /** Whether this message changed the state (activated or reset it). */
  changed: boolean;
  result: ActionResult;
  /** Set when the stop is active but its snapshot failed. */
  error?: Error;
}

/** Who sent a trigger: the node and the message. */
export interface TriggerSource {
  nodeId: string;
  nodeName?: string;
  topic?: unknown;
  payload?: unknown;
}

const result = (path: string, outcome: ActionResult['outcome'], detail: string, started: number): ActionResult => ({ action: 'all-stop', path, outcome, detail, durationMs: Date.now() - started });

/** One cluster's all-stop as one all-stop node operates it. */
export class AllStopSwitch {
  constructor(
    readonly store: AllStopStore,
    readonly key: string,
    private readonly settings: AllStopSettings,
    /** Takes the snapshot; null only when no snapshot path is configured. */
    private readonly client: Pick<ActionClient, 'getAttributes' | 'createSnapshot'> | null,
    private readonly warn: (text: string) => void,
  ) {}

  get state(): AllStopState {
    return this.store.get(this.key);
  }

  /** Resets; `fromButton`: the dialog's Reset always reports a reset, a message says when nothing was active. */
  reset(by: string, fromButton = false): AllStopOutcome {
    const before = this.state.active;
    const { state, changed } = this.store.reset(this.key, by);
    if (changed) this.warn(`ALL-STOP on ${this.key} reset by ${by}: actions resume`);
    if (fromButton) return { action: 'reset', state, changed: true, result: { ...result('', 'done', `all-stop reset by ${by}`, Date.now()), durationMs: 0 } };
    return { action: 'reset', state, changed: before, result: { ...result('', before ? 'done' : 'skipped', before ? 'all-stop reset' : 'all-stop was not active', Date.now()), durationMs: 0 } };
  }

  /** Activates (or counts a repeat); `reply` gets the outcome at once, or after the snapshot when one is configured. */
  trigger(source: TriggerSource, reply: (outcome: AllStopOutcome) => void): void {
    const started = Date.now();
    const event = source.payload && typeof source.payload === 'object' ? (source.payload as Partial<QumuloEvent>) : null;
    const topic = source.topic === undefined ? undefined : String(source.topic);
    const where = event?.path ? `${event.type ?? 'event'} on ${event.path}` : `message${source.topic ? ` "${topic}"` : ''}`;
    const { state, changed } = this.store.activate(this.key, `triggered by ${where}`, { nodeId: source.nodeId, nodeName: source.nodeName, path: event?.path, type: event?.type, topic });
    const path = typeof event?.path === 'string' ? event.path : '';
    if (!changed) return reply({ action: 'trigger', state, changed, result: result(path, 'skipped', `all-stop already active since ${state.since}`, started) });
    // The reason names the triggering file: shown escaped (control/bidi characters).
    this.warn(displaySafe(`ALL-STOP activated on ${this.key}: ${state.reason}. Every action node on this cluster refuses to act until reset.`));
    const snapshotPath = this.settings.snapshotPath;
    if (!snapshotPath) return reply({ action: 'trigger', state, changed, result: result(path, 'done', `all-stop activated on ${this.key}`, started) });
    this.takeSnapshot(snapshotPath, source.nodeId).then(
      (snapshot) => {
        this.store.setSnapshot(this.key, snapshot);
        reply({ action: 'trigger', state: this.state, changed, result: result(path, 'done', `all-stop activated on ${this.key}; snapshot ${snapshot.name} of ${snapshotPath}`, started) });
      },
      (err: unknown) => {
        // The stop stays active: only the snapshot failed.
        const error = new Error(`all-stop activated on ${this.key}, but the snapshot of ${snapshotPath} failed: ${(err as Error).message}`);
        reply({ action: 'trigger', state: this.state, changed, error, result: { ...result(path, 'failed', error.message, started), error: { message: (err as Error).message } } });
      },
    );
  }

  private async takeSnapshot(path: string, nodeId: string): Promise<NonNullable<AllStopState['snapshot']>> {
    if (!this.client) throw new Error('no cluster client to take it with');
    const attrs = await this.client.getAttributes(path);
    const expiration = this.settings.expiration ? formatRetention(resolveRetention(this.settings.expiration, new Date())) : null;
    const snapshot = await this.client.createSnapshot({ sourceFileId: String(attrs.id), nameSuffix: 'qumulo-flow-all-stop', expiration }, { origin: `qumulo-all-stop:${nodeId}` });
    return { id: snapshot.id, name: snapshot.name, path };
  }
}
