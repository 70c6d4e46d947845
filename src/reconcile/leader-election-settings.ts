import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** The Lease the replicas compete for. */
export const LEASE_NAME = 'epp-webhook-reconciler';

const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Who this replica is in the Lease and in Events: the flag, else POD_NAME (downward API), else hostname_pid. */
export function leaderElectionIdentity(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, host = hostname(), pid = process.pid): string {
  if (flag !== undefined && flag !== '') return flag;
  if (env.POD_NAME !== undefined && env.POD_NAME !== '') return env.POD_NAME;
  return `${host}_${pid}`;
}

/** Where the Lease lives: the flag, else POD_NAMESPACE (downward API), else the pod's service-account namespace; undefined if none. */
export function leaseNamespace(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  serviceAccountNamespace: () => string | undefined = readServiceAccountNamespace,
): string | undefined {
  if (flag !== undefined && flag !== '') return flag;
  if (env.POD_NAMESPACE !== undefined && env.POD_NAMESPACE !== '') return env.POD_NAMESPACE;
  return serviceAccountNamespace();
}

function readServiceAccountNamespace(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
