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

/** The names of a rule's ExtensionRefs of the target's group and kind. */
export function ownNames(filters: readonly unknown[], target: ExtensionRefTarget): string[] {
  const names: string[] = [];
  for (const filter of filters) {
    if (!referencesSameKind(filter, target)) continue;
    const name = (filter as { extensionRef: { name?: unknown } }).extensionRef.name;
    if (typeof name === 'string') names.push(name);
  }
  return names;
}

/**
 * A rule's own ExtensionRef of the target's kind that names an EnvoyFilter annotated with an InferencePool the rule
 * does not send to: the ext_proc filter of another pool's EPP. It is what a `kubectl patch`, a `kubectl edit` or a
 * rollout controller leaves when it moves a rule to another pool in the live object (a blue/green flip of weights), and
 * what a manifest copied from the live object keeps. The pool decides the rule's filter, so such an ExtensionRef is
 * replaced by the target (EPP408 says so), the same on CREATE, UPDATE and in the CLI: a re-apply of the same manifest
 * gets the same answer. Where the rule holds more than one ExtensionRef of the kind, the webhook cannot tell which is
 * the rule's ext_proc filter: EPP405.
 */
export function foreignExtensionRef(
  filters: readonly unknown[],
  pools: readonly PoolBackend[],
  rule: PathSegments,
  target: ExtensionRefTarget,
  context: RouteFilterContext,
  config: WebhookConfig,
): { deny: Finding } | { replace: number; warning: Finding } | undefined {
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
    const foreign = `references EnvoyFilter ${name}, the ext_proc filter of InferencePool ${owner} (its ${ANNOTATIONS.inferencePool} annotation), but the rule sends traffic to ${poolNames}`;
    const ofKind = filters.filter((f) => referencesSameKind(f, target)).length;
    if (ofKind > 1) {
      return {
        deny: finding(
          'EPP405',
          config.severities,
          where,
          `${foreign}, and it holds ${ofKind} ExtensionRefs to an ${target.kind}: the webhook cannot tell which one is the rule's ext_proc filter`,
          `keep one ExtensionRef to an ${target.kind} in rules[${rule[2]}], or none (the webhook then adds ${target.name})`,
        ),
      };
    }
    return {
      replace: at,
      warning: finding(
        'EPP408',
        config.severities,
        where,
        `${foreign}: the webhook replaces it with ${target.name}, the ExtensionRef a rule sending to ${poolNames} gets (another pool's filter is what a change of the rule's backendRefs in the live object leaves, or a manifest copied from it keeps)`,
        `nothing to do after a kubectl patch, kubectl edit or rollout controller changed the rule's backendRefs; if your manifest names ${name} there, drop that ExtensionRef (the webhook adds ${target.name}) or name ${target.name}`,
      ),
    };
  }
  return undefined;
}
