import t from 'tap';
import { connect } from 'node:tls';
import { request as httpRequest } from 'node:http';
import jsonpatch from 'fast-json-patch';
import { parseConfig } from '../../src/config.ts';
import { admissionReview, EPP_CLUSTER_IP, manifest } from '../helpers/fixtures.ts';
import { httpsRequest, postJson } from '../helpers/https-client.ts';
import { startWebhookUnderTest, type WebhookUnderTest } from '../helpers/webhook-under-test.ts';
import type { ServiceResolver } from '../../src/cluster/service-resolver.ts';

let webhook: WebhookUnderTest;
t.before(async () => {
  webhook = await startWebhookUnderTest({ config: parseConfig({ maxRequestBytes: 64 * 1024 }) });
});
t.teardown(() => webhook.server.close());

const post = (path: string, body: unknown) => postJson(`${webhook.url}${path}`, webhook.ca, body);
const decodePatch = (response: any) => JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));

function metricsText(): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest(`http://127.0.0.1:${webhook.server.metricsPort}/metrics`, (res) => {
      let text = '';
      res.on('data', (c) => (text += c)).on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}

t.test("/mutate: the guide's EnvoyFilter comes back with a JSONPatch that substitutes the ClusterIP", async (t) => {
  const object = manifest('guide-envoyfilter.yaml');
  const review = admissionReview(object, 'CREATE', 'uid-guide-1');
  const { status, body, contentType } = await post('/mutate', review);
  t.equal(status, 200);
  t.equal(contentType, 'application/json; charset=utf-8', 'the apiserver reads an answer only as JSON');
  t.equal(body.apiVersion, 'admission.k8s.io/v1');
  t.equal(body.kind, 'AdmissionReview');
  t.equal(body.response.uid, 'uid-guide-1');
  t.equal(body.response.allowed, true);
  t.equal(body.response.patchType, 'JSONPatch');
  const stored = jsonpatch.applyPatch(structuredClone(object), decodePatch(body.response)).newDocument as any;
  t.equal(stored.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, EPP_CLUSTER_IP);
  t.equal(stored.metadata.annotations['epp-webhook.io/resolved-cluster-ip'], EPP_CLUSTER_IP);
  t.equal(stored.metadata.annotations['epp-webhook.io/resolved-service'], 'llm-d-inference-scheduler/gaie-inference-scheduling-epp');

  const again = await post('/mutate', admissionReview(stored, 'UPDATE'));
  t.equal(again.body.response.allowed, true);
  t.notOk(again.body.response.patch, 'resubmitting the stored object needs no patch');

  const validated = await post('/validate', admissionReview(stored, 'CREATE'));
  t.equal(validated.body.response.allowed, true);
  t.match(validated.body.response.warnings.join('\n'), /\[EPP304\] configPatches\[0\] REPLACE on subFilter envoy.filters.http.ext_proc/);
  t.notOk(validated.body.response.patch, 'validate never patches');
});

t.test('/validate: a wild EnvoyFilter is denied with every code and fix in the message', async (t) => {
  const { body, contentType } = await post('/validate', admissionReview(manifest('wild/operator-sample-envoyfilter-epp.yaml')));
  t.equal(contentType, 'application/json; charset=utf-8');
  t.equal(body.response.allowed, false);
  t.equal(body.response.status.code, 403);
  const message: string = body.response.status.message;
  t.match(message, /^EnvoyFilter llm-d-inference-scheduler\/epp-ext-proc: 2 problems that would break the gateway\n/);
  t.match(message, /\[EPP201\] configPatches\[0\] ext_proc response_body_mode "SKIP"/);
  t.match(message, /\n\[EPP202\] configPatches\[0\] ext_proc request_body_mode BUFFERED[^\n]*\n\[EPP202\] Fix: set request_body_mode: FULL_DUPLEX_STREAMED/, 'the problem, then its fix on the next line');
  t.match(body.response.warnings.join('\n'), /EPP306/);
  const epp306 = body.response.warnings.filter((w: string) => w.startsWith('[EPP306]'));
  t.equal(epp306.length, 2, 'a warning is two lines for kubectl: the problem, then the fix');
  t.match(epp306[1], /^\[EPP306\] Fix: add transport_socket/);
});

t.test('/mutate: an HTTPRoute to an InferencePool gets the filter; one without is untouched', async (t) => {
  const route = manifest('guide-httproute.yaml');
  const { body } = await post('/mutate', admissionReview(route));
  const stored = jsonpatch.applyPatch(structuredClone(route), decodePatch(body.response)).newDocument as any;
  t.same(stored.spec.rules[0].filters.at(-1), { type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'epp-ext-proc' } });
  t.same(stored.spec.rules[1], route.spec.rules[1]);
  t.match(body.response.warnings, [/EPP402/]);
  const plain = await post('/mutate', admissionReview(manifest('wild/operator-httproute-ab.yaml')));
  t.same(plain.body.response, { uid: plain.body.response.uid, allowed: true });
});

