// Process-level guard state, one per cluster identity, so that redeploying a guard node (or the
// whole flow) does not forget the intents recorded a moment ago: an action still in flight during
// a deploy has already announced its mutation, and its echo must still be recognised afterwards.
// Every guard node for the same cluster shares the one ledger; every action node using that
// cluster's client feeds it, with no wiring between the actions and the guard.

import { randomUUID } from 'node:crypto';
import type { MutationListener } from '../qumulo/types';
import { GuardCore, type GuardCoreOptions } from './guard';
import { SharedLedger, sharedLedgerStreamKey, type RedisCommandRunner, type SharedLedgerOptions } from './shared-ledger';

/** What the guard needs of a cluster client (QumuloClient satisfies it). */
export interface MutationAnnouncer {
  addMutationListener(listener: MutationListener): () => void;
}

/** Identifies this process to its peers on a shared ledger. */
export const PROCESS_INSTANCE_ID = randomUUID();

const cores = new Map<string, GuardCore>();

/** The guard state of a cluster (key: `clusterIdentity` from core/qumulo/identity.ts, e.g. `qumulo.example:8000`), created on first use. */
export function guardCoreFor(clusterIdentity: string, options?: Partial<GuardCoreOptions>): GuardCore {
  let core = cores.get(clusterIdentity);
  if (core === undefined) {
    core = new GuardCore(options);
    cores.set(clusterIdentity, core);
  } else if (options?.ledger !== undefined) {
    core.ledger.ensureCapacity(options.ledger);
  }
  return core;
}

interface Attachment {
  core: GuardCore;
  detach: () => void;
  users: Set<object>;
}

const attachments = new WeakMap<MutationAnnouncer, Attachment>();

/**
 * Makes the client announce its mutations to the core's ledger (once per client, however many
 * guard nodes use it). The returned release keeps the listener attached across redeploys and
 * detaches only when the last user is removed for good.
 */
export function attachCoreToClient(core: GuardCore, client: MutationAnnouncer, user: object): (removedForGood: boolean) => void {
  let attachment = attachments.get(client);
  if (attachment === undefined || attachment.core !== core) {
    attachment?.detach();
    attachment = { core, detach: client.addMutationListener(core.mutationListener), users: new Set() };
    attachments.set(client, attachment);
  }
  const current = attachment;
  current.users.add(user);
  return (removedForGood) => {
    current.users.delete(user);
    if (removedForGood && current.users.size === 0 && attachments.get(client) === current) {
      current.detach();
      attachments.delete(client);
    }
  };
}

/** A Redis connection the shared ledger owns while it runs. */
export interface OwnedRedisConnection extends RedisCommandRunner {
  quit(): Promise<unknown>;
}

interface SharedEntry {
  ledger: SharedLedger;
  connection: OwnedRedisConnection;
  started: Promise<void>;
  users: Set<object>;
}

const sharedLedgers = new Map<string, SharedEntry>();
/** Where the last reader of each (cluster, redis) stopped, across redeploys. */
const readPositions = new Map<string, string>();

export interface SharedLedgerLease {
  ledger: SharedLedger;
  /** Settles once the recent past of the stream has been read. */
  started: Promise<void>;
  release(): Promise<void>;
}

/**
 * Joins (or starts) the shared ledger of a cluster identity on a Redis server. One stream reader
 * per (cluster, redis) per process; the connection closes when its last guard node closes.
 */
export function acquireSharedLedger(
  clusterId: string,
  redisIdentity: string,
  connect: () => OwnedRedisConnection,
  user: object,
  options: Partial<SharedLedgerOptions> = {},
  onError: (error: Error) => void = () => undefined,
): SharedLedgerLease {
  const key = `${clusterId}\u0000${redisIdentity}`;
  let entry = sharedLedgers.get(key);
  if (entry === undefined) {
    const connection = connect();
    const ledger = new SharedLedger(
      guardCoreFor(clusterId),
      connection,
      { ...options, streamKey: options.streamKey ?? sharedLedgerStreamKey(clusterId), instanceId: options.instanceId ?? PROCESS_INSTANCE_ID },
      (error) => {
        for (const listener of errorListeners.get(ledger) ?? []) listener(error);
      },
    );
    entry = { ledger, connection, started: ledger.start(readPositions.get(key)), users: new Set() };
    sharedLedgers.set(key, entry);
  }
  const current = entry;
  current.users.add(user);
  const listeners = errorListeners.get(current.ledger) ?? new Set();
  listeners.add(onError);
  errorListeners.set(current.ledger, listeners);
  return {
    ledger: current.ledger,
    started: current.started,
    release: async () => {
      current.users.delete(user);
      listeners.delete(onError);
      if (current.users.size > 0 || sharedLedgers.get(key) !== current) return;
      sharedLedgers.delete(key);
      current.ledger.stop();
      await current.started.catch(() => undefined);
      readPositions.set(key, current.ledger.position); // a later reader goes on from here
      await current.connection.quit().catch(() => undefined);
    },
  };
}

const errorListeners = new WeakMap<SharedLedger, Set<(error: Error) => void>>();
