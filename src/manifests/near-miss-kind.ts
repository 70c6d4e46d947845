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
 * The one version Istio's CRD serves a kind in, where it serves one only (crd-all.gen.yaml of istio.io/istio, as
 * test/fixtures/crds/envoyfilter.yaml): HTTPRoute and DestinationRule are served in several, which differ by release.
 */
export const SERVED_VERSION: Readonly<Record<string, string>> = { EnvoyFilter: 'v1alpha3' };

/**
 * An object a typo away from a kind check judges: the kind in another case or with separators (`Envoyfilter`,
 * `HttpRoute`; kinds are case-sensitive), or the right kind in a misspelt API group (`networking.istio/v1alpha3`).
 * The API server serves no such kind, so kubectl apply fails on it, and check would have passed over it in silence. A
 * kind a few letters off is not taken for one: TCPRoute and UDPRoute are as near HTTPRoute, and real. So is an
 * EnvoyFilter in a version Istio does not serve, and a checked kind without an apiVersion.
 */
export function nearMissKind(object: unknown): string | undefined {
  if (!isObject(object) || typeof object.kind !== 'string') return undefined;
  const { kind, apiVersion } = object;
  const unversioned = apiVersion === undefined ? CHECKED.find((checked) => checked.kind === kind) : undefined;
  if (unversioned !== undefined) {
    return `kind ${kind} without an apiVersion: kubectl apply refuses it (apiVersion not set), and check cannot tell which API it is for; add apiVersion: ${unversioned.group}/${SERVED_VERSION[kind] ?? 'v1'}`;
  }
  if (typeof apiVersion !== 'string') return undefined;
  const version = apiVersion.slice(apiVersion.indexOf('/') + 1);
  if (kind === 'EnvoyFilter' && groupOf(apiVersion) === 'networking.istio.io' && version !== SERVED_VERSION.EnvoyFilter) {
    return `apiVersion ${apiVersion}: Istio's CRD serves EnvoyFilter only as networking.istio.io/${SERVED_VERSION.EnvoyFilter}, so kubectl apply fails on it (no matches for kind "EnvoyFilter" in version "${apiVersion}"); write apiVersion: networking.istio.io/${SERVED_VERSION.EnvoyFilter}`;
  }
  if (kindOf(object) !== undefined) return undefined;
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
