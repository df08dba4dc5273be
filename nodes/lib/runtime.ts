// What the node adapters take from the Node-RED runtime besides messages: registering a node
// type (one typed place for the cast Node-RED's typings need) and where state files live.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { status } from './status';

type RegisterType = NodeAPI['nodes']['registerType'];

export interface NodeTypeOptions {
  /** Credential fields, declared here as well as in the editor's HTML. */
  credentials?: Record<string, { type: 'text' | 'password' }>;
}

/**
 * Registers a node constructor. Node-RED's typings want a constructor over its own Node type;
 * ours declare the properties they add (`this: FilterNode`), so the cast lives here once.
 */
export function registerNodeType<N extends Node, C extends NodeDef>(RED: NodeAPI, type: string, constructor: (this: N, config: C) => void, options?: NodeTypeOptions): void {
  const ctor = constructor as unknown as Parameters<RegisterType>[1];
  if (options) RED.nodes.registerType(type, ctor, options as unknown as Parameters<RegisterType>[2]);
  else RED.nodes.registerType(type, ctor);
}

/**
 * Where node state files live: `QUMULO_FLOW_STATE_DIR`, else Node-RED's userDir, else
 * `whenNoUserDir` (runtimes without a userDir, such as unit-test runtimes).
 */
export function stateDirectory<T extends string | null>(RED: NodeAPI, whenNoUserDir: T): string | T {
  const fromEnv = process.env.QUMULO_FLOW_STATE_DIR;
  if (fromEnv) return fromEnv;
  const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
  return userDir || whenNoUserDir;
}

/**
 * A node whose settings are invalid: a red status, the error logged (null: already logged), and
 * (with `inputError`) every input answered with done(inputError) so Catch nodes see why nothing
 * happens. The node does nothing else.
 */
export function refuseSettings(node: Node, statusText: string, logText: string | null, inputError?: Error): void {
  node.status(status.error(statusText));
  if (logText !== null) node.error(logText);
  if (inputError) node.on('input', (_msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => done(inputError));
}
