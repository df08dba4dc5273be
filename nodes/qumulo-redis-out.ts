// qumulo-redis-out: appends msg.payload (a QumuloEvent) to a Redis stream. Messages arriving in
// the same turn share one pipeline of XADDs; done() is called only after Redis answered for
// this message's XADD, so the flow (and a Complete node) knows the event is durable.
// A message with `msg.lease` (set by a qumulo-watch that elects its ingester through Redis) is
// appended only while that lease term is current: a stale leader's events are refused by Redis
// (counted and warned once per term, not errors: the current leader delivers them).

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { StreamWriter, redisErrorText, type AppendFence, type ConnectionStatus } from '../core/redis';
import { resolveEnv } from './lib/cluster';
import { registerNodeType } from './lib/runtime';
import { Throttle, status, type StatusDot } from './lib/status';
import { connectionDot, getRedisConfig } from './qumulo-redis-common';

interface RedisOutConfig {
  name?: string;
  redis?: string;
  stream?: string;
  maxLen?: string | number;
  batchSize?: string | number;
}

/** How long close waits for XADDs already sent to be answered. */
const CLOSE_FLUSH_MS = 5000;
const STATUS_INTERVAL_MS = 500;

export = function register(RED: NodeAPI): void {
  function QumuloRedisOutNode(this: Node, config: NodeDef & RedisOutConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const redisConfig = getRedisConfig(RED, node, config.redis);
    if (!redisConfig || !redisConfig.connection) return;
    const connection = redisConfig.connection;

    const defaultStream = resolveEnv(config.stream) || 'qumulo:events';
    const maxLenText = resolveEnv(config.maxLen);
    const maxLen = maxLenText === '' ? 0 : Number(maxLenText);
    const batchText = resolveEnv(config.batchSize);
    const batchSize = batchText === '' ? 500 : Number(batchText);
    if (!Number.isInteger(maxLen) || maxLen < 0 || !Number.isInteger(batchSize) || batchSize < 1) {
      node.status(status.error('invalid settings'));
      node.error(`invalid settings: max length "${maxLenText}" must be a whole number ≥ 0, batch size "${batchText}" ≥ 1`);
      return;
    }

    let connectionState: ConnectionStatus = { state: 'connecting' };
    let written = 0;
    let lastError: string | null = null;
    let fenced = 0;
    let lastFencedToken = '';
    let closed = false;
    const statusThrottle = new Throttle<StatusDot>(STATUS_INTERVAL_MS, (dot) => {
      if (!closed) node.status(dot);
    });
    const describe = (): StatusDot => {
      if (connectionState.state !== 'connected') return connectionDot(connectionState);
      if (lastError) return status.error(lastError);
      const refused = fenced > 0 ? ` · fenced ${fenced}` : '';
      return status.ok((written > 0 ? `written ${written}` : 'connected') + refused);
    };

    const client = redisConfig.register(node, (state) => {
      connectionState = state;
      if (!closed) statusThrottle.now(describe());
    });
    if (!client) return;
    const writer = new StreamWriter(client, {
      maxLen,
      maxBatch: batchSize,
      onFallback: (reason) =>
        node.warn(`Redis refused the batch-append script (${reason}); writing with pipelined XADD instead (same entries, more client CPU per event). Allow EVALSHA/EVAL for this user to get the faster path.`),
    });

    // The count shows up at most every STATUS_INTERVAL_MS; nothing is computed per message.
    let statusTimer: NodeJS.Timeout | null = null;
    const refreshStatusSoon = () => {
      if (statusTimer || closed) return;
      statusTimer = setTimeout(() => {
        statusTimer = null;
        statusThrottle.push(describe());
      }, STATUS_INTERVAL_MS);
    };
    const defaultKey = connection.key(defaultStream);

    node.on('input', (msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => {
      const override = (msg as { stream?: unknown }).stream;
      const key = typeof override === 'string' && override !== '' ? connection.key(override) : defaultKey;
      const lease = (msg as { lease?: unknown }).lease as Partial<AppendFence> | undefined;
      const fence = lease && typeof lease.key === 'string' && typeof lease.token === 'string' ? { key: lease.key, token: lease.token } : undefined;
      writer.appendWithCallback(key, msg.payload, (err) => {
        if (err?.name === 'FencedError' && fence) {
          fenced++;
          if (fence.token !== lastFencedToken) {
            lastFencedToken = fence.token;
            const current = (err as Error & { current?: string | null }).current;
            node.warn(
              current
                ? `Not appended: the watch lease term ${fence.token} is over (another instance leads the watch now); events of that term are dropped here`
                : `Not appended: the watch lease ${fence.key} does not exist on this Redis — is this node on the same Redis server as the watch's Scale-out setting? (or the lease just ran out)`,
            );
          }
          statusThrottle.now(describe());
          done();
          return;
        }
        if (err) {
          lastError = redisErrorText(err);
          statusThrottle.now(describe());
          done(new Error(`XADD to ${key} failed: ${lastError}`));
          return;
        }
        written++;
        if (lastError) {
          lastError = null;
          statusThrottle.now(describe());
        } else {
          refreshStatusSoon();
        }
        done();
      }, fence);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      const timer = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_FLUSH_MS).unref());
      Promise.race([writer.whenIdle(), timer])
        .then(async () => {
          closed = true;
          if (statusTimer) clearTimeout(statusTimer);
          statusThrottle.cancel();
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
