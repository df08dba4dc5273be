// The shared adapter of the cluster action nodes (lock, quarantine, chmod, rename): one place
// for the dry-run switch, the result message, the all-stop check, the status dot, concurrency
// and done()/done(err). Each node only says how to build its action from its configuration.
//
// Concurrency: inputs are handled concurrently (no queue inside the node); the cluster client's
// shared per-cluster limit bounds what is in flight. Results leave in completion order. Inputs
// for a file whose action is still running join it (per-file coalescing, see sharedByFile).
// Every input yields exactly one output message (`msg.result`, appended to `msg.results`), also
// on failure — the audit trail needs it — and failures additionally go to done(err), which
// Node-RED turns into node.error(err, msg) so Catch nodes see them. With the audit option on,
// the result's audit record is written first: the message moves on (and is done) only after it.

import * as os from 'node:os';
import * as path from 'node:path';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { QumuloEvent } from '../../core/event';
import { displaySafe } from '../../core/display';
import {
  AllStopRefusal,
  eventProblem,
  runAction,
  type Action,
  type ActionContext,
  type ActionName,
  type ActionResult,
  type ApplyTo,
  type LegalHoldChoice,
  type LockOptions,
  type RunOutcome,
} from '../../core/actions';
import { getCluster, type QumuloClusterNode } from './cluster';
import { finishAfterSettled } from './lifecycle';
import { registerNodeType, stateDirectory } from './runtime';
import { isTrue } from '../../core/settings';
import { Throttle, status, statusDot, type StatusDot } from './status';
import { recordActionResult } from '../../core/metrics';
import { AllStopStore } from '../../core/allstop/allstop';
import { clusterIdentity } from '../../core/qumulo/identity';
import { durationMs, parseDuration, parseRetentionSpec } from '../../core/time/duration';
import { ResultRecorder } from '../../core/audit';

export interface ActionNodeConfig extends NodeDef {
  cluster?: string;
  dryRun?: boolean | string;
  /** Record each result in the audit trail (the default audit directory) before passing it on. */
  audit?: boolean | string;
}

export interface ActionNodeSpec<C extends ActionNodeConfig> {
  type: string;
  action: ActionName;
  /** Builds the action; throws with a user-facing message when the configuration is invalid. */
  build(config: C): Action;
  /** What the node is set to, for the idle status, e.g. "lock 30d". */
  describe(config: C): string;
}

export type ResultMessage = NodeMessage & { payload: QumuloEvent; result?: ActionResult; results?: ActionResult[] };

const STATUS_INTERVAL_MS = 500;
/** Close waits this long for actions in flight so their results are not lost on a deploy. */
const CLOSE_WAIT_MS = 10_000;

export { isTrue } from '../../core/settings';

/** The all-stop store and this cluster's key, shared by the action nodes and qumulo-all-stop. */
export function allStopFor(RED: NodeAPI, cluster: QumuloClusterNode): { store: AllStopStore; key: string } {
  const options = cluster.clientOptions!;
  return { store: AllStopStore.forDirectory(userStateDirectory(RED)), key: clusterIdentity(options) };
}

/** Where the all-stop state and the audit trail live: Node-RED's user directory, else ~/.node-red. */
export function userStateDirectory(RED: NodeAPI): string {
  return stateDirectory(RED, path.join(os.homedir(), '.node-red'));
}

/** The audit trail's directory when none is configured (qumulo-audit's default, and the action nodes' audit option). */
export function defaultAuditDirectory(RED: NodeAPI): string {
  return path.join(userStateDirectory(RED), 'qumulo-flow-audit');
}

/** An action or email node's status with its audit option's failures: counted, and red while writes fail. */
export function withAuditFailures<T extends Parameters<typeof statusDot>[0]>(shown: T, recorder: ResultRecorder | null): T | { level: 'error'; text: string } {
  if (!recorder?.failures) return shown;
  const text = `${shown.text} · ${recorder.failures} not in audit trail`;
  return recorder.lastFailure ? { level: 'error', text } : { ...shown, text };
}

