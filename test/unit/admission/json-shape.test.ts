import t from 'tap';
import fc from 'fast-check';
import { MAX_JSON_CONTAINERS, MAX_JSON_DEPTH, jsonShapeProblem } from '../../../src/admission/json-shape.ts';
import { params } from '../../property/arbitraries.ts';

/** The definition, a character at a time: nesting and containers counted outside strings, escapes honoured. */
function reference(text: string, maxDepth: number, maxContainers: number): 400 | 413 | undefined {
  let depth = 0;
  let containers = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (++depth > maxDepth) return 400;
      if (++containers > maxContainers) return 413;
    } else if (c === '}' || c === ']') depth--;
  }
  return undefined;
}

t.test('agrees with the character-by-character definition on any text, well-formed or not', async (t) => {
  const text = fc.array(fc.constantFrom('{', '}', '[', ']', '"', '\\', '\\\\', '\\"', 'a', ',', ':', '1', ' '), { maxLength: 80 }).map((parts) => parts.join(''));
  fc.assert(
    fc.property(text, fc.nat(40), fc.nat(40), (body, maxDepth, maxContainers) => {
      const got = jsonShapeProblem(body, maxDepth, maxContainers)?.status;
      const want = reference(body, maxDepth, maxContainers);
      if (got !== want) throw new Error(`${JSON.stringify({ body, maxDepth, maxContainers })}: ${got} instead of ${want}`);
    }),
    params(2000),
  );
  t.pass('every generated text agrees');
});

t.test('brackets inside strings, after escaped quotes and after escaped backslashes', async (t) => {
  t.equal(jsonShapeProblem('{"a":"[[[[[[[[[[[[[[[[[[[["}', 2, 2), undefined, 'brackets in a string do not count');
  t.equal(jsonShapeProblem('{"a":"\\"[[[[[[[[[[[[[[[[[["}', 2, 2), undefined, 'an escaped quote does not end the string');
  t.equal(jsonShapeProblem('{"a":"\\\\",[[[[[[[[[[[[[[[[[[]}', 2, 50)?.status, 400, 'an escaped backslash does not escape the quote after it');
  for (const limit of [1, 5, 64]) {
    t.equal(jsonShapeProblem('['.repeat(limit), limit, limit), undefined, `${limit} openers are within ${limit}`);
    t.equal(jsonShapeProblem('['.repeat(limit + 1), limit, 10 * limit)?.status, 400, `${limit + 1} openers nest beyond ${limit}`);
    t.equal(jsonShapeProblem('[]'.repeat(limit + 1), 10 * limit, limit)?.status, 413, `${limit + 1} containers are beyond ${limit}`);
  }
  t.equal(jsonShapeProblem('['.repeat(MAX_JSON_DEPTH)), undefined, 'the default depth limit is reachable');
  t.equal(jsonShapeProblem('['.repeat(MAX_JSON_DEPTH + 1))?.status, 400);
  t.equal(jsonShapeProblem(`[${'[],'.repeat(MAX_JSON_CONTAINERS - 2)}[]]`), undefined, 'the default container limit is reachable');
  t.equal(jsonShapeProblem(`[${'[],'.repeat(MAX_JSON_CONTAINERS - 1)}[]]`)?.status, 413);
  t.equal(jsonShapeProblem('[{},{},{},{},{},{},{},{},{},{},{}]', 5, 5)?.status, 413);
  t.equal(jsonShapeProblem('"unterminated [[[[[[[[[[[[[[[[[[[[[[[[', 1, 1), undefined, 'an unterminated string is left for JSON.parse');
});
