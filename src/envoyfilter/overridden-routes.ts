import { isObject } from '../json-value.ts';
import { matchedRouteName, MERGES, underIstiodsKey } from './check-istiod-route-override.ts';
import { reachesGateway, readConfigPatches } from './config-patches.ts';
import { findExtProcConfigs } from './ext-proc-configs.ts';
import { readField } from './field-reading.ts';
import { selectsClassicGateway } from './selects-classic-gateway.ts';
import { targetCluster } from './target-cluster.ts';

/**
 * The Envoy routes, by name, on which this EnvoyFilter points istiod's ext_proc filter at a cluster of its own: an
 * HTTP_ROUTE MERGE on a Gateway API gateway that sets typed_per_filter_config["envoy.filters.http.ext_proc"] with
 * `overrides` naming a cluster. Under Istio's InferencePool support that entry replaces istiod's override on the route
 * (check-istiod-route-override.ts), so the EnvoyFilter's EPP picks the route's requests whichever pool it goes to.
 * The EnvoyFilter index keeps these names for the HTTPRoute rules (EPP409), never the object.
 */
export function overriddenRoutes(object: unknown): string[] {
  if (selectsClassicGateway(object)) return [];
  const names = new Set<string>();
  for (const site of findExtProcConfigs(readConfigPatches(object, {}).patches)) {
    if (site.kind !== 'per-route' || site.patch.applyTo !== 'HTTP_ROUTE' || !MERGES.has(site.patch.operation)) continue;
    if (!reachesGateway(site.patch) || !underIstiodsKey(site)) continue;
    const route = matchedRouteName(site.patch);
    const overrides = readField(site.config, 'overrides', 'istiod');
    if (route !== undefined && isObject(overrides) && targetCluster(overrides) !== undefined) names.add(route);
  }
  return [...names].sort();
}
