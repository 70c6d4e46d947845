import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { envoyField, isObject } from '../json-value.ts';
import { patchLocation, reachesGateway } from './config-patches.ts';
import { matchesEveryRoute, MERGES, poolEppsInNamespace, underIstiodsKey } from './check-istiod-route-override.ts';
import { EXT_PROC_FILTER_NAME, type ExtProcSite } from './ext-proc-configs.ts';
import { INFERENCE_ROUTE_NAME } from './route-override-patch.ts';
import { selectsClassicGateway } from './selects-classic-gateway.ts';
import { targetCluster } from './target-cluster.ts';
import type { EppServices } from './talks-to-epp.ts';

/**
 * An HTTP_ROUTE MERGE under istiod's ext_proc key that names an ext_proc cluster and matches no route by name.
 * istiod merges it into every route of the gateways it reaches (envoyfilter/rc_patch.go: no route match is any route),
 * so on every InferencePool route it replaces istiod's override, whichever pool the route goes to. With InferencePools
 * of more than one EPP in the namespace, the other pools' requests go to this EPP, which picks a Pod of its own pool;
 * istiod's pool cluster takes a pick only among its own endpoints (the override_host policy, cluster_builder.go), so
 * Envoy's fallback load balancing chooses and the right EPP is never consulted. Where each pool's EnvoyFilter does
 * this, every route carries the override istiod merges last (measured: test/dataplane/two-pools.dataplane.test.ts).
 * The webhook sees the namespace's pools, not the gateway's routes, so this warns.
 */
export function checkOverrideOnEveryRoute(object: unknown, sites: readonly ExtProcSite[], severities: SeverityOverrides, known: EppServices): { site: ExtProcSite; finding: Finding }[] {
  const found: { site: ExtProcSite; finding: Finding }[] = [];
  let pools: string[] | undefined;
  for (const site of sites) {
    if (site.kind !== 'per-route' || site.patch.applyTo !== 'HTTP_ROUTE' || !MERGES.has(site.patch.operation)) continue;
    if (!reachesGateway(site.patch) || !matchesEveryRoute(site.patch) || !underIstiodsKey(site)) continue;
    const overrides = envoyField(site.config, 'overrides');
    const cluster = isObject(overrides) ? targetCluster(overrides)?.name : undefined;
    if (cluster === undefined || selectsClassicGateway(object)) continue;
    pools ??= poolEppsInNamespace(object, known);
    if (pools.length < 2) break;
    const message = `typed_per_filter_config["${EXT_PROC_FILTER_NAME}"] names ext_proc cluster ${cluster} in an HTTP_ROUTE MERGE that matches no route by name: istiod merges it into every route of the gateway, so it replaces istiod's override on the route of every InferencePool, and this namespace has InferencePools of ${pools.length} EPP Services (${pools.join(', ')}). Every pool's requests then go to the EPP of ${cluster} (where each pool's EnvoyFilter does this, to the one istiod merges last), which picks a Pod of its own pool; istiod's cluster of another pool does not have that Pod, so Envoy skips the pick and its own load balancing chooses: that pool's EPP is never consulted. Measured with two pools, each with such an EnvoyFilter: both routes carried one pool's override, and each request of the other pool was picked by that pool's EPP and answered 200 by a Pod of its own pool that no EPP picked`;
    const fix = `match the route of each InferencePool rule this EPP serves by name, routeConfiguration: {vhost: {route: {name: ${INFERENCE_ROUTE_NAME}}}}, one patch per rule, as examples/envoyfilter-placeholder.yaml does (measured: each pool's requests picked by its own EPP and answered by the Pod it picked); if the gateways this EnvoyFilter reaches route to one of these pools only, set EPP231 to off`;
    found.push({ site, finding: finding('EPP231', severities, { location: patchLocation(site.patch.index), path: formatPath(site.segments) }, message, fix) });
  }
  return found;
}
