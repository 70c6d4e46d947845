import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Whether a command could reach a cluster without --kubeconfig: in a pod (the service account), or through the
 * kubeconfig kubectl would use (KUBECONFIG when not empty, else ~/.kube/config). Without either, client-node falls
 * back to http://localhost:8080, whose failure names neither cause.
 */
export function hasDefaultClusterCredentials(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.KUBERNETES_SERVICE_HOST !== undefined || (env.KUBECONFIG !== undefined && env.KUBECONFIG !== '')) return true;
  const home = env.HOME || homedir();
  return home !== '' && existsSync(join(home, '.kube', 'config'));
}
