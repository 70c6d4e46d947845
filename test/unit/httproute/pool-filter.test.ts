import t from 'tap';
import { EnvoyFilterIndexTable, toEnvoyFilterIndexRecord, type EnvoyFilterIndex } from '../../../src/cluster/envoyfilter-index.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { injectExtensionRef } from '../../../src/httproute/inject-extension-ref.ts';

const NS = 'llm-d';
const pool = (name: string, namespace?: string) => ({ group: 'inference.networking.k8s.io', kind: 'InferencePool', name, ...(namespace ? { namespace } : {}) });
const route = (rules: unknown[][], annotations: Record<string, string> = {}) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'r', namespace: NS, annotations },
  spec: { parentRefs: [{ name: 'gw' }], rules: rules.map((backendRefs, i) => ({ matches: [{ path: { type: 'PathPrefix', value: `/m${i}` } }], backendRefs })) },
});
const filter = (name: string, poolAnnotation?: string, namespace = NS) =>
  toEnvoyFilterIndexRecord({ metadata: { name, namespace, annotations: poolAnnotation === undefined ? {} : { 'epp-webhook.io/inference-pool': poolAnnotation } } })!;
const index = (...records: ReturnType<typeof filter>[]) => new EnvoyFilterIndexTable('the test EnvoyFilters', records);
const refsOf = (object: any) => object.spec.rules.map((r: any) => (r.filters ?? []).filter((f: any) => f.type === 'ExtensionRef').map((f: any) => f.extensionRef.name));
const codes = (findings: { code: string }[]) => findings.map((f) => f.code);
const inject = (object: unknown, envoyFilters?: EnvoyFilterIndex) => injectExtensionRef(object, DEFAULT_CONFIG, { namespace: NS, envoyFilters });

t.test('two pools behind one gateway: each rule gets the EnvoyFilter annotated with its pool, no route annotation', async (t) => {
  const filters = index(filter('epp-a-ext-proc', 'pool-a'), filter('epp-b-ext-proc', `${NS}/pool-b`), filter('unrelated'));
  const { object, findings, injected } = inject(route([[pool('pool-a')], [pool('pool-b')], [pool('pool-a'), pool('pool-a')]]), filters);
  t.same(refsOf(object), [['epp-a-ext-proc'], ['epp-b-ext-proc'], ['epp-a-ext-proc']]);
  t.same(injected.map((i) => i.rule), [0, 1, 2]);
  t.same(codes(findings), ['EPP402']);
  t.match(findings[0].message, /EnvoyFilter epp-a-ext-proc, epp-b-ext-proc/);
  const again = inject(object, filters);
  t.same(again.injected, [], 'idempotent');
});

t.test('a pool no EnvoyFilter claims gets the route annotation or the configured name, as before', async (t) => {
  const filters = index(filter('epp-a-ext-proc', 'pool-a'));
  t.same(refsOf(inject(route([[pool('other')]]), filters).object), [['epp-ext-proc']]);
  t.same(refsOf(inject(route([[pool('other')]], { 'epp-webhook.io/ext-proc-filter': 'mine' }), filters).object), [['mine']]);
  t.same(refsOf(inject(route([[pool('pool-a')]])).object), [['epp-ext-proc']], 'without an index');
});

t.test('an EnvoyFilter elsewhere cannot be a local ExtensionRef; a pool in another namespace is found by its namespace', async (t) => {
  const filters = index(filter('elsewhere', 'pool-a', 'istio-system'), filter('for-shared', 'shared/pool-s'));
  t.same(refsOf(inject(route([[pool('pool-a')]]), filters).object), [['epp-ext-proc']]);
  t.same(refsOf(inject(route([[pool('pool-s', 'shared')]]), filters).object), [['for-shared']]);
});

