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
import * as fs from 'node:fs';
import * as path from 'node:path';
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

/** The file (in Node-RED's user directory) that lists every audit directory a qumulo-audit node has written to. */
const KNOWN_DIRECTORIES_FILE = 'qumulo-flow-audit-directories.json';
const MAX_KNOWN_DIRECTORIES = 1000;

/**
 * Every directory a qumulo-audit node of this Node-RED has written to, deployed or not any more:
 * records stay in the trail when their node is deleted, so the export keeps reading them.
 * Kept in the user directory, so a restart remembers them too.
 */
export function knownAuditDirectories(RED: NodeAPI): string[] {
  try {
    const list = JSON.parse(fs.readFileSync(path.join(userStateDirectory(RED), KNOWN_DIRECTORIES_FILE), 'utf8')) as unknown;
    return Array.isArray(list) ? list.filter((d): d is string => typeof d === 'string' && path.isAbsolute(d)).slice(0, MAX_KNOWN_DIRECTORIES) : [];
  } catch {
    return [];
  }
}

/** Adds a qumulo-audit node's directory to knownAuditDirectories (written only when it is new). */
export function rememberAuditDirectory(RED: NodeAPI, dir: string): void {
  const known = knownAuditDirectories(RED);
  if (known.includes(dir) || dir === defaultAuditDirectory(RED) || known.length >= MAX_KNOWN_DIRECTORIES) return;
  const file = path.join(userStateDirectory(RED), KNOWN_DIRECTORIES_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written whole and renamed into place: a crash leaves the old list or the new one.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify([...known, dir], null, 1));
  fs.renameSync(`${file}.tmp`, file);
}

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

/** A time query parameter: undefined when absent or empty, an Error when it is not a time. */
function timeParam(name: string, value: unknown): Date | undefined | Error {
  if (value === undefined || (typeof value === 'string' && value.trim() === '')) return undefined;
  const text = typeof value === 'string' ? value.trim() : '';
  const problem = new Error(`"${name}" is not a time: give an ISO time (2026-12-07 or 2026-12-07T10:00:00Z) or epoch milliseconds`);
  if (/^\d{1,16}$/.test(text)) return new Date(Number(text));
  const day = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/.exec(text);
  if (!day || text.length > 40) return problem;
  // Date.parse rolls an impossible day over (2026-02-30 becomes March 2): that is not the range asked for.
  const [year, month, date] = day.slice(1).map(Number);
  const calendar = new Date(Date.UTC(year, month - 1, date));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== date) return problem;
  const time = new Date(text);
  return Number.isNaN(time.getTime()) ? problem : time;
}

/**
 * The export's query: a field that is given must be right (a silent default would export another
 * range than asked); empty fields mean the defaults (the last 24 hours, every path, JSON).
 */
function exportQuery(query: Request['query']): { from: Date; to: Date; prefix: string; format: 'csv' | 'json' } | Error {
  const to = timeParam('to', query.to) ?? new Date();
  if (to instanceof Error) return to;
  const from = timeParam('from', query.from) ?? new Date(to.getTime() - 86_400_000);
  if (from instanceof Error) return from;
  const format = query.format ?? 'json';
  if (format !== 'csv' && format !== 'json') return new Error('"format" must be csv or json');
  if (from.getTime() >= to.getTime()) return new Error('"from" must be before "to" (ISO times or epoch milliseconds)');
  const prefix = typeof query.prefix === 'string' ? query.prefix.trim() : '';
  if (prefix && !prefix.startsWith('/')) return new Error('"prefix" must be an absolute path such as /data/finance');
  return { from, to, prefix, format };
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
    const query = exportQuery(req.query);
    if (query instanceof Error) {
      res.status(400).json({ error: query.message });
      return;
    }
    const { from, to, prefix, format } = query;
    const directories = [...new Set([defaultAuditDirectory(RED), ...knownAuditDirectories(RED), ...auditDirectories.values()])];
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
