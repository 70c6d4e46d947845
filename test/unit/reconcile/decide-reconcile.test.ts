import t from 'tap';
import jsonpatch from 'fast-json-patch';
import type { ServiceLookup } from '../../../src/cluster/service-resolver.ts';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import { substituteClusterIP } from '../../../src/envoyfilter/substitute-cluster-ip.ts';
import { StaticServiceResolver } from '../../../src/cluster/static-resolver.ts';
import { decideReconcile, recordedService, type ReconcileDecision } from '../../../src/reconcile/decide-reconcile.ts';
import { toEnvoyFilterRecord } from '../../../src/reconcile/envoyfilter-record.ts';
import { manifest } from '../../helpers/fixtures.ts';

const NS = 'llm-d-inference-scheduler';
const SERVICE = `${NS}/gaie-inference-scheduling-epp`;
const ADDRESS = '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address';
const OLD_IP = '10.0.0.5';
const NEW_IP = '10.0.0.9';
const PLACEHOLDER = DEFAULT_CONFIG.placeholder;

const found = (clusterIP: string, type = 'ClusterIP'): ServiceLookup => ({
  kind: 'found',
  service: { namespace: NS, name: 'gaie-inference-scheduling-epp', type, clusterIP, ports: [{ port: 9002 }] },
});

/** The guide's EnvoyFilter as the webhook stored it with `clusterIP`, plus a second, embedded address. */
async function stored(clusterIP = OLD_IP): Promise<any> {
  const object = manifest('guide-envoyfilter.yaml');
  object.spec.configPatches[1].patch.value.metadata = { filter_metadata: { epp: { target: `${PLACEHOLDER}:9002`, other: '10.0.0.50:9002' } } };
  const resolver = StaticServiceResolver.fromRecords([{ namespace: NS, name: 'gaie-inference-scheduling-epp', type: 'ClusterIP', clusterIP, ports: [{ port: 9002 }] }]);
  const { object: result } = await substituteClusterIP(object, NS, resolver, DEFAULT_CONFIG);
  const copy = structuredClone(result) as any;
  copy.metadata.resourceVersion = '100';
  copy.metadata.uid = 'uid-1';
  return copy;
}
const TARGET = '/spec/configPatches/1/patch/value/metadata/filter_metadata/epp/target';

function decide(object: unknown, lookup: ServiceLookup | undefined): ReconcileDecision {
  return decideReconcile(toEnvoyFilterRecord(object, PLACEHOLDER)!, lookup);
}

/** What the API server does with the patch: apply it (validating test ops) and bump the resourceVersion. */
function applyAsServer(object: any, decision: ReconcileDecision): any {
  if (decision.kind !== 'rewrite' && decision.kind !== 'edited-by-hand') throw new Error(`expected a write, got ${decision.kind}`);
  const result = jsonpatch.applyPatch(structuredClone(object), decision.patch, true, false).newDocument as any;
  result.metadata.resourceVersion = String(Number(result.metadata.resourceVersion) + 1);
  return result;
}

t.test('the recorded Service is what gets looked up', async (t) => {
  t.same(recordedService(toEnvoyFilterRecord(await stored(), PLACEHOLDER)!), { namespace: NS, name: 'gaie-inference-scheduling-epp' });
  t.equal(recordedService(toEnvoyFilterRecord(manifest('guide-envoyfilter.yaml'), PLACEHOLDER)!), undefined);
});

t.test('an EnvoyFilter the webhook never substituted is not ours: unchanged', async (t) => {
  const object = manifest('guide-envoyfilter.yaml');
  object.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = '10.1.2.3';
  t.match(decide(object, undefined), { kind: 'unchanged' });
});

t.test('the raw token stored (webhook down or not yet installed): resolve it', async (t) => {
  t.same(decide(manifest('guide-envoyfilter.yaml'), undefined), { kind: 'resolve-placeholder' });
  const withToken = await stored();
  withToken.spec.configPatches[0].patch.value.typed_config.grpc_service.envoy_grpc.cluster_name = `${PLACEHOLDER}`;
  t.same(decide(withToken, found(OLD_IP)), { kind: 'resolve-placeholder' }, 'also when provenance is there and the IP is current');
});

t.test('ClusterIP unchanged: unchanged, whatever was edited by hand', async (t) => {
  const object = await stored();
  t.match(decide(object, found(OLD_IP)), { kind: 'unchanged', why: `ClusterIP ${OLD_IP} unchanged` });
  object.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = '192.168.1.1';
  t.match(decide(object, found(OLD_IP)), { kind: 'unchanged' });
});

