// Hop counter per file: how many times in a row our own actions on a file were followed by another
// event for that file that the ledger did not recognise as an echo. This is AWS Lambda's recursion
// guard (anchors.md §2.1) adapted to a file system: Lambda carries the count inside the event, but
// our causal chain goes through the cluster, which carries nothing, so the count lives per file id
// (stable across renames; the simulator's and the cluster's ids are inode-like) with the path as
// fallback when an event has no spine.
//
// A chain: event (hop 1) → action → an event the ledger did not recognise as our echo (hop 2) →
// action → … Recognised echoes are dropped before they get here and never count; every other
// event on the file within the chain window after one of our actions does, whoever caused it: a
// peer instance reacting to our change is exactly the loop to stop (its reaction is not our echo).
// Counting every such event (not one per action) keeps the bound exact: however the events
// interleave, at most `hopLimit` events of a chain reach the actions. An event starts a new chain
// at hop 1 when the last action on its file is older than the chain window.
// The price: a user changing a file again and again, each change acted on and each following our
// action within the chain window, also climbs; past the limit it goes to the tripped output.

import type { QumuloEvent } from '../event';
import type { MutationKind } from '../qumulo/types';

export interface ChainStep {
  /** `event` for an event the guard passed or diverted, `action` for a recorded intent. */
  step: 'event' | 'action';
  /** Epoch ms: the event's receivedAt, or the intent's recording time. */
  at: number;
  hop: number;
  /** Notification type, or the mutation kind. */
  what: string;
  path: string;
  source?: string;
}

/**
 * A file's chain. The tracker keeps one for every file acted on lately (up to `maxChains`, 50,000),
 * so a state is kept small: its keys are a lone string (the usual case) or an array, not an
 * object of two arrays; a one-step history is the step itself, not an array of one.
 */
export class ChainState {
  hop = 1;
  actions = 0;
  /** Actions since the chain (re)started; the hop never lags behind it (see recordAction). */
  chainActions = 0;
  /** The file ids and paths this state is stored under, for housekeeping: null, one, or several. */
  ids: string | string[] | null = null;
  paths: string | string[] | null = null;
  private steps: ChainStep | ChainStep[] | null = null;
  /** Neighbours in the tracker's recency list (see ChainTracker.oldest); `tracked` while in it. */
  older: ChainState | null = null;
  newer: ChainState | null = null;
  tracked = false;

  constructor(
    public lastActionAt: number,
    public startedAt: number,
  ) {}

  /** The chain's events and actions, oldest first (at most the history limit). */
  get history(): ChainStep[] {
    const steps = this.steps;
    return steps === null ? [] : Array.isArray(steps) ? steps : [steps];
  }

  /** Whether the state knows any file id. */
  get hasFileIds(): boolean {
    return this.ids !== null;
  }

  pushStep(step: ChainStep, limit: number): void {
    const steps = this.steps;
    if (limit <= 0) this.steps = null;
    else if (steps === null || limit === 1) this.steps = step;
    else if (!Array.isArray(steps)) this.steps = [steps, step];
    else {
      steps.push(step);
      if (steps.length > limit) steps.splice(0, steps.length - limit);
    }
  }

  clearHistory(): void {
    this.steps = null;
  }
}

export interface ChainWindow {
  /** An event more than this long after the last action on its file starts a new chain. */
  chainWindowMs: number;
  /** Tolerance for an event stamped slightly before the action (different clocks). */
  skewMs: number;
}

export const DEFAULT_CHAIN_WINDOW: Readonly<ChainWindow> = { chainWindowMs: 5_000, skewMs: 250 };

export interface ChainOptions {
  /** History steps kept per chain (for the tripped output). */
  historyLimit: number;
  /** Chains kept in memory at most; the least recently acted-on go first. */
  maxChains: number;
  /** How long a chain is kept after its last action (processing clock; covers queue delay). */
  retentionMs: number;
}

