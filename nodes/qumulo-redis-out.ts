// qumulo-redis-out: appends msg.payload (a QumuloEvent) to a Redis stream. Messages arriving in
// the same turn share one pipeline of XADDs; done() is called only after Redis answered for
// this message's XADD, so the flow (and a Complete node) knows the event is durable.
// A message with `msg.lease` (set by a qumulo-watch that elects its ingester through Redis) is
// appended only while that lease term is current: a stale leader's events are refused by Redis
// (counted and warned once per term, not errors: the current leader delivers them; core/redis/node-status.ts).

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { StreamWriter, type ConnectionStatus } from '../core/redis';
import { writerSettings, type RedisOutSettings } from '../core/redis/node-settings';
import { AppendTally, appendFenceOf } from '../core/redis/node-status';
import { refuseSettings, registerNodeType } from './lib/runtime';
import { statusDot, throttledStatus } from './lib/status';
import { getRedisConfig } from './qumulo-redis-common';

/** How long close waits for XADDs already sent to be answered. */
const CLOSE_FLUSH_MS = 5000;
const STATUS_INTERVAL_MS = 500;

export = function register(RED: NodeAPI): void {
  function QumuloRedisOutNode(this: Node, config: NodeDef & RedisOutSettings & { redis?: string }): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const redisConfig = getRedisConfig(RED, node, config.redis);
    if (!redisConfig || !redisConfig.connection) return;
    const connection = redisConfig.connection;
    let settings: ReturnType<typeof writerSettings>;
    try {
      settings = writerSettings(config);
    } catch (err) {
      return refuseSettings(node, 'invalid settings', (err as Error).message);
    }

    let connectionState: ConnectionStatus = { state: 'connecting' };
    const tally = new AppendTally();
    let closed = false;
    const shown = throttledStatus(node, () => statusDot(tally.status(connectionState)), STATUS_INTERVAL_MS);
    const client = redisConfig.register(node, (state) => {
      connectionState = state;
      shown.now();
    });
    if (!client) return;
    const writer = new StreamWriter(client, {
      maxLen: settings.maxLen,
      maxBatch: settings.batchSize,
      onFallback: (reason) =>
        node.warn(`Redis refused the batch-append script (${reason}); writing with pipelined XADD instead (same entries, more client CPU per event). Allow EVALSHA/EVAL for this user to get the faster path.`),
    });

    // The count shows up at most every STATUS_INTERVAL_MS; nothing is computed per message.
    let statusTimer: NodeJS.Timeout | null = null;
    const showSoon = () => {
      if (statusTimer || closed) return;
      statusTimer = setTimeout(() => {
        statusTimer = null;
        shown.soon();
      }, STATUS_INTERVAL_MS);
    };
    const defaultKey = connection.key(settings.stream);

    node.on('input', (msg: NodeMessage & { stream?: unknown; lease?: unknown }, _send: unknown, done: (err?: Error) => void) => {
      const key = typeof msg.stream === 'string' && msg.stream !== '' ? connection.key(msg.stream) : defaultKey;
      const fence = appendFenceOf(msg.lease);
      writer.appendWithCallback(
        key,
        msg.payload,
        (err) => {
          const outcome = tally.settle(err, key, fence);
          if (outcome.warning) node.warn(outcome.warning);
          if (outcome.show === 'now') shown.now();
          else showSoon();
          done(outcome.error);
        },
        fence,
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      const timer = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_FLUSH_MS).unref());
      Promise.race([writer.whenIdle(), timer])
        .then(async () => {
          closed = true;
          if (statusTimer) clearTimeout(statusTimer);
          shown.stop();
          node.status({});
          await redisConfig.deregister(node);
        })
        .then(
          () => done(),
          () => done(),
        );
    });
  }

  registerNodeType(RED, 'qumulo-redis-out', QumuloRedisOutNode);
};
