import { existsSync } from 'node:fs';

/**
 * Whether a command could reach a cluster without --kubeconfig: in a pod (the service account), or through the
 * kubeconfig kubectl would use. Without either, client-node falls back to http://localhost:8080, whose failure names
 * neither cause.
 */
export function hasDefaultClusterCredentials(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.KUBERNETES_SERVICE_HOST !== undefined || env.KUBECONFIG !== undefined || existsSync(`${env.HOME}/.kube/config`);
}
