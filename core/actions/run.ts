// Runs one action for one event and turns whatever happens into exactly one ActionResult.

import { performance } from 'node:perf_hooks';
import { displaySafe } from '../display';
import type { QumuloEvent } from '../event';
import { eventProblem } from '../message';
import { AllStopRefusal, describeError, type Action, type ActionContext, type ActionName, type ActionResult } from './types';

/** An action failed after doing part of its work; `partial` keeps what was done (e.g. newPath). */
export class ActionFailure extends Error {
  constructor(
    message: string,
    readonly partial: Record<string, unknown> = {},
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'ActionFailure';
  }

  privilege?: string;
}

export interface RunOutcome {
  result: ActionResult;
  /** Set when the outcome is `failed`: what the node hands to `done(err)`. */
  error?: Error;
}

/**
 * Wraps a client error into an ActionFailure whose message says what failed, Qumulo's status and
 * error class, and — for a 403 that is not a locked-file refusal — the privilege that is missing.
 */
export function actionFailure(what: string, err: unknown, partial: Record<string, unknown> = {}, privilege?: string): Error {
  // Failures already described, and all-stop refusals (also the reason of an aborted request), pass through.
  if (err instanceof AllStopRefusal) {
    // A copy: the refusal that aborts queued requests is one instance shared by all of them.
    const refusal = new AllStopRefusal(err.since);
    refusal.partial = { ...err.partial, ...partial };
    return refusal;
  }
  if (err instanceof ActionFailure) return err;
  const d = describeError(err);
  let message = `${what} failed: ${d.message}`;
  const hint = d.privilege ?? (d.status === 403 && d.errorClass !== 'fs_read_only_error' ? privilege : undefined);
  if (hint && !message.includes(hint)) message += ` (the Qumulo user needs ${hint})`;
  const failure = new ActionFailure(message, partial, err);
  if (hint) failure.privilege = hint;
  return failure;
}

export { eventProblem };

export async function runAction(name: ActionName, action: Action, event: QumuloEvent, ctx: ActionContext): Promise<RunOutcome> {
  // performance.now(), not hrtime.bigint(): no BigInt arithmetic per action (seen in --cpu-prof).
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 1000) / 1000;
  const base = { action: name, path: typeof event?.path === 'string' ? event.path : '', fileId: event?.fileId ?? null };
  const problem = eventProblem(event);
  if (problem) {
    const error = new Error(problem);
    return { result: { ...base, outcome: 'failed', detail: problem, durationMs: elapsed(), error: { message: problem } }, error };
  }
  try {
    const partial = await action(event, ctx);
    const result: ActionResult = Object.assign(base as ActionResult, partial);
    result.path = partial.path ?? base.path;
    result.detail = displaySafe(partial.detail);
    result.durationMs = elapsed();
    if (ctx.dryRun) result.dryRun = true;
    return { result };
  } catch (err) {
    if (err instanceof AllStopRefusal) {
      // Cancelled mid-action: a request already on the wire may still have been applied.
      const detail = displaySafe(ctx.mutationStarted ? `${err.message}: stopped mid-action (a change already sent may have been applied)` : err.message);
      return { result: { ...base, ...err.partial, outcome: 'skipped', detail, refusedBy: 'all-stop', durationMs: elapsed() } };
    }
    const cause = err instanceof ActionFailure && err.cause !== undefined ? err.cause : err;
    const description = describeError(cause);
    if (err instanceof ActionFailure) {
      description.message = err.message;
      if (err.privilege) description.privilege = err.privilege;
    }
    const partial = err instanceof ActionFailure ? err.partial : {};
    const error = err instanceof Error ? err : new Error(String(err));
    // The message reaches the log and Catch nodes: a file name in it must not forge lines or hide
    // its real characters. The result's path fields keep the real name.
    description.message = displaySafe(description.message);
    error.message = displaySafe(error.message);
    return {
      result: { ...base, ...partial, outcome: 'failed', detail: description.message, durationMs: elapsed(), error: description },
      error,
    };
  }
}
