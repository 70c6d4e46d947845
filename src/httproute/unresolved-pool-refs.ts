import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { isObject } from '../json-value.ts';
import { onIstio } from './istio-drops-extension-ref.ts';
import { ownNames } from './own-extension-ref.ts';

/** The only InferencePool group istiod's Gateway API translation resolves (pkg/config/schema/gvk: InferencePool, v1). */
const ISTIO_POOL_GROUP = 'inference.networking.k8s.io';
const OLDER_POOL_GROUP = 'inference.networking.x-k8s.io';

/**
 * Measured under istiod (test/dataplane, scenarios EPP410 and EPP411): istiod's buildDestination finds no kind of that
 * group and reports the backend invalid, and Gateway API answers a request to an invalid backend with 500. A rule that
 * also holds the configured ExtensionRef never gets that far: istiod converts its filters first and drops the whole
 * rule for the ExtensionRef (EPP402; measured for these backendRefs too: 404).
 */
function underIstio(group: string, extensionRefs: readonly string[], config: WebhookConfig): string {
  if (extensionRefs.length > 0) {
    return `this rule also holds the ExtensionRef to ${config.extensionRef.kind} ${extensionRefs.join(', ')}, for which istiod drops the whole rule first (EPP402): 404 in a few ms, the EPP never asked (measured)`;
  }
  return `istiod reports ResolvedRefs=False (InvalidKind, referencing unsupported backendRef: group "${group}" kind "InferencePool") and every request the rule sends there gets 500 in a few ms, the EPP never asked (measured)`;
}

/**
 * EPP410: a backendRef of kind InferencePool with no group. Gateway API reads an empty group as the core API group,
 * where there is no InferencePool, and the webhook does not take it for a pool. A denial where the configured
 * extensionRef says the gateway is Istio's (measured); elsewhere a warning by default, as a gateway may read the group
 * itself (kubvernor takes any backendRef of kind InferencePool for its pool). EPP411: one of the v1alpha2 group behind
 * Istio, whose translation resolves only the v1 group. A backendRef of weight 0 sends nothing and is not judged.
 * `object` is the route as it will be stored (after injection): what its rules hold decides Istio's symptom.
 */
export function unresolvedPoolRefs(object: unknown, config: WebhookConfig): Finding[] {
  const rules = isObject(object) && isObject(object.spec) && Array.isArray(object.spec.rules) ? object.spec.rules : [];
  const istio = onIstio(config);
  const findings: Finding[] = [];
  rules.forEach((rule: unknown, index) => {
    if (!isObject(rule) || !Array.isArray(rule.backendRefs)) return;
    const extensionRefs = () => (Array.isArray(rule.filters) ? ownNames(rule.filters, config.extensionRef) : []);
    rule.backendRefs.forEach((ref: unknown, refIndex) => {
      if (!isObject(ref) || ref.kind !== 'InferencePool' || ref.weight === 0) return;
      const at = { location: `rules[${index}]`, path: `spec.rules[${index}].backendRefs[${refIndex}]` };
      const name = typeof ref.name === 'string' ? ` ${ref.name}` : '';
      if (ref.group === undefined || ref.group === '') {
        findings.push(
          finding(
            'EPP410',
            config.severities,
            at,
            `sends traffic to InferencePool${name} with no group: Gateway API reads an empty group as the core API group, which has no InferencePool, so a gateway that follows it cannot resolve this backend, and the webhook does not take it for a pool${istio ? `. Under Istio, ${underIstio('', extensionRefs(), config)}` : ''}`,
            `add group: ${ISTIO_POOL_GROUP} to the backendRef`,
            // Off Istio a denial by default would speak for gateways not measured.
            istio ? undefined : 'warn',
          ),
        );
      } else if (ref.group === OLDER_POOL_GROUP && istio) {
        findings.push(
          finding(
            'EPP411',
            config.severities,
            at,
            `sends traffic to InferencePool${name} of group ${OLDER_POOL_GROUP} (v1alpha2), and istiod's Gateway API translation resolves only ${ISTIO_POOL_GROUP} (v1) InferencePools: ${underIstio(OLDER_POOL_GROUP, extensionRefs(), config)}`,
            `create the pool as ${ISTIO_POOL_GROUP}/v1 (endpointPickerRef in place of extensionRef) and set group: ${ISTIO_POOL_GROUP} in the backendRef; if the gateway is not Istio's, set extensionRef in the webhook's config to the filter it resolves`,
          ),
        );
      }
    });
  });
  return findings;
}
