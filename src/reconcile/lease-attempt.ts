/** The leader-election fields of a coordination.k8s.io/v1 Lease's spec, times as epoch milliseconds. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTimeMs: number | undefined;
  renewTimeMs: number | undefined;
  leaseTransitions: number;
}

export type LeaseAttempt =
  | { kind: 'create'; record: LeaseRecord }
  /** Renew (we hold it) or take over (expired or released): a replace guarded by the resourceVersion read. */
  | { kind: 'update'; record: LeaseRecord; takeover: boolean }
  | { kind: 'held-by-other'; holder: string; expiresInMs: number };

export interface LeaseAttemptInput {
  identity: string;
  /** The Lease as read now; undefined when there is none. */
  current: LeaseRecord | undefined;
  /**
   * Our local clock when we first saw `current` as it is now. As in client-go, expiry is judged by how long
   * the record has gone unchanged on our own clock, never by the holder's renewTime: clocks may disagree.
   */
  observedAtMs: number;
  nowMs: number;
  leaseDurationMs: number;
}

/** client-go's tryAcquireOrRenew, as a decision: create, renew, take over an expired or released Lease, or wait. */
export function decideLeaseAttempt(input: LeaseAttemptInput): LeaseAttempt {
  const { identity, current, nowMs, leaseDurationMs } = input;
  const leaseDurationSeconds = Math.round(leaseDurationMs / 1000);
  if (current === undefined) {
    return {
      kind: 'create',
      record: { holderIdentity: identity, leaseDurationSeconds, acquireTimeMs: nowMs, renewTimeMs: nowMs, leaseTransitions: 0 },
    };
  }
  const heldByOther = current.holderIdentity !== '' && current.holderIdentity !== identity;
  const expiresAtMs = input.observedAtMs + leaseDurationMs;
  if (heldByOther && expiresAtMs > nowMs) {
    return { kind: 'held-by-other', holder: current.holderIdentity, expiresInMs: expiresAtMs - nowMs };
  }
  const ours = current.holderIdentity === identity;
  return {
    kind: 'update',
    takeover: !ours,
    record: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTimeMs: ours ? current.acquireTimeMs : nowMs,
      renewTimeMs: nowMs,
      leaseTransitions: ours ? current.leaseTransitions : current.leaseTransitions + 1,
    },
  };
}

/** What a leader writes when it steps down, so a successor need not wait for the lease to expire (client-go ReleaseOnCancel). */
export function releasedRecord(current: LeaseRecord, nowMs: number): LeaseRecord {
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTimeMs: nowMs, renewTimeMs: nowMs, leaseTransitions: current.leaseTransitions };
}
