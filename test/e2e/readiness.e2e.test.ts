/**
 * /readyz on the real kube-apiserver waits for every cache, not the Service cache alone: a webhook identity that may
 * list Services but not InferencePools or EnvoyFilters (an RBAC left from an older install) stays not ready, and its
 * /readyz and the `_cache_synced` gauges say which caches it waits for; once deploy/'s RBAC is applied, the watches'
 * retries list and it is ready.
 */
import t from 'tap';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from './harness/control-plane.ts';
import { installCrdsAndNamespace } from './harness/cluster-setup.ts';
import { waitFor } from './harness/processes.ts';
import { launchWebhookProcess, WEBHOOK_IDENTITY, type WebhookProcess } from './harness/webhook-process.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

let cp: ControlPlane;
let webhook: WebhookProcess | undefined;

t.before(async () => {
  cp = await startControlPlane();
  await installCrdsAndNamespace(cp);
});
t.teardown(async () => {
  await webhook?.stop();
  await cp?.stop();
});

const servicesOnly = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'services-only' }, rules: [{ apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'services-only' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'services-only' },
      subjects: [{ kind: 'ServiceAccount', name: WEBHOOK_IDENTITY.split(':')[3], namespace: WEBHOOK_IDENTITY.split(':')[2] }],
    },
  ],
};

t.test('Services listed but InferencePools and EnvoyFilters forbidden: not ready, naming them; with the RBAC, ready', async (t) => {
  const granted = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(servicesOnly) });
  t.equal(granted.code, 0, granted.stderr);
  webhook = await launchWebhookProcess(cp, { waitFor: 'alive' });
  const readyz = async () => {
    const response = await fetch(`http://127.0.0.1:${webhook!.metricsPort}/readyz`);
    return { status: response.status, body: await response.json() };
  };
  /** The `_cache_synced` gauges, as Prometheus would scrape them: which cache is stuck, without reading /readyz. */
  const syncedGauges = async () => {
    const text = await (await fetch(`http://127.0.0.1:${webhook!.metricsPort}/metrics`)).text();
    const gauge = (cache: string) => Number(new RegExp(`^epp_webhook_${cache}_cache_synced (\\d)$`, 'm').exec(text)?.[1]);
    return { services: gauge('service'), inferencePools: gauge('inference_pool'), envoyFilters: gauge('envoyfilter') };
  };

  const waiting = await waitFor('the Service cache synced, the others not', async () => {
    const answer = await readyz();
    return answer.body.notSynced?.length === 2 ? answer : undefined;
  }, 30_000, 100);
  t.equal(waiting.status, 503, 'the Service cache alone does not make it ready');
  t.same(waiting.body.notSynced, ['InferencePools', 'EnvoyFilters']);
  t.match(waiting.body.reason, /^the InferencePool cache of https:\/\/127\.0\.0\.1:\d+, the EnvoyFilter cache of https:\/\/127\.0\.0\.1:\d+ have not synced yet$/);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  t.equal((await readyz()).status, 503, 'still not ready a second later: the watches keep failing (403)');
  t.same(await syncedGauges(), { services: 1, inferencePools: 0, envoyFilters: 0 }, 'the metrics name the stuck caches');

  const rbac = await cp.kubectl(['apply', '-f', join(ROOT, 'deploy/base/rbac.yaml')]);
  t.equal(rbac.code, 0, rbac.stderr);
  const since = Date.now();
  const ready = await waitFor('ready once the RBAC allows the lists', async () => {
    const answer = await readyz();
    return answer.status === 200 ? answer : undefined;
  }, 60_000, 100);
  t.equal(ready.body.status, 'ready');
  t.same(await syncedGauges(), { services: 1, inferencePools: 1, envoyFilters: 1 }, 'and their gauges flip to 1');
  t.ok(ready.body.services >= 1, 'it counts the Services it holds (default/kubernetes at least)');
  t.comment(`ready ${Date.now() - since} ms after the RBAC was applied (the watches retry with backoff)`);
});
