/**
 * Pods without a kubelet: created through the API, then given what a kubelet would report (Running, Ready, a podIP)
 * through the status subresource. The podIP is a loopback address where the test itself serves the Pod.
 */
import type { ControlPlane } from '../../e2e/harness/control-plane.ts';

export async function createReadyPod(
  cp: ControlPlane,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  podIP: string,
  containerPort: number,
): Promise<void> {
  const created = await cp.api('POST', `/api/v1/namespaces/${namespace}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'server', image: 'stand-in:local', ports: [{ containerPort, protocol: 'TCP' }] }] },
  });
  if (created.status !== 201) throw new Error(`creating Pod ${namespace}/${name}: ${created.status} ${JSON.stringify(created.body)}`);
  const now = new Date().toISOString();
  const status = await cp.api('PUT', `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
    ...created.body,
    status: {
      phase: 'Running',
      podIP,
      podIPs: [{ ip: podIP }],
      hostIP: '127.0.0.1',
      startTime: now,
      conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
      containerStatuses: [{ name: 'server', ready: true, restartCount: 0, image: 'stand-in:local', imageID: '', started: true, state: { running: { startedAt: now } } }],
    },
  });
  if (status.status !== 200) throw new Error(`setting status of Pod ${namespace}/${name}: ${status.status} ${JSON.stringify(status.body)}`);
}
