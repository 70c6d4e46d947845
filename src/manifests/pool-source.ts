import { EnvoyFilterIndexTable, type EnvoyFilterIndexRecord } from '../cluster/envoyfilter-index.ts';
import { olderVersion, type InferencePoolLookup, type InferencePoolRecord, type InferencePoolResolver } from '../cluster/inference-pool.ts';
import { envoyFilterRecordsIn, loadClusterTableFiles } from '../cluster/static-cluster-table.ts';
import { StaticInferencePools } from '../cluster/static-inference-pools.ts';
import { firstList } from './first-list.ts';
import { ServiceSourceError } from './service-source.ts';

export interface PoolSourceOptions {
  services?: readonly string[];
  kubeconfig?: string;
  /** The cluster the KUBECONFIG environment variable names (see ServiceSourceOptions). */
  kubeconfigFromEnvironment?: boolean;
  kubeTimeoutMs: number;
}

export interface PoolSource {
  pools: InferencePoolResolver;
  envoyFilters: EnvoyFilterIndexTable;
  /** False without --services and --kubeconfig: a pool not found may only be missing from the command line. */
  complete: boolean;
}

export const MISSING_POOL_FIX =
  'put the InferencePool in the manifests being checked (a repo usually keeps it next to the EnvoyFilter), or pass --kubeconfig FILE to read it from the cluster';

/**
 * InferencePools and EnvoyFilters for check and render: those in the manifests themselves, over those of the --services
 * file or the cluster (listed once, read-only). The manifests are the state about to be applied, so they win.
 */
export async function openPoolSource(objects: readonly unknown[], defaultNamespace: string, options: PoolSourceOptions): Promise<PoolSource> {
  const fromManifests = StaticInferencePools.fromObjects(objects, 'the manifests', defaultNamespace);
  let base: { pools: InferencePoolResolver; envoyFilters: Iterable<EnvoyFilterIndexRecord> } | undefined;
  if (options.services !== undefined) {
    try {
      const table = loadClusterTableFiles(options.services);
      base = { pools: table.pools, envoyFilters: table.envoyFilters.records() };
    } catch (error) {
      throw new ServiceSourceError((error as Error).message);
    }
  } else if (options.kubeconfig !== undefined || options.kubeconfigFromEnvironment) {
    base = await listClusterPools(options.kubeconfig, options.kubeTimeoutMs);
  }
  const envoyFilters = new EnvoyFilterIndexTable(base === undefined ? 'the manifests' : 'the manifests and the cluster', base?.envoyFilters ?? []);
  for (const record of envoyFilterRecordsIn(objects, defaultNamespace)) envoyFilters.put(record);
  return { pools: base === undefined ? fromManifests : layered(fromManifests, base.pools), envoyFilters, complete: base !== undefined };
}

/**
 * The manifests' pool replaces the cluster's of the same name and version; a pool of the older version in the manifests
 * is another object, and leaves the cluster's v1 pool in charge, as in the cluster.
 */
function layered(first: InferencePoolResolver, then: InferencePoolResolver): InferencePoolResolver {
  const lookupPool = (namespace: string, name: string): InferencePoolLookup => {
    const found = first.lookupPool(namespace, name);
    if (found.kind !== 'found') return then.lookupPool(namespace, name);
    const below = then.lookupPool(namespace, name);
    return below.kind === 'found' && olderVersion(found.pool, below.pool) ? below : found;
  };
  // A record is one lookups resolve to: the winner of its name, whichever layer holds it.
  const wins = (record: InferencePoolRecord) => {
    const found = lookupPool(record.namespace, record.name);
    return found.kind === 'found' && found.pool === record;
  };
  return {
    source: `the manifests and ${then.source}`,
    lookupPool,
    endpointPickerServices: () => [...first.endpointPickerServices(), ...then.endpointPickerServices()],
    *records() {
      for (const record of first.records()) if (wins(record)) yield record;
      for (const record of then.records()) if (wins(record)) yield record;
    },
    ready: () => first.ready() && then.ready(),
  };
}

async function listClusterPools(kubeconfig: string | undefined, timeoutMs: number): Promise<{ pools: InferencePoolResolver; envoyFilters: Iterable<EnvoyFilterIndexRecord> }> {
  // client-node is large: load it only when a cluster is the source.
  const { loadKubeConfig } = await import('../cluster/load-kubeconfig.ts');
  const { InformerInferencePools } = await import('../cluster/informer-inference-pools.ts');
  const { informerEnvoyFilterIndex } = await import('../cluster/informer-envoyfilter-index.ts');
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(kubeconfig);
  } catch (error) {
    throw new ServiceSourceError((error as Error).message);
  }
  const list = firstList();
  const pools = new InformerInferencePools({ kubeConfig, onEvent: list.events.onEvent });
  const envoyFilters = informerEnvoyFilterIndex({ kubeConfig, onEvent: list.events.onEvent });
  const synced = await list.wait(Promise.all([pools.start(), envoyFilters.start()]).then(() => pools.ready() && envoyFilters.index.ready()), timeoutMs);
  // One list is all a check needs; the caches keep answering after the watches stop.
  await Promise.all([pools.stop(), envoyFilters.stop()]);
  if (!synced) {
    throw new ServiceSourceError(
      `cannot list InferencePools and EnvoyFilters from the cluster (kubeconfig ${kubeconfig ?? `KUBECONFIG=${process.env.KUBECONFIG}`})${list.events.gaveUp() ? '' : ` within ${timeoutMs / 1000}s`}: ${list.events.lastError()?.message ?? 'no answer'}. Check that the credentials may list them in all namespaces, or pass --services FILE instead`,
    );
  }
  return { pools, envoyFilters: envoyFilters.index.records() };
}
