import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadServicesFile, StaticServiceResolver } from '../../../src/cluster/static-resolver.ts';
import { scratchDir } from '../../helpers/scratch-dir.ts';

const dir = scratchDir('epp-services-');

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

t.test('a List of Services', async (t) => {
  const path = file('list.yaml', `
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: epp, namespace: llm}
    spec: {clusterIP: 10.96.0.10, ports: [{name: grpc, port: 9002, protocol: TCP}]}
  - apiVersion: v1
    kind: Service
    metadata: {name: gateway, namespace: istio}
    spec: {type: LoadBalancer, clusterIP: 10.96.0.11, ports: [{port: 80}]}
`);
  const resolver = loadServicesFile(path);
  t.equal(resolver.source, path);
  t.equal(resolver.ready(), true);
  t.equal(resolver.size(), 2);
  t.strictSame(resolver.lookup('llm', 'epp'), {
    kind: 'found',
    service: { namespace: 'llm', name: 'epp', type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'grpc', port: 9002, protocol: 'TCP' }] },
  });
  t.match(resolver.lookup('istio', 'gateway'), { kind: 'found', service: { type: 'LoadBalancer' } });
  t.strictSame(resolver.lookup('llm', 'gateway'), { kind: 'not-found' });
});

t.test('several documents, a List among them, and a non-Service skipped', async (t) => {
  const path = file('multi.yaml', `
apiVersion: v1
kind: Service
metadata: {name: a, namespace: one}
spec: {clusterIP: 10.0.0.1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-service, namespace: one}
data: {clusterIP: 10.0.0.99}
---
# an empty document
---
apiVersion: v1
kind: List
items:
  - kind: Service
    metadata: {name: b, namespace: two}
    spec: {clusterIP: 10.0.0.2}
  - kind: Deployment
    metadata: {name: b-deploy, namespace: two}
  - metadata: {name: no-kind, namespace: two}
`);
  const resolver = loadServicesFile(path);
  t.equal(resolver.size(), 2);
  t.match(resolver.lookup('one', 'a'), { kind: 'found', service: { clusterIP: '10.0.0.1' } });
  t.match(resolver.lookup('two', 'b'), { kind: 'found', service: { clusterIP: '10.0.0.2' } });
  t.equal(resolver.lookup('one', 'not-a-service').kind, 'not-found');
  t.equal(resolver.lookup('two', 'b-deploy').kind, 'not-found');
  t.equal(resolver.lookup('two', 'no-kind').kind, 'not-found', 'an item of a generic List needs its kind');
});

t.test('the output of kubectl get svc -A -o yaml, headless and ExternalName included', async (t) => {
  const path = file('kubectl.yaml', `apiVersion: v1
items:
- apiVersion: v1
  kind: Service
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"v1","kind":"Service"}
    creationTimestamp: "2025-01-01T00:00:00Z"
    labels:
      app.kubernetes.io/name: epp
    name: gaie-inference-scheduling-epp
    namespace: llm-d
    resourceVersion: "1234"
    uid: 0b5c2d1e-0000-0000-0000-000000000001
  spec:
    clusterIP: 10.96.12.34
    clusterIPs:
    - 10.96.12.34
    internalTrafficPolicy: Cluster
    ipFamilies:
    - IPv4
    ipFamilyPolicy: SingleStack
    ports:
    - appProtocol: http2
      name: grpc-ext-proc
      port: 9002
      protocol: TCP
      targetPort: 9002
    selector:
      app: epp
    sessionAffinity: None
    type: ClusterIP
  status:
    loadBalancer: {}
- apiVersion: v1
  kind: Service
  metadata:
    name: model-headless
    namespace: llm-d
  spec:
    clusterIP: None
    clusterIPs:
    - None
    ports:
    - port: 8000
      protocol: TCP
    type: ClusterIP
- apiVersion: v1
  kind: Service
  metadata:
    name: external-db
    namespace: default
  spec:
    externalName: db.example.com
    type: ExternalName
kind: List
metadata:
  resourceVersion: ""
`);
  const resolver = loadServicesFile(path);
  t.equal(resolver.size(), 3);
  t.strictSame(resolver.lookup('llm-d', 'gaie-inference-scheduling-epp'), {
    kind: 'found',
    service: {
      namespace: 'llm-d',
      name: 'gaie-inference-scheduling-epp',
      type: 'ClusterIP',
      clusterIP: '10.96.12.34',
      ports: [{ name: 'grpc-ext-proc', port: 9002, protocol: 'TCP' }],
    },
  });
  t.match(resolver.lookup('llm-d', 'model-headless'), { kind: 'found', service: { type: 'ClusterIP', clusterIP: 'None' } });
  t.match(resolver.lookup('default', 'external-db'), { kind: 'found', service: { type: 'ExternalName', clusterIP: '', ports: [] } });
});

t.test('a ServiceList as the API returns it: items without a kind', async (t) => {
  const resolver = StaticServiceResolver.fromObjects(
    [{ kind: 'ServiceList', apiVersion: 'v1', items: [{ metadata: { name: 'epp', namespace: 'llm' }, spec: { clusterIP: '10.0.0.5' } }] }],
    'api',
  );
  t.match(resolver.lookup('llm', 'epp'), { kind: 'found', service: { clusterIP: '10.0.0.5' } });
});

t.test('a YAML syntax error names the file, line and column', async (t) => {
  const path = file('broken.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: epp: x\n');
  t.throws(() => loadServicesFile(path), { message: /broken\.yaml is not valid YAML: .* at line 4, column 9/s });
  const second = file('broken-second-doc.yaml', 'kind: Service\nmetadata: {name: a}\n---\nkind: Service\n\tmetadata: {}\n');
  t.throws(() => loadServicesFile(second), { message: /broken-second-doc\.yaml is not valid YAML: .*line 5, column 1/s });
});

t.test('an unreadable file says which file', async (t) => {
  t.throws(() => loadServicesFile(join(dir, 'missing.yaml')), { message: /cannot read services file .*missing\.yaml/ });
});

t.test('an empty file gives an empty resolver', async (t) => {
  const resolver = loadServicesFile(file('empty.yaml', ''));
  t.equal(resolver.size(), 0);
  t.equal(resolver.ready(), true);
  t.strictSame(resolver.lookup('llm', 'epp'), { kind: 'not-found' });
});

t.test('fromRecords', async (t) => {
  const resolver = StaticServiceResolver.fromRecords([{ namespace: 'llm', name: 'epp', type: 'ClusterIP', clusterIP: '10.0.0.7', ports: [] }]);
  t.equal(resolver.size(), 1);
  t.match(resolver.lookup('llm', 'epp'), { kind: 'found', service: { clusterIP: '10.0.0.7' } });
  t.match(resolver.source, /static/);
});
