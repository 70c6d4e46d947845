import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { ANNOTATIONS } from '../annotations.ts';
import { isObject } from '../json-value.ts';
import type { InjectedFilter, KeptFilter } from './inject-extension-ref.ts';

/**
 * EPP406: an ExtensionRef the webhook just injected, or an InferencePool rule's own one it kept, names an EnvoyFilter
 * that is not in the route's namespace (an ExtensionRef is a local reference). Nothing fails at admission, so without
 * this the route silently points at nothing. `envoyFilters` must hold every EnvoyFilter there is (serve's watch of the cluster), and be synced: a
 * partial view (a file, the manifests given to check) would make a missing name a guess.
 */
export function missingEnvoyFilters(
  mutated: unknown,
  injected: readonly InjectedFilter[],
  namespace: string,
  config: WebhookConfig,
  envoyFilters: EnvoyFilterIndex | undefined,
  kept: readonly KeptFilter[] = [],
): Finding[] {
  if (envoyFilters === undefined || !envoyFilters.ready() || injected.length + kept.length === 0) return [];
  if (config.extensionRef.group !== 'networking.istio.io' || config.extensionRef.kind !== 'EnvoyFilter') return [];
  const rules = isObject(mutated) && isObject(mutated.spec) && Array.isArray(mutated.spec.rules) ? mutated.spec.rules : [];
  const said = new Set<string>();
  const findings: Finding[] = [];
  const missing = (index: number, at: number): string | undefined => {
    const rule = rules[index];
    const filter = isObject(rule) && Array.isArray(rule.filters) ? rule.filters[at] : undefined;
    const name = isObject(filter) && isObject(filter.extensionRef) ? filter.extensionRef.name : undefined;
    if (typeof name !== 'string' || said.has(name) || envoyFilters.has(namespace, name)) return undefined;
    said.add(name);
    return name;
  };
  const say = (index: number, at: number, message: (name: string) => string, fix: (name: string) => string): void => {
    const name = missing(index, at);
    if (name === undefined) return;
    findings.push(finding('EPP406', config.severities, { location: `rules[${index}]`, path: `spec.rules[${index}].filters[${at}]` }, message(name), fix(name)));
  };
  // A rule's own ExtensionRef to an EnvoyFilter that is gone: what deleting the old name of a renamed one leaves.
  for (const { rule, filter, instead } of kept) {
    say(
      rule,
      filter,
      (name) => `the rule's own ExtensionRef names EnvoyFilter ${name}, which is not in namespace ${namespace} (deleted, or renamed), and the webhook keeps a rule's own ExtensionRef: the route points at nothing`,
      (name) =>
        instead === name
          ? `apply EnvoyFilter ${name} in ${namespace}, or name the EnvoyFilter of the rule's pool there`
          : `name EnvoyFilter ${instead} there (the one a rule to this pool gets), or drop that ExtensionRef and the webhook adds it; or apply EnvoyFilter ${name} in ${namespace}`,
    );
  }
  for (const { rule, filter } of injected) {
    say(
      rule,
      filter,
      (name) => `the injected ExtensionRef names EnvoyFilter ${name}, which is not in namespace ${namespace}. The name is chosen when the route is admitted: an EnvoyFilter annotated ${ANNOTATIONS.inferencePool} with the rule's pool that is applied after this route (even in the same kubectl apply) is not picked up`,
      (name) => `apply EnvoyFilter ${name} in ${namespace}; or apply the EnvoyFilter annotated with the rule's pool, then this route again; or name yours with annotation ${ANNOTATIONS.extProcFilter} (the default is the config's extensionRef.name)`,
    );
  }
  return findings;
}
