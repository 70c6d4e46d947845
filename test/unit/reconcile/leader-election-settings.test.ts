import t from 'tap';
import { leaderElectionIdentity, leaseNamespace } from '../../../src/reconcile/leader-election-settings.ts';

t.test('identity: the flag, else POD_NAME, else hostname_pid', async (t) => {
  t.equal(leaderElectionIdentity('a', { POD_NAME: 'b' }, 'h', 1), 'a');
  t.equal(leaderElectionIdentity(undefined, { POD_NAME: 'b' }, 'h', 1), 'b');
  t.equal(leaderElectionIdentity(undefined, {}, 'h', 1), 'h_1');
  t.equal(leaderElectionIdentity('', { POD_NAME: '' }, 'h', 1), 'h_1');
});

t.test("Lease namespace: the flag, else POD_NAMESPACE, else the pod's service-account namespace", async (t) => {
  t.equal(leaseNamespace('x', { POD_NAMESPACE: 'y' }, () => 'z'), 'x');
  t.equal(leaseNamespace(undefined, { POD_NAMESPACE: 'y' }, () => 'z'), 'y');
  t.equal(leaseNamespace(undefined, {}, () => 'z'), 'z');
  t.equal(leaseNamespace(undefined, {}, () => undefined), undefined);
});
