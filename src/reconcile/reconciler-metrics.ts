import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ReconcileResult = 'updated' | 'unchanged' | 'conflict' | 'service-missing' | 'edited-by-hand' | 'error';

export interface ReconcilerMetrics {
  reconciles: Counter<'result'>;
  drift: Counter<'kind'>;
  propagation: Histogram;
  leader: Gauge<'identity'>;
  /** Set by the reconciler: EnvoyFilters whose Service is missing now. */
  serviceMissing: Gauge;
}

/** From a Service watch event to the EnvoyFilter patched: tens of milliseconds when all is well, seconds under backoff. */
const PROPAGATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The reconciler's metrics, on the webhook's registry (src/server/metrics.ts createMetrics). */
export function registerReconcilerMetrics(registry: Registry, sources: { envoyFilters(): number }): ReconcilerMetrics {
  const registers = [registry];
  new Gauge({
    name: 'epp_webhook_reconciler_envoyfilter_cache_size',
    help: 'EnvoyFilters held by the reconciler (name, namespace, resourceVersion, provenance and the strings at the recorded paths only).',
    registers,
    collect() {
      this.set(sources.envoyFilters());
    },
  });
  return {
    reconciles: new Counter({
      name: 'epp_webhook_reconciles_total',
      help: 'EnvoyFilter reconciles by result: updated, unchanged, conflict (retried after re-reading), service-missing, edited-by-hand, error.',
      labelNames: ['result'],
      registers,
    }),
    drift: new Counter({
      name: 'epp_webhook_reconcile_drift_detected_total',
      help: 'EnvoyFilter versions found not true to their EPP Service, by kind: cluster-ip-changed, port-changed (the ext_proc port of the Service, for an EnvoyFilter without a pool), pool-repointed (the InferencePool names another EPP Service or port), placeholder (raw token stored), edited-by-hand.',
      labelNames: ['kind'],
      registers,
    }),
    propagation: new Histogram({
      name: 'epp_webhook_reconcile_propagation_seconds',
      help: 'From receiving the Service watch event that changed a ClusterIP to the dependent EnvoyFilter patched.',
      buckets: PROPAGATION_BUCKETS,
      registers,
    }),
    leader: new Gauge({
      name: 'epp_webhook_reconciler_leader',
      help: '1 while this replica holds the reconciler Lease (only the leader writes EnvoyFilters), else 0.',
      labelNames: ['identity'],
      registers,
    }),
    serviceMissing: new Gauge({
      name: 'epp_webhook_envoyfilters_service_missing',
      help: 'EnvoyFilters whose recorded EPP Service does not exist (or has no ClusterIP) now: alert when above 0 for a while.',
      registers,
    }),
  };
}
