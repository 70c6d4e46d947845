import type { ServiceResolver } from '../cluster/service-resolver.ts';
import { loadClusterTableFiles } from '../cluster/static-cluster-table.ts';
import { firstList } from './first-list.ts';
import { ClusterIPOverrideResolver, type ClusterIPOverride } from './cluster-ip-overrides.ts';
import { manifestServiceFix, type ManifestService } from './manifest-services.ts';

export interface ServiceSourceOptions {
  /** Service tables (`kubectl get svc -A -o yaml`), read together. */
  services?: readonly string[];
  /** A cluster to list Services from, once, read-only. */
  kubeconfig?: string;
  /** List Services from the cluster the KUBECONFIG environment variable names (a `:`-separated list, as kubectl reads it). */
  kubeconfigFromEnvironment?: boolean;
  clusterIPs: readonly ClusterIPOverride[];
  /** How long the one list from the cluster may take. */
  kubeTimeoutMs: number;
}

export interface ServiceSource {
  resolver: ClusterIPOverrideResolver;
}

/** The Service source could not be used: the run cannot say anything about placeholders. */
export class ServiceSourceError extends Error {
  override name = 'ServiceSourceError';
}

export const NO_SERVICE_SOURCE = 'the Services given on the command line (none: no --services, --kubeconfig or --cluster-ip)';

const MISSING_SERVICE_FIX =
  'tell epp-webhook where Services come from: --services FILE (e.g. from kubectl get svc -A -o yaml), --kubeconfig FILE (lists them from the cluster, read-only), or --cluster-ip NAMESPACE/NAME=CLUSTER_IP for this Service';

/**
 * Opens the Service source the flags name; with --kubeconfig, lists the cluster's Services once and stops watching.
 * `inManifests`: the Services among the manifests, never a source, named in the fix of one not found.
 */
export async function openServiceSource(options: ServiceSourceOptions, inManifests: ReadonlyMap<string, ManifestService> = new Map()): Promise<ServiceSource> {
  let base: ServiceResolver | undefined;
  if (options.services !== undefined) {
    try {
      base = loadClusterTableFiles(options.services).services;
    } catch (error) {
      throw new ServiceSourceError((error as Error).message);
    }
  } else if (options.kubeconfig !== undefined || options.kubeconfigFromEnvironment) {
    base = await listClusterServices(options.kubeconfig, options.kubeTimeoutMs);
  }
  const notFoundFix = (service: string): string | undefined => {
    const found = inManifests.get(service);
    if (found !== undefined) return manifestServiceFix(service, found, base !== undefined);
    return base === undefined ? MISSING_SERVICE_FIX : undefined;
  };
  try {
    return { resolver: new ClusterIPOverrideResolver(options.clusterIPs, base, NO_SERVICE_SOURCE, notFoundFix) };
  } catch (error) {
    throw new ServiceSourceError((error as Error).message);
  }
}

/** `kubeconfig` undefined: the files the KUBECONFIG environment variable lists, merged as kubectl merges them. */
async function listClusterServices(kubeconfig: string | undefined, timeoutMs: number): Promise<ServiceResolver> {
  // client-node is large: load it only when a cluster is the Service source.
  const { InformerServiceResolver } = await import('../cluster/informer-resolver.ts');
  const list = firstList();
  let informer: InstanceType<typeof InformerServiceResolver>;
  try {
    const { loadKubeConfig } = await import('../cluster/load-kubeconfig.ts');
    informer = new InformerServiceResolver({ kubeconfig, kubeConfig: loadKubeConfig(kubeconfig), onEvent: list.events.onEvent });
  } catch (error) {
    throw new ServiceSourceError((error as Error).message);
  }
  const synced = await list.wait(informer.start().then(() => informer.ready()), timeoutMs);
  // One list is all a check needs; the cache keeps answering after the watch stops.
  await informer.stop();
  if (!synced) {
    const cause = list.events.lastError()?.message ?? 'no answer';
    throw new ServiceSourceError(
      `cannot list Services from ${informer.source.replace(/^the Service cache of /, '')} (kubeconfig ${kubeconfig ?? `KUBECONFIG=${process.env.KUBECONFIG}`})${list.events.gaveUp() ? '' : ` within ${timeoutMs / 1000}s`}: ${cause}. Check that the cluster is reachable and that the credentials may list Services in all namespaces, or pass --services FILE instead`,
    );
  }
  return informer;
}
