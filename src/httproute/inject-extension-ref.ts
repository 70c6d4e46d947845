import { ANNOTATIONS, annotationsOf, objectName } from '../annotations.ts';
import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { ExtensionRefTarget, WebhookConfig } from '../config.ts';
import { CopyOnWrite, type PatchOperation } from '../copy-on-write.ts';
import { finding, type Finding } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { isObject, mustBe } from '../json-value.ts';
import { istioDropsExtensionRefs } from './istio-drops-extension-ref.ts';
import { foreignExtensionRef, ownNames, referencesSameKind } from './own-extension-ref.ts';
import { poolBackends, ruleFilterName } from './pool-filter.ts';

/** Gateway API caps rule-level filters at 16 (CRD maxItems). */
export const MAX_RULE_FILTERS = 16;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export interface InjectionResult {
  object: unknown;
  /** The RFC 6902 patch from the input to `object`, read off the copy's change record; empty when nothing changed. */
  patch: PatchOperation[];
  findings: Finding[];
  /** Where each ExtensionRef this admission wrote sits: added after a rule's filters, or in place of another pool's. */
  injected: InjectedFilter[];
  /** Where each InferencePool rule's own ExtensionRef of the configured kind sits, kept as written, with the EnvoyFilter its pool would get. */
  kept: KeptFilter[];
}

export interface KeptFilter extends InjectedFilter {
  /** The EnvoyFilter the rule would get without it (its pool's, or the configured one). */
  instead: string;
}

export interface InjectedFilter {
  rule: number;
  /** Its index in the rule's filters. */
  filter: number;
}

/** A route annotated `epp-webhook.io/inject: "false"`: the webhook adds no ExtensionRef to it. */
export function injectionOptedOut(object: unknown): boolean {
  return annotationsOf(object)[ANNOTATIONS.inject] === 'false';
}

/**
 * Adds the ext_proc ExtensionRef filter to every rule that sends traffic to an InferencePool, once,
 * after the rule's own filters: the EnvoyFilter annotated with that pool where `route.envoyFilters` knows one
 * (ruleFilterName). A rule that already references an ExtensionRef of the same group and kind keeps the user's choice,
 * unless it names the EnvoyFilter of a pool the rule does not send to: that one is replaced by the pool's (foreignExtensionRef).
 */
