import type { KubeConfig } from '@kubernetes/client-node';
import { customResourceListWatch } from './custom-resource-list-watch.ts';
import { EnvoyFilterIndexTable, toEnvoyFilterIndexRecord, type EnvoyFilterIndexRecord } from './envoyfilter-index.ts';
import type { ResourceListWatch, ResourceListWatchEvent } from './resource-list-watch.ts';

/**
 * Every EnvoyFilter's name, InferencePool annotation and the Envoy routes it overrides, listed and watched: the index
 * the HTTPRoute core asks which EnvoyFilter serves a pool, whether a referenced EnvoyFilter exists and which overrides
 * a rule's route (EPP409). Never whole objects. Without Istio's CRDs
 * there are no EnvoyFilters, and the watch keeps asking until they are installed.
 */
export function informerEnvoyFilterIndex(options: {
  kubeConfig: KubeConfig;
  onEvent?: (event: ResourceListWatchEvent) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}): { index: EnvoyFilterIndexTable; start(): Promise<void>; stop(): Promise<void> } {
  const server = options.kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  const index = new EnvoyFilterIndexTable(`the EnvoyFilter cache of ${server}`, [], () => store.ready());
  const store: ResourceListWatch<EnvoyFilterIndexRecord> = customResourceListWatch<EnvoyFilterIndexRecord>(
    { group: 'networking.istio.io', version: 'v1alpha3', plural: 'envoyfilters' },
    {
      kubeConfig: options.kubeConfig,
      what: 'EnvoyFilters',
      reduce: (object) => toEnvoyFilterIndexRecord(object),
      keyOf: (record) => `${record.namespace}/${record.name}`,
      onChange: (change) => (change.type === 'DELETED' ? index.remove(change.key) : index.put(change.record)),
      onResync: () => index.replaceAll(store.values()),
      onEvent: options.onEvent,
      initialBackoffMs: options.initialBackoffMs,
      maxBackoffMs: options.maxBackoffMs,
    },
  );
  return { index, start: () => store.start(), stop: () => store.stop() };
}
