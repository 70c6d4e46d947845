import t from 'tap';
import fc from 'fast-check';
import { fromJsonPointer, toJsonPointer } from '../../src/json-path.ts';
import { params } from '../property/arbitraries.ts';

t.test('RFC 6901 escaping: ~ and / in keys, indexes as digits', async (t) => {
  t.equal(toJsonPointer(['metadata', 'annotations', 'epp-webhook.io/resolved-service']), '/metadata/annotations/epp-webhook.io~1resolved-service');
  t.equal(toJsonPointer(['a~b', '~1', 0, '']), '/a~0b/~01/0/');
  t.equal(toJsonPointer([]), '');
  t.same(fromJsonPointer('/a~0b/~01/0/'), ['a~b', '~1', '0', '']);
  t.equal(fromJsonPointer('no-slash'), undefined);
});

t.test('any path survives the round trip', async (t) => {
  const segment = fc.oneof(fc.string({ unit: fc.constantFrom('~', '/', '0', '1', 'a', '.') }), fc.nat(20));
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 8 }), (segments) => {
      const back = fromJsonPointer(toJsonPointer(segments));
      if (JSON.stringify(back) !== JSON.stringify(segments.map(String))) throw new Error(`${JSON.stringify(segments)} came back as ${JSON.stringify(back)}`);
    }),
    params(1000),
  );
  t.pass('every generated path came back');
});
