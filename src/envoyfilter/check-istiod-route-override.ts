import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { envoyField, isObject } from '../json-value.ts';
import { matchedSubFilter, patchLocation, reachesGateway, type ConfigPatch } from './config-patches.ts';
import { picksIstiodFilter } from './merge-into-istiod-filter.ts';
import { EXT_PROC_FILTER_NAME, EXTERNAL_PROCESSOR_TYPE, siteReading, type ExtProcSite } from './ext-proc-configs.ts';
import { setsModeThatSends } from './check-processing-mode.ts';
import { EPP_MODE, MODE_FIELDS, readProcessingMode } from './processing-mode.ts';
import { readBool, readField } from './field-reading.ts';
import { routeOverridePatch } from './route-override-patch.ts';
import { selectsClassicGateway } from './selects-classic-gateway.ts';
import { targetCluster } from './target-cluster.ts';
import { isIstiodRouteOverride, matchedRouteName, matchesEveryRoute, MERGES, overrideCluster, underIstiodsKey } from './istiod-route-overrides.ts';
import type { EppServices } from './talks-to-epp.ts';


/**
 * The EPP Services of InferencePools in the EnvoyFilter's namespace, as the pool cache knows them (an endpointPickerRef
 * is local to its pool): where there are some, a route to one of them is no hypothesis.
 */
export function poolEppsInNamespace(object: unknown, known: EppServices): string[] {
  const metadata = isObject(object) && isObject(object.metadata) ? object.metadata : undefined;
  const namespace = typeof metadata?.namespace === 'string' ? metadata.namespace : undefined;
  return namespace === undefined ? [] : [...known.names].filter((name) => name.startsWith(`${namespace}/`)).sort();
}

/** Operations that put an HTTP filter into the chain (pilot/pkg/networking/core/envoyfilter/listener_patch.go). */
const PUTS_FILTER: ReadonlySet<string | undefined> = new Set(['ADD', 'INSERT_BEFORE', 'INSERT_AFTER', 'INSERT_FIRST', 'REPLACE']);


/**
 * istiod names the Envoy route of a Gateway API rule <namespace>.<HTTPRoute name>.<rule index>
 * (pilot/pkg/config/kube/gateway/conversion.go convertHTTPRoute); a namespace holds no dot, an HTTPRoute name may.
 * A rule with a `name` (a DNS subdomain, in the HTTPRoute CRD) gets that name instead; such a name is also what a
 * VirtualService route is commonly called, which istiod does not give a Gateway API route, so it is not taken as an
 * InferencePool route, only mentioned where a warning rests on there being no override (namedRuleNote).
 */
const GATEWAY_API_ROUTE_NAME = /^[^.]+\..+\.\d+$/;
const GATEWAY_API_RULE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_RULE_NAME = 253;

/**
 * Whether an HTTP_ROUTE route override's match can reach an InferencePool rule's route (envoyfilter/rc_patch.go
 * routeMatch): no route name is any route; a route name must be one istiod gives a Gateway API rule (that the route
 * forwards, isIstiodRouteOverride asks).
 */
function mayMatchPoolRoute(patch: ConfigPatch): boolean {
  const name = matchedRouteName(patch);
  return name === undefined || GATEWAY_API_ROUTE_NAME.test(name);
}

/**
 * The HTTP_ROUTE merges in this EnvoyFilter that set a route's ExtProcPerRoute under istiod's key, on routes that may
 * be an InferencePool rule's. istiod's proto merge replaces a map entry whole (pkg/proto/merge mergeMap), so on the
 * routes such a merge matches istiod's override is gone, with its cluster and its failure_mode_allow: what the filter
 * does there is this EnvoyFilter's own choice, not istiod's.
 */
export function istiodOverrideReplacements(sites: readonly ExtProcSite[]): ExtProcSite[] {
  return sites.filter((site) => {
    return isIstiodRouteOverride(site) && mayMatchPoolRoute(site.patch);
  });
}

