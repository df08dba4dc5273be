// qumulo-cluster: the config node that owns the connection to one Qumulo cluster (host, port,
// TLS, credentials). Modeled on core MQTT's broker node: user nodes register/deregister and see
// the connection status mirrored. The QumuloClient comes from the process-wide pool, so a deploy
// that restarts this node hands the same client back and open watches keep streaming.

import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { QumuloClient, type QumuloClientOptions } from '../core/qumulo/client';
import { QumuloApiError, QumuloError } from '../core/qumulo/errors';
import { type ClientLease, clientPool } from '../core/qumulo/pool';
import { type ClusterConfig, type ClusterCredentials, type QumuloClusterNode, CLUSTER_TYPE, clientOptionsFromConfig } from './lib/cluster';
import { status, type StatusDot } from './lib/status';

type ClusterNodeDef = NodeDef & ClusterConfig;

interface ClusterNodeState extends QumuloClusterNode {
  clientOptions: QumuloClientOptions | null;
  client: QumuloClient | null;
  configError: string | null;
  endpoint: string;
}

/** Placeholder the editor sends for a password field the user did not touch. */
const UNCHANGED_PASSWORD = '__PWRD__';
const TEST_TIMEOUT_MS = 10_000;

export = function register(RED: NodeAPI): void {
  function QumuloClusterNodeConstructor(this: ClusterNodeState, config: ClusterNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const credentials = (node as unknown as { credentials?: ClusterCredentials }).credentials;
    const mirroring = new Set<Node>();
    const users = new Set<Node>();
    let lease: ClientLease | null = null;
    let lastStatus: StatusDot = status.connecting();
    let checked = false;

    node.endpoint = `${config.host || '?'}:${config.port || 8000}`;
    node.configError = null;
    node.clientOptions = null;
    node.client = null;
    try {
      node.clientOptions = clientOptionsFromConfig(config, credentials);
      node.endpoint = `${node.clientOptions.host}:${node.clientOptions.port}`;
      lease = clientPool.acquire(node.clientOptions);
      node.client = lease.client;
      if (node.clientOptions.rejectUnauthorized === false) {
        node.warn(`TLS certificate verification is OFF for ${node.endpoint}: anyone on the network path can impersonate the cluster`);
      }
    } catch (err) {
      node.configError = (err as Error).message;
      lastStatus = status.error(node.configError);
    }

    node.publishStatus = (dot: StatusDot) => {
      lastStatus = dot;
      for (const user of mirroring) user.status(dot);
    };

    node.register = (user: Node, options?: { mirrorStatus?: boolean }) => {
      users.add(user);
      if (options?.mirrorStatus) {
        mirroring.add(user);
        user.status(lastStatus);
      }
      // Like the MQTT broker connecting on first use: check the login once so users see a status.
      if (!checked && node.client && options?.mirrorStatus) {
        checked = true;
        const client = node.client;
        client
          .whoAmI({ timeoutMs: TEST_TIMEOUT_MS })
          .then((who) => node.publishStatus(status.ok(`connected as ${who.name ?? client.authenticatedAs}`)))
          .catch((err: unknown) => node.publishStatus(status.error(shortError(err))));
      }
    };

    node.deregister = (user: Node) => {
      users.delete(user);
      mirroring.delete(user);
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      mirroring.clear();
      users.clear();
      // Watches hold their own lease: releasing ours closes the client only if nothing uses it.
      lease?.release();
      lease = null;
      done();
    });
  }

  RED.nodes.registerType(CLUSTER_TYPE, QumuloClusterNodeConstructor as unknown as Parameters<NodeAPI['nodes']['registerType']>[1], {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
      accessToken: { type: 'password' },
    },
  } as unknown as Parameters<NodeAPI['nodes']['registerType']>[2]);

  // "Test connection" in the edit dialog: logs in with the dialog's (possibly unsaved) values and
  // reports what the cluster says. Guarded like editing the node itself.
  RED.httpAdmin.post('/qumulo-flow/cluster/test', RED.auth.needsPermission('qumulo-cluster.write'), (req: Request, res: Response) => {
    void testConnection(RED, (req.body ?? {}) as TestRequest).then((result) => res.json(result));
  });
};

type TestRequest = Partial<ClusterConfig> & ClusterCredentials;

export interface TestResult {
  ok: boolean;
  endpoint?: string;
  version?: Record<string, unknown>;
  user?: { id?: string; name?: string };
  privileges?: string[];
  notes?: string[];
  error?: string;
  status?: number;
  errorClass?: string;
}

async function testConnection(RED: NodeAPI, body: TestRequest): Promise<TestResult> {
  let client: QumuloClient | null = null;
  try {
    const stored = body.id ? ((RED.nodes.getCredentials(body.id) as ClusterCredentials | undefined) ?? {}) : {};
    const credentials: ClusterCredentials = {
      username: body.username ?? stored.username,
      password: body.password === UNCHANGED_PASSWORD || body.password === undefined ? stored.password : body.password,
      accessToken: body.accessToken === UNCHANGED_PASSWORD || body.accessToken === undefined ? stored.accessToken : body.accessToken,
    };
    const options = clientOptionsFromConfig({ ...body, id: body.id ?? '', host: body.host ?? '' }, credentials);
    // A throwaway client, not the pooled one: the dialog's values may differ from the deployed ones.
    client = new QumuloClient({ ...options, retries: 0, requestTimeoutMs: TEST_TIMEOUT_MS });
    const endpoint = `${options.protocol}://${options.host}:${options.port}`;
    const version = await client.version();
    const who = await client.whoAmI();
    const privileges = Array.isArray(who.privileges) ? who.privileges.map(String) : [];
    const notes: string[] = [];
    if (options.rejectUnauthorized === false) notes.push('TLS verification is OFF: the certificate was not checked.');
    if (privileges.length > 0 && !privileges.includes('PRIVILEGE_FS_FILE_LOCK_WRITE')) {
      notes.push('No PRIVILEGE_FS_FILE_LOCK_WRITE: WORM lock actions will be refused.');
    }
    notes.push('Recursive watches need the DATA_ADMINISTRATOR privilege (Data-Administrators or Administrators role).');
    return { ok: true, endpoint, version, user: { id: who.id, name: who.name }, privileges, notes };
  } catch (err) {
    const result: TestResult = { ok: false, error: err instanceof Error ? err.message : String(err) };
    if (err instanceof QumuloApiError) {
      result.status = err.status;
      result.errorClass = err.errorClass;
    }
    return result;
  } finally {
    await client?.close();
  }
}

function shortError(err: unknown): string {
  if (err instanceof QumuloApiError) return `HTTP ${err.status} ${err.errorClass || ''}`.trim();
  if (err instanceof QumuloError && 'code' in err) return String((err as { code: string }).code);
  return err instanceof Error ? err.message : String(err);
}
