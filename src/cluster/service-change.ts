import type { ServiceCache } from './service-cache.ts';
import { toServiceRecord, type ServiceRecord } from './service-resolver.ts';

/** What the Service cache tells a listener: one Service changed (from a watch event), or the whole cache was relisted. */
export type ServiceCacheChange =
  | { type: 'service'; namespace: string; name: string; before: ServiceRecord | undefined; after: ServiceRecord | undefined; receivedAt: number }
  | { type: 'resynced'; receivedAt: number };

/** The change a watch event is about to make to `cache` (call before applying it); undefined when it carries no Service. */
export function serviceChangeFor(cache: ServiceCache, eventType: string, object: unknown, receivedAt: number): ServiceCacheChange | undefined {
  if (eventType !== 'ADDED' && eventType !== 'MODIFIED' && eventType !== 'DELETED') return undefined;
  const record = toServiceRecord(object);
  if (record === undefined) return undefined;
  return {
    type: 'service',
    namespace: record.namespace,
    name: record.name,
    before: cache.get(record.namespace, record.name),
    after: eventType === 'DELETED' ? undefined : record,
    receivedAt,
  };
}

/** True when the change can matter to a substituted address: the Service appeared, went, or its ClusterIP or type changed. */
export function changesAddress(change: ServiceCacheChange): boolean {
  if (change.type === 'resynced') return true;
  const { before, after } = change;
  if (before === undefined || after === undefined) return before !== after;
  return before.clusterIP !== after.clusterIP || before.type !== after.type;
}
