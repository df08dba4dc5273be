// Quarantine: move a file into a quarantine directory, keeping its path relative to the watch
// root, creating missing directories, never overwriting, and refusing any target outside the
// quarantine root. Optionally tighten the mode and/or lock the quarantined copy.

import type { QumuloEvent } from '../event';
import { formatMode, applyModeSpec, parseModeString, type ModeSpec } from './mode';
import { isInside, joinInside, safeAbsoluteDir, sanitizedRelativeComponents, UnsafePathError, type CollisionStyle } from './names';
import { describeLockPatch, planLock, type LockOptions } from './lock';
import { moveNoClobber, predictFreeName } from './move';
import { ActionFailure, actionFailure } from './run';
import { startMutation, readOptions, attributesPath, isDirectoryAttributes, isNotFound, mutationOptions, PRIVILEGE_HINTS, type Action, type ActionContext } from './types';

export interface QuarantineOptions {
  /** Absolute path of the quarantine directory on the cluster. */
  root: string;
  /** Keep the directories of `event.relativePath` below the root (default) or put files flat. */
  keepStructure: boolean;
  collision: CollisionStyle;
  /** Mode for the quarantined copy (e.g. 0400), null to leave it. */
  mode: ModeSpec | null;
  /** Lock for the quarantined copy, null for none. */
  lock: LockOptions | null;
}

/**
 * Where an event's file goes: refuses relative paths that would leave the quarantine root. A name
 * that is legal but unsafe to create or show (control, zero-width or bidi characters, backslash)
 * gets a sanitized target name — the file is still quarantined — and `sanitized` is true.
 */
export function quarantineTarget(event: QumuloEvent, options: Pick<QuarantineOptions, 'root' | 'keepStructure'>): { dir: string; name: string; sanitized: boolean } {
  const root = safeAbsoluteDir(options.root, 'quarantine root');
  if (typeof event.relativePath !== 'string' || event.relativePath === '') {
    throw new UnsafePathError('event has no path relative to its watch root (the watch root itself cannot be quarantined)');
  }
  const all = sanitizedRelativeComponents(event.relativePath);
  const components = options.keepStructure ? all.components : all.components.slice(-1);
  const name = components[components.length - 1];
  const dir = joinInside(root, components.slice(0, -1));
  const target = joinInside(root, components);
  if (!isInside(root, target) || target === root) throw new UnsafePathError(`${target} is not inside ${root}`);
  const original = event.relativePath.split('/');
  const sanitized = options.keepStructure ? all.changed : name !== original[original.length - 1];
  return { dir, name, sanitized };
}

export function createQuarantineAction(options: QuarantineOptions): Action {
  const root = safeAbsoluteDir(options.root, 'quarantine root');
  if (root === '/') throw new Error('the quarantine root cannot be the cluster root');
  return async (event: QumuloEvent, ctx: ActionContext) => {
    if (isInside(root, event.path)) return { outcome: 'skipped', detail: `already in quarantine (${root})`, originalPath: event.path };
    if (event.isDirectory === true) return { outcome: 'skipped', detail: 'directories are not quarantined (files only)' };
    let target: { dir: string; name: string; sanitized: boolean };
    try {
      target = quarantineTarget(event, { root, keepStructure: options.keepStructure });
    } catch (err) {
      if (err instanceof UnsafePathError) throw new ActionFailure(`quarantine refused: ${err.message}`, { originalPath: event.path });
      throw err;
    }
    let attrs;
    try {
      attrs = await ctx.client.getAttributes(event.path, readOptions(ctx));
    } catch (err) {
      if (isNotFound(err)) return { outcome: 'skipped', detail: `${event.path} no longer exists`, originalPath: event.path };
      throw actionFailure(`quarantine ${event.path}: reading attributes`, err);
    }
    if (isDirectoryAttributes(attrs)) return { outcome: 'skipped', detail: 'directories are not quarantined (files only)' };
    const originalPath = attributesPath(attrs, event.path);
    const fileId = attrs.id ?? event.fileId ?? null;
    const request = { sourcePath: originalPath, destDir: target.dir, name: target.name, fileId, collision: options.collision };

    if (ctx.dryRun) {
      const predicted = await predictFreeName(ctx, request).catch((err: unknown) => {
        if (isNotFound(err)) return { name: target.name, exists: false };
        throw actionFailure(`quarantine ${originalPath}: checking the target`, err);
      });
      const newPath = (target.dir === '/' ? '' : target.dir) + '/' + predicted.name;
      const extras = [options.mode ? `mode ${options.mode.text}` : '', options.lock ? 'lock' : ''].filter(Boolean).join(', ');
      const renamed = target.sanitized ? { originalName: event.name } : {};
      return { fileId, outcome: 'dry-run', detail: `would move to ${newPath}${extras ? ` (then ${extras})` : ''}${target.sanitized ? ' (name sanitized)' : ''}`, originalPath, newPath, ...renamed };
    }

    startMutation(ctx);
    try {
      await ctx.client.mkdirs(target.dir, mutationOptions(ctx, null, [], true));
    } catch (err) {
      throw actionFailure(`quarantine ${originalPath}: creating ${target.dir}`, err, { originalPath });
    }
    const move = await moveNoClobber(ctx, request, 'quarantine');
    if (!move.moved) throw new ActionFailure(`quarantine ${originalPath}: ${move.existing} exists`, { originalPath });
    const newPath = move.newPath;
    const result: Record<string, unknown> = { fileId, originalPath, newPath };
    const steps: string[] = [`moved to ${newPath}`];
    if (target.sanitized) {
      // The original name (as data, unescaped) stays in the result; the target name is safe.
      result.originalName = event.name;
      steps.push('name sanitized (control, invisible or bidi characters, or a backslash)');
    }
    // Act on the file id after the move: it is the same file whatever its name.
    const ref = fileId ? String(fileId) : newPath;
    if (options.mode) {
      try {
        const current = parseModeString(attrs.mode);
        const wanted = applyModeSpec(options.mode, current, false);
        if (wanted !== current) {
          startMutation(ctx);
          await ctx.client.setAttributes(ref, { mode: formatMode(wanted) }, mutationOptions(ctx, fileId, [newPath], true));
        }
        result.mode = formatMode(wanted);
        steps.push(`mode ${formatMode(wanted)}`);
      } catch (err) {
        throw actionFailure(`quarantine ${originalPath}: moved to ${newPath}, but setting the mode`, err, result);
      }
    }
    if (options.lock) {
      try {
        const current = await ctx.client.getAttributes(ref, { retrieveLock: true, ...readOptions(ctx) });
        const plan = planLock(current.lock, options.lock, ctx.now ? ctx.now() : new Date());
        if (plan.patch) {
          startMutation(ctx);
          const after = await ctx.client.setFileLock(ref, plan.patch, mutationOptions(ctx, fileId, [newPath], true));
          result.lock = after?.lock ?? plan.patch;
          steps.push(describeLockPatch(plan.patch, 'past'));
        } else {
          result.lock = current.lock;
          steps.push(plan.notes.join('; '));
        }
      } catch (err) {
        throw actionFailure(`quarantine ${originalPath}: moved to ${newPath}, but locking it`, err, result, PRIVILEGE_HINTS.lock);
      }
    }
    return { ...result, outcome: 'done', detail: steps.join(', ') };
  };
}
