// Rolling checkpoint snapshots of a watched directory (docs/qumulo-api.md §9). At most two are alive:
// before taking a new one every older one but the one to keep (the newest, or the heal's
// baseline) is deleted. Each carries an expiration, so a checkpoint orphaned by a crash or a node
// deleted while Node-RED was down goes away by itself. Names end in `_<suffix>` with a suffix like
// `qumulo-flow-checkpoint-1a2b3c4d5e6f`, so an administrator can tell what made them.

import type { QumuloClient } from '../qumulo/client';
import { isNotFound } from '../qumulo/errors';
import type { Snapshot } from '../qumulo/types';
import type { CheckpointRef } from './types';

export const CHECKPOINT_PREFIX = 'qumulo-flow-checkpoint-';
/** Checkpoints alive at once, never more. */
export const MAX_CHECKPOINTS = 2;

export interface CheckpointKeeperOptions {
  client: () => QumuloClient;
  /** Absolute path of the directory to snapshot (its file id is looked up once). */
  sourcePath: () => string;
  /** name_suffix of every checkpoint of this watch. */
  suffix: string;
  /** Lifetime set on each snapshot (the cluster deletes it then). */
  expiryMs: number;
  now?: () => number;
}

export class CheckpointKeeper {
  private checkpoints: CheckpointRef[] = [];
  private sourceId: string | null = null;
  private readonly now: () => number;

  constructor(private readonly options: CheckpointKeeperOptions) {
    this.now = options.now ?? Date.now;
  }

  get suffix(): string {
    return this.options.suffix;
  }

  /** Known checkpoints, oldest first. */
  get all(): readonly CheckpointRef[] {
    return this.checkpoints;
  }

  /** Adopts checkpoints remembered in the persisted marker (checked against the cluster by reconcile). */
  restore(refs: readonly CheckpointRef[]): void {
    this.checkpoints = [...refs].sort((a, b) => a.id - b.id);
  }

  isOurs(snapshot: Pick<Snapshot, 'name'>): boolean {
    return typeof snapshot.name === 'string' && snapshot.name.endsWith('_' + this.options.suffix);
  }

  /**
   * Makes the list match the cluster: ours that exist stay (with the local time we remembered, else
   * the cluster timestamp), ones that are gone (expired, deleted by an admin) are dropped, and
   * anything beyond two (left over by a crash) is deleted, oldest first.
   */
  async reconcile(signal?: AbortSignal): Promise<void> {
    const remembered = new Map(this.checkpoints.map((c) => [c.id, c]));
    const ours = (await this.options.client().listSnapshots({ signal })).filter((s) => this.isOurs(s) && !s.in_delete);
    const now = this.now();
    this.checkpoints = ours
      .map((s) => remembered.get(Number(s.id)) ?? refFromSnapshot(s, null))
      .filter((c) => c.expiresAt === null || c.expiresAt > now)
      .sort((a, b) => a.id - b.id);
    while (this.checkpoints.length > MAX_CHECKPOINTS) await this.remove(this.checkpoints[0], signal);
  }

  /**
   * The checkpoint to diff against for a gap that began at `start`: one whose state is certainly
   * older than `start` (taken, i.e. returned, by then) and not expired. The newest such one, or the
   * oldest with `conservative` (when the stream may have been losing events before it broke).
   */
  baselineFor(start: number, conservative = false): CheckpointRef | null {
    const now = this.now();
    const usable = this.checkpoints.filter((c) => c.takenAt <= start && (c.expiresAt === null || c.expiresAt > now + 60_000));
    if (usable.length === 0) return null;
    return conservative ? usable[0] : usable[usable.length - 1];
  }

  /** Takes a new checkpoint, first deleting all but `keep` (default: the newest) to stay within two. */
  async take(keep?: CheckpointRef | null, signal?: AbortSignal): Promise<CheckpointRef> {
    const survivor = keep ?? this.checkpoints[this.checkpoints.length - 1] ?? null;
    for (const old of [...this.checkpoints]) if (old !== survivor) await this.remove(old, signal);
    const client = this.options.client();
    const sourceFileId = await this.resolveSource(client, signal);
    const expiresAt = this.now() + this.options.expiryMs;
    const snapshot = await client.createSnapshot(
      { sourceFileId, nameSuffix: this.options.suffix, expiration: new Date(expiresAt).toISOString() },
      { signal, origin: 'qumulo-flow heal checkpoint' },
    );
    const ref = refFromSnapshot(snapshot, this.now(), expiresAt);
    this.checkpoints.push(ref);
    this.checkpoints.sort((a, b) => a.id - b.id);
    return ref;
  }

  /** Deletes every checkpoint but `keep`. */
  async keepOnly(keep: CheckpointRef, signal?: AbortSignal): Promise<void> {
    for (const old of [...this.checkpoints]) if (old.id !== keep.id) await this.remove(old, signal);
  }

  async remove(checkpoint: CheckpointRef, signal?: AbortSignal): Promise<void> {
    try {
      await this.options.client().deleteSnapshot(checkpoint.id, { signal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.checkpoints = this.checkpoints.filter((c) => c.id !== checkpoint.id);
  }

  /** Deletes every snapshot carrying this watch's suffix (also ones a crash left behind). */
  async removeAll(signal?: AbortSignal): Promise<number> {
    const client = this.options.client();
    const ids = new Set(this.checkpoints.map((c) => c.id));
    for (const s of await client.listSnapshots({ signal })) if (this.isOurs(s)) ids.add(Number(s.id));
    for (const id of ids) {
      try {
        await client.deleteSnapshot(id, { signal });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    this.checkpoints = [];
    return ids.size;
  }

  private async resolveSource(client: QumuloClient, signal?: AbortSignal): Promise<string> {
    if (this.sourceId === null) {
      const attrs = await client.getAttributes(this.options.sourcePath(), { signal });
      this.sourceId = String(attrs.id);
    }
    return this.sourceId;
  }
}

function refFromSnapshot(snapshot: Snapshot, takenAt: number | null, expiresAt?: number): CheckpointRef {
  const clusterTime = Date.parse(snapshot.timestamp);
  const expiration = snapshot.expiration ? Date.parse(snapshot.expiration) : NaN;
  return {
    id: Number(snapshot.id),
    name: snapshot.name,
    timestamp: snapshot.timestamp,
    takenAt: takenAt ?? (Number.isFinite(clusterTime) ? clusterTime : 0),
    expiresAt: expiresAt ?? (Number.isFinite(expiration) ? expiration : null),
  };
}
