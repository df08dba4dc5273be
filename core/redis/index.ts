// Redis Streams transport: stable event encoding, shared connections, pipelined writer,
// consumer-group reader with bounded in-flight, claims and dead letters, and the journey tracker
// that turns Node-RED's message hooks into "ack after the work is done".
export * from './encoding';
export * from './connection';
export * from './errors';
export * from './writer';
export * from './consumer';
export * from './journeys';
export * from './registry';
export * from './scripts';
