import { isObject } from '../json-value.ts';
import { sendsNothing } from './check-processing-mode.ts';
import { siteReading, type ExtProcSite } from './ext-proc-configs.ts';
import { readField } from './field-reading.ts';

/** The HTTP filter a per-route site configures: Envoy keys typed_per_filter_config by filter name. */
export function perRouteFilterName(site: ExtProcSite): string | undefined {
  const at = site.segments.findLastIndex((s) => s === 'typed_per_filter_config' || s === 'typedPerFilterConfig');
  const name = at < 0 ? undefined : site.segments[at + 1];
  return typeof name === 'string' ? name : undefined;
}

/**
 * Whether an ExtProcPerRoute can make the filter named `filterName` send something on its routes: keyed by that name,
 * with overrides that set a processing_mode sending something. `disabled: true`, or overrides without a processing_mode
 * (only a grpc_service or failure_mode_allow), leave a filter that sends nothing as it is.
 */
export function turnsOn(site: ExtProcSite, filterName: unknown): boolean {
  if (site.kind !== 'per-route' || perRouteFilterName(site) !== filterName) return false;
  const reading = siteReading(site);
  const overrides = readField(site.config, 'overrides', reading);
  return isObject(overrides) && isObject(readField(overrides, 'processing_mode', reading)) && !sendsNothing(overrides, reading);
}

/** Whether a per-route site under the filter's name turns on a filter the connection manager holds `disabled: true`. */
export function enablesDisabledFilter(site: ExtProcSite, filterName: unknown): boolean {
  return site.kind === 'per-route' && perRouteFilterName(site) === filterName && readField(site.config, 'disabled', siteReading(site)) !== true;
}
