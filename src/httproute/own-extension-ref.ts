import { isDeepStrictEqual } from 'node:util';
import { ANNOTATIONS } from '../annotations.ts';
import type { ExtensionRefTarget, WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { isObject } from '../json-value.ts';
import { poolBackends, type PoolBackend, type RouteFilterContext } from './pool-filter.ts';

/** Whether a rule filter is an ExtensionRef of the target's group and kind (whatever its name): the rule has its ext_proc filter. */
export function referencesSameKind(filter: unknown, target: ExtensionRefTarget): boolean {
  if (!isObject(filter) || filter.type !== 'ExtensionRef' || !isObject(filter.extensionRef)) return false;
  return filter.extensionRef.group === target.group && filter.extensionRef.kind === target.kind;
}

/**
 * The ExtensionRefs of the target's kind a rule holds that name an EnvoyFilter annotated with an InferencePool the rule
 * does not send to: that pool's EPP would pick this rule's requests. It happens when the backendRefs change in the live
 * object (`kubectl patch`, `kubectl edit`, a rollout controller flipping weights) and the filter injected for the old
 * pool stays. When that filter is the rule's only one of the kind and the stored rule held it unchanged, as the filter
 * of a pool it sent to, it follows the rule to its new pool (`stale`: the webhook replaces it); any other is EPP405,
 * a reference to another pool's EPP that the webhook cannot tell from the user's own choice.
 */
export function foreignExtensionRef(
  filters: readonly unknown[],
  pools: readonly PoolBackend[],
  rule: PathSegments,
  target: ExtensionRefTarget,
  context: RouteFilterContext,
  config: WebhookConfig,
  storedRule: unknown,
): { finding: Finding } | { stale: number } | undefined {
  const index = context.envoyFilters;
  if (index === undefined) return undefined;
  const sent = new Set(pools.map((p) => `${p.namespace}/${p.name}`));
  for (const [at, filter] of filters.entries()) {
    if (!referencesSameKind(filter, target)) continue;
    const name = (filter as { extensionRef: { name?: unknown } }).extensionRef.name;
    if (typeof name !== 'string') continue;
    const owner = index.poolOf(context.namespace, name);
    if (owner === undefined || sent.has(owner)) continue;
    const onlyOneOfKind = filters.filter((f) => referencesSameKind(f, target)).length === 1;
    if (onlyOneOfKind && heldForStoredPool(storedRule, filter, owner, context.namespace, config)) return { stale: at };
    const poolNames = [...sent].join(', ');
    return {
      finding: finding(
        'EPP405',
        config.severities,
        { location: `rules[${rule[2]}]`, path: formatPath([...rule, 'filters', at]) },
        `references EnvoyFilter ${name}, which is annotated with InferencePool ${owner}, but the rule sends traffic to ${poolNames}: its requests would be picked by ${owner}'s EPP`,
        `remove the ExtensionRef to ${name} (the webhook then adds ${target.name}), or name the EnvoyFilter annotated ${ANNOTATIONS.inferencePool} with the rule's pool`,
      ),
    };
  }
  return undefined;
}

/** Whether the stored rule (the same index, on UPDATE) held this very filter while sending to `owner`. */
function heldForStoredPool(storedRule: unknown, filter: unknown, owner: string, namespace: string, config: WebhookConfig): boolean {
  if (!isObject(storedRule) || !Array.isArray(storedRule.filters) || !Array.isArray(storedRule.backendRefs)) return false;
  if (!storedRule.filters.some((held) => isDeepStrictEqual(held, filter))) return false;
  return poolBackends(storedRule.backendRefs, namespace, config.inferencePoolGroups).some((p) => `${p.namespace}/${p.name}` === owner);
}
