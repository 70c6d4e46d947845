/**
 * The child of bench/shell-instructions.ts, run under valgrind: one piece of the per-request work outside the core,
 * N times, nothing else timed or printed.
 *   node --single-threaded bench/instructions/count-shell-piece.ts PIECE N
 */
import Fastify from 'fastify';
import { Histogram, Registry } from 'prom-client';
import { parseAdmissionReview } from '../../src/admission/admission-review.ts';
import { admissionResponse, admissionResponseJson } from '../../src/admission/admission-response.ts';
import { admitRequest } from '../../src/admission/admit-request.ts';
import { loadServicesFile } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { admissionLine, admissionLogFields } from '../../src/server/admission-log.ts';
import { createMetrics, LATENCY_BUCKETS } from '../../src/server/metrics.ts';
import { benchCases } from '../http/cases.ts';

const [piece, count] = [process.argv[2], Number(process.argv[3])];

let written = 0;
// Fastify's own pino and answer serialiser, as the server has them. The log stream only measures what it is given:
// the piece is pino's work, not the file system's.
const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => void (written += line.length) } } });
/** The 200 schema the server gave Fastify for its answers before round 11 (admissionResponseJson replaced it). */
const ADMISSION_REVIEW_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'response'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    response: {
      type: 'object',
      required: ['uid', 'allowed'],
      properties: {
        uid: { type: 'string' },
        allowed: { type: 'boolean' },
        status: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'integer' }, message: { type: 'string' } } },
        warnings: { type: 'array', items: { type: 'string' } },
        patchType: { type: 'string' },
        patch: { type: 'string', format: 'unsafe' },
      },
    },
  },
} as const;
let stringify: (answer: object) => string = () => '';
app.post('/', { schema: { response: { 200: ADMISSION_REVIEW_RESPONSE_SCHEMA } } }, async (_request, reply) => {
  stringify = reply.getSerializationFunction('200') as typeof stringify;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed: true } };
});
await app.inject({ method: 'POST', url: '/', payload: {} });
const logger = app.log;
const resolver = loadServicesFile(new URL('../../test/fixtures/manifests/services.yaml', import.meta.url).pathname);
const metrics = createMetrics({ resolver });
const counter = (metrics.registry.getSingleMetric('epp_webhook_admission_requests_total') as unknown as { inc(labels: object, n: number): void });
const gauge = (metrics.registry.getSingleMetric('epp_webhook_admission_in_flight') as unknown as { inc(labels: object): void; dec(labels: object): void });
// The duration histogram as prom-client's own Histogram, with the server's buckets, as the server had it before round 11.
const promHistogram = new Histogram({ name: 'duration', help: 'h', labelNames: ['endpoint', 'kind'], buckets: LATENCY_BUCKETS, registers: [new Registry()] });
// The HTTPRoute case's real answer: 8 injected filters as a base64 patch, and the EPP402 warning.
const httpRoute = benchCases().find((c) => c.id === 'mutate-httproute')!;
const review = parseAdmissionReview(JSON.parse(httpRoute.body));
if (!review.ok) throw new Error(review.reason);
const { verdict } = await admitRequest('mutate', review.request, { config: DEFAULT_CONFIG, resolver });

const answer = admissionResponse(review.request.uid, verdict);
for (let i = 0; i < count; i++) {
  const uid = `705ab4f5-6393-11e8-b7cc-${String(i).padStart(12, '0')}`;
  switch (piece) {
    case 'loop':
      written += uid.length;
      break;
    case 'admission-line':
      written += admissionLine(admissionLogFields('mutate', { ...review.request, uid }, verdict, 'allowed', 0.000412)).length;
      break;
    case 'admission-line-pino':
      logger.info(admissionLogFields('mutate', { ...review.request, uid }, verdict, 'allowed', 0.000412), 'admission');
      break;
    case 'child-logger':
      // What Fastify made for every request before the server's childLoggerFactory.
      written += logger.child({ reqId: `req-${i}` }, {}).level.length;
      break;
    case 'counter-inc':
      counter.inc({ endpoint: 'mutate', kind: 'HTTPRoute', operation: 'CREATE', verdict: 'allowed' }, 1);
      break;
    case 'gauge-inc-dec':
      gauge.inc({ endpoint: 'mutate' });
      gauge.dec({ endpoint: 'mutate' });
      break;
    case 'histogram-observe':
      promHistogram.observe({ endpoint: 'mutate', kind: 'HTTPRoute' }, 0.000412);
      break;
    case 'light-histogram-observe':
      metrics.duration.observe(['mutate', 'HTTPRoute'], 0.000412);
      break;
    case 'pending-counts-add':
      metrics.requests.add(['mutate', 'HTTPRoute', 'CREATE', 'allowed']);
      break;
    case 'pending-gauge-add':
      metrics.inFlight.add(['mutate']);
      metrics.inFlight.add(['mutate'], -1);
      break;
    case 'answer-object':
      written += (admissionResponse(uid, verdict) as { kind: string }).kind.length;
      break;
    case 'answer-json':
      written += stringify(answer).length;
      break;
    case 'answer-template':
      written += admissionResponseJson(uid, verdict).length;
      break;
    case 'answer-object-json':
      written += stringify(admissionResponse(uid, verdict)).length;
      break;
    case 'answer-json-stringify':
      written += JSON.stringify(answer).length;
      break;
    default:
      throw new Error(`unknown piece ${piece} (bench/shell-instructions.ts lists them)`);
  }
}
if (written < 0) process.stdout.write('unreachable\n');
