import t from 'tap';
import { decideLeaseAttempt, releasedRecord, type LeaseRecord } from '../../../src/reconcile/lease-attempt.ts';

const held = (holderIdentity: string, extra: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity,
  leaseDurationSeconds: 15,
  acquireTimeMs: 1_000,
  renewTimeMs: 5_000,
  leaseTransitions: 3,
  ...extra,
});
const input = { identity: 'me', observedAtMs: 10_000, nowMs: 10_000, leaseDurationMs: 15_000 };

t.test('no Lease: create it, holding it', async (t) => {
  t.same(decideLeaseAttempt({ ...input, current: undefined }), {
    kind: 'create',
    record: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTimeMs: 10_000, renewTimeMs: 10_000, leaseTransitions: 0 },
  });
});

t.test('held by another and renewed within the lease duration (on our clock): wait', async (t) => {
  t.same(decideLeaseAttempt({ ...input, current: held('other'), nowMs: 24_999 }), { kind: 'held-by-other', holder: 'other', expiresInMs: 1 });
});

t.test("their renewTime is not trusted: only how long the record went unchanged on our clock", async (t) => {
  const ancient = held('other', { renewTimeMs: 0 });
  t.match(decideLeaseAttempt({ ...input, current: ancient, observedAtMs: 10_000, nowMs: 11_000 }), { kind: 'held-by-other' });
});

t.test('expired (unchanged for the lease duration): take over, counting a transition', async (t) => {
  t.same(decideLeaseAttempt({ ...input, current: held('other'), nowMs: 25_000 }), {
    kind: 'update',
    takeover: true,
    record: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTimeMs: 25_000, renewTimeMs: 25_000, leaseTransitions: 4 },
  });
});

t.test('released (no holder): take over at once', async (t) => {
  t.match(decideLeaseAttempt({ ...input, current: releasedRecord(held('other'), 9_000) }), { kind: 'update', takeover: true, record: { holderIdentity: 'me', leaseTransitions: 4 } });
});

t.test('ours: renew, keeping acquireTime and transitions', async (t) => {
  t.same(decideLeaseAttempt({ ...input, current: held('me'), nowMs: 99_000 }), {
    kind: 'update',
    takeover: false,
    record: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTimeMs: 1_000, renewTimeMs: 99_000, leaseTransitions: 3 },
  });
});

t.test('a release clears the holder and shortens the lease', async (t) => {
  t.same(releasedRecord(held('me'), 7), { holderIdentity: '', leaseDurationSeconds: 1, acquireTimeMs: 7, renewTimeMs: 7, leaseTransitions: 3 });
});
