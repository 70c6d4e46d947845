import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { EnvoyFilterIndexTable, toEnvoyFilterIndexRecord } from '../../../src/cluster/envoyfilter-index.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { mutateObject, validateObject } from '../../../src/admission/admit-object.ts';
import { StaticServiceResolver } from '../../../src/cluster/static-resolver.ts';
import { overriddenRoutes } from '../../../src/envoyfilter/overridden-routes.ts';
import { routeOverridesOfOtherPools } from '../../../src/httproute/route-overrides-of-other-pools.ts';

const NS = 'llm-d';
const EXAMPLE = readFileSync(new URL('../../../examples/envoyfilter-placeholder.yaml', import.meta.url), 'utf8');
const POOL_GROUP = 'inference.networking.k8s.io';

/** examples/envoyfilter-placeholder.yaml for `pool`, its route override on Envoy route `route` (none: every route). */
function poolEnvoyFilter(pool: string | undefined, route: string | undefined, edit: (doc: any) => void = () => {}): any {
  const doc = parse(EXAMPLE);
  doc.metadata = { name: `${pool ?? 'no-pool'}-ext-proc`, namespace: NS, ...(pool === undefined ? {} : { annotations: { 'epp-webhook.io/inference-pool': pool } }) };
  const override = doc.spec.configPatches[0];
  if (route === undefined) delete override.match.routeConfiguration;
  else override.match.routeConfiguration.vhost.route.name = route;
  edit(doc);
  return doc;
}
const index = (...envoyFilters: any[]) => new EnvoyFilterIndexTable('test', envoyFilters.map((ef) => toEnvoyFilterIndexRecord(ef)!));
/** The guide's two-pool shape: each pool's EnvoyFilter overrides the route of its rule of HTTPRoute models. */
const TWO_POOLS = () => index(poolEnvoyFilter('pool-a', `${NS}.models.0`), poolEnvoyFilter('pool-b', `${NS}.models.1`));

const pool = (name: string, weight?: number) => ({ group: POOL_GROUP, kind: 'InferencePool', name, ...(weight === undefined ? {} : { weight }) });
function models(rules: unknown[], metadata: object = { name: 'models', namespace: NS }): any {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata, spec: { rules } };
}
const judge = (route: unknown, envoyFilters = TWO_POOLS(), config = DEFAULT_CONFIG) => routeOverridesOfOtherPools(route, NS, config, envoyFilters);

