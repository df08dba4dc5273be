// qumulo-loop-guard: sits in front of action nodes and stops actions from triggering themselves.
// Thin adapter over core/guard: the per-cluster GuardCore (process level, survives deploys) is
// attached to the configured cluster's client, so every action node using that cluster records its
// mutation intents in the ledger with no wiring. Outputs: 1 passed, 2 tripped (and, if asked,
// suppressed echoes), 3 metrics.

import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { isNotificationType, type QumuloEvent } from '../core/event';
import { displaySafe } from '../core/display';
import { DEFAULT_CHAIN_WINDOW } from '../core/guard/chains';
import { DEFAULT_GUARD_OPTIONS, LoopGuard, type GuardAlert, type GuardDecision, type LoopGuardOptions } from '../core/guard/guard';
import { DEFAULT_MATCH_WINDOW } from '../core/guard/ledger';
import { acquireSharedLedger, attachCoreToClient, guardCoreFor, type MutationAnnouncer, type OwnedRedisConnection, type SharedLedgerLease } from '../core/guard/registry';
import { clusterIdentity } from '../core/qumulo/identity';
import { sharedLedgerStreamKey } from '../core/guard/shared-ledger';
import { CLUSTER_TYPE, getCluster, type QumuloClusterNode } from './lib/cluster';
import { status, type StatusDot } from './lib/status';
import { recordGuardDecision } from '../core/metrics';

interface LoopGuardConfig {
  name?: string;
  cluster?: string;
  redis?: string;
  hopLimit?: string | number;
  echoWindow?: string | number;
  settle?: string | number;
  chainWindow?: string | number;
  fileThreshold?: string | number;
  fileWindow?: string | number;
  ruleThreshold?: string | number;
  ruleWindow?: string | number;
  cooldown?: string | number;
  remoteSkew?: string | number;
  watcherSkew?: string | number;
  emitSuppressed?: boolean | string;
}

type LoopGuardNodeDef = NodeDef & LoopGuardConfig;

/** What the guard adds to every message it sends (`msg.guard`). */
interface GuardMessageInfo {
  verdict: GuardDecision['verdict'];
  hop: number;
  hopLimit: number;
  reason?: string;
  detail?: string;
  history?: unknown[];
  breaker?: unknown;
  echoOf?: unknown;
}

const STATUS_INTERVAL_MS = 500;
/** A trip stays in the status this long, so a human can read it. */
const TRIP_STATUS_MS = 10_000;
/** At most this many warnings per minute; the rest are counted in one summary line. */
const WARNINGS_PER_MINUTE = 10;

function numberSetting(value: unknown, fallback: number, min: number): number {
  if (value === undefined || value === null || String(value).trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new Error(`invalid number ${JSON.stringify(value)} (at least ${min})`);
  return n;
}

/** Builds the core options from the dialog's fields (seconds in the dialog, ms in the core). */
function guardOptionsFromConfig(config: LoopGuardConfig): LoopGuardOptions {
  const seconds = (value: unknown, fallbackMs: number, minSeconds = 0) => numberSetting(value, fallbackMs / 1000, minSeconds) * 1000;
  const defaults = DEFAULT_GUARD_OPTIONS;
  const cooldownMs = seconds(config.cooldown, defaults.fileBreaker.cooldownMs, 1);
  return {
    hopLimit: Math.floor(numberSetting(config.hopLimit, defaults.hopLimit, 1)),
    echo: {
      echoWindowMs: seconds(config.echoWindow, DEFAULT_MATCH_WINDOW.echoWindowMs, 0.1),
      settleMs: seconds(config.settle, DEFAULT_MATCH_WINDOW.settleMs, 0),
      localSkewMs: DEFAULT_MATCH_WINDOW.localSkewMs,
      remoteSkewMs: numberSetting(config.remoteSkew, DEFAULT_MATCH_WINDOW.remoteSkewMs, 0),
    },
    chain: { chainWindowMs: seconds(config.chainWindow, DEFAULT_CHAIN_WINDOW.chainWindowMs, 0.1), skewMs: DEFAULT_CHAIN_WINDOW.skewMs },
    fileBreaker: { threshold: Math.floor(numberSetting(config.fileThreshold, defaults.fileBreaker.threshold, 0)), windowMs: seconds(config.fileWindow, defaults.fileBreaker.windowMs, 1), cooldownMs },
    ruleBreaker: { threshold: Math.floor(numberSetting(config.ruleThreshold, defaults.ruleBreaker.threshold, 0)), windowMs: seconds(config.ruleWindow, defaults.ruleBreaker.windowMs, 1), cooldownMs },
  };
}

/** A message payload the guard can judge: a QumuloEvent (core/event.ts). */
function asEvent(payload: unknown): QumuloEvent | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const e = payload as Partial<QumuloEvent>;
  if (!isNotificationType(e.type) || typeof e.path !== 'string' || typeof e.receivedAt !== 'number' || typeof e.watchId !== 'string') return null;
  if (e.fileId !== null && typeof e.fileId !== 'string') return null;
  return e as QumuloEvent;
}

