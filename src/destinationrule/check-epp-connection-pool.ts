import { INFERENCE_POOL_VERSIONS, type InferencePoolResolver } from '../cluster/inference-pool.ts';
import { ENVOY_DEFAULT_MAX_REQUESTS, ISTIOD_MAX_REQUESTS } from '../envoyfilter/check-request-limit.ts';
import { finding, formatCount, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import type { WebhookConfig } from '../config.ts';
import { isObject, type JsonObject } from '../json-value.ts';
import { exactHost, serviceHost } from './rule-host.ts';

/** An InferencePool's Endpoint Picker: the Service port istiod builds the cluster its ext_proc filter calls for. */
interface EppTarget {
  namespace: string;
  name: string;
  /** Undefined where the pool gives none. */
  port: number | undefined;
}

/**
 * The EPP Services v1 InferencePools name (each Service and port once): istiod's InferencePool support reads only
 * `inference.networking.k8s.io/v1` pools, so only theirs get its ext_proc filter calling its cluster of the EPP.
 */
function eppTargets(pools: InferencePoolResolver): EppTarget[] {
  const targets = new Map<string, EppTarget>();
  for (const pool of pools.records()) {
    const picker = pool.endpointPicker;
    if (pool.group !== INFERENCE_POOL_VERSIONS[0].group || picker?.kind !== 'Service') continue;
    targets.set(`${pool.namespace}/${picker.name}:${picker.port}`, { namespace: pool.namespace, name: picker.name, port: picker.port });
  }
  return [...targets.values()];
}

/**
 * The connectionPool istiod applies to the cluster of `port`, and where it is: the first portLevelSettings entry of
 * that port replaces the rule's own whole (GetPortLevelTrafficPolicy: "port level policies do not inherit"), so an
 * entry without a connectionPool leaves the mesh's default or istiod's. Undefined where the port is unknown and
 * entries name ports.
 */
function connectionPoolOf(policy: JsonObject, port: number | undefined): { pool: unknown; at: PathSegments } | undefined {
  const own = { pool: policy.connectionPool, at: ['spec', 'trafficPolicy', 'connectionPool'] };
  const entries = Array.isArray(policy.portLevelSettings) ? policy.portLevelSettings : [];
  const portOf = (entry: unknown) => (isObject(entry) && isObject(entry.port) ? entry.port.number : undefined);
  if (port === undefined) return entries.some((e) => portOf(e) !== undefined) ? undefined : own;
  const index = entries.findIndex((e) => portOf(e) === port);
  if (index < 0) return own;
  return { pool: (entries[index] as JsonObject).connectionPool, at: ['spec', 'trafficPolicy', 'portLevelSettings', index, 'connectionPool'] };
}

/** A limit istiod writes into the thresholds: it takes only values above 0 (cluster_traffic_policy.go). */
function writtenLimit(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * Which gateways istiod gives this rule for a host (PushContext.destinationRule): a gateway's own namespace's rule
 * first, then the Service's namespace's exported ones, then the root namespace's; a rule elsewhere reaches only its
 * own namespace's proxies.
 */
function reach(ruleNamespace: string, eppNamespace: string, rootNamespace: string, exportTo: unknown): string {
  if (ruleNamespace !== eppNamespace && ruleNamespace !== rootNamespace) return `for gateways in namespace ${ruleNamespace} only (a rule of another namespace than the EPP's or the root one reaches no other)`;
  const named = Array.isArray(exportTo) && exportTo.length > 0 && !exportTo.includes('*')
    ? [...new Set([ruleNamespace, ...exportTo.filter((n): n is string => typeof n === 'string' && n !== '~').map((n) => (n === '.' ? ruleNamespace : n))])]
    : undefined;
  const where = named === undefined ? 'for gateways in any namespace' : `for gateways in ${named.join(', ')} (its exportTo)`;
  const own = ruleNamespace === rootNamespace && ruleNamespace !== eppNamespace ? "their own namespace or the EPP's" : 'their own namespace';
  return `${where} with no rule for that host in ${own}`;
}

/**
 * A DestinationRule for the host of an InferencePool's EPP Service sets the circuit breaker of istiod's cluster for
 * it: its http2MaxRequests becomes the cluster's max_requests (istiod's own default is 2^32-1). Istio's own
 * InferencePool support sends each request of an InferencePool route through that cluster, on one ext_proc stream
 * that lasts the request, so the limit caps the requests in flight on one gateway Pod, not the EPP's own load. Above
 * Envoy's default of 1,024, the limit is taken as the operator's sizing (as EPP322 does).
 * Not judged: wildcard hosts and rules with a workloadSelector (a rule naming the Service, as GAIE's Istio setup
 * has for the EPP's TLS, is the one istiod takes, and a selector picks Pods, not the gateway as a rule); which of
 * several rules for one host in a namespace istiod takes (the oldest); subsets (istiod's EPP cluster has none); the
 * mesh's defaultTrafficPolicy.
 */
export function checkEppConnectionPool(object: unknown, namespace: string, config: Pick<WebhookConfig, 'severities' | 'istioRootNamespace'>, pools: InferencePoolResolver | undefined): Finding[] {
  if (pools === undefined || !isObject(object) || !isObject(object.spec)) return [];
  const { host, trafficPolicy, workloadSelector, exportTo } = object.spec;
  if (typeof host !== 'string' || !isObject(trafficPolicy) || workloadSelector != null) return [];
  const named = exactHost(host, namespace);
  const capped = new Map<string, { limit: number; pending: number | undefined; at: PathSegments; scope: string; services: string[] }>();
  for (const target of eppTargets(pools)) {
    if (named !== serviceHost(target)) continue;
    const applied = connectionPoolOf(trafficPolicy, target.port);
    if (applied === undefined || !isObject(applied.pool) || !isObject(applied.pool.http)) continue;
    const limit = writtenLimit(applied.pool.http.http2MaxRequests);
    if (limit === undefined || limit > ENVOY_DEFAULT_MAX_REQUESTS) continue;
    const scope = reach(namespace, target.namespace, config.istioRootNamespace, exportTo);
    const key = `${formatPath(applied.at)} ${scope}`;
    const entry = capped.get(key) ?? { limit, pending: writtenLimit(applied.pool.http.http1MaxPendingRequests), at: applied.at, scope, services: [] };
    entry.services.push(`${target.namespace}/${target.name}${target.port === undefined ? '' : ` port ${target.port}`}`);
    capped.set(key, entry);
  }
  return [...capped.values()].map(({ limit, pending, at, scope, services }) => {
    const past = `so with more than ${formatCount(limit)} ${limit === 1 ? 'request' : 'requests'} in flight on one gateway Pod the next ones get 500 at once`;
    const raisePending = pending !== undefined && pending <= ENVOY_DEFAULT_MAX_REQUESTS
      ? `, and raise http1MaxPendingRequests (${formatCount(pending)}) or drop it too: it bounds the requests that wait while Envoy connects to the EPP`
      : '';
    return finding(
      'EPP501',
      config.severities,
      { location: formatPath(at.slice(1)), path: formatPath([...at, 'http', 'http2MaxRequests']) },
      `http2MaxRequests ${formatCount(limit)} becomes the circuit-breaker max_requests of istiod's cluster of the EPP Service ${services.join(', ')} (named by an InferencePool), ${scope}: each request on an InferencePool route holds one ext_proc stream to the EPP through that cluster for as long as it runs (a streamed completion until its last token), ${past}`,
      `raise http2MaxRequests above the requests one gateway Pod should carry at once, or drop it (istiod then applies the mesh's defaultTrafficPolicy connectionPool if meshConfig sets one, else ${formatCount(ISTIOD_MAX_REQUESTS)})${raisePending}; bound the load at the gateway or the model servers instead`,
    );
  });
}
