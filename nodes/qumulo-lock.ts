// qumulo-lock: WORM retention and/or legal hold on the event's file (core/actions/lock.ts).
import type { NodeAPI } from 'node-red';
import { createLockAction, type LegalHoldChoice } from '../core/actions';
import { lockOptionsFromConfig, registerActionNode, type ActionNodeConfig } from './lib/action-node';
import { registerFieldCheckEndpoint } from './lib/field-check';

interface LockConfig extends ActionNodeConfig {
  retention?: string;
  legalHold?: LegalHoldChoice;
  relockThreshold?: string;
}

export = function register(RED: NodeAPI): void {
  // The editor's server-side field checks (every dialog's, not only this node's).
  registerFieldCheckEndpoint(RED);
  registerActionNode<LockConfig>(RED, {
    type: 'qumulo-lock',
    action: 'lock',
    build: (config) => createLockAction(lockOptionsFromConfig(config)),
    describe: (config) => {
      const parts: string[] = [];
      if (config.retention) parts.push(`lock ${config.retention}`);
      if (config.legalHold === 'on') parts.push('legal hold');
      if (config.legalHold === 'off') parts.push('release hold');
      return parts.join(' + ') || 'lock';
    },
  });
};
