// Moving without ever overwriting: RENAME with clobber=false, and on "entry exists" try the next
// collision-safe candidate. The server decides atomically, so two concurrent moves of files with
// the same name cannot overwrite each other.
//
// Renames are retried on 5xx/timeouts by the client. A retry of a rename that did succeed the
// first time (answer lost) comes back as "exists" or "no such entry"; the target is then checked
// and, when it holds our file id, the move counts as done.

import { collisionCandidate, joinPath, type CollisionStyle, type MOVE_COLLISIONS } from './names';
import { actionFailure } from './run';
import { startMutation, readOptions, isEntryExists, isNotFound, mutationOptions, type ActionContext } from './types';

export const MAX_COLLISION_ATTEMPTS = 100;

export interface MoveRequest {
  sourcePath: string;
  destDir: string;
  name: string;
  fileId?: string | null;
  /** `skip`/`fail`: do not look for another name when the target exists. */
  collision: (typeof MOVE_COLLISIONS)[number];
}

export type MoveOutcome = { moved: true; newPath: string; newName: string; attempts: number } | { moved: false; existing: string };

async function holdsFile(ctx: ActionContext, path: string, fileId: string | null | undefined): Promise<boolean> {
  if (!fileId) return false;
  try {
    const attrs = await ctx.client.getAttributes(path, readOptions(ctx));
    return String(attrs.id) === String(fileId);
  } catch {
    return false;
  }
}

export async function moveNoClobber(ctx: ActionContext, req: MoveRequest, what: string): Promise<MoveOutcome> {
  const attempts = req.collision === 'skip' || req.collision === 'fail' ? 1 : MAX_COLLISION_ATTEMPTS;
  const style: CollisionStyle = req.collision === 'file-id' ? 'file-id' : 'number';
  for (let attempt = 0; attempt < attempts; attempt++) {
    const candidate = collisionCandidate(req.name, attempt, style, req.fileId);
    const target = joinPath(req.destDir, candidate);
    startMutation(ctx);
    try {
      await ctx.client.rename(req.sourcePath, req.destDir, candidate, {
        clobber: false,
        ...mutationOptions(ctx, req.fileId, [req.sourcePath, target], true),
      });
      return { moved: true, newPath: target, newName: candidate, attempts: attempt + 1 };
    } catch (err) {
      const exists = isEntryExists(err);
      if ((exists || isNotFound(err)) && (await holdsFile(ctx, target, req.fileId))) {
        return { moved: true, newPath: target, newName: candidate, attempts: attempt + 1 };
      }
      if (!exists) throw actionFailure(`${what} ${req.sourcePath} to ${target}`, err);
      if (req.collision === 'skip') return { moved: false, existing: target };
      if (req.collision === 'fail') throw actionFailure(`${what} ${req.sourcePath}: ${target} exists`, err, { targetPath: target });
    }
  }
  throw actionFailure(`${what} ${req.sourcePath}`, new Error(`no free name after ${attempts} attempts in ${req.destDir}`));
}

/** Dry-run counterpart: the name a move would most likely get (reads only; racy by nature). */
export async function predictFreeName(ctx: ActionContext, req: MoveRequest): Promise<{ name: string; exists: boolean }> {
  const attempts = req.collision === 'skip' || req.collision === 'fail' ? 1 : MAX_COLLISION_ATTEMPTS;
  const style: CollisionStyle = req.collision === 'file-id' ? 'file-id' : 'number';
  let last = req.name;
  for (let attempt = 0; attempt < attempts; attempt++) {
    last = collisionCandidate(req.name, attempt, style, req.fileId);
    try {
      await ctx.client.getAttributes(joinPath(req.destDir, last), readOptions(ctx));
    } catch (err) {
      if (isNotFound(err)) return { name: last, exists: false };
      throw err;
    }
  }
  return { name: last, exists: true };
}
