// The dialogs of qumulo-redis-in and qumulo-redis-out as the core needs them. `${ENV}` references
// are resolved here (as Node-RED does for node properties); an empty field means its default and
// a bad one throws a message naming it.

import { numberSetting, resolveEnv } from '../settings';
import type { StreamConsumerOptions } from './consumer';

/** When an entry is acknowledged: the whole journey done, a qumulo-ack node, or on receipt. */
export type AckMode = 'complete' | 'node' | 'receipt';

export const DEFAULT_STREAM = 'qumulo:events';

export interface RedisInSettings {
  stream?: unknown;
  group?: unknown;
  consumer?: unknown;
  start?: unknown;
  ackMode?: unknown;
  batchSize?: unknown;
  maxInFlight?: unknown;
  claimIdle?: unknown;
  maxDeliveries?: unknown;
  ackTimeout?: unknown;
  deadLetter?: unknown;
}

/**
 * The consumer's options and ack mode. `key` applies the Redis config's key prefix;
 * `defaultConsumer` names the consumer when the field is empty.
 */
export function consumerSettings(config: RedisInSettings, key: (name: string) => string, defaultConsumer: () => string): { options: StreamConsumerOptions; ackMode: AckMode } {
  const streamName = resolveEnv(config.stream) || DEFAULT_STREAM;
  const ackMode = resolveEnv(config.ackMode) || 'complete';
  if (ackMode !== 'complete' && ackMode !== 'node' && ackMode !== 'receipt') throw new Error(`unknown ack mode "${ackMode}"`);
  const start = resolveEnv(config.start) || '0';
  if (start !== '0' && start !== '$') throw new Error(`start must be 0 (whole stream) or $ (new entries), not "${start}"`);
  const deadLetter = resolveEnv(config.deadLetter);
  const options: StreamConsumerOptions = {
    stream: key(streamName),
    group: resolveEnv(config.group) || 'qumulo-flow',
    consumer: resolveEnv(config.consumer) || defaultConsumer(),
    startId: start,
    batchSize: Math.floor(numberSetting(resolveEnv(config.batchSize), 100, { what: 'batch size', min: 1 })),
    maxInFlight: Math.floor(numberSetting(resolveEnv(config.maxInFlight), 1000, { what: 'max in flight', min: 1 })),
    claimIdleMs: Math.round(numberSetting(resolveEnv(config.claimIdle), 30, { what: 'claim idle time', min: 0.01 }) * 1000),
    maxDeliveries: Math.floor(numberSetting(resolveEnv(config.maxDeliveries), 5, { what: 'max deliveries', min: 1 })),
    ackTimeoutMs: Math.round(numberSetting(resolveEnv(config.ackTimeout), 300, { what: 'ack timeout', min: 0 }) * 1000),
    deadLetterStream: deadLetter ? key(deadLetter) : undefined,
  };
  return { options, ackMode };
}

/** Consumer names (stream|group|consumer) started in this process. */
const consumersStarted = new Set<string>();

/**
 * Records that this consumer starts, and whether re-reading its own pending entries counts a
 * delivery: not when this process ran the same consumer before (a deploy restarted the node),
 * since what it left pending was in the flow, and must not count towards the dead letters.
 */
export function countsOwnPending(options: Pick<StreamConsumerOptions, 'stream' | 'group' | 'consumer'>): boolean {
  const consumerKey = `${options.stream}|${options.group}|${options.consumer}`;
  const first = !consumersStarted.has(consumerKey);
  consumersStarted.add(consumerKey);
  return first;
}

export interface RedisOutSettings {
  stream?: unknown;
  maxLen?: unknown;
  batchSize?: unknown;
}

/** The writer's settings: stream name (prefix not applied), `MAXLEN ~` (0 = no trim) and batch size. */
export function writerSettings(config: RedisOutSettings): { stream: string; maxLen: number; batchSize: number } {
  const stream = resolveEnv(config.stream) || DEFAULT_STREAM;
  const maxLenText = resolveEnv(config.maxLen);
  const maxLen = maxLenText === '' ? 0 : Number(maxLenText);
  const batchText = resolveEnv(config.batchSize);
  const batchSize = batchText === '' ? 500 : Number(batchText);
  if (!Number.isInteger(maxLen) || maxLen < 0 || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`invalid settings: max length "${maxLenText}" must be a whole number ≥ 0, batch size "${batchText}" ≥ 1`);
  }
  return { stream, maxLen, batchSize };
}
