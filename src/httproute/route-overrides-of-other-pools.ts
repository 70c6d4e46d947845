import type { EnvoyFilterIndex, EnvoyFilterIndexRecord } from '../cluster/envoyfilter-index.ts';
import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { isObject } from '../json-value.ts';
import { poolBackends } from './pool-filter.ts';

/**
 * Envoy's name for a rule's route, as istiod gives it (pilot/pkg/config/kube/gateway/conversion.go): the rule's name
 * where it has one, else <namespace>.<HTTPRoute name>.<rule index>; undefined for an unnamed rule of a route still
 * without a name (generateName on CREATE).
 */
function envoyRouteName(rule: Record<string, unknown>, namespace: string, route: string | undefined, index: number): string | undefined {
  if (typeof rule.name === 'string' && rule.name !== '') return rule.name;
  return route === undefined ? undefined : `${namespace}.${route}.${index}`;
}

/**
 * The namespaces whose EnvoyFilters reach the route's gateways: an EnvoyFilter applies to the proxies of its own
 * namespace, where a Gateway's Pods run (or, in Istio's root namespace, to all of them). Measured with the real istiod
 * (two-pools.dataplane.test.ts): one in another namespace reached the gateway in no part, its workloadSelector matching
 * the gateway Pod notwithstanding; one in the root namespace overrode the route.
 */
function gatewayNamespaces(spec: Record<string, unknown>, namespace: string, istioRootNamespace: string): Set<string> {
  const parents = Array.isArray(spec.parentRefs) ? spec.parentRefs : [];
  const namespaces = parents.map((ref) => (isObject(ref) && typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : namespace));
  return new Set([...(namespaces.length > 0 ? namespaces : [namespace]), istioRootNamespace]);
}

/**
 * EPP409. Where istiod runs with InferencePool support it sets, on the Envoy route of each rule to an InferencePool, an
 * ext_proc override naming that pool's EPP; an EnvoyFilter's HTTP_ROUTE merge that names the route replaces it
 * (overriddenRoutes). The merge names a route, not a pool: a rule moved to another pool (a blue/green flip of weights,
 * a patch of its backendRefs) keeps the first pool's override, so the first pool's EPP is asked and picks a Pod of its
 * own pool, which istiod's cluster of the new pool skips (its override_host policy takes a pick only among its own
 * endpoints): Envoy's load balancing chooses, and the new pool's EPP is never consulted (measured:
 * two-pools.dataplane.test.ts). Only EnvoyFilters annotated with a pool are judged: the annotation says whose override
 * it is. Runs whether or not the webhook injects an ExtensionRef: this is what Istio does with the route.
 */
export function routeOverridesOfOtherPools(object: unknown, namespace: string, config: WebhookConfig, envoyFilters: EnvoyFilterIndex | undefined): Finding[] {
  if (envoyFilters === undefined || !envoyFilters.ready() || !isObject(object) || !isObject(object.spec) || !Array.isArray(object.spec.rules)) return [];
  const spec = object.spec;
  const rules: unknown[] = object.spec.rules;
  const route = isObject(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : undefined;
  let reaching: Set<string> | undefined;
  const findings: Finding[] = [];
  // Asked on every HTTPRoute admission, where no EnvoyFilter overrides a route almost always: the index first, the
  // rule's pools and the gateways' namespaces only for a route some EnvoyFilter overrides.
  rules.forEach((rule, index) => {
    if (!isObject(rule) || (rule.backendRefs !== undefined && !Array.isArray(rule.backendRefs))) return;
    const envoyRoute = envoyRouteName(rule, namespace, route, index);
    if (envoyRoute === undefined) return;
    const overridingAny = envoyFilters.envoyFiltersOverriding(envoyRoute);
    if (overridingAny.length === 0) return;
    const pools = poolBackends(rule.backendRefs ?? [], namespace, config.inferencePoolGroups).map((pool) => `${pool.namespace}/${pool.name}`);
    if (pools.length === 0) return;
    reaching ??= gatewayNamespaces(spec, namespace, config.istioRootNamespace);
    const overriding = overridingAny.filter((ef) => ef.inferencePool !== undefined && reaching!.has(ef.namespace));
    const own = overriding.filter((ef) => pools.includes(ef.inferencePool!));
    for (const other of overriding.filter((ef) => !own.includes(ef))) findings.push(otherPoolFinding(index, envoyRoute, pools.join(', '), other, own, config));
  });
  return findings;
}

function otherPoolFinding(index: number, envoyRoute: string, pool: string, other: EnvoyFilterIndexRecord, own: readonly EnvoyFilterIndexRecord[], config: WebhookConfig): Finding {
  const filter = `${other.namespace}/${other.name}`;
  const otherPool = other.inferencePool!;
  const alsoOwn =
    own.length === 0 ? '' : ` EnvoyFilter ${own.map((ef) => `${ef.namespace}/${ef.name}`).join(', ')}, of ${pool}, overrides the route too: which EPP is asked depends on which override istiod merges last.`;
  return finding(
    'EPP409',
    config.severities,
    { location: `rules[${index}]`, path: `spec.rules[${index}].backendRefs` },
    `sends traffic to InferencePool ${pool}, and EnvoyFilter ${filter}, annotated with InferencePool ${otherPool}, overrides this rule's Envoy route ${envoyRoute} with an ext_proc override naming a cluster of its own: where istiod runs with InferencePool support, that override replaces the one istiod sets for ${pool}, so the rule's requests go to ${otherPool}'s EPP, which picks a Pod of ${otherPool}; istiod's cluster of ${pool} takes a pick only among its own Pods (its override_host load-balancing policy), so Envoy's own load balancing chooses: ${pool}'s EPP is never consulted.${alsoOwn} Measured: a blue/green flip of weights kept the first pool's override on the rule's route, and each of its requests was picked by the first pool's EPP and answered 200 by a Pod of the second pool that no EPP picked`,
    `move the route override with the rule: in ${filter} match the route of a rule to ${otherPool} instead of ${envoyRoute}, and in the EnvoyFilter of ${pool} match ${envoyRoute}; if this rule is meant to go through ${otherPool}'s EPP, set EPP409 to off in the webhook's config (for every HTTPRoute)`,
  );
}
