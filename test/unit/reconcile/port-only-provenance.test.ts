/**
 * An EnvoyFilter whose only placeholder is EPP_SERVICE_PORT (its cluster reaches the EPP by DNS name): the webhook
 * records which Service and port it resolved, and the reconciler follows that port like an address, from the
 * Service (no pool) or from the pool's endpointPickerRef.
 */
import t from 'tap';
import jsonpatch from 'fast-json-patch';
import type { ServiceLookup, ServiceRecord } from '../../../src/cluster/service-resolver.ts';
import { StaticInferencePools } from '../../../src/cluster/static-inference-pools.ts';
import { StaticServiceResolver } from '../../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import { substituteClusterIP } from '../../../src/envoyfilter/substitute-cluster-ip.ts';
import { decidePlaceholderResolution } from '../../../src/reconcile/decide-placeholder-resolution.ts';
import { decideReconcile } from '../../../src/reconcile/decide-reconcile.ts';
import { decideRepoint } from '../../../src/reconcile/decide-repoint.ts';
import { provenanceOf, toEnvoyFilterRecord } from '../../../src/reconcile/envoyfilter-record.ts';
import { manifest } from '../../helpers/fixtures.ts';

const NS = 'llm-d-inference-scheduler';
const EPP = 'gaie-inference-scheduling-epp';
const PORT = '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/port_value';
const HOST = `${EPP}.${NS}.svc.cluster.local`;

const service = (ports: ServiceRecord['ports'], clusterIP = '10.0.0.5'): ServiceRecord => ({ namespace: NS, name: EPP, type: 'ClusterIP', clusterIP, ports });
const found = (record: ServiceRecord): ServiceLookup => ({ kind: 'found', service: record });

/** The guide's EnvoyFilter reaching the EPP by DNS name, with EPP_SERVICE_PORT for its port. */
function portOnly(annotations: Record<string, string> = {}): any {
  const object = manifest('guide-envoyfilter.yaml');
  const cluster = object.spec.configPatches[1].patch.value;
  cluster.type = 'STRICT_DNS';
  cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address = { address: HOST, port_value: 'EPP_SERVICE_PORT' };
  object.metadata.annotations = { ...object.metadata.annotations, ...annotations };
  return object;
}

async function stored(object: any, resolver: StaticServiceResolver, pools?: StaticInferencePools): Promise<any> {
  const result = await substituteClusterIP(object, NS, resolver, DEFAULT_CONFIG, pools);
  const copy = structuredClone(result.object) as any;
  copy.metadata.resourceVersion = '100';
  copy.metadata.uid = 'uid-1';
  return copy;
}

function applyPatch(object: any, patch: jsonpatch.Operation[]): any {
  const result = jsonpatch.applyPatch(structuredClone(object), patch, true, false).newDocument as any;
  result.metadata.resourceVersion = String(Number(result.metadata.resourceVersion) + 1);
  return result;
}

t.test('admission records the Service and the port, and no ClusterIP it did not write', async (t) => {
  const object = await stored(portOnly(), StaticServiceResolver.fromRecords([service([{ name: 'grpc-ext-proc', port: 9002 }, { name: 'metrics', port: 9090 }])]));
  t.equal(jsonpatch.getValueByPointer(object, PORT), 9002);
  const annotations = object.metadata.annotations;
  t.equal(annotations['epp-webhook.io/resolved-service'], `${NS}/${EPP}`);
  t.equal(annotations['epp-webhook.io/resolved-port'], '9002');
  t.same(JSON.parse(annotations['epp-webhook.io/port-placeholder-paths']), [PORT]);
  t.equal(annotations['epp-webhook.io/resolved-cluster-ip'], undefined);
  t.equal(annotations['epp-webhook.io/placeholder-paths'], undefined);
  t.same(provenanceOf(object), { service: `${NS}/${EPP}`, clusterIP: undefined, paths: [], port: { port: 9002, paths: [PORT] } });
});

