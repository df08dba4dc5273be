// The sidebar's sparklines (core/metrics/sampler.ts): per-second rates from counters and
// per-interval means from histograms, with a bounded window, against real prom-client metrics.

import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { FastHistogram } from '../../../core/metrics/fast';
import { RateSampler } from '../../../core/metrics/sampler';

describe('RateSampler (sidebar rates and means)', () => {
  it('turns counter totals into per-second rates per key: a key seen late had 0 before, a key gone repeats its total, the window is bounded', async () => {
    const registry = new Registry();
    const events = new Counter({ name: 'events_total', help: 'events', labelNames: ['node', 'type'], registers: [registry] });
    const sampler = new RateSampler([{ name: 'events', counter: events, by: 'node' }], 1000, 3);
    let now = 1_000_000;
    const realNow = Date.now;
    Date.now = () => now;
    try {
      events.inc({ node: 'a', type: 'x' }, 10);
      await sampler.sample();
      now += 2000;
      events.inc({ node: 'a', type: 'x' }, 4);
      events.inc({ node: 'a', type: 'y' }, 2); // another label value of the same key: summed
      await sampler.sample();
      now += 2000;
      events.inc({ node: 'b', type: 'x' }, 8); // first seen now
      await sampler.sample();
      assert.deepEqual(sampler.series('events'), [
        { key: 'a', total: 16, rates: [3, 0] },
        { key: 'b', total: 8, rates: [0, 4] },
      ]);
      for (let i = 0; i < 5; i++) {
        now += 1000;
        events.inc({ node: 'b', type: 'x' }, 1);
        await sampler.sample();
      }
      // At most `points` rates (4 totals) per key, a standing key at rate 0.
      assert.deepEqual(sampler.series('events'), [
        { key: 'a', total: 16, rates: [0, 0, 0] },
        { key: 'b', total: 13, rates: [1, 1, 1] },
      ]);
      assert.deepEqual(sampler.series('unknown'), []);
    } finally {
      Date.now = realNow;
    }
  });

  it('turns histogram sums and counts into the mean of each interval (null when nothing was observed)', async () => {
    const registry = new Registry();
    const age = new FastHistogram('age_seconds', 'age', ['node'], [0.1, 1], registry);
    const sampler = new RateSampler([], 1000, 10, [{ name: 'age', histogram: age, by: 'node' }]);
    await sampler.sample();
    age.observe(['w1'], 0.2);
    age.observe(['w1'], 0.4);
    await sampler.sample();
    await sampler.sample();
    age.observe(['w1'], 1);
    age.observe(['w2'], 3);
    await sampler.sample();
    assert.deepEqual(sampler.means('age'), [
      { key: 'w1', count: 3, means: [0.3, null, 1] },
      // First seen at the last sample: its first interval is everything observed since the start.
      { key: 'w2', count: 1, means: [null, null, 3] },
    ]);
  });
});
