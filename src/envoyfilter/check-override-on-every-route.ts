import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { isObject } from '../json-value.ts';
import { formatPath } from '../json-path.ts';
import { patchLocation } from './config-patches.ts';
import { poolEppsInNamespace } from './check-istiod-route-override.ts';
import { EXT_PROC_FILTER_NAME, type ExtProcSite } from './ext-proc-configs.ts';
import { isIstiodRouteOverride, matchedRouteName, overrideCluster } from './istiod-route-overrides.ts';
import { INFERENCE_ROUTE_NAME } from './route-override-patch.ts';
import { selectsClassicGateway } from './selects-classic-gateway.ts';
import type { EppServices } from './talks-to-epp.ts';

/**
 * An HTTP_ROUTE MERGE under istiod's ext_proc key that names an ext_proc cluster and no route: istiod merges it into
 * every route of the gateways it reaches (envoyfilter/rc_patch.go routeMatch: no route name is any route), so on every
 * InferencePool route it replaces istiod's override, whichever pool the route goes to. With InferencePools of more
 * than one EPP in the namespace, the other pools' requests go to this EPP, which picks a Pod of its own pool; istiod's
 * pool cluster takes a pick only among its own endpoints (its override_host policy), so Envoy's load balancing
 * chooses and the right EPP is never consulted (measured: test/dataplane/two-pools.dataplane.test.ts). The webhook
 * sees the namespace's pools (the mesh's, for an EnvoyFilter in Istio's root namespace, which reaches every gateway:
 * measured for a gateway in another namespace, two-pools.dataplane.test.ts), not the gateway's routes, so this warns.
 */
export function checkOverrideOnEveryRoute(object: unknown, sites: readonly ExtProcSite[], config: WebhookConfig, known: EppServices): { site: ExtProcSite; finding: Finding }[] {
  const everyRoute = sites.filter((site) => isIstiodRouteOverride(site) && matchedRouteName(site.patch) === undefined && overrideCluster(site) !== undefined);
  if (everyRoute.length === 0 || selectsClassicGateway(object)) return [];
  const meshWide = isObject(object) && isObject(object.metadata) && object.metadata.namespace === config.istioRootNamespace;
  const pools = meshWide ? [...known.names].sort() : poolEppsInNamespace(object, known);
  if (pools.length < 2) return [];
  const where = meshWide ? `this EnvoyFilter is in Istio's root namespace ${config.istioRootNamespace}, which reaches every gateway, and the mesh has` : 'this namespace has';
  return everyRoute.map((site) => {
    const cluster = overrideCluster(site)!;
    const message = `typed_per_filter_config["${EXT_PROC_FILTER_NAME}"] names ext_proc cluster ${cluster} in an HTTP_ROUTE MERGE that matches no route by name: istiod merges it into every route of the gateway, so it replaces istiod's override on the route of every InferencePool, and ${where} InferencePools of ${pools.length} EPP Services (${pools.join(', ')}). Every pool's requests then go to the EPP of ${cluster} (unless an override merged after this one names their route; where each pool's EnvoyFilter matches no route, the one istiod merges last wins on every route), and it picks a Pod of its own pool; istiod's cluster of another pool takes a pick only among its own Pods (its override_host load-balancing policy), so Envoy's own load balancing chooses: that pool's EPP is never consulted. Measured with two pools, each with such an EnvoyFilter: both routes carried one pool's override, and each request of the other pool was picked by that pool's EPP and answered 200 by a Pod of its own pool that no EPP picked`;
    const fix = `match the route of each InferencePool rule this EPP serves by name, routeConfiguration: {vhost: {route: {name: ${INFERENCE_ROUTE_NAME}}}}, one patch per rule, as examples/envoyfilter-placeholder.yaml does (measured: each pool's requests picked by its own EPP and answered by the Pod it picked); if the gateways this EnvoyFilter reaches route to one of these pools only, set EPP231 to off in the webhook's config (for every EnvoyFilter)`;
    return { site, finding: finding('EPP231', config.severities, { location: patchLocation(site.patch.index), path: formatPath(site.segments) }, message, fix) };
  });
}
