import type { KubeConfig } from '@kubernetes/client-node';
import { customResourceListWatch } from './custom-resource-list-watch.ts';
import { INFERENCE_POOL_VERSIONS, poolKey, toInferencePoolRecord, type InferencePoolLookup, type InferencePoolRecord, type InferencePoolResolver } from './inference-pool.ts';
import type { ResourceListWatch, ResourceListWatchEvent } from './resource-list-watch.ts';

/** A pool whose Endpoint Picker changed (or that came or went), for the reconciler. */
export interface PoolChange {
  namespace: string;
  name: string;
  /** The pool this name resolved to before and after (undefined: none). */
  before: InferencePoolRecord | undefined;
  after: InferencePoolRecord | undefined;
  receivedAt: number;
}

export interface InformerInferencePoolsOptions {
  kubeConfig: KubeConfig;
  /** `what` names the version: `InferencePools (inference.networking.k8s.io/v1)`. */
  onEvent?: (event: ResourceListWatchEvent, what: string) => void;
  /** Told when the pool a `namespace/name` resolves to names another Endpoint Picker, and after every full relist. */
  onPoolChange?: (change: PoolChange | { type: 'resynced' }) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * InferencePools of both served APIs, listed and watched into records of the few fields the webhook needs. A version
 * whose CRD is not installed (404) counts as synced and empty, and is watched for until it appears.
 */
export class InformerInferencePools implements InferencePoolResolver {
  readonly source: string;
  /** One store per served version, newest first. */
  readonly #stores: ResourceListWatch<InferencePoolRecord>[] = [];
  /** `namespace/service` -> how many pools name it as their Endpoint Picker. */
  readonly #endpointPickerCounts = new Map<string, number>();

  constructor(options: InformerInferencePoolsOptions) {
    const server = options.kubeConfig.getCurrentCluster()?.server ?? '(no server)';
    this.source = `the InferencePool cache of ${server}`;
    for (const { group, version } of INFERENCE_POOL_VERSIONS) {
      const what = `InferencePools (${group}/${version})`;
      const store: ResourceListWatch<InferencePoolRecord> = customResourceListWatch<InferencePoolRecord>(
        { group, version, plural: 'inferencepools' },
        {
          kubeConfig: options.kubeConfig,
          what,
          reduce: (object) => toInferencePoolRecord(object, group),
          keyOf: (record) => poolKey(record.namespace, record.name),
          onChange: (change) => {
            const before = this.#resolved(change.key, change.previous, store);
            this.#count(change.previous, -1);
            if (change.type !== 'DELETED') this.#count(change.record, +1);
            const after = this.#resolvedNow(change.key);
            if (sameEndpointPicker(before, after)) return;
            options.onPoolChange?.({ namespace: change.record.namespace, name: change.record.name, before, after, receivedAt: change.receivedAt });
          },
          onResync: () => {
            this.#recount();
            options.onPoolChange?.({ type: 'resynced' });
          },
          onEvent: (event) => options.onEvent?.(event, what),
          initialBackoffMs: options.initialBackoffMs,
          maxBackoffMs: options.maxBackoffMs,
        },
      );
      this.#stores.push(store);
    }
  }

  /** Resolves once every version has listed (or was found absent). */
  async start(): Promise<void> {
    await Promise.all(this.#stores.map((store) => store.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#stores.map((store) => store.stop()));
  }

  ready(): boolean {
    return this.#stores.every((store) => store.ready());
  }

  lookupPool(namespace: string, name: string): InferencePoolLookup {
    if (!this.ready()) {
      return { kind: 'unavailable', reason: 'the InferencePool cache has not finished its first list from the API server yet' };
    }
    const pool = this.#resolvedNow(poolKey(namespace, name));
    return pool === undefined ? { kind: 'not-found' } : { kind: 'found', pool };
  }

  endpointPickerServices(): Iterable<string> {
    return this.#endpointPickerCounts.keys();
  }

  *records(): Iterable<InferencePoolRecord> {
    for (const store of this.#stores) {
      for (const record of store.values()) if (this.#resolvedNow(poolKey(record.namespace, record.name)) === record) yield record;
    }
  }

  /** Pools as lookups see them: a name both versions serve counts once. Walks the older versions' (few) records. */
  get size(): number {
    const [newest, ...older] = this.#stores;
    let size = newest.size;
    for (const store of older) {
      for (const record of store.values()) if (this.#resolvedNow(poolKey(record.namespace, record.name)) === record) size++;
    }
    return size;
  }

  /** The record a key resolves to now: the newest version first. */
  #resolvedNow(key: string): InferencePoolRecord | undefined {
    for (const store of this.#stores) {
      const record = store.get(key);
      if (record !== undefined) return record;
    }
    return undefined;
  }

  /** The record a key resolved to before `changed` replaced `previous` in its store. */
  #resolved(key: string, previous: InferencePoolRecord | undefined, changed: ResourceListWatch<InferencePoolRecord>): InferencePoolRecord | undefined {
    for (const store of this.#stores) {
      const record = store === changed ? previous : store.get(key);
      if (record !== undefined) return record;
    }
    return undefined;
  }

  #count(record: InferencePoolRecord | undefined, delta: number): void {
    if (record?.endpointPicker?.kind !== 'Service') return;
    const key = `${record.namespace}/${record.endpointPicker.name}`;
    const count = (this.#endpointPickerCounts.get(key) ?? 0) + delta;
    if (count > 0) {
      this.#endpointPickerCounts.set(key, count);
    } else {
      this.#endpointPickerCounts.delete(key);
    }
  }

  #recount(): void {
    this.#endpointPickerCounts.clear();
    for (const store of this.#stores) for (const record of store.values()) this.#count(record, +1);
  }
}

function sameEndpointPicker(a: InferencePoolRecord | undefined, b: InferencePoolRecord | undefined): boolean {
  const x = a?.endpointPicker;
  const y = b?.endpointPicker;
  if (x === undefined || y === undefined) return x === y && (a === undefined) === (b === undefined);
  return x.kind === y.kind && x.name === y.name && x.port === y.port && x.failureMode === y.failureMode;
}
