import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { envoyField, envoyFieldKey, isObject, quoteValue } from '../json-value.ts';
import { patchLocation, type ConfigPatch } from './config-patches.ts';
import { extProcFilterNames, type ExtProcSite } from './ext-proc-configs.ts';
import { hasTypedConfig, isFilterConfig, perFilterEntries } from './filter-configs.ts';
import { rejectsUpdate } from './envoy-rejects-update.ts';

const FIX = 'to turn the filter on here, put its per-route config in config: {"@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute, overrides: {processing_mode: {...}}}; to turn it off, disabled: true';

/**
 * A route FilterConfig under the name of an ext_proc filter (istiod's, or one this EnvoyFilter puts in). istiod decodes
 * it (jsonpb: `disabled` a bool, `config` an Any with "@type") and Envoy refuses one that is neither `disabled: true`
 * nor has a `config` ("Empty route/virtual host per filter configuration", config_impl.cc PerFilterConfigs): the route
 * update is rejected. Asked of istiod and Envoy 1.40 by the differential corpus (family filter-config).
 */
export function checkFilterConfigs(patches: readonly ConfigPatch[], sites: readonly ExtProcSite[], severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  for (const { patch, filterName, entry, segments } of perFilterEntries(patches, extProcFilterNames(sites))) {
    if (!isFilterConfig(entry)) continue;
    const at = (field: string) => ({ location: patchLocation(patch.index), path: formatPath([...segments, envoyFieldKey(entry, field)]) });
    const disabled = envoyField(entry, 'disabled');
    const config = envoyField(entry, 'config');
    const name = `typed_per_filter_config["${filterName}"]`;
    if (disabled != null && typeof disabled !== 'boolean') {
      const key = envoyFieldKey(entry, 'disabled');
      findings.push(finding('EPP214', severities, at('disabled'), `${name} FilterConfig ${key} ${quoteValue(disabled)} is not a bool: istiod refuses this at kubectl apply`, `write ${key} as true or false, unquoted`));
    } else if (config != null && !hasTypedConfig(entry)) {
      // istiod decodes the Any whether or not the filter is disabled.
      findings.push(finding('EPP219', severities, at('config'), `${name} FilterConfig config ${isObject(config) ? 'has no "@type"' : `${quoteValue(config)} is not an object with "@type"`}: istiod refuses this at kubectl apply`, FIX));
    } else if (disabled !== true && config == null) {
      findings.push(
        finding(
          'EPP217',
          severities,
          { location: patchLocation(patch.index), path: formatPath(segments) },
          `${name} is a FilterConfig with ${disabled === false ? 'disabled: false and' : 'neither disabled: true nor'} no config: Envoy refuses it ("Empty route/virtual host per filter configuration") and ${rejectsUpdate('per-route')}`,
          FIX,
        ),
      );
    }
  }
  return findings;
}
