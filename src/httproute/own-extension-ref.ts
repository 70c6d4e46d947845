import { ANNOTATIONS } from '../annotations.ts';
import type { ExtensionRefTarget, WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { isObject } from '../json-value.ts';
import type { PoolBackend, RouteFilterContext } from './pool-filter.ts';

/** Whether a rule filter is an ExtensionRef of the target's group and kind (whatever its name): the rule has its ext_proc filter. */
export function referencesSameKind(filter: unknown, target: ExtensionRefTarget): boolean {
  if (!isObject(filter) || filter.type !== 'ExtensionRef' || !isObject(filter.extensionRef)) return false;
  return filter.extensionRef.group === target.group && filter.extensionRef.kind === target.kind;
}

/**
 * EPP405 for a rule that already holds an ExtensionRef of the target's kind, which the webhook keeps (the user's
 * choice, or its own earlier injection), when that ExtensionRef names an EnvoyFilter annotated with an InferencePool
 * the rule does not send to: that pool's EPP would pick this rule's requests. It happens when the backendRefs change in
 * the live object (`kubectl edit`, a rollout controller) and the filter injected for the old pool stays.
 */
export function foreignExtensionRef(
  filters: readonly unknown[],
  pools: readonly PoolBackend[],
  rule: PathSegments,
  target: ExtensionRefTarget,
  context: RouteFilterContext,
  config: WebhookConfig,
): Finding | undefined {
  const index = context.envoyFilters;
  if (index === undefined) return undefined;
  const sent = new Set(pools.map((p) => `${p.namespace}/${p.name}`));
  for (const [at, filter] of filters.entries()) {
    if (!referencesSameKind(filter, target)) continue;
    const name = (filter as { extensionRef: { name?: unknown } }).extensionRef.name;
    if (typeof name !== 'string') continue;
    const owner = index.poolOf(context.namespace, name);
    if (owner === undefined || sent.has(owner)) continue;
    const poolNames = [...sent].join(', ');
    return finding(
      'EPP405',
      config.severities,
      { location: `rules[${rule[2]}]`, path: formatPath([...rule, 'filters', at]) },
      `references EnvoyFilter ${name}, which is annotated with InferencePool ${owner}, but the rule sends traffic to ${poolNames}: its requests would be picked by ${owner}'s EPP (a filter injected for the rule's earlier pool stays when the backendRefs change in the live object)`,
      `remove the ExtensionRef to ${name} (the webhook then adds ${target.name}), or name the EnvoyFilter annotated ${ANNOTATIONS.inferencePool} with the rule's pool`,
    );
  }
  return undefined;
}
