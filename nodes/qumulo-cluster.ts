// qumulo-cluster: the config node that owns the connection to one Qumulo cluster (host, port,
// TLS, credentials). User nodes register/deregister; each shows its own status (stream state,
// last action), not the cluster's. The QumuloClient comes from the process-wide pool, so a deploy
// that restarts this node hands the same client back and open watches keep streaming.

import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import type { QumuloClient, QumuloClientOptions } from '../core/qumulo/client';
import { type ClientLease, clientPool } from '../core/qumulo/pool';
import { adminGuard } from './lib/admin-guard';
import { type ClusterConfig, type ClusterCredentials, type QumuloClusterNode, CLUSTER_TYPE, clientOptionsFromConfig } from './lib/cluster';
import { type TestRequest, testConnection } from './lib/connection-test';

type ClusterNodeDef = NodeDef & ClusterConfig;

interface ClusterNodeState extends QumuloClusterNode {
  clientOptions: QumuloClientOptions | null;
  client: QumuloClient | null;
  configError: string | null;
  endpoint: string;
}

export = function register(RED: NodeAPI): void {
  function QumuloClusterNodeConstructor(this: ClusterNodeState, config: ClusterNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const credentials = (node as unknown as { credentials?: ClusterCredentials }).credentials;
    const users = new Set<Node>();
    let lease: ClientLease | null = null;

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
    }

    node.register = (user: Node) => {
      users.add(user);
    };

    node.deregister = (user: Node) => {
      users.delete(user);
    };

    node.on('close', (_removed: boolean, done: () => void) => {
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
  // reports what the cluster says. Guarded like editing the node itself, plus the bundle's
  // JSON-only/same-origin guard; what it may use and answer is in lib/connection-test.ts.
  RED.httpAdmin.post('/qumulo-flow/cluster/test', adminGuard, RED.auth.needsPermission('qumulo-cluster.write'), (req: Request, res: Response) => {
    void testConnection(RED, (req.body ?? {}) as TestRequest).then((result) => res.json(result));
  });
};
