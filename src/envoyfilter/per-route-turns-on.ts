import { envoyField, isObject } from '../json-value.ts';
import { setsModeThatSends } from './check-processing-mode.ts';
import type { ConfigPatch } from './config-patches.ts';
import { perRouteFilterName, siteReading, unwrapAny, type ExtProcSite } from './ext-proc-configs.ts';
import { filterConfigTurnsOn, isFilterConfig, perFilterEntries } from './filter-configs.ts';
import { readField } from './field-reading.ts';

/**
 * Whether an ExtProcPerRoute can make the filter named `filterName` send something on its routes: keyed by that name,
 * with overrides that set a processing_mode sending something. `disabled: true`, or overrides without a processing_mode
 * (only a grpc_service or failure_mode_allow), leave a filter that sends nothing as it is.
 */
export function turnsOn(site: ExtProcSite, filterName: unknown): boolean {
  if (site.kind !== 'per-route' || perRouteFilterName(site) !== filterName) return false;
  const reading = siteReading(site);
  const overrides = readField(site.config, 'overrides', reading);
  return isObject(overrides) && setsModeThatSends(overrides, reading);
}

/**
 * Whether some typed_per_filter_config entry in the patches turns on the filter named `filterName`, which its connection
 * manager holds `disabled: true`: Envoy takes any entry under its name as turning it on (the filter's per-route config,
 * or a FilterConfig with a `config`) but one that is itself `disabled: true`; a FilterConfig with neither is refused
 * (EPP217). A per-route config of `disabled: true` (alone, or as a FilterConfig's `config`) turns the filter on only
 * for it to skip the route: the EPP is still never consulted there.
 */
export function enablesDisabledFilter(patches: readonly ConfigPatch[], filterName: unknown): boolean {
  if (typeof filterName !== 'string') return false;
  return perFilterEntries(patches, new Set([filterName])).some(({ entry }) => {
    const perRoute = isFilterConfig(entry) ? (filterConfigTurnsOn(entry) ? envoyField(entry, 'config') : undefined) : entry;
    return isObject(perRoute) && envoyField(unwrapAny(perRoute).message, 'disabled') !== true;
  });
}
