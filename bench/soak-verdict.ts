// bench:soak's verdicts, apart from the bench so that a spec can check them without a soak.
import { ms } from './pipeline';
import { median } from './stats';

/** Least-squares slope of y over x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

/** The "p99 flat" verdict (see bench/soak.ts's header): no spike and no drift in the per-minute p99 after minute 1. */
export function p99Verdict(p99PerMinute: number[], keptUpPerMinute: boolean[] = []): string {
  const after = p99PerMinute.slice(1).filter((v) => Number.isFinite(v));
  // A backlog that stays the same size has a flat p99 too, of seconds: not what the goal means.
  const behind = keptUpPerMinute.map((kept, i) => (kept || i === 0 ? 0 : i + 1)).filter((minute) => minute > 0);
  if (after.length < 2) return 'p99 flat: not judged (needs at least 2 minutes after the first)';
  const middle = median(after);
  const highest = Math.max(...after);
  const perMinute = slope(after.map((v, i) => [i + 2, v]));
  const rise = perMinute * (after.length - 1);
  const noSpike = highest <= 2 * middle;
  const noDrift = rise <= 0.5 * middle;
  const met = noSpike && noDrift && behind.length === 0;
  return (
    `p99 per minute after the first: median ${ms(middle)}, highest ${ms(highest)} (${(highest / middle).toFixed(2)}× the median, limit 2×), ` +
    `fitted slope ${perMinute.toFixed(1)} ms/min = ${rise.toFixed(1)} ms over the run (limit half the median, ${(0.5 * middle).toFixed(1)} ms) — ` +
    `p99 flat ${met ? 'met' : 'NOT met'}${noSpike ? '' : ' (a spike)'}${noDrift ? '' : ' (drifts up)'}${behind.length === 0 ? '' : ` (a backlog in minute ${behind.join(', ')})`}${after.length < 3 ? ' (indicative: fewer than 3 minutes after the first)' : ''}`
  );
}
