// Shared adapter helpers around the qumulo-cluster config node: what the config holds, how its
// settings become QumuloClientOptions, and how a user node gets the cluster and its client.

import type { Node, NodeAPI } from 'node-red';
import { parseClusterHost, parseClusterPort } from '../../core/qumulo/address';
import type { QumuloClient, QumuloClientOptions } from '../../core/qumulo/client';
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

const ENV_REF = /^\$\{(\w+)\}$/;

/** `${VAR}` → process.env.VAR (what Node-RED does for node properties and credentials). */
export function resolveEnv(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value).trim();
  const match = ENV_REF.exec(text);
  return match ? (process.env[match[1]] ?? '') : text;
}

/** Turns the config node's properties and credentials into client options, or explains what is missing. */
export function clientOptionsFromConfig(config: ClusterConfig, credentials: ClusterCredentials | undefined): QumuloClientOptions {
  const hostText = resolveEnv(config.host);
  if (!hostText) throw new Error('no host configured');
  const host = parseClusterHost(hostText);
  const protocolText = resolveEnv(config.protocol) || 'https';
  if (protocolText !== 'https' && protocolText !== 'http') throw new Error(`protocol must be https or http, not ${JSON.stringify(protocolText)}`);
  const port = parseClusterPort(resolveEnv(config.port));
  const concurrencyText = resolveEnv(config.maxConcurrency);
  const maxConcurrency = concurrencyText === '' ? 8 : Number(concurrencyText);
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new Error(`invalid max concurrency ${JSON.stringify(concurrencyText)}`);
  const accessToken = resolveEnv(credentials?.accessToken);
  const username = resolveEnv(credentials?.username);
  const password = credentials?.password === undefined ? '' : resolveEnv(credentials.password);
  if (!accessToken && !username) throw new Error('no credentials: set a username and password, or an access token');
  const ca = resolveEnv(config.ca);
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
