// The admin routes of metrics, the sidebar and the audit export, registered once per Node-RED
// process (by the sidebar plugin and by the qumulo-audit module, whichever loads first):
//   GET  /qumulo-flow/metrics                     Prometheus text format (core/metrics' registry)
//   GET  /qumulo-flow/observability               what the "qumulo" sidebar shows (same numbers)
//   POST /qumulo-flow/observability/all-stop/reset  reset a cluster's all-stop from the sidebar
//   GET  /qumulo-flow/audit/export?from&to&prefix&format=csv|json
// Each starts with adminGuard (same origin, JSON bodies only) and Node-RED's permission check.
// A scraper (Prometheus) may instead send `Authorization: Bearer <token>` with the token set in
// settings.js (`qumuloFlow: { metricsToken }`) or QUMULO_FLOW_METRICS_TOKEN: it opens the metrics
// route only. The token is compared in constant time and never logged.

import { timingSafeEqual, createHash } from 'node:crypto';
import type { Node, NodeAPI } from 'node-red';
import type { NextFunction, Request, Response } from 'express';
import { AllStopStore } from '../../core/allstop/allstop';
import { clusterIdentity } from '../../core/qumulo/identity';
import { actions, declareNodeSeries, guardDecisions, recent, registry, setAllStopSource, watchEvents, watchEventAge, redisRead, redisAcked, redisDeadLettered } from '../../core/metrics';
import { writerSettings } from '../../core/redis/node-settings';
import { RateSampler } from '../../core/metrics/sampler';
import { exportAudit, toCsv } from '../../core/audit';
import { adminGuard } from './admin-guard';
import { defaultAuditDirectory, userStateDirectory } from './action-node';
import type { QumuloClusterNode } from './cluster';

/** Directories the deployed qumulo-audit nodes write to (the export reads these and the default). */
export const auditDirectories = new Map<string, string>();

export { defaultAuditDirectory };

const registered = new WeakSet<object>();
/** Most records one export returns (about 120 MB of JSON): a bigger range is cut, with X-Audit-Truncated. */
const MAX_EXPORT_RECORDS = 200_000;

export const sampler = new RateSampler(
  [
    { name: 'watchEvents', counter: watchEvents.counter, by: 'node' },
    { name: 'actions', counter: actions.counter, by: 'node' },
    { name: 'clusterActions', counter: actions.counter, by: 'cluster' },
    { name: 'redisRead', counter: redisRead.counter, by: 'stream' },
    { name: 'redisAcked', counter: redisAcked.counter, by: 'stream' },
  ],
  2000,
  60,
  [{ name: 'watchAge', histogram: watchEventAge, by: 'node' }],
);

/** How far downstream of a watch the sidebar looks for the qumulo-redis-out nodes its events go to. */
const MAX_HOPS = 8;

interface FlowNodeConfig {
  id: string;
  type: string;
  wires?: string[][];
  redis?: string;
  stream?: string;
}

/**
 * The Redis stream keys a watch node's events are appended to: the qumulo-redis-out nodes reachable
 * over its wires (through a guard, a filter …), each key as its Redis config node resolves it.
 */
function streamsOfWatch(RED: NodeAPI, configs: Map<string, FlowNodeConfig>, watchId: string): string[] {
  const streams = new Set<string>();
  const seen = new Set<string>([watchId]);
  let frontier = [watchId];
  for (let hop = 0; hop < MAX_HOPS && frontier.length > 0; hop++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const port of configs.get(id)?.wires ?? []) {
        for (const target of port ?? []) {
          if (seen.has(target)) continue;
          seen.add(target);
          const config = configs.get(target);
          if (!config) continue;
          if (config.type === 'qumulo-redis-out') {
            const redis = config.redis ? (RED.nodes.getNode(config.redis) as (Node & { connection?: { key(name: string): string } | null }) | null) : null;
            try {
              if (redis?.connection) streams.add(redis.connection.key(writerSettings(config as Parameters<typeof writerSettings>[0]).stream));
            } catch {
              // invalid settings: the node itself reports them
            }
          } else next.push(target);
        }
      }
    }
    frontier = next;
  }
  return [...streams];
}

/** The metrics token from settings.js or the environment ('' = none). */
function metricsToken(RED: NodeAPI): string {
  const settings = RED.settings as unknown as { qumuloFlow?: { metricsToken?: unknown } };
  const fromSettings = settings.qumuloFlow?.metricsToken;
  const token = typeof fromSettings === 'string' && fromSettings ? fromSettings : (process.env.QUMULO_FLOW_METRICS_TOKEN ?? '');
  return token.trim();
}