export const DEFAULT_CHAIN_OPTIONS: Readonly<ChainOptions> = {
  historyLimit: 24,
  maxChains: 50_000,
  retentionMs: 10 * 60_000,
};

export interface ChainVerdict {
  hop: number;
  /** The chain state when the file has one (only files we acted on have one). */
  chain: ChainState | null;
}

/** A new chain (no recent action on the file): the common case, shared to avoid allocation. */
const FRESH: ChainVerdict = Object.freeze({ hop: 1, chain: null }) as ChainVerdict;

export class ChainTracker {
  private readonly byFileId = new Map<string, ChainState>();
  private readonly byPath = new Map<string, ChainState>();
  /**
   * Chains in order of their latest action, as a list linked through the states (moved to the
   * newest end on action). Not a Map in insertion order: deleting its oldest keys leaves holes at
   * the front of its table that every sweep's iteration had to step over until the table was
   * rebuilt (5 % of the process's CPU at 2,000 files/s), and a Map entry costs more than two fields.
   */
  private oldest: ChainState | null = null;
  private newest: ChainState | null = null;
  private tracked = 0;
  /** Tracked chains that know no file id yet: only they need a path lookup for an event with an id. */
  private readonly withoutId = new Set<ChainState>();
  private readonly options: ChainOptions;

  constructor(options: Partial<ChainOptions> = {}, private readonly now: () => number = Date.now) {
    this.options = { ...DEFAULT_CHAIN_OPTIONS, ...options };
  }

  get size(): number {
    return this.tracked;
  }

  /** An action on these files was announced (a mutation intent). */
  recordAction(
    target: { fileIds: readonly string[]; paths: readonly string[] },
    action: { kind: MutationKind; at: number; source?: string },
  ): ChainState | null {
    if (target.fileIds.length === 0 && target.paths.length === 0) return null;
    let state: ChainState | undefined;
    for (const id of target.fileIds) state ??= this.byFileId.get(id);
    for (const path of target.paths) state ??= this.byPath.get(path);
    if (state === undefined) state = new ChainState(action.at, action.at);
    // Index under every id and path of the action, so a rename's destination finds the chain too.
    for (const id of target.fileIds) this.index(this.byFileId, 'ids', id, state);
    for (const path of target.paths) this.index(this.byPath, 'paths', path, state);
    state.lastActionAt = Math.max(state.lastActionAt, action.at);
    state.actions++;
    // Two events can pass at the same hop when they race the first action (e.g. a peer's change
    // arrives before our own action on the same file is announced): each action then takes a hop
    // of its own, so the actions of one chain never outnumber the hop limit.
    state.chainActions++;
    if (state.chainActions > state.hop) state.hop = state.chainActions;
    state.pushStep(
      { step: 'action', at: action.at, hop: state.hop, what: action.kind, path: target.paths[target.paths.length - 1] ?? target.fileIds[0], source: action.source },
      this.options.historyLimit,
    );
    this.unlink(state);
    this.link(state);
    this.classify(state);
    this.sweep();
    return state;
  }

  /** Hop number of an event the ledger did not recognise; advances the chain when it follows an action. */
  observe(event: QumuloEvent, window: ChainWindow = DEFAULT_CHAIN_WINDOW): ChainVerdict {
    const state = this.lookup(event);
    if (state === undefined) return FRESH;
    const sinceAction = event.receivedAt - state.lastActionAt;
    if (sinceAction > window.chainWindowMs) {
      // Quiet long enough: whatever this is, our actions did not cause it. New chain.
      state.hop = 1;
      state.chainActions = 0;
      state.startedAt = event.receivedAt;
      state.clearHistory();
    } else if (sinceAction >= -window.skewMs) {
      // Follows one of our actions without being its echo: the next link of the chain.
      state.hop++;
    }
    // (An event received before our latest action, e.g. delivered late from a queue, keeps the hop.)
    state.pushStep({ step: 'event', at: event.receivedAt, hop: state.hop, what: event.type, path: event.path }, this.options.historyLimit);
    return { hop: state.hop, chain: state };
  }

