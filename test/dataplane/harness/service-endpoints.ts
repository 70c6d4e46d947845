/**
 * Stands in for kube-controller-manager's EndpointSlice controller. The apiserver refuses loopback addresses in
 * EndpointSlices ("may not be in the loopback range"), so the Ready Pods a Service selects are published to istiod as
 * an Istio ServiceEntry with the Service's own hostname, ports and target ports, and the Pods' IPs as endpoints.
 * istiod merges the endpoints of every registry that serves a hostname into its EDS, so Envoy gets the same endpoints
 * it would get from the Pods' EndpointSlices. (A WorkloadEntry would not do: istiod does not select WorkloadEntries
 * for headless Services, and the InferencePool's shadow Service is headless.) Also returns each selector Service with
 * its Ready endpoints, for kube-proxy.ts.
 */
import type { ControlPlane } from '../../e2e/harness/control-plane.ts';

const MANAGED_BY = 'epp-webhook-dataplane-harness';
const SERVICE_ENTRIES = '/apis/networking.istio.io/v1/namespaces';

export interface ServiceEndpoints {
  service: any;
  /** Ready endpoints as `ip:targetPort` per Service port (by index). */
  targets: string[][];
}

function selects(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function ready(pod: any): boolean {
  return Boolean(pod.status?.podIP) && (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

function serviceEntry(service: any, pods: any[]): any {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: `${service.metadata.name}-endpoints`, namespace: service.metadata.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
    spec: {
      hosts: [`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      ports: service.spec.ports.map((p: any, i: number) => ({
        name: p.name || `port-${i}`,
        number: p.port,
        protocol: (p.appProtocol ?? '').toLowerCase() === 'http2' || (p.name ?? '').startsWith('grpc') ? 'GRPC' : 'HTTP',
        ...(typeof p.targetPort === 'number' ? { targetPort: p.targetPort } : {}),
      })),
      endpoints: pods.map((pod) => ({ address: pod.status.podIP, labels: pod.metadata.labels })),
    },
  };
}

/** Reconciles once; returns each selector Service with its Ready endpoints. */
export async function syncServiceEndpoints(cp: ControlPlane): Promise<ServiceEndpoints[] | undefined> {
  const [services, pods, entries] = await Promise.all([
    cp.api('GET', '/api/v1/services'),
    cp.api('GET', '/api/v1/pods'),
    cp.api('GET', `/apis/networking.istio.io/v1/serviceentries?labelSelector=app.kubernetes.io/managed-by%3D${MANAGED_BY}`),
  ]);
  if (services.status !== 200 || pods.status !== 200 || entries.status !== 200) return undefined;
  const readyPods = pods.body.items.filter(ready);
  const existing = new Map<string, any>(entries.body.items.map((e: any) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  const wanted = new Set<string>();
  const result: ServiceEndpoints[] = [];
  for (const service of services.body.items) {
    if (!service.spec.selector || Object.keys(service.spec.selector).length === 0) continue;
    const selected = readyPods
      .filter((pod: any) => pod.metadata.namespace === service.metadata.namespace && selects(service.spec.selector, pod.metadata.labels))
      .sort((a: any, b: any) => a.metadata.name.localeCompare(b.metadata.name));
    const targets = service.spec.ports.map((p: any) => selected.map((pod: any) => `${pod.status.podIP}:${typeof p.targetPort === 'number' ? p.targetPort : p.port}`));
    result.push({ service, targets });

    const entry = serviceEntry(service, selected);
    const key = `${entry.metadata.namespace}/${entry.metadata.name}`;
    wanted.add(key);
    const current = existing.get(key);
    const base = `${SERVICE_ENTRIES}/${entry.metadata.namespace}/serviceentries`;
    if (!current) await cp.api('POST', base, entry);
    else if (JSON.stringify(current.spec) !== JSON.stringify(entry.spec)) {
      await cp.api('PUT', `${base}/${entry.metadata.name}`, { ...entry, metadata: { ...entry.metadata, resourceVersion: current.metadata.resourceVersion } });
    }
  }
  for (const [key, entry] of existing) {
    if (!wanted.has(key)) await cp.api('DELETE', `${SERVICE_ENTRIES}/${entry.metadata.namespace}/serviceentries/${entry.metadata.name}`);
  }
  return result;
}
