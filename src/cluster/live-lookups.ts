import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { orNotFound } from './api-error.ts';
import { INFERENCE_POOL_VERSIONS, toInferencePoolRecord, type InferencePoolLookup } from './inference-pool.ts';
import { requestTimeout } from './request-timeout.ts';
import { toServiceRecord, type ServiceLookup } from './service-resolver.ts';

/**
 * The API server's own answer for one Service or InferencePool, read by GET. The caches are watches with no order
 * between them, so a cache can be behind what another replica already admitted; the reconciler asks here before it
 * writes. Never on the admission path. Throws what the API throws, but a 404 is `not-found`.
 */
export interface LiveLookups {
  service(namespace: string, name: string): Promise<ServiceLookup>;
  /** The newest served version that holds the pool, as the pool cache resolves a name both versions serve. */
  pool(namespace: string, name: string): Promise<InferencePoolLookup>;
}

const REQUEST_TIMEOUT_MS = 10_000;

export function liveLookups(kubeConfig: KubeConfig): LiveLookups {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    async service(namespace, name) {
      const object = await orNotFound(core.readNamespacedService({ namespace, name }, requestTimeout(REQUEST_TIMEOUT_MS)));
      const service = object === undefined ? undefined : toServiceRecord(object);
      return service === undefined ? { kind: 'not-found' } : { kind: 'found', service };
    },
    async pool(namespace, name) {
      for (const { group, version } of INFERENCE_POOL_VERSIONS) {
        // A version whose CRD is not installed answers 404 too.
        const object = await orNotFound(custom.getNamespacedCustomObject({ group, version, plural: 'inferencepools', namespace, name }, requestTimeout(REQUEST_TIMEOUT_MS)));
        const pool = object === undefined ? undefined : toInferencePoolRecord(object, group);
        if (pool !== undefined) return { kind: 'found', pool };
      }
      return { kind: 'not-found' };
    },
  };
}
