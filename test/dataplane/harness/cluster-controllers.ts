/** The two agents a real cluster would run and this one has not: endpoints for Services, and kube-proxy. */
import type { ControlPlane } from '../../e2e/harness/control-plane.ts';
import { syncServiceEndpoints } from './service-endpoints.ts';
import { KubeProxy } from './kube-proxy.ts';

export interface ClusterControllers {
  stop(): Promise<void>;
}

export function startClusterControllers(cp: ControlPlane, intervalMs = 250): ClusterControllers {
  const proxy = new KubeProxy();
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      try {
        const services = await syncServiceEndpoints(cp);
        if (services) await proxy.reconcile(services);
      } catch {
        // The apiserver may be restarting; the next round catches up.
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      await proxy.close();
    },
  };
}
