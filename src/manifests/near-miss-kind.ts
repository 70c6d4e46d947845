import { groupOf } from '../admission/handled-kinds.ts';
import { closestName, fold } from '../envoyfilter/closest-name.ts';
import { isObject } from '../json-value.ts';
import { kindOf } from './webhook-objects.ts';

const CHECKED = [
  { group: 'networking.istio.io', kind: 'EnvoyFilter' },
  { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' },
  { group: 'networking.istio.io', kind: 'DestinationRule' },
] as const;

/**
 * An object a typo away from a kind check judges: the kind in another case or with separators (`Envoyfilter`,
 * `HttpRoute`; kinds are case-sensitive), or the right kind in a misspelt API group (`networking.istio/v1alpha3`).
 * The API server serves no such kind, so kubectl apply fails on it, and check would have passed over it in silence. A
 * kind a few letters off is not taken for one: TCPRoute and UDPRoute are as near HTTPRoute, and real.
 */
export function nearMissKind(object: unknown): string | undefined {
  if (!isObject(object) || typeof object.kind !== 'string' || typeof object.apiVersion !== 'string' || kindOf(object) !== undefined) return undefined;
  const { kind, apiVersion } = object;
  const group = groupOf(apiVersion);
  for (const checked of CHECKED) {
    const kindMisspelt = kind !== checked.kind && fold(kind) === fold(checked.kind);
    const groupMisspelt = group !== checked.group && closestName(group, [checked.group]) !== undefined;
    if ((kindMisspelt && (group === checked.group || groupMisspelt)) || (kind === checked.kind && groupMisspelt)) {
      const meant = [kindMisspelt ? `kind ${checked.kind}` : undefined, groupMisspelt ? `API group ${checked.group}` : undefined].filter(Boolean).join(' and ');
      return `apiVersion ${apiVersion}, kind ${kind} looks like a misspelt ${checked.kind} (${meant}?): the API server serves no such kind, so kubectl apply fails on it, and check cannot judge it`;
    }
  }
  return undefined;
}
