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
  const first = copy.writable(['a', 'b', 0])!;
  first.c = 9;
  const again = copy.writable(['a', 'b', 0])!;
  t.equal(again, first, 'a container already copied is not copied twice');
  copy.writable(['a', 'b', 1])!.d = 8;
  t.same(original, before, 'the original is unchanged');
  t.same(copy.result, { a: { b: [{ c: 9 }, { d: 8 }], untouched: { deep: { x: 1 } } }, e: 'f' });
  t.not(copy.result.a, original.a);
  t.ok(Array.isArray((copy.result.a as any).b), 'lists stay lists');
  t.equal((copy.result.a as any).untouched, original.a.untouched, 'what was not written is shared');
  t.equal(copy.writable(['e', 'x']), undefined, 'a path through a scalar has no container');
  t.equal(copy.writable(['missing']), undefined);
});

t.test("the mutations share what they did not change, so the patch is exactly the change", async (t) => {
  const route = manifest('guide-httproute.yaml');
  const before = structuredClone(route);
  const injected = injectExtensionRef(route, DEFAULT_CONFIG).object as any;
  t.same(route, before, 'the input route is unchanged');
  t.equal(injected.spec.rules[1], route.spec.rules[1], 'the rule without an InferencePool is shared, not copied');
  t.equal(injected.spec.parentRefs, route.spec.parentRefs);
  t.same(jsonpatch.compare(route, injected).map((op) => `${op.op} ${op.path}`), ['add /spec/rules/0/filters/1']);

  const filter = manifest('guide-envoyfilter.yaml');
  const filterBefore = structuredClone(filter);
  const substituted = (await substituteClusterIP(filter, 'llm-d-inference-scheduler', fixtureResolver(), DEFAULT_CONFIG)).object as any;
  t.same(filter, filterBefore, 'the input EnvoyFilter is unchanged');
  t.equal(substituted.spec.configPatches[0], filter.spec.configPatches[0], 'the patch without the token is shared');
  t.equal(substituted.spec.workloadSelector, filter.spec.workloadSelector);
  t.same(
    jsonpatch.compare(filter, substituted).map((op) => `${op.op} ${op.path}`).sort(),
    ['add /metadata/annotations', 'replace /spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address'],
  );
});
