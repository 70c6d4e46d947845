import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { WATCH_RESTART_CAUSES } from '../cluster/watch-restart-cause.ts';
import { LightHistogram } from './light-histogram.ts';
import { ListWatchHealth, type CacheName } from './list-watch-health.ts';
import { PendingCounts } from './pending-counts.ts';
import type { ProbedCaches } from './probes.ts';

/** Admission latency buckets start at 0.25 ms: a webhook answering in under a millisecond must be visible as such. */
export const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface WebhookMetrics {
  registry: Registry;
  /** Label values in this order: endpoint, kind, operation, verdict. Counted per admission, exposed when scraped. */
  requests: PendingCounts<'endpoint' | 'kind' | 'operation' | 'verdict'>;
  /** Label values: endpoint, kind. Observed per admission, in seconds. */
  duration: LightHistogram<'endpoint' | 'kind'>;
  /** By endpoint: add([endpoint]) as an admission starts, add([endpoint], -1) as it ends. */
  inFlight: PendingCounts<'endpoint'>;
  /** Label values: code, severity. */
  findings: PendingCounts<'code' | 'severity'>;
  substitutions: Counter;
  badRequests: Counter<'endpoint' | 'status'>;
  certificateExpiry: Gauge;
  /** Label: cause (a WatchRestartCause, or `gone` for a relist after 410 Gone). */
  watchRestarts: Counter<'cause'>;
  /** Every cache's list/watch events: failures counted, and how long a cache has been failing. */
  listWatch: ListWatchHealth;
}

/**
 * One registry per server instance (tests run several in one process). `caches`: the ones /readyz waits for; each
 * gets its gauges, read from the cache at scrape time. A cache the server was not given (only a library use; `serve`
 * always has all three) gets none: there is nothing to sync, /readyz does not wait for it, and a gauge would claim
 * a cache that does not exist.
 */
export function createMetrics(caches: ProbedCaches): WebhookMetrics {
  const { resolver } = caches;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'epp_webhook_' });
  const registers = [registry];
  new Gauge({
    name: 'epp_webhook_service_cache_size',
    help: 'Services held by the resolver (name, namespace, type, clusterIP and ports only).',
    registers,
    collect() {
      this.set(resolver.size());
    },
  });
  new Gauge({
    name: 'epp_webhook_service_cache_synced',
    help: '1 when the Service resolver can answer (first list synced or file loaded), else 0.',
    registers,
    collect() {
      this.set(resolver.ready() ? 1 : 0);
    },
  });
  // A Service table file is read before the metrics exist: it was "synced" when the server started.
  const startedAt = Date.now() / 1000;
  new Gauge({
    name: 'epp_webhook_service_cache_last_sync_timestamp_seconds',
    help: 'When the Service cache last completed a full list (Unix time; the watch keeps it current in between), or when the Service file was loaded; 0 before the first sync.',
    registers,
    collect() {
      const lastSync = (resolver as { lastSyncTime?: unknown }).lastSyncTime;
      if (lastSync instanceof Date) this.set(lastSync.getTime() / 1000);
      else this.set(resolver.ready() ? startedAt : 0);
    },
  });
  const { pools, envoyFilters } = caches;
  if (pools !== undefined) {
    cacheGauges(registers, pools, {
      synced: ['epp_webhook_inference_pool_cache_synced', '1 when the InferencePool cache can answer (every served version listed once, or file loaded), else 0.'],
      size: ['epp_webhook_inference_pool_cache_size', 'InferencePools held (a name served by both v1 and v1alpha2 counts once); their Endpoint Picker reference only.'],
    });
  }
  if (envoyFilters !== undefined) {
    cacheGauges(registers, envoyFilters, {
      synced: ['epp_webhook_envoyfilter_cache_synced', '1 when the EnvoyFilter index can answer (first list synced, or file loaded), else 0.'],
      size: ['epp_webhook_envoyfilter_cache_size', 'EnvoyFilters held by the index (name and inference-pool annotation only).'],
    });
  }
  const requests = pendingMetric('counter', registers, 'epp_webhook_admission_requests_total', 'AdmissionReviews answered, by endpoint (mutate|validate), kind, operation and verdict (allowed|denied|passed).', ['endpoint', 'kind', 'operation', 'verdict']);
  const inFlight = pendingMetric('gauge', registers, 'epp_webhook_admission_in_flight', 'AdmissionReviews being answered now.', ['endpoint']);
  const findings = pendingMetric('counter', registers, 'epp_webhook_findings_total', 'Findings reported, by rule code and severity (deny|warn).', ['code', 'severity']);
  return {
    registry,
    requests,
    duration: new LightHistogram({
      name: 'epp_webhook_admission_duration_seconds',
      help: 'Time from a parsed AdmissionReview to its answer, by endpoint and kind.',
      labelNames: ['endpoint', 'kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    inFlight,
    findings,
    substitutions: new Counter({ name: 'epp_webhook_substitutions_total', help: 'Placeholder tokens (address and port) replaced in allowed mutations, dry runs not counted.', registers }),
    badRequests: new Counter({
      name: 'epp_webhook_bad_requests_total',
      help: 'Requests answered with an HTTP error (not JSON, not an AdmissionReview v1, too large), by endpoint and status.',
      labelNames: ['endpoint', 'status'],
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'epp_webhook_tls_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the serving certificate in use, as a Unix timestamp: alert weeks ahead.',
      registers,
    }),
    watchRestarts: watchRestartCounter(registers),
    listWatch: new ListWatchHealth(registers, (['Services', ...(pools === undefined ? [] : ['InferencePools']), ...(envoyFilters === undefined ? [] : ['EnvoyFilters'])] as CacheName[])),
  };
}

/** Every cause's series from the start, so a rate of `failed` reads 0 rather than nothing on a healthy cluster. */
function watchRestartCounter(registers: Registry[]): Counter<'cause'> {
  const counter = new Counter({
    name: 'epp_webhook_service_watch_restarts_total',
    help: 'Times the Service watch was started again, by cause: idle (nothing delivered for 30 s, the usual on a quiet cluster), ended (by the API server), failed, gone (410: a full relist).',
    labelNames: ['cause'],
    registers,
  });
  // Each restart cause, and `gone` for a relist after 410 Gone.
  for (const cause of [...WATCH_RESTART_CAUSES, 'gone']) counter.inc({ cause }, 0);
  return counter;
}

/**
 * A counter or gauge that admissions count into without prom-client (PendingCounts), exposed when scraped: a counter
 * gets the counts since the last scrape added, a gauge is set to the current counts.
 */
function pendingMetric<L extends string>(type: 'counter' | 'gauge', registers: Registry[], name: string, help: string, labelNames: readonly L[]): PendingCounts<L> {
  const counts = new PendingCounts(labelNames);
  if (type === 'counter') {
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        counts.drain((labels, amount) => this.inc(labels, amount));
      },
    });
  } else {
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        counts.read((labels, value) => this.set(labels, value));
      },
    });
  }
  return counts;
}

/** A cache's synced gauge, and its size gauge where the cache can tell it: read at scrape time, nothing per admission. */
function cacheGauges(registers: Registry[], cache: { ready(): boolean; readonly size?: number }, names: { synced: [string, string]; size: [string, string] }): void {
  new Gauge({
    name: names.synced[0],
    help: names.synced[1],
    registers,
    collect() {
      this.set(cache.ready() ? 1 : 0);
    },
  });
  if (cache.size === undefined) return;
  new Gauge({
    name: names.size[0],
    help: names.size[1],
    registers,
    collect() {
      this.set(cache.size ?? 0);
    },
  });
}
