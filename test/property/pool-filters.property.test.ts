/**
 * HTTPRoutes whose rules move between InferencePools (weights, Services, pools no EnvoyFilter claims) and hold
 * ExtensionRefs of their own (a pool's EnvoyFilter, another pool's, one annotated with no pool, an unknown name,
 * another kind), through the core as serve runs it (the EnvoyFilter index complete):
 * - original + patch (fast-json-patch, validating) = the core's result, and the request object is never written;
 * - admitted, mutating the result again changes nothing (a re-apply gets the same object);
 * - admitted, no rule that sends to a pool holds another pool's EnvoyFilter; one EPP408 per filter replaced;
 * - every EPP406 points at an ExtensionRef to the EnvoyFilter it names.
 */
import t from 'tap';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { isDeepStrictEqual } from 'node:util';
import { mutateObject } from '../../src/admission/admit-object.ts';
import { EnvoyFilterIndexTable } from '../../src/cluster/envoyfilter-index.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { fixtureResolver } from '../helpers/fixtures.ts';
import { jsonCopy, params } from './arbitraries.ts';

const NS = 'llm-d';
const OWNERS: Record<string, string> = { 'epp-a-ext-proc': `${NS}/pool-a`, 'epp-b-ext-proc': `${NS}/pool-b` };
const envoyFilters = new EnvoyFilterIndexTable(
  'the test EnvoyFilters',
  [...Object.entries(OWNERS).map(([name, pool]) => ({ namespace: NS, name, inferencePool: pool })), { namespace: NS, name: 'mine', inferencePool: undefined }],
  () => true,
);
const deps = { config: DEFAULT_CONFIG, resolver: fixtureResolver(), envoyFilters, envoyFiltersComplete: true };

const ref = (name: string, kind = 'EnvoyFilter') => ({ type: 'ExtensionRef', extensionRef: { group: kind === 'EnvoyFilter' ? 'networking.istio.io' : 'example.com', kind, name } });
const backendRef = fc.record(
  {
    to: fc.constantFrom('pool-a', 'pool-b', 'pool-c', 'svc'),
    weight: fc.constantFrom(undefined, 0, 1, 100),
  },
  { requiredKeys: ['to'] },
).map(({ to, weight }) => ({
  ...(to === 'svc' ? { name: 'svc', port: 80 } : { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: to }),
  ...(weight === undefined ? {} : { weight }),
}));
const ownFilter = fc.constantFrom(
  ref('epp-a-ext-proc'),
  ref('epp-b-ext-proc'),
  ref('mine'),
  ref('unknown'),
  ref('some-policy', 'Policy'),
  { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'y' }] } },
);
const rule = fc.record({ backendRefs: fc.array(backendRef, { maxLength: 3 }), filters: fc.option(fc.array(ownFilter, { maxLength: 3 }), { nil: undefined }) });
const httpRoute = fc.array(rule, { minLength: 1, maxLength: 4 }).map((rules) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'r', namespace: NS },
  spec: { parentRefs: [{ name: 'gw' }], rules: rules.map((r) => (r.filters === undefined ? { backendRefs: r.backendRefs } : r)) },
}));

/** The pools a rule sends traffic to: InferencePool backendRefs of a weight other than 0. */
const sentTo = (r: any) => new Set((r.backendRefs ?? []).filter((b: any) => b.kind === 'InferencePool' && b.weight !== 0).map((b: any) => `${NS}/${b.name}`));

t.test('rules moving between pools with ExtensionRefs of their own: patch = result, idempotent, no other pool\'s filter kept', async (t) => {
  const stats = { cases: 0, denied: 0, replaced: 0, admittedWithChange: 0 };
  await fc.assert(
    fc.asyncProperty(httpRoute, async (generated) => {
      stats.cases++;
      const original = jsonCopy(generated);
      const frozen = structuredClone(original);
      const outcome = await mutateObject('HTTPRoute', original, NS, deps);
      if (!isDeepStrictEqual(original, frozen)) throw new Error('the core wrote into the request object');
      const stored = jsonpatch.applyPatch(jsonCopy(original), jsonCopy(outcome.patch), true).newDocument;
      if (!isDeepStrictEqual(stored, jsonCopy(outcome.object))) throw new Error(`original + patch differs from the result: ${JSON.stringify(outcome.patch)}`);

      if (outcome.findings.some((f) => f.severity === 'deny')) {
        stats.denied++;
        return;
      }
      if (outcome.patch.length > 0) stats.admittedWithChange++;
      const again = await mutateObject('HTTPRoute', outcome.object, NS, deps);
      if (again.patch.length > 0) throw new Error(`not idempotent: ${JSON.stringify(again.patch)}`);

      const replaced = outcome.findings.filter((f) => f.code === 'EPP408');
      stats.replaced += replaced.length;
      let foreignBefore = 0;
      (outcome.object as any).spec.rules.forEach((r: any, index: number) => {
        const sent = sentTo(r);
        if (sent.size === 0) return;
        const owners = (r.filters ?? []).map((f: any) => OWNERS[f.extensionRef?.name]).filter((o: any) => o !== undefined);
        if (owners.some((o: string) => !sent.has(o))) throw new Error(`rules[${index}] sends to ${[...sent]} and still holds ${owners}`);
        const before = (original as any).spec.rules[index].filters ?? [];
        foreignBefore += before.filter((f: any) => f.extensionRef?.kind === 'EnvoyFilter' && OWNERS[f.extensionRef.name] !== undefined && !sent.has(OWNERS[f.extensionRef.name])).length;
      });
      if (replaced.length !== foreignBefore) throw new Error(`${replaced.length} EPP408 for ${foreignBefore} filters of another pool`);

      for (const missing of outcome.findings.filter((f) => f.code === 'EPP406')) {
        const [, ruleIndex, filterIndex] = /^spec\.rules\[(\d+)\]\.filters\[(\d+)\]$/.exec(missing.path)!.map(Number);
        const named = (outcome.object as any).spec.rules[ruleIndex].filters[filterIndex];
        if (named?.extensionRef?.kind !== 'EnvoyFilter' || !missing.message.includes(`EnvoyFilter ${named.extensionRef.name},`)) {
          throw new Error(`EPP406 at ${missing.path} names what is not there: ${JSON.stringify(named)}`);
        }
      }
    }),
    params(2000),
  );
  t.comment(`pool filters: ${JSON.stringify(stats)}`);
  t.ok(stats.denied > 50 && stats.replaced > 50 && stats.admittedWithChange > 200, 'the generator reaches denials, replacements and injections');
});
