import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { quoteValue } from '../json-value.ts';
import { patchLocation } from './config-patches.ts';
import type { ExtProcSite } from './ext-proc-configs.ts';

const EXT_PROC_PACKAGE = 'envoy.extensions.filters.http.ext_proc.v3.';
/** Envoy's v2 API is gone from istiod's registry, as are names in the ext_proc package that are not messages. */
const UNKNOWN_TO_ISTIO = (type: string) => /\.v2(alpha|beta)?\d*\./.test(type) || type.startsWith(EXT_PROC_PACKAGE);

/**
 * An HTTP filter named ext_proc whose typed_config istiod cannot convert: no `@type` (an Any needs one), or a
 * type in the ext_proc or v2 namespaces that istiod's registry does not hold (a misspelt or outdated name).
 */
export function checkFilterType(site: ExtProcSite, severities: SeverityOverrides): Finding[] {
  if (site.kind !== 'filter' || site.via !== 'filter-name' || Object.keys(site.config).length === 0) return [];
  const type = site.config['@type'];
  const at = { location: patchLocation(site.patch.index), path: formatPath(type === undefined ? site.segments : [...site.segments, '@type']) };
  const fix = 'write "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
  if (type === undefined) {
    return [finding('EPP219', severities, at, 'ext_proc typed_config has no "@type": istiod refuses this at kubectl apply (a typed_config names its type)', fix)];
  }
  const name = typeof type === 'string' ? type.slice(type.lastIndexOf('/') + 1) : '';
  if (typeof type !== 'string' || UNKNOWN_TO_ISTIO(name)) {
    return [finding('EPP219', severities, at, `ext_proc typed_config "@type" ${quoteValue(type)} is not a type istiod knows: istiod refuses this at kubectl apply`, fix)];
  }
  return [];
}