t.test('no pool: the Service\'s ext_proc port changes, the port path and resolved-port follow; a new ClusterIP changes nothing', async (t) => {
  const before = service([{ name: 'grpc-ext-proc', port: 9002 }, { name: 'metrics', port: 9090 }]);
  const object = await stored(portOnly(), StaticServiceResolver.fromRecords([before]));
  const record = () => toEnvoyFilterRecord(object, DEFAULT_CONFIG.placeholder)!;
  t.match(decideReconcile(record(), found(before)), { kind: 'unchanged', why: 'port 9002 unchanged' });
  t.match(decideReconcile(record(), found({ ...before, clusterIP: '10.0.0.9' })), { kind: 'unchanged' }, 'the address is a DNS name: a new ClusterIP is not its business');

  const after = service([{ name: 'grpc-ext-proc', port: 9012 }, { name: 'metrics', port: 9090 }]);
  const decision = decideReconcile(record(), found(after));
  if (decision.kind !== 'rewrite') return t.fail(decision.kind);
  t.equal(decision.change, 'port 9002 -> 9012');
  t.same(decision.rewrittenPaths, [PORT]);
  t.same(decision.patch, [
    { op: 'test', path: '/metadata/resourceVersion', value: '100' },
    { op: 'test', path: PORT, value: 9002 },
    { op: 'replace', path: PORT, value: 9012 },
    { op: 'test', path: '/metadata/annotations/epp-webhook.io~1resolved-port', value: '9002' },
    { op: 'replace', path: '/metadata/annotations/epp-webhook.io~1resolved-port', value: '9012' },
  ]);
  const rewritten = applyPatch(object, decision.patch);
  t.equal(jsonpatch.getValueByPointer(rewritten, PORT), 9012);
  t.match(decideReconcile(toEnvoyFilterRecord(rewritten, DEFAULT_CONFIG.placeholder)!, found(after)), { kind: 'unchanged' }, 'idempotent');

  const edited = structuredClone(object);
  jsonpatch.applyOperation(edited, { op: 'replace', path: PORT, value: 7000 });
  t.match(decideReconcile(toEnvoyFilterRecord(edited, DEFAULT_CONFIG.placeholder)!, found(after)), { kind: 'edited-by-hand', change: 'port 9002 -> 9012', held: 'port 9002', editedPaths: [PORT] }, 'a port set by hand is left alone');
  const ambiguous = service([{ port: 9012 }, { port: 9090 }]);
  t.match(decideReconcile(record(), found(ambiguous)), { kind: 'unchanged' }, 'a Service that no longer says which port is the EPP\'s: left as it is');
});

t.test('with a pool: its endpointPickerRef port is followed, not the Service\'s port list', async (t) => {
  const pool = (port: number) =>
    StaticInferencePools.fromObjects([{ apiVersion: 'inference.networking.k8s.io/v1', kind: 'InferencePool', metadata: { name: 'pool', namespace: NS }, spec: { endpointPickerRef: { name: EPP, port: { number: port } } } }], 'pools');
  const live = service([{ port: 9002 }, { port: 9012 }]);
  const object = await stored(portOnly({ 'epp-webhook.io/inference-pool': 'pool' }), StaticServiceResolver.fromRecords([live]), pool(9002));
  const record = toEnvoyFilterRecord(object, DEFAULT_CONFIG.placeholder)!;
  t.equal(record.provenance?.port?.port, 9002);
  t.match(decideReconcile(record, found(live)), { kind: 'unchanged' }, 'the Service alone does not move a pool\'s port');
  const decision = decideRepoint(record, { pool: `${NS}/pool`, service: `${NS}/${EPP}`, port: 9012 }, found(live));
  if (decision.kind !== 'repoint') return t.fail(decision.kind);
  t.same(decision.from, { clusterIP: undefined, port: 9002 });
  t.same(decision.to, { clusterIP: undefined, port: 9012 });
  t.notOk(decision.patch.some((op) => op.path.includes('resolved-cluster-ip')), 'no ClusterIP annotation is written where none was');
  const rewritten = applyPatch(object, decision.patch);
  t.equal(jsonpatch.getValueByPointer(rewritten, PORT), 9012);
  t.same(decideRepoint(toEnvoyFilterRecord(rewritten, DEFAULT_CONFIG.placeholder)!, { pool: `${NS}/pool`, service: `${NS}/${EPP}`, port: 9012 }, found(live)), { kind: 'not-repointed' });
  t.same(decideRepoint(record, { pool: `${NS}/pool`, service: `${NS}/other-epp`, port: 9002 }, found({ ...live, name: 'other-epp' })), { kind: 'not-repointed' }, 'another Service on the same port: the address is the user\'s name, nothing of ours to rewrite');
});

