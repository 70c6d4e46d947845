import { isObject } from '../json-value.ts';
import { objectsOfKind } from './objects-of-kind.ts';
import { addPool, lookupIn, toInferencePoolRecord, type InferencePoolLookup, type InferencePoolRecord, type InferencePoolResolver } from './inference-pool.ts';

/** InferencePools from a fixed set of objects: the manifests `check`/`render` read, a `--services` file. */
export class StaticInferencePools implements InferencePoolResolver {
  readonly source: string;
  readonly #pools = new Map<string, InferencePoolRecord>();
  readonly #endpointPickers = new Set<string>();

  constructor(records: Iterable<InferencePoolRecord>, source: string) {
    this.source = source;
    for (const record of records) addPool(this.#pools, record);
    for (const pool of this.#pools.values()) {
      if (pool.endpointPicker?.kind === 'Service') this.#endpointPickers.add(`${pool.namespace}/${pool.endpointPicker.name}`);
    }
  }

  /** Keeps the InferencePools among `objects` and the items of Lists among them; `defaultNamespace` for pools without one. */
  static fromObjects(objects: Iterable<unknown>, source: string, defaultNamespace = 'default'): StaticInferencePools {
    return new StaticInferencePools(poolRecordsIn(objects, defaultNamespace), source);
  }

  lookupPool(namespace: string, name: string): InferencePoolLookup {
    return lookupIn(this.#pools, namespace, name);
  }

  endpointPickerServices(): Iterable<string> {
    return this.#endpointPickers;
  }

  records(): Iterable<InferencePoolRecord> {
    return this.#pools.values();
  }

  ready(): boolean {
    return true;
  }

  get size(): number {
    return this.#pools.size;
  }
}

function* poolRecordsIn(objects: Iterable<unknown>, defaultNamespace: string): Generator<InferencePoolRecord> {
  for (const item of objectsOfKind(objects, 'InferencePool')) {
    const hasNamespace = isObject(item.metadata) && typeof item.metadata.namespace === 'string' && item.metadata.namespace !== '';
    const record = toInferencePoolRecord(item);
    if (record !== undefined) yield hasNamespace ? record : { ...record, namespace: defaultNamespace };
  }
}