function tokenMatches(offered: string, expected: string): boolean {
  // Hash both: equal lengths for timingSafeEqual, and no length leak.
  const a = createHash('sha256').update(offered).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

interface DeployedCluster {
  id: string;
  name: string;
  key: string;
}

function deployedOfType(RED: NodeAPI, type: string): Node[] {
  const out: Node[] = [];
  RED.nodes.eachNode((config: { id: string; type: string }) => {
    if (config.type !== type) return;
    const node = RED.nodes.getNode(config.id);
    if (node) out.push(node);
  });
  return out;
}

function deployedClusters(RED: NodeAPI): DeployedCluster[] {
  const seen = new Map<string, DeployedCluster>();
  for (const node of deployedOfType(RED, 'qumulo-cluster') as QumuloClusterNode[]) {
    const options = node.clientOptions;
    if (!options) continue;
    const key = clusterIdentity(options);
    if (!seen.has(key)) seen.set(key, { id: node.id, name: node.name || node.endpoint || key, key });
  }
  return [...seen.values()];
}

function nodeLabel(RED: NodeAPI, id: string): { id: string; name: string; type: string } {
  const node = RED.nodes.getNode(id) as (Node & { name?: string }) | null;
  return { id, name: node?.name || '', type: node?.type ?? '' };
}

/** An ISO time or epoch ms from a query value; null when absent or unreadable. */
function timeParam(value: unknown): Date | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const text = value.trim();
  const date = /^\d+$/.test(text) ? new Date(Number(text)) : new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function registerObservability(RED: NodeAPI): void {
  const app = RED.httpAdmin as unknown as object;
  if (registered.has(app)) return;
  registered.add(app);

  const allStopStore = () => AllStopStore.forDirectory(userStateDirectory(RED));
  setAllStopSource(() => {
    const store = allStopStore();
    return deployedClusters(RED).map((c) => ({ cluster: c.key, active: store.get(c.key).active }));
  });

  const readPermission = RED.auth.needsPermission('qumulo-flow.read');
  const metricsAccess = (req: Request, res: Response, next: NextFunction): void => {
    const expected = metricsToken(RED);
    const header = String(req.headers.authorization ?? '');
    if (expected && header.startsWith('Bearer ') && tokenMatches(header.slice(7).trim(), expected)) {
      next();
      return;
    }
    readPermission(req, res, next);
  };

  RED.httpAdmin.get('/qumulo-flow/metrics', adminGuard, metricsAccess, (_req: Request, res: Response) => {
    for (const type of ['qumulo-watch', 'qumulo-loop-guard']) for (const node of deployedOfType(RED, type)) declareNodeSeries(type, node.id);
    registry.metrics().then(
      (text) => {
        res.set('Content-Type', registry.contentType);
        res.set('Cache-Control', 'no-store');
        res.send(text);
      },
      (err: Error) => res.status(500).json({ error: `metrics: ${err.message}` }),
    );
  });

  RED.httpAdmin.get('/qumulo-flow/observability', adminGuard, readPermission, (_req: Request, res: Response) => {
    sampler.start().then(() => sendState(res), (err: Error) => res.status(500).json({ error: `observability: ${err.message}` }));
  });

  /**
   * Per watch node: its event rate, and its lag — the mean age of its events when their actions
   * finished (qumulo_flow_watch_event_age_seconds, per sample interval) and the pending / not yet
   * delivered entries of the Redis streams its events go to (qumulo_flow_redis_pending / _lag).
   */
  const watchRows = (redisStreams: Map<string, Record<string, unknown>>): Array<Record<string, unknown>> => {
    const configs = new Map<string, FlowNodeConfig>();
    RED.nodes.eachNode((config: FlowNodeConfig) => {
      configs.set(config.id, config);
    });
    const rates = new Map(sampler.series('watchEvents').map((series) => [series.key, series]));
    const ages = new Map(sampler.means('watchAge').map((series) => [series.key, series]));
    const keys = [...new Set([...rates.keys(), ...ages.keys(), ...[...configs.values()].filter((c) => c.type === 'qumulo-watch').map((c) => c.id)])];
    return keys.map((key) => {
      const rate = rates.get(key);
      const age = ages.get(key);
      const means = age?.means ?? [];
      const lastAge = [...means].reverse().find((m) => m !== null) ?? null;
      const streams = configs.get(key)?.type === 'qumulo-watch' ? streamsOfWatch(RED, configs, key) : [];
      return {
        ...nodeLabel(RED, key),
        total: rate?.total ?? 0,
        rates: rate?.rates ?? [],
        ageSeconds: lastAge,
        ages: means.map((m) => m ?? 0),
        aged: age?.count ?? 0,
        redis: streams.map((stream) => {
          const row = redisStreams.get(stream);
          return { stream, group: row?.group ?? null, pending: row?.pending ?? null, lag: row?.lag ?? null };
        }),
      };
    });
  };

  const sendState = (res: Response): void => {
    const store = allStopStore();
    const clusterRates = new Map(sampler.series('clusterActions').map((series) => [series.key, series]));
    const allStopNodes = deployedOfType(RED, 'qumulo-all-stop') as Array<Node & { allStop?: { key: string } }>;
    const guardTotals = new Map<string, Record<string, number>>();
    for (const verdict of ['passed', 'suppressed', 'tripped']) {
      for (const node of deployedOfType(RED, 'qumulo-loop-guard')) {
        const totals = guardTotals.get(node.id) ?? {};
        totals[verdict] = guardDecisions.sum({ node: node.id, verdict });
        guardTotals.set(node.id, totals);
      }
    }
    const redisStreams = new Map<string, Record<string, unknown>>();
    for (const entry of recent.backlog.values()) redisStreams.set(entry.stream, { stream: entry.stream, group: entry.group, pending: entry.pending, lag: entry.lag, at: entry.at });
    for (const series of sampler.series('redisRead')) {
      const row = redisStreams.get(series.key) ?? { stream: series.key };
      redisStreams.set(series.key, { ...row, read: series.total, rates: series.rates });
    }
    for (const row of redisStreams.values()) {
      const stream = String(row.stream);
      row.acked = redisAcked.sum({ stream });
      row.deadLettered = redisDeadLettered.sum({ stream });
    }
    res.set('Cache-Control', 'no-store');
    res.json({
      now: new Date().toISOString(),
      intervalMs: sampler.intervalMs,
      clusters: deployedClusters(RED).map((c) => ({
        ...c,
        allStop: store.get(c.key),
        allStopNodes: allStopNodes.filter((n) => n.allStop?.key === c.key).map((n) => n.id),
        actions: clusterRates.get(c.key)?.total ?? 0,
        rates: clusterRates.get(c.key)?.rates ?? [],
      })),
      watches: watchRows(redisStreams),
      actions: sampler.series('actions').map((s) => ({ ...nodeLabel(RED, s.key), total: s.total, rates: s.rates, failed: actions.sum({ node: s.key, outcome: 'failed' }) })),
      redis: [...redisStreams.values()],
      guards: [...guardTotals.entries()].map(([id, totals]) => ({ ...nodeLabel(RED, id), ...totals })),
      trips: recent.trips.slice().reverse(),
      errors: recent.errors.slice().reverse(),
    });
  };

  // Same permission as the all-stop node's own Reset button.
  RED.httpAdmin.post('/qumulo-flow/observability/all-stop/reset', adminGuard, RED.auth.needsPermission('qumulo-all-stop.write'), (req: Request, res: Response) => {
    const cluster = typeof req.body?.cluster === 'string' ? req.body.cluster : '';
    if (!deployedClusters(RED).some((c) => c.key === cluster)) {
      res.status(404).json({ error: 'no deployed qumulo-cluster has this host:port' });
      return;
    }
    const user = (req as Request & { user?: { username?: string } }).user?.username;
    const by = `sidebar${user ? ` (${user})` : ''}`;
    // Through a deployed all-stop node when there is one, so the flow gets its reset message.
    const owner = (deployedOfType(RED, 'qumulo-all-stop') as Array<Node & { allStop?: { key: string; reset(by: string): unknown } }>).find((n) => n.allStop?.key === cluster);
    const state = owner?.allStop ? owner.allStop.reset(by) : allStopStore().reset(cluster, by).state;
    res.json({ cluster, state });
  });

  RED.httpAdmin.get('/qumulo-flow/audit/export', adminGuard, RED.auth.needsPermission('qumulo-audit.read'), (req: Request, res: Response) => {
    const to = timeParam(req.query.to) ?? new Date();
    const from = timeParam(req.query.from) ?? new Date(to.getTime() - 86_400_000);
    const prefix = typeof req.query.prefix === 'string' ? req.query.prefix.trim() : '';
    const format = req.query.format === 'csv' ? 'csv' : 'json';
    if (from.getTime() >= to.getTime()) {
      res.status(400).json({ error: '"from" must be before "to" (ISO times or epoch milliseconds)' });
      return;
    }
    if (prefix && !prefix.startsWith('/')) {
      res.status(400).json({ error: '"prefix" must be an absolute path such as /data/finance' });
      return;
    }
    const directories = [...new Set([defaultAuditDirectory(RED), ...auditDirectories.values()])];
    void (async () => {
      const records = [];
      let truncated = false;
      let duplicates = 0;
      const ids = new Set<string>();
      for (const dir of directories) {
        const result = await exportAudit(dir, { from, to, pathPrefix: prefix, limit: MAX_EXPORT_RECORDS });
        truncated ||= result.truncated;
        duplicates += result.duplicates;
        for (const record of result.records) {
          if (ids.has(record.id)) duplicates++;
          else {
            ids.add(record.id);
            records.push(record);
          }
        }
      }
      records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
      const name = `qumulo-audit-${from.toISOString().slice(0, 19).replace(/:/g, '')}-${to.toISOString().slice(0, 19).replace(/:/g, '')}`;
      res.set('Cache-Control', 'no-store');
      res.set('X-Audit-Duplicates-Dropped', String(duplicates));
      if (truncated) res.set('X-Audit-Truncated', 'true');
      if (format === 'csv') {
        res.set('Content-Type', 'text/csv; charset=utf-8');
        res.set('Content-Disposition', `attachment; filename="${name}.csv"`);
        res.send(toCsv(records));
      } else {
        res.set('Content-Disposition', `attachment; filename="${name}.json"`);
        res.json({ from: from.toISOString(), to: to.toISOString(), prefix, count: records.length, truncated, duplicatesDropped: duplicates, records });
      }
    })().catch((err: Error) => res.status(500).json({ error: `audit export: ${err.message}` }));
  });
}
