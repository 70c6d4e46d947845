import { isIP } from 'node:net';
import type { ServiceLookup, ServiceResolver } from '../cluster/service-resolver.ts';

export interface ClusterIPOverride {
  namespace: string;
  name: string;
  clusterIP: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `llm-d/gaie-inference-scheduling-epp=10.96.183.7`, as given to `--cluster-ip`; throws with a message naming what is wrong. */
export function parseClusterIPOverride(text: string): ClusterIPOverride {
  const match = /^([^/=]+)\/([^/=]+)=(.+)$/.exec(text);
  if (match === null) throw new Error(`--cluster-ip ${JSON.stringify(text)}: write NAMESPACE/NAME=CLUSTER_IP, e.g. llm-d/gaie-inference-scheduling-epp=10.96.183.7`);
  const [, namespace, name, clusterIP] = match;
  for (const [what, value] of [['namespace', namespace], ['Service name', name]] as const) {
    if (!DNS_LABEL.test(value)) throw new Error(`--cluster-ip ${JSON.stringify(text)}: ${what} ${JSON.stringify(value)} is not a Kubernetes name (lowercase RFC 1123 label)`);
  }
  if (isIP(clusterIP) === 0) throw new Error(`--cluster-ip ${JSON.stringify(text)}: ${JSON.stringify(clusterIP)} is not an IPv4 or IPv6 address`);
  return { namespace, name, clusterIP };
}

/**
 * Answers Service lookups from `--cluster-ip` overrides first, then from another source (a file or a cluster) if any.
 * An override knows a ClusterIP but no ports: its record lists none, which the core reads as "ports unknown".
 */
export class ClusterIPOverrideResolver implements ServiceResolver {
  readonly source: string;
  readonly #overrides = new Map<string, ClusterIPOverride>();
  readonly #fallback: ServiceResolver | undefined;

  constructor(overrides: readonly ClusterIPOverride[], fallback: ServiceResolver | undefined, noSourceDescription: string) {
    for (const override of overrides) {
      const key = `${override.namespace}/${override.name}`;
      const earlier = this.#overrides.get(key);
      if (earlier !== undefined && earlier.clusterIP !== override.clusterIP) {
        throw new Error(`--cluster-ip ${key} is given twice, as ${earlier.clusterIP} and ${override.clusterIP}: give one`);
      }
      this.#overrides.set(key, override);
    }
    this.#fallback = fallback;
    if (fallback !== undefined) this.source = overrides.length > 0 ? `${fallback.source} and the --cluster-ip overrides` : fallback.source;
    else this.source = overrides.length > 0 ? 'the --cluster-ip overrides' : noSourceDescription;
  }

  async lookup(namespace: string, name: string): Promise<ServiceLookup> {
    const override = this.#overrides.get(`${namespace}/${name}`);
    if (override !== undefined) {
      return { kind: 'found', service: { namespace, name, type: 'ClusterIP', clusterIP: override.clusterIP, ports: [] } };
    }
    return this.#fallback === undefined ? { kind: 'not-found' } : this.#fallback.lookup(namespace, name);
  }

  ready(): boolean {
    return this.#fallback?.ready() ?? true;
  }

  size(): number {
    return this.#overrides.size + (this.#fallback?.size() ?? 0);
  }
}
