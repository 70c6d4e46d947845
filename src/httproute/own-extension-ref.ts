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
 * A rule's own ExtensionRef of the target's kind that names an EnvoyFilter annotated with an InferencePool the rule
 * does not send to: that pool's EPP would pick this rule's requests. It is what a `kubectl patch`, a `kubectl edit` or
 * a rollout controller leaves when it moves a rule to another pool in the live object (a blue/green flip of weights),
 * and what a manifest copied from the live object keeps. The pool decides the rule's filter, so such an ExtensionRef
 * is replaced by the target (`replace`, with EPP408 to say so), the same on CREATE, UPDATE and in the CLI, so that a
 * re-apply of the same manifest gets the same answer. Only where the rule holds another ExtensionRef of the kind beside
 * it (two ext_proc filters, the webhook cannot tell which one the user meant) is it EPP405.
 */
export function foreignExtensionRef(
  filters: readonly unknown[],
  pools: readonly PoolBackend[],
  rule: PathSegments,
  target: ExtensionRefTarget,
  context: RouteFilterContext,
  config: WebhookConfig,
): { finding: Finding; replace?: number } | undefined {
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
    const where = { location: `rules[${rule[2]}]`, path: formatPath([...rule, 'filters', at]) };
    const picked = `references EnvoyFilter ${name}, which is annotated with InferencePool ${owner}, but the rule sends traffic to ${poolNames}: its requests would be picked by ${owner}'s EPP`;
    if (filters.filter((f) => referencesSameKind(f, target)).length > 1) {
      return {
        finding: finding(
          'EPP405',
          config.severities,
          where,
          `${picked}, and the rule holds another ExtensionRef to a ${target.kind} beside it`,
          `remove the ExtensionRef to ${name} (the rule then keeps the other one)`,
        ),
      };
    }
    return {
      replace: at,
      finding: finding(
        'EPP408',
        config.severities,
        where,
        `${picked}, so the webhook stored ${target.name}, the ${target.kind} of the pool the rule sends to, in its place (left by a change of the rule's backendRefs, or copied from the live object)`,
        `drop the ExtensionRef from the manifest (the webhook adds the pool's own), or name ${target.name} in it`,
      ),
    };
  }
  return undefined;
}
