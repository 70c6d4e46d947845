import type { Operation } from 'fast-json-patch';
import { apiErrorMessage, apiStatus } from '../cluster/api-error.ts';
import { changesAddress, type ServiceCacheChange } from '../cluster/service-change.ts';
import type { InferencePoolLookup, InferencePoolResolver } from '../cluster/inference-pool.ts';
import type { LiveLookups } from '../cluster/live-lookups.ts';
import type { PoolChange } from '../cluster/informer-inference-pools.ts';
import type { ServiceLookup, ServiceResolver } from '../cluster/service-resolver.ts';
import { mayReferenceNamespace, type WebhookConfig } from '../config.ts';
import { PORT_PLACEHOLDER } from '../envoyfilter/epp-service-port.ts';
import { serviceReferenceOf } from '../envoyfilter/epp-service-reference.ts';
import { substituteClusterIP } from '../envoyfilter/substitute-cluster-ip.ts';
import { decidePlaceholderResolution } from './decide-placeholder-resolution.ts';
import { decideReconcile, recordedService, type ReconcileDecision } from './decide-reconcile.ts';
import { decideRepoint, poolTargetOf, type RepointDecision } from './decide-repoint.ts';
import { ENVOYFILTERS, type EnvoyFilterApi } from './envoyfilter-api.ts';
import { handBackOwnership } from './field-ownership.ts';
import type { EnvoyFilterRecord } from './envoyfilter-record.ts';
import type { ObjectEvent } from './event-recorder.ts';
import type { ReconcilerMetrics, ReconcileResult } from './reconciler-metrics.ts';
import { WorkQueue, type WorkItem, type WorkOutcome } from './work-queue.ts';
import { WriteRateLimit } from './write-rate-limit.ts';

/** The EnvoyFilters the reconciler knows, as records (a ResourceListWatch, or a Map in tests). */
export interface EnvoyFilterStore {
  get(key: string): EnvoyFilterRecord | undefined;
  values(): IterableIterator<EnvoyFilterRecord>;
  /** Stores what a GET or PATCH answered; returns its record. */
  refresh(object: unknown): EnvoyFilterRecord | undefined;
}

export interface ReconcilerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

