// A deployed node's properties as stored in the flow. Node-RED replaces a property that is exactly
// `${VAR}` with the variable's value before the node's constructor sees it; security checks that
// must tell "typed into the flow" from "taken from the environment" need the stored form.

import type { NodeAPI } from 'node-red';

/** The stored (unresolved) properties of the deployed node `id`, or null. */
export function storedConfig(RED: NodeAPI, id: string): Record<string, unknown> | null {
  let found: Record<string, unknown> | null = null;
  RED.nodes.eachNode((node) => {
    if ((node as { id?: string }).id === id) found = node as unknown as Record<string, unknown>;
  });
  return found;
}

export { isEnvReference } from '../../core/settings';
