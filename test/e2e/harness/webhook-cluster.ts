import { createNamespace, createService, installCrdsAndRbac } from './cluster-setup.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { registerWebhooks, startWebhookProcess, waitUntilMutating, type WebhookProcess } from './webhook-process.ts';

/**
 * A control plane with the CRDs and RBAC, the webhook running and registered, and proven to mutate: a probe
 * namespace with an EPP Service, in which an apply comes back substituted. The caller stops both.
 */
export async function startClusterWithWebhook(): Promise<{ cp: ControlPlane; webhook: WebhookProcess }> {
  const cp = await startControlPlane();
  await installCrdsAndRbac(cp);
  const webhook = await startWebhookProcess(cp);
  await registerWebhooks(cp, webhook.url, webhook.caPem);
  await createNamespace(cp, 'epp-e2e-probe');
  await createService(cp, 'epp-e2e-probe', 'gaie-inference-scheduling-epp');
  await waitUntilMutating(cp, 'epp-e2e-probe');
  return { cp, webhook };
}
