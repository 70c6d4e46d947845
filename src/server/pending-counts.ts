/**
 * Counts by label values, kept as plain numbers between scrapes and handed to a prom-client metric from its
 * `collect()`. prom-client builds a key from the label object and checks every label on each `inc()` (about 5,100
 * instructions for the four-label requests counter, 4,100 for the in-flight gauge's inc and dec, against 2,800 and
 * 900 here: `node bench/shell-instructions.ts`); an admission here costs one Map lookup, and a scrape one `inc()` or
 * `set()` per label set.
 * Label values are positional, in the order of the metric's `labelNames`.
 */
export class PendingCounts<L extends string> {
  readonly #labelNames: readonly L[];
  /** By the label values joined with NUL (no label value here holds one); a series, once seen, stays. */
  readonly #series = new Map<string, { labels: Record<L, string>; count: number }>();

  constructor(labelNames: readonly L[]) {
    this.#labelNames = labelNames;
  }

  add(values: readonly string[], amount = 1): void {
    const key = values.length === 1 ? values[0] : values.join('\0');
    const series = this.#series.get(key);
    if (series !== undefined) series.count += amount;
    else this.#series.set(key, { labels: Object.fromEntries(this.#labelNames.map((name, i) => [name, values[i]])) as Record<L, string>, count: amount });
  }

  /** Every series' count since the last drain, handed to `inc`, then zero again (a counter's collect). */
  drain(inc: (labels: Record<L, string>, amount: number) => void): void {
    for (const series of this.#series.values()) {
      if (series.count === 0) continue;
      inc(series.labels, series.count);
      series.count = 0;
    }
  }

  /** Every series' current count, kept (a gauge's collect: in-flight requests go up and down). */
  read(set: (labels: Record<L, string>, value: number) => void): void {
    for (const series of this.#series.values()) set(series.labels, series.count);
  }
}
