import t from 'tap';
import { EnvoyFilterIndexTable, toEnvoyFilterIndexRecord, type EnvoyFilterIndexRecord } from '../../../src/cluster/envoyfilter-index.ts';

const record = (name: string, overriddenRoutes: string[], namespace = 'llm-d'): EnvoyFilterIndexRecord => ({ namespace, name, inferencePool: `llm-d/${name}`, overriddenRoutes });
const names = (index: EnvoyFilterIndexTable, route: string) => index.envoyFiltersOverriding(route).map((r) => `${r.namespace}/${r.name}`);

t.test('which EnvoyFilters override an Envoy route follows every put, update, remove and resync', async (t) => {
  const index = new EnvoyFilterIndexTable('test', [record('b', ['llm-d.models.0']), record('a', ['llm-d.models.0', 'llm-d.models.1'], 'gateways')]);
  t.same(names(index, 'llm-d.models.0'), ['gateways/a', 'llm-d/b'], 'any namespace, sorted');
  t.same(names(index, 'llm-d.models.2'), []);

  index.put(record('b', ['llm-d.models.2']));
  t.same(names(index, 'llm-d.models.0'), ['gateways/a'], 'an update drops the routes it no longer names');
  t.same(names(index, 'llm-d.models.2'), ['llm-d/b']);

  index.remove('gateways/a');
  t.same(names(index, 'llm-d.models.0'), []);
  t.same(names(index, 'llm-d.models.1'), []);

  index.put({ namespace: 'llm-d', name: 'c', inferencePool: undefined });
  t.same(names(index, 'llm-d.models.2'), ['llm-d/b'], 'a record without routes overrides none');

  index.replaceAll([record('d', ['model-a'])]);
  t.same(names(index, 'llm-d.models.2'), [], 'a resync starts over');
  t.same(names(index, 'model-a'), ['llm-d/d']);
});

t.test('an EnvoyFilter nested deeper than any real one, as a list or watch may carry it: its name and pool, no routes, no stack overflow', async (t) => {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < 100_000; i++) value = { nested: value };
  const deep = {
    metadata: { name: 'deep', namespace: 'llm-d', annotations: { 'epp-webhook.io/inference-pool': 'pool-a' } },
    spec: { configPatches: [{ applyTo: 'HTTP_ROUTE', match: { context: 'GATEWAY' }, patch: { operation: 'MERGE', value } }] },
  };
  t.same(toEnvoyFilterIndexRecord(deep), { namespace: 'llm-d', name: 'deep', inferencePool: 'llm-d/pool-a' });
});
