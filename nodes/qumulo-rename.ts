// qumulo-rename: renames (and, when asked, moves) the event's file by template (core/actions/rename.ts).
import type { NodeAPI } from 'node-red';
import { compileRenameTemplate, compileTargetDirTemplate, createRenameAction, type CollisionStyle } from '../core/actions';
import { applyToFrom, isTrue, registerActionNode, type ActionNodeConfig } from './lib/action-node';

interface RenameConfig extends ActionNodeConfig {
  template?: string;
  targetDir?: string;
  createDirs?: boolean | string;
  collision?: CollisionStyle | 'skip' | 'fail';
  applyTo?: string;
}

const COLLISIONS = ['number', 'file-id', 'skip', 'fail'] as const;

export = function register(RED: NodeAPI): void {
  registerActionNode<RenameConfig>(RED, {
    type: 'qumulo-rename',
    action: 'rename',
    build: (config) =>
      createRenameAction({
        template: compileRenameTemplate(String(config.template ?? '')),
        targetDir: compileTargetDirTemplate(config.targetDir),
        createDirs: isTrue(config.createDirs),
        collision: COLLISIONS.includes(config.collision as (typeof COLLISIONS)[number]) ? (config.collision as (typeof COLLISIONS)[number]) : 'number',
        applyTo: applyToFrom(config.applyTo, 'files'),
      }),
    describe: (config) => `→ ${config.targetDir ? `${config.targetDir}/` : ''}${config.template ?? ''}`,
  });
};
