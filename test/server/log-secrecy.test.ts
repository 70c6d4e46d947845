/**
 * A secret-looking string sent inside objects and bodies never comes back in an HTTP error body and never
 * reaches the log at info level: logs are captured from a real server (pino, through a destination stream).
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import { parseConfig } from '../../src/config.ts';
import { startWebhookServer } from '../../src/server/webhook-server.ts';
import { admissionReview, fixtureResolver, manifest } from '../helpers/fixtures.ts';
import { httpsRequest, postJson, type HttpsResult } from '../helpers/https-client.ts';
import { scratchDir } from '../helpers/scratch-dir.ts';

const SECRET = 'sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0';

/** A server on loopback at info level whose log lines are kept in `lines`. */
async function serverLoggingTo(t: Test, options: Partial<Parameters<typeof startWebhookServer>[0]> = {}) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const bundle = writeServingBundle(scratchDir('epp-webhook-logs-'), { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  const server = await startWebhookServer({
    config: parseConfig({}),
    resolver: fixtureResolver(),
    certFile: bundle.certFile,
    keyFile: bundle.keyFile,
    host: '127.0.0.1',
    port: 0,
    metricsPort: undefined,
    logger: { level: 'info', stream },
    ...options,
  });
  t.teardown(() => server.close());
  return { lines, server, bundle };
}

t.test('no secret from a request in error bodies or info logs', async (t) => {
  const { lines, server, bundle } = await serverLoggingTo(t, { config: parseConfig({ maxRequestBytes: 16 * 1024 }) });
  const ca = readFileSync(bundle.caCertFile);
  const url = `https://127.0.0.1:${server.port}`;

  const withSecret = (mutate: (object: any) => void, uid: string) => {
    const object = manifest('guide-envoyfilter.yaml');
    mutate(object);
    return admissionReview(object, 'CREATE', uid);
  };
  const answers: { what: string; result: HttpsResult }[] = [];
  const send = async (what: string, path: string, body: unknown, headers?: Record<string, string>) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const result = headers ? await httpsRequest(`${url}${path}`, { ca, method: 'POST', body: text, headers }) : await postJson(`${url}${path}`, ca, text);
    answers.push({ what, result });
    return result;
  };

  // Admissions that succeed, are denied, or are malformed, with the secret inside the object.
  const allowed = await send('secret in an annotation and a patch value', '/mutate', withSecret((o) => {
    o.metadata.annotations = { token: SECRET };
    o.spec.configPatches[1].patch.value.secret = SECRET;
  }, 'uid-allowed'));
  t.equal(allowed.body.response.allowed, true);
  const denied = await send('secret in a processing mode', '/validate', withSecret((o) => {
    o.spec.configPatches[0].patch.value.typed_config.processing_mode = { request_body_mode: 'BUFFERED', note: SECRET };
  }, 'uid-denied'));
  t.equal(denied.body.response.allowed, false);
  const malformed = await send('secret where a list belongs', '/mutate', withSecret((o) => (o.spec.configPatches = { [SECRET]: SECRET }), 'uid-malformed'));
  t.equal(malformed.body.response.allowed, false);

  // HTTP errors, each carrying the secret somewhere in what was sent.
  const errors: [string, string, unknown, number, Record<string, string>?][] = [
    ['broken JSON', '/mutate', `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"${SECRET}`, 400],
    ['not an AdmissionReview', '/mutate', { apiVersion: SECRET, kind: 'AdmissionReview', request: { uid: SECRET } }, 400],
    ['a bad operation', '/validate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { kind: 'X', version: 'v1' }, operation: SECRET } }, 400],
    ['a bad kind', '/mutate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: SECRET, operation: 'CREATE' } }, 400],
    ['a __proto__ key', '/mutate', `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"__proto__":{"x":"${SECRET}"}}}`, 400],
    ['a body too large', '/mutate', withSecret((o) => (o.metadata.annotations = { filler: `${SECRET}${'x'.repeat(20_000)}` }), 'uid-big'), 413],
    ['not JSON', '/mutate', `token=${SECRET}`, 415, { 'content-type': 'text/plain' }],
    ['an unknown path', `/${SECRET}?token=${SECRET}`, { secret: SECRET }, 404],
    ['an unknown path with broken JSON', `/${SECRET}?token=${SECRET}`, '{', 400],
  ];
  for (const [what, path, body, status, headers] of errors) {
    const result = await send(what, path, body, headers);
    t.equal(result.status, status, `${what}: ${status}`);
    t.match(result.body, { reason: String }, `${what}: a reason is given`);
  }

  for (const { what, result } of answers) {
    if (result.status !== 200) t.notMatch(result.text, SECRET, `${what}: the error body does not quote the request`);
  }
  const log = lines.join('');
  t.ok(lines.length >= answers.length, `${lines.length} log lines captured`);
  t.match(log, /"msg":"admission"/, 'admissions are logged');
  t.match(log, /"uid":"uid-denied".*"verdict":"denied".*"codes":\[[^\]]*"EPP202"/, 'with uid, verdict and codes');
  t.match(log, /"msg":"bad request"/, 'bad requests are logged');
  t.notMatch(log, SECRET, 'the secret never reaches the log');
  const metrics = await server.metrics.registry.metrics();
  t.match(metrics, /epp_webhook_bad_requests_total\{endpoint="other",status="400"\} 1/, 'an unknown path is counted as other');
  t.match(metrics, /epp_webhook_bad_requests_total\{endpoint="other",status="404"\} 1/, 'its 404 too');
  t.match(log, /"endpoint":"other","status":404,"reason":"this server answers POST \/mutate[^"]*","msg":"bad request"/, 'and the 404 logged, without the path');
  t.notMatch(metrics, SECRET, 'nor the metrics: a path would be a new series with every request');
  t.equal(({} as any).x, undefined, 'no prototype pollution from the __proto__ body');
});

t.test('a failure inside the checks is logged with its class, message and stack, and none of what the error carries', async (t) => {
  const { lines, server, bundle } = await serverLoggingTo(t, {
    // A library's error may carry the document it failed on (fast-json-patch's JsonPatchError: the whole `tree`).
    admit: async () => {
      throw Object.assign(new RangeError('Maximum call stack size exceeded'), { tree: { token: SECRET } });
    },
  });
  const answer = await postJson(`https://127.0.0.1:${server.port}/mutate`, readFileSync(bundle.caCertFile), admissionReview(manifest('guide-envoyfilter.yaml'), 'CREATE', 'uid-broken'));
  t.match(answer.body.response, { allowed: false, status: { code: 500, message: /\(RangeError\).*uid-broken/ } });
  const failed = lines.map((line) => JSON.parse(line)).find((line) => line.msg === 'admission failed');
  t.match(failed, { uid: 'uid-broken', err: { type: 'RangeError', message: 'Maximum call stack size exceeded', stack: /^RangeError: Maximum call stack/ } }, 'type RangeError (it was "Object")');
  t.notMatch(lines.join(''), SECRET, 'nothing the error carries');
});