  /**
   * The chain of the event's file: by file id; by path only when the event has no id, or when the
   * chain found at that path knows no id yet (then it adopts this one). A chain that knows other
   * ids is another file that used to live at this path (e.g. renamed away): not this one.
   */
  lookup(event: QumuloEvent): ChainState | undefined {
    if (this.tracked === 0) return undefined;
    if (event.fileId === null) return this.byPath.get(event.path);
    const byId = this.byFileId.get(event.fileId);
    if (byId !== undefined || this.withoutId.size === 0) return byId;
    const byPath = this.byPath.get(event.path);
    if (byPath === undefined || byPath.hasFileIds) return undefined;
    this.index(this.byFileId, 'ids', event.fileId, byPath);
    return byPath;
  }

  sweep(now: number = this.now()): void {
    const oldestAllowed = now - this.options.retentionMs;
    for (let state = this.oldest; state !== null; state = this.oldest) {
      if (this.tracked <= this.options.maxChains && state.lastActionAt >= oldestAllowed) break;
      this.forget(state);
    }
  }

  private index(map: Map<string, ChainState>, kind: 'ids' | 'paths', key: string, state: ChainState): void {
    const previous = map.get(key);
    if (previous !== undefined && previous !== state) {
      // The path or id now belongs to another chain (e.g. a new file at a renamed-away path).
      previous.ids = withoutKey(previous.ids, key);
      previous.paths = withoutKey(previous.paths, key);
      this.classify(previous);
    }
    if (previous !== state) map.set(key, state);
    state[kind] = withKey(state[kind], key);
    this.classify(state);
  }

  private classify(state: ChainState): void {
    if (!state.hasFileIds && state.tracked) this.withoutId.add(state);
    else this.withoutId.delete(state);
  }

  /** Appends the state at the newest end of the recency list. */
  private link(state: ChainState): void {
    state.older = this.newest;
    state.newer = null;
    if (this.newest !== null) this.newest.newer = state;
    else this.oldest = state;
    this.newest = state;
    state.tracked = true;
    this.tracked++;
  }

  /** Takes the state out of the recency list, if it is in it. */
  private unlink(state: ChainState): void {
    if (!state.tracked) return;
    if (state.older !== null) state.older.newer = state.newer;
    else this.oldest = state.newer;
    if (state.newer !== null) state.newer.older = state.older;
    else this.newest = state.older;
    state.older = null;
    state.newer = null;
    state.tracked = false;
    this.tracked--;
  }

  private forget(state: ChainState): void {
    this.withoutId.delete(state);
    this.unlink(state);
    forEachKey(state.ids, (id) => {
      if (this.byFileId.get(id) === state) this.byFileId.delete(id);
    });
    forEachKey(state.paths, (path) => {
      if (this.byPath.get(path) === state) this.byPath.delete(path);
    });
  }
}

/** Keys as a state stores them: null, the lone key, or an array of two or more. */
type Keys = string | string[] | null;

function withKey(keys: Keys, key: string): Keys {
  if (keys === null) return key;
  if (typeof keys === 'string') return keys === key ? keys : [keys, key];
  if (!keys.includes(key)) keys.push(key);
  return keys;
}

function withoutKey(keys: Keys, key: string): Keys {
  if (keys === null) return null;
  if (typeof keys === 'string') return keys === key ? null : keys;
  const at = keys.indexOf(key);
  if (at >= 0) keys.splice(at, 1);
  return keys.length === 0 ? null : keys.length === 1 ? keys[0] : keys;
}

function forEachKey(keys: Keys, visit: (key: string) => void): void {
  if (keys === null) return;
  if (typeof keys === 'string') visit(keys);
  else for (const key of keys) visit(key);
}
