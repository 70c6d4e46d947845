import { readConfigPatches } from './config-patches.ts';
import { findExtProcConfigs } from './ext-proc-configs.ts';
import { isIstiodRouteOverride, matchedRouteName, overrideCluster } from './istiod-route-overrides.ts';
import { selectsClassicGateway } from './selects-classic-gateway.ts';

/**
 * The Envoy routes, by name, on which this EnvoyFilter points istiod's ext_proc filter at a cluster of its own: an
 * HTTP_ROUTE MERGE on a Gateway API gateway that sets typed_per_filter_config["envoy.filters.http.ext_proc"] with
 * `overrides` naming a cluster, and matches a route by name. Under Istio's InferencePool support that entry replaces
 * istiod's override on the route, so the EnvoyFilter's EPP is asked for the route's requests whichever pool it goes
 * to. The EnvoyFilter index keeps these names for the HTTPRoute rules (EPP409), never the object.
 */
export function overriddenRoutes(object: unknown): string[] {
  if (selectsClassicGateway(object)) return [];
  const names = new Set<string>();
  for (const site of findExtProcConfigs(readConfigPatches(object, {}).patches)) {
    const route = isIstiodRouteOverride(site) ? matchedRouteName(site.patch) : undefined;
    if (route !== undefined && overrideCluster(site) !== undefined) names.add(route);
  }
  return [...names].sort();
}
