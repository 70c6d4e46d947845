import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { apiStatus } from './api-error.ts';
import { INFERENCE_POOL_VERSIONS, poolKey, toInferencePoolRecord, type InferencePoolLookup, type InferencePoolRecord, type InferencePoolResolver } from './inference-pool.ts';
import { requestSignal } from './request-signal.ts';
import { ResourceListWatch, type ResourceListWatchEvent } from './resource-list-watch.ts';

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
  readonly #watches: { what: string; store: ResourceListWatch<InferencePoolRecord>; absent: boolean }[] = [];
  /** `namespace/service` -> how many pools name it as their Endpoint Picker. */
  #endpointPickerCounts = new Map<string, number>();
  /** The keys of #endpointPickerCounts, as the set callers read. */
  readonly #endpointPickers = new Set<string>();

  constructor(options: InformerInferencePoolsOptions) {
    const server = options.kubeConfig.getCurrentCluster()?.server ?? '(no server)';
    this.source = `the InferencePool cache of ${server}`;
    const api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    for (const { group, version } of INFERENCE_POOL_VERSIONS) {
      const what = `InferencePools (${group}/${version})`;
      const entry = { what, store: undefined as unknown as ResourceListWatch<InferencePoolRecord>, absent: false };
      entry.store = new ResourceListWatch<InferencePoolRecord>({
        kubeConfig: options.kubeConfig,
        path: `/apis/${group}/${version}/inferencepools`,
        what,
        listPage: async (page, signal) => {
          try {
            const list = await api.listClusterCustomObject({ group, version, plural: 'inferencepools', limit: page.limit, _continue: page._continue }, requestSignal(signal));
            entry.absent = false;
            return list;
          } catch (error) {
            // The CRD of this version is not installed: nothing to list; the watch keeps asking until it is.
            if (apiStatus(error) !== 404) throw error;
            entry.absent = true;
            return { items: [], metadata: { resourceVersion: '' } };
          }
        },
        reduce: (object) => toInferencePoolRecord(object, group),
        keyOf: (record) => poolKey(record.namespace, record.name),
        onChange: (change) => {
          const before = this.#resolved(change.key, change.previous, entry.store);
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
        onEvent: (event) => {
          // An absent CRD fails every watch with 404 until it is installed: expected, not worth a warning each time.
          if (event.type === 'error' && entry.absent) return;
          options.onEvent?.(event, what);
        },
        initialBackoffMs: options.initialBackoffMs,
        maxBackoffMs: options.maxBackoffMs,
      });
      this.#watches.push(entry);
    }
  }

  /** Resolves once every version has listed (or was found absent). */
  async start(): Promise<void> {
    await Promise.all(this.#watches.map((w) => w.store.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#watches.map((w) => w.store.stop()));
  }

  ready(): boolean {
    return this.#watches.every((w) => w.store.ready());
  }

  lookupPool(namespace: string, name: string): InferencePoolLookup {
    if (!this.ready()) {
      return { kind: 'unavailable', reason: 'the InferencePool cache has not finished its first list from the API server yet' };
    }
    const pool = this.#resolvedNow(poolKey(namespace, name));
    return pool === undefined ? { kind: 'not-found' } : { kind: 'found', pool };
  }

  endpointPickerServices(): ReadonlySet<string> {
    return this.#endpointPickers;
  }

  get size(): number {
    return this.#watches.reduce((sum, w) => sum + w.store.size, 0);
  }

  /** The versions whose CRD the API server does not serve (at the last list or watch). */
  get absentVersions(): string[] {
    return this.#watches.filter((w) => w.absent).map((w) => w.what);
  }

  /** The record a key resolves to now: the newest version first. */
  #resolvedNow(key: string): InferencePoolRecord | undefined {
    for (const { store } of this.#watches) {
      const record = store.get(key);
      if (record !== undefined) return record;
    }
    return undefined;
  }

  /** The record a key resolved to before `changed` replaced `previous` in its store. */
  #resolved(key: string, previous: InferencePoolRecord | undefined, changed: ResourceListWatch<InferencePoolRecord>): InferencePoolRecord | undefined {
    for (const { store } of this.#watches) {
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
      this.#endpointPickers.add(key);
    } else {
      this.#endpointPickerCounts.delete(key);
      this.#endpointPickers.delete(key);
    }
  }

  #recount(): void {
    this.#endpointPickerCounts.clear();
    this.#endpointPickers.clear();
    for (const { store } of this.#watches) for (const record of store.values()) this.#count(record, +1);
  }
}

function sameEndpointPicker(a: InferencePoolRecord | undefined, b: InferencePoolRecord | undefined): boolean {
  const x = a?.endpointPicker;
  const y = b?.endpointPicker;
  if (x === undefined || y === undefined) return x === y && (a === undefined) === (b === undefined);
  return x.kind === y.kind && x.name === y.name && x.port === y.port && x.failureMode === y.failureMode;
}
