// qumulo-chmod: octal or symbolic modes on files and/or directories (core/actions/chmod.ts).
import type { NodeAPI } from 'node-red';
import { createChmodAction, parseModeSpec, type ApplyTo } from '../core/actions';
import { applyToFrom, registerActionNode, type ActionNodeConfig } from './lib/action-node';

interface ChmodConfig extends ActionNodeConfig {
  mode?: string;
  applyTo?: ApplyTo;
}

export = function register(RED: NodeAPI): void {
  registerActionNode<ChmodConfig>(RED, {
    type: 'qumulo-chmod',
    action: 'chmod',
    build: (config) => createChmodAction({ mode: parseModeSpec(String(config.mode ?? '')), applyTo: applyToFrom(config.applyTo, 'files') }),
    describe: (config) => `chmod ${config.mode ?? ''} (${applyToFrom(config.applyTo, 'files')})`,
  });
};
