import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { envoyField, envoyFieldKey } from '../json-value.ts';
import { patchLocation, type ConfigPatch } from './config-patches.ts';
import { anyType, EXTERNAL_PROCESSOR_TYPE as EXTERNAL_PROCESSOR } from './ext-proc-configs.ts';
import { ISTIOD_FILTER, picksIstiodFilter } from './merge-into-istiod-filter.ts';


/**
 * A MERGE into istiod's InferencePool ext_proc filter whose typed_config is another message (a TypedStruct wrapping the
 * config, or another filter's type): istiod merges the two protos (util.MergeAnyWithAny), and its merge panics on two
 * messages of different types (asked of Istio's merge by the oracle). ApplyListenerPatches recovers and pushes the
 * listeners as they stand. istiod applies the HTTP filter patches of a connection manager to a copy of its config,
 * written back only after the last MERGE (pilot/pkg/networking/core/envoyfilter/listener_patch.go patchHTTPFilters), so
 * the panic loses every HTTP_FILTER patch on it, of EnvoyFilters ordered before this one as after; LISTENER and
 * NETWORK_FILTER merges, applied in place before, hold, as do route and cluster patches (patched apart). Measured:
 * EPP223-typed-struct-merge in test/dataplane/rules.dataplane.test.ts.
 */
export function checkMergeType(object: unknown, patches: readonly ConfigPatch[], severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  for (const patch of patches) {
    if (patch.value === undefined || !picksIstiodFilter(object, patch)) continue;
    const key = envoyFieldKey(patch.value, 'typed_config');
    const type = anyType(envoyField(patch.value, 'typed_config'));
    if (type === undefined || type === EXTERNAL_PROCESSOR) continue;
    findings.push(
      finding(
        'EPP223',
        severities,
        { location: patchLocation(patch.index), path: formatPath([...patch.valuePath, key]) },
        `ext_proc MERGE into ${ISTIOD_FILTER}, with a typed_config of type ${type}: istiod merges it into its own ExternalProcessor, the merge of two messages of different types panics, and istiod pushes the gateway's listener without its HTTP filter patches (it logs "listeners patch caused panic, so the patches did not take effect"). Measured on a gateway of one listener: no HTTP_FILTER patch of its connection manager took effect, of EnvoyFilters ordered before this one or after (the filters two of them insert before the router were missing from Envoy's listener), nor this MERGE's own fields, while the later one's LISTENER and NETWORK_FILTER merges held; a gateway of several listeners is not measured`,
        `write typed_config as a typed ExternalProcessor ("@type": type.googleapis.com/${EXTERNAL_PROCESSOR}) with only the fields to change`,
      ),
    );
  }
  return findings;
}
