/** One sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key] = value.replace(/\\(.)/g, '$1');
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** Cumulative bucket counts of a histogram by `le`, summed over every series whose labels match `where`. */
export function histogram(samples: Sample[], name: string, where: Record<string, string>): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    if (!Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  return new Map([...buckets.entries()].sort((a, b) => a[0] - b[0]));
}

export function difference(after: Map<number, number>, before: Map<number, number>): Map<number, number> {
  return new Map([...after.entries()].map(([le, count]) => [le, count - (before.get(le) ?? 0)]));
}

/** Share of observations at or below `le`. */
export function shareAtOrBelow(buckets: Map<number, number>, le: number): number {
  const total = buckets.get(Infinity) ?? 0;
  return total === 0 ? NaN : (buckets.get(le) ?? NaN) / total;
}

/** `0.005: 99.8%, 0.025: 100%` — each bucket's cumulative share, for the report. */
export function describeBuckets(buckets: Map<number, number>, upTo = 0.1): string {
  const total = buckets.get(Infinity) ?? 0;
  return [...buckets.entries()]
    .filter(([le]) => le <= upTo)
    .map(([le, count]) => `≤${le * 1000} ms ${total ? ((count / total) * 100).toFixed(1) : '-'}%`)
    .join(', ');
}
