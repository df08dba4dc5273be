// qumulo-redis-in: reads events from a Redis stream as a member of a consumer group and sends
// one message per entry (payload = event, topic = type, msg.redis = where it came from).
// The entry is acknowledged only after the work is done (default: when every node the message
// reached has called done()), so a crash, a redeploy or a failing action means redelivery,
// never loss. The stream logic lives in core/redis/consumer.ts; this adapter wires it to the
// runtime: message journeys (hooks), status, errors, close.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { StreamConsumer, redisErrorText, type ConnectionStatus, type ConsumerStats, type DeadLetterReport, type DeliveredEntry, type StreamConsumerOptions } from '../core/redis';
import { registerConsumer } from '../core/redis/registry';
import { resolveEnv } from './lib/cluster';
import { acquireJourneyHooks, hasWires, isDeploying, journeys, messageIds, releaseJourneyHooks, type JourneyEnding } from './lib/journeys';
import { whenFlowsRun } from './lib/lifecycle';
import { registerNodeType } from './lib/runtime';
import { numberSetting } from '../core/settings';
import { Throttle, status, type StatusDot } from './lib/status';
import { connectionDot, defaultConsumerName, getRedisConfig } from './qumulo-redis-common';

type AckMode = 'complete' | 'node' | 'receipt';

interface RedisInConfig {
  name?: string;
  redis?: string;
  stream?: string;
  group?: string;
  consumer?: string;
  start?: string;
  ackMode?: string;
  batchSize?: string | number;
  maxInFlight?: string | number;
  claimIdle?: string | number;
  maxDeliveries?: string | number;
  ackTimeout?: string | number;
  deadLetter?: string;
  /** An error a Catch node received counts as handled: the entry is acknowledged. */
  caughtErrorsAreHandled?: boolean | string;
}

export interface RedisMessageInfo {
  stream: string;
  group: string;
  consumer: string;
  id: string;
  deliveries: number;
}

/** How long close waits for messages already in the flow to finish (and be acked). */
const CLOSE_DRAIN_MS = 500;
const STATUS_INTERVAL_MS = 500;
/** Consumer names (stream|group|consumer) started in this process. */
const consumersStarted = new Set<string>();
/** A message lost outside a deploy is delivered again after this pause (and counted). */
const LOST_REDELIVERY_MS = 1_000;

