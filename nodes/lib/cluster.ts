// Shared adapter helpers around the qumulo-cluster config node: what the config holds, how its
// settings become QumuloClientOptions, and how a user node gets the cluster and its client.

import type { Node, NodeAPI } from 'node-red';
import { parseClusterHost, parseClusterPort } from '../../core/qumulo/address';
import type { QumuloClient, QumuloClientOptions } from '../../core/qumulo/client';
import { resolveEnv } from '../../core/settings';
import { status, type StatusDot } from './status';

/** Properties of the qumulo-cluster node as stored in the flow. */
export interface ClusterConfig {
  id: string;
  name?: string;
  host: string;
  port?: string | number;
  protocol?: string;
  /** PEM text of the CA that signed the cluster certificate (not a secret). */
  ca?: string;
  /** DANGEROUS: accept any certificate. */
  skipVerify?: boolean;
  maxConcurrency?: string | number;
}

export interface ClusterCredentials {
  username?: string;
  password?: string;
  accessToken?: string;
}

/** What a user node may rely on from the config node (see nodes/qumulo-cluster.ts). */
export interface QumuloClusterNode extends Node {
  /** Settings and secrets for the client; null when the configuration is incomplete. */
  readonly clientOptions: QumuloClientOptions | null;
  /** The shared client (same instance for identical settings across deploys); null when misconfigured. */
  readonly client: QumuloClient | null;
  /** Why the client could not be built. */
  readonly configError: string | null;
  /** "host:port" for status texts and logs (no secrets). */
  readonly endpoint: string;
  /** Adds a user; with mirrorStatus the cluster's connection status is shown on the user too. */
  register(user: Node, options?: { mirrorStatus?: boolean }): void;
  deregister(user: Node): void;
  /** Publishes a connection status to every mirroring user (e.g. after an auth failure). */
  publishStatus(dot: StatusDot): void;
}

export const CLUSTER_TYPE = 'qumulo-cluster';

// `${VAR}` is read the same way for every node (core/settings.ts).
export { resolveEnv };

/** A request value taken literally: never looked up in the environment (see the Test connection endpoint). */
export function literalValue(value: unknown): string {
  return value === undefined || value === null ? '' : String(value).trim();
}

/**
 * Turns the config node's properties and credentials into client options, or explains what is
 * missing. `resolve` reads `${VAR}` by default; pass `literalValue` for values that must not be
 * resolved. Messages never repeat a value (it may come from the environment).
 */
export function clientOptionsFromConfig(config: ClusterConfig, credentials: ClusterCredentials | undefined, resolve: (value: unknown) => string = resolveEnv): QumuloClientOptions {
  const hostText = resolve(config.host);
  if (!hostText) throw new Error('no host configured');
  const host = parseClusterHost(hostText);
  const protocolText = resolve(config.protocol) || 'https';
  if (protocolText !== 'https' && protocolText !== 'http') throw new Error('protocol must be https or http');
  const port = parseClusterPort(resolve(config.port));
  const concurrencyText = resolve(config.maxConcurrency);
  const maxConcurrency = concurrencyText === '' ? 8 : Number(concurrencyText);
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new Error('invalid max concurrency: give a whole number of at least 1');
  const accessToken = resolve(credentials?.accessToken);
  const username = resolve(credentials?.username);
  const password = credentials?.password === undefined ? '' : resolve(credentials.password);
  if (!accessToken && !username) throw new Error('no credentials: set a username and password, or an access token');
  const ca = resolve(config.ca);
  return {
    host,
    port,
    protocol: protocolText,
    ...(accessToken ? { accessToken } : { username, password }),
    ...(ca ? { ca } : {}),
    rejectUnauthorized: config.skipVerify !== true && String(config.skipVerify) !== 'true',
    maxConcurrency,
  };
}

/**
 * The cluster config node a user node points at, with a red status and a logged error when it
 * is missing or misconfigured. Returns null in that case.
 */
export function getCluster(RED: NodeAPI, node: Node, clusterId: string | undefined): QumuloClusterNode | null {
  const cluster = clusterId ? (RED.nodes.getNode(clusterId) as QumuloClusterNode | null) : null;
  if (!cluster || cluster.type !== CLUSTER_TYPE) {
    node.status(status.error('no cluster configured'));
    node.error('No Qumulo cluster configured: choose or add a qumulo-cluster in the node settings');
    return null;
  }
  if (!cluster.client || !cluster.clientOptions) {
    node.status(status.error(`cluster: ${cluster.configError ?? 'not configured'}`));
    node.error(`Qumulo cluster ${cluster.endpoint}: ${cluster.configError ?? 'not configured'}`);
    return null;
  }
  return cluster;
}
