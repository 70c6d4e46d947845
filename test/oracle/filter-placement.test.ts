import t from 'tap';
import { envoyValidator } from './envoy/envoy-validate.ts';
import { gatewayBootstrap, type JsonObject } from './envoy/gateway-bootstrap.ts';
import { askIstio } from './istio-oracle.ts';
import { toolPath } from './run-differential.ts';
import { loadServicesFile } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { askWebhook } from './webhook-verdict.ts';
import { clusterPatch, eppCluster, envoyFilter, externalProcessor, filterPatch, NAMESPACE, type JsonMap } from './corpus/building-blocks.ts';

// EPP319: an ext_proc filter that istiod puts after the router. The oracle gateway puts every added filter before the
// router; here each one is placed where istiod's patchHTTPFilters (pilot/pkg/networking/core/envoyfilter/
// listener_patch.go) puts it in a chain that ends with the router: ADD and INSERT_AFTER without a subFilter append it
// ("Insert after without a filter match is same as ADD in the end"), INSERT_AFTER the router puts it behind it;
// INSERT_FIRST and INSERT_BEFORE without a subFilter put it first, INSERT_BEFORE the router before it. Then Envoy 1.40
// validates the listener, and the webhook must deny exactly what Envoy rejects, with EPP319.
const CACHE = process.env.EPP_WEBHOOK_CACHE ?? `${process.env.HOME}/.cache/epp-webhook`;
const ROUTER = 'envoy.filters.http.router';

function placed(operation: string, subFilter: string | undefined): JsonMap {
  const patch = filterPatch(externalProcessor(), { operation }) as { match: { listener: { filterChain: { filter: JsonMap } } } };
  if (subFilter === undefined) delete patch.match.listener.filterChain.filter.subFilter;
  else patch.match.listener.filterChain.filter.subFilter = { name: subFilter };
  return envoyFilter('ext-proc-placement', [patch as unknown as JsonMap, clusterPatch(eppCluster())]);
}

/** Where istiod's patchHTTPFilters puts the filter relative to the router, the only filter of the oracle's chain. */
function afterRouter(operation: string, subFilter: string | undefined): boolean {
  return operation === 'ADD' || (operation === 'INSERT_AFTER' && (subFilter === undefined || subFilter === ROUTER));
}

/** The oracle gateway with its chain reordered as istiod orders it. */
function asIstiodPlacesIt(bootstrap: JsonObject, after: boolean): JsonObject {
  const listener = (bootstrap.static_resources as { listeners: JsonObject[] }).listeners[0] as { filter_chains: { filters: { typed_config: { http_filters: JsonObject[] } }[] }[] };
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  if (after) {
    const router = hcm.http_filters.filter((f) => f.name === ROUTER);
    hcm.http_filters = [...router, ...hcm.http_filters.filter((f) => f.name !== ROUTER)];
  }
  return bootstrap;
}

t.test('an ext_proc filter istiod puts after the router: Envoy rejects the listener, and the webhook denies it (EPP319)', async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const envoy = await envoyValidator(toolPath('scripts/install-envoy.sh', 'ENVOY'), `${CACHE}/oracle`);
  // The Services the differential test resolves the EPP cluster's token against: Istio and Envoy get the stored object.
  const deps = { config: DEFAULT_CONFIG, resolver: loadServicesFile(new URL('../fixtures/manifests/services.yaml', import.meta.url).pathname) };
  const cases: [string, string | undefined][] = [
    ['ADD', undefined],
    ['INSERT_AFTER', undefined],
    ['INSERT_AFTER', ROUTER],
    ['INSERT_FIRST', undefined],
    ['INSERT_BEFORE', undefined],
    ['INSERT_BEFORE', ROUTER],
  ];
  const objects = cases.map(([operation, subFilter]) => ({ id: `${operation} ${subFilter ?? '(no subFilter)'}`, object: placed(operation, subFilter) }));
  const webhook = await Promise.all(objects.map(({ object }) => askWebhook(object, NAMESPACE, deps)));
  const istio = await askIstio(oracle, objects.map(({ id }, i) => ({ id, object: webhook[i].stored })));
  const verdicts = await envoy.validate(istio.map((verdict, i) => asIstiodPlacesIt(gatewayBootstrap(verdict.patches).bootstrap, afterRouter(...cases[i]))));
  for (const [i, [operation, subFilter]] of cases.entries()) {
    const { id } = objects[i];
    const after = afterRouter(operation, subFilter);
    t.ok(istio[i].admitted, `${id}: istiod admits it`);
    t.equal(verdicts[i].ok, !after, `${id}: Envoy ${after ? 'rejects' : 'accepts'} the listener${verdicts[i].ok ? '' : ` (${verdicts[i].message})`}`);
    if (after) t.match(verdicts[i].message, /must be the last filter in a http filter chain/, `${id}: for the reason EPP319 gives`);
    t.equal(webhook[i].findings.some((f) => f.code === 'EPP319'), after, `${id}: EPP319 ${after ? 'given' : 'not given'}`);
    t.equal(webhook[i].allowed, !after, `${id}: the webhook ${after ? 'denies' : 'admits'} it${webhook[i].allowed ? '' : `: ${webhook[i].findings.filter((f) => f.severity === 'deny').map((f) => f.code).join(', ')}`}`);
  }
});
