// Scale-out for a qumulo-watch: the election spec over the selected qumulo-redis config node (the
// registry runs the lease, core/scale/lease.ts). Node-RED wiring only: the lease time is parsed
// by the core (parseLeaseTime) and a bad setting is refused on the node.

import * as os from 'node:os';
import type { Node, NodeAPI } from 'node-red';
import { createRedisClient } from '../../core/redis/connection';
import { parseLeaseTime } from '../../core/scale/lease';
import type { ElectionSpec } from '../../core/watch/registry';
import { getRedisConfig } from '../qumulo-redis-common';
import { refuseSettings } from './runtime';

/**
 * The election of `node` through Redis config node `redisId`: undefined without one (this instance
 * always watches), null when it cannot run (the node's status and log say why).
 */
export function electionFor(RED: NodeAPI, node: Node, redisId: string | undefined, lease: unknown): ElectionSpec | undefined | null {
  if (!redisId) return undefined;
  const redisConfig = getRedisConfig(RED, node, redisId);
  if (!redisConfig?.connection) return null;
  let leaseMs: number;
  try {
    leaseMs = parseLeaseTime(lease);
  } catch (err) {
    refuseSettings(node, 'invalid lease', `Invalid scale-out settings: ${(err as Error).message}`);
    return null;
  }
  const connectionConfig = redisConfig.connection.config;
  return {
    // Fails fast while Redis is away: the lease must notice, not queue its renewals.
    connect: () => createRedisClient({ ...connectionConfig, connectionName: `qumulo-flow:lease:${node.id}` }, 'blocking'),
    keyPrefix: connectionConfig.keyPrefix ?? '',
    holder: `${os.hostname()}:${process.pid}`,
    leaseMs,
  };
}
