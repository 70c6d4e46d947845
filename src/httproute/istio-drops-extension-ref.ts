import { ANNOTATIONS } from '../annotations.ts';
import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { isObject } from '../json-value.ts';
import { ownNames } from './own-extension-ref.ts';

/** What the data plane measured of an ExtensionRef on Istio (test/dataplane, scenario EPP402). */
const ISTIO_DROPS = "reports ResolvedRefs=False (InvalidFilter) and drops this route's rules";
export const onIstio = (config: WebhookConfig) => config.extensionRef.group === 'networking.istio.io';

/**
 * EPP402: Istio's HTTPRoute translation does not resolve ExtensionRef filters (measured: ResolvedRefs=False,
 * InvalidFilter, and the route dropped: 404). Said where the configured `extensionRef` is Istio's (the group says the
 * gateway is): `names` are the EnvoyFilters this route's InferencePool rules reference once admitted.
 */
export function istioDropsExtensionRefs(names: ReadonlySet<string>, config: WebhookConfig): Finding[] {
  if (names.size === 0 || !onIstio(config)) return [];
  return [
    finding(
      'EPP402',
      config.severities,
      { location: 'spec.rules', path: 'spec.rules' },
      `the ExtensionRef to ${config.extensionRef.kind} ${[...names].sort().join(', ')} is not resolved by Istio's HTTPRoute translation: Istio ${ISTIO_DROPS}`,
      `behind an Istio gateway, annotate this HTTPRoute ${ANNOTATIONS.inject}: "false" and rely on Istio's own InferencePool support (ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true), which an EnvoyFilter's route override reaches; or configure extensionRef for a gateway that resolves it; set EPP402 to off once verified`,
    ),
  ];
}

/**
 * EPP402 for a route opted out of injection that still holds ExtensionRefs of the configured kind: what `kubectl
 * annotate` (or a `helm upgrade` that leaves the rules out of its patch) leaves of the filters injected before. The
 * opt-out stops the webhook adding one; it does not take away the one there, and Istio drops the route for it.
 */
export function optedOutRouteKeepsExtensionRefs(object: unknown, config: WebhookConfig): Finding[] {
  if (!onIstio(config)) return [];
  const rules = isObject(object) && isObject(object.spec) && Array.isArray(object.spec.rules) ? object.spec.rules : [];
  const names = new Set<string>();
  const holding: number[] = [];
  rules.forEach((rule: unknown, index) => {
    const own = isObject(rule) && Array.isArray(rule.filters) ? ownNames(rule.filters, config.extensionRef) : [];
    if (own.length === 0) return;
    holding.push(index);
    for (const name of own) names.add(name);
  });
  if (holding.length === 0) return [];
  const where = holding.map((index) => `rules[${index}]`).join(', ');
  const one = holding.length === 1;
  return [
    finding(
      'EPP402',
      config.severities,
      { location: one ? where : 'spec.rules', path: `spec.${one ? where : 'rules'}` },
      `${one ? 'still holds' : `${where} still hold`} the ExtensionRef to ${config.extensionRef.kind} ${[...names].sort().join(', ')}, though the route is opted out with ${ANNOTATIONS.inject}: "false": Istio's HTTPRoute translation does not resolve it, ${ISTIO_DROPS}`,
      `remove that ExtensionRef filter from ${where} (the opt-out stops the webhook adding one, not the one already there), or set EPP402 to off if your gateway resolves it`,
    ),
  ];
}