export = function register(RED: NodeAPI): void {
  function QumuloRedisInNode(this: Node, config: NodeDef & RedisInConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const redisConfig = getRedisConfig(RED, node, config.redis);
    if (!redisConfig || !redisConfig.connection) return;
    const connection = redisConfig.connection;

    let options: StreamConsumerOptions;
    let ackMode: AckMode;
    try {
      const streamName = resolveEnv(config.stream) || 'qumulo:events';
      const modeText = resolveEnv(config.ackMode) || 'complete';
      if (modeText !== 'complete' && modeText !== 'node' && modeText !== 'receipt') throw new Error(`unknown ack mode "${modeText}"`);
      ackMode = modeText;
      const start = resolveEnv(config.start) || '0';
      if (start !== '0' && start !== '$') throw new Error(`start must be 0 (whole stream) or $ (new entries), not "${start}"`);
      const deadLetter = resolveEnv(config.deadLetter);
      options = {
        stream: connection.key(streamName),
        group: resolveEnv(config.group) || 'qumulo-flow',
        consumer: resolveEnv(config.consumer) || defaultConsumerName(RED, node.id),
        startId: start,
        batchSize: Math.floor(numberSetting(resolveEnv(config.batchSize), 100, { what: 'batch size', min: 1 })),
        maxInFlight: Math.floor(numberSetting(resolveEnv(config.maxInFlight), 1000, { what: 'max in flight', min: 1 })),
        claimIdleMs: Math.round(numberSetting(resolveEnv(config.claimIdle), 30, { what: 'claim idle time', min: 0.01 }) * 1000),
        maxDeliveries: Math.floor(numberSetting(resolveEnv(config.maxDeliveries), 5, { what: 'max deliveries', min: 1 })),
        ackTimeoutMs: Math.round(numberSetting(resolveEnv(config.ackTimeout), 300, { what: 'ack timeout', min: 0 }) * 1000),
        deadLetterStream: deadLetter ? connection.key(deadLetter) : undefined,
      };
      // A consumer name this process ran before (a deploy restarted the node): what it left
      // pending was in the flow, so re-reading it must not count towards the dead letters.
      const consumerKey = `${options.stream}|${options.group}|${options.consumer}`;
      options.countOwnPending = !consumersStarted.has(consumerKey);
      consumersStarted.add(consumerKey);
    } catch (err) {
      node.status(status.error((err as Error).message));
      node.error((err as Error).message);
      return;
    }

    const wired = hasWires(node);
    const caughtErrorsAreHandled = config.caughtErrorsAreHandled === true || config.caughtErrorsAreHandled === 'true';
    const nextMessageId = messageIds();
    let connectionState: ConnectionStatus = { state: 'connecting' };
    let loopError: string | null = null;
    let stats: ConsumerStats | null = null;
    let closed = false;
    let warnedUnacked = false;
    /** Entries the consumer handed over while a deploy was replacing nodes: sent once flows run. */
    let flowsRunning = false;
    const heldBack: Array<[DeliveredEntry, string]> = [];
    /** Entries whose message a deploy cut: delivered again once the flows run. */
    const cutDuringDeploy = new Set<string>();

    const statusThrottle = new Throttle<StatusDot>(STATUS_INTERVAL_MS, (dot) => {
      if (!closed) node.status(dot);
    });
    const describe = (): StatusDot => {
      if (connectionState.state !== 'connected') return connectionDot(connectionState);
      if (loopError) return status.error(loopError);
      if (!stats) return status.ok('connected');
      const parts = [`in flight ${stats.inFlight}`];
      if (stats.pending !== undefined) parts.push(`pending ${stats.pending}`);
      if (stats.lag !== undefined && stats.lag !== null) parts.push(`lag ${stats.lag}`);
      if (stats.deadLettered > 0) parts.push(`dead ${stats.deadLettered}`);
      return status.ok(parts.join(' · '));
    };
    const showStatus = () => statusThrottle.push(describe());

    const client = redisConfig.register(node, (state) => {
      connectionState = state;
      if (!closed) statusThrottle.now(describe());
    });
    if (!client) return;

    /** A message's journey ended: `entryId` is the Redis entry it carried. */
    const journeyEnded = (handle: unknown, ending: JourneyEnding) => {
      const entryId = handle as string;
      if (ending.kind === 'cut') {
        if (ackMode === 'receipt' || closed) return; // acked already / stays pending for the next start
        if (!flowsRunning || isDeploying()) {
          cutDuringDeploy.add(entryId);
        } else {
          // Lost while the flows run (a late send from a stopped node, a wire to a node that
          // failed to start): again after a pause, counted, so a permanent loss dead-letters.
          setTimeout(() => void consumer.redeliver(entryId, true), LOST_REDELIVERY_MS).unref();
        }
        return;
      }
      if (ending.kind === 'failed') {
        consumer.fail(entryId, ending.error);
        return;
      }
      if (ackMode === 'complete') {
        consumer.ack(entryId).catch(() => undefined); // retried inside the consumer
        return;
      }
      if (ackMode === 'node' && consumer.isAwaitingAck(entryId) && !warnedUnacked) {
        warnedUnacked = true;
        node.warn(`a message finished its journey without reaching a qumulo-ack node (entry ${entryId}); it stays pending and is delivered again after the claim idle time. Wire every path, including "no match", to a qumulo-ack node, or use ack mode "when the flow is done".`);
      }
      // Ack node mode: free the slot (an unacknowledged entry comes back later). Receipt mode: done.
      consumer.release(entryId);
    };

    const send = (entry: DeliveredEntry, msgid: string): void => {
      const event = entry.event as { type?: unknown };
      const redis: RedisMessageInfo = { stream: options.stream, group: options.group, consumer: options.consumer, id: entry.id, deliveries: entry.deliveries };
      const msg = { _msgid: msgid, payload: entry.event, topic: typeof event.type === 'string' ? event.type : '', redis } as NodeMessage;
      journeys.begin(msgid, entry.id, journeyEnded, { caughtErrorsAreHandled });
      if (ackMode === 'receipt') consumer.ackEarly(entry.id);
      node.send(msg);
      // Nothing wired: the journey ends here.
      if (!wired) journeys.endIfIdle(msgid);
    };

    /** Sends one entry (or holds it while a deploy runs); returns the message id, which the consumer hands back on timeout. */
    const deliver = (entry: DeliveredEntry): string => {
      const msgid = nextMessageId();
      if (flowsRunning) send(entry, msgid);
      else heldBack.push([entry, msgid]);
      return msgid;
    };

    const reportDeadLetter = (report: DeadLetterReport) => {
      const event = (report.event ?? {}) as { type?: unknown };
      const text = `entry ${report.id} moved to dead-letter stream ${report.deadLetterStream} (${report.deadLetterId}): ${report.error}`;
      // A synthetic message so Catch nodes can react (alert, re-drive).
      node.error(text, {
        payload: report.event,
        topic: typeof event.type === 'string' ? event.type : '',
        redis: { stream: options.stream, group: options.group, consumer: options.consumer, id: report.id, deliveries: report.deliveries, deadLetterStream: report.deadLetterStream, deadLetterId: report.deadLetterId },
        error: { message: report.error },
      } as NodeMessage);
      showStatus();
    };

    acquireJourneyHooks(RED);
    const consumer = new StreamConsumer(client, connection.createBlockingClient(), options, {
      deliver,
      deadLettered: reportDeadLetter,
      timedOut: (id, afterMs, msgid) => {
        if (msgid !== undefined) journeys.abandon(msgid);
        node.warn(`entry ${id}: the flow did not finish with it within ${afterMs / 1000} s (a node that never calls done()?); it will be delivered again`);
      },
      warning: (text) => node.warn(text),
      error: (err) => {
        loopError = redisErrorText(err);
        node.error(`reading ${options.stream} as ${options.group}/${options.consumer}: ${loopError}`);
        statusThrottle.now(describe());
      },
      healthy: () => {
        loopError = null;
        statusThrottle.now(describe());
      },
      stats: (latest) => {
        stats = latest;
        showStatus();
      },
    });
    const unregister = registerConsumer(options.stream, options.group, consumer);

    // Send only while the flows run: between 'flows:stopping' and 'flows:started' a deploy may
    // be replacing the nodes this one sends to, and Node-RED drops messages addressed to them.
    const onStarted = () => {
      if (closed) return;
      flowsRunning = true;
      consumer.start();
      for (const [entry, msgid] of heldBack.splice(0)) send(entry, msgid);
      // After the journeys' own sweep (same event): whatever the deploy cut goes out again.
      setImmediate(() => {
        if (closed || !flowsRunning) return;
        const ids = [...cutDuringDeploy];
        cutDuringDeploy.clear();
        if (ids.length > 0) node.log(`${ids.length} message(s) cut by the deploy are delivered again`);
        for (const id of ids) void consumer.redeliver(id, false);
      });
    };
    const unsubscribeLifecycle = whenFlowsRun(RED.events, {
      started: onStarted,
      stopping: () => {
        flowsRunning = false;
      },
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      unsubscribeLifecycle();
      unregister();
      consumer
        .stop(CLOSE_DRAIN_MS)
        .catch(() => undefined)
        .then(async () => {
          closed = true;
          statusThrottle.cancel();
          // Whatever is still in the flow stays pending in Redis and is re-read by the node that
          // replaces this one (same consumer name), at once.
          const left = journeys.abandonAllOf(journeyEnded) + cutDuringDeploy.size;
          cutDuringDeploy.clear();
          if (left > 0) node.log(`${left} message(s) still in the flow at close stay pending and are delivered again`);
          releaseJourneyHooks(RED);
          node.status({});
          // The other instances of a scale-out may take what is left at once (this one may not return).
          await consumer.handOver().catch(() => 0);
          await redisConfig.deregister(node);
        })
        .then(
          () => done(),
          () => done(),
        );
    });
  }

  registerNodeType(RED, 'qumulo-redis-in', QumuloRedisInNode);
};
