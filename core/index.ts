// Public surface of the pure core (no Node-RED imports anywhere under core/).
export * from './event';
export { redactUrls, urlHasPassword } from './redact';
export { displaySafe } from './display';
export * from './qumulo/types';
export * from './qumulo/errors';
export * from './qumulo/refs';
export { ConcurrencyLimiter } from './qumulo/limiter';
export { QumuloClient } from './qumulo/client';
export { clusterHostProblem, parseClusterHost, parseClusterPort } from './qumulo/address';
export type { QumuloClientOptions, CallOptions, MutationOptions, ClientStats, FetchInit } from './qumulo/client';
export { NotifyPayloadParser, DEFAULT_MAX_LINE_LENGTH } from './qumulo/sse';
export type { MalformedKind, MalformedReport, ValidNotification } from './qumulo/sse';
export { NotifySubscription } from './qumulo/subscription';
export type { SubscriptionState, SubscriptionStatus, SubscriptionOptions, GapReason, GapRecord, FailureKind } from './qumulo/subscription';
export { ClientPool, clientPool, connectionKey, clientFingerprint } from './qumulo/pool';
export type { ClientLease } from './qumulo/pool';
export { WatchRegistry, watchRegistry, watchKey } from './watch/registry';
export { JourneyTracker } from './journey/tracker';
export type { JourneyEnd, JourneyEnding, JourneyOptions } from './journey/tracker';
export type { WatchSpec, WatchConsumer, WatchHandle, WatchInfo, BufferOverflow, RegistryOptions } from './watch/registry';

export { clusterIdentity, DEFAULT_CLUSTER_PORT } from './qumulo/identity';
export * from './rules';
export * from './redis';
export * from './guard';
export * from './actions';
export * from './heal';
export * from './settle/settle';
export * from './allstop/allstop';
export * from './time/duration';
export * from './metrics';
export * from './audit';
// Same name, different question: the core-wide answers win; the action layer's variants (duck-typed
// isNotFound, lenient joinPath, chmod's typeInScope over wire types) stay in core/actions.
export { isNotFound } from './qumulo/errors';
export { joinPath } from './qumulo/refs';
export { typeInScope } from './heal';
