import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { envoyField, isObject } from '../json-value.ts';
import { patchLocation } from './config-patches.ts';
import { EXT_PROC_FILTER_NAME, type ExtProcSite } from './ext-proc-configs.ts';
import { targetCluster } from './target-cluster.ts';
import type { EppServices } from './talks-to-epp.ts';

/** Contexts whose patches reach a gateway's listeners (an absent context is ANY). */
const GATEWAY_CONTEXTS: ReadonlySet<string | undefined> = new Set(['GATEWAY', 'ANY', undefined]);

/**
 * istiod inserts its filter only on proxies labelled gateway.networking.k8s.io/gateway-name (the Pods of a Gateway API
 * Gateway; pilot/pkg/networking/core/listener_builder.go). A workloadSelector on the `istio` label without that one
 * picks the classic ingress or egress gateway of Istio's charts (`istio: ingressgateway`), which Istio's Gateway
 * deployments do not carry: no istiod filter there to take over.
 */
function selectsClassicGateway(object: unknown): boolean {
  const spec = isObject(object) && isObject(object.spec) ? object.spec : undefined;
  const selector = spec !== undefined && isObject(spec.workloadSelector) ? spec.workloadSelector : undefined;
  const labels = selector !== undefined && isObject(selector.labels) ? selector.labels : undefined;
  return labels !== undefined && Object.hasOwn(labels, 'istio') && !Object.hasOwn(labels, 'gateway.networking.k8s.io/gateway-name');
}

/**
 * The EPP Services of InferencePools in the EnvoyFilter's namespace, as the pool cache knows them (an endpointPickerRef
 * is local to its pool): where there are some, a route to one of them is no hypothesis.
 */
function poolEppsInNamespace(object: unknown, known: EppServices): string[] {
  const metadata = isObject(object) && isObject(object.metadata) ? object.metadata : undefined;
  const namespace = typeof metadata?.namespace === 'string' ? metadata.namespace : undefined;
  return namespace === undefined ? [] : [...known.names].filter((name) => name.startsWith(`${namespace}/`)).sort();
}

/** The key of `typed_per_filter_config` a per-route config sits under: the HTTP filter it configures. */
function perRouteKey(site: ExtProcSite): unknown {
  const at = site.segments.findIndex((s) => s === 'typed_per_filter_config' || s === 'typedPerFilterConfig');
  return at >= 0 ? site.segments[at + 1] : undefined;
}

/**
 * A route-level override of istiod's key in this EnvoyFilter that keeps `filter` on its own EPP cluster: one whose
 * grpc_service names that cluster, or (for a filter of another name) one that turns istiod's filter off there.
 */
function overridesIstiod(sites: readonly ExtProcSite[], filterName: string, cluster: string | undefined): boolean {
  return sites.some((site) => {
    if (site.kind !== 'per-route' || site.patch.applyTo !== 'HTTP_ROUTE' || perRouteKey(site) !== EXT_PROC_FILTER_NAME) return false;
    if (filterName !== EXT_PROC_FILTER_NAME && envoyField(site.config, 'disabled') === true) return true;
    const overrides = envoyField(site.config, 'overrides');
    if (!isObject(overrides) || !isObject(envoyField(overrides, 'grpc_service'))) return false;
    return cluster === undefined || targetCluster(overrides)?.name === cluster;
  });
}

const ROUTE_NAME = '<namespace>.<HTTPRoute name>.<rule index>';

/**
 * Under Istio with InferencePool support (ENABLE_GATEWAY_API_INFERENCE_EXTENSION), istiod inserts its own ext_proc
 * filter, named envoy.filters.http.ext_proc, on a Gateway API gateway with an InferencePool route and turns it on for
 * each such route with an ExtProcPerRoute naming istiod's own cluster of the pool's EPP Service. Envoy keys per-route
 * config by filter name, so that override also retargets a filter of the same name that this EnvoyFilter adds; beside
 * a filter of another name istiod's runs too, with istiod's cluster. The webhook cannot see istiod's flag
 * nor the gateway's routes, so this warns. Only ext_proc filters this EnvoyFilter puts in (not MERGEs) are judged;
 * the caller keeps the finding only for configs judged to talk to an EPP.
 */
