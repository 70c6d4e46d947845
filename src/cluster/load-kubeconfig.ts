import { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError } from './kubeconfig-error.ts';
import { kubeConfigFile, kubeConfigReason } from './kubeconfig-file.ts';
import { kubeConfigFromEnvironment } from './kubeconfig-from-environment.ts';

/**
 * The kubeconfig every command reads a cluster through: `path` (--kubeconfig) when given, else the files KUBECONFIG
 * lists (merged as kubectl merges them), else client-node's default: ~/.kube/config, then the in-cluster service
 * account. Failures are KubeConfigErrors, said in one line.
 */
export function loadKubeConfig(path: string | undefined, kubeconfigVariable = process.env.KUBECONFIG): KubeConfig {
  if (path !== undefined) return kubeConfigFile(path);
  if (kubeconfigVariable !== undefined && kubeconfigVariable !== '') return kubeConfigFromEnvironment(kubeconfigVariable);
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (error) {
    throw new KubeConfigError(`cannot load kubeconfig (default): ${kubeConfigReason(error as Error)}`);
  }
  return kubeConfig;
}
