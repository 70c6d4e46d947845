import type { ResourceChange } from './resource-list-watch.ts';
import type { ServiceRecord } from './service-resolver.ts';

/** What the Service cache tells a listener: one Service changed (from a watch event), or the whole cache was relisted. */
export type ServiceCacheChange =
  | { type: 'service'; namespace: string; name: string; before: ServiceRecord | undefined; after: ServiceRecord | undefined; receivedAt: number }
  | { type: 'resynced'; receivedAt: number };

/** The Service change one watch event made to the cache. */
export function serviceChangeFor(change: ResourceChange<ServiceRecord>): ServiceCacheChange {
  const { namespace, name } = change.record;
  return {
    type: 'service',
    namespace,
    name,
    before: change.previous,
    after: change.type === 'DELETED' ? undefined : change.record,
    receivedAt: change.receivedAt,
  };
}

/** True when the change can matter to a substituted address or port: the Service appeared, went, or its ClusterIP, type or ports changed. */
export function changesAddress(change: ServiceCacheChange): boolean {
  if (change.type === 'resynced') return true;
  const { before, after } = change;
  if (before === undefined || after === undefined) return before !== after;
  return before.clusterIP !== after.clusterIP || before.type !== after.type || JSON.stringify(before.ports) !== JSON.stringify(after.ports);
}
