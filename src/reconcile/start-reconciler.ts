import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { liveLookups } from '../cluster/live-lookups.ts';
import { ResourceListWatch, type ResourceListWatchEvent } from '../cluster/resource-list-watch.ts';
import type { ServiceCacheChange } from '../cluster/service-change.ts';
import type { InferencePoolResolver } from '../cluster/inference-pool.ts';
import type { PoolChange } from '../cluster/informer-inference-pools.ts';
import type { ServiceResolver } from '../cluster/service-resolver.ts';
import type { WebhookConfig } from '../config.ts';
import { ENVOYFILTERS, envoyFilterApi } from './envoyfilter-api.ts';
import { toEnvoyFilterRecord, type EnvoyFilterRecord } from './envoyfilter-record.ts';
import { EventRecorder } from './event-recorder.ts';
import { LeaderElector, type LeaderElectionEvent } from './leader-elector.ts';
import { LEASE_NAME } from './leader-election-settings.ts';
import { Reconciler, envoyFilterKey, type ReconcilerLog } from './reconciler.ts';
import { registerReconcilerMetrics } from './reconciler-metrics.ts';

export interface StartReconcilerOptions {
  /** The cluster the webhook's caches watch (loadKubeConfig): the reconciler writes to the same one. */
  kubeConfig: KubeConfig;
  config: WebhookConfig;
  /** The webhook's own Service cache: the reconciler adds no second Service watch. */
  resolver: ServiceResolver;
  /** The webhook's own InferencePool cache: EnvoyFilters with the inference-pool annotation follow their pool. */
  pools?: InferencePoolResolver;
  registry: Registry;
  log: ReconcilerLog & { error(fields: object, message: string): void };
  identity: string;
  leaseNamespace: string;
  /** Overrides for tests; client-go's defaults otherwise. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Every EnvoyFilter is looked at again this often while leading (default 10 min): a safety net, idempotent. */
  resyncIntervalMs?: number;
}

export interface RunningReconciler {
  identity: string;
  /** Give every Service cache change here (InformerServiceResolver's onServiceChange). */
  onServiceChange(change: ServiceCacheChange): void;
  /** Give every InferencePool cache change here (InformerInferencePools' onPoolChange). */
  onPoolChange(change: PoolChange | { type: 'resynced' }): void;
  isLeader(): boolean;
  /** Steps down (releasing the Lease) and stops the EnvoyFilter watch. */
  stop(): Promise<void>;
}

const REPORTING_CONTROLLER = 'epp-webhook.io/reconciler';

/**
 * The reconciler in the webhook's process: an EnvoyFilter list+watch on every replica (a warm cache makes
 * takeover quick), work only on the replica that holds the Lease. Admissions are served on every replica
 * whatever happens here.
 */
export function startReconciler(options: StartReconcilerOptions): RunningReconciler {
  const { kubeConfig, log, identity } = options;

  let elector: LeaderElector | undefined;
  const isLeader = (): boolean => elector?.isLeader() ?? false;
  const api = envoyFilterApi(kubeConfig);
  let reconciler: Reconciler | undefined;
  const store = new ResourceListWatch<EnvoyFilterRecord>({
    kubeConfig,
    path: ENVOYFILTERS.path,
    what: 'EnvoyFilters',
    listPage: api.listPage,
    reduce: (object) => toEnvoyFilterRecord(object, options.config.placeholder),
    keyOf: envoyFilterKey,
    onChange: (change) => reconciler?.onEnvoyFilterChange(change),
    onResync: () => reconciler?.enqueueAll(),
    onEvent: (event) => logListWatchEvent(log, event),
  });
  const metrics = registerReconcilerMetrics(options.registry, { envoyFilters: () => store.size });
  metrics.leader.set({ identity }, 0);
  reconciler = new Reconciler({
    config: options.config,
    resolver: options.resolver,
    live: liveLookups(kubeConfig),
    pools: options.pools,
    store,
    api,
    events: new EventRecorder({ kubeConfig, reportingController: REPORTING_CONTROLLER, reportingInstance: identity, onError: (message) => log.warn({}, message) }),
    metrics,
    log,
    isLeader,
  });
  const running = reconciler;

  let resync: NodeJS.Timeout | undefined;
  elector = new LeaderElector({
    kubeConfig,
    namespace: options.leaseNamespace,
    name: LEASE_NAME,
    identity,
    leaseDurationMs: options.leaseDurationMs,
    renewDeadlineMs: options.renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs,
    onStartedLeading() {
      metrics.leader.set({ identity }, 1);
      running.start();
      resync = setInterval(() => running.enqueueAll(), options.resyncIntervalMs ?? 10 * 60_000);
      resync.unref();
    },
    onStoppedLeading() {
      metrics.leader.set({ identity }, 0);
      clearInterval(resync);
      void running.pause();
    },
    onEvent: (event) => logLeaderEvent(log, options.leaseNamespace, identity, event),
  });
  void store.start();
  elector.start();
  log.info({ identity, lease: `${options.leaseNamespace}/${LEASE_NAME}` }, 'reconciler started: campaigning for the Lease');

  return {
    identity,
    onServiceChange: (change) => running.onServiceChange(change),
    onPoolChange: (change) => running.onPoolChange(change),
    isLeader,
    async stop() {
      await elector.stop();
      await running.pause();
      await store.stop();
    },
  };
}

function logLeaderEvent(log: StartReconcilerOptions['log'], namespace: string, identity: string, event: LeaderElectionEvent): void {
  const lease = `${namespace}/${LEASE_NAME}`;
  switch (event.type) {
    case 'started-leading':
      log.info({ lease, identity, transitions: event.transitions }, 'became the reconciler leader');
      break;
    case 'stopped-leading':
      log.warn({ lease, identity, reason: event.reason }, 'stopped being the reconciler leader');
      break;
    case 'observed-leader':
      log.info({ lease, leader: event.holder }, 'another replica leads the reconciler');
      break;
    case 'released':
      log.info({ lease, identity }, 'released the reconciler Lease');
      break;
    case 'error':
      log.warn({ lease, reason: event.message }, 'leader election request failed');
      break;
  }
}

function logListWatchEvent(log: StartReconcilerOptions['log'], event: ResourceListWatchEvent): void {
  switch (event.type) {
    case 'synced':
      log.info({ envoyFilters: event.items, initial: event.initial }, 'EnvoyFilter cache synced');
      break;
    case 'watch-restart':
      log.debug({ reason: event.reason }, 'EnvoyFilter watch restarted');
      break;
    case 'relist':
      log.info({ reason: event.reason }, 'EnvoyFilter cache relisting');
      break;
    case 'error':
      log.warn({ reason: event.error.message, retryInMs: event.retryInMs }, 'EnvoyFilter list/watch failed; retrying');
      break;
  }
}
