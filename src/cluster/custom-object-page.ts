import type { CustomObjectsApi } from '@kubernetes/client-node';
import { isObject } from '../json-value.ts';
import { requestSignal } from './request-signal.ts';
import type { ListPage } from './resource-list-watch.ts';

/**
 * One LIST page of a custom resource in all namespaces. CustomObjectsApi answers the raw JSON, whose continue token
 * is `metadata.continue`; the typed clients (Services) rename it `_continue`, which is what ListPage carries.
 */
export async function listCustomObjectPage(
  api: CustomObjectsApi,
  resource: { group: string; version: string; plural: string },
  page: { limit: number; _continue: string | undefined },
  signal: AbortSignal,
): Promise<ListPage> {
  const { group, version, plural } = resource;
  const list: unknown = await api.listClusterCustomObject({ group, version, plural, limit: page.limit, _continue: page._continue }, requestSignal(signal));
  const metadata = isObject(list) && isObject(list.metadata) ? list.metadata : {};
  const token = metadata.continue;
  const resourceVersion = metadata.resourceVersion;
  return {
    items: isObject(list) && Array.isArray(list.items) ? list.items : [],
    metadata: {
      ...(typeof token === 'string' && token !== '' ? { _continue: token } : {}),
      ...(typeof resourceVersion === 'string' ? { resourceVersion } : {}),
    },
  };
}
