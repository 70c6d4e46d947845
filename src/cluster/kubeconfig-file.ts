import { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError } from './kubeconfig-error.ts';

/** One kubeconfig file; one that cannot be read or parsed is a KubeConfigError naming it. */
export function kubeConfigFile(path: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(path);
  } catch (error) {
    throw new KubeConfigError(`cannot load kubeconfig ${path}: ${kubeConfigReason(error as YamlError)}`);
  }
  return kubeConfig;
}

type YamlError = Error & { mark?: { line: number; column: number } };

/** A YAML error's position, not its reason or code frame: both can quote the file, and a kubeconfig holds credentials. */
export function kubeConfigReason(error: YamlError): string {
  if (error.mark !== undefined) return `not valid YAML at line ${error.mark.line + 1}, column ${error.mark.column + 1}`;
  return error.message.split('\n')[0];
}
