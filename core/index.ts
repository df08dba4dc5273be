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

// The other parts of the core, namespaced so their names don't collide.
export * as rules from './rules';
export * as redis from './redis';
export * as guard from './guard';
export * as actions from './actions';
export * as heal from './heal';
export * as metrics from './metrics';
export * as audit from './audit';
