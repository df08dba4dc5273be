// Which cluster a configuration talks to: lower-cased host and port, the same whatever the
// protocol, user or TLS settings. It keys everything kept per cluster — the all-stop state file,
// the loop guard's ledger (and its shared Redis stream) — and starts the client pool's connection
// key (pool.ts), which adds protocol, user and TLS settings to it.

export const DEFAULT_CLUSTER_PORT = 8000;

/** `host:port`, host lower-cased; the port defaults to 8000 like the cluster config node's. */
export function clusterIdentity(cluster: { host: string; port?: number | string }): string {
  return `${String(cluster.host).trim().toLowerCase()}:${String(cluster.port ?? DEFAULT_CLUSTER_PORT).trim()}`;
}
