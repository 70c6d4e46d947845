import t from 'tap';
import { EnvoyFilterIndexTable } from '../../../src/cluster/envoyfilter-index.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { injectExtensionRef } from '../../../src/httproute/inject-extension-ref.ts';
import { missingEnvoyFilters } from '../../../src/httproute/missing-envoyfilter.ts';

const NS = 'llm-d-inference-scheduler';
const route = (annotations: Record<string, string> = {}) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'r', namespace: NS, annotations },
  spec: {
    rules: [
      { backendRefs: [{ kind: 'Service', name: 'health' }] },
      { filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: {} }], backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'pool' }] },
    ],
  },
});
const index = (existing: [string, string][], ready = true) =>
  new EnvoyFilterIndexTable('test', existing.map(([namespace, name]) => ({ namespace, name, inferencePool: undefined })), () => ready);
const missing = (object: unknown, config = DEFAULT_CONFIG, envoyFilters = index([])) => {
  const injected = injectExtensionRef(object, config, { namespace: NS, envoyFilters });
  return missingEnvoyFilters(injected.object, injected.injected, NS, config, envoyFilters, injected.kept);
};

t.test('warns when the injected ExtensionRef names an EnvoyFilter not in the namespace', async (t) => {
  const [found, ...more] = missing(route(), DEFAULT_CONFIG, index([['other', 'epp-ext-proc']]));
  t.same(more, []);
  t.match(found, { code: 'EPP406', severity: 'warn', location: 'rules[1]', path: 'spec.rules[1].filters[1]' });
  t.match(found.message, `EnvoyFilter epp-ext-proc, which is not in namespace ${NS}`);
  t.same(missing(route(), DEFAULT_CONFIG, index([[NS, 'epp-ext-proc']])), [], 'there: nothing to say');
});

t.test('follows the per-route annotation and the configured severity', async (t) => {
  const annotated = route({ 'epp-webhook.io/ext-proc-filter': 'mine' });
  t.match(missing(annotated, DEFAULT_CONFIG, index([[NS, 'epp-ext-proc']]))[0].message, 'EnvoyFilter mine');
  t.same(missing(annotated, DEFAULT_CONFIG, index([[NS, 'mine']])), []);
  const off = parseConfig({ severities: { EPP406: 'off' } });
  t.equal(missing(route(), off)[0].severity, 'off');
});

t.test('says nothing when it cannot know: no index, not synced, nothing injected, another kind', async (t) => {
  const injected = injectExtensionRef(route(), DEFAULT_CONFIG, { namespace: NS });
  t.same(missingEnvoyFilters(injected.object, injected.injected, NS, DEFAULT_CONFIG, undefined), []);
  t.same(missingEnvoyFilters(injected.object, injected.injected, NS, DEFAULT_CONFIG, index([], false)), []);
  t.same(missing(route({ 'epp-webhook.io/inject': 'false' })), []);
  const other = parseConfig({ extensionRef: { group: 'example.com', kind: 'Filter', name: 'f' } });
  t.same(missing(route(), other), []);
});

t.test("a filter put in place of another pool's, not last in the rule: EPP406 judges that one, not the rule's last filter", async (t) => {
  // pool-a's EnvoyFilter exists; the rule now sends to `pool`, which no EnvoyFilter claims, so it gets the configured
  // epp-ext-proc, which does not exist. After it stands a filter of another kind, which EPP406 must not name.
  const filters = new EnvoyFilterIndexTable('test', [{ namespace: NS, name: 'pool-a-ext-proc', inferencePool: `${NS}/pool-a` }], () => true);
  const moved = route();
  (moved.spec.rules[1] as any).filters = [
    { type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'pool-a-ext-proc' } },
    { type: 'ExtensionRef', extensionRef: { group: 'example.com', kind: 'Policy', name: 'some-policy' } },
  ];
  const found = missing(moved, DEFAULT_CONFIG, filters).map((f) => [f.code, f.path, f.message.split('.')[0]]);
  t.same(found, [['EPP406', 'spec.rules[1].filters[0]', `the injected ExtensionRef names EnvoyFilter epp-ext-proc, which is not in namespace ${NS}`]]);
});

t.test("a rule's own ExtensionRef to an EnvoyFilter that is gone (the old name of a renamed one, deleted): EPP406, naming the pool's", async (t) => {
  const withOwn = (name: string) => {
    const object = route();
    (object.spec.rules[1] as any).filters.push({ type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name } });
    return object;
  };
  const renamed = new EnvoyFilterIndexTable('test', [{ namespace: NS, name: 'pool-ext-proc-v2', inferencePool: `${NS}/pool` }], () => true);
  const found = missing(withOwn('pool-ext-proc'), DEFAULT_CONFIG, renamed);
  t.same(found.map((f) => [f.code, f.severity, f.path]), [['EPP406', 'warn', 'spec.rules[1].filters[1]']]);
  t.equal(found[0].message, `the rule's own ExtensionRef names EnvoyFilter pool-ext-proc, which is not in namespace ${NS} (deleted, or renamed), and the webhook keeps a rule's own ExtensionRef: the route points at nothing`);
  t.equal(found[0].fix, `name EnvoyFilter pool-ext-proc-v2 there (the one a rule to this pool gets), or drop that ExtensionRef and the webhook adds it; or apply EnvoyFilter pool-ext-proc in ${NS}`);
  t.same(missing(withOwn('pool-ext-proc-v2'), DEFAULT_CONFIG, renamed), [], "naming the pool's: nothing to say");
  const unclaimed = missing(withOwn('epp-ext-proc'), DEFAULT_CONFIG, index([]));
  t.equal(unclaimed[0].fix, `apply EnvoyFilter epp-ext-proc in ${NS}, or name the EnvoyFilter of the rule's pool there`, 'the name it would get anyway');
  t.same(missing(withOwn('pool-ext-proc'), DEFAULT_CONFIG, new EnvoyFilterIndexTable('test', [], () => false)), [], 'not synced: nothing said');
});