t.test('overriddenRoutes: the Envoy routes an EnvoyFilter points istiod\'s ext_proc filter elsewhere on', async (t) => {
  t.same(overriddenRoutes(parse(EXAMPLE)), ['llm-d-inference-scheduler.llm-d-inference-scheduling.0'], 'the example: its InferencePool rule\'s route');
  t.same(overriddenRoutes(poolEnvoyFilter('pool-a', undefined)), [], 'no route name: every route, no name to keep (EPP231 judges that)');
  const perRoute = (doc: any) => doc.spec.configPatches[0].patch.value.typed_per_filter_config;
  t.same(overriddenRoutes(poolEnvoyFilter('pool-a', 'r', (d) => delete perRoute(d)['envoy.filters.http.ext_proc'].overrides.grpc_service)), [], 'no cluster named: istiod\'s own EPP stays');
  t.same(overriddenRoutes(poolEnvoyFilter('pool-a', 'r', (d) => (perRoute(d)['envoy.filters.http.ext_proc'] = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', disabled: true }))), [], 'disabled: true picks nothing');
  t.same(overriddenRoutes(poolEnvoyFilter('pool-a', 'r', (d) => (d.spec.configPatches[0].match.context = 'SIDECAR_OUTBOUND'))), [], 'not on a gateway');
  t.same(overriddenRoutes(poolEnvoyFilter('pool-a', 'r', (d) => (d.spec.workloadSelector.labels = { istio: 'ingressgateway' }))), [], 'a classic gateway: istiod sets no InferencePool override there');
  t.same(overriddenRoutes({ spec: { configPatches: 'not a list' } }), [], 'a malformed EnvoyFilter: nothing, and no throw');
  t.same(overriddenRoutes(poolEnvoyFilter('pool-a', 'r', (d) => (d.spec.configPatches[0].match.routeConfiguration.vhost.route.action = 'DIRECT_RESPONSE'))), [], 'a route named r only where it answers directly: not a forwarding route');
  const record = toEnvoyFilterIndexRecord(poolEnvoyFilter('pool-a', `${NS}.models.0`))!;
  t.same(record.overriddenRoutes, [`${NS}.models.0`], 'the index keeps the names, not the object');
});

t.test('each rule with its own pool\'s override: nothing to say', async (t) => {
  t.same(judge(models([{ backendRefs: [pool('pool-a')] }, { backendRefs: [pool('pool-b')] }])), []);
});

t.test("a rule moved to the other pool keeps the first pool's override on its route: EPP409 on that rule", async (t) => {
  const [found, ...more] = judge(models([{ backendRefs: [pool('pool-b')] }, { backendRefs: [pool('pool-b')] }]));
  t.same(more, []);
  t.match(found, { code: 'EPP409', severity: 'warn', location: 'rules[0]', path: 'spec.rules[0].backendRefs' });
  t.match(found.message, `sends traffic to InferencePool ${NS}/pool-b, and EnvoyFilter ${NS}/pool-a-ext-proc, annotated with InferencePool ${NS}/pool-a, overrides this rule's Envoy route ${NS}.models.0`);
  t.match(found.message, `so the rule's requests go to ${NS}/pool-a's EPP, which picks a Pod of ${NS}/pool-a; istiod's cluster of ${NS}/pool-b takes a pick only among its own Pods`);
  t.match(found.message, 'Measured: a blue/green flip of weights kept the first pool\'s override on the rule\'s route');
  t.notMatch(found.message, 'depends on which override istiod merges last', 'pool-b\'s own EnvoyFilter overrides another route');
  t.match(found.fix, `in ${NS}/pool-a-ext-proc match the route of a rule to ${NS}/pool-a instead of ${NS}.models.0, and in the EnvoyFilter of ${NS}/pool-b match ${NS}.models.0`);
});

t.test('a blue/green flip by weights: the pool at weight 0 gets no traffic, so the override belongs to the other', async (t) => {
  const flipped = judge(models([{ backendRefs: [pool('pool-a', 0), pool('pool-b', 100)] }, { backendRefs: [pool('pool-b')] }]));
  t.equal(flipped.length, 1);
  t.match(flipped[0].message, `InferencePool ${NS}/pool-b, and EnvoyFilter ${NS}/pool-a-ext-proc`);
  t.same(judge(models([{ backendRefs: [pool('pool-a', 100), pool('pool-b', 0)] }, { backendRefs: [pool('pool-b')] }])), [], 'before the flip');
});

t.test("a named rule's route is named after the rule, and keeps that name wherever the rule moves", async (t) => {
  const envoyFilters = index(poolEnvoyFilter('pool-a', 'model-a'));
  t.same(judge(models([{ backendRefs: [pool('pool-b')] }, { name: 'model-a', backendRefs: [pool('pool-a')] }]), envoyFilters), [], 'rule 1, named model-a, to pool-a');
  const [found] = judge(models([{ name: 'model-a', backendRefs: [pool('pool-b')] }]), envoyFilters);
  t.match(found, { code: 'EPP409', location: 'rules[0]' });
  t.match(found.message, "overrides this rule's Envoy route model-a");
  t.same(judge(models([{ name: 'model-a', backendRefs: [pool('pool-b')] }], { generateName: 'models-', namespace: NS }), envoyFilters).length, 1, 'a named rule is judged before the route has a name');
  t.same(judge(models([{ backendRefs: [pool('pool-b')] }], { generateName: 'models-', namespace: NS }), TWO_POOLS()), [], 'an unnamed rule of a route still to be named has no route name yet');
});

t.test("a rule's route is named by its position among all the rules, as istiod counts them, pool or not", async (t) => {
  const [found, ...more] = judge(models([{ backendRefs: [{ name: 'vllm', port: 8000 }] }, { backendRefs: [pool('pool-a')] }]));
  t.same(more, []);
  t.match(found, { code: 'EPP409', location: 'rules[1]' });
  t.match(found.message, `overrides this rule's Envoy route ${NS}.models.1`, "pool-b's override of rule 1's route, whatever rule 0 sends to");
});

t.test('both pools override the same route: which EPP is asked depends on the order istiod merges them', async (t) => {
  const both = index(poolEnvoyFilter('pool-a', `${NS}.models.0`), poolEnvoyFilter('pool-b', `${NS}.models.0`));
  const [found, ...more] = judge(models([{ backendRefs: [pool('pool-b')] }]), both);
  t.same(more, []);
  t.match(found.message, `EnvoyFilter ${NS}/pool-b-ext-proc, of ${NS}/pool-b, overrides the route too: which EPP is asked depends on which override istiod merges last`);
});

t.test("only EnvoyFilters that reach the route's gateways: those of the gateway's namespace, and Istio's root namespace", async (t) => {
  const elsewhere = (ns: string) => index(poolEnvoyFilter('pool-a', `${NS}.models.0`, (doc) => (doc.metadata.namespace = ns)));
  const moved = (parentRefs?: unknown[]) => {
    const route = models([{ backendRefs: [pool('pool-b')] }]);
    if (parentRefs !== undefined) route.spec.parentRefs = parentRefs;
    return route;
  };
  t.same(judge(moved(), elsewhere('team-b')), [], 'an EnvoyFilter of another namespace reaches the proxies of that namespace, not this gateway');
  t.equal(judge(moved(), elsewhere('istio-system')).length, 1, "Istio's root namespace reaches every proxy");
  t.equal(judge(moved([{ name: 'gw', namespace: 'gateways' }]), elsewhere('gateways')).length, 1, "the namespace of the route's parent Gateway");
  t.same(judge(moved([{ name: 'gw', namespace: 'gateways' }]), elsewhere(NS)), [], "the route's own namespace, when its Gateway runs elsewhere");
  const meshConfig = parseConfig({ istioRootNamespace: 'istio-config' });
  t.equal(judge(moved(), elsewhere('istio-config'), meshConfig).length, 1, 'a root namespace set in the config (meshConfig.rootNamespace)');
  t.same(judge(moved(), elsewhere('istio-system'), meshConfig), [], 'and then istio-system is a namespace like any other');
});

t.test('says nothing where it cannot tell: no pool annotation, no pool sent to, no index, an index still listing', async (t) => {
  const moved = models([{ backendRefs: [pool('pool-b')] }]);
  t.same(judge(moved, index(poolEnvoyFilter(undefined, `${NS}.models.0`))), [], "an EnvoyFilter without epp-webhook.io/inference-pool: whose override it is, is not said");
  t.same(judge(models([{ backendRefs: [{ name: 'vllm', port: 8000 }] }])), [], 'a rule to a Service');
  t.same(judge(models([{ backendRefs: [pool('pool-a', 0)] }])), [], 'a rule whose only pool has weight 0');
  t.same(routeOverridesOfOtherPools(moved, NS, DEFAULT_CONFIG, undefined), []);
  t.same(routeOverridesOfOtherPools(moved, NS, DEFAULT_CONFIG, new EnvoyFilterIndexTable('listing', [toEnvoyFilterIndexRecord(poolEnvoyFilter('pool-a', `${NS}.models.0`))!], () => false)), []);
  const [afterMalformed, ...moreAfter] = judge(models([null, { backendRefs: [pool('pool-a')] }, { backendRefs: 'x' }]));
  t.same(moreAfter, [], 'malformed rules: EPP403 speaks for them');
  t.match(afterMalformed, { code: 'EPP409', location: 'rules[1]' }, 'and the rule after one is still judged');
});

t.test('the severity is configurable; the mutating webhook says it for the routes it injects into, the validating one for opted-out routes', async (t) => {
  const moved = models([{ backendRefs: [pool('pool-b')] }]);
  t.equal(judge(moved, TWO_POOLS(), parseConfig({ severities: { EPP409: 'deny' } }))[0].severity, 'deny');
  t.equal(judge(moved, TWO_POOLS(), parseConfig({ severities: { EPP409: 'off' } }))[0].severity, 'off');
  const deps = { config: DEFAULT_CONFIG, resolver: new StaticServiceResolver([], 'no Services'), envoyFilters: TWO_POOLS() };
  const route = { namespace: NS, envoyFilters: deps.envoyFilters };
  const injected = await mutateObject('HTTPRoute', moved, NS, deps);
  t.ok(injected.findings.some((f) => f.code === 'EPP409'), 'mutating: beside the injected ExtensionRef');
  t.same(validateObject('HTTPRoute', injected.object, DEFAULT_CONFIG, undefined, route), [], 'validating: not again for a route the mutating webhook was called for');
  const optedOut = { ...moved, metadata: { ...moved.metadata, annotations: { 'epp-webhook.io/inject': 'false' } } };
  const mutated = await mutateObject('HTTPRoute', optedOut, NS, deps);
  t.same([mutated.patch, mutated.findings], [[], []], 'inject: "false": the mutating webhook, never called for it (matchConditions), changes and says nothing');
  t.same(validateObject('HTTPRoute', optedOut, DEFAULT_CONFIG, undefined, route).map((f) => f.code), ['EPP409'], 'the validating webhook says it');
});
