import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { apiStatus } from './api-error.ts';
import { EnvoyFilterIndexTable, toEnvoyFilterIndexRecord, type EnvoyFilterIndexRecord } from './envoyfilter-index.ts';
import { requestSignal } from './request-signal.ts';
import { ResourceListWatch, type ResourceListWatchEvent } from './resource-list-watch.ts';

/**
 * Every EnvoyFilter's name and InferencePool annotation, listed and watched: the index the HTTPRoute core asks which
 * EnvoyFilter serves a pool (and whether a referenced EnvoyFilter exists). Never whole objects.
 */
export function informerEnvoyFilterIndex(options: {
  kubeConfig: KubeConfig;
  onEvent?: (event: ResourceListWatchEvent) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}): { index: EnvoyFilterIndexTable; start(): Promise<void>; stop(): Promise<void> } {
  const api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  const [group, version, plural] = ['networking.istio.io', 'v1alpha3', 'envoyfilters'];
  let store: ResourceListWatch<EnvoyFilterIndexRecord> | undefined;
  let absent = false;
  const server = options.kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  const index = new EnvoyFilterIndexTable(`the EnvoyFilter cache of ${server}`, [], () => store?.ready() ?? false);
  store = new ResourceListWatch<EnvoyFilterIndexRecord>({
    kubeConfig: options.kubeConfig,
    path: `/apis/${group}/${version}/${plural}`,
    what: 'EnvoyFilters',
    listPage: async (page, signal) => {
      try {
        const list = await api.listClusterCustomObject({ group, version, plural, limit: page.limit, _continue: page._continue }, requestSignal(signal));
        absent = false;
        return list;
      } catch (error) {
        // Istio's CRDs are not installed: no EnvoyFilters; the watch keeps asking until they are.
        if (apiStatus(error) !== 404) throw error;
        absent = true;
        return { items: [], metadata: { resourceVersion: '' } };
      }
    },
    reduce: (object) => toEnvoyFilterIndexRecord(object),
    keyOf: (record) => `${record.namespace}/${record.name}`,
    onChange: (change) => (change.type === 'DELETED' ? index.remove(change.key) : index.put(change.record)),
    onResync: () => index.replaceAll(store!.values()),
    onEvent: (event) => {
      if (event.type === 'error' && absent) return;
      options.onEvent?.(event);
    },
    initialBackoffMs: options.initialBackoffMs,
    maxBackoffMs: options.maxBackoffMs,
  });
  const running = store;
  return { index, start: () => running.start(), stop: () => running.stop() };
}