/**
 * The route name an HTTP_ROUTE merge matches where it is not one istiod gives an unnamed rule but one a Gateway API
 * rule could carry (`name: models`, a DNS subdomain); undefined otherwise.
 */
export function matchedRuleName(patch: ConfigPatch): string | undefined {
  const name = matchedRouteName(patch);
  return name !== undefined && !mayMatchPoolRoute(patch) && name.length <= MAX_RULE_NAME && GATEWAY_API_RULE_NAME.test(name) ? name : undefined;
}

/** The HTTP_ROUTE merges under istiod's key on a route named as an HTTPRoute rule could be: an InferencePool rule's, if that rule goes to one. */
export function namedRuleOverrides(sites: readonly ExtProcSite[]): ExtProcSite[] {
  return sites.filter((site) => isIstiodRouteOverride(site) && matchedRuleName(site.patch) !== undefined);
}

/**
 * The HTTP_ROUTE merges under istiod's key with `overrides` (what an InferencePool route's override sets; `disabled`
 * is what a health route gets) that were not taken as InferencePool routes but name one a Gateway API rule could carry
 * (`name: models`): if that rule goes to an InferencePool, the merge is its override after all.
 */
function namedRuleNote(sites: readonly ExtProcSite[]): string {
  const named = namedRuleOverrides(sites).filter((site) => envoyField(site.config, 'overrides') !== undefined);
  if (named.length === 0) return '';
  const first = named[0];
  return `. The HTTP_ROUTE MERGE at ${patchLocation(first.patch.index)} names route ${matchedRouteName(first.patch)}: istiod gives a Gateway API route that name only where the HTTPRoute rule has name: ${matchedRouteName(first.patch)}; if that rule goes to the InferencePool, that MERGE is its override and this does not apply (set EPP230 to off)`;
}

/**
 * The VIRTUAL_HOST merges in this EnvoyFilter that set ExtProcPerRoute under istiod's key (envoyfilter/rc_patch.go
 * patchVirtualHost merges into every virtual host the match picks). istiod's own override is on the InferencePool
 * routes only: the gateway's other routes have none, so there the virtual host's entry is the only per-filter config
 * istiod's filter gets.
 */
function virtualHostOverrides(sites: readonly ExtProcSite[]): ExtProcSite[] {
  return sites.filter((site) => site.kind === 'per-route' && site.patch.applyTo === 'VIRTUAL_HOST' && MERGES.has(site.patch.operation) && reachesGateway(site.patch) && underIstiodsKey(site));
}

/**
 * A replacement that turns istiod's filter on (a processing_mode that sends something) without a grpc_service. istiod's
 * filter then calls its own grpc_service, cluster "dummy" (pilot/pkg/xds/filters/filters.go), which Envoy does not
 * have: the stream fails as it opens. With failure_mode_allow false the request gets 500 ('fails-closed'; measured:
 * EPP230-override-without-grpc-service-fail-closed, EPP230-override-only-without-grpc-service-fail-closed). Left to
 * istiod's filter-level failure_mode_allow: true ('fails-open'), the filter fails open there and the next one runs
 * (measured: EPP230-override-without-grpc-service), or, with none, the request goes on unpicked
 * (EPP230-override-only-without-grpc-service).
 * `disabled` and `overrides` are one oneof; istiod decodes with golang/protobuf jsonpb in field order (jsonpb/decode.go),
 * so overrides (field 2) is set after disabled (field 1) and wins: `disabled` counts only where there is no `overrides`,
 * which leaves nothing to judge here. A TypedStruct's value is read as Envoy converts it, not as istiod does; Envoy
 * refuses both members of the oneof there, so the route does not load at all (test/oracle/ext-proc-per-route-oneof.test.ts).
 */
function istiodsFilterOnDummy(site: ExtProcSite): 'fails-closed' | 'fails-open' | undefined {
  const reading = siteReading(site);
  if (reading === 'envoy' && readField(site.config, 'disabled', reading) !== undefined) return undefined;
  const overrides = readField(site.config, 'overrides', reading);
  if (!isObject(overrides) || readField(overrides, 'grpc_service', reading) !== undefined) return undefined;
  if (!setsModeThatSends(overrides, reading)) return undefined;
  return readBool(overrides, 'failure_mode_allow', reading) === false ? 'fails-closed' : 'fails-open';
}

