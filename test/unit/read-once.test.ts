import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beginReadings, MAX_READINGS, readOnce } from '../../src/read-once.ts';

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

t.test('readOnce: an admission begun lets every reading go, so its objects are read afresh', async (t) => {
  let calls = 0;
  const nameOf = readOnce((o: { name: string }) => (calls++, o.name));
  const a = { name: 'a' };
  nameOf(a);
  nameOf(a);
  t.equal(calls, 1);
  beginReadings();
  t.equal(nameOf(a), 'a');
  t.equal(calls, 2, 'read again after beginReadings');
});

t.test('readOnce: past MAX_READINGS objects it lets its readings go rather than grow', async (t) => {
  let calls = 0;
  const nameOf = readOnce((o: { name: string }) => (calls++, o.name));
  const first = { name: 'first' };
  nameOf(first);
  for (let i = 0; i < MAX_READINGS; i++) nameOf({ name: String(i) });
  t.equal(calls, MAX_READINGS + 1);
  nameOf(first);
  t.equal(calls, MAX_READINGS + 2, 'the first object read again');
});

t.test('readOnce: an object read in one admission is not kept alive once the next begins', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const nameOf = readOnce((o: { name: string }) => o.name);
  const readAndForget = (): WeakRef<object> => {
    const object = { name: 'held?' };
    nameOf(object);
    return new WeakRef(object);
  };
  const collected = async (ref: WeakRef<object>): Promise<boolean> => {
    // A WeakRef keeps its target until the job that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    return ref.deref() === undefined;
  };
  const kept = readAndForget();
  t.equal(await collected(kept), false, 'within its admission the reading holds the object');
  beginReadings();
  t.equal(await collected(kept), true, 'collected once the next admission begins');
});
