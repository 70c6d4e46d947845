/**
 * The child of bench/shell-instructions.ts, run under valgrind: one piece of the per-request work outside the core,
 * N times, nothing else timed or printed.
 *   node --single-threaded bench/instructions/count-shell-piece.ts PIECE N
 */
import Fastify from 'fastify';
import { Histogram, Registry } from 'prom-client';
import { parseAdmissionReview } from '../../src/admission/admission-review.ts';
import { admissionResponseJson } from '../../src/admission/admission-response.ts';
import { admitRequest } from '../../src/admission/admit-request.ts';
import { loadServicesFile } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { admissionLine, admissionLogFields } from '../../src/server/admission-log.ts';
import { createMetrics, LATENCY_BUCKETS } from '../../src/server/metrics.ts';
import { benchCases } from '../http/cases.ts';

const [piece, count] = [process.argv[2], Number(process.argv[3])];

let written = 0;
// Fastify's own pino, as the server has it. The log stream only measures what it is given: the piece is pino's
// work, not the file system's.
const logger = Fastify({ logger: { level: 'info', stream: { write: (line: string) => void (written += line.length) } } }).log;
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
    case 'answer-template':
      written += admissionResponseJson(uid, verdict).length;
      break;
    default:
      throw new Error(`unknown piece ${piece} (bench/shell-instructions.ts lists them)`);
  }
}
if (written < 0) process.stdout.write('unreachable\n');
