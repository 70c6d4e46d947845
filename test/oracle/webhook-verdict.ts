import { mutateObject, validateObject, type CoreDeps } from '../../src/admission/admit-object.ts';
import { knownEppServices } from '../../src/admission/known-epp-services.ts';
import { readConfigPatches } from '../../src/envoyfilter/config-patches.ts';
import { findExtProcConfigs } from '../../src/envoyfilter/ext-proc-configs.ts';
import { mergedProcessingMode, mergesIntoIstiodFilter, writtenProcessingMode } from '../../src/envoyfilter/merge-into-istiod-filter.ts';
import { readProcessingMode, type EffectiveProcessingMode } from '../../src/envoyfilter/processing-mode.ts';
import type { Finding } from '../../src/findings.ts';
import { envoyField, isObject } from '../../src/json-value.ts';

export interface WebhookVerdict {
  allowed: boolean;
  /** Findings of the mutating and the validating webhook, severity off dropped. */
  findings: Finding[];
  /** The object as stored: what istiod then sees. */
  stored: unknown;
  /**
   * The processing mode the webhook judged at each ext_proc site (`patch/kind/n`) that sets one; for a MERGE into
   * istiod's InferencePool filter, the mode of the merged filter.
   */
  judged: Map<string, EffectiveProcessingMode>;
}

/** The webhook's verdict on an EnvoyFilter applied in `namespace`: the mutating webhook, then the validating one, as the server runs them. */
export async function askWebhook(object: unknown, namespace: string, deps: CoreDeps): Promise<WebhookVerdict> {
  const mutated = await mutateObject('EnvoyFilter', object, namespace, deps);
  const eppServices = await knownEppServices(namespace, deps.resolver, deps.config);
  const validated = validateObject('EnvoyFilter', mutated.object, deps.config, eppServices);
  const findings = [...mutated.findings, ...validated].filter((f) => f.severity !== 'off');
  const judged = new Map<string, EffectiveProcessingMode>();
  const ordinals = new Map<string, number>();
  const sites = findExtProcConfigs(readConfigPatches(mutated.object, deps.config.severities).patches);
  // The webhook judges every MERGE into istiod's filter on the filter they leave together.
  const istiodFilterMode = mergedProcessingMode(sites.filter((site) => mergesIntoIstiodFilter(mutated.object, site)).map(writtenProcessingMode));
  for (const site of sites) {
    // A FilterConfig turning the filter off is read as an ExtProcPerRoute, and is none in what istiod pushes.
    if (site.via === 'filter-config') continue;
    const prefix = `${site.patch.index}/${site.kind}`;
    const n = ordinals.get(prefix) ?? 0;
    ordinals.set(prefix, n + 1);
    const holder = site.kind === 'filter' ? site.config : envoyField(site.config, 'overrides');
    const mode = isObject(holder) ? envoyField(holder, 'processing_mode') : undefined;
    if (site.kind === 'per-route' && mode === undefined) continue;
    const processingMode = isObject(mode) ? mode : undefined;
    judged.set(
      `${prefix}/${n}`,
      mergesIntoIstiodFilter(mutated.object, site) ? istiodFilterMode : readProcessingMode(processingMode, site.via === 'typed-struct' ? 'envoy' : 'istiod').mode,
    );
  }
  return { allowed: !findings.some((f) => f.severity === 'deny'), findings, stored: mutated.object, judged };
}
