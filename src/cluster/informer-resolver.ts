import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from './load-kubeconfig.ts';
import { requestSignal } from './request-signal.ts';
import { ResourceListWatch, type ResourceListWatchEvent, type ResourceListWatchOptions } from './resource-list-watch.ts';
import { serviceChangeFor, type ServiceCacheChange } from './service-change.ts';
import { serviceKey, toServiceRecord, type ServiceLookup, type ServiceRecord, type ServiceResolver } from './service-resolver.ts';

/** What the informer reports while it keeps the cache current; failures are retried, never thrown. */
export type InformerEvent =
  /** A full list completed: the first one (`initial`) or one after a 410 Gone. */
  | { type: 'synced'; initial: boolean; services: number; resourceVersion: string }
  | Exclude<ResourceListWatchEvent, { type: 'synced' }>;

export interface InformerServiceResolverOptions {
  /** A kubeconfig file; absent: KUBECONFIG, ~/.kube/config, then the in-cluster service account (loadKubeConfig). */
  kubeconfig?: string;
  /** An already loaded KubeConfig (takes precedence over `kubeconfig`). */
  kubeConfig?: KubeConfig;
  onEvent?: (event: InformerEvent) => void;
  /** Optional: told of every Service a watch event changes, and of every full relist (for the reconciler). */
  onServiceChange?: (change: ServiceCacheChange) => void;
  pageSize?: number;
  /** How long one LIST page may take before it is abandoned and retried (default 30 s). */
  listPageTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A cluster-wide cache of ServiceRecords, kept by a ResourceListWatch of Services: the webhook's ServiceResolver. */
export class InformerServiceResolver implements ServiceResolver {
  readonly source: string;
  readonly #services: ResourceListWatch<ServiceRecord>;
  readonly #onEvent: (event: InformerEvent) => void;
  #lastSyncTime: Date | undefined;
  #watchRestarts = 0;
  #lastError: Error | undefined;

  constructor(options: InformerServiceResolverOptions = {}) {
    const kubeConfig = options.kubeConfig ?? loadKubeConfig(options.kubeconfig);
    const server = kubeConfig.getCurrentCluster()?.server;
    if (server === undefined) throw new Error(`kubeconfig ${options.kubeconfig ?? '(default)'} has no current cluster`);
    this.source = `the Service cache of ${server}`;
    this.#onEvent = options.onEvent ?? (() => {});
    const api = kubeConfig.makeApiClient(CoreV1Api);
    const { onServiceChange } = options;
    this.#services = serviceListWatch({
      kubeConfig,
      listPage: (page, signal) => api.listServiceForAllNamespaces(page, requestSignal(signal)),
      onChange: onServiceChange && ((change) => onServiceChange(serviceChangeFor(change))),
      onResync: onServiceChange && (() => onServiceChange({ type: 'resynced', receivedAt: Date.now() })),
      onEvent: (event) => this.#observe(event),
      pageSize: options.pageSize,
      listPageTimeoutMs: options.listPageTimeoutMs,
      initialBackoffMs: options.initialBackoffMs,
      maxBackoffMs: options.maxBackoffMs,
    });
  }

  /** Starts list+watch; resolves once the first list is in the cache (or when stopped first). Calling it again returns the same promise. */
  start(): Promise<void> {
    return this.#services.start();
  }

  /** Aborts the list or watch in flight and any retry timer; resolves when nothing is left running. */
  stop(): Promise<void> {
    return this.#services.stop();
  }

  lookup(namespace: string, name: string): ServiceLookup {
    if (!this.#services.ready()) {
      const lastError = this.#lastError === undefined ? '' : ` (last error: ${this.#lastError.message})`;
      return {
        kind: 'unavailable',
        reason: `the Service cache has not finished its first list from the API server yet; this is temporary, retry shortly${lastError}`,
      };
    }
    const service = this.#services.get(serviceKey(namespace, name));
    return service === undefined ? { kind: 'not-found' } : { kind: 'found', service };
  }

  ready(): boolean {
    return this.#services.ready();
  }

  size(): number {
    return this.#services.size;
  }

  /** When the last full list completed. */
  get lastSyncTime(): Date | undefined {
    return this.#lastSyncTime;
  }

  get watchRestarts(): number {
    return this.#watchRestarts;
  }

  get resourceVersion(): string {
    return this.#services.resourceVersion;
  }

  #observe(event: ResourceListWatchEvent): void {
    switch (event.type) {
      case 'synced':
        this.#lastSyncTime = new Date();
        this.#lastError = undefined;
        this.#onEvent({ type: 'synced', initial: event.initial, services: event.items, resourceVersion: event.resourceVersion });
        return;
      case 'watch-restart':
        this.#watchRestarts++;
        break;
      case 'error':
        this.#lastError = event.error;
        break;
    }
    this.#onEvent(event);
  }
}

/** The list+watch of every Service, kept as ServiceRecords: the resolver's store (the resolver bench fills one too). */
export function serviceListWatch(
  options: Omit<ResourceListWatchOptions<ServiceRecord>, 'path' | 'what' | 'reduce' | 'keyOf'>,
): ResourceListWatch<ServiceRecord> {
  return new ResourceListWatch({
    ...options,
    path: '/api/v1/services',
    what: 'Services',
    reduce: toServiceRecord,
    keyOf: (record) => serviceKey(record.namespace, record.name),
  });
}
