import t from 'tap';
import { pathBeyondDepth, walkedPathBeyondDepth } from '../../../src/admission/object-depth.ts';

/** `levels` containers nested in each other, alternating objects and lists, innermost holding a string. */
function nested(levels: number, startWithList: boolean): unknown {
  let value: unknown = 'leaf';
  for (let level = levels; level >= 1; level--) {
    const list = (level % 2 === 1) === startWithList;
    value = list ? ['x', value] : { before: 1, [`k${level}`]: value };
  }
  return value;
}

t.test('the limit is exact for objects and lists: `limit` levels pass, one more is named by its path', async (t) => {
  for (const limit of [1, 2, 7, 256]) {
    for (const startWithList of [false, true]) {
      t.equal(pathBeyondDepth(nested(limit, startWithList), limit), undefined, `${limit} levels within ${limit}`);
      const path = pathBeyondDepth(nested(limit + 1, startWithList), limit);
      t.ok(path, `${limit + 1} levels beyond ${limit}`);
      t.equal(path!.length, limit, 'the path leads to the first container beyond the limit');
      t.same(path![0], startWithList ? 1 : 'k1', 'the path starts at the root');
    }
  }
});

t.test('a deep branch beside shallow ones is found wherever it sits, and scalars have no depth', async (t) => {
  const deep = nested(10, false);
  const value = { a: { b: 1 }, list: [1, 2, { c: [] }], last: { here: deep } };
  t.same(pathBeyondDepth(value, 11)?.slice(0, 2), ['last', 'here']);
  t.equal(pathBeyondDepth(value, 12), undefined);
  t.equal(pathBeyondDepth('text', 0), undefined);
  t.equal(pathBeyondDepth(null, 0), undefined);
});

t.test('a value 100,000 levels deep is measured without overflowing the stack, whatever the limit', async (t) => {
  let value: unknown = {};
  for (let i = 0; i < 100_000; i++) value = [value];
  t.equal(pathBeyondDepth(value, 256)?.length, 256);
  t.equal(pathBeyondDepth(value, 50_000)?.length, 50_000);
  t.equal(pathBeyondDepth(value, 100_001), undefined);
});

t.test('the parts the core walks: metadata.managedFields is not measured, everything else is, with the path from the root', async (t) => {
  const object = (where: 'spec' | 'labels' | 'managedFields') => ({
    apiVersion: 'v1',
    metadata: { name: 'x', labels: where === 'labels' ? { deep: nested(300, false) } : {}, managedFields: where === 'managedFields' ? [nested(300, true)] : [] },
    spec: where === 'spec' ? { deep: nested(300, false) } : {},
  });
  t.equal(walkedPathBeyondDepth(object('managedFields'), 256), undefined, 'managedFields 300 levels deep: not measured');
  t.ok(pathBeyondDepth(object('managedFields'), 256), 'while the whole object is that deep');
  for (const where of ['spec', 'labels'] as const) {
    const path = walkedPathBeyondDepth(object(where), 256);
    t.same(path, pathBeyondDepth(object(where), 256), `${where}: the same path as a walk of the whole object`);
    t.equal(path!.length, 256);
  }
  t.same(walkedPathBeyondDepth(object('spec'), 256)!.slice(0, 3), ['spec', 'deep', 'k1']);
  t.same(walkedPathBeyondDepth(object('labels'), 256)!.slice(0, 4), ['metadata', 'labels', 'deep', 'k1']);
  for (const limit of [1, 2, 3, 4]) {
    for (const where of ['spec', 'labels'] as const) {
      t.same(walkedPathBeyondDepth(object(where), limit), pathBeyondDepth(object(where), limit), `limit ${limit}, ${where}: as the whole walk`);
    }
  }
});
