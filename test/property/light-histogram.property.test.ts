/**
 * The admission duration histogram is counted without prom-client's Histogram, so Prometheus must not be able to
 * tell: for any observations under any label values, interleaved with scrapes and resets, the exposition (text and
 * JSON) is the one prom-client's own Histogram gives for the same observations, line for line.
 */
import t from 'tap';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { LightHistogram } from '../../src/server/light-histogram.ts';
import { LATENCY_BUCKETS } from '../../src/server/metrics.ts';

const labelValue = fc.oneof(fc.constantFrom('mutate', 'validate', 'EnvoyFilter', 'HTTPRoute', 'other', ''), fc.string(), fc.constantFrom('a"b\\c', 'line\nbreak'));
// Bucket bounds themselves (an observation equal to a bound is in that bucket), either side of every bound, beyond them all.
const seconds = fc.oneof(fc.constantFrom(...LATENCY_BUCKETS, 0, -1, 5.000001, 1e9), fc.double({ min: -1, max: 10, noNaN: true }), fc.double({ min: 0, max: 0.01, noNaN: true }));
const step = fc.oneof(
  { weight: 20, arbitrary: fc.record({ observe: fc.tuple(labelValue, labelValue), seconds }) },
  { weight: 2, arbitrary: fc.constant({ scrape: true as const }) },
  { weight: 1, arbitrary: fc.constant({ reset: true as const }) },
);

/** prom-client's JSON carries an exemplar slot per value (null, or undefined on _sum and _count); ours has none. */
function withoutExemplars(metrics: object[]): unknown {
  return JSON.parse(JSON.stringify(metrics, (key, value) => (key === 'exemplar' ? undefined : value)));
}

t.test("the histogram's exposition is prom-client's for the same observations", async (t) => {
  let compared = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
      const [theirs, ours] = [new Registry(), new Registry()];
      const options = { name: 'epp_webhook_admission_duration_seconds', help: 'Time from a parsed AdmissionReview to its answer.', labelNames: ['endpoint', 'kind'] as const, buckets: LATENCY_BUCKETS };
      const reference = new Histogram({ ...options, labelNames: [...options.labelNames], registers: [theirs] });
      const light = new LightHistogram({ ...options, registers: [ours] });
      for (const s of [...steps, { scrape: true as const }]) {
        if ('observe' in s) {
          reference.observe({ endpoint: s.observe[0], kind: s.observe[1] }, s.seconds);
          light.observe(s.observe, s.seconds);
        } else if ('reset' in s) {
          theirs.resetMetrics();
          ours.resetMetrics();
        } else {
          // Thrown, not counted by tap: fast-check then shrinks to the smallest steps that differ and reports them.
          assert.equal(await ours.metrics(), await theirs.metrics());
          assert.deepEqual(withoutExemplars(await ours.getMetricsAsJSON()), withoutExemplars(await theirs.getMetricsAsJSON()));
          compared++;
        }
      }
    }),
    { numRuns: 200 },
  );
  t.ok(compared >= 200, `${compared} scrapes compared`);
});

t.test('a duration that is not a finite number is refused, as prom-client refuses it', async (t) => {
  const light = new LightHistogram({ name: 'h', help: 'h', labelNames: ['endpoint'], buckets: [1], registers: [new Registry()] });
  const reference = new Histogram({ name: 'h', help: 'h', labelNames: ['endpoint'], buckets: [1], registers: [new Registry()] });
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => reference.observe({ endpoint: 'mutate' }, bad), TypeError);
    t.throws(() => light.observe(['mutate'], bad), TypeError, `${bad} is refused`);
  }
});