const NO_RULES: readonly string[] = Object.freeze([]);

function ruleNamesOf(msg: NodeMessage): readonly string[] {
  const rules = (msg as { rules?: unknown }).rules;
  if (!Array.isArray(rules) || rules.length === 0) return NO_RULES;
  const names: string[] = [];
  for (const rule of rules) {
    const name = typeof rule === 'string' ? rule : (rule as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && name) names.push(name);
  }
  return names;
}

/** What the guard uses of a qumulo-redis config node (nodes/qumulo-redis.ts). */
interface RedisConfigNodeLike extends Node {
  connection: { key(name: string): string; config: { url: string } } | null;
  configError: string | null;
  register(user: Node): { call(command: string, ...args: (string | number)[]): Promise<unknown> } | null;
  deregister(user: Node): Promise<void>;
}

type Job = { msg: NodeMessageInFlow; event: QumuloEvent; send: (msg: Array<NodeMessage | null>) => void; done: (err?: Error) => void };

export = function register(RED: NodeAPI): void {
  function QumuloLoopGuardNode(this: Node, config: LoopGuardNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    let options: LoopGuardOptions;
    try {
      options = guardOptionsFromConfig(config);
    } catch (err) {
      node.status(status.error('invalid settings'));
      node.error(`Loop guard settings: ${(err as Error).message}`);
      return;
    }
    const cluster = getCluster(RED, node, config.cluster);
    if (!cluster || !cluster.client || !cluster.clientOptions) return;

    const clusterId = clusterIdentity(cluster.clientOptions);
    const core = guardCoreFor(clusterId, { ledger: { retentionMs: Math.max(10 * 60_000, options.echo.echoWindowMs * 4) } });
    const emitSuppressed = config.emitSuppressed === true || config.emitSuppressed === 'true';
    let closed = false;
    let lastTrip: { at: number; text: string } | null = null;
    let sharedError: string | null = null;

    // ---- warnings, rate-limited so a storm of trips cannot flood the log ------------------------
    let warnWindowStart = 0;
    let warnsInWindow = 0;
    let warnsDropped = 0;
    const warn = (text: string) => {
      const now = Date.now();
      if (now - warnWindowStart >= 60_000) {
        if (warnsDropped > 0) node.warn(`loop guard: ${warnsDropped} more warnings in the last minute (see the tripped output and metrics)`);
        warnWindowStart = now;
        warnsInWindow = 0;
        warnsDropped = 0;
      }
      if (warnsInWindow++ < WARNINGS_PER_MINUTE) node.warn(displaySafe(text));
      else warnsDropped++;
    };

    const onAlert = (alert: GuardAlert) => {
      lastTrip = { at: Date.now(), text: displaySafe(alert.kind === 'hop-limit' ? `hop limit: ${alert.path}` : `breaker: ${alert.key.replace(/^(id|path):/, '')}`) };
      warn(`loop guard: ${alert.detail}`);
      refreshStatus();
    };
    const guard = new LoopGuard(core, options, onAlert);
    // Every client of this cluster feeds the ledger: action nodes may use another qumulo-cluster
    // config for the same cluster (other user or tuning, hence another pooled client). Node-RED
    // creates config nodes before flow nodes; looked up again once the flows have started.
    const attached = new Map<MutationAnnouncer, (removedForGood: boolean) => void>();
    const attach = (client: MutationAnnouncer) => {
      if (!attached.has(client)) attached.set(client, attachCoreToClient(core, client, node));
    };
    const attachSameCluster = () => {
      if (closed) return;
      RED.nodes.eachNode((def: { id: string; type: string }) => {
        if (def.type !== CLUSTER_TYPE) return;
        const other = RED.nodes.getNode(def.id) as QumuloClusterNode | null;
        if (other?.client && other.clientOptions && clusterIdentity(other.clientOptions) === clusterId) attach(other.client);
      });
    };
    attach(cluster.client);
    attachSameCluster();
    RED.events.on('flows:started', attachSameCluster);

    // ---- optional shared ledger (Redis) ---------------------------------------------------------
    let shared: SharedLedgerLease | null = null;
    if (config.redis) {
      const redisNode = RED.nodes.getNode(config.redis) as RedisConfigNodeLike | null;
      const connection = redisNode?.connection ?? null;
      if (!redisNode || !connection) {
        sharedError = `not configured${redisNode?.configError ? `: ${redisNode.configError}` : ''}`;
        node.error(`Loop guard: the shared ledger's Redis config is missing or invalid (${sharedError}); deciding with the local ledger only`);
      } else {
        const redisIdentity = `${config.redis}|${connection.config.url}|${connection.key('')}`;
        // The first guard node on this (cluster, redis) opens the reader's connection; the last one closes it.
        const connect = (): OwnedRedisConnection => {
          const client = redisNode.register(node);
          if (!client) throw new Error(`Redis: ${redisNode.configError ?? 'not configured'}`);
          return { call: (command, ...args) => client.call(command, ...args), quit: () => redisNode.deregister(node) };
        };
        try {
          shared = acquireSharedLedger(
            clusterId,
            redisIdentity,
            connect,
            node,
            { streamKey: connection.key(sharedLedgerStreamKey(clusterId)), watcherSkewMs: numberSetting(config.watcherSkew, 0, 0) },
            (error) => {
              sharedError = error.message;
              warn(`loop guard: shared ledger (Redis) error, deciding with the local ledger: ${error.message}`);
              refreshStatus();
            },
          );
        } catch (err) {
          sharedError = (err as Error).message;
          node.error(`Loop guard: shared ledger unavailable (${sharedError}); deciding with the local ledger only`);
        }
      }
    }

    // ---- status: recomputed at most every STATUS_INTERVAL_MS, never per message -----------------
    let statusTimer: NodeJS.Timeout | null = null;
    let lastStatusAt = 0;
    function showStatus(): void {
      statusTimer = null;
      lastStatusAt = Date.now();
      if (closed) return;
      const c = guard.counts();
      const counts = `${c.passed} passed · ${c.suppressed} echoes · ${c.tripped} tripped`;
      let dot: StatusDot;
      if (lastTrip && Date.now() - lastTrip.at < TRIP_STATUS_MS) dot = status.warning(`${lastTrip.text} · ${counts}`);
      else if (sharedError !== null && (shared === null || shared.ledger.failing)) dot = status.error(`shared ledger: ${sharedError}`);
      else dot = c.tripped > 0 ? status.warning(counts) : status.ok(counts);
      node.status(dot);
    }
    function refreshStatus(): void {
      if (statusTimer !== null || closed) return;
      statusTimer = setTimeout(showStatus, Math.max(0, STATUS_INTERVAL_MS - (Date.now() - lastStatusAt)));
    }
    showStatus();

    // ---- decisions ------------------------------------------------------------------------------
    function decide(msg: NodeMessageInFlow, event: QumuloEvent, send: Job['send'], done: Job['done']): void {
      const decision = guard.evaluate(event, ruleNamesOf(msg));
      recordGuardDecision(node.id, decision, event);
      const out = msg as NodeMessage & { guard?: GuardMessageInfo };
      if (decision.verdict === 'passed') {
        out.guard = { verdict: 'passed', hop: decision.hop, hopLimit: options.hopLimit };
        send([out, null, null]);
      } else if (decision.verdict === 'tripped') {
        out.guard = {
          verdict: 'tripped',
          hop: decision.hop,
          hopLimit: options.hopLimit,
          reason: decision.reason,
          detail: decision.detail,
          history: decision.history,
          ...(decision.breaker ? { breaker: decision.breaker } : {}),
        };
        send([null, out, null]);
      } else if (emitSuppressed) {
        out.guard = {
          verdict: 'suppressed',
          hop: decision.hop,
          hopLimit: options.hopLimit,
          reason: 'echo',
          echoOf: decision.echoOf,
          detail: `echo of our own ${decision.echoOf.kind} (${decision.echoOf.echoLagMs} ms after it was sent)`,
        };
        send([null, out, null]);
      }
      refreshStatus();
      done();
    }

    // Events wait for the shared ledger's read barrier in arrival order (never overtaking).
    const backlog: Job[] = [];
    let draining = false;
    async function drain(): Promise<void> {
      draining = true;
      while (backlog.length > 0) {
        const job = backlog[0];
        const barrier = closed ? null : (shared?.ledger.barrier(job.event.receivedAt) ?? null);
        if (barrier !== null) await barrier;
        if (backlog[0] !== job) continue; // closed meanwhile: the close handler decided it
        backlog.shift();
        decide(job.msg, job.event, job.send, job.done);
      }
      draining = false;
    }

    function metricsMessage(msg: NodeMessage): NodeMessage {
      return {
        ...msg,
        topic: 'metrics',
        payload: {
          ...guard.metrics(),
          cluster: clusterId,
          sharedLedger: shared ? shared.ledger.getStats() : null,
          lastTrip: lastTrip ? { at: new Date(lastTrip.at).toISOString(), text: lastTrip.text } : null,
        },
      };
    }

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      if (msg.topic === 'metrics') {
        send([null, null, metricsMessage(msg)]);
        done();
        return;
      }
      const event = asEvent(msg.payload);
      if (event === null) {
        const err = new Error('msg.payload is not a Qumulo event (expected the output of qumulo-watch, a filter or qumulo-redis-in)');
        // done(err) is Node-RED's node.error(err, msg): Catch nodes see it once.
        node.status(status.error('not a Qumulo event'));
        done(err);
        return;
      }
      if (!draining) {
        const barrier = shared === null ? null : shared.ledger.barrier(event.receivedAt);
        if (barrier === null) {
          decide(msg, event, send, done);
          return;
        }
      }
      backlog.push({ msg, event, send, done });
      if (!draining) void drain();
    });

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      if (statusTimer !== null) clearTimeout(statusTimer);
      // Whatever still waits for the barrier is decided now with what the ledger knows.
      for (const job of backlog.splice(0)) decide(job.msg, job.event, job.send, job.done);
      guard.close();
      RED.events.removeListener('flows:started', attachSameCluster);
      for (const release of attached.values()) release(removed);
      const lease = shared;
      shared = null;
      if (lease === null) {
        done();
        return;
      }
      lease.release().then(done, done);
    });
  }

  RED.nodes.registerType('qumulo-loop-guard', QumuloLoopGuardNode);
};
