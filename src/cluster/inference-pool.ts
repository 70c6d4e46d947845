import { isObject } from '../json-value.ts';

/** The API groups that define an InferencePool, newest first: where both hold a pool of one name, the first wins. */
export const INFERENCE_POOL_VERSIONS = [
  { group: 'inference.networking.k8s.io', version: 'v1' },
  { group: 'inference.networking.x-k8s.io', version: 'v1alpha2' },
] as const;

export type FailureMode = 'FailOpen' | 'FailClose';

/**
 * What an InferencePool says about its Endpoint Picker: v1 `spec.endpointPickerRef` {kind, name, port.number,
 * failureMode}, v1alpha2 `spec.extensionRef` {kind, name, portNumber, failureMode}, with the CRDs' defaults filled in.
 */
export interface EndpointPickerRef {
  /** `Service` unless the pool names another kind (which the webhook cannot resolve). */
  kind: string;
  name: string;
  /** The Service port; undefined where the pool gives none (v1 requires one for a Service). */
  port: number | undefined;
  failureMode: FailureMode;
}

/** The few fields of an InferencePool the webhook needs; whole pools are never kept. */
export interface InferencePoolRecord {
  group: string;
  namespace: string;
  name: string;
  /** Undefined when the pool names no Endpoint Picker. */
  endpointPicker: EndpointPickerRef | undefined;
}

export type InferencePoolLookup =
  | { kind: 'found'; pool: InferencePoolRecord }
  | { kind: 'not-found' }
  /** The cache cannot answer yet: a retryable condition. */
  | { kind: 'unavailable'; reason: string };

/** Where the core asks about InferencePools: a list+watch cache, the manifests being checked, or a file. */
export interface InferencePoolResolver {
  /** Where answers come from, for messages. */
  readonly source: string;
  lookupPool(namespace: string, name: string): InferencePoolLookup;
  /**
   * `namespace/name` of every Service some InferencePool's endpointPickerRef names (a pool's EPP is always in the
   * pool's namespace): EPP Services known from the pools, not from a naming convention. Each call iterates the
   * current ones; nothing is copied.
   */
  endpointPickerServices(): Iterable<string>;
  /** Every pool, as lookups resolve them (a name both versions serve once): few, walked only where a rule needs all. */
  records(): Iterable<InferencePoolRecord>;
  ready(): boolean;
  /** Pools held, for the metrics; undefined where the source cannot tell without copying. */
  readonly size?: number;
}

export function poolKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * Reduces an InferencePool of either served version to its record; undefined if it is not one. `listedGroup`: the
 * group of the list it came from, for an item without its apiVersion.
 */
export function toInferencePoolRecord(object: unknown, listedGroup?: string): InferencePoolRecord | undefined {
  if (!isObject(object) || object.kind !== undefined && object.kind !== 'InferencePool') return undefined;
  const group = typeof object.apiVersion === 'string' ? object.apiVersion.split('/')[0] : (listedGroup ?? '');
  if (!INFERENCE_POOL_VERSIONS.some((v) => v.group === group)) return undefined;
  const metadata = isObject(object.metadata) ? object.metadata : {};
  if (typeof metadata.name !== 'string') return undefined;
  const spec = isObject(object.spec) ? object.spec : {};
  const v1 = group === INFERENCE_POOL_VERSIONS[0].group;
  const ref = v1 ? spec.endpointPickerRef : spec.extensionRef;
  return {
    group,
    namespace: typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'default',
    name: metadata.name,
    endpointPicker: isObject(ref) && typeof ref.name === 'string' && ref.name !== '' ? endpointPicker(ref, v1) : undefined,
  };
}

function endpointPicker(ref: Record<string, unknown>, v1: boolean): EndpointPickerRef {
  const kind = typeof ref.kind === 'string' && ref.kind !== '' ? ref.kind : 'Service';
  const rawPort = v1 ? (isObject(ref.port) ? ref.port.number : undefined) : ref.portNumber;
  // v1alpha2: "When unspecified, implementations SHOULD infer a default value of 9002 when the Kind is Service."
  const port = validPort(rawPort) ?? (!v1 && kind === 'Service' && rawPort === undefined ? 9002 : undefined);
  return { kind, name: ref.name as string, port, failureMode: ref.failureMode === 'FailOpen' ? 'FailOpen' : 'FailClose' };
}

function validPort(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535 ? value : undefined;
}

/** Serves lookups from a Map of records keyed by poolKey; the v1 pool wins over a v1alpha2 one of the same name. */
export function lookupIn(pools: ReadonlyMap<string, InferencePoolRecord>, namespace: string, name: string): InferencePoolLookup {
  const pool = pools.get(poolKey(namespace, name));
  return pool === undefined ? { kind: 'not-found' } : { kind: 'found', pool };
}

/** Adds `record` to a table keyed by poolKey, keeping the newer version where both are present. */
export function addPool(pools: Map<string, InferencePoolRecord>, record: InferencePoolRecord): void {
  const key = poolKey(record.namespace, record.name);
  const existing = pools.get(key);
  if (existing === undefined || !olderVersion(record, existing)) pools.set(key, record);
}

/** True where `pool` is of an older served version than `other`: a v1alpha2 pool beside a v1 one of the same name. */
export function olderVersion(pool: InferencePoolRecord, other: InferencePoolRecord): boolean {
  return versionRank(pool.group) > versionRank(other.group);
}

function versionRank(group: string): number {
  return INFERENCE_POOL_VERSIONS.findIndex((v) => v.group === group);
}
