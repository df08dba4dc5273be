// Shared by the gap-healing specs (test/heal*.test.ts): a real subscription on the real simulator
// wired to a GapHealer, a way to hold a gap open while changing the tree, and small file helpers.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NotificationType, QumuloEvent } from '../../core/event';
import { QumuloClient } from '../../core/qumulo/client';
import { NotifySubscription } from '../../core/qumulo/subscription';
import { GapHealer, type GapHealerOptions } from '../../core/heal/healer';
import type { HealResult } from '../../core/heal/types';
import type { TestSim } from './sim';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` every 25 ms until it holds; rejects after `timeoutMs` naming `what`. */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export function tempStateDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-heal-state-'));
}

/** Writes files directly into the simulator's backing directory (relative paths). */
export function writeFiles(sim: TestSim, rels: string[], content = 'x'): void {
  for (const rel of rels) {
    fs.mkdirSync(path.dirname(sim.disk(rel)), { recursive: true });
    fs.writeFileSync(sim.disk(rel), content);
  }
}

export function numbered(dir: string, count: number, prefix = 'f'): string[] {
  return Array.from({ length: count }, (_, i) => `${dir}/${prefix}-${String(i).padStart(4, '0')}.txt`);
}

/** Makes files look old on the cluster: creation and modification time an hour back. */
export async function backdate(client: QumuloClient, absPaths: string[]): Promise<void> {
  const old = new Date(Date.now() - 3600_000).toISOString();
  for (const p of absPaths) await client.setAttributes(p, { creation_time: old, modification_time: old });
}

/**
 * Keeps the notify stream down while `change` runs: the simulator goes offline (streams and
 * connections dropped, reconnects refused), the tree is changed on disk, then it comes back.
 * Waits until the disk watcher has seen the changes, so none of them reaches the new stream.
 */
export async function duringOutage(sim: TestSim, change: () => void | Promise<void>): Promise<void> {
  sim.sim.faults.offline = true;
  await change();
  await sleep(400);
  sim.sim.faults.offline = false;
}

export interface Harness {
  client: QumuloClient;
  subscription: NotifySubscription;
  healer: GapHealer;
  live: QumuloEvent[];
  synthetic: QumuloEvent[];
  results: HealResult[];
  warnings: string[];
  /** Resolves with the next heal result (the n-th overall when `index` is given). */
  result(index?: number, timeoutMs?: number): Promise<HealResult>;
  waitForStream(): Promise<void>;
  close(removed?: boolean): Promise<void>;
}

export interface HarnessOptions extends Partial<Omit<GapHealerOptions, 'client' | 'emit' | 'onResult' | 'nextSeq'>> {
  ref: string;
  consumerId?: string;
  watchId?: string;
  resumed?: boolean;
  /** Notification types the subscription asks for (and the healer respects). */
  types?: NotificationType[] | null;
  clientFor?: (live: QumuloClient) => () => QumuloClient;
}

/** A subscription on the simulator and a healer fed by it, as the watch node wires them. */
export function startHarness(sim: TestSim, options: HarnessOptions): Harness {
  const client = new QumuloClient(sim.clientOptions());
  const watchId = options.watchId ?? 'heal-spec-watch';
  const subscription = new NotifySubscription({
    client,
    ref: options.ref,
    recursive: options.recursive ?? true,
    types: options.types ?? null,
    watchId,
    backoffInitialMs: 50,
    backoffMaxMs: 200,
    idleTimeoutMs: 30_000,
  });
  const live: QumuloEvent[] = [];
  const synthetic: QumuloEvent[] = [];
  const results: HealResult[] = [];
  const warnings: string[] = [];
  let seq = 0;
  const healer = new GapHealer({
    watchRoot: options.ref,
    recursive: options.recursive ?? true,
    types: options.types ?? null,
    stateDirectory: null,
    toleranceMs: 300,
    overflowLookbackMs: 1_000,
    ...options,
    client: options.clientFor ? options.clientFor(client) : () => client,
    watchId,
    consumerId: options.consumerId ?? 'node-under-test',
    nextSeq: () => ++seq,
    emit: (events) => synthetic.push(...events),
    onResult: (result) => results.push(result),
    onWarning: (text) => warnings.push(text),
  });
  subscription.on('event', (event) => {
    seq = Math.max(seq, event.seq);
    live.push(event);
    healer.onEvent(event);
  });
  subscription.on('status', (status) => healer.onStatus(status));
  subscription.on('disconnected', (gap) => healer.onDisconnected(gap));
  subscription.on('gap', (gap) => healer.onGap(gap));
  healer.start({ resumed: options.resumed ?? false });
  subscription.start();
  return {
    client,
    subscription,
    healer,
    live,
    synthetic,
    results,
    warnings,
    async result(index, timeoutMs = 20_000) {
      const wanted = index ?? results.length;
      await waitUntil(() => results.length > wanted, timeoutMs, `heal result #${wanted + 1} (warnings: ${warnings.join(' | ')})`);
      return results[wanted];
    },
    waitForStream: () => waitUntil(() => subscription.status.state === 'watching', 10_000, 'the notify stream'),
    async close(removed = false) {
      // Like the node: the healer first (it sees the stream still up: covered until now).
      await healer.close(removed);
      subscription.close();
      await client.close();
    },
  };
}

/** path → types of the synthetic events, sorted, for compact assertions. */
export function byPath(events: QumuloEvent[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) (out[e.path] ??= []).push(e.type);
  for (const key of Object.keys(out)) out[key].sort();
  return out;
}
