/**
 * The child of bench/core-instructions.ts, run under valgrind: N admissions of one bench case through a tree's core
 * (parse-checked review → admitRequest → the answer's JSON), nothing else timed or printed.
 *   node --single-threaded bench/instructions/count-admissions.ts TREE CASE N
 * The bodies are parsed before the loop (200 copies, reused), so the count is the core's and not JSON.parse's. Reused,
 * they make a cache keyed by objects (src/read-once.ts) look free: the server parses every body afresh and makes each
 * reading once per admission. To count such a change, give each admission its own copy (structuredClone, about 880k
 * instructions more in both trees; docs/performance.md, round 35).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadServicesFile } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { benchCases } from '../http/cases.ts';
import { answerJsonOf } from '../lib/answer-json.ts';

const [tree, caseId, count, parses] = process.argv.slice(2);
if (!(Number(parses) >= Number(count))) throw new Error('PARSES must be at least N');
const load = (path: string) => import(pathToFileURL(resolve(tree, path)).href);
const [review, admit, response] = await Promise.all([load('src/admission/admission-review.ts'), load('src/admission/admit-request.ts'), load('src/admission/admission-response.ts')]);
const benchCase = benchCases().find((c) => c.id === caseId);
if (benchCase === undefined || benchCase.server !== 'webhook') throw new Error(`unknown case ${caseId}`);
const deps = { config: DEFAULT_CONFIG, resolver: loadServicesFile(new URL('../../test/fixtures/manifests/services.yaml', import.meta.url).pathname) };
const endpoint = benchCase.path === '/mutate' ? 'mutate' : 'validate';
const answerJson = answerJsonOf(response);
for (let i = 0; i < Number(parses); i++) {
  const body = JSON.parse(benchCase.body);
  if (i >= Number(count)) continue;
  const parsed = review.parseAdmissionReview(body);
  if (!parsed.ok) throw new Error(parsed.reason);
  const admission = await admit.admitRequest(endpoint, parsed.request, deps);
  answerJson(parsed.request.uid, admission.verdict);
}
