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
  const fromEnvironment = kubeconfigVariable !== undefined && kubeconfigVariable !== '';
  const named = path ?? (fromEnvironment ? `KUBECONFIG=${kubeconfigVariable}` : '(default)');
  let kubeConfig: KubeConfig;
  if (path !== undefined) kubeConfig = kubeConfigFile(path);
  else if (fromEnvironment) kubeConfig = kubeConfigFromEnvironment(kubeconfigVariable);
  else {
    kubeConfig = new KubeConfig();
    try {
      kubeConfig.loadFromDefault();
    } catch (error) {
      throw new KubeConfigError(`cannot load kubeconfig (default): ${kubeConfigReason(error as Error)}`);
    }
  }
  // As kubectl: without a current context there is no cluster to talk to.
  if (kubeConfig.getCurrentCluster() === null) {
    throw new KubeConfigError(`kubeconfig ${named} has no current context naming a cluster: set one (kubectl config use-context NAME)`);
  }
  return kubeConfig;
}
