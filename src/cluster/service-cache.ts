import { toServiceRecord, type ServiceRecord } from './service-resolver.ts';

/** Services by `namespace/name`, holding ServiceRecords only, changed by watch events or swapped whole after a list. */
export class ServiceCache {
  #records = new Map<string, ServiceRecord>();

  /** Applies one watch event; returns false when the event carries no Service (BOOKMARK, ERROR, malformed objects). */
  apply(type: string, object: unknown): boolean {
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return false;
    const record = toServiceRecord(object);
    if (record === undefined) return false;
    const key = serviceKey(record.namespace, record.name);
    if (type === 'DELETED') this.#records.delete(key);
    else this.#records.set(key, record);
    return true;
  }

  /** Replaces every entry in one assignment, so a lookup sees either the old set or the new one, never a mix. */
  replaceAll(records: Iterable<ServiceRecord>): void {
    const next = new Map<string, ServiceRecord>();
    for (const record of records) next.set(serviceKey(record.namespace, record.name), record);
    this.#records = next;
  }

  get(namespace: string, name: string): ServiceRecord | undefined {
    return this.#records.get(serviceKey(namespace, name));
  }

  get size(): number {
    return this.#records.size;
  }
}

export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