export function injectExtensionRef(
  object: unknown,
  config: WebhookConfig,
  route: { namespace?: string; envoyFilters?: EnvoyFilterIndex } = {},
): InjectionResult {
  const unchanged = (findings: Finding[], kept: KeptFilter[] = []): InjectionResult => ({ object, patch: [], findings, injected: [], kept });
  if (injectionOptedOut(object)) return unchanged([]);
  const annotations = annotationsOf(object);

  const malformed: Finding[] = [];
  const reportMalformed = (segments: PathSegments, what: string, got: unknown) => {
    const path = formatPath(segments);
    malformed.push(
      // The object and its spec under `object`: no line reads `spec spec must be`.
      finding('EPP403', config.severities, { location: segments.length > 2 ? `rules[${segments[2]}]` : segments.length < 2 ? 'object' : 'spec', path }, mustBe(path, what, got), `write ${path || 'the object'} as ${what}, as the HTTPRoute schema requires`),
    );
  };
  if (!isObject(object)) {
    reportMalformed([], 'an object', object);
    return unchanged(malformed);
  }
  const spec = object.spec;
  if (spec === undefined) return unchanged([]);
  if (!isObject(spec)) {
    reportMalformed(['spec'], 'an object', spec);
    return unchanged(malformed);
  }
  const rules = spec.rules;
  if (rules === undefined || rules === null) return unchanged([]);
  if (!Array.isArray(rules)) {
    reportMalformed(['spec', 'rules'], 'a list', rules);
    return unchanged(malformed);
  }

  const nameAnnotation = annotations[ANNOTATIONS.extProcFilter];
  if (nameAnnotation !== undefined && (typeof nameAnnotation !== 'string' || !DNS_SUBDOMAIN.test(nameAnnotation))) {
    return unchanged([
      finding(
        'EPP403',
        config.severities,
        { location: 'metadata.annotations', path: `metadata.annotations["${ANNOTATIONS.extProcFilter}"]` },
        `${ANNOTATIONS.extProcFilter} ${JSON.stringify(nameAnnotation)}: not an object name`,
        'write the name of the EnvoyFilter that holds the ext_proc filter, e.g. "epp-ext-proc"',
      ),
    ]);
  }
  // The index names EnvoyFilters: only an ExtensionRef to an EnvoyFilter can be one of them (another kind keeps its configured name).
  const refersToEnvoyFilters = config.extensionRef.group === 'networking.istio.io' && config.extensionRef.kind === 'EnvoyFilter';
  const envoyFilters = refersToEnvoyFilters ? route.envoyFilters : undefined;
  const context = { namespace: route.namespace || objectName(object).namespace || 'default', envoyFilters, annotated: nameAnnotation as string | undefined };

  const findings: Finding[] = [];
  const toInject: (InjectedFilter & { target: ExtensionRefTarget; replaces: boolean })[] = [];
  /** The EnvoyFilters the pool rules reference once admitted: injected, or their own (EPP402 names them). */
  const targetNames = new Set<string>();
  const kept: KeptFilter[] = [];
  rules.forEach((rule: unknown, index) => {
    const at: PathSegments = ['spec', 'rules', index];
    if (!isObject(rule)) return reportMalformed(at, 'an object', rule);
    const { backendRefs, filters } = rule;
    if (backendRefs !== undefined && backendRefs !== null && !Array.isArray(backendRefs)) return reportMalformed([...at, 'backendRefs'], 'a list', backendRefs);
    if (filters !== undefined && filters !== null && !Array.isArray(filters)) return reportMalformed([...at, 'filters'], 'a list', filters);
    const pools = poolBackends(backendRefs ?? [], context.namespace, config.inferencePoolGroups);
    if (pools.length === 0) return;
    const existing: unknown[] = filters ?? [];
    const own = ownNames(existing, config.extensionRef);
    const chosen = ruleFilterName(pools, at, context, config, own);
    if ('finding' in chosen) return void findings.push(chosen.finding);
    const target: ExtensionRefTarget = { ...config.extensionRef, name: chosen.name };
    const foreign = foreignExtensionRef(existing, pools, at, target, context, config);
    if (foreign !== undefined && 'deny' in foreign) return void findings.push(foreign.deny);
    if (foreign !== undefined) {
      findings.push(foreign.warning);
      targetNames.add(target.name);
      return void toInject.push({ rule: index, filter: foreign.replace, target, replaces: true });
    }
    const keeps = kept.length;
    existing.forEach((f, filter) => void (referencesSameKind(f, target) && kept.push({ rule: index, filter, instead: target.name })));
    if (kept.length > keeps) {
      for (const name of own) targetNames.add(name);
      return;
    }
    if (existing.length >= MAX_RULE_FILTERS) {
      findings.push(
        finding(
          'EPP401',
          config.severities,
          { location: `rules[${index}]`, path: formatPath([...at, 'filters']) },
          `already holds ${existing.length} filters, the most Gateway API allows, so the ext_proc ExtensionRef to ${target.kind} ${target.name} cannot be added and this InferencePool rule would bypass the EPP`,
          `remove a filter from rules[${index}], or set annotation ${ANNOTATIONS.inject}: "false" and reference the ext_proc filter yourself`,
        ),
      );
      return;
    }
    targetNames.add(target.name);
    toInject.push({ rule: index, filter: existing.length, target, replaces: false });
  });
  if (malformed.length > 0) return unchanged(malformed);

  findings.push(...istioDropsExtensionRefs(targetNames, config));
  if (toInject.length === 0) return unchanged(findings, kept);

  // Only the rules that get the filter are copied (and the containers above them); the rest is shared with the input.
  const copy = new CopyOnWrite(object);
  for (const { rule, filter: at, target, replaces } of toInject) {
    const filter = { type: 'ExtensionRef', extensionRef: { ...target } };
    const filters: PathSegments = ['spec', 'rules', rule, 'filters'];
    if (replaces) copy.set([...filters, at], filter);
    // After the rule's own filters; a rule without a list (or with null) gets one.
    else if (!copy.append(filters, filter)) copy.set(filters, [filter]);
  }
  return { object: copy.result, patch: copy.patch(), findings, injected: toInject.map(({ rule, filter }) => ({ rule, filter })), kept };
}
