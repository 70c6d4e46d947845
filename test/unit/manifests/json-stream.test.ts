import t from 'tap';
import { splitJsonStream } from '../../../src/manifests/json-stream.ts';

const pieces = (text: string) => splitJsonStream(text)?.map(([start, end]) => JSON.parse(text.slice(start, end)));

t.test('each top-level object or array of a stream, whatever its strings hold', async (t) => {
  const objects = [{ a: '}{' }, { b: 'say "}" \\' }, [1, { c: '[' }], {}];
  t.same(pieces(objects.map((o) => JSON.stringify(o)).join('\n')), objects, 'one per line (jq -c)');
  t.same(pieces(objects.map((o) => JSON.stringify(o, null, 2)).join('\n')), objects, 'indented, one after another (render -o json)');
  t.same(pieces(`  ${JSON.stringify(objects[0])}${JSON.stringify(objects[1])}\r\n\t`), objects.slice(0, 2), 'back to back, whitespace around');
});

t.test('not a stream: left to the YAML parser', async (t) => {
  t.equal(splitJsonStream('{"a": 1}\n'), undefined, 'one value is plain YAML');
  t.equal(splitJsonStream('{"a": 1}\n{"b": 2'), undefined, 'a value that never closes');
  t.equal(splitJsonStream('{"a": 1}\n---\n{"b": 2}'), undefined, 'anything between values');
  t.equal(splitJsonStream('{"a": 1}\n"text"'), undefined, 'a scalar');
  t.equal(splitJsonStream(''), undefined);
});
