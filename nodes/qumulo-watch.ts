// qumulo-watch: emits one message per change notification of a directory on a Qumulo cluster.
// The subscription lives in the process-level registry (core/watch/registry.ts), not in this
// node, so a deploy that restarts the node does not drop or repeat events: while the node is
// away its slot buffers, and the node that replaces it drains the buffer once flows have started.
//
// Gap healing (core/heal): whatever the stream could not deliver — it was lost, overflowed, or
// Node-RED was not running — is found once the stream is back (snapshot diff against a checkpoint,
// or a tree walk) and sent on the first output like live events, with `resync: true`. One result
// message per heal leaves on the second output (`msg.topic` "qumulo/heal").
//
// Scale-out: with a Redis server selected, the instances running this flow elect one active
// ingester per watch through a lease (core/scale/lease.ts, held by the registry so deploys keep
// it); the others stand by. Each event message carries `msg.lease` (the term's fencing token),
// which qumulo-redis-out hands to Redis so a stale leader's appends are refused. The leader's heal
// marker lives in Redis, so the next leader heals what no one watched.

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { durationMs, parseDuration } from '../core/time/duration';
import { NOTIFICATION_TYPES, type NotificationType, type QumuloEvent, isNotificationType } from '../core/event';
import { type CheckpointSettings, GapHealer, type HealerStatus } from '../core/heal/healer';
import { formatHealProgress } from '../core/heal/progress';
import type { HealResult } from '../core/heal/types';
import { isFileId, normalizeAbsolutePath } from '../core/qumulo/refs';
import type { MalformedReport } from '../core/qumulo/sse';
import type { GapRecord, SubscriptionStatus } from '../core/qumulo/subscription';
import { type BufferOverflow, type ElectionSpec, type WatchHandle, fenceOf, watchRegistry } from '../core/watch/registry';
import { createRedisClient } from '../core/redis/connection';
import { parseLeaseTime } from '../core/scale/lease';
import { getRedisConfig } from './qumulo-redis-common';
import * as os from 'node:os';
import { getCluster } from './lib/cluster';
import { acquireJourneyHooks, hasWires, journeys, messageIds, releaseJourneyHooks, type JourneyEnding } from './lib/journeys';
import { whenFlowsRun } from './lib/lifecycle';
import { registerNodeType, stateDirectory } from './lib/runtime';
import { flag } from '../core/settings';
import { RateLimitedReports, Throttle, shortDuration, status, type StatusDot } from './lib/status';
import { displaySafe } from '../core/display';
import { countHeal, countWatchEvent, countWatchGap, countWatchReconnect } from '../core/metrics';

interface WatchConfig {
  name?: string;
  cluster?: string;
  path?: string;
  recursive?: boolean | string;
  /** Selected notification types; empty or all 24 = no filter. */
  types?: string[] | string;
  /** Heal gaps: on for nodes made in the editor; absent in flows older than healing = off. */
  heal?: boolean | string;
  /** Heal by snapshot diff against rolling checkpoints (default off: walk the tree). */
  checkpoints?: boolean | string;
  /** Checkpoint interval, e.g. "15min". */
  checkpointInterval?: string;
  /** Expiration set on each checkpoint, e.g. "2d". */
  checkpointExpiry?: string;
  /** Clock skew / in-flight allowance, e.g. "5s". */
  healTolerance?: string;
  /** Scale-out: a qumulo-redis config node; the instances running this flow elect one watcher. */
  redis?: string;
  /** Scale-out: lease time, e.g. "15s" (a dead leader is replaced within it). */
  lease?: string;
}

interface HealSettings {
  checkpoints: CheckpointSettings;
  toleranceMs: number;
}

type WatchNodeDef = NodeDef & WatchConfig;

