/**
 * One HTTPS server in its own process, so the load generator and the server never share an event loop.
 *   node bench/http/server-child.ts floor|webhook|ceiling CERT_DIR [LOG_LEVEL] [SERVICES_FILE]
 * Reports `{port}` over IPC once listening; answers `cpu` with process.cpuUsage() and the floor's request count;
 * exits cleanly on `stop` (so `--cpu-prof` can write its profile). The floor answers POST /floor, and /mutate and
 * /validate too, so it can be registered with the apiserver as the cheapest possible webhook; told `{type: 'patch',
 * patch}` its /mutate answers carry that canned base64 JSONPatch (the same change the webhook makes), `patch: null`
 * stops that. Told `{type: 'work', us}`, each floor answer first keeps the thread busy for that many microseconds
 * (bench/work-budget.ts: how much work on top of the floor the target leaves room for). The ceiling is the webhook with the core's answer computed once per endpoint and object and reused: the same app,
 * TLS, parser, review check, metrics, log line and response (patch included), only the core's work taken away.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import secureJson from 'secure-json-parse';
import { servingBundlePaths } from '../../src/certs/serving-bundle.ts';
import { loadServicesFile } from '../../src/cluster/static-resolver.ts';
import { admitRequest, type Admission } from '../../src/admission/admit-request.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { servingTlsOptions } from '../../src/server/tls-options.ts';
import { serverLogOptions } from '../../src/server/log-options.ts';
import { startWebhookServer } from '../../src/server/webhook-server.ts';

const [kind, certDir, logLevel = 'info', servicesFile] = process.argv.slice(2);
const SERVICES = servicesFile ?? new URL('../../test/fixtures/manifests/services.yaml', import.meta.url).pathname;
const paths = servingBundlePaths(certDir);

let floorRequests = 0;
let cannedPatch: string | null = null;
let workNs = 0n;

/** Busy work, on the clock: the thread does nothing else for `ns` nanoseconds, as a request's own computation would. */
function busyFor(ns: bigint): void {
  const end = process.hrtime.bigint() + ns;
  while (process.hrtime.bigint() < end);
}

async function startFloor(): Promise<{ port: number; close(): Promise<void>; admissionSeconds(): Promise<number> }> {
  // Same Fastify, same TLS settings and certificate, same body parser (a string, then secure-json-parse with the
  // same options) as src/server/app.ts; the handler answers a canned allow, reading only the uid.
  const app = Fastify({
    https: servingTlsOptions({ cert: readFileSync(paths.certFile), key: readFileSync(paths.keyFile) }),
    logger: false,
    bodyLimit: DEFAULT_CONFIG.maxRequestBytes,
    return503OnClosing: false,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, secureJson.parse(body as string, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (error) {
      done(Object.assign(error as Error, { statusCode: 400 }), undefined);
    }
  });
  const canned = async (request: { body: unknown; url: string }) => {
    floorRequests++;
    if (workNs > 0n) busyFor(workNs);
    const review = request.body as { request?: { uid?: string } };
    const patch = cannedPatch !== null && request.url.startsWith('/mutate') ? { patchType: 'JSONPatch', patch: cannedPatch } : {};
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request?.uid, allowed: true, ...patch } };
  };
  for (const path of ['/floor', '/mutate', '/validate']) app.post(path, canned);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close(), admissionSeconds: async () => 0 };
}

/** The first answer for each endpoint and object, reused for every later request (the bench repeats one body per case). */
function admitOncePerObject(): typeof admitRequest {
  const answers = new Map<string, Promise<Admission>>();
  return (endpoint, request, deps) => {
    const key = `${endpoint} ${request.kind.kind} ${request.namespace}/${request.name}`;
    let answer = answers.get(key);
    if (answer === undefined) answers.set(key, (answer = admitRequest(endpoint, request, deps)));
    return answer;
  };
}

async function startWebhook(admit?: typeof admitRequest): Promise<{ port: number; close(): Promise<void>; admissionSeconds(): Promise<number> }> {
  // As `epp-webhook serve` runs it: info logging (one line per admission; stdout is /dev/null here), metrics listener on.
  const server = await startWebhookServer({
    config: DEFAULT_CONFIG,
    resolver: loadServicesFile(SERVICES),
    certFile: paths.certFile,
    keyFile: paths.keyFile,
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    logger: logLevel === 'off' ? false : serverLogOptions(logLevel),
    admit,
  });
  // What the webhook itself reports: its epp_webhook_admission_duration_seconds, summed over endpoints and kinds.
  const admissionSeconds = async () => {
    const exposed = await server.metrics.duration.get();
    return exposed.values.filter((v) => v.metricName.endsWith('_sum')).reduce((total, v) => total + v.value, 0);
  };
  return { port: server.port, close: () => server.close(), admissionSeconds };
}

const server = kind === 'floor' ? await startFloor() : await startWebhook(kind === 'ceiling' ? admitOncePerObject() : undefined);
process.send!({ port: server.port });
process.on('message', (message: { type: string; patch?: string | null; us?: number }) => {
  if (message.type === 'patch') {
    cannedPatch = message.patch ?? null;
    process.send!({ type: 'patch-set' });
  }
  if (message.type === 'work') {
    workNs = BigInt(Math.round((message.us ?? 0) * 1000));
    process.send!({ type: 'work-set' });
  }
  if (message.type === 'cpu') {
    const usage = process.cpuUsage();
    void server.admissionSeconds().then((admissionSeconds) =>
      process.send!({ type: 'cpu', usage, memory: process.memoryUsage(), floorRequests, admissionSeconds }),
    );
  }
  if (message.type === 'stop') void server.close().finally(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
