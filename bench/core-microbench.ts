/**
 * The core alone, without HTTP or TLS: µs per admission (parse-checked AdmissionReview → admitRequest → the answer's
 * JSON) for each bench case, best and median of several batches, in wall time and in this process's CPU time (the
 * CPU figure is what a machine shared with other work disturbs least: time spent waiting for a core is not in it).
 *   node bench/core-microbench.ts [--batches=N] [--per-batch=N] [--before=DIR]
 * With --before, the core of another tree (DIR, a checkout of the code before a change) runs in this same process,
 * batch for batch alternating with this tree's: a before/after comparison made in the same seconds.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadServicesFile } from '../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../src/config.ts';
import { benchCases } from './http/cases.ts';
import { answerJsonOf } from './lib/answer-json.ts';
import { loadAverage, table } from './lib/report.ts';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '15' }, 'per-batch': { type: 'string', default: '2000' }, before: { type: 'string' } } });
const batches = Number(values.batches);
const perBatch = Number(values['per-batch']);
const resolver = loadServicesFile(new URL('../test/fixtures/manifests/services.yaml', import.meta.url).pathname);
const deps = { config: DEFAULT_CONFIG, resolver };

interface Core {
  name: string;
  parseAdmissionReview(body: unknown): { ok: true; request: { uid: string } } | { ok: false; reason: string };
  admitRequest(endpoint: 'mutate' | 'validate', request: unknown, deps: unknown): Promise<{ verdict: unknown }>;
  /** The answer's JSON as the tree's server writes it. */
  answerJson(uid: string, verdict: unknown): string;
}

async function loadCore(name: string, root: string): Promise<Core> {
  const load = (path: string) => import(pathToFileURL(resolve(root, path)).href);
  const [review, admit, response] = await Promise.all([load('src/admission/admission-review.ts'), load('src/admission/admit-request.ts'), load('src/admission/admission-response.ts')]);
  return { name, parseAdmissionReview: review.parseAdmissionReview, admitRequest: admit.admitRequest, answerJson: answerJsonOf(response) };
}

const cores = [await loadCore('this tree', new URL('..', import.meta.url).pathname)];
if (values.before !== undefined) cores.unshift(await loadCore('before', values.before));

interface Timing {
  wall: number[];
  cpu: number[];
}

async function batch(core: Core, endpoint: 'mutate' | 'validate', body: string, into: Timing, parseTimings: number[]): Promise<void> {
  // The parsed body is what the route gets; parsing (the floor pays it too) is timed apart.
  let started = process.hrtime.bigint();
  const reviews = Array.from({ length: perBatch }, () => JSON.parse(body));
  parseTimings.push(Number(process.hrtime.bigint() - started) / 1e3 / perBatch);
  const cpuBefore = process.cpuUsage();
  started = process.hrtime.bigint();
  for (const review of reviews) {
    const parsed = core.parseAdmissionReview(review);
    if (!parsed.ok) throw new Error(parsed.reason);
    const admission = await core.admitRequest(endpoint, parsed.request, deps);
    core.answerJson(parsed.request.uid, admission.verdict);
  }
  into.wall.push(Number(process.hrtime.bigint() - started) / 1e3 / perBatch);
  const cpu = process.cpuUsage(cpuBefore);
  into.cpu.push((cpu.user + cpu.system) / perBatch);
}

const best = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: string[][] = [];
for (const benchCase of benchCases()) {
  if (benchCase.server !== 'webhook') continue;
  const endpoint = benchCase.path === '/mutate' ? 'mutate' : 'validate';
  const timings = cores.map((): Timing => ({ wall: [], cpu: [] }));
  const parseTimings: number[] = [];
  for (let b = 0; b < batches; b++) {
    // Alternate which tree goes first, so neither always runs right after the garbage of the other.
    const order = b % 2 === 0 ? cores.map((_, i) => i) : cores.map((_, i) => cores.length - 1 - i);
    for (const i of order) await batch(cores[i], endpoint, benchCase.body, timings[i], parseTimings);
  }
  cores.forEach((core, i) => {
    const t = timings[i];
    const change = i > 0 ? `${(((median(t.cpu) - median(timings[0].cpu)) / median(timings[0].cpu)) * 100).toFixed(1)}%` : '';
    rows.push([
      benchCase.id,
      ...(cores.length > 1 ? [core.name] : []),
      best(t.wall).toFixed(1),
      median(t.wall).toFixed(1),
      best(t.cpu).toFixed(1),
      median(t.cpu).toFixed(1),
      ...(cores.length > 1 ? [change] : []),
      best(parseTimings).toFixed(1),
    ]);
  });
}
process.stdout.write(`core per admission (parse-checked review → admitRequest → response JSON), ${batches} batches of ${perBatch}${cores.length > 1 ? `, the trees alternating batch by batch (before = ${values.before})` : ''}; load ${loadAverage()}\n\n`);
const header = cores.length > 1
  ? ['case', 'tree', 'best µs', 'median µs', 'best CPU µs', 'median CPU µs', 'CPU median vs before', 'JSON.parse of the body µs (best)']
  : ['case', 'best µs', 'median µs', 'best CPU µs', 'median CPU µs', 'JSON.parse of the body µs (best)'];
process.stdout.write(`${table(header, rows)}\n`);