/** A message from a queue entry delivered before (msg.redis.deliveries of qumulo-redis-in). */
function isRedelivery(msg: object): boolean {
  const deliveries = ((msg as { redis?: unknown }).redis as { deliveries?: unknown } | undefined)?.deliveries;
  return typeof deliveries === 'number' && deliveries > 1;
}

/** The audit option of an action node: a recorder on the default audit directory when it is ticked, else null. */
export function auditRecorderFor(RED: NodeAPI, node: Node, config: { audit?: boolean | string }): ResultRecorder | null {
  // Shared with every other user of the directory (qumulo-audit nodes included): one file, one group commit.
  return isTrue(config.audit) ? ResultRecorder.open(defaultAuditDirectory(RED), node.id) : null;
}

/**
 * Sends the message on and completes it (done, or done(err) with `error`), exactly once: at once
 * without a recorder, else once its newest result is in the audit trail. A result whose record
 * could not be written is not passed on (as a qumulo-audit node would not): done(err) reports it
 * to a Catch node, and through the Redis queue the entry is not acknowledged (no qumulo-ack sees
 * the message; ack on complete sees the error), so it comes back and is recorded then — the
 * action itself is idempotent. A send that throws (a hook's error) still completes the input,
 * with that error: with a recorder this runs in the audit log's write turn, where nothing else
 * would finish it.
 */
