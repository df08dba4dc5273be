// Small statistics the benches print (bench:actions, bench:soak's verdict).

/** The middle value, or the mean of the two middle values of an even count. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}

/** Mean and the half-width of its 95 % confidence interval (normal approximation). */
export function meanWithInterval(values: number[]): { mean: number; halfWidth: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, values.length - 1);
  return { mean, halfWidth: (1.96 * Math.sqrt(variance)) / Math.sqrt(values.length) };
}
