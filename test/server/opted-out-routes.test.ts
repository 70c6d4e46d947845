/**
 * A route opted out of the ExtensionRef (as routes on Istio's own InferencePool support are) over real HTTPS: the
 * mutating webhook's registration never sends it there, so the validating endpoint says whose route override its
 * rules get (EPP409), and that an ExtensionRef left in its rules makes Istio drop them (EPP402), and only there.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { EnvoyFilterIndexTable, toEnvoyFilterIndexRecord } from '../../src/cluster/envoyfilter-index.ts';
import { parseConfig } from '../../src/config.ts';
import { admissionReview } from '../helpers/fixtures.ts';
import { postJson } from '../helpers/https-client.ts';
import { startWebhookUnderTest, type WebhookUnderTest } from '../helpers/webhook-under-test.ts';

const [, , FILTER_A, FILTER_B, ROUTE] = parseAllDocuments(readFileSync(new URL('../fixtures/manifests/two-pools/two-pools.yaml', import.meta.url), 'utf8')).map((d) => d.toJS());

const twoPoolsIndex = () => new EnvoyFilterIndexTable('the two pools\' EnvoyFilters', [FILTER_A, FILTER_B].map((ef) => toEnvoyFilterIndexRecord(ef)!));

let webhook: WebhookUnderTest;
t.before(async () => {
  webhook = await startWebhookUnderTest({ envoyFilters: twoPoolsIndex() });
});
t.teardown(() => webhook.server.close());

/** The fixture's route, opted out, with its two rules' pools swapped (each keeps the other pool's route override). */
function swappedOptedOut(): any {
  const route = structuredClone(ROUTE);
  route.metadata.annotations = { 'epp-webhook.io/inject': 'false' };
  [route.spec.rules[0].backendRefs, route.spec.rules[1].backendRefs] = [route.spec.rules[1].backendRefs, route.spec.rules[0].backendRefs];
  return route;
}

t.test('/validate: an opted-out route whose rules carry the other pool\'s override is admitted with EPP409 for each rule', async (t) => {
  const { status, body } = await postJson(`${webhook.url}/validate`, webhook.ca, admissionReview(swappedOptedOut(), 'UPDATE'));
  t.equal(status, 200);
  t.equal(body.response.allowed, true);
  const warnings: string[] = body.response.warnings ?? [];
  t.equal(warnings.filter((w) => w.startsWith('[EPP409] rules[0] sends traffic to InferencePool llm-d/pool-b, and EnvoyFilter llm-d/pool-a-ext-proc')).length, 1, warnings.join('\n'));
  t.equal(warnings.filter((w) => w.startsWith('[EPP409] rules[1] sends traffic to InferencePool llm-d/pool-a, and EnvoyFilter llm-d/pool-b-ext-proc')).length, 1);
});

t.test('/validate says nothing of a route the mutating webhook is called for, and /mutate nothing of an opted-out one', async (t) => {
  const optedIn = swappedOptedOut();
  delete optedIn.metadata.annotations;
  const validated = await postJson(`${webhook.url}/validate`, webhook.ca, admissionReview(optedIn, 'UPDATE'));
  t.same(validated.body.response.warnings ?? [], [], '/validate: the mutating webhook says it for this route');
  const mutatedIn = await postJson(`${webhook.url}/mutate`, webhook.ca, admissionReview(optedIn, 'UPDATE'));
  t.ok((mutatedIn.body.response.warnings ?? []).some((w: string) => w.startsWith('[EPP409] rules[0]')), '/mutate says it');
  const mutatedOut = await postJson(`${webhook.url}/mutate`, webhook.ca, admissionReview(swappedOptedOut(), 'UPDATE'));
  t.same([mutatedOut.body.response.allowed, mutatedOut.body.response.patch, mutatedOut.body.response.warnings ?? []], [true, undefined, []], '/mutate: an opted-out route passes untouched and unremarked');
});

t.test('/validate: an opted-out route that still holds its injected ExtensionRef (a kubectl annotate after the injection) gets EPP402 naming the rule', async (t) => {
  const annotated = structuredClone(ROUTE);
  annotated.metadata.annotations = { 'epp-webhook.io/inject': 'false' };
  const injected = await postJson(`${webhook.url}/mutate`, webhook.ca, admissionReview(structuredClone(ROUTE), 'CREATE'));
  const patch: { path: string; value: unknown }[] = JSON.parse(Buffer.from(injected.body.response.patch, 'base64').toString('utf8'));
  t.same(patch.map((op) => op.path), ['/spec/rules/0/filters', '/spec/rules/1/filters'], 'the route as first applied got a filter per rule');
  annotated.spec.rules[0].filters = patch[0].value;
  const { body } = await postJson(`${webhook.url}/validate`, webhook.ca, admissionReview(annotated, 'UPDATE'));
  t.equal(body.response.allowed, true, 'a warning: the webhook is not the one to take it away');
  const warnings: string[] = body.response.warnings ?? [];
  t.same(
    warnings.filter((w) => w.startsWith('[EPP402]')),
    [
      '[EPP402] rules[0] still holds the ExtensionRef to EnvoyFilter pool-a-ext-proc, though the route is opted out with epp-webhook.io/inject: "false": Istio\'s HTTPRoute translation does not resolve it, reports ResolvedRefs=False (InvalidFilter) and drops this route\'s rules',
      '[EPP402] Fix: remove that ExtensionRef filter from rules[0] (the opt-out stops the webhook adding one, not the one already there), or set EPP402 to off if your gateway resolves it',
    ],
    warnings.join('\n'),
  );
  const clean = await postJson(`${webhook.url}/validate`, webhook.ca, admissionReview(swappedOptedOut(), 'UPDATE'));
  t.notOk((clean.body.response.warnings ?? []).some((w: string) => w.startsWith('[EPP402]')), 'without one: no EPP402');
});

t.test('EPP409 set to deny: /validate refuses the opted-out route (a denial that holds only while the webhook answers: its registration is Ignore)', async (t) => {
  const strict = await startWebhookUnderTest({ envoyFilters: twoPoolsIndex(), config: parseConfig({ severities: { EPP409: 'deny' } }) });
  t.teardown(() => strict.server.close());
  const { status, body } = await postJson(`${strict.url}/validate`, strict.ca, admissionReview(swappedOptedOut(), 'UPDATE'));
  t.equal(status, 200);
  t.equal(body.response.allowed, false);
  t.match(body.response.status.message, /\[EPP409\] rules\[0\] sends traffic to InferencePool llm-d\/pool-b/);
});
