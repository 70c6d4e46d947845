import t from 'tap';
import { readOnce } from '../../src/read-once.ts';

t.test('readOnce: one reading per object, handed back for that object only', async (t) => {
  const read: object[] = [];
  const nameOf = readOnce((o: { name?: string }) => (read.push(o), o.name));
  const [a, b, nameless] = [{ name: 'a' }, { name: 'b' }, {}];
  t.equal(nameOf(a), 'a');
  t.equal(nameOf(b), 'b', 'another object, its own reading');
  t.equal(nameOf(a), 'a');
  t.equal(nameOf(nameless), undefined);
  t.equal(nameOf(nameless), undefined, 'an undefined reading is a reading too');
  t.same(read, [a, b, nameless], 'each object read once');
});

t.test('readOnce: readings of falsy values are kept as they are', async (t) => {
  let calls = 0;
  const valueOf = readOnce((o: { value: unknown }) => (calls++, o.value));
  for (const value of [null, 0, '', false, Number.NaN]) {
    const o = { value };
    t.same([valueOf(o), valueOf(o)], [value, value], String(value));
  }
  t.equal(calls, 5);
});
