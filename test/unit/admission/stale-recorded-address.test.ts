import t from 'tap';
import { mutateObject } from '../../../src/admission/admit-object.ts';
import { admitRequest } from '../../../src/admission/admit-request.ts';
import { parseAdmissionReview } from '../../../src/admission/admission-review.ts';
import { StaticServiceResolver } from '../../../src/cluster/static-resolver.ts';
import type { ServiceRecord } from '../../../src/cluster/service-resolver.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { formatFinding } from '../../../src/findings.ts';
import { admissionReview, EPP_CLUSTER_IP, fixtureResolver, manifest } from '../../helpers/fixtures.ts';

const NS = 'llm-d-inference-scheduler';
const EPP = 'gaie-inference-scheduling-epp';
const ADDRESS = '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address';
const epp = (clusterIP: string, port = 9002): ServiceRecord => ({ namespace: NS, name: EPP, type: 'ClusterIP', clusterIP, ports: [{ name: 'grpc-ext-proc', port, protocol: 'TCP' }] });
const resolverOf = (...records: ServiceRecord[]) => StaticServiceResolver.fromRecords(records);

/** The guide's EnvoyFilter as the webhook stored it: the placeholder substituted, its provenance recorded. */
async function stored(edit: (filter: any) => void = () => {}): Promise<any> {
  const filter = manifest('guide-envoyfilter.yaml');
  edit(filter);
  const outcome = await mutateObject('EnvoyFilter', filter, NS, { config: DEFAULT_CONFIG, resolver: fixtureResolver() });
  t.ok(outcome.patch.length > 0, 'substituted');
  return outcome.object;
}

t.test('EPP116: the live object admitted again after its Service was recreated: the recorded path still holds the old ClusterIP', async (t) => {
  const live = await stored();
  const outcome = await mutateObject('EnvoyFilter', live, NS, { config: DEFAULT_CONFIG, resolver: resolverOf(epp('10.96.7.7')) });
  t.same(outcome.patch, [], 'nothing written: the reconciler is what rewrites');
  t.same(outcome.findings.map((f) => [f.code, f.severity]), [['EPP116', 'warn']]);
  t.equal(
    formatFinding(outcome.findings[0]),
    `[EPP116] metadata.annotations Service ${NS}/${EPP} changed since the webhook wrote its address here (ClusterIP ${EPP_CLUSTER_IP} -> 10.96.7.7): ${ADDRESS} still holds ${EPP_CLUSTER_IP}, where the EPP no longer is. Fix: serve --reconcile (on in deploy/) rewrites the recorded paths within seconds of the change; without it, apply the manifest with its EPP_SERVICE_CLUSTER_IP placeholder again`,
  );
  t.same((await mutateObject('EnvoyFilter', live, NS, { config: DEFAULT_CONFIG, resolver: fixtureResolver() })).findings, [], 'the same Service: nothing stale');
  const relaxed = await mutateObject('EnvoyFilter', live, NS, { config: parseConfig({ severities: { EPP116: 'off' } }), resolver: resolverOf(epp('10.96.7.7')) });
  t.same(relaxed.findings.map((f) => f.severity), ['off']);
});

t.test('EPP116: the Service gone says so; a port written from the Service follows it too', async (t) => {
  const live = await stored();
  const gone = await mutateObject('EnvoyFilter', live, NS, { config: DEFAULT_CONFIG, resolver: resolverOf() });
  t.match(gone.findings.map(formatFinding), [`[EPP116] metadata.annotations Service ${NS}/${EPP} not found: the address the webhook wrote here from it (epp-webhook.io/resolved-service ${NS}/${EPP}) leads to no EPP Service. Fix: recreate Service ${NS}/${EPP} (serve --reconcile then rewrites the address), or apply the manifest with its EPP_SERVICE_CLUSTER_IP placeholder again, naming the EPP Service that replaced it`]);
  const withPort = await stored((filter) => (filter.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 'EPP_SERVICE_PORT'));
  const moved = await mutateObject('EnvoyFilter', withPort, NS, { config: DEFAULT_CONFIG, resolver: resolverOf(epp(EPP_CLUSTER_IP, 9012)) });
  t.match(moved.findings.map((f) => f.message), [/\(port 9002 -> 9012\): .*port_value still holds port 9002/]);
});

