import { isIP } from 'node:net';
import type { ServiceLookup, ServiceResolver, SourceFixes } from '../cluster/service-resolver.ts';
import { PORT_PLACEHOLDER } from '../envoyfilter/epp-service-port.ts';

export interface ClusterIPOverride {
  namespace: string;
  name: string;
  clusterIP: string;
  /** The EPP's ext_proc port, when given (`IP:PORT`, `[IPv6]:PORT`): what EPP_SERVICE_PORT becomes. */
  port?: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * `llm-d/gaie-inference-scheduling-epp=10.96.183.7`, optionally with the port (`10.96.183.7:9002`, `[fd00::a]:9002`), as
 * given to `--cluster-ip`; throws with a message naming what is wrong.
 */
export function parseClusterIPOverride(text: string): ClusterIPOverride {
  const match = /^([^/=]+)\/([^/=]+)=(.+)$/.exec(text);
  if (match === null) throw new Error(`--cluster-ip ${JSON.stringify(text)}: write NAMESPACE/NAME=CLUSTER_IP[:PORT], e.g. llm-d/gaie-inference-scheduling-epp=10.96.183.7:9002`);
  const [, namespace, name, address] = match;
  // An IPv6 address with a port is written in brackets; a single colon is IPv4 with a port.
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  const ipv4WithPort = bracketed === null && address.split(':').length === 2 ? /^(.+):(\d+)$/.exec(address) : null;
  const [clusterIP, portText] = bracketed !== null ? [bracketed[1], bracketed[2]] : ipv4WithPort !== null ? [ipv4WithPort[1], ipv4WithPort[2]] : [address, undefined];
  const port = portText === undefined ? undefined : Number(portText);
  if (bracketed !== null && isIP(clusterIP) !== 6) throw new Error(`--cluster-ip ${JSON.stringify(text)}: only an IPv6 address is written in brackets`);
  for (const [what, value] of [['namespace', namespace], ['Service name', name]] as const) {
    if (!DNS_LABEL.test(value)) throw new Error(`--cluster-ip ${JSON.stringify(text)}: ${what} ${JSON.stringify(value)} is not a Kubernetes name (lowercase RFC 1123 label)`);
  }
  if (isIP(clusterIP) === 0) throw new Error(`--cluster-ip ${JSON.stringify(text)}: ${JSON.stringify(clusterIP)} is not an IPv4 or IPv6 address`);
  if (port !== undefined && (port < 1 || port > 65535)) throw new Error(`--cluster-ip ${JSON.stringify(text)}: port ${port} is not between 1 and 65535`);
  return { namespace, name, clusterIP, ...(port === undefined ? {} : { port }) };
}

/**
 * Answers Service lookups from `--cluster-ip` overrides first, then from another source (a file or a cluster) if any.
 * An override knows a ClusterIP and at most the EPP's port: without one its record lists none, which the core reads as
 * "ports unknown".
 */
export class ClusterIPOverrideResolver implements ServiceResolver {
  readonly source: string;
  readonly fixes: SourceFixes;
  readonly #overrides = new Map<string, ClusterIPOverride>();
  readonly #fallback: ServiceResolver | undefined;

  /** `notFoundFix`: what a Service not found (`namespace/name`) needs; undefined leaves it to the fallback's fixes. */
  constructor(overrides: readonly ClusterIPOverride[], fallback: ServiceResolver | undefined, noSourceDescription: string, notFoundFix?: (service: string) => string | undefined) {
    for (const override of overrides) {
      const key = `${override.namespace}/${override.name}`;
      const earlier = this.#overrides.get(key);
      if (earlier !== undefined && (earlier.clusterIP !== override.clusterIP || earlier.port !== override.port)) {
        throw new Error(`--cluster-ip ${key} is given twice, as ${written(earlier)} and ${written(override)}: give one`);
      }
      this.#overrides.set(key, override);
    }
    this.#fallback = fallback;
    this.fixes = {
      notFound: (service) => notFoundFix?.(service) ?? fallback?.fixes?.notFound?.(service),
      unknownPorts: (service) => `give the port with the ClusterIP (--cluster-ip ${service}=IP:PORT), or write the port number instead of ${PORT_PLACEHOLDER}`,
      noServiceSource: fallback === undefined,
    };
    if (fallback !== undefined) this.source = overrides.length > 0 ? `${fallback.source} and the --cluster-ip overrides` : fallback.source;
    else this.source = overrides.length > 0 ? 'the --cluster-ip overrides' : noSourceDescription;
  }

  async lookup(namespace: string, name: string): Promise<ServiceLookup> {
    const override = this.#overrides.get(`${namespace}/${name}`);
    if (override !== undefined) {
      const ports = override.port === undefined ? [] : [{ port: override.port }];
      return { kind: 'found', service: { namespace, name, type: 'ClusterIP', clusterIP: override.clusterIP, ports } };
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

function written(override: ClusterIPOverride): string {
  if (override.port === undefined) return override.clusterIP;
  return override.clusterIP.includes(':') ? `[${override.clusterIP}]:${override.port}` : `${override.clusterIP}:${override.port}`;
}
