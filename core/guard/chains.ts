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

export interface ChainState {
  hop: number;
  lastActionAt: number;
  actions: number;
  /** Actions since the chain (re)started; the hop never lags behind it (see recordAction). */
  chainActions: number;
  startedAt: number;
  history: ChainStep[];
  /**
   * The keys this state is stored under, for housekeeping. Arrays, not Sets: they hold one or
   * two keys, and a chain is kept for every file acted on lately (tens of thousands).
   */
  readonly keys: { fileIds: string[]; paths: string[] };
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
  /** Chains in order of their latest action (Map keeps insertion order; re-inserted on action). */
  private readonly byRecency = new Map<ChainState, true>();
  /** Tracked chains that know no file id yet: only they need a path lookup for an event with an id. */
  private readonly withoutId = new Set<ChainState>();
  private readonly options: ChainOptions;

  constructor(options: Partial<ChainOptions> = {}, private readonly now: () => number = Date.now) {
    this.options = { ...DEFAULT_CHAIN_OPTIONS, ...options };
  }

  get size(): number {
    return this.byRecency.size;
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
    if (state === undefined) {
      state = {
        hop: 1,
        lastActionAt: action.at,
        actions: 0,
        chainActions: 0,
        startedAt: action.at,
        history: [],
        keys: { fileIds: [], paths: [] },
      };
    }
    // Index under every id and path of the action, so a rename's destination finds the chain too.
    for (const id of target.fileIds) this.index(this.byFileId, 'fileIds', id, state);
    for (const path of target.paths) this.index(this.byPath, 'paths', path, state);
    state.lastActionAt = Math.max(state.lastActionAt, action.at);
    state.actions++;
    // Two events can pass at the same hop when they race the first action (e.g. a peer's change
    // arrives before our own action on the same file is announced): each action then takes a hop
    // of its own, so the actions of one chain never outnumber the hop limit.
    state.chainActions++;
    if (state.chainActions > state.hop) state.hop = state.chainActions;
    pushHistory(state, this.options.historyLimit, {
      step: 'action',
      at: action.at,
      hop: state.hop,
      what: action.kind,
      path: target.paths[target.paths.length - 1] ?? target.fileIds[0],
      source: action.source,
    });
    this.byRecency.delete(state);
    this.byRecency.set(state, true);
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
      state.history.length = 0;
    } else if (sinceAction >= -window.skewMs) {
      // Follows one of our actions without being its echo: the next link of the chain.
      state.hop++;
    }
    // (An event received before our latest action, e.g. delivered late from a queue, keeps the hop.)
    pushHistory(state, this.options.historyLimit, { step: 'event', at: event.receivedAt, hop: state.hop, what: event.type, path: event.path });
    return { hop: state.hop, chain: state };
  }

  /**
   * The chain of the event's file: by file id; by path only when the event has no id, or when the
   * chain found at that path knows no id yet (then it adopts this one). A chain that knows other
   * ids is another file that used to live at this path (e.g. renamed away): not this one.
   */
  lookup(event: QumuloEvent): ChainState | undefined {
    if (this.byRecency.size === 0) return undefined;
    if (event.fileId === null) return this.byPath.get(event.path);
    const byId = this.byFileId.get(event.fileId);
    if (byId !== undefined || this.withoutId.size === 0) return byId;
    const byPath = this.byPath.get(event.path);
    if (byPath === undefined || byPath.keys.fileIds.length > 0) return undefined;
    this.index(this.byFileId, 'fileIds', event.fileId, byPath);
    return byPath;
  }

  sweep(now: number = this.now()): void {
    const oldestAllowed = now - this.options.retentionMs;
    for (const state of this.byRecency.keys()) {
      if (this.byRecency.size <= this.options.maxChains && state.lastActionAt >= oldestAllowed) break;
      this.forget(state);
    }
  }

  private index(map: Map<string, ChainState>, kind: 'fileIds' | 'paths', key: string, state: ChainState): void {
    const previous = map.get(key);
    if (previous !== undefined && previous !== state) {
      // The path or id now belongs to another chain (e.g. a new file at a renamed-away path).
      removeKey(previous.keys.fileIds, key);
      removeKey(previous.keys.paths, key);
      this.classify(previous);
    }
    if (previous !== state) map.set(key, state);
    const keys = state.keys[kind];
    // A literal of the exact size for the first key: push() onto an empty array reserves 17 slots.
    if (keys.length === 0) state.keys[kind] = [key];
    else if (!keys.includes(key)) keys.push(key);
    this.classify(state);
  }

  private classify(state: ChainState): void {
    if (state.keys.fileIds.length === 0 && this.byRecency.has(state)) this.withoutId.add(state);
    else this.withoutId.delete(state);
  }

  private forget(state: ChainState): void {
    this.withoutId.delete(state);
    this.byRecency.delete(state);
    for (const id of state.keys.fileIds) if (this.byFileId.get(id) === state) this.byFileId.delete(id);
    for (const path of state.keys.paths) if (this.byPath.get(path) === state) this.byPath.delete(path);
  }
}

function removeKey(keys: string[], key: string): void {
  const at = keys.indexOf(key);
  if (at >= 0) keys.splice(at, 1);
}

function pushHistory(state: ChainState, limit: number, step: ChainStep): void {
  if (state.history.length === 0) {
    state.history = [step]; // exact size (see index)
    return;
  }
  state.history.push(step);
  if (state.history.length > limit) state.history.splice(0, state.history.length - limit);
}