t.test('a missing Service is a denial naming it, and the token is not let through', async (t) => {
  const object = manifest('guide-envoyfilter.yaml');
  object.metadata.namespace = 'tenant-x';
  const { body } = await post('/mutate', admissionReview(object));
  t.equal(body.response.allowed, false);
  t.notOk(body.response.patch);
  t.match(body.response.status.message, /\[EPP101\].*Service tenant-x\/gaie-inference-scheduling-epp .*not found/);
});

t.test('a resolver not yet synced denies with 503 and says it is temporary', async (t) => {
  const unsynced: ServiceResolver = { source: 'the Service cache', lookup: () => ({ kind: 'unavailable', reason: 'first list not finished' }), ready: () => false, size: () => 0 };
  const cold = await startWebhookUnderTest({ resolver: unsynced });
  t.teardown(() => cold.server.close());
  const ready = await httpsRequest(`${cold.url}/readyz`, { ca: cold.ca });
  t.equal(ready.status, 503);
  t.match(ready.body.reason, /has not synced yet/);
  const { body } = await postJson(`${cold.url}/mutate`, cold.ca, admissionReview(manifest('guide-envoyfilter.yaml')));
  t.equal(body.response.allowed, false);
  t.equal(body.response.status.code, 503);
  t.match(body.response.status.message, /^EnvoyFilter llm-d-inference-scheduler\/epp-ext-proc-poc: cannot be admitted right now \(temporary; retry\)\n\[EPP104\]/);
  const health = await httpsRequest(`${cold.url}/healthz`, { ca: cold.ca });
  t.equal(health.status, 200, 'alive while not ready');
  for (const path of ['/healthz', '/readyz']) {
    const plain = await fetch(`http://127.0.0.1:${cold.server.metricsPort}${path}`);
    const onHttps = await httpsRequest(`${cold.url}${path}`, { ca: cold.ca });
    t.same({ status: plain.status, body: await plain.json() }, { status: onHttps.status, body: onHttps.body }, `${path}: the same answer on the metrics port`);
  }
});

t.test('other kinds, DELETE and CONNECT pass untouched', async (t) => {
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { a: 'EPP_SERVICE_CLUSTER_IP' } };
  for (const [object, operation] of [[configMap, 'CREATE'], [manifest('guide-envoyfilter.yaml'), 'DELETE'], [manifest('guide-envoyfilter.yaml'), 'CONNECT']] as const) {
    for (const path of ['/mutate', '/validate']) {
      const { status, body } = await post(path, admissionReview(object as any, operation));
      t.equal(status, 200);
      t.same(body.response, { uid: body.response.uid, allowed: true }, `${object.kind} ${operation} ${path}`);
    }
  }
});

