/**
 * More InferencePools and EnvoyFilters than one LIST page holds (500), against a real kube-apiserver: every cache of
 * `serve --reconcile` must hold all of them, an EnvoyFilter naming the last pool is admitted, and recreating the EPP
 * Service moves every EnvoyFilter to the new ClusterIP. kube-apiserver answers a custom resource LIST as raw JSON whose
 * continue token is `metadata.continue`; a cache that missed it stopped at the first page.
 */
import t from 'tap';
import { startControlPlane, type ControlPlane } from './harness/control-plane.ts';
import { createNamespace, createService, installCrdsAndRbac } from './harness/cluster-setup.ts';
import { waitFor } from './harness/processes.ts';
import { registerWebhooks, startWebhookProcess, waitUntilMutating, type WebhookProcess } from './harness/webhook-process.ts';

const NS = 'llm-d';
const COUNT = 505;
const FILTERS = `/apis/networking.istio.io/v1alpha3/namespaces/${NS}/envoyfilters`;
const ADDRESS = '/spec/configPatches/0/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address';
let cp: ControlPlane;
let webhook: WebhookProcess;
let oldIP: string;

const numbered = (i: number) => String(i).padStart(3, '0');

/** An EnvoyFilter as the webhook stored it: the ClusterIP written where the placeholder was, with the record of where. */
function storedFilter(i: number, ip: string) {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: {
      name: `ef-${numbered(i)}`,
      namespace: NS,
      annotations: {
        'epp-webhook.io/inference-pool': `pool-${numbered(i)}`,
        'epp-webhook.io/resolved-service': `${NS}/epp-a`,
        'epp-webhook.io/resolved-cluster-ip': ip,
        'epp-webhook.io/placeholder-paths': JSON.stringify([ADDRESS]),
      },
    },
    spec: {
      configPatches: [
        {
          applyTo: 'CLUSTER',
          match: { context: 'GATEWAY' },
          patch: {
            operation: 'ADD',
            value: {
              name: `epp-${i}`,
              type: 'STATIC',
              connect_timeout: '1s',
              load_assignment: { cluster_name: `epp-${i}`, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: 9002 } } } }] }] },
            },
          },
        },
      ],
    },
  };
}

const pool = (i: number) => ({
  apiVersion: 'inference.networking.k8s.io/v1',
  kind: 'InferencePool',
  metadata: { name: `pool-${numbered(i)}`, namespace: NS },
  spec: { selector: { matchLabels: { app: 'model' } }, targetPorts: [{ number: 8000 }], endpointPickerRef: { name: 'epp-a', port: { number: 9002 } } },
});

const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

t.before(async () => {
  cp = await startControlPlane();
  await installCrdsAndRbac(cp);
  await createNamespace(cp, NS);
  oldIP = await createService(cp, NS, 'epp-a', [9002]);
  await createService(cp, NS, 'gaie-inference-scheduling-epp');
  const items = [...Array.from({ length: COUNT }, (_, i) => pool(i)), ...Array.from({ length: COUNT }, (_, i) => storedFilter(i, oldIP))];
  const created = await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
  if (created.code !== 0) throw new Error(`kubectl create: ${created.stderr}`);
  webhook = await startWebhookProcess(cp, { extraArgs: ['--reconcile', '--leader-election-namespace=epp-webhook', '--leader-election-identity=paging-e2e'] });
  await registerWebhooks(cp, webhook.url, webhook.caPem);
  await waitUntilMutating(cp, NS);
});

t.teardown(async () => {
  await webhook?.stop();
  await cp?.stop();
});

t.test('every cache holds all 505 objects, past the first page of 500', async (t) => {
  const metrics = await webhook.metrics();
  t.equal(gauge(metrics, 'epp_webhook_inference_pool_cache_size'), COUNT, 'InferencePools');
  t.equal(gauge(metrics, 'epp_webhook_envoyfilter_cache_size'), COUNT, 'EnvoyFilters (the index HTTPRoutes are checked against)');
  t.equal(gauge(metrics, 'epp_webhook_reconciler_envoyfilter_cache_size'), COUNT, "EnvoyFilters (the reconciler's)");
});

t.test('kubectl apply of an EnvoyFilter naming the last pool: admitted, with the ClusterIP of its EPP Service', async (t) => {
  const filter = storedFilter(COUNT - 1, 'EPP_SERVICE_CLUSTER_IP');
  filter.metadata.name = 'new-filter';
  filter.metadata.annotations = { 'epp-webhook.io/inference-pool': `pool-${numbered(COUNT - 1)}` } as typeof filter.metadata.annotations;
  const applied = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(filter) });
  t.equal(applied.code, 0, applied.stderr);
  const { body } = await cp.api('GET', `${FILTERS}/new-filter`);
  t.equal(body.spec.configPatches[0].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, oldIP);
});

t.test('the EPP Service recreated: every EnvoyFilter, the last page included, moves to the new ClusterIP', async (t) => {
  await cp.kubectl(['delete', 'service', '-n', NS, 'epp-a']);
  const newIP = await createService(cp, NS, 'epp-a', [9002]);
  t.not(newIP, oldIP);
  const stale = async () => {
    const { body } = await cp.api('GET', FILTERS);
    return body.items.filter((f: any) => f.metadata.annotations['epp-webhook.io/resolved-cluster-ip'] !== newIP).map((f: any) => f.metadata.name);
  };
  const left = await waitFor('every EnvoyFilter on the new ClusterIP', async () => ((await stale()).length === 0 ? [] : undefined), 120_000, 1_000).catch(async () => stale());
  t.same(left, [], 'none left on the old ClusterIP');
});
