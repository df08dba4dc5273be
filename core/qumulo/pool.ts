// Process-level pool of QumuloClients, reference-counted. Identical settings (credentials
// included) share one client, so a cluster config node that restarts on a deploy gets the very
// client its subscriptions still use, and nothing reconnects. The last release closes it.

import { createHash } from 'node:crypto';
import { QumuloClient, type QumuloClientOptions } from './client';
import { clusterIdentity } from './identity';

export interface ClientLease {
  readonly client: QumuloClient;
  /** Who we talk to as whom, without secrets: host, port, protocol, user, TLS settings. */
  readonly connectionKey: string;
  /** connectionKey plus a hash of the secrets and tuning: equal fingerprints share a client. */
  readonly fingerprint: string;
  /** Idempotent. */
  release(): void;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function caText(ca: QumuloClientOptions['ca']): string {
  if (!ca) return '';
  return Array.isArray(ca) ? ca.join('\n') : ca;
}

/**
 * Connection identity: the cluster (identity.ts), protocol, user (or "access-token"), TLS settings. Contains no
 * secret, so it is safe in logs, and stays the same when only the password or token changes.
 */
export function connectionKey(options: QumuloClientOptions): string {
  const protocol = options.protocol ?? 'https';
  const user = options.accessToken ? 'access-token' : `user=${options.username ?? ''}`;
  const tls = protocol === 'https' ? `verify=${options.rejectUnauthorized !== false};ca=${caText(options.ca) ? hash(caText(options.ca)) : 'system'}` : 'plain';
  return `${protocol}://${clusterIdentity(options)}|${user}|${tls}`;
}

export function clientFingerprint(options: QumuloClientOptions): string {
  const secret = hash(JSON.stringify([options.username ?? '', options.password ?? '', options.accessToken ?? '']));
  const tuning = [options.maxConcurrency, options.requestTimeoutMs, options.retries, options.retryBaseMs, options.retryMaxMs].join(',');
  return `${connectionKey(options)}|secret=${secret}|${tuning}`;
}

interface PoolEntry {
  client: QumuloClient;
  refs: number;
}

export class ClientPool {
  private readonly entries = new Map<string, PoolEntry>();

  acquire(options: QumuloClientOptions): ClientLease {
    const fingerprint = clientFingerprint(options);
    let entry = this.entries.get(fingerprint);
    if (!entry || entry.client.isClosed) {
      entry = { client: new QumuloClient(options), refs: 0 };
      this.entries.set(fingerprint, entry);
    }
    entry.refs++;
    const held = entry;
    let released = false;
    return {
      client: held.client,
      connectionKey: connectionKey(options),
      fingerprint,
      release: () => {
        if (released) return;
        released = true;
        held.refs--;
        if (held.refs <= 0) {
          if (this.entries.get(fingerprint) === held) this.entries.delete(fingerprint);
          void held.client.close();
        }
      },
    };
  }

  /** Number of live clients (diagnostics, tests). */
  get size(): number {
    return this.entries.size;
  }
}

/** The process-wide pool used by the Node-RED nodes. */
export const clientPool = new ClientPool();
