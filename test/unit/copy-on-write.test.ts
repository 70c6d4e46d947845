import t from 'tap';
import jsonpatch from 'fast-json-patch';
import { CopyOnWrite } from '../../src/copy-on-write.ts';
import { injectExtensionRef } from '../../src/httproute/inject-extension-ref.ts';
import { substituteClusterIP } from '../../src/envoyfilter/substitute-cluster-ip.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { fixtureResolver, manifest } from '../helpers/fixtures.ts';

t.test('copies only the containers on the way to a change, once each, and never writes the original', async (t) => {
  const original = { a: { b: [{ c: 1 }, { d: 2 }], untouched: { deep: { x: 1 } } }, e: 'f' };
  const before = structuredClone(original);
  const copy = new CopyOnWrite(original);
  t.ok(copy.set(['a', 'b', 0, 'c'], 9));
  const first = (copy.result.a as any).b[0];
  copy.set(['a', 'b', 0, 'z'], 10);
  t.equal((copy.result.a as any).b[0], first, 'a container already copied is not copied twice');
  copy.set(['a', 'b', 1, 'd'], 8);
  t.same(original, before, 'the original is unchanged');
  t.same(copy.result, { a: { b: [{ c: 9, z: 10 }, { d: 8 }], untouched: { deep: { x: 1 } } }, e: 'f' });
  t.not(copy.result.a, original.a);
  t.ok(Array.isArray((copy.result.a as any).b), 'lists stay lists');
  t.equal((copy.result.a as any).untouched, original.a.untouched, 'what was not written is shared');
  t.notOk(copy.set(['e', 'x'], 1), 'a path through a scalar has no container');
  t.notOk(copy.set(['missing', 'x'], 1));
  t.notOk(copy.append(['e'], 1), 'only a list can be appended to');
  t.equal(copy.get(['a', 'b', 0, 'c']), 9);
  t.equal(copy.get(['a', 'missing', 'c']), undefined);
  t.equal(copy.get(['e', 'length']), undefined, 'only own entries of containers are read');
  t.same(original, before, 'the refused writes wrote nothing');
});

t.test('the patch is read off the record: add or replace as the original had the key, in the order written', async (t) => {
  const original = { metadata: { name: 'x', labels: { a: '1' } }, spec: { list: [1, 2], 'a/b~c': 'old' } };
  const copy = new CopyOnWrite(original);
  copy.set(['metadata', 'labels', 'a'], '2');
  copy.set(['metadata', 'labels', 'b'], '3');
  copy.append(['spec', 'list'], 3);
  copy.append(['spec', 'list'], 4);
  copy.set(['spec', 'list', 0], 0);
  copy.set(['spec', 'a/b~c'], 'new');
  const patch = copy.patch();
  t.same(patch, [
    { op: 'replace', path: '/metadata/labels/a', value: '2' },
    { op: 'add', path: '/metadata/labels/b', value: '3' },
    { op: 'add', path: '/spec/list/2', value: 3 },
    { op: 'add', path: '/spec/list/3', value: 4 },
    { op: 'replace', path: '/spec/list/0', value: 0 },
    { op: 'replace', path: '/spec/a~1b~0c', value: 'new' },
  ]);
  t.same(jsonpatch.applyPatch(structuredClone(original), patch, true).newDocument, copy.result, 'fast-json-patch applies it to the result');
});

t.test('a change inside a value set by the same mutation is carried by that value; a path set twice is one operation', async (t) => {
  const original: Record<string, unknown> = { metadata: 'not an object', spec: { keep: 1 } };
  const copy = new CopyOnWrite(original);
  copy.set(['metadata'], {});
  copy.set(['metadata', 'annotations'], {});
  copy.set(['metadata', 'annotations', 'k'], 'v');
  copy.set(['spec', 'added'], 1);
  copy.set(['spec', 'added'], 2);
  copy.set(['spec', 'keep'], 1);
  const patch = copy.patch();
  t.same(patch, [
    { op: 'replace', path: '/metadata', value: { annotations: { k: 'v' } } },
    { op: 'add', path: '/spec/added', value: 2 },
  ], 'the kind comes from the original, the value from the result; setting a key to its own value is no change');
  t.same(jsonpatch.applyPatch(structuredClone(original), patch, true).newDocument, copy.result);

  const later = new CopyOnWrite({ a: { b: { c: 1 } } });
  later.set(['a', 'b', 'c'], 2);
  later.set(['a', 'b'], { d: 3 });
  t.same(later.patch(), [{ op: 'replace', path: '/a/b', value: { d: 3 } }], 'a later write of a container replaces the changes made inside it');
  t.same(new CopyOnWrite({ a: 1 }).patch(), [], 'no change, no operations');

  const shared = { a: { x: 1 }, b: {} as Record<string, unknown> };
  const twice = new CopyOnWrite(shared);
  twice.set(['b', 'y'], shared.a);
  twice.set(['a', 'x'], 2);
  t.same(twice.patch(), [
    { op: 'add', path: '/b/y', value: { x: 1 } },
    { op: 'replace', path: '/a/x', value: 2 },
  ], 'a value set at one place is not mistaken for the same object at another');
  t.same(jsonpatch.applyPatch(structuredClone(shared), twice.patch(), true).newDocument, twice.result);
});