t.test('a rule that mixes pools served by different EnvoyFilters is denied: EPP404', async (t) => {
  const filters = index(filter('epp-a-ext-proc', 'pool-a'), filter('epp-b-ext-proc', 'pool-b'));
  const input = route([[pool('pool-b')], [pool('pool-a'), { name: 'svc', port: 80 }, pool('pool-b')]]);
  const { object, findings } = inject(input, filters);
  t.same(refsOf(object), [['epp-b-ext-proc'], []], 'the mixed rule gets no filter (and the denial keeps the route from being stored)');
  t.same(codes(findings), ['EPP404', 'EPP402']);
  t.equal(findings[0].severity, 'deny');
  t.equal(findings[0].path, 'spec.rules[1].backendRefs[2]');
  t.match(findings[0].message, /llm-d\/pool-a -> epp-a-ext-proc, llm-d\/pool-b -> epp-b-ext-proc/);
  const unclaimed = inject(route([[pool('pool-a'), pool('other')]]), filters);
  t.same(codes(unclaimed.findings), ['EPP404'], 'a claimed pool with an unclaimed one is two EPPs too');
  t.match(unclaimed.findings[0].message, /llm-d\/other -> epp-ext-proc \(no EnvoyFilter is annotated with it\)/);
  t.same(codes(inject(route([[pool('x'), pool('y')]]), filters).findings), ['EPP402'], 'two unclaimed pools share the configured filter');
});

