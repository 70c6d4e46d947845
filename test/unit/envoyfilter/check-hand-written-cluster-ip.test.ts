import t from 'tap';
import { mutateObject } from '../../../src/admission/admit-object.ts';
import { admitRequest } from '../../../src/admission/admit-request.ts';
import { parseAdmissionReview } from '../../../src/admission/admission-review.ts';
import type { ServiceRecord } from '../../../src/cluster/service-resolver.ts';
import { StaticServiceResolver } from '../../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG, parseConfig, type WebhookConfig } from '../../../src/config.ts';
import { admissionReview, EPP_CLUSTER_IP, fixtureResolver, manifest } from '../../helpers/fixtures.ts';

const NS = 'llm-d-inference-scheduler';
const EPP = 'gaie-inference-scheduling-epp';
const CLUSTER: string = (manifest('guide-envoyfilter.yaml') as any).spec.configPatches[1].patch.value.name;
const SOCKET = 'spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address';

/** The guide's EnvoyFilter as the manual procedure leaves it: the EPP Service's ClusterIP copied in by hand. */
function byHand(address = EPP_CLUSTER_IP): any {
  const filter = manifest('guide-envoyfilter.yaml');
  filter.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = address;
  return filter;
}

/** What the validating webhook answers for the object, as kube-apiserver asks it. */
async function validated(object: any, config: WebhookConfig = DEFAULT_CONFIG, resolver = fixtureResolver(), namespace = NS): Promise<string[]> {
  const { verdict } = await admitRequest('validate', parseOk(admissionReview({ ...object, metadata: { ...object.metadata, namespace } })), { config, resolver });
  t.ok(verdict.allowed, 'admitted');
  return verdict.warnings.filter((w) => w.startsWith('[EPP117]'));
}

t.test('EPP117: the EPP Service ClusterIP written by hand is named, with the placeholder to write instead', async (t) => {
  t.same(await validated(byHand()), [
    `[EPP117] configPatches[1] cluster ${CLUSTER} reaches the EPP at ${EPP_CLUSTER_IP}, Service ${NS}/${EPP}'s ClusterIP written by hand: a recreated Service gets a new ClusterIP, and this address then leads to no EPP until someone edits it again`,
    `[EPP117] Fix: write EPP_SERVICE_CLUSTER_IP there with annotation epp-webhook.io/epp-service: ${NS}/${EPP} (or epp-webhook.io/inference-pool naming the InferencePool whose EPP it is): the webhook writes the ClusterIP at every apply, and serve --reconcile rewrites it when the Service changes`,
  ]);
  const relaxed = await validated(byHand(), parseConfig({ severities: { EPP117: 'off' } }));
  t.same(relaxed, [], 'an operator may turn it off');
});

t.test('EPP117 reads the address as istiod does, and names the path', async (t) => {
  const camel = byHand();
  const endpoint = camel.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint;
  endpoint.address = { socketAddress: { address: EPP_CLUSTER_IP, portValue: 9002 } };
  const outcome = await admitRequest('validate', parseOk(admissionReview({ ...camel, metadata: { ...camel.metadata, namespace: NS } })), { config: DEFAULT_CONFIG, resolver: fixtureResolver() });
  const found = outcome.verdict.findings.filter((f) => f.code === 'EPP117');
  t.same(found.map((f) => f.path), [SOCKET.replace('socket_address', 'socketAddress') + '.address']);
});

t.test('not EPP117: the address the webhook wrote, another address, another namespace, an object that says it is no EPP', async (t) => {
  const substituted = await mutateObject('EnvoyFilter', manifest('guide-envoyfilter.yaml'), NS, { config: DEFAULT_CONFIG, resolver: fixtureResolver() });
  t.ok(substituted.patch.length > 0, 'the placeholder was substituted');
  t.same(await validated(substituted.object), [], 'recorded in placeholder-paths: the webhook keeps it true');
  t.same(await validated(byHand('10.96.1.1')), [], 'no known EPP Service has that address');

  // The EPP Service of another namespace: its address is not told where the object may not reference it.
  const elsewhere = { ...DEFAULT_CONFIG, eppService: { name: EPP, namespace: NS } };
  t.same(await validated(byHand(), elsewhere, fixtureResolver(), 'team-b'), [], 'a namespace the config does not allow');
  t.equal((await validated(byHand(), { ...elsewhere, allowedServiceNamespaces: [NS] }, fixtureResolver(), 'team-b')).length, 2, 'allowed: said');

  const notEpp = byHand();
  notEpp.metadata.annotations = { ...notEpp.metadata.annotations, 'epp-webhook.io/epp': 'false' };
  t.same(await validated(notEpp), [], 'epp-webhook.io/epp: "false"');
});

t.test("EPP117 for an InferencePool's EPP Service, known through the pool", async (t) => {
  const service: ServiceRecord = { namespace: NS, name: 'pool-epp', type: 'ClusterIP', clusterIP: '10.96.50.5', ports: [{ name: 'grpc-ext-proc', port: 9002, protocol: 'TCP' }] };
  const resolver = StaticServiceResolver.fromRecords([service]);
  t.same(await validated(byHand('10.96.50.5'), DEFAULT_CONFIG, resolver), [], 'no pool names it: not known as an EPP');
  const body = admissionReview({ ...byHand('10.96.50.5'), metadata: { ...byHand().metadata, namespace: NS } });
  const pools = { endpointPickerServices: () => [`${NS}/pool-epp`] } as any;
  const { verdict } = await admitRequest('validate', parseOk(body), { config: DEFAULT_CONFIG, resolver, pools });
  t.match(verdict.warnings.filter((w) => w.startsWith('[EPP117]')), [/^\[EPP117\] .* at 10\.96\.50\.5, Service llm-d-inference-scheduler\/pool-epp's ClusterIP written by hand/, /^\[EPP117\] Fix:/]);
});

t.test('EPP117 knows an IPv6 ClusterIP however it is written', async (t) => {
  const service: ServiceRecord = { namespace: NS, name: EPP, type: 'ClusterIP', clusterIP: 'fd00:10:96::a', ports: [{ name: 'grpc-ext-proc', port: 9002, protocol: 'TCP' }] };
  const resolver = StaticServiceResolver.fromRecords([service]);
  for (const written of ['fd00:10:96::a', 'FD00:10:96:0:0:0:0:A']) {
    t.match(await validated(byHand(written), DEFAULT_CONFIG, resolver), [new RegExp(`^\\[EPP117\\] .* at ${written}, Service ${NS}/${EPP}'s ClusterIP written by hand`), /^\[EPP117\] Fix:/], written);
  }
});

function parseOk(body: unknown) {
  const parsed = parseAdmissionReview(body);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request;
}
