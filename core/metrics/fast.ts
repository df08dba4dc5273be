// A labelled counter whose hot path is a Map lookup and an addition: prom-client's own inc()
// hashes and validates the label object on every call (about a microsecond), which the event
// path should not pay per event. The values are handed to prom-client when it is scraped.

import { Counter, type Registry } from 'prom-client';

interface Cell {
  labels: Record<string, string>;
  value: number;
}

/** Most label combinations one counter keeps; past it, new ones are counted under `other`. */
const MAX_SERIES = 2000;

export class FastCounter {
  readonly counter: Counter<string>;
  private readonly cells = new Map<string, Cell>();
  private overflow: Cell | null = null;

  constructor(name: string, help: string, private readonly labelNames: string[], registry: Registry) {
    const cells = this.cells;
    const self = this;
    this.counter = new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        // Zero cells too: a declared series is scraped at 0 before its first increment, so rate()
        // and increase() see that increment (a series that appears at 1 looks like no change).
        for (const cell of cells.values()) this.inc(cell.labels, cell.value);
        if (self.overflow && self.overflow.value > 0) this.inc(self.overflow.labels, self.overflow.value);
      },
    });
  }

  /** Creates the series of these label values at 0 if it is not there yet. */
  declare(values: string[]): void {
    this.add(values, 0);
  }

  /** Adds n to the series of these label values (in labelNames order). */
  add(values: string[], n = 1): void {
    const key = values.length === 1 ? values[0] : values.join('\u0001');
    let cell = this.cells.get(key);
    if (!cell) {
      if (this.cells.size >= MAX_SERIES) {
        this.overflow ??= { labels: Object.fromEntries(this.labelNames.map((name) => [name, 'other'])), value: 0 };
        this.overflow.value += n;
        return;
      }
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = String(values[i] ?? '')));
      this.cells.set(key, (cell = { labels, value: 0 }));
    }
    cell.value += n;
  }

  /** Sum of every series whose label `name` is `value` (tests and the sidebar). */
  sum(filter: Record<string, string> = {}): number {
    let total = 0;
    for (const cell of this.cells.values()) if (Object.entries(filter).every(([k, v]) => cell.labels[k] === v)) total += cell.value;
    return total;
  }
}

interface HistogramCell {
  labels: Record<string, string>;
  /** Per bucket (not cumulative), plus one for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A labelled histogram with the same cheap hot path (a Map lookup and a bucket scan), registered
 * with the registry as a metric of its own that formats like prom-client's Histogram.
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly cells = new Map<string, HistogramCell>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: string[],
    private readonly buckets: number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  observe(values: string[], value: number): void {
    const key = values.length === 1 ? values[0] : values.join('\u0001');
    let cell = this.cells.get(key);
    if (!cell) {
      if (this.cells.size >= MAX_SERIES) return;
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = String(values[i] ?? '')));
      this.cells.set(key, (cell = { labels, counts: new Array(this.buckets.length + 1).fill(0), sum: 0, count: 0 }));
    }
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i++;
    cell.counts[i]++;
    cell.sum += value;
    cell.count++;
  }

  /** Sum and count of the observations per value of one label (the sidebar's mean ages). */
  totalsBy(label: string): Map<string, { sum: number; count: number }> {
    const out = new Map<string, { sum: number; count: number }>();
    for (const cell of this.cells.values()) {
      const key = cell.labels[label] ?? '';
      const entry = out.get(key) ?? { sum: 0, count: 0 };
      entry.sum += cell.sum;
      entry.count += cell.count;
      out.set(key, entry);
    }
    return out;
  }

  /** Observations of the series with these labels (tests). */
  countOf(filter: Record<string, string> = {}): number {
    let total = 0;
    for (const cell of this.cells.values()) if (Object.entries(filter).every(([k, v]) => cell.labels[k] === v)) total += cell.count;
    return total;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> }> {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const cell of this.cells.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += cell.counts[i];
        values.push({ labels: { ...cell.labels, le: i < this.buckets.length ? this.buckets[i] : '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: cell.labels, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: cell.labels, value: cell.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
