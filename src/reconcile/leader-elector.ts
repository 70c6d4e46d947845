import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { apiErrorMessage, apiStatus } from '../cluster/api-error.ts';
import { requestTimeout } from '../cluster/request-timeout.ts';
import { decideLeaseAttempt, releasedRecord, type LeaseRecord } from './lease-attempt.ts';
import { InterruptibleSleep } from '../cluster/interruptible-sleep.ts';

/** client-go's defaults (LeaseDuration 15 s, RenewDeadline 10 s, RetryPeriod 2 s). */
export const LEASE_DURATION_MS = 15_000;
export const RENEW_DEADLINE_MS = 10_000;
export const RETRY_PERIOD_MS = 2_000;

/** One attempt: we hold the Lease now, another replica holds it, or the attempt failed (network, 409, 5xx). */
type LeaseOutcome = 'held' | 'held-by-other' | 'failed';

export type LeaderElectionEvent =
  | { type: 'started-leading'; transitions: number }
  | { type: 'stopped-leading'; reason: string }
  | { type: 'observed-leader'; holder: string }
  | { type: 'released' }
  | { type: 'error'; message: string };

export interface LeaderElectorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  onEvent?: (event: LeaderElectionEvent) => void;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: create or replace the Lease with
 * resourceVersion optimistic concurrency, renew every retry period, step down when no renewal succeeded for
 * the renew deadline (before the lease expires for the others), release the Lease on stop. A replica that
 * loses the lease goes back to waiting for it; it does not exit.
 */
export class LeaderElector {
  readonly identity: string;
  readonly #api: CoordinationV1Api;
  readonly #options: LeaderElectorOptions;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  #leading = false;
  #lastRenewMs = 0;
  #lastLease: V1Lease | undefined;
  #observed: { key: string; atMs: number } | undefined;
  #reportedHolder: string | undefined;
  #stopping = false;
  #running: Promise<void> | undefined;
  readonly #pause = new InterruptibleSleep();

