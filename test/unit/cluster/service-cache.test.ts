import t from 'tap';
import { ServiceCache } from '../../../src/cluster/service-cache.ts';

function service(name: string, clusterIP: string, namespace = 'llm'): Record<string, unknown> {
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: {
      name,
      namespace,
      resourceVersion: '42',
      labels: { app: name },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"blob"}' },
      managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
    },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], selector: { app: name }, ports: [{ name: 'grpc', port: 9002, protocol: 'TCP', targetPort: 9002 }] },
    status: { loadBalancer: {} },
  };
}

t.test('ADDED, MODIFIED and DELETED events change what lookups see', async (t) => {
  const cache = new ServiceCache();
  t.equal(cache.apply('ADDED', service('epp', '10.0.0.1')), true);
  t.equal(cache.get('llm', 'epp')?.clusterIP, '10.0.0.1');
  t.equal(cache.size, 1);

  cache.apply('MODIFIED', service('epp', '10.0.0.2'));
  t.equal(cache.get('llm', 'epp')?.clusterIP, '10.0.0.2');
  t.equal(cache.size, 1);

  cache.apply('DELETED', service('epp', '10.0.0.2'));
  t.equal(cache.get('llm', 'epp'), undefined);
  t.equal(cache.size, 0);
});

t.test('the same name in another namespace is another Service', async (t) => {
  const cache = new ServiceCache();
  cache.apply('ADDED', service('epp', '10.0.0.1', 'a'));
  cache.apply('ADDED', service('epp', '10.0.0.2', 'b'));
  t.equal(cache.get('a', 'epp')?.clusterIP, '10.0.0.1');
  t.equal(cache.get('b', 'epp')?.clusterIP, '10.0.0.2');
});

t.test('events without a Service leave the cache alone', async (t) => {
  const cache = new ServiceCache();
  cache.apply('ADDED', service('epp', '10.0.0.1'));
  t.equal(cache.apply('BOOKMARK', { kind: 'Service', metadata: { resourceVersion: '50' } }), false);
  t.equal(cache.apply('ERROR', { kind: 'Status', code: 410 }), false);
  t.equal(cache.apply('ADDED', { kind: 'ConfigMap', metadata: { name: 'x', namespace: 'llm' } }), false);
  t.equal(cache.apply('ADDED', 'garbage'), false);
  t.equal(cache.size, 1);
});

t.test('replaceAll swaps the whole table at once', async (t) => {
  const cache = new ServiceCache();
  cache.apply('ADDED', service('old', '10.0.0.1'));
  const record = (name: string) => ({ namespace: 'llm', name, type: 'ClusterIP', clusterIP: '10.0.1.1', ports: [] });
  function* slowRecords() {
    yield record('new-a');
    t.equal(cache.get('llm', 'old')?.clusterIP, '10.0.0.1', 'the old table answers while the new one is built');
    t.equal(cache.get('llm', 'new-a'), undefined, 'no half-built table is visible');
    yield record('new-b');
  }
  cache.replaceAll(slowRecords());
  t.equal(cache.get('llm', 'old'), undefined);
  t.ok(cache.get('llm', 'new-a'));
  t.ok(cache.get('llm', 'new-b'));
  t.equal(cache.size, 2);
});

t.test('records keep only namespace, name, type, clusterIP and ports', async (t) => {
  const cache = new ServiceCache();
  cache.apply('ADDED', service('epp', '10.0.0.1'));
  t.strictSame(cache.get('llm', 'epp'), {
    namespace: 'llm',
    name: 'epp',
    type: 'ClusterIP',
    clusterIP: '10.0.0.1',
    ports: [{ name: 'grpc', port: 9002, protocol: 'TCP' }],
  });
});