export interface ReconcilerOptions {
  config: WebhookConfig;
  resolver: ServiceResolver;
  /** The API server's answer, asked before a write the caches decided on: they may be behind another replica's. */
  live: LiveLookups;
  /** InferencePools: an EnvoyFilter with the inference-pool annotation follows its pool's endpointPickerRef. */
  pools?: InferencePoolResolver;
  store: EnvoyFilterStore;
  api: EnvoyFilterApi;
  events: { record(event: ObjectEvent): Promise<void> };
  metrics: ReconcilerMetrics;
  log: ReconcilerLog;
  /** Checked before every write: only the leader writes. */
  isLeader(): boolean;
  /** At most one write per EnvoyFilter per this interval (default 1 s). */
  writeIntervalMs?: number;
  /** A Service must stay missing this long before it is reported (default 5 s): a delete+recreate is not an alarm. */
  serviceMissingGraceMs?: number;
  concurrency?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Tries of the patch that gives a rewrite's fields back, on transient failures. */
const HAND_BACK_ATTEMPTS = 4;

/** The wait before deciding again when the Service cache cannot answer yet. */
const NOT_READY_RETRY_MS = 1_000;
/** Reports remembered per EnvoyFilter, so one state is reported once, not on every resync. */
const MAX_REPORTS_PER_OBJECT = 32;

export function envoyFilterKey(record: { namespace: string; name: string }): string {
  return `${record.namespace}/${record.name}`;
}

/**
 * Keeps substituted ClusterIPs true: decides per EnvoyFilter with the pure decision functions and carries the
 * decision out (JSON patch as `epp-webhook`, Events, metrics). Never fights a user (hand-edited paths are left
 * alone and reported), never loops (decisions are idempotent, writes rate-limited per object), and retries
 * conflicts with backoff after re-reading.
 */
export class Reconciler {
  readonly #options: ReconcilerOptions;
  readonly #queue: WorkQueue;
  readonly #rateLimit: WriteRateLimit;
  readonly #missingSince = new Map<string, number>();
  readonly #missingReported = new Set<string>();
  readonly #reported = new Map<string, Set<string>>();

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    this.#rateLimit = new WriteRateLimit(options.writeIntervalMs ?? 1_000);
    this.#queue = new WorkQueue({
      handle: (item) => this.#reconcile(item),
      concurrency: options.concurrency,
      initialBackoffMs: options.initialBackoffMs,
      maxBackoffMs: options.maxBackoffMs,
    });
  }

  /** Starts handing out work (on becoming leader) and looks at every EnvoyFilter once. */
  start(): void {
    this.enqueueAll();
    this.#queue.start();
  }

  /**
   * Stops handing out work (on losing leadership); resolves when the writes in flight are done. What it knew
   * about missing Services goes too: the gauge is the leader's to report, and the next leader looks again.
   */
  async pause(): Promise<void> {
    this.#queue.clear();
    const paused = this.#queue.pause();
    this.#missingSince.clear();
    this.#missingReported.clear();
    this.#options.metrics.serviceMissing.set(0);
    await paused;
  }

  enqueueAll(): void {
    for (const record of this.#options.store.values()) this.#queue.add(envoyFilterKey(record));
  }

  /** From the Service cache: the EnvoyFilters that resolved against a changed Service, or whose raw token or pool would resolve against it now, are due. */
  onServiceChange(change: ServiceCacheChange): void {
    if (!changesAddress(change)) return;
    if (change.type === 'resynced') return this.enqueueAll();
    const service = `${change.namespace}/${change.name}`;
    this.#options.log.debug({ service, from: change.before?.clusterIP, to: change.after?.clusterIP }, 'EPP Service address changed');
    // Latency is measured from the event that brought the address written; a deletion brings none (its grace wait is not latency).
    const changeReceivedAt = change.after === undefined ? undefined : change.receivedAt;
    for (const record of this.#options.store.values()) {
      const due = record.provenance?.service === service || this.#poolNames(record, service) || (record.hasPlaceholder && this.#annotationOrDefaultNames(record, service));
      if (due) this.#queue.add(envoyFilterKey(record), { changeReceivedAt });
    }
  }

  /**
   * A raw token without a pool resolves against the `epp-service` annotation's Service, else the configured default:
   * only a change of that one can let it resolve (each try reads the whole object from the API).
   */
  #annotationOrDefaultNames(record: EnvoyFilterRecord, service: string): boolean {
    if (record.inferencePool !== undefined) return false;
    const chosen = serviceReferenceOf(record.eppService, record.namespace, this.#options.config);
    return 'reference' in chosen && `${chosen.reference.namespace}/${chosen.reference.name}` === service;
  }

  /** From the InferencePool cache: the EnvoyFilters wired to a pool whose Endpoint Picker changed are due. */
  onPoolChange(change: PoolChange | { type: 'resynced' }): void {
    if ('type' in change) return this.enqueueAll();
    const pool = `${change.namespace}/${change.name}`;
    this.#options.log.debug({ pool, from: change.before?.endpointPicker, to: change.after?.endpointPicker }, 'InferencePool endpointPickerRef changed');
    for (const record of this.#options.store.values()) {
      if (record.inferencePool === pool) this.#queue.add(envoyFilterKey(record), { changeReceivedAt: change.receivedAt });
    }
  }

  /** The record's pool names `service` (`namespace/name`) as its Endpoint Picker now. */
  #poolNames(record: EnvoyFilterRecord, service: string): boolean {
    if (record.inferencePool === undefined || this.#options.pools === undefined) return false;
    const [namespace, name] = record.inferencePool.split('/');
    const lookup = this.#options.pools.lookupPool(namespace, name);
    return lookup.kind === 'found' && `${namespace}/${lookup.pool.endpointPicker?.name}` === service;
  }

  /** From the EnvoyFilter watch. */
  onEnvoyFilterChange(change: { type: 'ADDED' | 'MODIFIED' | 'DELETED'; key: string }): void {
    if (change.type === 'DELETED') return this.#forget(change.key);
    this.#queue.add(change.key);
  }

  /** Resolves when no item is in hand (tests). */
  whenIdle(): Promise<void> {
    return this.#queue.whenIdle();
  }

  get queued(): number {
    return this.#queue.length;
  }

  async #reconcile(item: WorkItem): Promise<WorkOutcome> {
    if (!this.#options.isLeader()) return { kind: 'done' };
    const record = this.#options.store.get(item.key);
    if (record === undefined) {
      this.#forget(item.key);
      return { kind: 'done' };
    }
    let decided = await this.#decide(record, this.#cached);
    if (writes(decided)) {
      // The caches say what is due; the API says what is written. Another replica may have admitted this object
      // with a Service or pool newer than this replica's caches have seen: writing from the cache would put the
      // old address back until it caught up.
      try {
        decided = await this.#decide(record, this.#options.live);
      } catch (error) {
        return this.#failed(record, 'reading the EPP Service or InferencePool from the API', error);
      }
      if (!writes(decided)) this.#options.log.debug({ envoyFilter: item.key }, 'the cache is behind the API server: nothing to write');
    }
    return this.#carryOut(record, item, decided);
  }

  /** The webhook's own caches, read the way the live lookups are. */
  readonly #cached: Lookups = {
    service: (namespace, name) => this.#options.resolver.lookup(namespace, name),
    pool: (namespace, name) => this.#options.pools!.lookupPool(namespace, name),
  };

  /** What this EnvoyFilter needs: following its pool to another EPP Service or port first, else its Service's ClusterIP. */
  async #decide(record: EnvoyFilterRecord, lookups: Lookups): Promise<Decided> {
    if (record.inferencePool !== undefined && record.provenance !== undefined && this.#options.pools !== undefined) {
      const [namespace, name] = record.inferencePool.split('/');
      if (!this.#mayFollow(record, namespace)) return this.#notAllowed(`InferencePool ${record.inferencePool}`);
      const target = poolTargetOf(record, await lookups.pool(namespace, name));
      if (target === 'wait') return { by: 'pool', decision: { kind: 'wait', why: 'the InferencePool cache cannot answer yet' } };
      if (target !== undefined) {
        const [serviceNamespace, serviceName] = target.service.split('/');
        if (!this.#mayFollow(record, serviceNamespace)) return this.#notAllowed(`EPP Service ${target.service} (named by InferencePool ${record.inferencePool})`);
        const decision = decideRepoint(record, target, await lookups.service(serviceNamespace, serviceName));
        if (decision.kind !== 'not-repointed') return { by: 'pool', decision };
      }
    }
    const target = recordedService(record);
    if (target !== undefined && !this.#mayFollow(record, target.namespace)) return this.#notAllowed(`EPP Service ${target.namespace}/${target.name}`);
    const lookup = target === undefined ? undefined : await lookups.service(target.namespace, target.name);
    return { by: 'service', decision: decideReconcile(record, lookup) };
  }

  /**
   * The annotations it follows are the object's own, which anyone who may write the EnvoyFilter may write: a
   * reference admission would refuse (allowedServiceNamespaces, EPP103) is not followed either, or a hand-written
   * `resolved-service` would put another namespace's ClusterIP in (and its Events would tell whether a Service
   * exists there).
   */
  #mayFollow(record: EnvoyFilterRecord, namespace: string): boolean {
    return mayReferenceNamespace(this.#options.config, record.namespace, namespace);
  }

  #notAllowed(what: string): Decided {
    return { by: 'service', decision: { kind: 'not-allowed', why: `${what} is in another namespace, which allowedServiceNamespaces does not list (EPP103 at admission): not followed` } };
  }

  #carryOut(record: EnvoyFilterRecord, item: WorkItem, decided: Decided): Promise<WorkOutcome> | WorkOutcome {
    if (decided.by === 'pool') return this.#followPool(record, item, decided.decision);
    const { decision } = decided;
    switch (decision.kind) {
      case 'unchanged':
        this.#present(item.key);
        this.#count('unchanged');
        return { kind: 'done' };
      case 'not-allowed':
        this.#report(record, { type: 'Warning', reason: 'ReferenceNotAllowed', action: 'Skip', note: decision.why });
        this.#count('error');
        return { kind: 'done' };
      case 'wait':
        this.#options.log.debug({ envoyFilter: item.key, reason: decision.why }, 'reconcile waits for the Service cache');
        return { kind: 'after', delayMs: NOT_READY_RETRY_MS };
      case 'service-missing':
        return this.#serviceMissing(record, decision.why);
      case 'edited-by-hand':
        return this.#editedByHand(record, item, decision.patch, decision.editedPaths, decision.change, decision.held, decision.to, decision.service);
      case 'rewrite': {
        const to = [decision.to.clusterIP, decision.to.port].filter((v) => v !== undefined).join(':');
        this.#drift(record, decision.change.startsWith('port') ? 'port-changed' : 'cluster-ip-changed', to);
        if (decision.editedPaths.length > 0) this.#reportEdited(record, decision.editedPaths, decision.change, decision.held, decision.service);
        const paths = decision.rewrittenPaths.length;
        const note = `EPP Service ${decision.service} ${decision.change}: rewrote ${paths} recorded path${paths === 1 ? '' : 's'}${
          decision.editedPaths.length > 0 ? ` (left ${decision.editedPaths.length} edited by hand)` : ''
        }`;
        return this.#write(record, item, decision.patch, note, { change: decision.change, reason: decision.change.startsWith('port') ? 'EPPPortUpdated' : 'ClusterIPUpdated' });
      }
      case 'resolve-placeholder':
        return this.#resolvePlaceholder(record, item);
    }
  }

  /** An EnvoyFilter wired to a pool that now names another EPP Service or port: follow it. */
  #followPool(record: EnvoyFilterRecord, item: WorkItem, decision: PoolDecision): Promise<WorkOutcome> | WorkOutcome {
    switch (decision.kind) {
      case 'wait':
        return { kind: 'after', delayMs: NOT_READY_RETRY_MS };
      case 'service-missing':
        return this.#serviceMissing(record, decision.why);
      case 'edited-by-hand':
        return this.#editedByHand(record, item, decision.patch, decision.editedPaths, decision.change, decision.held, decision.to, decision.target.service);
      case 'repoint': {
        this.#drift(record, 'pool-repointed', `${decision.target.service}:${decision.to.port ?? ''}`);
        const change = [
          decision.from.clusterIP === undefined ? undefined : `ClusterIP ${decision.from.clusterIP} -> ${decision.to.clusterIP}`,
          decision.from.port === decision.to.port ? undefined : `port ${decision.from.port} -> ${decision.to.port}`,
        ].filter(Boolean).join(', ');
        const held = [decision.from.clusterIP, decision.from.port === decision.to.port ? undefined : `port ${decision.from.port}`].filter(Boolean).join(' or ');
        if (decision.editedPaths.length > 0) this.#reportEdited(record, decision.editedPaths, change, held, decision.target.service);
        const paths = decision.rewrittenPaths.length;
        const note = `InferencePool ${decision.target.pool} now names EPP Service ${decision.target.service} (was ${decision.fromService})${change === '' ? '' : `: ${change}`}: rewrote ${paths} recorded path${paths === 1 ? '' : 's'}${
          decision.editedPaths.length > 0 ? ` (left ${decision.editedPaths.length} edited by hand)` : ''
        }`;
        return this.#write(record, item, decision.patch, note, { change: change || `Service ${decision.fromService} -> ${decision.target.service}`, reason: 'EndpointPickerFollowed' });
      }
    }
  }

  /** A raw token is stored: read the whole object once and substitute it with the webhook's own core. */
  async #resolvePlaceholder(record: EnvoyFilterRecord, item: WorkItem): Promise<WorkOutcome> {
    let object: unknown;
    try {
      object = await this.#options.api.get(record.namespace, record.name);
    } catch (error) {
      return this.#failed(record, 'reading', error);
    }
    if (object === undefined) return { kind: 'done' };
    const fresh = this.#options.store.refresh(object) ?? record;
    const substitution = await substituteClusterIP(object, record.namespace, this.#options.resolver, this.#options.config, this.#options.pools);
    const resolution = decidePlaceholderResolution(object, substitution);
    switch (resolution.kind) {
      case 'unchanged':
        this.#count('unchanged');
        return { kind: 'done' };
      case 'wait':
        return { kind: 'after', delayMs: NOT_READY_RETRY_MS };
      case 'service-missing':
        return this.#serviceMissing(fresh, resolution.why);
      case 'unresolvable':
        this.#report(fresh, { type: 'Warning', reason: 'PlaceholderUnresolvable', action: 'Skip', note: `${this.#options.config.placeholder} left in place: ${resolution.why}` });
        this.#count('error');
        return { kind: 'done' };
      case 'resolve': {
        const written = [
          resolution.clusterIP === undefined ? undefined : `${this.#options.config.placeholder} -> ${resolution.clusterIP}`,
          resolution.port === undefined ? undefined : `${PORT_PLACEHOLDER} -> ${resolution.port}`,
        ].filter(Boolean).join(', ');
        this.#drift(fresh, 'placeholder', [resolution.clusterIP, resolution.port].filter((v) => v !== undefined).join(':'));
        const paths = resolution.paths.length;
        const note = `${written} (EPP Service ${resolution.service}) at ${paths} path${paths === 1 ? '' : 's'}: stored with the raw token while the webhook was not admitting`;
        return this.#write(fresh, item, resolution.patch, note, { change: written, reason: resolution.clusterIP === undefined ? 'EPPPortUpdated' : 'ClusterIPUpdated', read: object });
      }
    }
  }

  async #write(
    record: EnvoyFilterRecord,
    item: WorkItem,
    patch: Operation[],
    note: string,
    how: {
      change: string;
      /** The Event's reason (default ClusterIPUpdated); null: none (the write is already reported). */
      reason?: string | null;
      result?: ReconcileResult;
      /** The whole object as just read, when it was (else it is read here, for its managedFields). */
      read?: unknown;
    },
  ): Promise<WorkOutcome> {
    const { change, reason = 'ClusterIPUpdated', result = 'updated' } = how;
    const key = envoyFilterKey(record);
    const { log } = this.#options;
    const wait = this.#rateLimit.delayFor(key);
    if (wait > 0) return { kind: 'after', delayMs: wait };
    if (!this.#options.isLeader()) return { kind: 'done' };
    let before = how.read;
    try {
      before ??= await this.#options.api.get(record.namespace, record.name);
    } catch (error) {
      return this.#failed(record, 'reading', error);
    }
    if (before === undefined) return { kind: 'done' };
    let stored: unknown;
    try {
      stored = await this.#options.api.patch(record.namespace, record.name, patch);
    } catch (error) {
      const status = apiStatus(error);
      if (status === 404) return { kind: 'done' };
      if (isConflict(status, error)) {
        this.#count('conflict');
        log.info({ envoyFilter: key, resourceVersion: record.resourceVersion, reason: apiErrorMessage(error) }, 'EnvoyFilter changed since it was read; re-reading and retrying');
        try {
          const current = await this.#options.api.get(record.namespace, record.name);
          if (current === undefined) return { kind: 'done' };
          this.#options.store.refresh(current);
        } catch (readError) {
          return this.#failed(record, 'reading', readError);
        }
        return { kind: 'retry' };
      }
      return this.#failed(record, 'patching', error);
    }
    this.#rateLimit.recordWrite(key);
    this.#options.store.refresh(stored);
    this.#present(key);
    this.#count(result);
    // Propagation is the time until the gateway's addresses are true again: only a rewrite has one.
    if (result === 'updated' && item.changeReceivedAt !== undefined) this.#options.metrics.propagation.observe((Date.now() - item.changeReceivedAt) / 1000);
    log.info({ envoyFilter: key, change, note }, 'EnvoyFilter updated');
    if (reason !== null) this.#event(record, { type: 'Normal', reason, action: 'Update', note });
    const handedBack = await this.#handBackOwnership(record, before, stored);
    if (handedBack !== undefined) this.#options.store.refresh(handedBack);
    return { kind: 'done' };
  }

  /** The fields the write took go back to their owners (handBackOwnership); answers the stored object, undefined if that failed. */
  async #handBackOwnership(record: EnvoyFilterRecord, before: unknown, written: unknown): Promise<unknown> {
    const operations = handBackOwnership(before, record.resourceVersion, written);
    if (operations === undefined) return undefined;
    // Nothing later would try again: the next reconcile finds the object as it should be. A transient failure is
    // retried here; a refusal, or another writer in between (a failed test), is final.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#options.api.patch(record.namespace, record.name, operations);
      } catch (error) {
        const status = apiStatus(error);
        const transient = status === undefined || status >= 500 || status === 429;
        if (transient && attempt < HAND_BACK_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, (this.#options.initialBackoffMs ?? 250) * 2 ** (attempt - 1)));
          continue;
        }
        // The rewrite stands; only its fields stay epp-webhook's.
        this.#options.log.warn(
          { envoyFilter: envoyFilterKey(record), status, reason: apiErrorMessage(error), attempts: attempt },
          'rewritten, but its fields stay owned by epp-webhook: the next server-side apply of this EnvoyFilter conflicts until --force-conflicts',
        );
        return undefined;
      }
    }
  }

  /** Transient failures (no answer, 5xx, 429) back off and retry; a refusal (400, 403: a webhook or RBAC said no) waits for a change. */
  #failed(record: EnvoyFilterRecord, doing: string, error: unknown): WorkOutcome {
    const status = apiStatus(error);
    const message = apiErrorMessage(error);
    this.#count('error');
    const permanent = status !== undefined && status >= 400 && status < 500 && status !== 429;
    this.#options.log.warn({ envoyFilter: envoyFilterKey(record), status, reason: message, retry: !permanent }, `${doing} the EnvoyFilter failed`);
    if (!permanent) return { kind: 'retry' };
    this.#report(record, { type: 'Warning', reason: 'ReconcileFailed', action: 'Update', note: `${doing} failed: ${message}` });
    return { kind: 'done' };
  }

  #serviceMissing(record: EnvoyFilterRecord, why: string): WorkOutcome {
    const key = envoyFilterKey(record);
    const now = Date.now();
    const since = this.#missingSince.get(key) ?? now;
    this.#missingSince.set(key, since);
    const grace = this.#options.serviceMissingGraceMs ?? 5_000;
    if (now - since < grace) return { kind: 'after', delayMs: grace - (now - since) };
    this.#missingReported.add(key);
    this.#options.metrics.serviceMissing.set(this.#missingReported.size);
    const kept = record.provenance?.clusterIP !== undefined ? ` It keeps ${record.provenance.clusterIP} at ${record.provenance.paths.length} path(s) until the Service is back; the gateway cannot reach the EPP meanwhile` : '';
    this.#report(record, { type: 'Warning', reason: 'EPPServiceMissing', action: 'Skip', note: `${why}: EnvoyFilter left as it is.${kept}` });
    this.#count('service-missing');
    return { kind: 'done' };
  }

  /** Every recorded path was changed by someone else: leave them alone, say so once, and stop recording them (`patch`). */
  #editedByHand(record: EnvoyFilterRecord, item: WorkItem, patch: Operation[], paths: string[], change: string, held: string, to: string, service: string): Promise<WorkOutcome> {
    this.#present(item.key);
    this.#drift(record, 'edited-by-hand', to);
    this.#reportEdited(record, paths, change, held, service);
    return this.#write(record, item, patch, `dropped ${paths.length} recorded path(s) edited by hand`, { change, reason: null, result: 'edited-by-hand' });
  }

  /** `change`: `ClusterIP a -> b` and/or `port p -> q`; `held`: the old value(s) the paths no longer hold. */
  #reportEdited(record: EnvoyFilterRecord, paths: string[], change: string, held: string, service: string): void {
    this.#report(record, {
      type: 'Warning',
      reason: 'PathEditedByHand',
      action: 'Skip',
      note: `EPP Service ${service} ${change}, but ${paths.join(', ')} no longer hold${paths.length === 1 ? 's' : ''} ${held} (edited by hand): left as it is, and no longer recorded`,
    });
  }

  /** An Event and a log line, once per object version and message. */
  #report(record: EnvoyFilterRecord, event: Pick<ObjectEvent, 'type' | 'reason' | 'action' | 'note'>): void {
    if (!this.#firstTime(record, `${event.reason}|${event.note}`)) return;
    this.#options.log.warn({ envoyFilter: envoyFilterKey(record), reason: event.reason, note: event.note }, 'EnvoyFilter left as it is');
    this.#event(record, event);
  }

  #event(record: EnvoyFilterRecord, event: Pick<ObjectEvent, 'type' | 'reason' | 'action' | 'note'>): void {
    void this.#options.events.record({
      ...event,
      regarding: { apiVersion: ENVOYFILTERS.apiVersion, kind: ENVOYFILTERS.kind, namespace: record.namespace, name: record.name, uid: record.uid, resourceVersion: record.resourceVersion },
    });
  }

  #drift(record: EnvoyFilterRecord, kind: string, to: string): void {
    if (this.#firstTime(record, `drift|${kind}|${to}`)) this.#options.metrics.drift.inc({ kind });
  }

  #firstTime(record: EnvoyFilterRecord, what: string): boolean {
    const key = envoyFilterKey(record);
    let seen = this.#reported.get(key);
    if (seen === undefined) this.#reported.set(key, (seen = new Set()));
    const signature = `${record.uid}|${record.resourceVersion}|${what}`;
    if (seen.has(signature)) return false;
    if (seen.size >= MAX_REPORTS_PER_OBJECT) seen.clear();
    seen.add(signature);
    return true;
  }

  /** The Service is there (again) for this EnvoyFilter. */
  #present(key: string): void {
    this.#missingSince.delete(key);
    if (this.#missingReported.delete(key)) this.#options.metrics.serviceMissing.set(this.#missingReported.size);
  }

  #forget(key: string): void {
    this.#present(key);
    this.#reported.delete(key);
    this.#rateLimit.forget(key);
  }

  #count(result: ReconcileResult): void {
    this.#options.metrics.reconciles.inc({ result });
  }
}

