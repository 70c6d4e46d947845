import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_CONFIG, parseConfig, type WebhookConfig } from '../../../src/config.ts';
import { checkEnvoyFilter } from '../../../src/envoyfilter/check-envoyfilter.ts';
import type { EppServices } from '../../../src/envoyfilter/talks-to-epp.ts';

const NS = 'llm-d-inference-scheduler';
const EXAMPLE = readFileSync(new URL('../../../examples/envoyfilter-placeholder.yaml', import.meta.url), 'utf8');
// 10.96.0.9: the ClusterIP the webhook filled in, of a known EPP Service (the pool cache's).
const TWO_POOLS: EppServices = { names: new Set([`${NS}/pool-b-epp`, `${NS}/gaie-inference-scheduling-epp`]), clusterIPs: new Set(['10.96.0.9']) };

/** The repository's example as the webhook stores it (the ClusterIP filled in), with `edit` applied to its route patch. */
function example(edit: (routePatch: any, doc: any) => void = () => {}): any {
  const doc = parse(EXAMPLE.replace('EPP_SERVICE_CLUSTER_IP', '10.96.0.9'));
  edit(doc.spec.configPatches[0], doc);
  return doc;
}
const everyRoute = (patch: any) => delete patch.match.routeConfiguration;

const epp231 = (object: unknown, known: EppServices = TWO_POOLS, config: WebhookConfig = DEFAULT_CONFIG) => checkEnvoyFilter(object, config, known).filter((f) => f.code === 'EPP231');

t.test("the example's override matches its InferencePool rule's route by name: no EPP231, with two pools in the namespace", async (t) => {
  t.same(epp231(example()), []);
});

t.test('the same override matching no route, with InferencePools of two EPPs in the namespace: EPP231, on the route patch', async (t) => {
  const found = epp231(example(everyRoute));
  t.equal(found.length, 1);
  t.equal(found[0].severity, 'warn');
  t.equal(found[0].location, 'configPatches[0]');
  t.equal(found[0].path, 'spec.configPatches[0].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"]');
  t.match(found[0].message, 'names ext_proc cluster epp-cluster in an HTTP_ROUTE MERGE that matches no route by name');
  t.match(found[0].message, `InferencePools of 2 EPP Services (${NS}/gaie-inference-scheduling-epp, ${NS}/pool-b-epp)`);
  t.match(found[0].message, "each request of the other pool was picked by that pool's EPP and answered 200 by a Pod of its own pool that no EPP picked");
  t.match(found[0].fix, 'routeConfiguration: {vhost: {route: {name: <namespace>.<HTTPRoute name>.<rule index>');
  t.match(found[0].message, '(judged an EPP:', 'an EPP rule: it says why the config was judged an EPP');
});

t.test('a virtual host match without a route is every route of that virtual host: EPP231', async (t) => {
  t.equal(epp231(example((p) => (p.match.routeConfiguration = { vhost: { name: 'inference-gateway.example.com:80' } }))).length, 1);
  t.equal(epp231(example((p) => (p.match.routeConfiguration = { name: 'http.80' }))).length, 1, 'a route configuration by name alone');
  t.equal(epp231(example((p) => (p.match.routeConfiguration.vhost.route = { name: '' }))).length, 1, 'an empty route name matches any route (rc_patch.go routeMatch)');
  t.equal(epp231(example((p) => (p.match.routeConfiguration.vhost.route = { action: 'ROUTE' }))).length, 1, 'a match on the action alone: every forwarding route');
  t.same(epp231(example((p) => (p.match.routeConfiguration.vhost.route = { action: 'REDIRECT' }))), [], 'redirects only: no InferencePool route among them');
});

t.test('the other ways of writing the same override draw EPP231 too', async (t) => {
  t.equal(epp231(example((p) => (everyRoute(p), (p.patch.operation = 'MERGE_AND_REPLACE_LIST')))).length, 1, 'MERGE_AND_REPLACE_LIST is a merge too');
  const camel = epp231(
    example((p) => {
      everyRoute(p);
      p.patch.value = { typedPerFilterConfig: p.patch.value.typed_per_filter_config };
    }),
  );
  t.equal(camel.length, 1, 'typedPerFilterConfig, as istiod also reads it');
  t.equal(camel[0].path, 'spec.configPatches[0].patch.value.typedPerFilterConfig["envoy.filters.http.ext_proc"]');
});

