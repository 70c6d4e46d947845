import { canonicalIP } from '../canonical-ip.ts';
import type { ServiceResolver } from '../cluster/service-resolver.ts';
import { mayReferenceNamespace, type WebhookConfig } from '../config.ts';
import type { EppServices } from '../envoyfilter/talks-to-epp.ts';

/**
 * The EPP Services the classification "talks to an EPP" can know of for an object in `namespace`: the configured
 * one and `inferencePoolEpps` (`namespace/name`: the endpointPickerRef of each InferencePool, from the pool cache's
 * endpointPickerServices()), each with its ClusterIP from the Service cache (a cluster that writes the IP itself is
 * then recognised; and named, where the object may reference it).
 * A lookup that cannot answer leaves the IP out: the other evidence still decides, and nothing is denied on it.
 */
export async function knownEppServices(
  namespace: string,
  resolver: ServiceResolver,
  config: WebhookConfig,
  inferencePoolEpps: Iterable<string> = [],
): Promise<EppServices> {
  const clusterIPs = new Set<string>();
  const referable = new Map<string, string>();
  const addClusterIP = async (serviceNamespace: string, name: string) => {
    const lookup = await resolver.lookup(serviceNamespace, name);
    if (lookup.kind !== 'found' || lookup.service.clusterIP === '' || lookup.service.clusterIP === 'None') return;
    const canonical = canonicalIP(lookup.service.clusterIP);
    clusterIPs.add(canonical);
    if (!referable.has(canonical) && mayReferenceNamespace(config, namespace, serviceNamespace)) referable.set(canonical, `${serviceNamespace}/${name}`);
  };
  await addClusterIP(config.eppService.namespace || namespace, config.eppService.name);
  const names = new Set(inferencePoolEpps);
  for (const key of names) {
    const [serviceNamespace, name] = key.split('/');
    await addClusterIP(serviceNamespace, name);
  }
  return { names, clusterIPs, referable };
}
