import { ANNOTATIONS, annotationsOf } from '../annotations.ts';
import { readConfigPatches } from '../envoyfilter/config-patches.ts';
import { PORT_PLACEHOLDER } from '../envoyfilter/epp-service-port.ts';
import { findEachPlaceholder } from '../envoyfilter/find-placeholders.ts';
import { parseInferencePoolAnnotation } from '../envoyfilter/inference-pool-reference.ts';
import { parsePointerList, valueAt } from '../envoyfilter/substitute-cluster-ip.ts';
import { isObject } from '../json-value.ts';

/** What the webhook recorded when it substituted the token (the three provenance annotations, all present). */
export interface Provenance {
  /** `namespace/name` of the Service whose ClusterIP was written. */
  service: string;
  /** The ClusterIP that was written; undefined where only EPP_SERVICE_PORT was replaced. */
  clusterIP: string | undefined;
  /** JSON Pointers that held the token (none where only EPP_SERVICE_PORT was replaced). */
  paths: string[];
  /** Where EPP_SERVICE_PORT was replaced, and by which port (the resolved-port and port-placeholder-paths annotations). */
  port: { port: number; paths: string[] } | undefined;
}

/**
 * The few facts about an EnvoyFilter the reconciler decides on: never the whole object. The string at each
 * recorded pointer (undefined where there is none any more) and whether the raw token is still anywhere.
 */
export interface EnvoyFilterRecord {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  provenance: Provenance | undefined;
  /** The `epp-webhook.io/epp-service` annotation, when set (which Service a raw token resolves against). */
  eppService: string | undefined;
  /** `namespace/name` of the `epp-webhook.io/inference-pool` annotation, when set and well formed. */
  inferencePool: string | undefined;
  /** Pointer -> the string there now; undefined where the path is gone or holds no string. */
  valuesAtPaths: Record<string, string | undefined>;
  /** Port pointer -> the value there now (a number where the webhook wrote one). */
  valuesAtPortPaths: Record<string, unknown>;
  /** The placeholder token is still in some string of `spec.configPatches[*].patch.value`. */
  hasPlaceholder: boolean;
}

/** Reduces an EnvoyFilter (as the API returns it) to an EnvoyFilterRecord; undefined if it has no name. */
export function toEnvoyFilterRecord(object: unknown, placeholder: string): EnvoyFilterRecord | undefined {
  if (!isObject(object) || !isObject(object.metadata)) return undefined;
  const metadata = object.metadata;
  if (typeof metadata.name !== 'string' || typeof metadata.namespace !== 'string') return undefined;
  const provenance = provenanceOf(object);
  const valuesAtPaths: Record<string, string | undefined> = {};
  for (const pointer of provenance?.paths ?? []) {
    const value = valueAt(object, pointer);
    valuesAtPaths[pointer] = typeof value === 'string' ? value : undefined;
  }
  const valuesAtPortPaths: Record<string, unknown> = {};
  for (const pointer of provenance?.port?.paths ?? []) valuesAtPortPaths[pointer] = valueAt(object, pointer);
  const eppService = annotationsOf(object)[ANNOTATIONS.eppService];
  const pool = parseInferencePoolAnnotation(annotationsOf(object)[ANNOTATIONS.inferencePool], metadata.namespace);
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    uid: typeof metadata.uid === 'string' ? metadata.uid : '',
    resourceVersion: typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : '',
    provenance,
    eppService: typeof eppService === 'string' ? eppService : undefined,
    inferencePool: pool && `${pool.namespace}/${pool.name}`,
    valuesAtPaths,
    valuesAtPortPaths,
    hasPlaceholder: containsPlaceholder(object, placeholder),
  };
}

/**
 * The provenance annotations, when well formed: the resolved Service with the address it wrote (resolved-cluster-ip
 * and placeholder-paths), the port it wrote (resolved-port and port-placeholder-paths), or both.
 */
export function provenanceOf(object: unknown): Provenance | undefined {
  const annotations = annotationsOf(object);
  const service = annotations[ANNOTATIONS.resolvedService];
  const clusterIP = annotations[ANNOTATIONS.resolvedClusterIP];
  const pathsText = annotations[ANNOTATIONS.placeholderPaths];
  if (typeof service !== 'string' || !/^[^/]+\/[^/]+$/.test(service)) return undefined;
  const address = typeof clusterIP === 'string' && clusterIP !== '' && typeof pathsText === 'string' ? { clusterIP, paths: parsePointerList(pathsText) } : undefined;
  const portText = annotations[ANNOTATIONS.resolvedPort];
  const port = typeof portText === 'string' && /^\d{1,5}$/.test(portText) ? { port: Number(portText), paths: parsePointerList(annotations[ANNOTATIONS.portPlaceholderPaths]) } : undefined;
  if (address === undefined && port === undefined) return undefined;
  return { service, clusterIP: address?.clusterIP, paths: address?.paths ?? [], port };
}

function containsPlaceholder(object: unknown, placeholder: string): boolean {
  const { patches } = readConfigPatches(object, {});
  return findEachPlaceholder(patches, [placeholder, PORT_PLACEHOLDER], 0).some((sites) => sites.length > 0);
}
