// Rates for the sidebar's sparklines: every few seconds the counters are summed per series key
// (e.g. events per watch node) and kept in a short ring, so the editor gets "per second" figures
// computed from the very numbers the metrics endpoint serves.

import type { Counter } from 'prom-client';
import type { FastHistogram } from './fast';

export interface SeriesSpec {
  /** Name of the series group in the snapshot, e.g. `watchEvents`. */
  name: string;
  counter: Counter<string>;
  /** The label that identifies one series (the other labels are summed). */
  by: string;
}

/** A histogram whose mean per interval the sidebar shows (e.g. event age per watch). */
export interface MeanSpec {
  name: string;
  histogram: FastHistogram;
  by: string;
}

export interface MeanSeries {
  key: string;
  /** Observations so far. */
  count: number;
  /** Mean of each interval's observations, oldest first (null: none in that interval). */
  means: Array<number | null>;
}

export interface RateSeries {
  key: string;
  total: number;
  /** Per-second rates, oldest first, one per sample interval. */
  rates: number[];
}

/**
 * Adds one sample to a group of histories (one per key): a key seen for the first time gets
 * `backfill` earlier points of `zero()` first, a key missing from this sample repeats its last
 * point, and every history keeps at most `keep` points.
 */
function appendSample<T>(group: Map<string, T[]>, sample: Map<string, T>, backfill: number, zero: () => T, keep: number): void {
  for (const [key, value] of sample) {
    let series = group.get(key);
    if (!series) group.set(key, (series = Array.from({ length: backfill }, zero)));
    series.push(value);
  }
  for (const [key, series] of group) if (!sample.has(key)) series.push(series[series.length - 1] ?? zero());
  for (const series of group.values()) if (series.length > keep) series.splice(0, series.length - keep);
}

export class RateSampler {
  private readonly history = new Map<string, Map<string, number[]>>();
  private times: number[] = [];
  private timer: NodeJS.Timeout | null = null;

  /** Per mean spec and key: [sum, count] at each sample. */
  private readonly meanHistory = new Map<string, Map<string, Array<[number, number]>>>();

  constructor(
    private readonly specs: SeriesSpec[],
    readonly intervalMs = 2000,
    private readonly points = 60,
    private readonly meanSpecs: MeanSpec[] = [],
  ) {}

  private first: Promise<void> | null = null;

  /** Starts sampling; resolves once the first sample is taken. */
  start(): Promise<void> {
    if (!this.first) {
      this.first = this.sample();
      this.timer = setInterval(() => void this.sample(), this.intervalMs);
      this.timer.unref();
    }
    return this.first;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.first = null;
  }

  /** Takes one sample now (also used by tests). */
  async sample(): Promise<void> {
    const now = Date.now();
    for (const spec of this.specs) {
      const totals = new Map<string, number>();
      for (const value of (await spec.counter.get()).values) {
        const key = String(value.labels[spec.by] ?? '');
        totals.set(key, (totals.get(key) ?? 0) + value.value);
      }
      let group = this.history.get(spec.name);
      if (!group) this.history.set(spec.name, (group = new Map()));
      // A series first seen now had 0 before (counters start at 0 in this process).
      appendSample(group, totals, this.times.length, () => 0, this.points + 1);
    }
    for (const spec of this.meanSpecs) {
      const totals = spec.histogram.totalsBy(spec.by);
      let group = this.meanHistory.get(spec.name);
      if (!group) this.meanHistory.set(spec.name, (group = new Map()));
      const sample = new Map<string, [number, number]>();
      for (const [key, { sum, count }] of totals) sample.set(key, [sum, count]);
      // Histograms start empty in this process: a key first seen at the first sample gets the
      // mean of everything observed since the start as its first interval.
      appendSample(group, sample, Math.max(1, this.times.length), (): [number, number] => [0, 0], this.points + 1);
    }
    this.times.push(now);
    if (this.times.length > this.points + 1) this.times.splice(0, this.times.length - this.points - 1);
  }

  /** Every series of a group with its total and per-second rates. */
  series(name: string): RateSeries[] {
    const group = this.history.get(name);
    if (!group) return [];
    const out: RateSeries[] = [];
    for (const [key, totals] of group) {
      const rates: number[] = [];
      const offset = this.times.length - totals.length;
      for (let i = 1; i < totals.length; i++) {
        const seconds = Math.max(0.001, (this.times[offset + i] - this.times[offset + i - 1]) / 1000);
        rates.push(Math.round(((totals[i] - totals[i - 1]) / seconds) * 100) / 100);
      }
      out.push({ key, total: totals[totals.length - 1] ?? 0, rates });
    }
    return out;
  }

  /** Every series of a mean group: the mean of each interval's observations. */
  means(name: string): MeanSeries[] {
    const group = this.meanHistory.get(name);
    if (!group) return [];
    const out: MeanSeries[] = [];
    for (const [key, points] of group) {
      const means: Array<number | null> = [];
      for (let i = 1; i < points.length; i++) {
        const count = points[i][1] - points[i - 1][1];
        means.push(count > 0 ? Math.round(((points[i][0] - points[i - 1][0]) / count) * 1e4) / 1e4 : null);
      }
      out.push({ key, count: points[points.length - 1]?.[1] ?? 0, means });
    }
    return out;
  }
}