t.test('not EPP116: a path edited by hand since, an object never substituted, one still holding the placeholder', async (t) => {
  const live = await stored();
  live.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = '10.96.1.1';
  t.same((await mutateObject('EnvoyFilter', live, NS, { config: DEFAULT_CONFIG, resolver: resolverOf(epp('10.96.7.7')) })).findings, [], 'edited by hand: the operator\'s');
  const byHand = manifest('guide-envoyfilter.yaml');
  byHand.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = '10.96.1.1';
  t.same((await mutateObject('EnvoyFilter', byHand, NS, { config: DEFAULT_CONFIG, resolver: resolverOf(epp('10.96.7.7')) })).findings, [], 'no provenance');
  const fresh = await mutateObject('EnvoyFilter', manifest('guide-envoyfilter.yaml'), NS, { config: DEFAULT_CONFIG, resolver: resolverOf(epp('10.96.7.7')) });
  t.same(fresh.findings, [], 'substituted afresh');
});

t.test('not EPP116: a Service of a namespace the object may not reference, a pool\'s EnvoyFilter, a Service check was not given', async (t) => {
  const live = await stored();
  const elsewhere = structuredClone(live);
  elsewhere.metadata.namespace = 'attacker';
  // Hand-written provenance naming another namespace's Service: neither its ClusterIP nor its existence is told.
  for (const resolver of [resolverOf(epp('10.96.7.7')), resolverOf()]) {
    t.same((await mutateObject('EnvoyFilter', elsewhere, 'attacker', { config: DEFAULT_CONFIG, resolver })).findings, []);
  }
  const allowed = await mutateObject('EnvoyFilter', elsewhere, 'attacker', { config: parseConfig({ allowedServiceNamespaces: [NS] }), resolver: resolverOf(epp('10.96.7.7')) });
  t.same(allowed.findings.map((f) => f.code), ['EPP116'], 'where the config allows that namespace, it is said');
  const ofPool = structuredClone(live);
  ofPool.metadata.annotations['epp-webhook.io/inference-pool'] = 'pool';
  t.notOk((await mutateObject('EnvoyFilter', ofPool, NS, { config: DEFAULT_CONFIG, resolver: resolverOf(epp('10.96.7.7')) })).findings.some((f) => f.code === 'EPP116'), "a pool's: the pool decides");
  const notGiven = Object.assign(resolverOf(), { fixes: { noServiceSource: true } });
  t.same((await mutateObject('EnvoyFilter', live, NS, { config: DEFAULT_CONFIG, resolver: notGiven })).findings, [], 'check with no Service source: not "gone"');
  const listed = Object.assign(resolverOf(), { fixes: { noServiceSource: false, notFound: () => 'it is among the manifests: apply it first' } });
  t.match((await mutateObject('EnvoyFilter', live, NS, { config: DEFAULT_CONFIG, resolver: listed })).findings.map((f) => f.message), [/not found: the address the webhook wrote here/], 'a cluster listed without it: gone, whatever the manifests hold');
});

t.test("not EPP116 on the UPDATE that rewrote the record itself (the reconciler's patch, read live, ahead of this cache)", async (t) => {
  const live = await stored();
  const rewritten = structuredClone(live);
  rewritten.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = '10.96.7.7';
  rewritten.metadata.annotations['epp-webhook.io/resolved-cluster-ip'] = '10.96.7.7';
  // As kube-apiserver sends the reconciler's JSON patch: PatchOptions with its field manager, parsed from the body.
  const review = (object: any, oldObject: any, fieldManager: string) => {
    const body = admissionReview(object, 'UPDATE') as any;
    body.request.oldObject = oldObject;
    body.request.options = { apiVersion: 'meta.k8s.io/v1', kind: 'PatchOptions', fieldManager };
    const parsed = parseAdmissionReview(body);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.request;
  };
  const lagging = { config: DEFAULT_CONFIG, resolver: fixtureResolver() };
  t.same((await admitRequest('mutate', review(rewritten, live, 'epp-webhook'), lagging)).verdict.warnings, [], "the reconciler's rewrite itself");
  t.match((await admitRequest('mutate', review(rewritten, rewritten, 'epp-webhook'), lagging)).verdict.warnings, [/^\[EPP116\]/], 'a later UPDATE, the cache still behind: said');
  const current = { config: DEFAULT_CONFIG, resolver: resolverOf(epp('10.96.7.7')) };
  t.match((await admitRequest('mutate', review(live, rewritten, 'kubectl-client-side-apply'), current)).verdict.warnings, [/^\[EPP116\] .*10\.96\.183\.7 -> 10\.96\.7\.7/], 'an old dump applied over the rewritten object: stale, and said');
});