export function passOnRecorded(
  recorder: ResultRecorder | null,
  type: string,
  msg: ResultMessage,
  send: (msg: NodeMessage) => void,
  done: (err?: Error) => void,
  error: Error | undefined,
  /** Shows the node's status again: after a record that failed, or one that ended a run of failures. */
  showStatus?: () => void,
): void {
  let called = false;
  const finish = (finalError: Error | undefined, passOn: boolean): void => {
    if (called) return;
    called = true;
    if (passOn) {
      try {
        send(msg);
      } catch (err) {
        finalError ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (finalError) done(finalError);
    else done();
  };
  if (!recorder) return finish(error, true);
  const notRecorded = (auditError: unknown): void => {
    const reason = auditError instanceof Error ? auditError.message : String(auditError);
    const also = error ? ` (the action itself failed too: ${error.message})` : '';
    finish(new Error(`${type}: the audit record was not written, so the result is not passed on: ${reason}${also}`), false);
    showStatus?.();
  };
  try {
    recorder.recordNewest(msg, (auditError) => {
      if (auditError) return notRecorded(auditError);
      finish(error, true);
      if (recorder.failures > 0) showStatus?.();
    });
  } catch (err) {
    // A message the record cannot be made of: reported like a failed write.
    notRecorded(err);
  }
}

/**
 * A closing action node: runs `finish` once `work` has settled and, with the audit option, the
 * records it leads to are written (at most `waitMs` in all), then gives the recorder back and
 * calls done.
 */
export function closeAfterRecorded(work: Iterable<Promise<unknown>>, recorder: ResultRecorder | null, waitMs: number, finish: () => void, done: () => void): void {
  // Results are recorded after their work settles: wait for those writes too.
  const all = recorder ? [Promise.allSettled(work).then(() => recorder.settled())] : work;
  finishAfterSettled(all, waitMs, () => {
    finish();
    if (recorder) void recorder.close().finally(() => done());
    else done();
  });
}

/** Short clock text for status dots: "14:03" today, else the date. */
export function shortTime(iso: string | null): string {
  if (!iso) return '?';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '?';
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? d.toTimeString().slice(0, 5) : d.toISOString().slice(0, 10);
}

/** Attaches a result: `msg.result` is this node's, `msg.results` the trail of every action node passed. */
export function attachResult(msg: ResultMessage, result: ActionResult): void {
  msg.result = result;
  msg.results = Array.isArray(msg.results) ? [...msg.results, result] : [result];
}

/** Lock settings shared by qumulo-lock and qumulo-quarantine's optional lock. */
/** The re-lock threshold when the field is empty: what the dialog shows as its default. */
export const DEFAULT_RELOCK_THRESHOLD = '1d';

export function lockOptionsFromConfig(config: { retention?: string; legalHold?: string; relockThreshold?: string }): LockOptions {
  const retentionText = String(config.retention ?? '').trim();
  const legalHold = (['leave', 'on', 'off'].includes(String(config.legalHold)) ? config.legalHold : 'leave') as LegalHoldChoice;
  const thresholdText = String(config.relockThreshold ?? '').trim();
  return {
    retention: retentionText ? parseRetentionSpec(retentionText) : null,
    legalHold,
    // Empty means the dialog's default (1d, docs/actions.md); only an explicit 0 turns it off.
    extendThresholdMs: thresholdText === '0' ? 0 : durationMs(parseDuration(thresholdText || DEFAULT_RELOCK_THRESHOLD), new Date()),
  };
}

/** `files` / `directories` / `both` from a config value. */
export function applyToFrom(value: unknown, fallback: ApplyTo): ApplyTo {
  return value === 'files' || value === 'directories' || value === 'both' ? value : fallback;
}

/** Inputs that may wait on one shared action per file (then the rest start their own). */
export const MAX_JOINED = 1000;

interface PendingInput {
  msg: ResultMessage;
  send: (msg: NodeMessage) => void;
  done: (err?: Error) => void;
  /** Its result is on its way (possibly waiting for its audit record): completion is in hand. */
  finished?: boolean;
}

interface SharedAction {
  joined: Array<PendingInput & { arrived: number }>;
}

/**
 * Which inputs may share one action: the same file at the same path (file id and path when the
 * event has an id). An event for the same file id at another path is news (the file moved) and
 * gets its own action: a rename or quarantine must act on where the file is now.
 */
export function coalesceKey(payload: unknown): string | null {
  if (eventProblem(payload) !== null) return null;
  const event = payload as QumuloEvent;
  return event.fileId ? String(event.fileId) + '\u0000' + event.path : event.path;
}

/** The result of an input that joined another's action: the shared outcome, marked as joined. */
export function joinedResult(shared: ActionResult, joinedTo: string | null, arrived: number): ActionResult {
  return {
    ...shared,
    detail: `${shared.detail} (joined the ${shared.action} already running for this file)`,
    joined: true,
    joinedTo,
    durationMs: Math.round((performance.now() - arrived) * 1000) / 1000,
  };
}

function abortController(): AbortController {
  const controller = new AbortController();
  // Every mutation in flight listens on it (undici removes its listener when the request ends).
  setMaxListeners(0, controller.signal);
  return controller;
}

export function registerActionNode<C extends ActionNodeConfig>(RED: NodeAPI, spec: ActionNodeSpec<C>): void {
  function ActionNode(this: Node, config: C): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const dryRun = isTrue(config.dryRun);
    const origin = `${spec.type}:${node.id}`;
    const counts = { done: 0, skipped: 0, 'dry-run': 0, failed: 0, joined: 0 };
    const inflight = new Set<Promise<void>>();
    let lastFailed: string | null = null;
    let closed = false;

    const cluster = getCluster(RED, node, config.cluster);
    let action: Action | null = null;
    let configError: string | null = cluster ? null : 'no usable qumulo-cluster configured';
    if (cluster) {
      try {
        action = spec.build(config);
      } catch (err) {
        configError = (err as Error).message;
        node.status(status.error(configError));
        node.error(`${spec.type}: ${configError}`);
      }
    }
    const allStop = cluster && action ? allStopFor(RED, cluster) : null;
    const recorder = auditRecorderFor(RED, node, config);

    const describe = (): StatusDot => {
      if (configError) return status.error(configError);
      if (allStop) {
        const state = allStop.store.get(allStop.key);
        if (state.active) return status.error(`ALL-STOP since ${shortTime(state.since)}`);
      }
      const prefix = dryRun ? 'dry-run · ' : '';
      const total = counts.done + counts.skipped + counts['dry-run'] + counts.failed;
      if (total === 0 && !recorder?.failures) return status.ok(`${prefix}${spec.describe(config)}`);
      const parts = [dryRun ? `${counts['dry-run']} would` : `${counts.done} done`, `${counts.skipped} skipped`];
      if (counts.failed) parts.push(`${counts.failed} failed`);
      if (counts.joined) parts.push(`${counts.joined} joined`);
      const text = prefix + parts.join(' · ');
      return statusDot(withAuditFailures(lastFailed ? { level: 'error', text: `${text} (last: ${lastFailed})` } : { level: 'ok', text }, recorder));
    };
    // The status text is built when it is shown (at most every 500 ms), not per message.
    const statusThrottle = new Throttle<null>(STATUS_INTERVAL_MS, () => {
      if (!closed) node.status(describe());
    });
    const showStatus = (): void => statusThrottle.push(null);
    if (!configError) node.status(describe());

    // Every action node on the cluster turns red the moment an all-stop fires (and back on reset),
    // and requests of this node still waiting for a slot in the client's limit are cancelled.
    // One AbortController for the actions of this node (not one per action: that was measurable
    // CPU per lock): an all-stop aborts it and a fresh one serves the actions started afterwards,
    // which check the stop themselves, so nothing has to be re-armed on reset.
    let warnedFor: string | null = null;
    let controller = abortController();
    const unsubscribe = allStop?.store.onChange(() => {
      const state = allStop.store.get(allStop.key);
      if (state.active) {
        const aborted = controller;
        controller = abortController();
        aborted.abort(new AllStopRefusal(state.since ?? 'an unreadable state file'));
      }
      statusThrottle.now(null);
    });
    if (cluster) cluster.register(node);
    // Checked before every single mutation: an all-stop that fires mid-action stops the next change.
    const beforeMutation = (): void => {
      const state = allStop!.store.get(allStop!.key);
      if (state.active) throw new AllStopRefusal(state.since ?? 'an unreadable state file');
    };

    // Per-file coalescing: while an action for a file is queued or in flight, further inputs for
    // the same file join it instead of sending their own requests. Each still gets its own result
    // (marked `joined`) and its own done(), both only once the shared action has finished.
    // Memory: one entry per action in flight, at most MAX_JOINED waiting messages each.
    const sharedByFile = new Map<string, SharedAction>();
    /** Inputs not started yet because this node already has the client's limit of actions running. */
    const waiting: Array<() => void> = [];
    const startNext = (): void => {
      const next = waiting.shift();
      if (next) next();
    };

    /** The one place where the result of an input message is finalised (counted, sent, done). */
    const finishMessage = (input: PendingInput, result: ActionResult, error: Error | undefined): void => {
      if (result.joined === true) {
        counts.joined++;
      } else {
        counts[result.outcome]++;
        lastFailed = result.outcome === 'failed' ? (result.error?.status ? `HTTP ${result.error.status}` : 'error') : null;
      }
      recordActionResult(node.id, allStop?.key ?? '', result, input.msg.payload);
      attachResult(input.msg, result);
      // From here on this call completes the input (now or after its audit record): the settle
      // handler's catch must not complete it a second time.
      input.finished = true;
      passOnRecorded(recorder, spec.type, input.msg, input.send, input.done, error, showStatus);
      showStatus();
    };

    node.on('input', (rawMsg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      const msg = rawMsg as ResultMessage;
      if (!cluster || !action || !allStop) {
        const error = new Error(`${spec.type} is not configured: ${configError ?? 'unknown problem'}`);
        finishMessage({ msg, send, done }, { action: spec.action, path: String(msg.payload?.path ?? ''), outcome: 'failed', detail: error.message, durationMs: 0, error: { message: error.message } }, error);
        return;
      }
      const client = cluster.client;
      if (!client) {
        const error = new Error(`${spec.type}: the cluster client is closed`);
        finishMessage({ msg, send, done }, { action: spec.action, path: String(msg.payload?.path ?? ''), outcome: 'failed', detail: error.message, durationMs: 0, error: { message: error.message } }, error);
        return;
      }
      const stopState = allStop.store.get(allStop.key);
      if (stopState.active) {
        if (warnedFor !== stopState.since) {
          warnedFor = stopState.since;
          node.warn(displaySafe(`ALL-STOP active on ${allStop.key} since ${stopState.since ?? '?'} (${stopState.reason}): refusing every action until an operator resets it`));
        }
        // Refuse before even reading when the stop is already on.
        finishMessage(
          { msg, send, done },
          {
            action: spec.action,
            path: String(msg.payload?.path ?? ''),
            fileId: msg.payload?.fileId ?? null,
            outcome: 'skipped',
            detail: new AllStopRefusal(stopState.since ?? 'an unreadable state file').message,
            refusedBy: 'all-stop',
            durationMs: 0,
            ...(dryRun ? { dryRun: true } : {}),
          },
          undefined,
        );
        return;
      }
      const key = coalesceKey(msg.payload);
      const running = key === null ? undefined : sharedByFile.get(key);
      if (running && running.joined.length < MAX_JOINED) {
        running.joined.push({ msg, send, done, arrived: performance.now() });
        return;
      }
      const shared: SharedAction = { joined: [] };
      if (key !== null && !running) sharedByFile.set(key, shared);
      const lead: PendingInput = { msg, send, done };
      // One promise and one handler per action (not then + catch + finally): this runs per message.
      let work: Promise<void>;
      const settle = (outcome: RunOutcome | undefined, failed?: unknown): void => {
        inflight.delete(work);
        startNext();
        if (key !== null && sharedByFile.get(key) === shared) sharedByFile.delete(key);
        try {
          if (!outcome) throw failed;
          const { result, error } = outcome;
          finishMessage(lead, result, error);
          const leadId = typeof msg._msgid === 'string' ? msg._msgid : null;
          for (const input of shared.joined) finishMessage(input, joinedResult(result, leadId, input.arrived), error);
        } catch (err) {
          // A throwing send()/done() (or runAction itself): never leave an input without completion.
          const failure = err instanceof Error ? err : new Error(String(err));
          if (!lead.finished) lead.done(failure);
          for (const input of shared.joined) if (!input.finished) input.done(failure);
        }
      };
      const start = (): void => {
        const ctx: ActionContext = { client, dryRun, origin, signal: controller.signal, beforeMutation, replay: isRedelivery(msg) };
        work = runAction(spec.action, action, msg.payload, ctx).then(settle, (err: unknown) => settle(undefined, err));
        inflight.add(work);
      };
      // Past the client's concurrency, an input waits here as one small closure instead of a chain
      // of suspended async calls in the client's queue (a burst of thousands: less for the garbage
      // collector to copy, --cpu-prof bench:actions). Same order, same shared limit behind it.
      if (inflight.size < client.limiter.limit) start();
      else waiting.push(start);
    });

    node.on('close', (removed: boolean, done: () => void) => {
      // Everything accepted is started now (into the client's own queue), so close waits for it.
      while (waiting.length > 0) waiting.shift()!();
      closeAfterRecorded(
        inflight,
        recorder,
        CLOSE_WAIT_MS,
        () => {
          closed = true;
          statusThrottle.cancel();
          unsubscribe?.();
          cluster?.deregister(node);
          if (removed) node.status({});
        },
        done,
      );
    });
  }

  registerNodeType(RED, spec.type, ActionNode);
}
