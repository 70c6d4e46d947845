import { EnvoyFilterIndexTable, toEnvoyFilterIndexRecord, type EnvoyFilterIndexRecord } from './envoyfilter-index.ts';
import { objectsOfKind } from './objects-of-kind.ts';
import { StaticInferencePools } from './static-inference-pools.ts';
import { readObjectsFile, StaticServiceResolver } from './static-resolver.ts';

/** What `serve --services FILE` answers from: the file's Services, and its InferencePools and EnvoyFilters if it has any. */
export interface StaticClusterTable {
  services: StaticServiceResolver;
  pools: StaticInferencePools;
  envoyFilters: EnvoyFilterIndexTable;
}

/** e.g. `kubectl get svc,inferencepools,envoyfilters -A -o yaml > table.yaml`: a List, several documents, or both. */
export function loadClusterTableFile(path: string): StaticClusterTable {
  const objects = readObjectsFile(path);
  return {
    services: StaticServiceResolver.fromObjects(objects, path),
    pools: StaticInferencePools.fromObjects(objects, path),
    envoyFilters: new EnvoyFilterIndexTable(path, envoyFilterRecordsIn(objects, 'default')),
  };
}

/** The EnvoyFilters among `objects` and the items of Lists among them; `defaultNamespace` for those without one. */
export function* envoyFilterRecordsIn(objects: Iterable<unknown>, defaultNamespace: string): Generator<EnvoyFilterIndexRecord> {
  for (const item of objectsOfKind(objects, 'EnvoyFilter')) {
    const record = toEnvoyFilterIndexRecord(item, defaultNamespace);
    if (record !== undefined) yield record;
  }
}
