import t from 'tap';
import type { ServiceLookup } from '../../../src/cluster/service-resolver.ts';
import { decideRepoint, poolTargetOf } from '../../../src/reconcile/decide-repoint.ts';
import { decideReconcile } from '../../../src/reconcile/decide-reconcile.ts';
import type { EnvoyFilterRecord } from '../../../src/reconcile/envoyfilter-record.ts';

const ADDRESS = '/spec/configPatches/1/patch/value/address';
const PORT = '/spec/configPatches/1/patch/value/port_value';

function record(overrides: Partial<EnvoyFilterRecord> = {}): EnvoyFilterRecord {
  return {
    namespace: 'llm-d',
    name: 'f',
    uid: 'u',
    resourceVersion: '7',
    provenance: { service: 'llm-d/epp-b', clusterIP: '10.0.0.2', paths: [ADDRESS], port: { port: 9012, paths: [PORT] } },
    eppService: undefined,
    inferencePool: 'llm-d/pool-b',
    valuesAtPaths: { [ADDRESS]: '10.0.0.2' },
    valuesAtPortPaths: { [PORT]: 9012 },
    hasPlaceholder: false,
    ...overrides,
  };
}
const found = (name: string, clusterIP: string): ServiceLookup => ({ kind: 'found', service: { namespace: 'llm-d', name, type: 'ClusterIP', clusterIP, ports: [] } });

t.test('the pool names the recorded Service and port: not a repoint', async (t) => {
  t.same(decideRepoint(record(), { pool: 'llm-d/pool-b', service: 'llm-d/epp-b', port: 9012 }, found('epp-b', '10.0.0.2')), { kind: 'not-repointed' });
  t.same(decideRepoint(record({ provenance: undefined }), { pool: 'llm-d/pool-b', service: 'llm-d/epp-c', port: 9022 }, found('epp-c', '10.0.0.3')), { kind: 'not-repointed' });
});

t.test('only the port changed: the port paths and resolved-port, the address left as it is', async (t) => {
  const decision = decideRepoint(record(), { pool: 'llm-d/pool-b', service: 'llm-d/epp-b', port: 9013 }, found('epp-b', '10.0.0.2'));
  if (decision.kind !== 'repoint') return t.fail(decision.kind);
  t.same(decision.rewrittenPaths, [PORT]);
  t.same(decision.patch, [
    { op: 'test', path: '/metadata/resourceVersion', value: '7' },
    { op: 'test', path: PORT, value: 9012 },
    { op: 'replace', path: PORT, value: 9013 },
    { op: 'test', path: '/metadata/annotations/epp-webhook.io~1resolved-port', value: '9012' },
    { op: 'replace', path: '/metadata/annotations/epp-webhook.io~1resolved-port', value: '9013' },
  ]);
});

t.test('another Service: address, port and provenance; its own result is not a repoint', async (t) => {
  const target = { pool: 'llm-d/pool-b', service: 'llm-d/epp-c', port: 9022 };
  const decision = decideRepoint(record(), target, found('epp-c', '10.0.0.3'));
  if (decision.kind !== 'repoint') return t.fail(decision.kind);
  t.same(decision.rewrittenPaths, [ADDRESS, PORT]);
  t.same(decision.from, { clusterIP: '10.0.0.2', port: 9012 });
  t.same(decision.to, { clusterIP: '10.0.0.3', port: 9022 });
  const after = record({
    resourceVersion: '8',
    provenance: { service: 'llm-d/epp-c', clusterIP: '10.0.0.3', paths: [ADDRESS], port: { port: 9022, paths: [PORT] } },
    valuesAtPaths: { [ADDRESS]: '10.0.0.3' },
    valuesAtPortPaths: { [PORT]: 9022 },
  });
  t.same(decideRepoint(after, target, found('epp-c', '10.0.0.3')), { kind: 'not-repointed' });
});

t.test('every recorded path edited by hand: no longer recorded; the new Service missing or cache cold: no decision to write', async (t) => {
  const target = { pool: 'llm-d/pool-b', service: 'llm-d/epp-c', port: 9022 };
  const edited = decideRepoint(record({ valuesAtPaths: { [ADDRESS]: '192.0.2.1' }, valuesAtPortPaths: { [PORT]: 443 } }), target, found('epp-c', '10.0.0.3'));
  t.same(edited.kind, 'edited-by-hand');
  if (edited.kind !== 'edited-by-hand') return;
  t.same(
    edited.patch.filter((op) => op.op === 'replace'),
    [
      { op: 'replace', path: '/metadata/annotations/epp-webhook.io~1placeholder-paths', value: '[]' },
      { op: 'replace', path: '/metadata/annotations/epp-webhook.io~1port-placeholder-paths', value: '[]' },
    ],
    'the edited paths dropped from the record, nothing else written',
  );
  const forgotten = record({ provenance: { service: 'llm-d/epp-b', clusterIP: '10.0.0.2', paths: [], port: { port: 9012, paths: [] } }, valuesAtPaths: {}, valuesAtPortPaths: {} });
  t.same(decideRepoint(forgotten, target, found('epp-c', '10.0.0.3')), { kind: 'not-repointed' }, 'then nothing is left to follow the pool with, and nothing is reported again');
  t.match(decideReconcile(forgotten, { kind: 'not-found' }), { kind: 'unchanged' }, 'nor is the old Service missed when it goes');
  t.match(decideRepoint(record(), target, { kind: 'not-found' }), { kind: 'service-missing', why: 'InferencePool llm-d/pool-b now names Service llm-d/epp-c, which is not found' });
  t.match(decideRepoint(record(), target, found('epp-c', 'None')), { kind: 'service-missing' });
  t.match(decideRepoint(record(), target, { kind: 'unavailable', reason: 'cold' }), { kind: 'wait' });
});

t.test("poolTargetOf: the pool's Service and port, or nothing to follow", async (t) => {
  const pool = (endpointPicker: any) => ({ kind: 'found' as const, pool: { group: 'inference.networking.k8s.io', namespace: 'llm-d', name: 'pool-b', endpointPicker } });
  t.same(poolTargetOf(record(), pool({ kind: 'Service', name: 'epp-c', port: 9022, failureMode: 'FailClose' })), { pool: 'llm-d/pool-b', service: 'llm-d/epp-c', port: 9022 });
  t.equal(poolTargetOf(record(), pool({ kind: 'Deployment', name: 'x', port: 1, failureMode: 'FailClose' })), undefined);
  t.equal(poolTargetOf(record(), { kind: 'not-found' }), undefined, 'a deleted pool: the recorded Service is kept and followed as before');
  t.equal(poolTargetOf(record(), { kind: 'unavailable', reason: 'x' }), 'wait');
  t.equal(poolTargetOf(record({ inferencePool: undefined }), pool(undefined)), undefined);
});