  constructor(options: LeaderElectorOptions) {
    this.identity = options.identity;
    this.#options = options;
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#leaseDurationMs = options.leaseDurationMs ?? LEASE_DURATION_MS;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? RENEW_DEADLINE_MS;
    this.#retryPeriodMs = options.retryPeriodMs ?? RETRY_PERIOD_MS;
    if (!(this.#renewDeadlineMs < this.#leaseDurationMs)) throw new Error('the renew deadline must be shorter than the lease duration');
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** True while we hold the Lease and renewed it within the renew deadline. */
  isLeader(): boolean {
    return this.#leading && Date.now() - this.#lastRenewMs < this.#renewDeadlineMs;
  }

  /** Stops campaigning; a leader steps down and releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#pause.interrupt();
    await this.#running;
    if (!this.#leading) return;
    this.#leading = false;
    this.#options.onStoppedLeading();
    this.#emit({ type: 'stopped-leading', reason: 'shutting down' });
    await this.#release();
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      while (!this.#stopping && (await this.#tryAcquireOrRenew(this.#retryPeriodMs)) !== 'held') {
        await this.#sleep(this.#retryPeriodMs * (1 + Math.random() * 0.2));
      }
      if (this.#stopping) return;
      this.#leading = true;
      this.#emit({ type: 'started-leading', transitions: this.#lastLease?.spec?.leaseTransitions ?? 0 });
      this.#options.onStartedLeading();
      const reason = await this.#renewWhileLeading();
      if (this.#stopping) return;
      this.#leading = false;
      this.#emit({ type: 'stopped-leading', reason });
      this.#options.onStoppedLeading();
    }
  }

  /** Renews every retry period; returns why leadership ended (unless stopping). */
  async #renewWhileLeading(): Promise<string> {
    while (!this.#stopping) {
      await this.#sleep(this.#retryPeriodMs);
      const deadline = Date.now() + this.#renewDeadlineMs;
      let outcome: LeaseOutcome = 'failed';
      while (!this.#stopping && outcome === 'failed' && Date.now() < deadline) {
        outcome = await this.#tryAcquireOrRenew(Math.max(1, Math.min(this.#retryPeriodMs * 2, deadline - Date.now())));
        if (outcome === 'failed') await this.#sleep(Math.min(this.#retryPeriodMs, Math.max(0, deadline - Date.now())));
      }
      if (this.#stopping) break;
      // Someone else holds it (it expired for them while our renewals failed): step down at once.
      if (outcome === 'held-by-other') return `the Lease is held by ${this.#reportedHolder}`;
      if (outcome === 'failed') return `no renewal succeeded within ${this.#renewDeadlineMs} ms`;
    }
    return 'stopping';
  }

  async #tryAcquireOrRenew(timeoutMs: number): Promise<LeaseOutcome> {
    const { namespace, name } = this.#options;
    const options = requestTimeout(timeoutMs);
    let lease: V1Lease | undefined;
    try {
      lease = await this.#api.readNamespacedLease({ name, namespace }, options);
    } catch (error) {
      if (apiStatus(error) !== 404) {
        this.#emit({ type: 'error', message: `reading Lease ${namespace}/${name}: ${apiErrorMessage(error)}` });
        return 'failed';
      }
    }
    const nowMs = Date.now();
    const current = lease === undefined ? undefined : leaseRecordOf(lease.spec);
    if (current !== undefined) {
      const key = JSON.stringify(current);
      if (this.#observed?.key !== key) this.#observed = { key, atMs: nowMs };
    }
    const attempt = decideLeaseAttempt({
      identity: this.identity,
      current,
      observedAtMs: this.#observed?.atMs ?? nowMs,
      nowMs,
      leaseDurationMs: this.#leaseDurationMs,
    });
    if (attempt.kind === 'held-by-other') {
      if (this.#reportedHolder !== attempt.holder) this.#emit({ type: 'observed-leader', holder: attempt.holder });
      this.#reportedHolder = attempt.holder;
      this.#lastLease = lease;
      return 'held-by-other';
    }
    try {
      const body: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: attempt.kind === 'create' ? { name, namespace } : { ...lease!.metadata, name, namespace },
        spec: leaseSpecOf(attempt.record),
      };
      this.#lastLease =
        attempt.kind === 'create'
          ? await this.#api.createNamespacedLease({ namespace, body }, options)
          : await this.#api.replaceNamespacedLease({ name, namespace, body }, options);
    } catch (error) {
      // 409: someone else wrote the Lease since we read it; they won this round.
      if (apiStatus(error) !== 409) this.#emit({ type: 'error', message: `writing Lease ${namespace}/${name}: ${apiErrorMessage(error)}` });
      return 'failed';
    }
    this.#observed = { key: JSON.stringify(attempt.record), atMs: nowMs };
    this.#lastRenewMs = nowMs;
    this.#reportedHolder = this.identity;
    return 'held';
  }

  async #release(): Promise<void> {
    const lease = this.#lastLease;
    if (lease?.spec?.holderIdentity !== this.identity) return;
    const { namespace, name } = this.#options;
    try {
      const body: V1Lease = { ...lease, spec: leaseSpecOf(releasedRecord(leaseRecordOf(lease.spec), Date.now())) };
      await this.#api.replaceNamespacedLease({ name, namespace, body }, requestTimeout(this.#retryPeriodMs));
      this.#emit({ type: 'released' });
    } catch (error) {
      this.#emit({ type: 'error', message: `releasing Lease ${namespace}/${name}: ${apiErrorMessage(error)}` });
    }
  }

  #sleep(ms: number): Promise<void> {
    return this.#stopping ? Promise.resolve() : this.#pause.sleep(ms);
  }

  #emit(event: LeaderElectionEvent): void {
    this.#options.onEvent?.(event);
  }
}

/** client-node hands MicroTime fields back as strings (it has no deserializer for them) or Dates. */
function epochMs(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value as string | Date).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

function leaseRecordOf(spec: V1LeaseSpec | undefined): LeaseRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTimeMs: epochMs(spec?.acquireTime),
    renewTimeMs: epochMs(spec?.renewTime),
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

/** V1MicroTime serializes with the six fractional digits the API server requires. */
function leaseSpecOf(record: LeaseRecord): V1LeaseSpec {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    ...(record.acquireTimeMs === undefined ? {} : { acquireTime: new V1MicroTime(record.acquireTimeMs) }),
    ...(record.renewTimeMs === undefined ? {} : { renewTime: new V1MicroTime(record.renewTimeMs) }),
    leaseTransitions: record.leaseTransitions,
  };
}
