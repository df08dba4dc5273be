// How the loop guard node plugs its per-cluster GuardCore into the runtime: every qumulo-cluster
// client of the same cluster feeds the ledger, and an optional qumulo-redis config node carries the
// shared ledger between Node-RED instances. Node-RED lookups only; the logic is in core/guard.

import type { Node, NodeAPI } from 'node-red';
import { numberSetting } from '../../core/settings';
import type { GuardCore } from '../../core/guard/guard';
import { clusterIdentity } from '../../core/qumulo/identity';
import { acquireSharedLedger, attachCoreToClient, type MutationAnnouncer, type OwnedRedisConnection, type SharedLedgerLease } from '../../core/guard/registry';
import { sharedLedgerStreamKey } from '../../core/guard/shared-ledger';
import type { GuardMonitor } from '../../core/guard/node-support';
import { CLUSTER_TYPE, type QumuloClusterNode } from './cluster';

/**
 * Attaches the core to `first` and to every other cluster client of the same cluster: action nodes
 * may use another qumulo-cluster config (other user or tuning, hence another pooled client).
 * Node-RED creates config nodes before flow nodes; looked up again once the flows have started.
 * Returns the detach (on close).
 */
export function attachClusterClients(RED: NodeAPI, user: Node, core: GuardCore, clusterId: string, first: MutationAnnouncer): (removed: boolean) => void {
  const attached = new Map<MutationAnnouncer, (removedForGood: boolean) => void>();
  let closed = false;
  const attach = (client: MutationAnnouncer) => {
    if (!attached.has(client)) attached.set(client, attachCoreToClient(core, client, user));
  };
  const attachSameCluster = () => {
    if (closed) return;
    RED.nodes.eachNode((def: { id: string; type: string }) => {
      if (def.type !== CLUSTER_TYPE) return;
      const other = RED.nodes.getNode(def.id) as QumuloClusterNode | null;
      if (other?.client && other.clientOptions && clusterIdentity(other.clientOptions) === clusterId) attach(other.client);
    });
  };
  attach(first);
  attachSameCluster();
  RED.events.on('flows:started', attachSameCluster);
  return (removed) => {
    closed = true;
    RED.events.removeListener('flows:started', attachSameCluster);
    for (const release of attached.values()) release(removed);
  };
}

/** What the guard uses of a qumulo-redis config node (nodes/qumulo-redis.ts). */
interface RedisConfigNodeLike extends Node {
  connection: { key(name: string): string; config: { url: string } } | null;
  configError: string | null;
  register(user: Node): { call(command: string, ...args: (string | number)[]): Promise<unknown> } | null;
  deregister(user: Node): Promise<void>;
}

/**
 * Opens the shared ledger through the configured qumulo-redis node, or returns null (and says why
 * on the node and in `monitor.sharedError`): the guard then decides with its local ledger only.
 * The first guard node on this (cluster, redis) opens the reader's connection; the last one closes it.
 */
export function openSharedLedger(RED: NodeAPI, user: Node, redisId: string, watcherSkew: unknown, clusterId: string, monitor: GuardMonitor, onError: () => void): SharedLedgerLease | null {
  const redisNode = RED.nodes.getNode(redisId) as RedisConfigNodeLike | null;
  const connection = redisNode?.connection ?? null;
  if (!redisNode || !connection) {
    monitor.sharedError = `not configured${redisNode?.configError ? `: ${redisNode.configError}` : ''}`;
    user.error(`Loop guard: the shared ledger's Redis config is missing or invalid (${monitor.sharedError}); deciding with the local ledger only`);
    return null;
  }
  const connect = (): OwnedRedisConnection => {
    const client = redisNode.register(user);
    if (!client) throw new Error(`Redis: ${redisNode.configError ?? 'not configured'}`);
    return { call: (command, ...args) => client.call(command, ...args), quit: () => redisNode.deregister(user) };
  };
  try {
    const options = { streamKey: connection.key(sharedLedgerStreamKey(clusterId)), watcherSkewMs: numberSetting(watcherSkew, 0, { what: 'watcher skew', min: 0 }) };
    return acquireSharedLedger(clusterId, `${redisId}|${connection.config.url}|${connection.key('')}`, connect, user, options, (error) => {
      monitor.sharedFailed(error);
      onError();
    });
  } catch (err) {
    monitor.sharedError = (err as Error).message;
    user.error(`Loop guard: shared ledger unavailable (${monitor.sharedError}); deciding with the local ledger only`);
    return null;
  }
}
