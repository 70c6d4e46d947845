import { join } from 'node:path';
import type { ControlPlane } from './control-plane.ts';
import { waitFor } from './processes.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
export const CRDS = ['envoyfilters.networking.istio.io', 'httproutes.gateway.networking.k8s.io', 'inferencepools.inference.networking.k8s.io'];

async function must(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const result = await cp.kubectl(args, { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * The real CRDs (server-side: the HTTPRoute CRD is larger than client-side apply's annotation allows),
 * Established, plus the webhook's namespace and the RBAC that deploy/ grants the webhook.
 */
export async function installCrdsAndRbac(cp: ControlPlane): Promise<void> {
  await installCrdsAndNamespace(cp);
  await must(cp, ['apply', '-f', join(ROOT, 'deploy/base/rbac.yaml')]);
}

/** The real CRDs, served, and the webhook's namespace (Pod Security restricted), as deploy/base makes it. */
export async function installCrdsAndNamespace(cp: ControlPlane): Promise<void> {
  await must(cp, ['apply', '--server-side', '-f', join(ROOT, 'test/fixtures/crds/')]);
  await must(cp, ['wait', '--for=condition=Established', '--timeout=60s', ...CRDS.map((c) => `crd/${c}`)]);
  // rbac.yaml holds a Role (the reconciler's Lease) in the webhook's namespace: that namespace comes first.
  await must(cp, ['apply', '-f', join(ROOT, 'deploy/base/namespace.yaml')]);
  // Established can precede the first successful create by a moment: wait until the resources are served.
  for (const resource of ['envoyfilters.networking.istio.io', 'httproutes.gateway.networking.k8s.io']) {
    await waitFor(`${resource} served`, async () => ((await cp.kubectl(['get', resource, '-A'])).code === 0 ? true : undefined), 30_000);
  }
}

export async function createNamespace(cp: ControlPlane, name: string): Promise<void> {
  await must(cp, ['create', 'namespace', name]);
}

/** A ClusterIP Service; the apiserver allocates its ClusterIP. Returns it. */
export async function createService(cp: ControlPlane, namespace: string, name: string, ports: number[] = [9002], extra: Record<string, unknown> = {}): Promise<string> {
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { ports: ports.map((port, i) => ({ name: `p${i}-${port}`, port, protocol: 'TCP' })), selector: { app: name }, ...extra },
  };
  await must(cp, ['apply', '-f', '-'], JSON.stringify(service));
  return (await must(cp, ['get', 'service', '-n', namespace, name, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
}
