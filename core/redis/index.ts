// Redis Streams transport: stable event encoding, shared connections, pipelined writer,
// consumer-group reader with bounded in-flight, claims, prompt redelivery and dead letters. When
// the flow is done with an entry is the journey tracker's business (core/journey).
export * from './encoding';
export * from './connection';
export * from './errors';
export * from './writer';
export * from './consumer';
export * from './registry';
export * from './scripts';