/** 409 Conflict, or 422 from a failed `test` op: the object is not the version the patch was computed from. */
/**
 * A 409, or a 422 for a failed `test` op of the patch (json-patch's "testing value <path> failed: test failed"): the
 * object changed since it was read. Another 422 (an admission policy's denial, which may quote the object's name) is
 * not, and retrying it would loop.
 */
function isConflict(status: number | undefined, error: unknown): boolean {
  if (status === 409) return true;
  return status === 422 && /testing value \S* ?failed|\btest failed\b/i.test(apiErrorMessage(error));
}

/** Where a decision reads a Service and a pool: the webhook's caches, or the API server (LiveLookups). */
interface Lookups {
  service(namespace: string, name: string): ServiceLookup | Promise<ServiceLookup>;
  pool(namespace: string, name: string): InferencePoolLookup | Promise<InferencePoolLookup>;
}

type PoolDecision = Exclude<RepointDecision, { kind: 'not-repointed' }>;

type Decided = { by: 'pool'; decision: PoolDecision } | { by: 'service'; decision: ReconcileDecision | { kind: 'not-allowed'; why: string } };

/** The decisions that write addresses or ports the caches chose (a raw token's write reads the object first). */
function writes(decided: Decided): boolean {
  return decided.decision.kind === 'repoint' || decided.decision.kind === 'rewrite';
}
