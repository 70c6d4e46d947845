/**
 * The core alone, without HTTP or TLS: µs per admitRequest for each bench case, best of several batches (the
 * minimum is the figure least disturbed by other work on a shared machine). For before/after comparisons of
 * hot-path changes:   node bench/core-microbench.ts [--batches=N] [--per-batch=N]
 */
import { parseArgs } from 'node:util';
import { parseAdmissionReview } from '../src/admission/admission-review.ts';
import { admissionResponse } from '../src/admission/admission-response.ts';
import { admitRequest } from '../src/admission/admit-request.ts';
import { loadServicesFile } from '../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../src/config.ts';
import { benchCases } from './http/cases.ts';
import { loadAverage, table } from './lib/report.ts';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '15' }, 'per-batch': { type: 'string', default: '2000' } } });
const batches = Number(values.batches);
const perBatch = Number(values['per-batch']);
const resolver = loadServicesFile(new URL('../test/fixtures/manifests/services.yaml', import.meta.url).pathname);
const deps = { config: DEFAULT_CONFIG, resolver };

const rows: string[][] = [];
for (const benchCase of benchCases()) {
  if (benchCase.server === 'floor') continue;
  const endpoint = benchCase.path === '/mutate' ? 'mutate' : 'validate';
  const body = benchCase.body;
  const timings: number[] = [];
  const parseTimings: number[] = [];
  for (let b = 0; b < batches; b++) {
    // The parsed body is what the route gets; parsing (the floor pays it too) is timed apart.
    let started = process.hrtime.bigint();
    const reviews = Array.from({ length: perBatch }, () => JSON.parse(body));
    parseTimings.push(Number(process.hrtime.bigint() - started) / 1e3 / perBatch);
    started = process.hrtime.bigint();
    for (const review of reviews) {
      const parsed = parseAdmissionReview(review);
      if (!parsed.ok) throw new Error(parsed.reason);
      const admission = await admitRequest(endpoint, parsed.request, deps);
      JSON.stringify(admissionResponse(parsed.request.uid, admission.verdict));
    }
    timings.push(Number(process.hrtime.bigint() - started) / 1e3 / perBatch);
  }
  const sorted = [...timings].sort((a, b) => a - b);
  rows.push([benchCase.id, sorted[0].toFixed(1), sorted[Math.floor(sorted.length / 2)].toFixed(1), Math.min(...parseTimings).toFixed(1)]);
}
process.stdout.write(`core per admission (parse → admitRequest → response JSON), ${batches} batches of ${perBatch}; load ${loadAverage()}\n\n`);
process.stdout.write(`${table(['case', 'best µs', 'median µs', 'JSON.parse of the body µs (best)'], rows)}\n`);
