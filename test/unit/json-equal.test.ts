import t from 'tap';
import { jsonEqual } from '../../src/json-equal.ts';

t.test('jsonEqual: equal JSON values, key order aside', async (t) => {
  t.ok(jsonEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }));
  t.ok(jsonEqual(undefined, undefined), 'both missing');
  t.ok(jsonEqual(null, null));
  t.notOk(jsonEqual({ a: 1 }, { a: 1, b: 2 }));
  t.notOk(jsonEqual({ a: 1, b: 2 }, { a: 1, c: 2 }));
  t.notOk(jsonEqual([1, 2], [2, 1]), 'arrays keep their order');
  t.notOk(jsonEqual([1], { 0: 1 }), 'an array is not an object with index keys');
  t.notOk(jsonEqual({ a: null }, {}), 'null is not missing');
  t.notOk(jsonEqual('1', 1));
  t.notOk(jsonEqual(undefined, {}));
});

t.test('jsonEqual: as deep and as wide as a body may be, without overflowing the stack', async (t) => {
  const deep = (depth: number, leaf: number) => JSON.parse('{"a":'.repeat(depth) + leaf + '}'.repeat(depth));
  t.ok(jsonEqual(deep(10_000, 1), deep(10_000, 1)));
  t.notOk(jsonEqual(deep(10_000, 1), deep(10_000, 2)));
  const wide = Array.from({ length: 2_000_000 }, (_, i) => i);
  t.ok(jsonEqual(wide, [...wide]));
});
