import { envoyField, isObject } from '../json-value.ts';
import { reachesGateway, type ConfigPatch } from './config-patches.ts';
import { EXT_PROC_FILTER_NAME, PER_FILTER_KEYS, siteReading, type ExtProcSite } from './ext-proc-configs.ts';
import { readField } from './field-reading.ts';
import { readOnce } from '../read-once.ts';
import { targetCluster } from './target-cluster.ts';

/**
 * Reading the route overrides an EnvoyFilter sets under the key of istiod's InferencePool ext_proc filter: where
 * istiod runs with InferencePool support, such an entry replaces istiod's own override on the routes it matches
 * (pkg/proto/merge replaces a map entry whole).
 */

/** Operations istiod applies to an existing route by proto merge (envoyfilter/util.go isMergeOperation). */
export const MERGES: ReadonlySet<string | undefined> = new Set(['MERGE', 'MERGE_AND_REPLACE_LIST']);

/** What an HTTP_ROUTE patch's route match (`routeConfiguration.vhost.route`) says; read once per patch (read-once.ts). */
interface RouteMatch {
  /** Whether it has one: without, the patch reaches every route. */
  readonly present: boolean;
  /** The route name it matches; undefined without one (envoyfilter/rc_patch.go routeMatch: any route). */
  readonly name: string | undefined;
  /** Whether it takes routes that forward (rc_patch.go routeMatch: a REDIRECT or DIRECT_RESPONSE action matches no such route). */
  readonly forwards: boolean;
}

const routeMatch: (patch: ConfigPatch) => RouteMatch = readOnce(readRouteMatch);

function readRouteMatch(patch: ConfigPatch): RouteMatch {
  const configuration = envoyField(patch.match, 'route_configuration');
  const vhost = isObject(configuration) ? envoyField(configuration, 'vhost') : undefined;
  const route = isObject(vhost) ? envoyField(vhost, 'route') : undefined;
  if (!isObject(route)) return { present: false, name: undefined, forwards: true };
  const name = envoyField(route, 'name');
  const action = envoyField(route, 'action');
  return { present: true, name: typeof name === 'string' && name !== '' ? name : undefined, forwards: action === undefined || action === 'ANY' || action === 'ROUTE' };
}

/** The route name an HTTP_ROUTE patch matches; undefined without one (envoyfilter/rc_patch.go routeMatch: any route). */
export function matchedRouteName(patch: ConfigPatch): string | undefined {
  return routeMatch(patch).name;
}

/** Whether an HTTP_ROUTE patch's match takes routes that forward, as an InferencePool rule's does. */
export function matchesForwardingRoutes(patch: ConfigPatch): boolean {
  return routeMatch(patch).forwards;
}

/** An HTTP_ROUTE patch with no route match: it reaches every route, those without an InferencePool too. */
export function matchesEveryRoute(patch: ConfigPatch): boolean {
  return !routeMatch(patch).present;
}

/** Whether a per-route site sets typed_per_filter_config under istiod's key directly in the patch value. */
export function underIstiodsKey(site: ExtProcSite): boolean {
  const at = site.patch.valuePath.length;
  const field = site.segments[at];
  return PER_FILTER_KEYS.has(field) && site.segments[at + 1] === EXT_PROC_FILTER_NAME;
}

/** An HTTP_ROUTE merge on a gateway's forwarding routes that sets a route's ExtProcPerRoute under istiod's key. */
export function isIstiodRouteOverride(site: ExtProcSite): boolean {
  if (site.kind !== 'per-route' || site.patch.applyTo !== 'HTTP_ROUTE' || !MERGES.has(site.patch.operation)) return false;
  return reachesGateway(site.patch) && underIstiodsKey(site) && matchesForwardingRoutes(site.patch);
}

/** The ext_proc cluster a route override's `overrides` names (read as istiod, or inside a TypedStruct as Envoy, reads it). */
export function overrideCluster(site: ExtProcSite): string | undefined {
  const overrides = readField(site.config, 'overrides', siteReading(site));
  const name = isObject(overrides) ? targetCluster(overrides)?.name : undefined;
  return name === '' ? undefined : name;
}