t.test('an object being deleted can lose its finalizers, whatever the rules say of it; a change to what it holds is still judged', async (t) => {
  // `kubectl delete --cascade=foreground` (Argo CD's default prune) stamps deletionTimestamp and the foregroundDeletion
  // finalizer; the garbage collector then removes the finalizer with a PATCH, which reaches the webhooks as an UPDATE.
  // Denied, the object stays Terminating for good: here an EnvoyFilter stored before the webhook was installed, whose
  // config the rules deny, and an HTTPRoute without the filter the webhook would inject.
  for (const [name, endpoint] of [['wild/operator-sample-envoyfilter-epp.yaml', '/validate'], ['guide-httproute.yaml', '/mutate']] as const) {
    const stored = manifest(name);
    stored.metadata.deletionTimestamp = '2026-12-03T10:00:00Z';
    stored.metadata.finalizers = ['foregroundDeletion'];
    const withoutFinalizer = structuredClone(stored);
    delete withoutFinalizer.metadata.finalizers;
    const review = admissionReview(withoutFinalizer, 'UPDATE');
    review.request.oldObject = stored;
    for (const path of ['/mutate', '/validate']) {
      const { status, body } = await post(path, review);
      t.equal(status, 200);
      t.same(body.response, { uid: body.response.uid, allowed: true }, `${name} ${path}: allowed as it is, no patch`);
    }
    // The stored object being deleted does not make a new config safe: a change to the spec is judged as ever.
    const changed = structuredClone(withoutFinalizer);
    changed.spec.changedWhileTerminating = true;
    const judged = await post(endpoint, { ...review, request: { ...review.request, object: changed } });
    t.ok(judged.body.response.patch !== undefined || judged.body.response.allowed === false, `${name} ${endpoint}: a changed spec is judged`);
  }
});

t.test('a finalizer removed from a terminating object nested 4,000 levels deep is allowed, not failed with a stack overflow', async (t) => {
  // Deeper than the rules walk (256 levels), but the unchanged spec is compared, not judged: comparing it recursively
  // overflowed the stack, and the object was denied with code 500 ("This is a bug") and stayed Terminating.
  const deep = '{"a":'.repeat(4000) + '1' + '}'.repeat(4000);
  const stored = manifest('guide-envoyfilter.yaml');
  stored.spec = 'DEEP';
  stored.metadata.deletionTimestamp = '2026-12-03T10:00:00Z';
  stored.metadata.finalizers = ['foregroundDeletion'];
  const withoutFinalizer = structuredClone(stored);
  delete withoutFinalizer.metadata.finalizers;
  const review = admissionReview(withoutFinalizer, 'UPDATE', 'uid-deep-finalizer');
  review.request.oldObject = stored;
  const body = JSON.stringify(review).replaceAll('"DEEP"', deep);
  for (const path of ['/mutate', '/validate']) {
    const { status, body: answer } = await post(path, body);
    t.equal(status, 200);
    t.same(answer.response, { uid: 'uid-deep-finalizer', allowed: true }, `${path}: allowed as it is, no patch`);
  }
  // A change to such a spec is judged, and the depth limit denies it.
  const changed = await post('/validate', body.replace(`"spec":${deep}`, `"spec":${deep.replace('1', '2')}`));
  t.equal(changed.body.response.allowed, false);
  t.match(changed.body.response.status.message, /EPP307.*nests more than 256 levels deep/);
});