t.test('the Service cache not ready: wait, decide nothing', async (t) => {
  t.match(decide(await stored(), { kind: 'unavailable', reason: 'not synced' }), { kind: 'wait', why: 'not synced' });
  t.match(decide(await stored(), undefined), { kind: 'wait' });
});

t.test('the Service gone, headless or ExternalName: service-missing, no patch', async (t) => {
  t.same(decide(await stored(), { kind: 'not-found' }), { kind: 'service-missing', service: SERVICE, why: `Service ${SERVICE} not found` });
  t.match(decide(await stored(), found('None')), { kind: 'service-missing', why: /has no ClusterIP now/ });
  t.match(decide(await stored(), found('', 'ExternalName')), { kind: 'service-missing', why: /type ExternalName/ });
});

t.test('ClusterIP changed: exactly the recorded paths and the annotation are rewritten, guarded by test ops', async (t) => {
  const object = await stored();
  const decision = decide(object, found(NEW_IP));
  if (decision.kind !== 'rewrite') return t.fail(decision.kind);
  t.equal(decision.change, `ClusterIP ${OLD_IP} -> ${NEW_IP}`);
  t.same(decision.to, { clusterIP: NEW_IP, port: undefined });
  t.same(decision.rewrittenPaths, [TARGET, ADDRESS].sort());
  t.same(decision.editedPaths, []);
  t.same(decision.patch[0], { op: 'test', path: '/metadata/resourceVersion', value: '100' }, 'resourceVersion precondition first');
  t.same(
    decision.patch.filter((op) => op.op !== 'test').map((op) => op.path),
    [...[TARGET, ADDRESS].sort(), '/metadata/annotations/epp-webhook.io~1resolved-cluster-ip'],
    'no other path is written (placeholder-paths stays as it is)',
  );
  for (const op of decision.patch.filter((o) => o.op === 'replace')) {
    const index = decision.patch.indexOf(op);
    t.same(decision.patch[index - 1], { op: 'test', path: op.path, value: jsonpatch.getValueByPointer(object, op.path) }, `${op.path} is tested before it is replaced`);
  }

  const after = applyAsServer(object, decision);
  t.equal(jsonpatch.getValueByPointer(after, ADDRESS), NEW_IP);
  t.equal(jsonpatch.getValueByPointer(after, TARGET), `${NEW_IP}:9002`, 'an embedded address keeps its port');
  t.equal(after.spec.configPatches[1].patch.value.metadata.filter_metadata.epp.other, '10.0.0.50:9002', '10.0.0.50 is not 10.0.0.5');
  t.equal(after.metadata.annotations['epp-webhook.io/resolved-cluster-ip'], NEW_IP);
  t.equal(after.metadata.annotations['epp-webhook.io/placeholder-paths'], object.metadata.annotations['epp-webhook.io/placeholder-paths']);
  const untouched = structuredClone(after);
  for (const path of [ADDRESS, TARGET]) jsonpatch.applyOperation(untouched, { op: 'replace', path, value: jsonpatch.getValueByPointer(object, path) });
  untouched.metadata.annotations['epp-webhook.io/resolved-cluster-ip'] = OLD_IP;
  untouched.metadata.resourceVersion = '100';
  t.same(untouched, object, 'nothing else changed');

  t.match(decide(after, found(NEW_IP)), { kind: 'unchanged' }, 'idempotent: its own result needs nothing more, so its own write triggers no write');
});

t.test('a patch computed from an older version does not apply (the test ops fail)', async (t) => {
  const object = await stored();
  const decision = decide(object, found(NEW_IP));
  if (decision.kind !== 'rewrite') return t.fail(decision.kind);
  const newer = structuredClone(object);
  newer.metadata.resourceVersion = '101';
  t.throws(() => jsonpatch.applyPatch(newer, decision.patch, true, false), { name: 'TEST_OPERATION_FAILED' });
});

t.test('a recorded path edited by hand is left alone, dropped from the recorded list and reported; the others are rewritten', async (t) => {
  const object = await stored();
  jsonpatch.applyOperation(object, { op: 'replace', path: TARGET, value: 'my-own-epp.example:9002' });
  const decision = decide(object, found(NEW_IP));
  if (decision.kind !== 'rewrite') return t.fail(decision.kind);
  t.same(decision.rewrittenPaths, [ADDRESS]);
  t.same(decision.editedPaths, [TARGET]);
  t.notOk(decision.patch.some((op) => op.path === TARGET), 'the hand-edited path is not in the patch');
  const after = applyAsServer(object, decision);
  t.equal(jsonpatch.getValueByPointer(after, TARGET), 'my-own-epp.example:9002');
  t.same(JSON.parse(after.metadata.annotations['epp-webhook.io/placeholder-paths']), [ADDRESS]);
  t.match(decide(after, found(NEW_IP)), { kind: 'unchanged' }, 'idempotent, and not reported again');
  t.match(decide(after, found('10.0.0.77')), { kind: 'rewrite', rewrittenPaths: [ADDRESS], editedPaths: [] }, 'the next change rewrites the kept path only');
});

