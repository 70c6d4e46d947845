import t from 'tap';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { formatFinding } from '../../../src/findings.ts';
import { injectExtensionRef, MAX_RULE_FILTERS } from '../../../src/httproute/inject-extension-ref.ts';
import { manifest } from '../../helpers/fixtures.ts';

const EXT_REF = { type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'epp-ext-proc' } };

t.test('a rule to an InferencePool gets the ExtensionRef after its own filters; other rules are untouched', async (t) => {
  const input = manifest('guide-httproute.yaml');
  const before = structuredClone(input);
  const { object, findings, injected } = injectExtensionRef(input, DEFAULT_CONFIG);
  const rules = (object as any).spec.rules;
  t.same(injected, [{ rule: 0, filter: 1 }], 'where it wrote: after the rule\'s one filter');
  t.same(rules[0].filters, [before.spec.rules[0].filters[0], EXT_REF]);
  t.same(rules[1], before.spec.rules[1]);
  t.same(input, before, 'the request object is not modified');
  t.same(findings.map((f) => [f.code, f.severity]), [['EPP402', 'warn']]);
  t.match(findings[0].message, /not resolved by Istio's HTTPRoute translation/);
});

t.test('injection happens once: the result injected again is unchanged', async (t) => {
  const once = injectExtensionRef(manifest('guide-httproute.yaml'), DEFAULT_CONFIG);
  const twice = injectExtensionRef(once.object, DEFAULT_CONFIG);
  t.equal(twice.object, once.object);
  t.same(twice.injected, []);
  t.same(twice.findings.map((f) => f.code), ['EPP402'], 'the route still targets the pool, so the warning stays true');
});

t.test('the older x-k8s.io group counts; core Services and other kinds do not', async (t) => {
  const route = {
    metadata: { name: 'r', namespace: 'ns' },
    spec: {
      rules: [
        { backendRefs: [{ group: 'inference.networking.x-k8s.io', kind: 'InferencePool', name: 'old' }] },
        { backendRefs: [{ name: 'svc', port: 80 }] },
        { backendRefs: [{ kind: 'InferencePool', name: 'no-group' }] },
        { backendRefs: [{ group: 'example.com', kind: 'InferencePool', name: 'other' }] },
        {},
      ],
    },
  };
  t.same(injectExtensionRef(route, DEFAULT_CONFIG).injected, [{ rule: 0, filter: 0 }]);
});

t.test('inferencePoolGroups says which groups count: with only v1, a rule to the older group is left alone', async (t) => {
  const route = {
    metadata: { name: 'r', namespace: 'ns' },
    spec: {
      rules: [
        { backendRefs: [{ group: 'inference.networking.x-k8s.io', kind: 'InferencePool', name: 'old' }] },
        { backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'new' }] },
        { backendRefs: [{ group: 'pools.example.com', kind: 'InferencePool', name: 'forked' }] },
      ],
    },
  };
  t.same(injectExtensionRef(route, parseConfig({ inferencePoolGroups: ['inference.networking.k8s.io'] })).injected, [{ rule: 1, filter: 0 }]);
  t.same(injectExtensionRef(route, parseConfig({ inferencePoolGroups: ['pools.example.com'] })).injected, [{ rule: 2, filter: 0 }], 'a group of its own');
});

t.test('no InferencePool rule: same object, no findings (the wild A/B route)', async (t) => {
  const input = manifest('wild/operator-httproute-ab.yaml');
  const result = injectExtensionRef(input, DEFAULT_CONFIG);
  t.equal(result.object, input);
  t.same(result.findings, []);
});

t.test('the annotation names the filter; inject "false" opts out', async (t) => {
  const input = manifest('guide-httproute.yaml');
  input.metadata.annotations = { 'epp-webhook.io/ext-proc-filter': 'epp-ext-proc-poc' };
  const named = injectExtensionRef(input, DEFAULT_CONFIG);
  t.equal((named.object as any).spec.rules[0].filters[1].extensionRef.name, 'epp-ext-proc-poc');

  input.metadata.annotations = { 'epp-webhook.io/inject': 'false' };
  const optedOut = injectExtensionRef(input, DEFAULT_CONFIG);
  t.equal(optedOut.object, input);
  t.same(optedOut.findings, []);

  input.metadata.annotations = { 'epp-webhook.io/ext-proc-filter': 'Not A Name' };
  const bad = injectExtensionRef(input, DEFAULT_CONFIG);
  t.same(bad.findings.map((f) => [f.code, f.severity]), [['EPP403', 'deny']]);
  t.equal(bad.object, input);
});

t.test('the injected reference is configurable, and the Istio warning only concerns Istio references', async (t) => {
  const config = parseConfig({ extensionRef: { group: 'gateway.example.io', kind: 'ExtProcPolicy', name: 'epp' } });
  const { object, findings } = injectExtensionRef(manifest('guide-httproute.yaml'), config);
  t.same((object as any).spec.rules[0].filters[1], { type: 'ExtensionRef', extensionRef: { group: 'gateway.example.io', kind: 'ExtProcPolicy', name: 'epp' } });
  t.same(findings, []);
  const silenced = injectExtensionRef(manifest('guide-httproute.yaml'), parseConfig({ severities: { EPP402: 'off' } }));
  t.same(silenced.findings.map((f) => f.severity), ['off']);
});

t.test("a rule with the user's own ExtensionRef of that kind keeps it", async (t) => {
  const input = manifest('guide-httproute.yaml');
  const own = { type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'mine' } };
  input.spec.rules[0].filters = [own];
  const { object, injected } = injectExtensionRef(input, DEFAULT_CONFIG);
  t.same(injected, []);
  t.same((object as any).spec.rules[0].filters, [own]);
});

t.test('a rule already holding 16 filters is denied, clearly', async (t) => {
  const input = manifest('guide-httproute.yaml');
  input.spec.rules[0].filters = Array.from({ length: MAX_RULE_FILTERS }, (_, i) => ({
    type: 'RequestHeaderModifier',
    requestHeaderModifier: { add: [{ name: `x-${i}`, value: 'v' }] },
  }));
  const { findings, injected } = injectExtensionRef(input, DEFAULT_CONFIG);
  t.same(injected, []);
  const full = findings.find((f) => f.code === 'EPP401')!;
  t.equal(full.severity, 'deny');
  t.equal(formatFinding(full).split('. Fix:')[0].slice(0, 72), '[EPP401] rules[0] already holds 16 filters, the most Gateway API allows,', 'the rule named once, as the location');
  t.match(full.fix, 'epp-webhook.io/inject: "false"');
});

t.test('malformed HTTPRoutes are denied with the path', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ spec: [] }, /spec must be an object but is a list/],
    [{ spec: { rules: 'all' } }, /spec\.rules must be a list/],
    [{ spec: { rules: [1] } }, /spec\.rules\[0\] must be an object but is the number 1/],
    [{ spec: { rules: [{ backendRefs: {} }] } }, /spec\.rules\[0\]\.backendRefs must be a list/],
    [{ spec: { rules: [{ backendRefs: [{ kind: 'InferencePool', group: 'inference.networking.k8s.io' }], filters: 'x' }] } }, /filters must be a list/],
  ];
  for (const [object, message] of cases) {
    const { findings } = injectExtensionRef(object, DEFAULT_CONFIG);
    t.equal(findings[0]?.code, 'EPP403', String(message));
    t.match(findings[0].message, message);
  }
  t.same(injectExtensionRef({ metadata: { name: 'r' } }, DEFAULT_CONFIG).findings, [], 'no spec, nothing to do');
});
