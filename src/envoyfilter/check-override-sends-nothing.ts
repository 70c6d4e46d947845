import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { isObject } from '../json-value.ts';
import { patchLocation } from './config-patches.ts';
import { grpcServiceTo, istiodOverrideReplacements, matchedRuleName, namedRuleOverrides, putsFilter } from './check-istiod-route-override.ts';
import { EXT_PROC_FILTER_NAME, siteReading, type ExtProcSite } from './ext-proc-configs.ts';
import { readField } from './field-reading.ts';
import { overrideCluster } from './istiod-route-overrides.ts';
import { EPP_MODE, MODE_FIELDS, silentFor, type EffectiveProcessingMode } from './processing-mode.ts';
import { selectsClassicGateway } from './selects-classic-gateway.ts';

/**
 * EPP206 on an InferencePool route. An HTTP_ROUTE merge under istiod's key replaces istiod's override on the route
 * whole, its processing_mode too, and where the override has none Envoy runs the route's filter at the filter's own.
 * With no ext_proc filter of this EnvoyFilter's own on the gateway, that filter is istiod's, whose own mode (headers
 * SKIP, bodies NONE: pilot/pkg/xds/filters/filters.go), unless a MERGE here sets another, sends nothing: the override
 * names the EPP cluster and the EPP is never consulted (measured: EPP206-route-override-without-mode). The same on a
 * route named as a rule could be (`name: models`), said for where that rule goes to an InferencePool (measured:
 * EPP206-named-rule-override-without-mode). An override that names no cluster either (`overrides: {failure_mode_allow:
 * false}`, written as if it added to istiod's) leaves istiod's filter its own cluster too, and still sends nothing
 * (measured: EPP206-route-override-failure-mode-only). `istiodFilterMode` is istiod's filter after this EnvoyFilter's
 * MERGEs into it.
 */
export function checkOverrideSendsNothing(object: unknown, sites: readonly ExtProcSite[], istiodFilterMode: EffectiveProcessingMode, severities: SeverityOverrides): { site: ExtProcSite; finding: Finding }[] {
  if (selectsClassicGateway(object) || !MODE_FIELDS.every((field) => istiodFilterMode[field] === silentFor(field))) return [];
  if (sites.some((site) => site.kind === 'filter' && putsFilter(site.patch))) return [];
  const found: { site: ExtProcSite; finding: Finding }[] = [];
  for (const site of [...istiodOverrideReplacements(sites), ...namedRuleOverrides(sites)]) {
    const cluster = overrideCluster(site);
    const reading = siteReading(site);
    const overrides = readField(site.config, 'overrides', reading);
    // A null field is unset to istiod's JSON reading, as a missing one is.
    if (!isObject(overrides) || (readField(overrides, 'processing_mode', reading) ?? null) !== null) continue;
    // A grpc_service naming no cluster (empty, google_grpc) is for the rules on the service itself.
    if (cluster === undefined && (readField(overrides, 'grpc_service', reading) ?? null) !== null) continue;
    // Without a cluster either, the entry was likely written as if it added to istiod's override: say that it does not.
    const [names, whole, fix] =
      cluster === undefined
        ? ['names neither a grpc_service nor a processing_mode', " (it takes the place of istiod's whole, it is not merged into it)", `set ${grpcServiceTo(undefined)} and processing_mode: {${EPP_MODE}} in the override`]
        : [`names ext_proc cluster ${cluster}, without a processing_mode`, '', `set processing_mode: {${EPP_MODE}} in the override`];
    const rule = matchedRuleName(site.patch);
    const replaces =
      rule === undefined
        ? `replaces istiod's override on the route and ${names}`
        : `${names}, on route ${rule}, the name istiod gives the route of an HTTPRoute rule with name: ${rule}; where that rule goes to an InferencePool, this replaces istiod's override on its route`;
    const message = `typed_per_filter_config["${EXT_PROC_FILTER_NAME}"] ${replaces}${whole}, so the route's ext_proc filter runs at its own mode, and this EnvoyFilter puts in no ext_proc filter of its own: where istiod runs with InferencePool support that filter is istiod's, whose own mode is headers SKIP and bodies NONE (no MERGE here sets another), so it sends the EPP nothing and the EPP is never consulted. Measured: 200 on every request from a Pod the EPP did not pick`;
    found.push({ site, finding: finding('EPP206', severities, { location: patchLocation(site.patch.index), path: formatPath([...site.segments, 'overrides']) }, message, `${fix}, as examples/envoyfilter-placeholder.yaml does`) });
  }
  return found;
}
