import { isIP } from 'node:net';
import { objectsOfKind } from '../cluster/objects-of-kind.ts';
import { serviceKey } from '../cluster/service-resolver.ts';
import { isObject } from '../json-value.ts';
import { STDIN_NAME, type ManifestDocument } from './read-manifests.ts';

/** A Service among the manifests being checked, which check does not take as a Service source. */
export interface ManifestService {
  file: string;
  /** spec.clusterIP as written; '' when the manifest leaves it to the cluster, as most do. */
  clusterIP: string;
}

/** The Services among the manifests by `namespace/name` (the first, when several files hold one). */
export function servicesInManifests(documents: readonly Pick<ManifestDocument, 'file' | 'object'>[], defaultNamespace: string): Map<string, ManifestService> {
  const services = new Map<string, ManifestService>();
  for (const document of documents) {
    for (const service of objectsOfKind([document.object], 'Service')) {
      // The core group's Service only (a Knative serving.knative.dev Service is another kind).
      if (service.apiVersion !== undefined && service.apiVersion !== 'v1') continue;
      const metadata = isObject(service.metadata) ? service.metadata : {};
      const spec = isObject(service.spec) ? service.spec : {};
      if (typeof metadata.name !== 'string') continue;
      const namespace = typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : defaultNamespace;
      const key = serviceKey(namespace, metadata.name);
      if (!services.has(key)) services.set(key, { file: document.file, clusterIP: typeof spec.clusterIP === 'string' ? spec.clusterIP : '' });
    }
  }
  return services;
}

/**
 * The fix for a Service not found that the manifests hold: check never reads it there (the cluster assigns a
 * ClusterIP when it creates the Service), so say where it is and which flag gives it. `sourceGiven`: --services or a
 * cluster is already the source: --cluster-ip, which layers over either, is offered rather than another --services
 * (an alternative to --kubeconfig).
 */
export function manifestServiceFix(service: string, found: ManifestService, sourceGiven: boolean): string {
  const where = `Service ${service} is in ${found.file} among the manifests, but check reads Services only from --services, --kubeconfig or --cluster-ip`;
  // A headless Service has no ClusterIP to give an EnvoyFilter, from any source.
  if (found.clusterIP === 'None') return `Service ${service} in ${found.file} is headless (clusterIP: None): it has no ClusterIP to substitute; point the EnvoyFilter at a Service with a ClusterIP in front of the EPP`;
  if (found.clusterIP !== '' && !sourceGiven && found.file !== STDIN_NAME) return `${where}: pass --services ${found.file}`;
  if (isIP(found.clusterIP) !== 0) return `${where}: pass --cluster-ip ${service}=${found.clusterIP}`;
  const once = sourceGiven ? 'once it is applied, in the cluster you check against' : 'once it is applied, pass --kubeconfig FILE';
  return `${where}, and a Service has no ClusterIP until the cluster creates it: ${once}, or --cluster-ip ${service}=CLUSTER_IP with the ClusterIP it got`;
}
