// qumulo-redis-in: reads events from a Redis stream as a member of a consumer group and sends
// one message per entry (payload = event, topic = type, msg.redis = where it came from).
// The entry is acknowledged only after the work is done (default: when every node the message
// reached has called done()), so a crash, a redeploy or a failing action means redelivery,
// never loss. The stream logic lives in core/redis/consumer.ts, what a journey's end means for
// its entry in core/redis/delivery.ts; this adapter wires them to the runtime.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { StreamConsumer, type DeliveredEntry, type StreamConsumerOptions } from '../core/redis';
import { Deliveries, entryMessage } from '../core/redis/delivery';
import { consumerSettings, countsOwnPending, type AckMode, type RedisInSettings } from '../core/redis/node-settings';
import { ConsumerView } from '../core/redis/node-status';
import { registerConsumer } from '../core/redis/registry';
import { isTrue } from '../core/settings';
import { isDeploying, journeys } from './lib/journeys';
import { whenFlowsRun } from './lib/lifecycle';
import { refuseSettings, registerNodeType } from './lib/runtime';
import { statusDot, throttledStatus } from './lib/status';
import { trackSends } from './lib/tracked-sends';
import { defaultConsumerName, getRedisConfig } from './qumulo-redis-common';

/** How long close waits for messages already in the flow to finish (and be acked). */
const CLOSE_DRAIN_MS = 500;

export = function register(RED: NodeAPI): void {
  /** `caughtErrorsAreHandled`: an error a Catch node received counts as handled (the entry is acknowledged). */
  function QumuloRedisInNode(this: Node, config: NodeDef & RedisInSettings & { redis?: string; caughtErrorsAreHandled?: unknown }): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const redisConfig = getRedisConfig(RED, node, config.redis);
    if (!redisConfig || !redisConfig.connection) return;
    const connection = redisConfig.connection;
    let options: StreamConsumerOptions;
    let ackMode: AckMode;
    try {
      ({ options, ackMode } = consumerSettings(config, (name) => connection.key(name), () => defaultConsumerName(RED, node.id)));
      options.countOwnPending = countsOwnPending(options);
    } catch (err) {
      return refuseSettings(node, (err as Error).message, (err as Error).message);
    }

    const caughtErrorsAreHandled = isTrue(config.caughtErrorsAreHandled);
    const view = new ConsumerView();
    let closed = false;
    const shown = throttledStatus(node, () => statusDot(view.status()));
    const client = redisConfig.register(node, (state) => {
      view.connection = state;
      shown.now();
    });
    if (!client) return;

    const where = { stream: options.stream, group: options.group, consumer: options.consumer };
    const sends = trackSends(RED, node, (entryId, ending) => deliveries.ended(entryId as string, ending));
    const stream = new StreamConsumer(client, connection.createBlockingClient(), options, {
      /** Sends one entry (or holds it while a deploy runs); the message id comes back on timeout. */
      deliver: (entry: DeliveredEntry) => {
        const msgid = sends.nextId();
        deliveries.deliver(entry, msgid);
        return msgid;
      },
      timedOut: (id, afterMs, msgid) => {
        if (msgid !== undefined) journeys.abandon(msgid);
        node.warn(`entry ${id}: the flow did not finish with it within ${afterMs / 1000} s (a node that never calls done()?); it will be delivered again`);
      },
      // Dead letters (a synthetic message, so Catch nodes can alert or re-drive), read errors, figures.
      ...view.handlers(where, { warn: (text) => node.warn(text), error: (text, msg) => node.error(text, msg as NodeMessage | undefined), changed: (urgent) => (urgent ? shown.now() : shown.soon()) }),
    });
    const deliveries = new Deliveries(stream, ackMode, {
      send: (entry, msgid) => {
        const msg = entryMessage(entry, where, msgid) as NodeMessage & { _msgid: string };
        sends.send(msg, entry.id, () => {
          if (ackMode === 'receipt') stream.ackEarly(entry.id);
          node.send(msg);
        }, { caughtErrorsAreHandled });
      },
      deploying: isDeploying,
      warn: (text) => node.warn(text),
      log: (text) => node.log(text),
    });
    const unregister = registerConsumer(options.stream, options.group, stream);

    // Send only while the flows run: between 'flows:stopping' and 'flows:started' a deploy may
    // be replacing the nodes this one sends to, and Node-RED drops messages addressed to them.
    const unsubscribeLifecycle = whenFlowsRun(RED.events, {
      started: () => {
        if (closed) return;
        stream.start();
        deliveries.started();
      },
      stopping: () => deliveries.stopping(),
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      unsubscribeLifecycle();
      unregister();
      stream
        .stop(CLOSE_DRAIN_MS)
        .catch(() => undefined)
        .then(async () => {
          closed = true;
          shown.stop();
          // Whatever is still in the flow stays pending in Redis and is re-read by the node that
          // replaces this one (same consumer name), at once.
          const cut = deliveries.close();
          const left = sends.close(true) + cut;
          if (left > 0) node.log(`${left} message(s) still in the flow at close stay pending and are delivered again`);
          node.status({});
          // The other instances of a scale-out may take what is left at once (this one may not return).
          await stream.handOver().catch(() => 0);
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
