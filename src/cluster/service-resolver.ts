import { isObject } from '../json-value.ts';

/** The few fields of a Service the webhook needs; whole Service objects are never kept. */
export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

export interface ServiceRecord {
  namespace: string;
  name: string;
  type: string;
  clusterIP: string;
  ports: ServicePort[];
}

export type ServiceLookup =
  | { kind: 'found'; service: ServiceRecord }
  | { kind: 'not-found' }
  /** The resolver cannot answer right now (cache not synced, API unreachable): a retryable condition. */
  | { kind: 'unavailable'; reason: string };

/** How to give a source what it could not answer, for a denial's fix; a cluster's caches need none of it. */
export interface SourceFixes {
  /** A Service not found (`namespace/name`): check's command line may simply not have named it. */
  notFound?: (service: string) => string | undefined;
  /** A Service found with no ports listed (`namespace/name`). */
  unknownPorts?: (service: string) => string;
  /** True where no Service table or cluster was given (check with --cluster-ip or nothing): not found says nothing of a cluster. */
  noServiceSource?: boolean;
}

export interface ServiceResolver {
  /** Where answers come from, for messages: "the Service cache", "services.yaml". */
  readonly source: string;
  readonly fixes?: SourceFixes;
  lookup(namespace: string, name: string): ServiceLookup | Promise<ServiceLookup>;
  /** True once the resolver can answer (first list synced, file loaded). */
  ready(): boolean;
  size(): number;
}

/** How Services are keyed in a table: `namespace/name`. */
export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Reduces a Service object (as the API or a YAML file returns it) to a ServiceRecord; undefined if it is not one. */
export function toServiceRecord(object: unknown): ServiceRecord | undefined {
  if (!isObject(object) || object.kind !== undefined && object.kind !== 'Service') return undefined;
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const spec = isObject(object.spec) ? object.spec : {};
  if (typeof metadata.name !== 'string') return undefined;
  const ports = Array.isArray(spec.ports) ? spec.ports.filter(isObject) : [];
  return {
    namespace: typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'default',
    name: metadata.name,
    type: typeof spec.type === 'string' ? spec.type : 'ClusterIP',
    clusterIP: typeof spec.clusterIP === 'string' ? spec.clusterIP : '',
    ports: ports.map((p) => ({
      ...(typeof p.name === 'string' ? { name: p.name } : {}),
      port: typeof p.port === 'number' ? p.port : Number(p.port),
      ...(typeof p.protocol === 'string' ? { protocol: p.protocol } : {}),
    })),
  };
}
