// Rename by template: `{stem}-{date}{ext}`, sanitized into one safe name, collision-safe, in the
// same directory unless a target directory is configured (the only way to move a file).

import type { QumuloEvent } from '../event';
import { typeInScope, type ApplyTo } from './chmod';
import { moveNoClobber, predictFreeName } from './move';
import { joinPath, safeAbsoluteDir, sanitizeName, type CollisionStyle } from './names';
import { actionFailure } from './run';
import { compileTemplate, EVENT_FIELDS, eventTemplateValues, type CompiledTemplate } from './template';
import { startMutation, readOptions, attributesPath, isNotFound, mutationOptions, type Action, type ActionContext } from './types';

export interface RenameOptions {
  /** Template of the new name; its output is sanitized into a single name. */
  template: CompiledTemplate;
  /**
   * Template of the target directory: empty/null keeps the file in its directory. Absolute
   * (`/archive/{date}`) or relative to the file's directory (`done/{date}`); each component is
   * sanitized, so `..` can never climb.
   */
  targetDir: CompiledTemplate | null;
  createDirs: boolean;
  collision: CollisionStyle | 'skip' | 'fail';
  applyTo: ApplyTo;
}

export function compileRenameTemplate(text: string): CompiledTemplate {
  if (typeof text !== 'string' || text.trim() === '') throw new Error('the name template is empty');
  if (/[/\\]/.test(text.replace(/\{[^}]*\}/g, ''))) throw new Error('the name template must not contain "/" (set a target directory to move files)');
  return compileTemplate(text, EVENT_FIELDS);
}

export function compileTargetDirTemplate(text: string | null | undefined): CompiledTemplate | null {
  if (!text || text.trim() === '') return null;
  return compileTemplate(text.trim(), EVENT_FIELDS);
}

/** The directory a rendered target-dir template means for a file living in `parentDir`. */
export function resolveTargetDir(rendered: string, parentDir: string): string {
  const absolute = rendered.startsWith('/');
  const components = rendered
    .split('/')
    .filter((c) => c.length > 0)
    .map((c) => sanitizeName(c));
  const base = absolute ? '/' : safeAbsoluteDir(parentDir, 'parent directory');
  return safeAbsoluteDir(components.reduce((dir, c) => joinPath(dir, c), base), 'target directory');
}

export function renderRename(event: QumuloEvent, options: Pick<RenameOptions, 'template' | 'targetDir'>, currentPath: string): { dir: string; name: string } {
  const values = eventTemplateValues(event);
  const name = sanitizeName(options.template.render(values));
  const parentDir = currentPath.slice(0, currentPath.lastIndexOf('/')) || '/';
  const dir = options.targetDir ? resolveTargetDir(options.targetDir.render(values), parentDir) : parentDir;
  return { dir, name };
}

export function createRenameAction(options: RenameOptions): Action {
  return async (event: QumuloEvent, ctx: ActionContext) => {
    let attrs;
    try {
      attrs = await ctx.client.getAttributes(event.path, readOptions(ctx));
    } catch (err) {
      if (isNotFound(err)) return { outcome: 'skipped', detail: `${event.path} no longer exists`, originalPath: event.path };
      throw actionFailure(`rename ${event.path}: reading attributes`, err);
    }
    const originalPath = attributesPath(attrs, event.path);
    const fileId = attrs.id ?? event.fileId ?? null;
    const scope = typeInScope(attrs.type, options.applyTo);
    if (!scope.inScope) {
      return { fileId, originalPath, outcome: 'skipped', detail: `${scope.label} (this node renames ${options.applyTo === 'both' ? 'files and directories' : options.applyTo} only)` };
    }
    const target = renderRename(event, options, originalPath);
    const targetPath = joinPath(target.dir, target.name);
    if (targetPath === originalPath) return { fileId, originalPath, newPath: originalPath, outcome: 'skipped', detail: `name is already ${target.name}` };
    if (target.dir !== originalPath.slice(0, originalPath.lastIndexOf('/')) && (target.dir + '/').startsWith(originalPath + '/')) {
      throw actionFailure(`rename ${originalPath}`, new Error(`cannot move a directory into itself (${target.dir})`), { originalPath });
    }
    const request = { sourcePath: originalPath, destDir: target.dir, name: target.name, fileId, collision: options.collision };
    if (ctx.dryRun) {
      let predicted;
      try {
        predicted = await predictFreeName(ctx, request);
      } catch (err) {
        if (!isNotFound(err)) throw actionFailure(`rename ${originalPath}: checking the target`, err, { originalPath });
        predicted = { name: target.name, exists: false }; // the target directory does not exist yet
      }
      const newPath = joinPath(target.dir, predicted.name);
      if (predicted.exists) return { fileId, originalPath, newPath, outcome: 'dry-run', detail: `would not rename: ${newPath} exists (collision: ${options.collision})` };
      return { fileId, originalPath, newPath, outcome: 'dry-run', detail: `would rename to ${newPath}` };
    }
    if (options.createDirs && target.dir !== originalPath.slice(0, originalPath.lastIndexOf('/'))) {
      startMutation(ctx);
      try {
        await ctx.client.mkdirs(target.dir, mutationOptions(ctx, null, [], true));
      } catch (err) {
        throw actionFailure(`rename ${originalPath}: creating ${target.dir}`, err, { originalPath });
      }
    }
    const move = await moveNoClobber(ctx, request, 'rename');
    if (!move.moved) return { fileId, originalPath, outcome: 'skipped', detail: `${move.existing} exists (collision: skip)`, targetPath: move.existing };
    return { fileId, originalPath, newPath: move.newPath, outcome: 'done', detail: `renamed to ${move.newPath}` };
  };
}
