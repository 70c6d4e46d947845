import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { ANNOTATIONS } from '../annotations.ts';
import { isObject } from '../json-value.ts';
import type { InjectedFilter } from './inject-extension-ref.ts';

/**
 * EPP406: an ExtensionRef the webhook just injected names an EnvoyFilter that is not in the route's namespace (an
 * ExtensionRef is a local reference). Nothing fails at admission, so without this the route silently points at
 * nothing. `envoyFilters` must hold every EnvoyFilter there is (serve's watch of the cluster), and be synced: a
 * partial view (a file, the manifests given to check) would make a missing name a guess.
 */
export function missingEnvoyFilters(
  mutated: unknown,
  injected: readonly InjectedFilter[],
  namespace: string,
  config: WebhookConfig,
  envoyFilters: EnvoyFilterIndex | undefined,
): Finding[] {
  if (envoyFilters === undefined || !envoyFilters.ready() || injected.length === 0) return [];
  if (config.extensionRef.group !== 'networking.istio.io' || config.extensionRef.kind !== 'EnvoyFilter') return [];
  const rules = isObject(mutated) && isObject(mutated.spec) && Array.isArray(mutated.spec.rules) ? mutated.spec.rules : [];
  const said = new Set<string>();
  const findings: Finding[] = [];
  for (const { rule: index, filter: at } of injected) {
    const rule = rules[index];
    const filter = isObject(rule) && Array.isArray(rule.filters) ? rule.filters[at] : undefined;
    const name = isObject(filter) && isObject(filter.extensionRef) ? filter.extensionRef.name : undefined;
    if (typeof name !== 'string' || said.has(name) || envoyFilters.has(namespace, name)) continue;
    said.add(name);
    findings.push(
      finding(
        'EPP406',
        config.severities,
        { location: `rules[${index}]`, path: `spec.rules[${index}].filters[${at}]` },
        `the injected ExtensionRef names EnvoyFilter ${name}, which is not in namespace ${namespace}. The name is chosen when the route is admitted: an EnvoyFilter annotated ${ANNOTATIONS.inferencePool} with the rule's pool that is applied after this route (even in the same kubectl apply) is not picked up`,
        `apply EnvoyFilter ${name} in ${namespace}; or apply the EnvoyFilter annotated with the rule's pool, then this route again; or name yours with annotation ${ANNOTATIONS.extProcFilter} (the default is the config's extensionRef.name)`,
      ),
    );
  }
  return findings;
}