t.test('bad input: 4xx with a reason that does not echo the body', async (t) => {
  const cases: [string | object, number, RegExp][] = [
    ['{"apiVersion": "admission.k8s.io/v1", "secret-value', 400, /not valid JSON/],
    ['[1,2]', 400, /must be a JSON object/],
    [{ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }, 400, /admissionReviewVersions: \[v1\]/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 400, /no request object/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { kind: 'X', version: 'v1' }, operation: 'CREATE' } }, 400, /uid/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: 'EnvoyFilter', operation: 'CREATE' } }, 400, /request\.kind/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { kind: 'X', version: 'v1' }, operation: 'PATCH' } }, 400, /operation/],
    ['{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"__proto__":{"polluted":1}}}', 400, /__proto__/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: 'networking.istio.io', kind: 'EnvoyFilter', version: 'v1alpha3' }, operation: 'CREATE' } }, 400, /^request\.object must be the object being admitted \(a JSON object\) on CREATE but is missing$/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { kind: 'X', version: 'v1' }, operation: 'UPDATE', object: [] } }, 400, /on UPDATE but is a list$/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { kind: 'Secret', version: 'v1' }, operation: 'CREATE', object: 'secret-value: hunter2' } }, 400, /on CREATE but is a string$/],
    ['', 400, /empty/],
  ];
  for (const [body, status, reason] of cases) {
    const result = await post('/mutate', body);
    t.equal(result.status, status, String(reason));
    t.match(result.body?.reason, reason);
    t.notMatch(result.text, /secret-value/);
  }
  t.equal(({} as any).polluted, undefined, 'no prototype pollution');

  const big = admissionReview(manifest('guide-envoyfilter.yaml'));
  (big.request.object as any).metadata.annotations = { filler: 'x'.repeat(70 * 1024) };
  const tooLarge = await post('/mutate', big);
  t.equal(tooLarge.status, 413);
  t.match(tooLarge.body.reason, /larger than 65536 bytes/);

  const wrongType = await httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body: 'a=b', headers: { 'content-type': 'text/plain' } });
  t.equal(wrongType.status, 415);
  t.equal(wrongType.body.error, 'Unsupported Media Type');
  t.match(wrongType.body.reason, /application\/json/);
});

t.test('a malformed EnvoyFilter is denied, not a 500', async (t) => {
  const review = admissionReview(manifest('guide-envoyfilter.yaml'));
  (review.request.object as any).spec.configPatches = { not: 'a list' };
  for (const path of ['/mutate', '/validate']) {
    const { status, body } = await post(path, review);
    t.equal(status, 200);
    t.equal(body.response.allowed, false);
    t.match(body.response.status.message, /\[EPP307\] spec spec\.configPatches must be a list but is an object/);
  }
  (review.request.object as any).spec = null;
  const { body } = await post('/validate', review);
  t.match(body.response.status.message, /^EnvoyFilter [^\n]+\n\[EPP307\] object spec must be an object but is null$/m, 'the spec named once');
});

t.test('metrics count admissions, findings and substitutions', async (t) => {
  const text = await metricsText();
  t.match(text, /epp_webhook_admission_requests_total\{endpoint="mutate",kind="EnvoyFilter",operation="CREATE",verdict="allowed"\} [1-9]/);
  t.match(text, /epp_webhook_admission_requests_total\{endpoint="validate",kind="EnvoyFilter",operation="CREATE",verdict="denied"\} [1-9]/);
  t.match(text, /epp_webhook_findings_total\{code="EPP201",severity="deny"\} [1-9]/);
  t.match(text, /epp_webhook_substitutions_total [1-9]/);
  t.match(text, /epp_webhook_admission_duration_seconds_bucket\{le="0.00025",endpoint="mutate",kind="EnvoyFilter"\}/);
  t.match(text, /epp_webhook_tls_certificate_expiry_timestamp_seconds \d{10}/);
  t.match(text, /epp_webhook_service_cache_synced 1/);
  t.match(text, /epp_webhook_bad_requests_total\{endpoint="mutate",status="413"\} 1/, 'labelled mutate, as the other metrics');
});

t.test('TLS below 1.2 is refused', async (t) => {
  const error = await new Promise<Error | undefined>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: webhook.server.port, ca: webhook.ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
    socket.once('secureConnect', () => (socket.destroy(), resolve(undefined)));
    socket.once('error', resolve);
  });
  t.ok(error, 'handshake failed');
});