/**
 * Whether a site is a MERGE into istiod's filter that gives it no service of its own: istiod's filter then keeps its
 * grpc_service, cluster "dummy" (pilot/pkg/xds/filters/filters.go), whatever else the MERGE sets. A grpc_service gives it
 * one with an envoy_grpc cluster_name, or a google_grpc, which takes envoy_grpc's place (a oneof); one with only a
 * timeout, or an envoy_grpc without cluster_name, leaves istiod's cluster_name (a proto merge keeps what is unset). An
 * http_service lands beside the grpc_service, which Envoy refuses (EPP301): not this case. A typed_config of another
 * message (a TypedStruct) makes istiod's merge fail (EPP223) and leaves istiod's filter as it was. Measured:
 * EPP230-merge-override-without-grpc-service (the MERGE sets processing_mode and message_timeout), and
 * EPP230-merge-grpc-service-override-without (the MERGE names the EPP cluster: 200, the EPP once per request).
 */
function leavesIstiodsService(object: unknown, site: ExtProcSite): boolean {
  if (site.kind !== 'filter' || !picksIstiodFilter(object, site.patch)) return false;
  if (site.via !== undefined) return true;
  if (readField(site.config, 'http_service', 'istiod') !== undefined) return false;
  const grpc = readField(site.config, 'grpc_service', 'istiod');
  if (!isObject(grpc)) return true;
  if (readField(grpc, 'google_grpc', 'istiod') !== undefined) return false;
  const envoyGrpc = readField(grpc, 'envoy_grpc', 'istiod');
  const name = isObject(envoyGrpc) ? readField(envoyGrpc, 'cluster_name', 'istiod') : undefined;
  return typeof name !== 'string' || name === '';
}

/**
 * Whether a patch puts an HTTP filter into a gateway's chain. A REPLACE does only where it matches a filter by name
 * (listener_patch.go: without subFilter it is skipped).
 */
export function putsFilter(patch: ConfigPatch): boolean {
  if (patch.applyTo !== 'HTTP_FILTER' || !PUTS_FILTER.has(patch.operation) || !reachesGateway(patch)) return false;
  return patch.operation !== 'REPLACE' || matchedSubFilter(patch) !== undefined;
}

/**
 * A REPLACE matching subFilter envoy.filters.http.ext_proc swaps istiod's filter (the first of that name, inserted
 * before any EnvoyFilter patch; envoyfilter/util.go replaceFunc swaps only the first match) for this patch's filter,
 * whatever this one is named: istiod's filter is gone, and its override keyed envoy.filters.http.ext_proc applies to
 * this filter only if it has that name.
 */
function replacesIstiodsFilter(patch: ConfigPatch): boolean {
  return patch.operation === 'REPLACE' && matchedSubFilter(patch) === EXT_PROC_FILTER_NAME;
}

const ELSEWHERE = '; if another EnvoyFilter carries the route override, set EPP230 to off';

export function grpcServiceTo(cluster: string | undefined): string {
  return `grpc_service: {envoy_grpc: {cluster_name: ${cluster ?? '<EPP cluster>'}}}`;
}

/** What the webhook cannot see and istiod then does, with the namespace's InferencePools where the pool cache knows some. */
function istiodsFilterCondition(object: unknown, known: EppServices): string {
  const pools = poolEppsInNamespace(object, known);
  const poolsHere =
    pools.length === 0 ? '' : pools.length === 1 ? ` (this namespace has InferencePools, whose EPP Service is ${pools[0]})` : ` (this namespace has InferencePools, whose EPP Services are ${pools.join(', ')})`;
  return `where istiod runs with InferencePool support (ENABLE_GATEWAY_API_INFERENCE_EXTENSION, which the webhook cannot see) and this gateway has an HTTPRoute to an InferencePool${poolsHere}, istiod inserts its own ${EXT_PROC_FILTER_NAME} filter`;
}