t.test('every recorded path edited by hand (or removed): edited-by-hand, the paths left and no longer recorded', async (t) => {
  const object = await stored();
  jsonpatch.applyOperation(object, { op: 'replace', path: TARGET, value: 'my-own-epp.example:9002' });
  jsonpatch.applyOperation(object, { op: 'remove', path: '/spec/configPatches/1/patch/value/load_assignment' });
  const decision = decide(object, found(NEW_IP));
  t.match(decision, { kind: 'edited-by-hand', service: SERVICE, change: `ClusterIP ${OLD_IP} -> ${NEW_IP}`, held: OLD_IP, to: NEW_IP, editedPaths: [TARGET, ADDRESS].sort() });
  if (decision.kind !== 'edited-by-hand') return;
  t.same(
    decision.patch.map((op) => op.path),
    ['/metadata/resourceVersion', '/metadata/annotations/epp-webhook.io~1placeholder-paths'],
    'only the recorded paths change, guarded by the resourceVersion',
  );
  const after = applyAsServer(object, decision);
  t.equal(jsonpatch.getValueByPointer(after, TARGET), 'my-own-epp.example:9002', 'the edit is kept');
  t.same(JSON.parse(after.metadata.annotations['epp-webhook.io/placeholder-paths']), []);
  t.match(decide(after, found(NEW_IP)), { kind: 'unchanged' }, 'not reported again');
  t.match(decide(after, found('10.0.0.77')), { kind: 'unchanged' }, 'nor at the next change of the Service (a recreation): nothing of the webhook is left to keep true');
  t.match(decide(after, { kind: 'not-found' }), { kind: 'unchanged' }, 'nor when the Service it named is deleted: no EPPServiceMissing for an address nobody holds');
});

t.test('paths that already hold the new address (set by hand to it): only the annotation follows', async (t) => {
  const object = await stored();
  jsonpatch.applyOperation(object, { op: 'replace', path: ADDRESS, value: NEW_IP });
  jsonpatch.applyOperation(object, { op: 'replace', path: TARGET, value: `${NEW_IP}:9002` });
  const decision = decide(object, found(NEW_IP));
  t.match(decision, { kind: 'rewrite', rewrittenPaths: [], editedPaths: [] });
  if (decision.kind !== 'rewrite') return;
  t.same(decision.patch.filter((op) => op.op !== 'test').map((op) => op.path), ['/metadata/annotations/epp-webhook.io~1resolved-cluster-ip']);
  t.match(decide(applyAsServer(object, decision), found(NEW_IP)), { kind: 'unchanged' });
});

t.test('an empty recorded path list: nothing to keep true', async (t) => {
  const object = await stored();
  object.metadata.annotations['epp-webhook.io/placeholder-paths'] = '[]';
  t.match(decide(object, found(NEW_IP)), { kind: 'unchanged', why: /no recorded paths left/ });
  t.match(decide(object, { kind: 'not-found' }), { kind: 'unchanged' }, 'and a deleted Service is not missed');
});

t.test('IPv6 ClusterIPs are replaced as whole addresses', async (t) => {
  const object = await stored('fd00:10:96::a');
  t.equal(jsonpatch.getValueByPointer(object, TARGET), '[fd00:10:96::a]:9002', 'the webhook wrote the address before a port in brackets');
  const decision = decide(object, found('fd00:10:96::b'));
  t.match(decision, { kind: 'rewrite', rewrittenPaths: [ADDRESS, TARGET], editedPaths: [] });
  const after = applyAsServer(object, decision);
  t.equal(jsonpatch.getValueByPointer(after, ADDRESS), 'fd00:10:96::b');
  t.equal(jsonpatch.getValueByPointer(after, TARGET), '[fd00:10:96::b]:9002');
  jsonpatch.applyOperation(object, { op: 'replace', path: TARGET, value: 'fd00:10:96::a:9002' });
  t.match(decide(object, found('fd00:10:96::b')), { editedPaths: [TARGET] }, 'fd00:10:96::a:9002, written by hand, is another IPv6 address, not fd00:10:96::a with a port');
});

t.test('deciding reads the record and never changes it', async (t) => {
  const record = toEnvoyFilterRecord(await stored(), PLACEHOLDER)!;
  const before = structuredClone(record);
  decideReconcile(record, found(NEW_IP));
  t.same(record, before);
});
