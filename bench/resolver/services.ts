import { randomUUID } from 'node:crypto';

/**
 * A Service as the API server lists and watches it from a Helm-installed workload: labels, annotations (with kubectl's
 * last-applied-configuration), managedFields of two managers, two ports, dual fields (clusterIPs, ipFamilies).
 * About 3 KB of JSON, most of which the webhook's cache must not keep.
 */
export function fullService(i: number): Record<string, any> {
  const namespace = `team-${i % 250}`;
  const name = `svc-${i}-epp`;
  const clusterIP = `10.${96 + ((i >> 16) & 31)}.${(i >> 8) & 255}.${i & 255}`;
  const labels = {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': `release-${i}`,
    'app.kubernetes.io/component': 'endpoint-picker',
    'app.kubernetes.io/managed-by': 'Helm',
    'app.kubernetes.io/version': 'v0.5.1',
    'helm.sh/chart': 'inferencepool-v0.5.1',
  };
  const ports = [
    { name: 'grpc-ext-proc', port: 9002, protocol: 'TCP', targetPort: 9002 },
    { name: 'http-metrics', port: 9090, protocol: 'TCP', targetPort: 9090 },
  ];
  const selector = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': `release-${i}` };
  const lastApplied = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { labels, name, namespace }, spec: { ports, selector, type: 'ClusterIP' } });
  const keys = (object: Record<string, unknown>) => Object.fromEntries(Object.keys(object).map((k) => [`f:${k}`, {}]));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      uid: randomUUID(),
      resourceVersion: String(1_000_000 + i),
      creationTimestamp: '2025-11-20T10:00:00Z',
      labels,
      annotations: {
        'meta.helm.sh/release-name': `release-${i}`,
        'meta.helm.sh/release-namespace': namespace,
        'kubectl.kubernetes.io/last-applied-configuration': `${lastApplied}\n`,
      },
      managedFields: [
        {
          manager: 'helm',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2025-11-20T10:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:annotations': { '.': {}, 'f:meta.helm.sh/release-name': {}, 'f:meta.helm.sh/release-namespace': {} }, 'f:labels': { '.': {}, ...keys(labels) } },
            'f:spec': {
              'f:internalTrafficPolicy': {},
              'f:ports': Object.fromEntries(ports.map((p) => [`k:{"port":${p.port},"protocol":"TCP"}`, { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {}, 'f:targetPort': {} }])),
              'f:selector': {},
              'f:sessionAffinity': {},
              'f:type': {},
            },
          },
        },
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2025-11-21T08:30:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:kubectl.kubernetes.io/last-applied-configuration': {} } } },
        },
      ],
    },
    spec: {
      clusterIP,
      clusterIPs: [clusterIP],
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports,
      selector,
      sessionAffinity: 'None',
      type: 'ClusterIP',
    },
    status: { loadBalancer: {} },
  };
}

export function serviceKeyOf(i: number): { namespace: string; name: string } {
  return { namespace: `team-${i % 250}`, name: `svc-${i}-epp` };
}