/** One ext_proc filter this EnvoyFilter puts on a gateway: its name and the cluster it names. */
interface OwnFilter {
  site: ExtProcSite;
  name: string;
  cluster: string | undefined;
  /** How the message names where this filter's calls go. */
  own: string;
}

/** The route override in this EnvoyFilter leaves istiod's filter on its own missing cluster, forbidden to fail open. */
function failClosedOverrideFinding(filter: OwnFilter, failClosedOverride: ExtProcSite, istiodInsertsItsFilter: string, severities: SeverityOverrides): Finding {
  const { site, name, cluster, own } = filter;
  const at = patchLocation(failClosedOverride.patch.index);
  const message = `ext_proc filter ${name} on a gateway, and the HTTP_ROUTE MERGE at ${at} sets typed_per_filter_config["${EXT_PROC_FILTER_NAME}"] with a processing_mode and failure_mode_allow: false but no grpc_service: ${istiodInsertsItsFilter}, and that entry replaces istiod's override on the route whole, so istiod's filter calls its own grpc_service, a cluster named dummy that Envoy does not have, and may not fail open. Measured with this filter inserted before the router: 500 on every request, no request reaches the EPP for a pick (it gets only the 500's response headers)`;
  const fix =
    name === EXT_PROC_FILTER_NAME
      ? `in that override name the EPP cluster, overrides: {${grpcServiceTo(cluster)}, ...}, and drop this HTTP_FILTER patch (else the EPP is consulted twice per request), as examples/envoyfilter-placeholder.yaml does; or take failure_mode_allow: false out of it: istiod's filter then fails open on its missing cluster and this filter consults the EPP (measured: 200, the EPP consulted once per request)${ELSEWHERE}`
      : `make that override disabled: true, which turns istiod's filter off on the route (measured: 200, the EPP consulted once per request, through ${own})${ELSEWHERE}`;
  return finding('EPP230', severities, { location: patchLocation(site.patch.index), path: formatPath(site.segments) }, message, fix);
}

/**
 * This EnvoyFilter puts in no ext_proc filter, and its route override turns istiod's filter on without a grpc_service:
 * istiod's filter is the only one there, on its own missing cluster.
 */
