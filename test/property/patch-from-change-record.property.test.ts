/**
 * The JSON patch is read off the copy-on-write change record, not found by a diff. fast-json-patch is the proof, over
 * the property corpus (generated and mutated EnvoyFilters and HTTPRoutes, and the fixtures): its `applyPatch`,
 * validating every operation, turns the original into exactly the core's result; the patch is empty exactly when
 * the core returned its input; and no operation writes a value the original already held there.
 */
import t from 'tap';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { isDeepStrictEqual } from 'node:util';
import { mutateObject } from '../../src/admission/admit-object.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { fixtureResolver } from '../helpers/fixtures.ts';
import { admittedObject, jsonCopy, params } from './arbitraries.ts';

const deps = { config: DEFAULT_CONFIG, resolver: fixtureResolver() };

t.test('original + patch (fast-json-patch applyPatch) = the core result', async (t) => {
  const stats = { cases: 0, patched: 0, operations: 0, adds: 0, replaces: 0, unchanged: 0 };
  await fc.assert(
    fc.asyncProperty(admittedObject, fc.constantFrom('llm-d-inference-scheduler', 'team-b', ''), async (generated, namespace) => {
      stats.cases++;
      const original = jsonCopy(generated);
      if (typeof original !== 'object' || original === null) return;
      const kind = (original as { kind?: unknown }).kind === 'HTTPRoute' ? 'HTTPRoute' : 'EnvoyFilter';
      const outcome = await mutateObject(kind, original, namespace, deps);
      if ((outcome.patch.length === 0) !== (outcome.object === original)) {
        throw new Error(`the patch is ${outcome.patch.length === 0 ? 'empty but the object changed' : 'not empty but the object is the input'}`);
      }
      if (outcome.patch.length === 0) {
        stats.unchanged++;
        return;
      }
      stats.patched++;
      // Through JSON, as the apiserver gets it; validating every operation against the document it applies to.
      const operations = JSON.parse(JSON.stringify(outcome.patch));
      for (const operation of operations) {
        stats.operations++;
        if (operation.op === 'add') stats.adds++;
        if (operation.op === 'replace') {
          stats.replaces++;
          const before = jsonpatch.getValueByPointer(jsonCopy(original), operation.path);
          if (isDeepStrictEqual(before, operation.value)) throw new Error(`a replace that changes nothing: ${operation.path}`);
        }
      }
      const stored = jsonpatch.applyPatch(jsonCopy(original), operations, true).newDocument;
      if (!isDeepStrictEqual(stored, jsonCopy(outcome.object))) {
        throw new Error(`original + patch differs from the core's result:\n${JSON.stringify(operations).slice(0, 600)}\n${JSON.stringify(outcome.object).slice(0, 600)}`);
      }
    }),
    params(3000),
  );
  t.comment(`patch from the change record: ${JSON.stringify(stats)}`);
  t.ok(stats.patched > 100 && stats.unchanged > 100 && stats.adds > 100 && stats.replaces > 100, 'the corpus reaches adds, replaces and unchanged objects');
});