t.test('the mutations share what they did not change, and their patch is exactly the change', async (t) => {
  const route = manifest('guide-httproute.yaml');
  const before = structuredClone(route);
  const injected = injectExtensionRef(route, DEFAULT_CONFIG);
  const injectedRoute = injected.object as any;
  t.same(route, before, 'the input route is unchanged');
  t.equal(injectedRoute.spec.rules[1], route.spec.rules[1], 'the rule without an InferencePool is shared, not copied');
  t.equal(injectedRoute.spec.parentRefs, route.spec.parentRefs);
  t.same(injected.patch.map((op) => `${op.op} ${op.path}`), ['add /spec/rules/0/filters/1']);
  t.same(injected.patch.map((op) => `${op.op} ${op.path}`), jsonpatch.compare(route, injectedRoute).map((op) => `${op.op} ${op.path}`), 'what a diff finds');

  const filter = manifest('guide-envoyfilter.yaml');
  const filterBefore = structuredClone(filter);
  const substitution = await substituteClusterIP(filter, 'llm-d-inference-scheduler', fixtureResolver(), DEFAULT_CONFIG);
  const substituted = substitution.object as any;
  t.same(filter, filterBefore, 'the input EnvoyFilter is unchanged');
  t.equal(substituted.spec.configPatches[0], filter.spec.configPatches[0], 'the patch without the token is shared');
  t.equal(substituted.spec.workloadSelector, filter.spec.workloadSelector);
  const expected = ['add /metadata/annotations', 'replace /spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address'];
  t.same(substitution.patch.map((op) => `${op.op} ${op.path}`).sort(), expected);
  t.same(jsonpatch.compare(filter, substituted).map((op) => `${op.op} ${op.path}`).sort(), expected, 'what a diff finds');
});

t.test('the patch of a change in each of 200,000 strings is built in linear time', async (t) => {
  // An EnvoyFilter may carry the token in as many strings as a body can hold; a pairwise check of the changes would
  // take minutes here (and hold the event loop), a linear one well under a second.
  const strings = Array.from({ length: 200_000 }, (_, i) => `s${i}`);
  const copy = new CopyOnWrite({ spec: { value: { list: strings } } });
  for (let i = 0; i < strings.length; i++) copy.set(['spec', 'value', 'list', i], `t${i}`);
  const started = performance.now();
  const patch = copy.patch();
  const seconds = (performance.now() - started) / 1000;
  t.equal(patch.length, 200_000);
  t.same(patch[199_999], { op: 'replace', path: '/spec/value/list/199999', value: 't199999' });
  t.ok(seconds < 20, `built in ${seconds.toFixed(2)} s`);
});

t.test('an entry named by a number and by its string is one place, as to a property access', async (t) => {
  const original = { list: [{ a: 1 }, { b: 2 }], map: { 7: { c: 3 } } as Record<string, unknown> };
  const copy = new CopyOnWrite(original);
  copy.set(['list', 0, 'a'], 10);
  copy.set(['list', '0', 'z'], 11);
  copy.set(['map', '7', 'c'], 30);
  copy.set(['map', 7, 'd'], 31);
  copy.set(['list', 0, 'y'], 12);
  copy.set(['map', '7', 'e'], 32);
  t.same(copy.result, { list: [{ a: 10, z: 11, y: 12 }, { b: 2 }], map: { 7: { c: 30, d: 31, e: 32 } } }, 'no write went to a copy the result no longer holds');
  t.same(jsonpatch.applyPatch(structuredClone(original), copy.patch(), true).newDocument, copy.result);
});

t.test('writes inside each of 100,000 objects of one list take linear time', async (t) => {
  // Each write finds the list's entry among the places written before it: searched one by one, that is pairwise.
  const entries = Array.from({ length: 100_000 }, (_, i) => ({ address: `a${i}` }));
  const copy = new CopyOnWrite({ spec: { endpoints: entries } });
  const started = performance.now();
  for (let i = 0; i < entries.length; i++) copy.set(['spec', 'endpoints', i, 'address'], `b${i}`);
  copy.set(['spec', 'endpoints', 99_999, 'port'], 9002);
  const seconds = (performance.now() - started) / 1000;
  t.same((copy.result.spec as any).endpoints[99_999], { address: 'b99999', port: 9002 });
  t.equal(entries[99_999].address, 'a99999', 'the original is unchanged');
  t.equal(copy.patch().length, 100_001);
  t.ok(seconds < 10, `written in ${seconds.toFixed(2)} s`);
});

t.test('a scalar set over a container this copy made, then a container again, is written where the result holds it', async (t) => {
  const copy = new CopyOnWrite({ a: { b: { c: 1 } } });
  copy.set(['a', 'b', 'c'], 2);
  copy.set(['a', 'b'], 'scalar');
  t.notOk(copy.set(['a', 'b', 'c'], 3), 'no container under a scalar');
  copy.set(['a', 'b'], { fresh: true });
  copy.set(['a', 'b', 'more'], 4);
  t.same(copy.result, { a: { b: { fresh: true, more: 4 } } });
  t.same(copy.patch(), [{ op: 'replace', path: '/a/b', value: { fresh: true, more: 4 } }]);
});