function overrideOnlyFinding(
  override: ExtProcSite,
  fails: 'fails-closed' | 'fails-open',
  istiodInsertsItsFilter: string,
  severities: SeverityOverrides,
  serviceless: readonly ExtProcSite[],
): Finding {
  const closed = fails === 'fails-closed';
  // A TypedStruct MERGE is lost to istiod's failing merge (EPP223) whatever it names; a MERGE without typed_config has
  // nothing to name a service in until it gets one.
  const at = (sites: readonly ExtProcSite[]) => sites.map((site) => patchLocation(site.patch.index)).join(', ');
  const typedStructs = serviceless.filter((site) => site.via === 'typed-struct');
  const unnamed = serviceless.filter((site) => site.via !== 'typed-struct');
  const mergeNotes = [
    ...(unnamed.length === 0 ? [] : [`the HTTP_FILTER MERGE at ${at(unnamed)} into istiod's filter names none either (no envoy_grpc cluster_name, no google_grpc)`]),
    ...(typedStructs.length === 0 ? [] : [`the HTTP_FILTER MERGE at ${at(typedStructs)} into istiod's filter is a TypedStruct, which istiod's merge fails on (EPP223)`]),
  ];
  const mergeNote = mergeNotes.length === 0 ? '' : `; ${mergeNotes.join(', and ')}, so that filter keeps istiod's grpc_service`;
  const measured = serviceless.length === 0 ? 'Measured' : 'Measured, with and without such a MERGE';
  const message = `typed_per_filter_config["${EXT_PROC_FILTER_NAME}"] turns istiod's filter on (a processing_mode that sends something) but names no grpc_service${closed ? ', with failure_mode_allow: false,' : ''} and this EnvoyFilter puts in no ext_proc filter of its own${mergeNote}: ${istiodInsertsItsFilter}, and this entry replaces istiod's override on the route whole, so istiod's filter calls its own grpc_service, a cluster named dummy that Envoy does not have, ${closed ? `and may not fail open. ${measured}: 500 on every request, the EPP picks none` : `and fails open there (istiod's filter-level failure_mode_allow: true). ${measured}: 200 on every request from a Pod the EPP did not pick: the EPP is bypassed`}`;
  const inMerge =
    unnamed.length === 0
      ? ''
      : `, or in the HTTP_FILTER MERGE at ${at(unnamed)}: ${unnamed.some((site) => site.via === 'filter-name') ? `typed_config: {"@type": type.googleapis.com/${EXTERNAL_PROCESSOR_TYPE}, ${grpcServiceTo(undefined)}}` : grpcServiceTo(undefined)} (measured: 200, the EPP consulted once per request)`;
  const fix = `name the EPP cluster in the override, overrides: {${grpcServiceTo(undefined)}, ...}, as examples/envoyfilter-placeholder.yaml does${inMerge}${closed ? '' : `; if another EnvoyFilter puts in a ${EXT_PROC_FILTER_NAME} filter of its own that names the EPP cluster (this override then turns it on), set EPP230 to off`}`;
  return finding('EPP230', severities, { location: patchLocation(override.patch.index), path: formatPath(override.segments) }, message, fix);
}

/**
 * A VIRTUAL_HOST entry under istiod's key turns istiod's filter on, without a grpc_service and forbidden to fail open,
 * on the routes that have no override of their own: the gateway's routes that do not go to an InferencePool.
 * Measured (EPP230-virtual-host-override-* scenarios): 500 on such a route, with or without an ext_proc filter of the
 * EnvoyFilter's own; the InferencePool route, with its own override (istiod's or an HTTP_ROUTE MERGE's), unchanged.
 */
function virtualHostFinding(override: ExtProcSite, routeOverrides: readonly ExtProcSite[], istiodInsertsItsFilter: string, severities: SeverityOverrides): Finding {
  const message = `typed_per_filter_config["${EXT_PROC_FILTER_NAME}"] on a virtual host turns istiod's filter on (a processing_mode that sends something) with failure_mode_allow: false but names no grpc_service: ${istiodInsertsItsFilter}, which sends nothing on a route without an override of its own. istiod sets its override on the InferencePool routes only, so on the gateway's other routes this entry is the only one: istiod's filter calls its own grpc_service, a cluster named dummy that Envoy does not have, and may not fail open. Measured: 500 on every request to a route of the gateway that does not go to an InferencePool (with or without an ext_proc filter of this EnvoyFilter's own); the InferencePool route, with its own override, answered 200 as before`;
  const unset = "or take failure_mode_allow: false out of this entry: istiod's filter then fails open on those routes (measured: 200, the EPP not consulted there)";
  const fix =
    routeOverrides.length > 0
      ? `drop this VIRTUAL_HOST patch: the HTTP_ROUTE MERGE at ${routeOverrides.map((site) => patchLocation(site.patch.index)).join(', ')} already sets the override on the InferencePool route; ${unset}`
      : `set the override per InferencePool route instead, ${routeOverridePatch(`overrides: {${grpcServiceTo(undefined)}, processing_mode: <this entry's>, failure_mode_allow: false}`)}, as examples/envoyfilter-placeholder.yaml does; ${unset}`;
  return finding('EPP230', severities, { location: patchLocation(override.patch.index), path: formatPath(override.segments) }, message, fix);
}

/**
 * A VIRTUAL_HOST entry under istiod's key naming a cluster, in an EnvoyFilter with no route override and no ext_proc
 * filter of its own: the example's route override written for the virtual host. Envoy takes the most specific
 * per-filter config, a route's over its virtual host's, and istiod sets its own on each InferencePool route, so there
 * this entry never applies. Measured (EPP230-virtual-host-epp-cluster-*): on the InferencePool route istiod's cluster
 * carries the calls and the entry's none, 500 (istiod's cluster plaintext) or 200 (a DestinationRule giving it TLS); on
 * a route to a plain Service the entry turns istiod's filter on, 200 with the EPP consulted once per request.
 */
function virtualHostClusterFinding(override: ExtProcSite, cluster: string, istiodInsertsItsFilter: string, severities: SeverityOverrides): Finding {
  const reading = siteReading(override);
  const overrides = readField(override.config, 'overrides', reading);
  const sends = isObject(overrides) && setsModeThatSends(overrides, reading);
  const elsewhere = sends ? `; on the gateway's other routes, which istiod gives no override, this entry turns istiod's filter on, calling ${cluster} (measured on a route to a plain Service: 200, the EPP consulted once per request)` : '';
  const message = `typed_per_filter_config["${EXT_PROC_FILTER_NAME}"] on a virtual host names cluster ${cluster}, and no HTTP_ROUTE MERGE in this EnvoyFilter sets it on a route: ${istiodInsertsItsFilter} and sets on each such route its own override, naming istiod's cluster of the pool's EPP Service; Envoy takes a route's per-filter config over its virtual host's, so on the InferencePool routes this entry never applies and ${cluster} carries nothing for them. Measured: 500 on every request to the InferencePool route (istiod's cluster is plaintext, the EPP serves TLS), or, with a DestinationRule giving it TLS, 200 with the EPP consulted through istiod's cluster${elsewhere}`;
  const fix = `set the override per InferencePool route instead, ${routeOverridePatch(`overrides: {${grpcServiceTo(cluster)}, processing_mode: ${sends ? "<this entry's>" : `{${EPP_MODE}}`}, failure_mode_allow: false}`)}, as examples/envoyfilter-placeholder.yaml does, and drop this VIRTUAL_HOST patch unless the gateway's other routes are to call the EPP too${ELSEWHERE}`;
  return finding('EPP230', severities, { location: patchLocation(override.patch.index), path: formatPath(override.segments) }, message, fix);
}

/**
 * The filter's processing_mode as the override is to hold it. A TypedStruct's Envoy reads itself (lower-case names,
 * numbers in strings); the override is typed, and istiod refuses those there (EPP201): its modes are written out by name.
 */
function modeToCopy(site: ExtProcSite): string {
  if (site.via !== 'typed-struct') return "<this filter's>";
  const written = readField(site.config, 'processing_mode', 'envoy');
  const { mode, explicit } = readProcessingMode(isObject(written) ? written : undefined, 'envoy');
  return `{${MODE_FIELDS.filter((field) => explicit.has(field)).map((field) => `${field}: ${mode[field]}`).join(', ')}}`;
}

/**
 * No route override in this EnvoyFilter: istiod's takes over this filter (same name), or istiod's filter runs beside
 * it (another name). `replacesIstiods`: this filter took istiod's place in the chain (only for the same name; another
 * name is not judged then).
 */
function takeoverFinding(filter: OwnFilter, replacesIstiods: boolean, istiodInsertsItsFilter: string, namedRule: string, severities: SeverityOverrides): Finding {
  const { site, name, cluster, own } = filter;
  const sameName = name === EXT_PROC_FILTER_NAME;
  const noOverride = `no HTTP_ROUTE MERGE in this EnvoyFilter sets typed_per_filter_config["${EXT_PROC_FILTER_NAME}"] on the InferencePool routes (every route, or one istiod names <namespace>.<HTTPRoute name>.<rule index>), which would replace istiod's override`;
  const condition = `${istiodInsertsItsFilter} and sets on each such route an ExtProcPerRoute naming istiod's cluster of the pool's EPP Service`;
  const plaintext = "500 on every request (istiod's cluster is plaintext, the EPP serves TLS)";
  const message = sameName
    ? `ext_proc filter ${name} on a gateway, and ${noOverride}: ${condition}; Envoy keys per-route config by filter name, so on those routes this filter calls istiod's cluster ${replacesIstiods ? 'instead' : 'too'} and ${own} carries nothing. Measured: ${plaintext}${replacesIstiods ? '' : ', or, with a DestinationRule giving it TLS, 200 with the EPP consulted twice per request'}`
    : `ext_proc filter ${name} on a gateway, and ${noOverride} (for instance turning it off): ${condition}; on those routes that filter runs as well as this one, calling istiod's cluster. Measured with this filter inserted before the router (after istiod's): ${plaintext}, no request reached the EPP through ${own} for a pick (it got only the 500's response headers)`;
  const noted = message + namedRule;
  // The override replaces istiod's whole entry, its failure_mode_allow (false for a FailClose pool) too; without one
  // the filter-level one applies, which for istiod's filter is true (pilot/pkg/xds/filters/filters.go). Measured with
  // the EPP down (EPP230-override-* scenarios): FULL_DUPLEX_STREAMED got 500 with and without it; header-only modes
  // failed open without it (200 from a Pod nobody picked) and got 500 with it. A stream that cannot open at all (a
  // cluster Envoy lacks) failed open without it even in FULL_DUPLEX_STREAMED (EPP230-override-without-grpc-service).
  const toOwnCluster = routeOverridePatch(`overrides: {${grpcServiceTo(cluster)}, processing_mode: ${modeToCopy(site)}, failure_mode_allow: false}`);
  const failureMode =
    "failure_mode_allow: false, as istiod sets for a FailClose pool (true for FailOpen): the override replaces istiod's, and without one istiod's filter-level true applies, which with the EPP down let header-only modes bypass it (measured; FULL_DUPLEX_STREAMED got 500 either way), and lets any mode bypass it where the stream cannot open at all (a cluster Envoy lacks; measured: EPP230-override-without-grpc-service)";
  const fix = !sameName
    ? `per InferencePool route add ${routeOverridePatch('disabled: true')} to turn istiod's filter off there (measured: 200, the EPP consulted once per request, through ${own})${ELSEWHERE}`
    : replacesIstiods
      ? `per InferencePool route add ${toOwnCluster} (${failureMode}), as examples/envoyfilter-placeholder.yaml does${ELSEWHERE}`
      : `per InferencePool route add ${toOwnCluster} (${failureMode}); istiod's filter takes that override as well (the EPP is then consulted twice per request), so where istiod's support is on keep the route patch and drop this HTTP_FILTER patch, as examples/envoyfilter-placeholder.yaml does (measured: 200, the EPP consulted once)${ELSEWHERE}`;
  return finding('EPP230', severities, { location: patchLocation(site.patch.index), path: formatPath(site.segments) }, noted, fix);
}

/**
 * Under Istio with InferencePool support (ENABLE_GATEWAY_API_INFERENCE_EXTENSION), istiod inserts its own ext_proc
 * filter, named envoy.filters.http.ext_proc, on a Gateway API gateway with an InferencePool route and turns it on for
 * each such route with an ExtProcPerRoute naming istiod's own cluster of the pool's EPP Service. Envoy keys per-route
 * config by filter name, so that override also retargets a filter of the same name that this EnvoyFilter adds; beside
 * a filter of another name istiod's runs too, with istiod's cluster. An HTTP_ROUTE merge here under istiod's key
 * replaces istiod's override (see istiodOverrideReplacements), so none of that fires then, unless the replacement
 * leaves istiod's filter calling its own missing cluster with no way to fail open (istiodsFilterOnDummy), or, with no
 * ext_proc filter of this EnvoyFilter's own (a MERGE into istiod's filter that names no service is none), calling it at
 * all (overrideOnlyFinding). A VIRTUAL_HOST merge under
 * istiod's key reaches the routes istiod gave no override, those that do not go to an InferencePool: turning istiod's
 * filter on there without a grpc_service and with no way to fail open breaks them (virtualHostFinding); one naming a
 * cluster, as the route override was meant to, never reaches the InferencePool routes (virtualHostClusterFinding). A
 * REPLACE of istiod's filter takes it out of the chain (replacesIstiodsFilter). The webhook cannot see istiod's flag
 * nor the gateway's routes, so this warns. Only ext_proc configs of this EnvoyFilter are judged; the caller
 * keeps the finding only for configs judged to talk to an EPP.
 */
export function checkIstiodRouteOverride(
  object: unknown,
  sites: readonly ExtProcSite[],
  severities: SeverityOverrides,
  known: EppServices,
): { site: ExtProcSite; finding: Finding }[] {
  const found: { site: ExtProcSite; finding: Finding }[] = [];
  if (selectsClassicGateway(object)) return found;
  const replacements = istiodOverrideReplacements(sites);
  const istiodInsertsItsFilter = istiodsFilterCondition(object, known);
  // A REPLACE that swaps istiod's filter out leaves no istiod filter for a virtual host's entry to turn on; an
  // HTTP_ROUTE override on every route is more specific than the virtual host's everywhere (not measured: left alone).
  const istiodsFilterStays = !sites.some((site) => site.kind === 'filter' && putsFilter(site.patch) && replacesIstiodsFilter(site.patch));
  if (istiodsFilterStays && !replacements.some((site) => matchesEveryRoute(site.patch))) {
    for (const override of virtualHostOverrides(sites)) {
      if (istiodsFilterOnDummy(override) === 'fails-closed') found.push({ site: override, finding: virtualHostFinding(override, replacements, istiodInsertsItsFilter, severities) });
    }
  }
  // The route override written for the virtual host: with no HTTP_ROUTE override under istiod's key here (one on some
  // route makes the virtual host's entry a choice for the others) and no filter of this EnvoyFilter's own (whose
  // takeover is warned about on the filter), the entry is all this EnvoyFilter gives the InferencePool routes.
  if (!sites.some(isIstiodRouteOverride) && !sites.some((site) => site.kind === 'filter' && putsFilter(site.patch))) {
    for (const override of virtualHostOverrides(sites)) {
      const cluster = overrideCluster(override);
      if (cluster !== undefined) found.push({ site: override, finding: virtualHostClusterFinding(override, cluster, istiodInsertsItsFilter, severities) });
    }
  }
  // No ext_proc filter here (none put in, none merged into but istiod's, by MERGEs that leave it istiod's grpc_service):
  // on the route istiod's filter is the only one, on its own cluster.
  const serviceless = sites.filter((site) => leavesIstiodsService(object, site));
  // A filter that does not reach the gateway (a sidecar context) is none of its own there either.
  if (!sites.some((site) => site.kind === 'filter' && reachesGateway(site.patch) && !serviceless.includes(site))) {
    for (const override of replacements) {
      const fails = istiodsFilterOnDummy(override);
      if (fails !== undefined) found.push({ site: override, finding: overrideOnlyFinding(override, fails, istiodInsertsItsFilter, severities, serviceless) });
    }
    return found;
  }
  const failClosedOverride = replacements.find((site) => istiodsFilterOnDummy(site) === 'fails-closed');
  if (replacements.length > 0 && failClosedOverride === undefined) return found;
  for (const site of sites) {
    if (site.kind !== 'filter' || !putsFilter(site.patch)) continue;
    const name = site.patch.valueName;
    if (typeof name !== 'string') continue;
    const cluster = targetCluster(site.config)?.name;
    const filter: OwnFilter = { site, name, cluster, own: cluster === undefined ? "this filter's ext_proc server" : `cluster ${cluster}` };
    const replacesIstiods = replacesIstiodsFilter(site.patch);
    if (failClosedOverride !== undefined) {
      // With istiod's filter swapped out, the override applies to this filter (same name, its own cluster) or to none.
      if (replacesIstiods) continue;
      found.push({ site, finding: failClosedOverrideFinding(filter, failClosedOverride, istiodInsertsItsFilter, severities) });
    } else {
      // Swapped for a filter of another name, istiod's filter is gone and its override keyed by its name applies to none.
      if (replacesIstiods && name !== EXT_PROC_FILTER_NAME) continue;
      found.push({ site, finding: takeoverFinding(filter, replacesIstiods, istiodInsertsItsFilter, namedRuleNote(sites), severities) });
    }
  }
  return found;
}
