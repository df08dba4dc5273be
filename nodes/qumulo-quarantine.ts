// qumulo-quarantine: moves the event's file under a quarantine root (core/actions/quarantine.ts).
import type { NodeAPI } from 'node-red';
import { createQuarantineAction, parseModeSpec, type CollisionStyle } from '../core/actions';
import { isTrue, lockOptionsFromConfig, registerActionNode, type ActionNodeConfig } from './lib/action-node';

interface QuarantineConfig extends ActionNodeConfig {
  root?: string;
  keepStructure?: boolean | string;
  collision?: CollisionStyle;
  mode?: string;
  lockRetention?: string;
  lockLegalHold?: string;
}

export = function register(RED: NodeAPI): void {
  registerActionNode<QuarantineConfig>(RED, {
    type: 'qumulo-quarantine',
    action: 'quarantine',
    build: (config) => {
      const modeText = String(config.mode ?? '').trim();
      const wantsLock = String(config.lockRetention ?? '').trim() !== '' || config.lockLegalHold === 'on';
      return createQuarantineAction({
        root: String(config.root ?? '').trim(),
        keepStructure: config.keepStructure === undefined || config.keepStructure === '' ? true : isTrue(config.keepStructure),
        collision: config.collision === 'file-id' ? 'file-id' : 'number',
        mode: modeText ? parseModeSpec(modeText) : null,
        lock: wantsLock ? lockOptionsFromConfig({ retention: config.lockRetention, legalHold: config.lockLegalHold === 'on' ? 'on' : 'leave', relockThreshold: '0' }) : null,
      });
    },
    describe: (config) => `→ ${config.root ?? '?'}`,
  });
};