t.test('no EPP231 where one EPP serves the pools the webhook knows in the namespace, or none', async (t) => {
  t.same(epp231(example(everyRoute), { names: new Set([`${NS}/gaie-inference-scheduling-epp`]), clusterIPs: new Set() }), [], 'one pool: every route it reaches is its own');
  t.same(epp231(example(everyRoute), { names: new Set(), clusterIPs: new Set() }), [], 'no pool known');
  t.same(epp231(example(everyRoute), { names: new Set([`${NS}/a-epp`, 'elsewhere/b-epp']), clusterIPs: new Set() }), [], "a pool of another namespace: the EnvoyFilter does not reach that namespace's gateways");
});

t.test("in Istio's root namespace the EnvoyFilter reaches every gateway: the mesh's pools count", async (t) => {
  const twoNamespaces: EppServices = { names: new Set([`${NS}/a-epp`, 'elsewhere/b-epp']), clusterIPs: new Set() };
  const inRoot = (namespace: string) => example((p, doc) => (everyRoute(p), (doc.metadata.namespace = namespace)));
  const [found, ...more] = epp231(inRoot('istio-system'), twoNamespaces);
  t.same(more, []);
  t.match(found.message, `this EnvoyFilter is in Istio's root namespace istio-system, which reaches every gateway, and the mesh has InferencePools of 2 EPP Services (elsewhere/b-epp, ${NS}/a-epp)`);
  t.equal(epp231(inRoot('istio-config'), twoNamespaces, parseConfig({ istioRootNamespace: 'istio-config' })).length, 1, 'the root namespace the config names');
  t.same(epp231(inRoot('istio-system'), twoNamespaces, parseConfig({ istioRootNamespace: 'istio-config' })), [], 'istio-system is then a namespace like any other');
});

t.test('only an override that sends to a cluster, under istiod\'s key, on a route of a gateway', async (t) => {
  const perRoute = (p: any) => p.patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'];
  t.same(epp231(example((p) => (everyRoute(p), delete perRoute(p).overrides.grpc_service))), [], 'no grpc_service: istiod keeps its own cluster (EPP230 judges that)');
  t.same(epp231(example((p) => (everyRoute(p), (p.patch.value.typed_per_filter_config = { 'envoy.filters.http.ext_proc': { '@type': perRoute(p)['@type'], disabled: true } })))), [], 'disabled: true turns the filter off, it picks nothing');
  t.same(epp231(example((p) => (everyRoute(p), (p.applyTo = 'VIRTUAL_HOST')))), [], "a VIRTUAL_HOST entry yields to istiod's override on each InferencePool route");
  t.same(epp231(example((p) => (everyRoute(p), (p.match.context = 'SIDECAR_OUTBOUND')))), [], 'not on a gateway');
  t.same(epp231(example((p) => (everyRoute(p), (p.patch.operation = 'ADD')))), [], 'an ADD of a route, not a merge into the existing ones');
  t.same(
    epp231(example((p, doc) => (everyRoute(p), (doc.spec.workloadSelector.labels = { istio: 'ingressgateway' })))),
    [],
    "a classic gateway of Istio's charts, where istiod puts no InferencePool override",
  );
  t.same(
    epp231(example((p) => {
      everyRoute(p);
      const tpfc = p.patch.value.typed_per_filter_config;
      tpfc['epp.ext_proc'] = tpfc['envoy.filters.http.ext_proc'];
      delete tpfc['envoy.filters.http.ext_proc'];
    })),
    [],
    "under another filter's key it replaces nothing of istiod's",
  );
});

t.test('an ext_proc server judged no EPP draws no EPP231; its severity is configurable', async (t) => {
  t.same(epp231(example((p, doc) => (everyRoute(p), (doc.metadata.annotations = { 'epp-webhook.io/epp': 'false' })))), []);
  t.equal(epp231(example(everyRoute), TWO_POOLS, parseConfig({ severities: { EPP231: 'deny' } }))[0].severity, 'deny');
  t.equal(epp231(example(everyRoute), TWO_POOLS, parseConfig({ severities: { EPP231: 'off' } }))[0].severity, 'off');
});
