import { CustomObjectsApi } from '@kubernetes/client-node';
import { apiStatus } from './api-error.ts';
import { listCustomObjectPage } from './custom-object-page.ts';
import { ResourceListWatch, type ResourceListWatchOptions } from './resource-list-watch.ts';

export interface CustomResource {
  group: string;
  version: string;
  plural: string;
}

/**
 * The list+watch of a custom resource in all namespaces, whose CRD may not be installed: a 404 lists as empty (synced),
 * and the watch keeps asking until the CRD appears (from no resourceVersion, so it then delivers every object as ADDED).
 * Those 404s are reported as answers, not failures; every other failure is reported, also after the CRD was once missing.
 */
export function customResourceListWatch<T>(
  resource: CustomResource,
  options: Omit<ResourceListWatchOptions<T>, 'path' | 'listPage'>,
): ResourceListWatch<T> {
  const { group, version, plural } = resource;
  const api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  return new ResourceListWatch<T>({
    ...options,
    path: `/apis/${group}/${version}/${plural}`,
    listPage: async (page, signal) => {
      try {
        return await listCustomObjectPage(api, resource, page, signal);
      } catch (error) {
        if (apiStatus(error) !== 404) throw error;
        return { items: [], metadata: { resourceVersion: '' } };
      }
    },
    onEvent: (event) => {
      // The API answered: there is nothing to watch yet, and the empty cache is current.
      if (event.type === 'error' && apiStatus(event.error.cause) === 404) options.onEvent?.({ type: 'answered', resourceVersion: '' });
      else options.onEvent?.(event);
    },
  });
}
