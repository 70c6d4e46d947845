import { EnvoyFilterIndexTable, toEnvoyFilterIndexRecord, type EnvoyFilterIndexRecord } from './envoyfilter-index.ts';
import { objectsOfKind } from './objects-of-kind.ts';
import { StaticInferencePools } from './static-inference-pools.ts';
import { readObjectsFile, StaticServiceResolver } from './static-resolver.ts';

/** What `serve --services FILE` (one or more) answers from: the file's Services, and its InferencePools and EnvoyFilters if it has any. */
export interface StaticClusterTable {
  services: StaticServiceResolver;
  pools: StaticInferencePools;
  envoyFilters: EnvoyFilterIndexTable;
}

/**
 * e.g. `kubectl get svc,inferencepools,envoyfilters -A -o yaml > table.yaml`: a List, several documents, or both; the
 * objects of several files together, as kubectl takes repeated `-f` (of one name in two files, the later file's).
 */
export function loadClusterTableFiles(paths: readonly string[]): StaticClusterTable {
  const objects = paths.flatMap(readObjectsFile);
  const source = paths.join(', ');
  return {
    services: StaticServiceResolver.fromObjects(objects, source),
    pools: StaticInferencePools.fromObjects(objects, source),
    envoyFilters: new EnvoyFilterIndexTable(source, envoyFilterRecordsIn(objects, 'default')),
  };
}

/** The EnvoyFilters among `objects` and the items of Lists among them; `defaultNamespace` for those without one. */
export function* envoyFilterRecordsIn(objects: Iterable<unknown>, defaultNamespace: string): Generator<EnvoyFilterIndexRecord> {
  for (const item of objectsOfKind(objects, 'EnvoyFilter')) {
    const record = toEnvoyFilterIndexRecord(item, defaultNamespace);
    if (record !== undefined) yield record;
  }
}