t.test('no single EnvoyFilter for a pool: EPP405', async (t) => {
  const two = index(filter('one', 'pool-a'), filter('two', 'pool-a'));
  const ambiguous = inject(route([[pool('pool-a')]]), two);
  t.same(codes(ambiguous.findings), ['EPP405']);
  t.match(ambiguous.findings[0].message, /EnvoyFilters one, two in namespace llm-d all carry epp-webhook\.io\/inference-pool/);
  const filters = index(filter('epp-a-ext-proc', 'pool-a'));
  const against = inject(route([[pool('pool-a')]], { 'epp-webhook.io/ext-proc-filter': 'other' }), filters);
  t.same(codes(against.findings), ['EPP405']);
  t.match(against.findings[0].message, /served by EnvoyFilter epp-a-ext-proc .* but the route's epp-webhook\.io\/ext-proc-filter names other/);
  const agreeing = inject(route([[pool('pool-a')]], { 'epp-webhook.io/ext-proc-filter': 'epp-a-ext-proc' }), filters);
  t.same(refsOf(agreeing.object), [['epp-a-ext-proc']]);
});

t.test('a rule that already names one of the EnvoyFilters claiming its pool keeps it: no EPP405 on a relabel during a rename', async (t) => {
  // The EnvoyFilter renamed the GitOps way: the new one applied, the old one not yet deleted; the route is relabelled meanwhile.
  const both = index(filter('old', 'pool-a'), filter('new', 'pool-a'), filter('epp-b-ext-proc', 'pool-b'));
  const wired = inject(route([[pool('pool-a')]]), index(filter('old', 'pool-a'))).object as any;
  t.same(refsOf(wired), [['old']]);
  wired.metadata.labels = { team: 'x' };
  const relabelled = inject(wired, both);
  t.same(codes(relabelled.findings), ['EPP402'], 'admitted: the rule has its filter');
  t.same(relabelled.patch, [], 'and nothing is changed in it');
  t.same(refsOf(relabelled.object), [['old']]);

  const ref = (name: string) => ({ type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name } });
  const holding = (names: string[], backendRefs = [pool('pool-a')]) => {
    const input = route([backendRefs]);
    (input.spec.rules[0] as any).filters = names.map(ref);
    return input;
  };
  t.same(codes(inject(holding(['old', 'new']), both).findings), ['EPP405'], 'naming both: still ambiguous');
  t.same(codes(inject(holding(['other']), both).findings), ['EPP405'], 'naming neither: still ambiguous');
  t.same(codes(inject(holding(['new'], [pool('pool-a'), pool('pool-b')]), both).findings), ['EPP404'], 'the kept one still counts as one EPP among the rule\'s pools');
  const fresh = inject(route([[pool('pool-a')]]), both);
  t.same(codes(fresh.findings), ['EPP405'], 'a rule without one still cannot be given one');
  t.match(fresh.findings[0].fix, /on one EnvoyFilter only, or name one of them in the rule's ExtensionRef \(a rule that names one keeps it\)$/);
});

t.test('an EnvoyFilter index that has not synced: a temporary denial, only for pool rules', async (t) => {
  const cold = new EnvoyFilterIndexTable('cache', [], () => false);
  t.same(codes(inject(route([[pool('pool-a')]]), cold).findings), ['EPP104']);
  const plain = route([[{ name: 'svc', port: 80 }]]);
  t.same(inject(plain, cold).findings, []);
});

t.test('the index follows puts and removals, and keeps names per namespace', async (t) => {
  const table = index(filter('f', 'pool-a'));
  t.ok(table.has(NS, 'f'));
  t.notOk(table.has('other', 'f'));
  table.put(filter('f', 'pool-b'));
  t.same(table.servingPool(NS, NS, 'pool-a'), [], 'the old pool is forgotten when the annotation changes');
  t.same(table.servingPool(NS, NS, 'pool-b'), ['f']);
  table.put(filter('f', 'not//valid'));
  t.same(table.servingPool(NS, NS, 'pool-b'), []);
  t.ok(table.has(NS, 'f'), 'a malformed annotation still leaves the EnvoyFilter known');
  table.remove(`${NS}/f`);
  t.notOk(table.has(NS, 'f'));
  t.equal(table.size, 0);
});

t.test('a pool no EnvoyFilter claims would get the EnvoyFilter annotated with another pool: EPP407, not a silent wrong EPP', async (t) => {
  // The route applied before its pool's EnvoyFilter (`kubectl apply -f dir/` goes in file-name order), while the default name is pool-a's.
  const filters = index(filter('epp-ext-proc', 'pool-a'));
  const early = inject(route([[pool('pool-b')]]), filters);
  t.same(codes(early.findings), ['EPP407']);
  t.equal(early.findings[0].severity, 'deny');
  t.equal(early.findings[0].path, 'spec.rules[0].backendRefs[0]');
  t.match(early.findings[0].message, /InferencePool llm-d\/pool-b: no EnvoyFilter in namespace llm-d carries epp-webhook\.io\/inference-pool for it, so the rule would get the configured default \(extensionRef\.name\), EnvoyFilter epp-ext-proc, which is annotated with InferencePool llm-d\/pool-a: requests for llm-d\/pool-b would be picked by llm-d\/pool-a's EPP/);
  t.match(early.findings[0].fix, /apply the EnvoyFilter for InferencePool llm-d\/pool-b \(annotated epp-webhook\.io\/inference-pool: pool-b\) first, then this route again/);
  t.same(refsOf(early.object), [[]], 'nothing injected');

  const annotated = inject(route([[pool('pool-b')]], { 'epp-webhook.io/ext-proc-filter': 'epp-ext-proc' }), filters);
  t.match(annotated.findings[0].message, /the route's epp-webhook\.io\/ext-proc-filter annotation, EnvoyFilter epp-ext-proc, which is annotated with InferencePool llm-d\/pool-a/);
  const mixed = inject(route([[pool('pool-a'), pool('pool-b')]]), filters);
  t.same(codes(mixed.findings), ['EPP407'], 'a claimed pool with an unclaimed one that would borrow its EnvoyFilter');

  const later = index(filter('epp-ext-proc', 'pool-a'), filter('pool-b-ext-proc', 'pool-b'));
  t.same(refsOf(inject(route([[pool('pool-b')]]), later).object), [['pool-b-ext-proc']], 'once the pool\'s EnvoyFilter is known, the route applied again gets it');
  t.same(codes(inject(route([[pool('pool-b')]]), index(filter('epp-ext-proc'))).findings), ['EPP402'], 'an unannotated default serves any pool, as before');
  t.equal(later.poolOf(NS, 'epp-ext-proc'), `${NS}/pool-a`);
  t.equal(later.poolOf(NS, 'missing'), undefined);
});

t.test("a rule's own ExtensionRef to the EnvoyFilter of a pool the rule does not send to is replaced by its pool's, said by EPP408", async (t) => {
  // `kubectl edit` (or a controller) moves the rule from pool-a to pool-b: the live object still holds pool-a's injected filter.
  const filters = index(filter('epp-a-ext-proc', 'pool-a'), filter('epp-b-ext-proc', 'pool-b'), filter('mine'));
  const ref = (name: string) => ({ type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name } });
  const withFilters = (backendRefs: unknown[], own: unknown[]) => {
    const input = route([backendRefs]);
    (input.spec.rules[0] as any).filters = own;
    return input;
  };
  const header = { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'y' }] } };
  const input = withFilters([pool('pool-b')], [header, ref('epp-a-ext-proc')]);
  const moved = inject(input, filters);
  t.same(codes(moved.findings), ['EPP408', 'EPP402']);
  t.equal(moved.findings[0].severity, 'warn');
  t.equal(moved.findings[0].path, 'spec.rules[0].filters[1]');
  t.match(moved.findings[0].message, /^references EnvoyFilter epp-a-ext-proc, the ext_proc filter of InferencePool llm-d\/pool-a \(its epp-webhook.io\/inference-pool annotation\), but the rule sends traffic to llm-d\/pool-b: the webhook replaces it with epp-b-ext-proc, the ExtensionRef a rule sending to llm-d\/pool-b gets/);
  t.match(moved.findings[0].fix, /^nothing to do after a kubectl patch, kubectl edit or rollout controller changed the rule's backendRefs; if your manifest names epp-a-ext-proc there, drop that ExtensionRef \(the webhook adds epp-b-ext-proc\) or name epp-b-ext-proc$/);
  t.same((moved.object as any).spec.rules[0].filters, [header, ref('epp-b-ext-proc')], 'in its place, the rule\'s other filters as they were');
  t.same(moved.patch, [{ op: 'replace', path: '/spec/rules/0/filters/1', value: ref('epp-b-ext-proc') }]);
  t.same(moved.injected, [{ rule: 0, filter: 1 }], 'a filter the webhook chose, where it sits: EPP406 checks it exists');
  t.same((input.spec.rules[0] as any).filters[1], ref('epp-a-ext-proc'), 'the request is not written to');
  t.same(inject(moved.object, filters).patch, [], 'idempotent: a re-apply of the same manifest gets the same object, not a denial');

  const unclaimed = inject(withFilters([pool('other')], [ref('epp-a-ext-proc')]), filters);
  t.same(refsOf(unclaimed.object), [['epp-ext-proc']], "a pool no EnvoyFilter claims gets the configured name, not another pool's");
  t.same(codes(unclaimed.findings), ['EPP408', 'EPP402']);

  for (const beside of ['mine', 'epp-b-ext-proc', 'epp-a-ext-proc']) {
    const two = inject(withFilters([pool('pool-b')], [ref('epp-a-ext-proc'), ref(beside)]), filters);
    t.same(codes(two.findings), ['EPP405'], `beside ${beside} the webhook cannot tell which is the rule's ext_proc filter: denied`);
    t.equal(two.findings[0].severity, 'deny');
    t.match(two.findings[0].message, /, and it holds 2 ExtensionRefs to an EnvoyFilter: the webhook cannot tell which one is the rule's ext_proc filter$/);
    t.equal(two.findings[0].fix, 'keep one ExtensionRef to an EnvoyFilter in rules[0], or none (the webhook then adds epp-b-ext-proc)');
    t.same(refsOf(two.object), [['epp-a-ext-proc', beside]], 'nothing changed');
  }

  t.same(codes(inject(withFilters([pool('pool-b')], [ref('epp-b-ext-proc')]), filters).findings), ['EPP402'], "the pool's own EnvoyFilter is kept");
  const mine = inject(withFilters([pool('pool-b')], [ref('mine')]), filters);
  t.same(codes(mine.findings), ['EPP402'], 'an EnvoyFilter annotated with no pool is the user\'s choice');
  t.match(mine.findings[0].message, /^the ExtensionRef to EnvoyFilter mine is not resolved/, 'EPP402 names the ExtensionRef the rule holds, not the one it would have got');
  t.same(codes(inject(withFilters([pool('pool-b')], [ref('unknown')]), filters).findings), ['EPP402'], 'so is one the index does not know');
  const off = injectExtensionRef(input, parseConfig({ severities: { EPP408: 'off' } }), { namespace: NS, envoyFilters: filters });
  t.same(off.findings.map((f) => `${f.code} ${f.severity}`), ['EPP408 off', 'EPP402 warn'], 'EPP408 off: replaced, the answer says nothing of it');
  t.same(refsOf(off.object), [['epp-b-ext-proc']]);
});

t.test('a blue/green flip of weights in the live object: the filter follows the weighted pool, and back', async (t) => {
  // What `kubectl patch --type=json` of the weights or a rollout controller sends: the backendRefs changed, the filters as stored.
  const filters = index(filter('epp-a-ext-proc', 'pool-a'), filter('epp-b-ext-proc', 'pool-b'));
  const weighted = (name: string, weight: number) => ({ ...pool(name), weight });
  const created = inject(route([[weighted('pool-a', 100), weighted('pool-b', 0)], [pool('pool-a')]]), filters);
  t.same(refsOf(created.object), [['epp-a-ext-proc'], ['epp-a-ext-proc']]);
  const withWeights = (object: unknown, a: number, b: number) => {
    const changed = structuredClone(object) as any;
    changed.spec.rules[0].backendRefs[0].weight = a;
    changed.spec.rules[0].backendRefs[1].weight = b;
    return changed;
  };
  const flipped = inject(withWeights(created.object, 0, 100), filters);
  t.same(refsOf(flipped.object), [['epp-b-ext-proc'], ['epp-a-ext-proc']], "the flipped rule gets pool-b's filter; the other rule keeps its own");
  const halfway = inject(withWeights(created.object, 0, 0), filters);
  t.same(halfway.patch, [], 'at 0/0 the rule sends to no pool: its filter is left as it is');
  t.same(refsOf(inject(withWeights(halfway.object, 0, 100), filters).object)[0], ['epp-b-ext-proc'], 'and then moves with the weight');
  t.same(refsOf(inject(withWeights(flipped.object, 100, 0), filters).object)[0], ['epp-a-ext-proc'], 'and back');
});

t.test('a backendRef of weight 0 sends no traffic: its pool neither gets the rule a filter nor mixes with the others', async (t) => {
  // Gateway API: "If weight is set to 0, no traffic should be forwarded for this entry"; Istio drops such backends.
  const filters = index(filter('epp-a-ext-proc', 'pool-a'), filter('epp-b-ext-proc', 'pool-b'));
  const weighted = (name: string, weight: number) => ({ ...pool(name), weight });
  const blueGreen = inject(route([[weighted('pool-a', 100), weighted('pool-b', 0)]]), filters);
  t.same(codes(blueGreen.findings), ['EPP402'], 'no EPP404: pool-b gets no request');
  t.same(refsOf(blueGreen.object), [['epp-a-ext-proc']]);
  const flipped = inject(route([[weighted('pool-a', 0), weighted('pool-b', 100)]]), filters);
  t.same(refsOf(flipped.object), [['epp-b-ext-proc']]);

  const toService = inject(route([[weighted('pool-a', 0), { name: 'svc', port: 80, weight: 1 }]]), filters);
  t.same(refsOf(toService.object), [[]], 'the EPP is not put in front of traffic that goes to a Service only');
  t.same(toService.findings, []);
  t.same(refsOf(inject(route([[weighted('pool-a', 0)]]), filters).object), [[]], 'all weights 0: the gateway answers 500 itself');
  t.same(codes(inject(route([[weighted('pool-a', 1), weighted('pool-b', 1)]]), filters).findings), ['EPP404'], 'both weighted: still two EPPs');
});

t.test('a configured ExtensionRef of another kind than EnvoyFilter is not named after the EnvoyFilters', async (t) => {
  // The index knows EnvoyFilters; the name of one is no name of a gateway.example.io ExtProcPolicy.
  const config = parseConfig({ extensionRef: { group: 'gateway.example.io', kind: 'ExtProcPolicy', name: 'epp' } });
  const filters = index(filter('epp-a-ext-proc', 'pool-a'), filter('epp', 'pool-b'));
  const policy = (name: string) => ({ type: 'ExtensionRef', extensionRef: { group: 'gateway.example.io', kind: 'ExtProcPolicy', name } });
  const { object, findings } = injectExtensionRef(route([[pool('pool-a')]]), config, { namespace: NS, envoyFilters: filters });
  t.same((object as any).spec.rules[0].filters, [policy('epp')]);
  t.same(findings, [], 'no EPP407: the configured ExtProcPolicy epp is not the EnvoyFilter epp');
  const mixed = injectExtensionRef(route([[pool('pool-a'), pool('pool-b')]]), config, { namespace: NS, envoyFilters: filters });
  t.same(mixed.findings, [], 'no EPP404 either: the pools share the one configured policy');
});
