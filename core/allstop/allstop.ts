// All-stop state: per cluster (clusterIdentity, core/qumulo/identity.ts: host:port), persisted in a small JSON file so an active stop
// survives deploys and restarts. One store per file per process, shared by every node, with a
// change event so every action node's status follows it. Fails closed: a state file that cannot
// be read counts as "active" for every cluster until an operator resets it.

import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ALL_STOP_FILE_NAME = 'qumulo-flow-all-stop.json';

export interface AllStopTrigger {
  /** Node that triggered it, and the event that did (when there was one). */
  nodeId?: string;
  nodeName?: string;
  path?: string;
  type?: string;
  topic?: string;
}

export interface AllStopState {
  active: boolean;
  /** ISO time the stop became active (null when inactive). */
  since: string | null;
  reason: string;
  trigger: AllStopTrigger | null;
  /** Triggers received while active (including the first). */
  triggerCount: number;
  lastTriggerAt: string | null;
  snapshot: { id: number; name: string; path: string } | null;
  /** Set by a reset. */
  resetAt?: string | null;
  resetBy?: string | null;
}

interface StateFile {
  version: 1;
  clusters: Record<string, AllStopState>;
}

export interface AllStopChange {
  clusterKey: string;
  state: AllStopState;
}


const stores = new Map<string, AllStopStore>();

export class AllStopStore extends EventEmitter {
  private clusters: Record<string, AllStopState> = {};
  /** Set when the file exists but cannot be read: every cluster is treated as stopped. */
  loadError: string | null = null;

  /** The process-wide store for a state file (created on first use). */
  static forFile(file: string): AllStopStore {
    const resolved = path.resolve(file);
    let store = stores.get(resolved);
    if (!store) {
      store = new AllStopStore(resolved);
      stores.set(resolved, store);
    }
    return store;
  }

  static forDirectory(dir: string): AllStopStore {
    return AllStopStore.forFile(path.join(dir, ALL_STOP_FILE_NAME));
  }

  /** Forgets the in-memory store for a file (tests simulating a process restart). */
  static forget(file: string): void {
    const resolved = path.resolve(file);
    stores.get(resolved)?.removeAllListeners();
    stores.delete(resolved);
  }

  private constructor(readonly file: string) {
    super();
    this.setMaxListeners(0); // one listener per action node
    this.load();
  }

  private load(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.loadError = `cannot read ${this.file}: ${(err as Error).message}`;
      return;
    }
    try {
      const parsed = JSON.parse(text) as Partial<StateFile>;
      if (!parsed || typeof parsed !== 'object' || typeof parsed.clusters !== 'object' || parsed.clusters === null) {
        throw new Error('no "clusters" object');
      }
      this.clusters = parsed.clusters;
    } catch (err) {
      this.loadError = `cannot parse ${this.file}: ${(err as Error).message}`;
    }
  }

  private save(): void {
    const body: StateFile = { version: 1, clusters: this.clusters };
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    // Write-then-rename: a crash mid-write never leaves a half file (which would fail closed).
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }

  get(clusterKey: string): AllStopState {
    if (this.loadError) {
      return {
        active: true,
        since: null,
        reason: `all-stop state unreadable (${this.loadError}); reset to clear`,
        trigger: null,
        triggerCount: 0,
        lastTriggerAt: null,
        snapshot: null,
      };
    }
    return (
      this.clusters[clusterKey] ?? { active: false, since: null, reason: '', trigger: null, triggerCount: 0, lastTriggerAt: null, snapshot: null }
    );
  }

  isActive(clusterKey: string): boolean {
    return this.get(clusterKey).active;
  }

  /** Activates (or, when already active, counts another trigger). `changed` is true on activation. */
  activate(clusterKey: string, reason: string, trigger: AllStopTrigger | null, at = new Date()): { state: AllStopState; changed: boolean } {
    const current = this.loadError ? null : this.clusters[clusterKey];
    if (this.loadError) this.discardUnreadable();
    const iso = at.toISOString();
    let changed = false;
    let state: AllStopState;
    if (current?.active) {
      state = { ...current, triggerCount: current.triggerCount + 1, lastTriggerAt: iso };
    } else {
      changed = true;
      state = { active: true, since: iso, reason, trigger, triggerCount: 1, lastTriggerAt: iso, snapshot: null, resetAt: null, resetBy: null };
    }
    this.clusters[clusterKey] = state;
    this.save();
    this.emit('change', { clusterKey, state } satisfies AllStopChange);
    return { state, changed };
  }

  /** Records the snapshot taken on activation. */
  setSnapshot(clusterKey: string, snapshot: AllStopState['snapshot']): void {
    const current = this.clusters[clusterKey];
    if (!current) return;
    this.clusters[clusterKey] = { ...current, snapshot };
    this.save();
    this.emit('change', { clusterKey, state: this.clusters[clusterKey] } satisfies AllStopChange);
  }

  reset(clusterKey: string, by: string, at = new Date()): { state: AllStopState; changed: boolean } {
    const wasUnreadable = this.loadError !== null;
    if (wasUnreadable) this.discardUnreadable();
    const current = this.clusters[clusterKey];
    const changed = wasUnreadable || current?.active === true;
    const state: AllStopState = {
      ...(current ?? { reason: '', trigger: null, triggerCount: 0, lastTriggerAt: null, snapshot: null }),
      active: false,
      since: null,
      resetAt: at.toISOString(),
      resetBy: by,
    };
    this.clusters[clusterKey] = state;
    this.save();
    this.emit('change', { clusterKey, state } satisfies AllStopChange);
    return { state, changed };
  }

  /** An unreadable file is kept aside (never silently lost) before a fresh one is written. */
  private discardUnreadable(): void {
    try {
      if (fs.existsSync(this.file)) fs.renameSync(this.file, `${this.file}.unreadable-${Date.now()}`);
    } catch {
      // Keeping the bad file aside is best effort; the write that follows replaces it anyway.
    }
    this.loadError = null;
    this.clusters = {};
  }

  onChange(listener: (change: AllStopChange) => void): () => void {
    this.on('change', listener);
    return () => this.off('change', listener);
  }
}
