/** Exact percentiles over every recorded sample (the runs are short enough to keep them all). */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Latencies in milliseconds, as floats (autocannon's own histogram rounds to whole milliseconds). */
export class LatencyRecorder {
  #samples = new Float64Array(1 << 16);
  #count = 0;

  record(ms: number): void {
    if (this.#count === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2);
      grown.set(this.#samples);
      this.#samples = grown;
    }
    this.#samples[this.#count++] = ms;
  }

  get count(): number {
    return this.#count;
  }

  summary(): LatencySummary {
    return summarize(this.#samples.subarray(0, this.#count));
  }
}

export function summarize(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const count = sorted.length;
  if (count === 0) return { count, p50: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted[count - 1],
    mean: sum / count,
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Largest relative deviation from the mean, as a fraction: how far apart repeated runs landed. */
export function spread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.max(...values.map((v) => Math.abs(v - m))) / m;
}
