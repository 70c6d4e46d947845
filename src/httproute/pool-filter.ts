import { ANNOTATIONS } from '../annotations.ts';
import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { isObject } from '../json-value.ts';

/** An InferencePool a rule sends traffic to, as its backendRef names it (namespace defaulted to the route's). */
export interface PoolBackend {
  namespace: string;
  name: string;
  index: number;
}

export interface RouteFilterContext {
  /** The route's namespace: where its ExtensionRef (a local reference) must find the EnvoyFilter. */
  namespace: string;
  envoyFilters: EnvoyFilterIndex | undefined;
  /** The route's `ext-proc-filter` annotation, when set. */
  annotated: string | undefined;
}

/**
 * The InferencePools a rule sends traffic to. A backendRef of weight 0 sends none (Gateway API: "no traffic should be
 * forwarded for this entry"; Istio drops it), so its pool is not one: it neither gets the rule an ext_proc filter nor
 * mixes with the rule's other pools (a blue/green switch between two pools at 100/0).
 */
export function poolBackends(backendRefs: readonly unknown[], routeNamespace: string, groups: readonly string[]): PoolBackend[] {
  const pools: PoolBackend[] = [];
  backendRefs.forEach((ref, index) => {
    if (!isObject(ref) || ref.kind !== 'InferencePool' || typeof ref.group !== 'string' || !groups.includes(ref.group)) return;
    if (typeof ref.name !== 'string' || ref.weight === 0) return;
    pools.push({ namespace: typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : routeNamespace, name: ref.name, index });
  });
  return pools;
}

/**
 * The EnvoyFilter one rule's ExtensionRef names: the one in the route's namespace annotated with the rule's pool
 * (`epp-webhook.io/inference-pool`), else the route's `ext-proc-filter` annotation, else the configured name. One rule
 * has one ext_proc filter, so its pools must all lead to the same EnvoyFilter. Where several EnvoyFilters claim a pool
 * (an EnvoyFilter renamed by applying the new one before deleting the old), a rule whose own ExtensionRef (`own`, the
 * names of its ExtensionRefs of the configured kind) names one of them keeps it: the choice is made, and a
 * `kubectl label` of the route must not be refused for an ambiguity the rule does not have.
 */
export function ruleFilterName(
  pools: readonly PoolBackend[],
  rule: PathSegments,
  context: RouteFilterContext,
  config: WebhookConfig,
  own: readonly string[] = [],
): { name: string } | { finding: Finding } {
  const at = (index: number) => ({ location: `rules[${rule[2]}]`, path: formatPath([...rule, 'backendRefs', index]) });
  const fallback = context.annotated ?? config.extensionRef.name;
  const index = context.envoyFilters;
  if (index !== undefined && !index.ready()) {
    return {
      finding: finding(
        'EPP104',
        config.severities,
        at(pools[0].index),
        `cannot tell which EnvoyFilter serves InferencePool ${pools[0].namespace}/${pools[0].name} right now: the EnvoyFilter cache has not finished its first list. This is temporary; nothing was stored`,
        'retry the apply in a few seconds; if it persists, check the webhook pods can list and watch EnvoyFilters (readiness /readyz, RBAC)',
      ),
    };
  }
  const chosen: { pool: PoolBackend; name: string; byPool: boolean }[] = [];
  for (const pool of pools) {
    const serving = index?.servingPool(context.namespace, pool.namespace, pool.name) ?? [];
    const kept = serving.length > 1 ? serving.filter((name) => own.includes(name)) : [];
    if (kept.length === 1) {
      chosen.push({ pool, name: kept[0], byPool: true });
      continue;
    }
    if (serving.length > 1) {
      return {
        finding: finding(
          'EPP405',
          config.severities,
          at(pool.index),
          `InferencePool ${pool.namespace}/${pool.name}: EnvoyFilters ${serving.join(', ')} in namespace ${context.namespace} all carry ${ANNOTATIONS.inferencePool} for it, so the rule's ext_proc filter is ambiguous`,
          `keep ${ANNOTATIONS.inferencePool}: ${pool.namespace === context.namespace ? pool.name : `${pool.namespace}/${pool.name}`} on one EnvoyFilter only, or name one of them in the rule's ExtensionRef (a rule that names one keeps it)`,
        ),
      };
    }
    if (serving.length === 1 && context.annotated !== undefined && context.annotated !== serving[0]) {
      return {
        finding: finding(
          'EPP405',
          config.severities,
          at(pool.index),
          `InferencePool ${pool.namespace}/${pool.name} is served by EnvoyFilter ${serving[0]} (its ${ANNOTATIONS.inferencePool} annotation), but the route's ${ANNOTATIONS.extProcFilter} names ${context.annotated}: the rule would consult another pool's EPP`,
          `remove ${ANNOTATIONS.extProcFilter} (the pool decides), or move ${ANNOTATIONS.inferencePool} to EnvoyFilter ${context.annotated}`,
        ),
      };
    }
    chosen.push({ pool, name: serving[0] ?? fallback, byPool: serving.length === 1 });
  }
  const other = chosen.find((c) => c.name !== chosen[0].name);
  if (other !== undefined) {
    const which = chosen.map((c) => `${c.pool.namespace}/${c.pool.name} -> ${c.name}${c.byPool ? '' : ' (no EnvoyFilter is annotated with it)'}`).join(', ');
    return {
      finding: finding(
        'EPP404',
        config.severities,
        at(other.pool.index),
        `sends traffic to InferencePools served by different EnvoyFilters (${which}), but a rule gets one ext_proc filter: requests for one pool would be picked by the other pool's EPP`,
        'split the rule: one rule per InferencePool (matching on a header or path), each then gets its own filter',
      ),
    };
  }
  const borrowed = chosen.find((c) => !c.byPool && index?.poolOf(context.namespace, c.name) !== undefined && index.poolOf(context.namespace, c.name) !== `${c.pool.namespace}/${c.pool.name}`);
  if (borrowed !== undefined) {
    const { pool, name } = borrowed;
    const owner = index!.poolOf(context.namespace, name)!;
    const chosenBy = context.annotated === undefined ? 'the configured default (extensionRef.name)' : `the route's ${ANNOTATIONS.extProcFilter} annotation`;
    return {
      finding: finding(
        'EPP407',
        config.severities,
        at(pool.index),
        `InferencePool ${pool.namespace}/${pool.name}: no EnvoyFilter in namespace ${context.namespace} carries ${ANNOTATIONS.inferencePool} for it, so the rule would get ${chosenBy}, EnvoyFilter ${name}, which is annotated with InferencePool ${owner}: requests for ${pool.namespace}/${pool.name} would be picked by ${owner}'s EPP. The ExtensionRef is chosen when the route is admitted`,
        `apply the EnvoyFilter for InferencePool ${pool.namespace}/${pool.name} (annotated ${ANNOTATIONS.inferencePool}: ${pool.namespace === context.namespace ? pool.name : `${pool.namespace}/${pool.name}`}) first, then this route again (kubectl apply -f DIR applies files in name order)`,
      ),
    };
  }
  return { name: chosen[0].name };
}