export function checkIstiodRouteOverride(
  object: unknown,
  sites: readonly ExtProcSite[],
  severities: SeverityOverrides,
  known: EppServices,
): { site: ExtProcSite; finding: Finding }[] {
  const found: { site: ExtProcSite; finding: Finding }[] = [];
  if (selectsClassicGateway(object)) return found;
  const pools = poolEppsInNamespace(object, known);
  const poolsHere = pools.length === 0 ? '' : ` (this namespace has InferencePools, whose EPP Service is ${pools.join(', ')})`;
  for (const site of sites) {
    if (site.kind !== 'filter' || site.patch.applyTo !== 'HTTP_FILTER' || site.patch.operation === 'MERGE' || site.patch.operation === 'REMOVE') continue;
    const context = site.patch.match.context;
    if (!GATEWAY_CONTEXTS.has(typeof context === 'string' ? context : undefined)) continue;
    const name = site.patch.value === undefined ? undefined : envoyField(site.patch.value, 'name');
    if (typeof name !== 'string') continue;
    const cluster = targetCluster(site.config)?.name;
    if (overridesIstiod(sites, name, cluster)) continue;
    const own = cluster === undefined ? "this filter's ext_proc server" : `cluster ${cluster}`;
    const sameName = name === EXT_PROC_FILTER_NAME;
    const condition = `where istiod runs with InferencePool support (ENABLE_GATEWAY_API_INFERENCE_EXTENSION, which the webhook cannot see) and this gateway has an HTTPRoute to an InferencePool${poolsHere}, istiod inserts its own ${EXT_PROC_FILTER_NAME} filter and sets on each such route an ExtProcPerRoute naming istiod's cluster of the pool's EPP Service`;
    // A REPLACE swaps istiod's filter for this one (no second filter); an ADD or INSERT puts one beside istiod's.
    const replaces = site.patch.operation === 'REPLACE';
    const plaintext = "500 on every request (istiod's cluster is plaintext, the EPP serves TLS)";
    const message = sameName
      ? `ext_proc filter ${name} on a gateway, and no HTTP_ROUTE override here names ${own}: ${condition}; Envoy keys per-route config by filter name, so on those routes this filter calls istiod's cluster ${replaces ? 'instead' : 'too'} and ${own} carries nothing. Measured: ${plaintext}${replaces ? '' : ', or, with a DestinationRule giving it TLS, 200 with the EPP consulted twice per request'}`
      : `ext_proc filter ${name} on a gateway, and no HTTP_ROUTE override here turns istiod's ${EXT_PROC_FILTER_NAME} off: ${condition}; on those routes that filter runs as well as this one, calling istiod's cluster. Measured with this filter inserted before the router (after istiod's): ${plaintext}, the EPP reached through ${own} never saw one`;
    const routePatch = (perRoute: string) =>
      `{applyTo: HTTP_ROUTE, match: {context: GATEWAY, routeConfiguration: {vhost: {route: {name: ${ROUTE_NAME}}}}}, patch: {operation: MERGE, value: {typed_per_filter_config: {${EXT_PROC_FILTER_NAME}: {"@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute, ${perRoute}}}}}}`;
    const toOwnCluster = routePatch(`overrides: {grpc_service: {envoy_grpc: {cluster_name: ${cluster ?? '<EPP cluster>'}}}, processing_mode: <this filter's>}`);
    const fix = !sameName
      ? `per InferencePool route add ${routePatch('disabled: true')} to turn istiod's filter off there (measured: 200, the EPP consulted once per request, through ${own})`
      : replaces
        ? `per InferencePool route add ${toOwnCluster}, as examples/envoyfilter-placeholder.yaml does`
        : `per InferencePool route add ${toOwnCluster}; istiod's filter takes that override as well (the EPP is then consulted twice per request), so where istiod's support is on keep the route patch and drop this HTTP_FILTER patch, as examples/envoyfilter-placeholder.yaml does (measured: 200, the EPP consulted once)`;
    found.push({ site, finding: finding('EPP230', severities, { location: patchLocation(site.patch.index), path: formatPath(site.segments) }, message, fix) });
  }
  return found;
}
