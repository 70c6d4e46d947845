/**
 * The admission deadline (config admissionTimeoutMs): a Service lookup slower than it is denied as temporary
 * (EPP104, 503) while the apiserver is still waiting, instead of running into the apiserver's own timeout.
 */
import t from 'tap';
import { parseConfig, DEFAULT_CONFIG, ConfigError } from '../../src/config.ts';
import type { ServiceLookup, ServiceResolver } from '../../src/cluster/service-resolver.ts';
import { admissionReview, EPP_CLUSTER_IP, fixtureResolver, manifest } from '../helpers/fixtures.ts';
import { httpsRequest, postJson } from '../helpers/https-client.ts';
import { startWebhookUnderTest } from '../helpers/webhook-under-test.ts';

/** The fixture table, answered after `delayMs` (an API call, a remote cache). */
function slowResolver(delayMs: number): ServiceResolver & { pending: number } {
  const table = fixtureResolver();
  const resolver = {
    source: 'a slow test resolver',
    pending: 0,
    ready: () => true,
    size: () => table.size(),
    lookup(namespace: string, name: string): Promise<ServiceLookup> {
      resolver.pending++;
      return new Promise((resolve) =>
        setTimeout(() => {
          resolver.pending--;
          resolve(table.lookup(namespace, name));
        }, delayMs),
      );
    },
  };
  return resolver;
}

t.test('the default deadline is below the webhooks\' timeoutSeconds (5 s) and the key is checked', async (t) => {
  t.equal(DEFAULT_CONFIG.admissionTimeoutMs, 4000);
  t.equal(parseConfig({ admissionTimeoutMs: 1500 }).admissionTimeoutMs, 1500);
  t.throws(() => parseConfig({ admissionTimeoutMs: 30_000 }), ConfigError);
  t.throws(() => parseConfig({ admissionTimeoutMs: '2s' }), /admissionTimeoutMs must be a whole number of milliseconds/);
});

t.test('a lookup slower than the deadline is denied as temporary, before the lookup (and the apiserver) would finish', async (t) => {
  const resolver = slowResolver(3000);
  const webhook = await startWebhookUnderTest({ config: parseConfig({ admissionTimeoutMs: 400 }), resolver });
  t.teardown(() => webhook.server.close());
  const started = performance.now();
  const { status, body } = await postJson(`${webhook.url}/mutate`, webhook.ca, admissionReview(manifest('guide-envoyfilter.yaml'), 'CREATE', 'slow-1'));
  const elapsed = performance.now() - started;
  t.equal(status, 200);
  t.equal(body.response.uid, 'slow-1');
  t.equal(body.response.allowed, false);
  t.equal(body.response.status.code, 503, 'temporary, so clients retry');
  t.notOk(body.response.patch, 'the token is not let through');
  t.match(body.response.status.message, /^EnvoyFilter llm-d-inference-scheduler\/epp-ext-proc-poc: cannot be admitted right now \(temporary; retry\)\n\[EPP104\]/);
  t.match(body.response.status.message, /the Service lookup did not answer within 400 ms \(admissionTimeoutMs\)/);
  t.ok(elapsed >= 390 && elapsed < 1500, `answered after ${Math.round(elapsed)} ms (deadline 400 ms, lookup 3000 ms)`);

  // The server keeps answering other requests meanwhile, and its health is unaffected.
  const health = await httpsRequest(`${webhook.url}/healthz`, { ca: webhook.ca });
  t.equal(health.status, 200);
  const route = await postJson(`${webhook.url}/mutate`, webhook.ca, admissionReview(manifest('guide-httproute.yaml')));
  t.equal(route.body.response.allowed, true, 'HTTPRoutes (no lookup) are not held up');
});

t.test('a lookup that answers within the deadline is used', async (t) => {
  const webhook = await startWebhookUnderTest({ config: parseConfig({ admissionTimeoutMs: 2000 }), resolver: slowResolver(100) });
  t.teardown(() => webhook.server.close());
  const { body } = await postJson(`${webhook.url}/mutate`, webhook.ca, admissionReview(manifest('guide-envoyfilter.yaml')));
  t.equal(body.response.allowed, true);
  const patch = JSON.parse(Buffer.from(body.response.patch, 'base64').toString());
  t.ok(patch.some((op: any) => op.value === EPP_CLUSTER_IP), 'the ClusterIP from the slow lookup is substituted');
});

t.test('many admissions past the deadline at once: each is answered on time and nothing is left waiting', async (t) => {
  const resolver = slowResolver(5000);
  const webhook = await startWebhookUnderTest({ config: parseConfig({ admissionTimeoutMs: 300 }), resolver });
  t.teardown(() => webhook.server.close());
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) => postJson(`${webhook.url}/mutate`, webhook.ca, admissionReview(manifest('guide-envoyfilter.yaml'), 'CREATE', `burst-${i}`))),
  );
  const elapsed = performance.now() - started;
  t.ok(answers.every((a, i) => a.body.response.uid === `burst-${i}` && a.body.response.status?.code === 503), 'all 50 denied as temporary with their own uid');
  t.ok(elapsed < 4500, `all answered in ${Math.round(elapsed)} ms (50 TLS handshakes included), before any lookup finished (5000 ms)`);
});
