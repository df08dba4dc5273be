// qumulo-cluster: the config node that owns the connection to one Qumulo cluster (host, port,
// TLS, credentials). User nodes register/deregister. Like core MQTT's broker node it can mirror its
// connection status onto a user (`register(node, {mirrorStatus: true})`, checked with one
// who-am-i); the bundle's own nodes don't ask for it — each shows its own state (stream, last
// action) — so it is there for other node authors. The QumuloClient comes from the process-wide
// pool, so a deploy that restarts this node hands the same client back and open watches keep
// streaming.

import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import type { QumuloClient, QumuloClientOptions } from '../core/qumulo/client';
import { type ClientLease, clientPool } from '../core/qumulo/pool';
import { shortError } from '../core/qumulo/short-error';
import { Users } from '../core/users';
import { adminGuard } from './lib/admin-guard';
import { type ClusterConfig, type ClusterCredentials, type QumuloClusterNode, CLUSTER_TYPE, clientOptionsFromConfig } from './lib/cluster';
import { type TestRequest, TEST_TIMEOUT_MS, testConnection } from './lib/connection-test';
import { registerNodeType } from './lib/runtime';
import { status, type StatusDot } from './lib/status';

type ClusterNodeDef = NodeDef & ClusterConfig;

interface ClusterNodeState extends QumuloClusterNode {
  clientOptions: QumuloClientOptions | null;
  client: QumuloClient | null;
  configError: string | null;
  endpoint: string;
}

export = function register(RED: NodeAPI): void {
  function QumuloClusterNodeConstructor(this: ClusterNodeState & { credentials?: ClusterCredentials }, config: ClusterNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const credentials = node.credentials;
    /** Each user, and whether it mirrors the cluster's status. */
    const users = new Users<Node, boolean>();
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
      for (const [user, mirrors] of users.entries()) if (mirrors) user.status(dot);
    };

    node.register = (user: Node, options?: { mirrorStatus?: boolean }) => {
      users.add(user, options?.mirrorStatus === true);
      if (options?.mirrorStatus) user.status(lastStatus);
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
      users.remove(user);
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      users.clear();
      // Watches hold their own lease: releasing ours closes the client only if nothing uses it.
      lease?.release();
      lease = null;
      done();
    });
  }

  registerNodeType(RED, CLUSTER_TYPE, QumuloClusterNodeConstructor, {
    credentials: { username: { type: 'text' }, password: { type: 'password' }, accessToken: { type: 'password' } },
  });

  // "Test connection" in the edit dialog: logs in with the dialog's (possibly unsaved) values and
  // reports what the cluster says. Guarded like editing the node itself, plus the bundle's
  // JSON-only/same-origin guard; what it may use and answer is in lib/connection-test.ts.
  RED.httpAdmin.post('/qumulo-flow/cluster/test', adminGuard, RED.auth.needsPermission('qumulo-cluster.write'), (req: Request, res: Response) => {
    void testConnection(RED, (req.body ?? {}) as TestRequest).then((result) => res.json(result));
  });
};
