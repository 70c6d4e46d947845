import t from 'tap';
import jsonpatch from 'fast-json-patch';
import { StaticServiceResolver } from '../../../src/cluster/static-resolver.ts';
import type { ServiceResolver } from '../../../src/cluster/service-resolver.ts';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import { substituteClusterIP } from '../../../src/envoyfilter/substitute-cluster-ip.ts';
import { decidePlaceholderResolution } from '../../../src/reconcile/decide-placeholder-resolution.ts';
import { decideReconcile } from '../../../src/reconcile/decide-reconcile.ts';
import { toEnvoyFilterRecord } from '../../../src/reconcile/envoyfilter-record.ts';
import { manifest } from '../../helpers/fixtures.ts';

const NS = 'llm-d-inference-scheduler';
const resolver = StaticServiceResolver.fromRecords([{ namespace: NS, name: 'gaie-inference-scheduling-epp', type: 'ClusterIP', clusterIP: '10.0.0.5', ports: [{ port: 9002 }] }]);

function storedWithToken(): any {
  const object = manifest('guide-envoyfilter.yaml');
  object.metadata.resourceVersion = '55';
  object.metadata.uid = 'u';
  return object;
}

async function resolve(object: unknown, using: ServiceResolver = resolver) {
  return decidePlaceholderResolution(object, await substituteClusterIP(object, NS, using, DEFAULT_CONFIG));
}

t.test('the stored token becomes what admission would have stored: a guarded diff', async (t) => {
  const object = storedWithToken();
  const resolution = await resolve(object);
  if (resolution.kind !== 'resolve') return t.fail(resolution.kind);
  t.equal(resolution.service, `${NS}/gaie-inference-scheduling-epp`);
  t.equal(resolution.clusterIP, '10.0.0.5');
  t.same(resolution.patch[0], { op: 'test', path: '/metadata/resourceVersion', value: '55' });
  const replace = resolution.patch.findIndex((op) => op.op === 'replace');
  t.same(resolution.patch[replace - 1], { op: 'test', path: resolution.patch[replace].path, value: 'EPP_SERVICE_CLUSTER_IP' });

  const after = jsonpatch.applyPatch(structuredClone(object), resolution.patch, true, false).newDocument;
  const admitted = (await substituteClusterIP(object, NS, resolver, DEFAULT_CONFIG)).object;
  t.same(after, admitted, 'same object as the mutating webhook gives');
  const record = toEnvoyFilterRecord(after, DEFAULT_CONFIG.placeholder)!;
  t.match(decideReconcile(record, await resolver.lookup(NS, 'gaie-inference-scheduling-epp')), { kind: 'unchanged' }, 'and then there is nothing left to do');
});

t.test('no token left: unchanged', async (t) => {
  const object = storedWithToken();
  object.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = '10.9.9.9';
  t.match(await resolve(object), { kind: 'unchanged' });
});

t.test('the Service is not there (EPP101) or has no ClusterIP (EPP102): service-missing', async (t) => {
  t.match(await resolve(storedWithToken(), StaticServiceResolver.fromRecords([])), { kind: 'service-missing', why: /not found/ });
  const headless = StaticServiceResolver.fromRecords([{ namespace: NS, name: 'gaie-inference-scheduling-epp', type: 'ClusterIP', clusterIP: 'None', ports: [] }]);
  t.match(await resolve(storedWithToken(), headless), { kind: 'service-missing', why: /headless/ });
});

t.test('the cache cannot answer (EPP104): wait', async (t) => {
  const notReady: ServiceResolver = { source: 'cache', lookup: () => ({ kind: 'unavailable', reason: 'syncing' }), ready: () => false, size: () => 0 };
  t.match(await resolve(storedWithToken(), notReady), { kind: 'wait' });
});

t.test('a reference the webhook would refuse (EPP103): unresolvable, left in place', async (t) => {
  const object = storedWithToken();
  object.metadata.annotations = { 'epp-webhook.io/epp-service': 'other-team/epp' };
  t.match(await resolve(object), { kind: 'unresolvable', why: /\[EPP103\]/ });
});