const STATUS_INTERVAL_MS = 500;
/** Messages still in the flow after this long are no longer tracked (a node that never finishes). */
const JOURNEY_LIMIT_MS = 10 * 60_000;
const JOURNEY_CHECK_MS = 60_000;
/** Malformed notifications: a few per interval are reported at once, the rest as one summary. */
const MALFORMED_REPORT_INTERVAL_MS = 10_000;
const MALFORMED_REPORT_BURST = 3;

function durationSetting(value: unknown, fallback: string, what: string): number {
  const text = String(value ?? '').trim() || fallback;
  try {
    return durationMs(parseDuration(text), new Date());
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

/**
 * The heal settings of a node, or null when healing is off; throws with a user-facing message.
 * A flow saved before healing existed has no `heal` property: it keeps its old behaviour (off).
 */
function parseHealSettings(config: WatchConfig): HealSettings | null {
  if (!flag(config.heal, false)) return null;
  const toleranceText = String(config.healTolerance ?? '').trim();
  const toleranceMs = toleranceText === '0' ? 0 : durationSetting(toleranceText, '5s', 'tolerance');
  if (toleranceMs > 600_000) throw new Error('tolerance: at most 10 min');
  if (!flag(config.checkpoints, false)) return { checkpoints: { enabled: false, intervalMs: 0, expiryMs: 0 }, toleranceMs };
  const intervalMs = durationSetting(config.checkpointInterval, '15min', 'checkpoint interval');
  const expiryMs = durationSetting(config.checkpointExpiry, '2d', 'checkpoint expiry');
  if (intervalMs < 30_000) throw new Error('checkpoint interval: at least 30 s');
  if (expiryMs < 2 * intervalMs) throw new Error('checkpoint expiry: at least twice the interval (two checkpoints are kept)');
  return { checkpoints: { enabled: true, intervalMs, expiryMs }, toleranceMs };
}

/**
 * How often an event object was sent again after a deploy cut its message. Shared
 * by every watch node: the node that replaces one in a deploy drains what the old one re-sent.
 */
const sentBefore = new WeakMap<QumuloEvent, number>();
/** Messages cut since the last deploy, per watch node id (the instance that logs it may be the successor). */
const cutsByNode = new Map<string, number>();

function parseTypes(value: WatchConfig['types']): NotificationType[] | null {
  const list = Array.isArray(value) ? value : typeof value === 'string' && value.trim() ? value.split(',') : [];
  const types = [...new Set(list.map((t) => String(t).trim()).filter(isNotificationType))];
  return types.length === 0 || types.length === NOTIFICATION_TYPES.length ? null : types;
}

/**
 * Reconnect tuning from settings.js (`qumuloWatch: {backoffInitialMs, backoffMaxMs, idleTimeoutMs,
 * healthyAfterMs}`); absent keys keep the registry's defaults (1 s, 30 s, 60 s, 10 s).
 */
function applyWatchSettings(RED: NodeAPI): void {
  const tuning = (RED.settings as unknown as { qumuloWatch?: Record<string, unknown> }).qumuloWatch;
  if (!tuning || typeof tuning !== 'object') return;
  const pick = (key: string): number | undefined => {
    const value = Number(tuning[key]);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  };
  watchRegistry.configure({ backoffInitialMs: pick('backoffInitialMs'), backoffMaxMs: pick('backoffMaxMs'), idleTimeoutMs: pick('idleTimeoutMs'), healthyAfterMs: pick('healthyAfterMs') });
}

/** Runtimes whose shutdown hands leases over (one listener per runtime, however often this loads). */
const handoverInstalled = new WeakSet<object>();

export = function register(RED: NodeAPI): void {
  applyWatchSettings(RED);
  // Shutdown (flows stopped, not by a deploy): hand scale-out leases over right away.
  if (!handoverInstalled.has(RED.events)) {
    handoverInstalled.add(RED.events);
    RED.events.on('runtime-event', (event: { id?: string; payload?: { state?: string; deploy?: boolean } }) => {
      if (event?.id === 'runtime-state' && event.payload?.state === 'stop' && !event.payload.deploy) void watchRegistry.handOverLeases();
    });
  }
  function QumuloWatchNode(this: Node, config: WatchNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const cluster = getCluster(RED, node, config.cluster);
    if (!cluster || !cluster.clientOptions) return;

    let ref: string;
    try {
      const raw = String(config.path ?? '').trim() || '/';
      ref = isFileId(raw) ? raw : normalizeAbsolutePath(raw);
    } catch (err) {
      node.status(status.error('invalid path'));
      node.error(`Invalid watch path: ${(err as Error).message}`);
      return;
    }
    const recursive = config.recursive !== false && config.recursive !== 'false';
    const types = parseTypes(config.types);
    let healSettings: HealSettings | null;
    try {
      healSettings = parseHealSettings(config);
    } catch (err) {
      node.status(status.error('invalid heal settings'));
      node.error(`Invalid gap healing settings: ${(err as Error).message}`);
      return;
    }

    let election: ElectionSpec | undefined;
    if (config.redis) {
      const redisConfig = getRedisConfig(RED, node, config.redis);
      if (!redisConfig?.connection) return;
      let leaseMs: number;
      try {
        leaseMs = parseLeaseTime(config.lease);
      } catch (err) {
        node.status(status.error('invalid lease'));
        node.error(`Invalid scale-out settings: ${(err as Error).message}`);
        return;
      }
      const connectionConfig = redisConfig.connection.config;
      election = {
        // Fails fast while Redis is away: the lease must notice, not queue its renewals.
        connect: () => createRedisClient({ ...connectionConfig, connectionName: `qumulo-flow:lease:${node.id}` }, 'blocking'),
        keyPrefix: connectionConfig.keyPrefix ?? '',
        holder: `${os.hostname()}:${process.pid}`,
        leaseMs,
      };
    }

    let events = 0;
    let lastGap: GapRecord | null = null;
    let subscriptionStatus: SubscriptionStatus | null = null;
    let closed = false;
    let healer: GapHealer | null = null;
    let healerStatus: HealerStatus | null = null;
    /** Heal results wait here while the flows are not running (a deploy is replacing nodes). */
    let flowsRunning = false;
    const heldResults: NodeMessage[] = [];
    const statusThrottle = new Throttle<StatusDot>(STATUS_INTERVAL_MS, (dot) => {
      if (!closed) node.status(dot);
    });
    // One hostile stream produced 200,000 errors in 4 s: each reached every Catch node.
    const malformedReports = new RateLimitedReports<MalformedReport>(MALFORMED_REPORT_INTERVAL_MS, MALFORMED_REPORT_BURST, (report, suppressed) => {
      // A synthetic message so Catch nodes see it; the stream itself keeps flowing.
      const msg = { topic: 'qumulo/malformed', payload: { ...report, suppressed } } as NodeMessage;
      const what = `Malformed change notification #${report.total} (${report.kind}): ${displaySafe(report.detail, 500)}`;
      const more = suppressed > 1 ? ` … and ${suppressed - 1} more since the last report (${report.total} in all; at most ${MALFORMED_REPORT_BURST} reports and one summary per ${shortDuration(MALFORMED_REPORT_INTERVAL_MS)})` : '';
      node.error(what + more, msg);
    });

    let watchHandle: WatchHandle | undefined;
    const describe = (): StatusDot => {
      const role = watchHandle?.role;
      if (role && role.role !== 'leader') {
        if (role.reason === 'Redis unreachable') return status.connecting('standby: Redis unreachable');
        return { fill: 'grey', shape: 'ring', text: `standby${role.holder ? ` (leader ${role.holder})` : ''}`.slice(0, 60) };
      }
      const s = subscriptionStatus;
      const where = s?.watchRoot ?? ref;
      if (!s || s.state === 'connecting') return status.connecting(`connecting to ${where}`);
      if (s.state === 'watching') {
        const h = healerStatus;
        if (h?.state === 'healing') {
          const blindFor = h.since === null ? '' : `${shortDuration(Date.now() - h.since)} `;
          // Progress (entries done/~estimate · rate) once the heal has a method; the healer throttles it.
          if (h.progress) return status.ok(`healing ${formatHealProgress(h.progress)} (${h.progress.method}, ${blindFor}gap)`);
          return status.ok(`healing ${blindFor}gap (${h.method ?? '…'}): ${h.emitted}`);
        }
        if (h?.state === 'failed') return status.warning(`heal failed, retrying: ${h.lastError ?? ''}`);
        const base = `watching ${where} (${events})`;
        const healed = h?.lastResult?.outcome === 'healed' && h.lastResult.entries > 0 ? ` · healed ${h.lastResult.entries}` : '';
        return lastGap ? status.ok(`${base} · gap ${shortDuration((lastGap.end ?? Date.now()) - lastGap.start)}${healed}`) : status.ok(base + healed);
      }
      if (s.state === 'reconnecting') return status.connecting(`reconnecting (${s.attempt}): ${s.failureKind ?? ''}`.trim());
      if (s.state === 'error') return status.error(`${s.failureKind ?? 'error'}: ${s.lastError ?? ''}`);
      return status.error('closed');
    };

    cluster.register(node);
    node.status(status.connecting(`connecting to ${ref}`));

    // At-least-once through deploys: each event's message is tracked until every node it reached
    // is done with it. One that a deploy cut (sent to a node being replaced, or held by a stopped
    // one) goes out again through this node's slot, which buffers while the deploy runs and is
    // drained by the node that replaces this one.
    acquireJourneyHooks(RED);
    const wired = hasWires(node, 0); // the first output: events (the second carries heal results)
    const nextMessageId = messageIds();
    const journeyEnded = (handle: unknown, ending: JourneyEnding) => {
      // Done, or failed (the failing node reported it to the user and its Catch nodes; the plain
      // pipeline has no durable store to retry from — use the Redis pipeline for that): forget it.
      if (ending.kind !== 'cut') return;
      const event = handle as QumuloEvent;
      sentBefore.set(event, (sentBefore.get(event) ?? 0) + 1);
      cutsByNode.set(node.id, (cutsByNode.get(node.id) ?? 0) + 1);
      watchHandle?.deliver([event]);
    };
    const journeyCheck = setInterval(() => {
      const stale = journeys.startedBefore(Date.now() - JOURNEY_LIMIT_MS, journeyEnded);
      for (const [msgid] of stale) journeys.abandon(msgid);
      if (stale.length > 0) node.warn(`${stale.length} message(s) were still in the flow after ${JOURNEY_LIMIT_MS / 60_000} min (a node that never calls done()?); no longer tracked`);
    }, JOURNEY_CHECK_MS);
    journeyCheck.unref();

    const sendEvent = (event: QumuloEvent) => {
      const msgid = nextMessageId();
      const cuts = sentBefore.get(event);
      const msg = { _msgid: msgid, payload: event, topic: event.type } as NodeMessage & { redelivered?: number; lease?: unknown };
      if (cuts) msg.redelivered = cuts;
      const fence = fenceOf(event);
      if (fence) msg.lease = fence;
      journeys.begin(msgid, event, journeyEnded);
      node.send([msg, null]);
      if (!wired) journeys.endIfIdle(msgid);
    };

    const handle: WatchHandle = watchRegistry.acquire(
      { client: cluster.clientOptions, ref, recursive, types, election },
      {
        id: node.id,
        onEvent(event: QumuloEvent) {
          if (!sentBefore.has(event)) {
            healer?.onEvent(event);
            events++;
            countWatchEvent(node.id, event.type);
          }
          sendEvent(event);
          statusThrottle.push(describe());
        },
        onStatus(s: SubscriptionStatus) {
          healer?.onStatus(s);
          const previous = subscriptionStatus?.state;
          subscriptionStatus = s;
          if (s.state === 'error' && previous !== 'error') {
            node.error(displaySafe(`Watch on ${cluster.endpoint}${s.watchRoot ?? ref}: ${s.lastError ?? 'failed'}`));
          }
          statusThrottle.now(describe());
        },
        onDisconnected(gap: GapRecord) {
          countWatchReconnect(node.id);
          healer?.onDisconnected(gap);
          node.warn(displaySafe(`Change-notify stream for ${gap.watchRoot} lost (${gap.reason}: ${gap.detail}); reconnecting. Events after seq ${gap.lastSeqBefore} may be missed until it is back.`));
        },
        onGap(gap: GapRecord) {
          lastGap = gap;
          countWatchGap(node.id);
          const end = gap.end ?? Date.now();
          const healing = healSettings ? (healSettings.checkpoints.enabled ? ' Healing the gap (snapshot diff).' : ' Healing the gap (tree walk).') : '';
          node.warn(displaySafe(
            `Change-notify stream for ${gap.watchRoot} is back after ${shortDuration(end - gap.start)} (${gap.reason}). ` +
              `Events between ${new Date(gap.start).toISOString()} and ${new Date(end).toISOString()} may have been lost (the stream cannot resume).${healing}`,
          ));
          healer?.onGap(gap);
          statusThrottle.now(describe());
        },
        onMalformed(report: MalformedReport) {
          malformedReports.report(report);
        },
        onRole() {
          // While a deploy pauses this node, the role is read again once flows run (onStarted).
          if (flowsRunning) followRole(false);
          else if (!closed) statusThrottle.now(describe());
        },
        onBufferOverflow(overflow: BufferOverflow) {
          node.warn(`${overflow.dropped} events (seq ${overflow.firstSeq}–${overflow.lastSeq}) were dropped while this node was restarting: the buffer limit was reached.`);
          healer?.onEventsLost('buffer-overflow', `${overflow.dropped} events dropped while the node was restarting`);
          statusThrottle.now(status.warning(`buffer overflow: ${overflow.dropped} dropped`));
        },
      },
    );

    watchHandle = handle;

    const sendResult = (result: HealResult) => {
      countHeal(node.id, result);
      const gap = `${shortDuration(result.gap.durationMs)} gap (${result.gap.reason}) of ${result.watchRoot}`;
      if (result.outcome === 'healed') {
        const via = result.fallbackReason ? `${result.method}: ${result.fallbackReason}` : result.method;
        node.log(`Healed the ${gap} by ${via}: ${result.entries} events (${result.duplicates} already delivered live) in ${shortDuration(result.durationMs)}`);
      } else {
        node.warn(`Healing the ${gap} failed (${result.error ?? 'unknown error'}); retrying`);
      }
      const msg = { topic: 'qumulo/heal', payload: result } as NodeMessage;
      if (flowsRunning) node.send([null, msg]);
      else heldResults.push(msg);
    };

    const makeHealer = (settings: HealSettings): GapHealer => {
      const made = new GapHealer({
        client: () => {
          const client = cluster.client;
          if (!client) throw new Error(`the client of ${cluster.endpoint} is closed`);
          return client;
        },
        watchId: handle.watchId,
        consumerId: node.id,
        watchRoot: isFileId(ref) ? null : ref,
        recursive,
        types,
        // null (no marker, so no restart healing) only in runtimes without a userDir (unit tests).
        stateDirectory: stateDirectory(RED, null),
        markerStore: handle.sharedMarkers ?? undefined,
        checkpoints: settings.checkpoints,
        toleranceMs: settings.toleranceMs,
        nextSeq: () => handle.nextSeq(),
        // Through the registry slot: in order with live events, buffered while a deploy runs.
        emit: (healed) => handle.deliver(healed),
        onResult: sendResult,
        onStatus: (h) => {
          const wasHealing = healerStatus?.state === 'healing';
          healerStatus = h;
          // Short heals do not flash a status; the end of a heal shows at once.
          if (h.state === 'healing') statusThrottle.push(describe());
          else if (wasHealing || h.state === 'failed') statusThrottle.now(describe());
        },
        onWarning: (text) => node.warn(text),
      });
      made.onStatus(handle.status);
      if (settings.checkpoints.enabled) node.log(`Checkpoint snapshots of ${ref} are named *_${made.checkpointSuffix}`);
      return made;
    };
    // With an election the healer runs only on the leader (created when it is elected).
    if (healSettings && !election) healer = makeHealer(healSettings);
    let healerStarted = false;

    /** The term this node follows as leader (null: standing by; undefined: not decided yet). */
    let leadingToken: string | null | undefined;
    /** Election: start or stop leading (the healer) to match the registry's role. */
    const followRole = (continued: boolean) => {
      const info = handle.role;
      if (!info || closed) return;
      const token = info.role === 'leader' ? info.token : null;
      if (token !== leadingToken) {
        leadingToken = token;
        if (token) node.log(`Leading the watch of ${ref} (lease term ${token})`);
        else node.log(`Standing by for the watch of ${ref}: ${info.reason}${info.holder ? ` (leader ${info.holder})` : ''}`);
        const previous = healer;
        healer = null;
        healerStarted = false;
        healerStatus = null;
        // A lost term's marker is not written to Redis (fenced): the next leader heals from the last good one.
        previous?.close(false).catch((err: unknown) => node.warn(`Gap healing did not close cleanly: ${(err as Error).message}`));
        if (token && healSettings) {
          const next = makeHealer(healSettings);
          healer = next;
          (handle.sharedMarkers?.refresh() ?? Promise.resolve())
            .catch((err: unknown) => node.warn(`Heal markers could not be read from Redis (${(err as Error).message}); a gap before this term cannot be healed`))
            .then(() => {
              if (healer !== next || closed) return;
              healerStarted = true;
              next.start({ resumed: continued });
            });
        }
      }
      statusThrottle.now(describe());
    };

    // Send only while the flows are running: before the first 'flows:started' the nodes this one
    // is wired to may not exist yet, and between 'flows:stopping' and 'flows:started' a deploy may
    // be replacing them (Node-RED drops messages addressed to a node that is not there). In
    // between, the registry buffers; resume() drains in order.
    const onStarted = () => {
      if (closed) return;
      flowsRunning = true;
      const cuts = cutsByNode.get(node.id);
      if (cuts) node.log(`${cuts} message(s) cut by the deploy are sent again`);
      cutsByNode.delete(node.id);
      const continued = handle.resume();
      if (election) followRole(continued);
      else if (healer && !healerStarted) {
        healerStarted = true;
        // continued: the registry buffered for this node while a deploy restarted it (no gap).
        healer.start({ resumed: continued });
      }
      for (const msg of heldResults.splice(0)) node.send([null, msg]);
    };
    const onStopping = () => {
      flowsRunning = false;
      if (!closed) handle.pause();
    };
    const unsubscribeLifecycle = whenFlowsRun(RED.events, { started: onStarted, stopping: onStopping });

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      clearInterval(journeyCheck);
      unsubscribeLifecycle();
      statusThrottle.cancel();
      // Removed: nothing replaces this node, so nothing can take its messages again. Otherwise
      // the journeys stay tracked: what the deploy cuts goes back into the slot.
      if (removed) journeys.abandonAllOf(journeyEnded);
      releaseJourneyHooks(RED);
      malformedReports.flush();
      const finish = () => {
        handle.release({ removed });
        cluster.deregister(node);
        if (removed) node.status({});
        done();
      };
      if (!healer) return finish();
      // The healer first: it records what is covered while the stream is still up, and a removed
      // node deletes its checkpoint snapshots.
      healer
        .close(removed)
        .catch((err: unknown) => node.warn(`Gap healing did not close cleanly: ${(err as Error).message}`))
        .finally(finish);
    });
  }

  registerNodeType(RED, 'qumulo-watch', QumuloWatchNode);
};
