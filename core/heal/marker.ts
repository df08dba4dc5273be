// The persisted "last healthy" marker of a watch, so a Node-RED restart (or a watch removed and
// added again) knows how long it was blind. One small JSON file per watch node under the state
// directory (Node-RED's userDir by default):
//   <stateDir>/qumulo-flow-heal/<watchId>--<node id>.json
// `coveredUntil`: every change before it was delivered (live or healed). It advances every few
// seconds while the stream is healthy and stops at the start of a gap until the gap is healed.
// Writes go to a temp file first and are renamed into place, so a crash never leaves half a file.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BlindReason, CheckpointRef } from './types';

export const MARKER_DIRECTORY = 'qumulo-flow-heal';

export interface MarkerRecord {
  version: 1;
  watchId: string;
  consumerId: string;
  watchRoot: string;
  /** Epoch ms: changes before this were all delivered. */
  coveredUntil: number;
  /** A blind window not healed yet (stream down, or a heal that failed or was cut short). */
  pending: { start: number; reason: BlindReason; detail: string } | null;
  /** The node was removed (its checkpoints deleted): a node re-added for the same watch heals from here. */
  removed: boolean;
  checkpoints: CheckpointRef[];
  updatedAt: number;
}

/**
 * Where markers are kept: files (MarkerStore) for one instance, Redis (core/scale/markers.ts) when
 * several instances take turns watching and the next leader must know what the last one covered.
 */
export interface MarkerPersistence {
  /** Where the marker of a node lives (for messages). */
  fileFor(watchId: string, consumerId: string): string;
  load(watchId: string, consumerId: string): { record: MarkerRecord | null; problem: string | null };
  save(record: MarkerRecord): void;
  adoptRemoved(watchId: string): MarkerRecord | null;
}

/** File-name-safe form of an id (Node-RED ids are hex, but a consumer id could be anything). */
function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
}

export class MarkerStore implements MarkerPersistence {
  readonly directory: string;

  constructor(stateDirectory: string) {
    this.directory = path.join(stateDirectory, MARKER_DIRECTORY);
  }

  fileFor(watchId: string, consumerId: string): string {
    return path.join(this.directory, `${safeId(watchId)}--${safeId(consumerId)}.json`);
  }

  /** The node's marker; `problem` says why an existing file could not be used. */
  load(watchId: string, consumerId: string): { record: MarkerRecord | null; problem: string | null } {
    const file = this.fileFor(watchId, consumerId);
    if (!fs.existsSync(file)) return { record: null, problem: null };
    const record = readRecord(file);
    return record ? { record, problem: null } : { record: null, problem: `${file} is unreadable or not a heal marker` };
  }

  save(record: MarkerRecord): void {
    fs.mkdirSync(this.directory, { recursive: true });
    const file = this.fileFor(record.watchId, record.consumerId);
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(record));
    fs.renameSync(temp, file);
  }

  delete(watchId: string, consumerId: string): void {
    fs.rmSync(this.fileFor(watchId, consumerId), { force: true });
  }

  /**
   * A watch node added for a watch whose node was removed: takes over the removed marker that is
   * blind the longest (the earliest coveredUntil) and deletes every removed marker of the watch.
   */
  adoptRemoved(watchId: string): MarkerRecord | null {
    let names: string[];
    try {
      names = fs.readdirSync(this.directory);
    } catch {
      return null;
    }
    const prefix = `${safeId(watchId)}--`;
    let adopted: MarkerRecord | null = null;
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith('.json')) continue;
      const file = path.join(this.directory, name);
      const record = readRecord(file);
      if (!record || !record.removed || record.watchId !== watchId) continue;
      if (adopted === null || effectiveStart(record) < effectiveStart(adopted)) adopted = record;
      fs.rmSync(file, { force: true });
    }
    return adopted;
  }
}

function effectiveStart(record: MarkerRecord): number {
  return record.pending ? Math.min(record.pending.start, record.coveredUntil) : record.coveredUntil;
}

function readRecord(file: string): MarkerRecord | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  return parseMarker(text);
}

/** A marker from its JSON, or null when it is not one. */
export function parseMarker(text: string): MarkerRecord | null {
  try {
    const parsed = JSON.parse(text) as Partial<MarkerRecord>;
    if (parsed?.version !== 1 || typeof parsed.coveredUntil !== 'number' || typeof parsed.watchId !== 'string') return null;
    return {
      version: 1,
      watchId: parsed.watchId,
      consumerId: String(parsed.consumerId ?? ''),
      watchRoot: String(parsed.watchRoot ?? ''),
      coveredUntil: parsed.coveredUntil,
      pending: parsed.pending && typeof parsed.pending.start === 'number' ? parsed.pending : null,
      removed: parsed.removed === true,
      checkpoints: Array.isArray(parsed.checkpoints) ? parsed.checkpoints.filter((c) => typeof c?.id === 'number' && typeof c.takenAt === 'number') : [],
      updatedAt: typeof parsed.updatedAt === 'number' ? parsed.updatedAt : 0,
    };
  } catch {
    return null;
  }
}
