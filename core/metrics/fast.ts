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
        for (const cell of cells.values()) if (cell.value > 0) this.inc(cell.labels, cell.value);
        if (self.overflow && self.overflow.value > 0) this.inc(self.overflow.labels, self.overflow.value);
      },
    });
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
