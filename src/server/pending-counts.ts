import { LabelSeries } from './label-series.ts';

/**
 * Counts by label values, kept as plain numbers between scrapes and handed to a prom-client metric from its
 * `collect()`. prom-client's `inc()` costs about 5,100 instructions for the four-label requests counter, 4,100 for
 * the in-flight gauge's inc and dec, against 577 and 918 here (`node bench/shell-instructions.ts`); an admission
 * here costs one Map lookup per label value, and a scrape one `inc()` or `set()` per label set.
 */
export class PendingCounts<L extends string> {
  readonly #series: LabelSeries<L, { count: number }>;

  constructor(labelNames: readonly L[]) {
    this.#series = new LabelSeries(labelNames, () => ({ count: 0 }));
  }

  /** `values`: the label values, in the order of `labelNames`. */
  add(values: readonly string[], amount = 1): void {
    this.#series.of(values).count += amount;
  }

  /** Every series' count since the last drain, handed to `inc`, then zero again (a counter's collect). */
  drain(inc: (labels: Record<L, string>, amount: number) => void): void {
    for (const { labels, state } of this.#series.all()) {
      if (state.count === 0) continue;
      inc(labels, state.count);
      state.count = 0;
    }
  }

  /** Every series' current count, kept (a gauge's collect: in-flight requests go up and down). */
  read(set: (labels: Record<L, string>, value: number) => void): void {
    for (const { labels, state } of this.#series.all()) set(labels, state.count);
  }
}
