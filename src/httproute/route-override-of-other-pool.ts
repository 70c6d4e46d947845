import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { isObject } from '../json-value.ts';
import { poolBackends } from './pool-filter.ts';

/**
 * Envoy's name for a rule's route, as istiod gives it (pilot/pkg/config/kube/gateway/conversion.go): the rule's name
 * where it has one, else <namespace>.<HTTPRoute name>.<rule index>.
 */
function envoyRouteName(rule: Record<string, unknown>, namespace: string, route: string, index: number): string {
  return typeof rule.name === 'string' && rule.name !== '' ? rule.name : `${namespace}.${route}.${index}`;
}

/**
 * EPP409. Where istiod runs with InferencePool support it sets, on the Envoy route of each rule to an InferencePool, an
 * ext_proc override naming that pool's EPP; an EnvoyFilter's HTTP_ROUTE merge that names the route replaces it
 * (overriddenRoutes). The merge names a route, not a pool: a rule moved to another pool (a blue/green flip of weights,
 * a patch of its backendRefs) keeps the first pool's override, so the first pool's EPP is asked and picks a Pod of its
 * own pool, which istiod's cluster of the new pool skips (the override_host policy takes a pick only among its own
 * endpoints): Envoy's load balancing chooses, and the new pool's EPP is never consulted (measured:
 * two-pools.dataplane.test.ts).
 * Only EnvoyFilters annotated with a pool are judged: the annotation says whose override it is. Runs whether or not
 * the webhook injects an ExtensionRef: this is what Istio does with the route.
 */
export function routeOverridesOfOtherPools(object: unknown, namespace: string, config: WebhookConfig, envoyFilters: EnvoyFilterIndex | undefined): Finding[] {
  if (envoyFilters === undefined || !envoyFilters.ready()) return [];
  // Without a name (generateName on CREATE) istiod's name for an unnamed rule's route is not known yet.
  const route = isObject(object) && isObject(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : undefined;
  const rules = isObject(object) && isObject(object.spec) && Array.isArray(object.spec.rules) ? object.spec.rules : [];
  const findings: Finding[] = [];
  rules.forEach((rule: unknown, index) => {
    if (!isObject(rule) || (rule.backendRefs !== undefined && !Array.isArray(rule.backendRefs))) return;
    const pools = poolBackends(rule.backendRefs ?? [], namespace, config.inferencePoolGroups).map((pool) => `${pool.namespace}/${pool.name}`);
    if (pools.length === 0 || (route === undefined && typeof rule.name !== 'string')) return;
    const envoyRoute = envoyRouteName(rule, namespace, route ?? '', index);
    for (const other of envoyFilters.overridingRoute(envoyRoute)) {
      if (other.inferencePool === undefined || pools.includes(other.inferencePool)) continue;
      const filter = `${other.namespace}/${other.name}`;
      const pool = pools.join(', ');
      findings.push(
        finding(
          'EPP409',
          config.severities,
          { location: `rules[${index}]`, path: `spec.rules[${index}].backendRefs` },
          `sends traffic to InferencePool ${pool}, and EnvoyFilter ${filter}, annotated with InferencePool ${other.inferencePool}, overrides this rule's Envoy route ${envoyRoute} with an ext_proc override naming a cluster of its own: where istiod runs with InferencePool support, that override replaces the one istiod sets for ${pool}, so the rule's requests go to ${other.inferencePool}'s EPP, which picks a Pod of ${other.inferencePool}; istiod's cluster of ${pool} does not have that Pod, so Envoy skips the pick and its own load balancing chooses: ${pool}'s EPP is never consulted. Measured: a rule moved from one pool to another kept the first pool's override, and each of its requests was picked by the first pool's EPP and answered 200 by a Pod of the second pool that no EPP picked`,
          `move the route override with the rule: in ${filter} match the route of a rule to ${other.inferencePool} instead of ${envoyRoute}, and in the EnvoyFilter of ${pool} match ${envoyRoute}; if this rule is meant to go through ${other.inferencePool}'s EPP, set EPP409 to off`,
        ),
      );
    }
  });
  return findings;
}
