/**
 * A DestinationRule over real HTTPS: its validating webhook warns where it caps istiod's cluster of an InferencePool's
 * EPP (EPP501); its mutating side, if one were registered, changes nothing.
 */
import t from 'tap';
import { admissionReview } from '../helpers/fixtures.ts';
import { postJson } from '../helpers/https-client.ts';
import { pools, v1Pool } from '../helpers/inference-pools.ts';
import { startWebhookUnderTest, type WebhookUnderTest } from '../helpers/webhook-under-test.ts';

let webhook: WebhookUnderTest;
t.before(async () => {
  webhook = await startWebhookUnderTest({ pools: pools(v1Pool('pool-a', { name: 'epp-a', port: { number: 9002 } })) });
});
t.teardown(() => webhook.server.close());

const rule = (host: string, http2MaxRequests: number) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'epp-a', namespace: 'llm-d' },
  spec: { host, trafficPolicy: { tls: { mode: 'SIMPLE', insecureSkipVerify: true }, connectionPool: { http: { http2MaxRequests } } } },
});

t.test('/validate: a DestinationRule capping an EPP Service at 100 is admitted with EPP501 and its fix', async (t) => {
  const { status, body } = await postJson(`${webhook.url}/validate`, webhook.ca, admissionReview(rule('epp-a', 100)));
  t.equal(status, 200);
  t.equal(body.response.allowed, true);
  t.equal(body.response.warnings?.length, 2, 'the finding and its fix, nothing else');
  t.match(body.response.warnings, [/^\[EPP501\] trafficPolicy\.connectionPool http2MaxRequests 100 becomes the circuit-breaker max_requests of istiod's cluster of the EPP Service llm-d\/epp-a port 9002/, /^\[EPP501\] Fix: /]);
});

t.test('/validate says nothing of a rule for another host or a limit above 1,024; /mutate nothing of any', async (t) => {
  for (const quiet of [rule('model-server', 100), rule('epp-a', 256000)]) {
    const { body } = await postJson(`${webhook.url}/validate`, webhook.ca, admissionReview(quiet));
    t.same([body.response.allowed, body.response.warnings ?? []], [true, []], quiet.spec.host);
  }
  const { body } = await postJson(`${webhook.url}/mutate`, webhook.ca, admissionReview(rule('epp-a', 100)));
  t.same([body.response.allowed, body.response.patch, body.response.warnings ?? []], [true, undefined, []]);
});
