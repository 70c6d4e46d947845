export type HandledKind = 'EnvoyFilter' | 'HTTPRoute' | 'DestinationRule';

/** The kinds the webhook acts on, in any served version; everything else passes untouched. */
export function handledKind(group: string, kind: string): HandledKind | undefined {
  if (group === 'networking.istio.io' && kind === 'EnvoyFilter') return 'EnvoyFilter';
  if (group === 'gateway.networking.k8s.io' && kind === 'HTTPRoute') return 'HTTPRoute';
  // Only validated: what it sets on istiod's cluster of an InferencePool's EPP.
  if (group === 'networking.istio.io' && kind === 'DestinationRule') return 'DestinationRule';
  return undefined;
}

/** `networking.istio.io/v1alpha3` -> `networking.istio.io`; `v1` -> `` (the core group). */
export function groupOf(apiVersion: unknown): string {
  if (typeof apiVersion !== 'string') return '';
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}
