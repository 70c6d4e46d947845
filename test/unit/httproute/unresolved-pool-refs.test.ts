import t from 'tap';
import { admitRequest } from '../../../src/admission/admit-request.ts';
import type { AdmissionRequest } from '../../../src/admission/admission-review.ts';
import { EnvoyFilterIndexTable } from '../../../src/cluster/envoyfilter-index.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { formatFinding } from '../../../src/findings.ts';
import { unresolvedPoolRefs } from '../../../src/httproute/unresolved-pool-refs.ts';
import { admissionReview, fixtureResolver, manifest } from '../../helpers/fixtures.ts';

/** The guide's HTTPRoute with its pool backendRef's group set to `group` (removed where undefined). */
function routeWithGroup(group: string | undefined, edit: (ref: any, route: any) => void = () => {}): any {
  const route = manifest('guide-httproute.yaml');
  const ref = route.spec.rules[0].backendRefs[0];
  if (group === undefined) delete ref.group;
  else ref.group = group;
  edit(ref, route);
  return route;
}

t.test('EPP410: an InferencePool backendRef with no group, or an empty one, is denied at its path, saying what Istio did', async (t) => {
  for (const group of [undefined, '']) {
    const findings = unresolvedPoolRefs(routeWithGroup(group), DEFAULT_CONFIG);
    t.same(findings.map((f) => [f.code, f.severity, f.path]), [['EPP410', 'deny', 'spec.rules[0].backendRefs[0]']]);
    t.equal(
      formatFinding(findings[0]),
      `[EPP410] rules[0] sends traffic to InferencePool ${manifest('guide-httproute.yaml').spec.rules[0].backendRefs[0].name} with no group: Gateway API reads an empty group as the core API group, which has no InferencePool, so a gateway that follows it cannot resolve this backend, and the webhook does not take it for a pool. Under Istio, istiod reports ResolvedRefs=False (InvalidKind, referencing unsupported backendRef: group "" kind "InferencePool") and every request the rule sends there gets 500 in a few ms, the EPP never asked (measured). Fix: add group: inference.networking.k8s.io to the backendRef`,
    );
  }
});

t.test('EPP411: the v1alpha2 group is warned about where the configured extensionRef is Istio\'s, and only there', async (t) => {
  const route = routeWithGroup('inference.networking.x-k8s.io');
  const findings = unresolvedPoolRefs(route, DEFAULT_CONFIG);
  t.same(findings.map((f) => [f.code, f.severity]), [['EPP411', 'warn']]);
  t.match(findings[0].message, 'of group inference.networking.x-k8s.io (v1alpha2), and istiod\'s Gateway API translation resolves only inference.networking.k8s.io (v1) InferencePools: istiod reports ResolvedRefs=False (InvalidKind, referencing unsupported backendRef: group "inference.networking.x-k8s.io" kind "InferencePool")');
  const elsewhere = parseConfig({ extensionRef: { group: 'gateway.example.io', kind: 'ExtProcPolicy', name: 'epp' } });
  t.same(unresolvedPoolRefs(route, elsewhere), [], 'another gateway may resolve that group');
  const groupless = unresolvedPoolRefs(routeWithGroup(undefined), elsewhere);
  t.same(groupless.map((f) => [f.code, f.severity]), [['EPP410', 'warn']], 'no group on another gateway: a warning, as some read the group themselves');
  t.notMatch(groupless[0].message, 'Istio', 'and nothing said of Istio');
  t.same(unresolvedPoolRefs(routeWithGroup(undefined), parseConfig({ extensionRef: { group: 'gateway.example.io', kind: 'ExtProcPolicy', name: 'epp' }, severities: { EPP410: 'off' } }))[0].severity, 'off', 'relaxed further: off');
  t.same(unresolvedPoolRefs(routeWithGroup(undefined), parseConfig({ extensionRef: { group: 'gateway.example.io', kind: 'ExtProcPolicy', name: 'epp' }, severities: { EPP410: 'deny' } }))[0].severity, 'deny', "an operator's own deny is honoured");
  t.same(unresolvedPoolRefs(routeWithGroup('inference.networking.k8s.io'), DEFAULT_CONFIG), [], 'the v1 group is what Istio resolves');
});

t.test("a rule that also holds the configured ExtensionRef: under Istio the symptom is EPP402's, the rule dropped", async (t) => {
  const withFilter = (group: string | undefined) =>
    routeWithGroup(group, (_ref, route) => (route.spec.rules[0].filters = [{ type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'epp-ext-proc' } }]));
  for (const [group, code] of [[undefined, 'EPP410'], ['inference.networking.x-k8s.io', 'EPP411']] as const) {
    const [found] = unresolvedPoolRefs(withFilter(group), DEFAULT_CONFIG);
    t.equal(found.code, code);
    t.match(found.message, 'this rule also holds the ExtensionRef to EnvoyFilter epp-ext-proc, for which istiod drops the whole rule first (EPP402): 404 in a few ms, the EPP never asked (measured)');
    t.notMatch(found.message, 'gets 500');
  }
});

t.test('not judged: weight 0 (it sends nothing), other kinds, malformed shapes', async (t) => {
  t.same(unresolvedPoolRefs(routeWithGroup(undefined, (ref) => (ref.weight = 0)), DEFAULT_CONFIG), []);
  t.same(unresolvedPoolRefs(routeWithGroup(undefined, (ref) => (ref.kind = 'Service')), DEFAULT_CONFIG), [], 'a core Service');
  for (const spec of [undefined, { rules: 'x' }, { rules: [1, { backendRefs: 'x' }, { backendRefs: [null, 'x'] }] }]) {
    t.same(unresolvedPoolRefs({ spec }, DEFAULT_CONFIG), [], JSON.stringify(spec));
  }
  const twoRefs = routeWithGroup(undefined, (ref, route) => route.spec.rules[0].backendRefs.push({ ...ref, name: 'second', weight: 10 }));
  t.same(unresolvedPoolRefs(twoRefs, DEFAULT_CONFIG).map((f) => f.path), ['spec.rules[0].backendRefs[0]', 'spec.rules[0].backendRefs[1]'], 'each backendRef');
});

t.test('through admission: /mutate denies the route (the relaxed code warns); an opted-out route gets it from /validate, once', async (t) => {
  const deps = { config: DEFAULT_CONFIG, resolver: fixtureResolver(), envoyFilters: new EnvoyFilterIndexTable('none'), envoyFiltersComplete: true };
  const request = (object: any) => admissionReview(object).request as AdmissionRequest;
  const denied = await admitRequest('mutate', request(routeWithGroup(undefined)), deps);
  t.equal(denied.verdict.allowed, false);
  t.match(denied.verdict.message, '[EPP410] rules[0] sends traffic to InferencePool');
  const relaxed = await admitRequest('mutate', request(routeWithGroup(undefined)), { ...deps, config: parseConfig({ severities: { EPP410: 'warn' } }) });
  t.equal(relaxed.verdict.allowed, true);
  t.match(relaxed.verdict.warnings, [/^\[EPP410\]/]);
  const optedOut = routeWithGroup('inference.networking.x-k8s.io', (_ref, route) => (route.metadata.annotations = { 'epp-webhook.io/inject': 'false' }));
  const validated = await admitRequest('validate', request(optedOut), deps);
  t.equal(validated.verdict.warnings.filter((w: string) => w.startsWith('[EPP411]') && !w.startsWith('[EPP411] Fix')).length, 1);
  const mutated = await admitRequest('mutate', request(optedOut), deps);
  t.same(mutated.verdict.warnings, [], '/mutate leaves the opted-out route to /validate');
});
