// chmod: octal or symbolic modes on files, directories or both (docs/qumulo-api.md §6). Reads the
// current mode first and skips when it already is what the spec asks for.

import type { QumuloEvent } from '../event';
import { eventRef } from './lock';
import { applyModeSpec, formatMode, parseModeString, type ModeSpec } from './mode';
import { actionFailure } from './run';
import { startMutation, readOptions, attributesPath, isNotFound, mutationOptions, type Action, type ActionContext } from './types';

/** What a chmod or rename node acts on (the editor's option list is built from this). */
export const APPLY_TO = ['files', 'directories', 'both'] as const;
export type ApplyTo = (typeof APPLY_TO)[number];

export interface ChmodOptions {
  mode: ModeSpec;
  applyTo: ApplyTo;
}

/** Whether an object of this wire type is in scope; null when it is neither file nor directory. */
export function typeInScope(type: string, applyTo: ApplyTo): { inScope: boolean; isDirectory: boolean; label: string } {
  const isDirectory = type === 'FS_FILE_TYPE_DIRECTORY';
  const isFile = type === 'FS_FILE_TYPE_FILE';
  const label = isDirectory ? 'directory' : isFile ? 'file' : String(type).replace(/^FS_FILE_TYPE_/, '').toLowerCase();
  const inScope = (isFile && applyTo !== 'directories') || (isDirectory && applyTo !== 'files');
  return { inScope, isDirectory, label };
}

export function createChmodAction(options: ChmodOptions): Action {
  return async (event: QumuloEvent, ctx: ActionContext) => {
    // Cheap early skip when the event already says what it is.
    if (event.isDirectory === true && options.applyTo === 'files') return { outcome: 'skipped', detail: 'directory (this node changes files only)' };
    if (event.isDirectory === false && options.applyTo === 'directories') return { outcome: 'skipped', detail: 'file (this node changes directories only)' };
    const ref = eventRef(event);
    let attrs;
    try {
      attrs = await ctx.client.getAttributes(ref, readOptions(ctx));
    } catch (err) {
      if (isNotFound(err)) return { outcome: 'skipped', detail: `${event.path} no longer exists` };
      throw actionFailure(`chmod ${event.path}: reading attributes`, err);
    }
    const path = attributesPath(attrs, event.path);
    const fileId = attrs.id ?? event.fileId ?? null;
    const scope = typeInScope(attrs.type, options.applyTo);
    if (!scope.inScope) return { path, fileId, outcome: 'skipped', detail: `${scope.label} (this node changes ${options.applyTo === 'both' ? 'files and directories' : options.applyTo} only)` };
    const current = parseModeString(attrs.mode);
    const wanted = applyModeSpec(options.mode, current, scope.isDirectory);
    const oldMode = formatMode(current);
    const newMode = formatMode(wanted);
    if (wanted === current) return { path, fileId, outcome: 'skipped', detail: `mode already ${oldMode}`, oldMode, newMode };
    if (ctx.dryRun) return { path, fileId, outcome: 'dry-run', detail: `would change mode ${oldMode} → ${newMode}`, oldMode, newMode };
    startMutation(ctx);
    try {
      await ctx.client.setAttributes(attrs.id ? String(attrs.id) : ref, { mode: newMode }, mutationOptions(ctx, fileId, [path], true));
    } catch (err) {
      throw actionFailure(`chmod ${path} to ${newMode}`, err, { path, fileId, oldMode, newMode });
    }
    return { path, fileId, outcome: 'done', detail: `mode ${oldMode} → ${newMode}`, oldMode, newMode };
  };
}