t.test('the port inside a string (host:EPP_SERVICE_PORT, a whole string field) is followed too, written once with the address where a string holds both', async (t) => {
  const META = '/spec/configPatches/1/patch/value/metadata/filter_metadata/epp';
  const withStrings = (annotations: Record<string, string> = {}) => {
    const object = manifest('guide-envoyfilter.yaml');
    const cluster = object.spec.configPatches[1].patch.value;
    cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 'EPP_SERVICE_PORT';
    cluster.metadata = { filter_metadata: { epp: { target: 'EPP_SERVICE_CLUSTER_IP:EPP_SERVICE_PORT', port: 'EPP_SERVICE_PORT', near: 'EPP_SERVICE_CLUSTER_IP:19002' } } };
    object.metadata.annotations = { ...object.metadata.annotations, ...annotations };
    return object;
  };
  const before = service([{ name: 'grpc-ext-proc', port: 9002 }]);
  const object = await stored(withStrings(), StaticServiceResolver.fromRecords([before]));
  t.strictSame(jsonpatch.getValueByPointer(object, META), { target: '10.0.0.5:9002', port: '9002', near: '10.0.0.5:19002' }, 'admission: the digits, as strings');
  t.same(JSON.parse(object.metadata.annotations['epp-webhook.io/port-placeholder-paths']), [PORT, `${META}/port`, `${META}/target`]);

  const after = service([{ name: 'grpc-ext-proc', port: 9012 }]);
  const decision = decideReconcile(toEnvoyFilterRecord(object, DEFAULT_CONFIG.placeholder)!, found(after));
  if (decision.kind !== 'rewrite') return t.fail(decision.kind);
  t.same(decision.editedPaths, [], 'nothing reported as edited by hand');
  const rewritten = applyPatch(object, decision.patch);
  t.strictSame(jsonpatch.getValueByPointer(rewritten, META), { target: '10.0.0.5:9012', port: '9012', near: '10.0.0.5:19002' }, 'the port followed in each string; 19002 is another number');
  t.equal(jsonpatch.getValueByPointer(rewritten, PORT), 9012);
  t.match(decideReconcile(toEnvoyFilterRecord(rewritten, DEFAULT_CONFIG.placeholder)!, found(after)), { kind: 'unchanged' }, 'idempotent');

  // A pool moved to another Service: its ClusterIP and its port change at once, in the one string that holds both.
  const pool = (name: string, port: number) =>
    StaticInferencePools.fromObjects([{ apiVersion: 'inference.networking.k8s.io/v1', kind: 'InferencePool', metadata: { name: 'pool', namespace: NS }, spec: { endpointPickerRef: { name, port: { number: port } } } }], 'pools');
  const pooled = await stored(withStrings({ 'epp-webhook.io/inference-pool': 'pool' }), StaticServiceResolver.fromRecords([service([{ port: 9002 }])]), pool(EPP, 9002));
  const other: ServiceRecord = { namespace: NS, name: 'other-epp', type: 'ClusterIP', clusterIP: '10.0.0.9', ports: [{ port: 9012 }] };
  const repoint = decideRepoint(toEnvoyFilterRecord(pooled, DEFAULT_CONFIG.placeholder)!, { pool: `${NS}/pool`, service: `${NS}/other-epp`, port: 9012 }, found(other));
  if (repoint.kind !== 'repoint') return t.fail(repoint.kind);
  t.equal(repoint.patch.filter((op) => op.path === `${META}/target`).length, 2, 'one test and one replace for the string that holds both');
  const moved = applyPatch(pooled, repoint.patch);
  t.strictSame(jsonpatch.getValueByPointer(moved, META), { target: '10.0.0.9:9012', port: '9012', near: '10.0.0.9:19002' });
  t.same(decideRepoint(toEnvoyFilterRecord(moved, DEFAULT_CONFIG.placeholder)!, { pool: `${NS}/pool`, service: `${NS}/other-epp`, port: 9012 }, found(other)), { kind: 'not-repointed' }, 'idempotent');

  // The new address holds the old port's digits (10.0.0.53, port 53 -> 54): the port is found beside the old address first.
  const octet = await stored(withStrings({ 'epp-webhook.io/inference-pool': 'pool' }), StaticServiceResolver.fromRecords([service([{ port: 53 }])]), pool(EPP, 53));
  const dns: ServiceRecord = { namespace: NS, name: 'dns-like', type: 'ClusterIP', clusterIP: '10.0.0.53', ports: [{ port: 54 }] };
  const toOctet = decideRepoint(toEnvoyFilterRecord(octet, DEFAULT_CONFIG.placeholder)!, { pool: `${NS}/pool`, service: `${NS}/dns-like`, port: 54 }, found(dns));
  if (toOctet.kind !== 'repoint') return t.fail(toOctet.kind);
  t.strictSame(jsonpatch.getValueByPointer(applyPatch(octet, toOctet.patch), META), { target: '10.0.0.53:54', port: '54', near: '10.0.0.53:19002' }, 'the port and the address both followed');

  const twice = structuredClone(object);
  jsonpatch.applyOperation(twice, { op: 'replace', path: `${META}/target`, value: 'a.example:9002,b.example:9002' });
  const unsure = decideReconcile(toEnvoyFilterRecord(twice, DEFAULT_CONFIG.placeholder)!, found(after));
  if (unsure.kind !== 'rewrite') return t.fail(unsure.kind);
  t.same(unsure.editedPaths, [`${META}/target`], 'the same digits twice: which is the port cannot be told, so it is left alone and reported');
});

t.test('stored with the raw port token while the webhook was down: the reconciler resolves it', async (t) => {
  const raw = portOnly();
  raw.metadata.resourceVersion = '5';
  const substitution = await substituteClusterIP(raw, NS, StaticServiceResolver.fromRecords([service([{ name: 'grpc-ext-proc', port: 9002 }])]), DEFAULT_CONFIG);
  const resolution = decidePlaceholderResolution(raw, substitution);
  t.match(resolution, { kind: 'resolve', service: `${NS}/${EPP}`, clusterIP: undefined, port: 9002, paths: [PORT] });
});
