import t from 'tap';
import { WriteRateLimit } from '../../../src/reconcile/write-rate-limit.ts';

t.test('one write per object per interval', async (t) => {
  const limit = new WriteRateLimit(1000);
  t.equal(limit.delayFor('a', 0), 0);
  limit.recordWrite('a', 100);
  t.equal(limit.delayFor('a', 600), 500);
  t.equal(limit.delayFor('b', 600), 0, 'other objects are not held back');
  t.equal(limit.delayFor('a', 1100), 0);
  limit.forget('a');
  t.equal(limit.delayFor('a', 200), 0);
});
