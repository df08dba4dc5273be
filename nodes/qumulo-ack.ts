// qumulo-ack: acknowledges the Redis entry behind a message (msg.redis from qumulo-redis-in)
// at the point of the flow where the work counts as done. done() is called once Redis has
// confirmed the XACK, then the message goes on unchanged (handy for logging / metrics).

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { redisErrorText } from '../core/redis/errors';
import { awaitAckTarget } from '../core/redis/registry';
import { registerNodeType } from './lib/runtime';
import { status } from './lib/status';

/** How long a message waits for its in node while a deploy restarts it. */
const WAIT_FOR_CONSUMER_MS = 10_000;

interface RedisInfo {
  stream?: unknown;
  group?: unknown;
  id?: unknown;
}

class NoConsumerError extends Error {}

export = function register(RED: NodeAPI): void {
  function QumuloAckNode(this: Node, config: NodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    let acked = 0;
    let lastShown = 0;

    node.on('input', (msg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      const redis = (msg as { redis?: RedisInfo }).redis;
      if (!redis || typeof redis.stream !== 'string' || typeof redis.group !== 'string' || typeof redis.id !== 'string') {
        node.status(status.error('no msg.redis'));
        done(new Error('msg.redis is missing or incomplete (stream, group, id): only messages from a qumulo-redis-in node can be acknowledged'));
        return;
      }
      const { stream, group, id } = redis as { stream: string; group: string; id: string };
      awaitAckTarget(stream, group, id, WAIT_FOR_CONSUMER_MS)
        .then((target) => {
          if (!target) throw new NoConsumerError(`no qumulo-redis-in node for stream "${stream}", group "${group}" is running in this Node-RED; entry ${id} stays pending and will be delivered again`);
          return target.ack(id);
        })
        .then(
          () => {
            acked++;
            const now = Date.now();
            if (now - lastShown > 500) {
              lastShown = now;
              node.status(status.ok(`acked ${acked}`));
            }
            send(msg);
            done();
          },
          (err: Error) => {
            if (err instanceof NoConsumerError) {
              node.status(status.error('no consumer running'));
              done(err);
              return;
            }
            node.status(status.error(redisErrorText(err)));
            done(new Error(`XACK of ${id} failed: ${redisErrorText(err)} (retried in the background; the entry may be delivered again)`));
          },
        );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      node.status({});
      done();
    });
  }

  registerNodeType(RED, 'qumulo-ack', QumuloAckNode);
};
