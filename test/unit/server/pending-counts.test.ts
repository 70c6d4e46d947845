import t from 'tap';
import { PendingCounts } from '../../../src/server/pending-counts.ts';

t.test('counts by label values: drained once for a counter, read as they stand for a gauge', async (t) => {
  const counts = new PendingCounts(['endpoint', 'verdict'] as const);
  counts.add(['mutate', 'allowed']);
  counts.add(['mutate', 'allowed']);
  counts.add(['validate', 'denied'], 3);
  // The same values in another split must not meet in one series (a joined key could make 'a\0b' of both).
  counts.add(['mutate\0allowed', '']);
  const drained: unknown[] = [];
  counts.drain((labels, amount) => drained.push([labels, amount]));
  t.same(drained, [
    [{ endpoint: 'mutate', verdict: 'allowed' }, 2],
    [{ endpoint: 'validate', verdict: 'denied' }, 3],
    [{ endpoint: 'mutate\0allowed', verdict: '' }, 1],
  ]);
  const again: unknown[] = [];
  counts.drain((labels, amount) => again.push([labels, amount]));
  t.same(again, [], 'a drained counter has nothing new');
  counts.add(['mutate', 'allowed'], -1);
  const read: unknown[] = [];
  counts.read((labels, value) => read.push([labels.endpoint, labels.verdict, value]));
  t.same(read, [['mutate', 'allowed', -1], ['validate', 'denied', 0], ['mutate\0allowed', '', 0]]);
});

t.test('label values that do not match the labels are refused, not counted somewhere', async (t) => {
  const counts = new PendingCounts(['endpoint', 'kind'] as const);
  t.throws(() => counts.add(['mutate']), /1 label values for 2 labels \(endpoint, kind\)/);
  t.throws(() => counts.add(['mutate', 'EnvoyFilter', 'CREATE']), /3 label values for 2 labels/);
  t.throws(() => new PendingCounts([]), /at least one label/);
});
