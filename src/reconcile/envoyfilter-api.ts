import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Operation } from 'fast-json-patch';
import { orNotFound } from '../cluster/api-error.ts';
import { listCustomObjectPage } from '../cluster/custom-object-page.ts';
import { requestTimeout } from '../cluster/request-timeout.ts';
import type { ListPage } from '../cluster/resource-list-watch.ts';
import { FIELD_MANAGER } from './field-manager.ts';

export const ENVOYFILTERS = {
  group: 'networking.istio.io',
  version: 'v1alpha3',
  plural: 'envoyfilters',
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'EnvoyFilter',
  path: '/apis/networking.istio.io/v1alpha3/envoyfilters',
} as const;


/** The reconciler's only calls on EnvoyFilters (RBAC: get, list, watch, patch). */
export interface EnvoyFilterApi {
  listPage(page: { limit: number; _continue: string | undefined }, signal: AbortSignal): Promise<ListPage>;
  /** The whole stored object; undefined when it is gone. */
  get(namespace: string, name: string): Promise<unknown>;
  /** An RFC 6902 JSON patch as `epp-webhook`; answers the stored object. */
  patch(namespace: string, name: string, operations: Operation[]): Promise<unknown>;
}

const REQUEST_TIMEOUT_MS = 10_000;

export function envoyFilterApi(kubeConfig: KubeConfig): EnvoyFilterApi {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = ENVOYFILTERS;
  return {
    listPage: (page, signal) => listCustomObjectPage(api, ENVOYFILTERS, page, signal),
    get: (namespace, name) => orNotFound(api.getNamespacedCustomObject({ group, version, plural, namespace, name }, requestTimeout(REQUEST_TIMEOUT_MS))),
    // client-node sends a custom object's patch as application/json-patch+json (its first media type).
    patch: (namespace, name, operations) =>
      api.patchNamespacedCustomObject({ group, version, plural, namespace, name, body: operations, fieldManager: FIELD_MANAGER }, requestTimeout(REQUEST_TIMEOUT_MS)),
  };
}
