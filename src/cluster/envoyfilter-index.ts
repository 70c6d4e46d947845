import { walkedPathBeyondDepth } from '../admission/object-depth.ts';
import { ANNOTATIONS, annotationsOf } from '../annotations.ts';
import { parseInferencePoolAnnotation } from '../envoyfilter/inference-pool-reference.ts';
import { overriddenRoutes } from '../envoyfilter/overridden-routes.ts';
import { isObject } from '../json-value.ts';

/** What the index keeps of an EnvoyFilter: its name and the InferencePool it says it serves, never the object. */
export interface EnvoyFilterIndexRecord {
  namespace: string;
  name: string;
  /** `namespace/name` of the pool in its `epp-webhook.io/inference-pool` annotation (when well formed). */
  inferencePool: string | undefined;
  /** Envoy route names its HTTP_ROUTE merges point istiod's ext_proc filter at a cluster of its own on (overriddenRoutes). */
  overriddenRoutes?: readonly string[];
}

/**
 * Which EnvoyFilters exist and which InferencePool each one serves, for the HTTPRoute core (the ExtensionRef of a
 * pool's rule names the EnvoyFilter annotated with that pool) and for any rule that needs to know whether a
 * referenced EnvoyFilter exists.
 */
export interface EnvoyFilterIndex {
  readonly source: string;
  /** False until the first list: answers would be guesses. */
  ready(): boolean;
  has(namespace: string, name: string): boolean;
  /** Names (sorted) of the EnvoyFilters in `namespace` annotated with InferencePool `poolNamespace/poolName`. */
  servingPool(namespace: string, poolNamespace: string, poolName: string): string[];
  /** `namespace/name` of the InferencePool EnvoyFilter `namespace/name` is annotated with; undefined: none, or no such EnvoyFilter. */
  poolOf(namespace: string, name: string): string | undefined;
  /** The EnvoyFilters (any namespace) whose ext_proc override names Envoy route `route`, sorted by namespace/name. */
  envoyFiltersOverriding(route: string): EnvoyFilterIndexRecord[];
  /** EnvoyFilters held, for the metrics; undefined where the source cannot tell without copying. */
  readonly size?: number;
}

export function toEnvoyFilterIndexRecord(object: unknown, defaultNamespace?: string): EnvoyFilterIndexRecord | undefined {
  if (!isObject(object) || !isObject(object.metadata) || typeof object.metadata.name !== 'string') return undefined;
  const namespace = typeof object.metadata.namespace === 'string' && object.metadata.namespace !== '' ? object.metadata.namespace : defaultNamespace;
  if (namespace === undefined) return undefined;
  const pool = parseInferencePoolAnnotation(annotationsOf(object)[ANNOTATIONS.inferencePool], namespace);
  // Read off the list and watch (or manifests), where no depth limit stood before: the walk recurses (object-depth.ts).
  const routes = walkedPathBeyondDepth(object) === undefined ? overriddenRoutes(object) : [];
  return { namespace, name: object.metadata.name, inferencePool: pool && `${pool.namespace}/${pool.name}`, ...(routes.length > 0 ? { overriddenRoutes: routes } : {}) };
}

/** The index as a table with secondary keys on the pool and on the overridden route; kept current by put/remove, or rebuilt whole. */
export class EnvoyFilterIndexTable implements EnvoyFilterIndex {
  readonly source: string;
  readonly #filters = new Map<string, EnvoyFilterIndexRecord>();
  /** `routeNamespace|poolNamespace/poolName` -> EnvoyFilter names. */
  readonly #byPool = new Map<string, Set<string>>();
  /** Envoy route name -> `namespace/name` of the EnvoyFilters overriding it. */
  readonly #byRoute = new Map<string, Set<string>>();
  #ready: () => boolean;

  constructor(source: string, records: Iterable<EnvoyFilterIndexRecord> = [], ready: () => boolean = () => true) {
    this.source = source;
    this.#ready = ready;
    this.replaceAll(records);
  }

  ready(): boolean {
    return this.#ready();
  }

  has(namespace: string, name: string): boolean {
    return this.#filters.has(`${namespace}/${name}`);
  }

  servingPool(namespace: string, poolNamespace: string, poolName: string): string[] {
    return [...(this.#byPool.get(`${namespace}|${poolNamespace}/${poolName}`) ?? [])].sort();
  }

  poolOf(namespace: string, name: string): string | undefined {
    return this.#filters.get(`${namespace}/${name}`)?.inferencePool;
  }

  envoyFiltersOverriding(route: string): EnvoyFilterIndexRecord[] {
    // Asked for every InferencePool rule of every HTTPRoute admitted: most routes have no override.
    const keys = this.#byRoute.get(route);
    return keys === undefined ? [] : [...keys].sort().map((key) => this.#filters.get(key)!);
  }

  get size(): number {
    return this.#filters.size;
  }

  records(): IterableIterator<EnvoyFilterIndexRecord> {
    return this.#filters.values();
  }

  put(record: EnvoyFilterIndexRecord): void {
    this.remove(`${record.namespace}/${record.name}`);
    const key = `${record.namespace}/${record.name}`;
    this.#filters.set(key, record);
    for (const route of record.overriddenRoutes ?? []) {
      let keys = this.#byRoute.get(route);
      if (keys === undefined) this.#byRoute.set(route, (keys = new Set()));
      keys.add(key);
    }
    if (record.inferencePool === undefined) return;
    const poolKey = `${record.namespace}|${record.inferencePool}`;
    let names = this.#byPool.get(poolKey);
    if (names === undefined) this.#byPool.set(poolKey, (names = new Set()));
    names.add(record.name);
  }

  remove(key: string): void {
    const previous = this.#filters.get(key);
    if (previous === undefined) return;
    this.#filters.delete(key);
    for (const route of previous.overriddenRoutes ?? []) {
      const keys = this.#byRoute.get(route);
      keys?.delete(key);
      if (keys?.size === 0) this.#byRoute.delete(route);
    }
    if (previous.inferencePool === undefined) return;
    const poolKey = `${previous.namespace}|${previous.inferencePool}`;
    const names = this.#byPool.get(poolKey);
    names?.delete(previous.name);
    if (names?.size === 0) this.#byPool.delete(poolKey);
  }

  replaceAll(records: Iterable<EnvoyFilterIndexRecord>): void {
    this.#filters.clear();
    this.#byPool.clear();
    this.#byRoute.clear();
    for (const record of records) this.put(record);
  }
}
