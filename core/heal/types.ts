// Shared shapes of gap healing (issue 7): the blind window a watch must make up for, the scope of
// the watch (what it would have reported live), and the result message of one heal.

import type { NotificationType } from '../event';
import type { GapReason } from '../qumulo/subscription';

export type HealMethod = 'diff' | 'walk';

/** Why the watch was blind: a lost stream (the subscription's reasons) or something the node knows. */
export type BlindReason = GapReason | 'restart' | 're-added' | 'buffer-overflow';

/** What a heal has to cover: changes made from `start` until the stream was back at `end`. */
export interface BlindWindow {
  /** Epoch ms (local clock) from which notifications may be missing. */
  start: number;
  /** Epoch ms when the live stream was delivering again. */
  end: number;
  reason: BlindReason;
  detail: string;
}

/** What the watch reports live: heal events outside this scope are not emitted. */
export interface WatchScope {
  watchId: string;
  /** Absolute path of the watched directory, no trailing slash (`/` for the root). */
  watchRoot: string;
  recursive: boolean;
  /** The watch's type filter; null = every type. */
  types: ReadonlySet<NotificationType> | null;
}

/** A checkpoint snapshot this watch took. */
export interface CheckpointRef {
  id: number;
  name: string;
  /** Cluster timestamp of the snapshot (RFC 3339). */
  timestamp: string;
  /** Epoch ms (local clock) when the create call had returned: the state it holds is older. */
  takenAt: number;
  /** Epoch ms after which the cluster deletes it; null = never. */
  expiresAt: number | null;
}

export interface HealCounts {
  /** `child_file_added` / `child_dir_added`. */
  created: number;
  /** `child_data_written`. */
  modified: number;
  /** `child_file_removed` / `child_dir_removed`. */
  deleted: number;
}

/** `msg.payload` of the heal result message (second output of qumulo-watch). */
export interface HealResult {
  watchId: string;
  watchRoot: string;
  outcome: 'healed' | 'failed';
  method: HealMethod;
  /** Set when checkpoints are on but the heal had to walk (no usable checkpoint, no privilege…). */
  fallbackReason?: string;
  gap: {
    /** When the watch went blind (ISO 8601, local clock). */
    start: string;
    /** When the live stream was back. */
    end: string;
    durationMs: number;
    reason: BlindReason;
    detail: string;
    /** Changes since this instant were looked at (start minus the clock/latency tolerance). */
    lookedFrom: string;
  };
  /** Synthetic events emitted (`resync: true`). */
  entries: number;
  counts: HealCounts;
  /** Candidates the diff or walk found before duplicates were dropped. */
  found: number;
  /** Candidates dropped because the live stream had already delivered them. */
  duplicates: number;
  /** Diff entries not reported: directories whose entries changed, the watched directory itself, out of scope. */
  ignored: number;
  /** Walk only: directory entries listed. */
  scanned?: number;
  /** Diff only: the checkpoint before the gap and the snapshot taken to heal. */
  baseline?: { id: number; name: string; timestamp: string };
  snapshot?: { id: number; name: string; timestamp: string };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Failed heals: what went wrong (the gap stays open and is retried). */
  error?: string;
}

export function emptyCounts(): HealCounts {
  return { created: 0, modified: 0, deleted: 0 };
}
