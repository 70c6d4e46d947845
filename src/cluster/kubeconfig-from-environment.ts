import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError } from './kubeconfig-error.ts';
import { kubeConfigFile } from './kubeconfig-file.ts';

/**
 * The kubeconfig KUBECONFIG names, merged as kubectl merges it: files that do not exist are skipped, and the first
 * file to set a cluster, user or context (or the current context) wins. client-node's loadFromDefault fails on a
 * missing file and lets later files win.
 */
export function kubeConfigFromEnvironment(value: string): KubeConfig {
  const files = value.split(delimiter).filter((file) => file !== '' && existsSync(file));
  if (files.length === 0) throw new KubeConfigError(`KUBECONFIG=${value}: none of its files exists`);
  const merged = kubeConfigFile(files[0]);
  for (const file of files.slice(1)) {
    const next = kubeConfigFile(file);
    if (merged.currentContext === '' || merged.currentContext === undefined) merged.setCurrentContext(next.currentContext);
    for (const cluster of next.clusters) if (merged.getCluster(cluster.name) === null) merged.addCluster(cluster);
    for (const user of next.users) if (merged.getUser(user.name) === null) merged.addUser(user);
    for (const context of next.contexts) if (merged.getContextObject(context.name) === null) merged.addContext(context);
  }
  return merged;
}
