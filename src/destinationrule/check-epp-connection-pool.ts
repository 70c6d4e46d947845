import { INFERENCE_POOL_VERSIONS, type InferencePoolResolver } from '../cluster/inference-pool.ts';
import type { WebhookConfig } from '../config.ts';
import { BOUND_THE_LOAD_ELSEWHERE, ENVOY_DEFAULT_MAX_REQUESTS, ISTIOD_MAX_REQUESTS, pastTheLimit } from '../envoyfilter/stream-limit.ts';
import { finding, formatCount, type Finding } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { isObject, type JsonObject } from '../json-value.ts';
import { exactHost, serviceHost } from './rule-host.ts';

/** An InferencePool's Endpoint Picker: the Service port istiod builds the cluster its ext_proc filter calls for. */
interface EppTarget {
  namespace: string;
  name: string;
  port: number;
  /** The pool's failureMode: istiod's filter then fails open for its requests. */
  failOpen: boolean;
}

/**
 * The EPP Services v1 InferencePools name (each Service and port once): istiod's InferencePool support reads only
 * `inference.networking.k8s.io/v1` pools, so only theirs get its ext_proc filter calling its cluster of the EPP.
 */
function eppTargets(pools: InferencePoolResolver): EppTarget[] {
  const targets = new Map<string, EppTarget>();
  for (const pool of pools.records()) {
    const picker = pool.endpointPicker;
    // istiod drops a v1 pool without an endpointPickerRef port ("port is required"): no filter calls that cluster.
    if (pool.group !== INFERENCE_POOL_VERSIONS[0].group || picker?.kind !== 'Service' || picker.port === undefined) continue;
    const failOpen = picker.failureMode === 'FailOpen';
    targets.set(`${pool.namespace}/${picker.name}:${picker.port}:${failOpen}`, { namespace: pool.namespace, name: picker.name, port: picker.port, failOpen });
  }
  return [...targets.values()];
}

/**
 * The connectionPool istiod applies to the cluster of `port`, and where it is: the first portLevelSettings entry of
 * that port replaces the rule's own whole (GetPortLevelTrafficPolicy: "port level policies do not inherit"), so an
 * entry without a connectionPool leaves the mesh's default or istiod's.
 */
function connectionPoolOf(policy: JsonObject, port: number): { pool: unknown; at: PathSegments } {
  const own = { pool: policy.connectionPool, at: ['spec', 'trafficPolicy', 'connectionPool'] };
  const entries = Array.isArray(policy.portLevelSettings) ? policy.portLevelSettings : [];
  const portOf = (entry: unknown) => (isObject(entry) && isObject(entry.port) ? entry.port.number : undefined);
  const index = entries.findIndex((e) => portOf(e) === port);
  if (index < 0) return own;
  return { pool: (entries[index] as JsonObject).connectionPool, at: ['spec', 'trafficPolicy', 'portLevelSettings', index, 'connectionPool'] };
}

/** A limit istiod writes into the thresholds: it takes only values above 0 (cluster_traffic_policy.go). */
function writtenLimit(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * Which gateways istiod gives this rule for a host, or undefined for none (PushContext.setDestinationRules and
 * destinationRule): a gateway looks in its own namespace first (a rule whose exportTo is empty or holds `*`, `.` or
 * that namespace; in the root namespace, only a rule exported to it alone), then among the rules the Service's
 * namespace exports to it, then the root namespace's; a rule elsewhere reaches only its own namespace's gateways.
 * An exportTo of `.` alone, or of its own namespace alone, exports nothing. The mesh's defaultDestinationRuleExportTo
 * is taken as its default, `*`.
 */
function reach(ruleNamespace: string, eppNamespace: string, rootNamespace: string, exportTo: unknown): string | undefined {
  const named = Array.isArray(exportTo) ? exportTo.filter((n): n is string => typeof n === 'string') : [];
  const everywhere = named.length === 0 || named.includes('*');
  const own = everywhere || named.includes('.') || named.includes(ruleNamespace);
  const privateOnly = named.length === 1 && (named[0] === '.' || named[0] === ruleNamespace);
  const only = (namespace: string) => `for gateways in namespace ${namespace} only`;
  if (ruleNamespace !== eppNamespace && ruleNamespace !== rootNamespace) return own ? `${only(ruleNamespace)} (a rule of a namespace other than the EPP's or the root one reaches no other)` : undefined;
  if (privateOnly) return only(ruleNamespace);
  const shadowedBy = ruleNamespace === rootNamespace && ruleNamespace !== eppNamespace ? "their own namespace or the EPP's" : 'their own namespace';
  if (everywhere) return `for gateways in any namespace with no rule for that host in ${shadowedBy}`;
  // Exported by name; `.` counts for the rule's own namespace, but not in the root namespace, whose own gateways
  // read only the rules exported to it alone.
  const reached = new Set(named.filter((n) => n !== '.' && n !== '~'));
  if (own && ruleNamespace !== rootNamespace) reached.add(ruleNamespace);
  if (reached.size === 0) return undefined;
  return `for gateways in ${[...reached].sort().join(', ')} (its exportTo) with no rule for that host in ${shadowedBy}`;
}

/**
 * A DestinationRule for the host of an InferencePool's EPP Service sets the circuit breaker of istiod's cluster for
 * it: its http2MaxRequests becomes the cluster's max_requests (istiod's own default is 2^32-1). Istio's own
 * InferencePool support sends each request of an InferencePool route through that cluster, on one ext_proc stream
 * that lasts the request, so the limit caps the requests in flight on one gateway Pod, not the EPP's own load: past it
 * a request gets 500, or, from a FailOpen pool, skips the EPP (measured: test/dataplane EPP501, EPP501-fail-open). Above
 * Envoy's default of 1,024, the limit is taken as the operator's sizing (as EPP322 does).
 * Not judged: wildcard hosts (within one namespace istiod takes the rule naming the Service, which the EPP's TLS
 * needs; one in a gateway's own namespace would come first); rules with a workloadSelector (whether it selects the
 * gateway's Pods depends on labels the webhook does not see); which of several rules for one host in a namespace
 * istiod takes (the oldest); subsets (istiod's EPP cluster has none); the mesh's defaultTrafficPolicy and
 * defaultDestinationRuleExportTo.
 */
export function checkEppConnectionPool(object: unknown, namespace: string, config: Pick<WebhookConfig, 'severities' | 'istioRootNamespace'>, pools: InferencePoolResolver | undefined): Finding[] {
  if (pools === undefined || !isObject(object) || !isObject(object.spec)) return [];
  const { host, trafficPolicy, workloadSelector, exportTo } = object.spec;
  if (typeof host !== 'string' || !isObject(trafficPolicy) || workloadSelector != null) return [];
  const ruleHost = exactHost(host, namespace);
  const capped = new Map<string, { limit: number; pending: number | undefined; at: PathSegments; scope: string; failOpen: boolean; services: string[] }>();
  for (const target of eppTargets(pools)) {
    if (ruleHost !== serviceHost(target)) continue;
    const applied = connectionPoolOf(trafficPolicy, target.port);
    if (!isObject(applied.pool) || !isObject(applied.pool.http)) continue;
    const limit = writtenLimit(applied.pool.http.http2MaxRequests);
    if (limit === undefined || limit > ENVOY_DEFAULT_MAX_REQUESTS) continue;
    const scope = reach(namespace, target.namespace, config.istioRootNamespace, exportTo);
    if (scope === undefined) continue;
    const key = `${formatPath(applied.at)} ${scope} ${target.failOpen}`;
    const entry = capped.get(key) ?? { limit, pending: writtenLimit(applied.pool.http.http1MaxPendingRequests), at: applied.at, scope, failOpen: target.failOpen, services: [] };
    entry.services.push(`${target.namespace}/${target.name} port ${target.port}`);
    capped.set(key, entry);
  }
  return [...capped.values()].map(({ limit, pending, at, scope, failOpen, services }) => {
    const past = failOpen
      ? `${pastTheLimit(limit)} skip the EPP (the pool's failureMode is FailOpen): Envoy's own load balancing picks their Pod`
      : `${pastTheLimit(limit)} get 500 at once`;
    const raisePending = pending !== undefined && pending <= ENVOY_DEFAULT_MAX_REQUESTS
      ? `, and raise http1MaxPendingRequests (${formatCount(pending)}) or drop it too: it bounds the requests that wait while Envoy connects to the EPP`
      : '';
    return finding(
      'EPP501',
      config.severities,
      { location: formatPath(at.slice(1)), path: formatPath([...at, 'http', 'http2MaxRequests']) },
      `http2MaxRequests ${formatCount(limit)} becomes the circuit-breaker max_requests of istiod's cluster of the EPP Service ${services.join(', ')} (named by ${failOpen ? 'a FailOpen' : 'an'} InferencePool), ${scope}: each request on an InferencePool route holds one ext_proc stream to the EPP through that cluster for as long as it runs (a streamed completion until its last token), ${past}`,
      `raise http2MaxRequests above the requests one gateway Pod should carry at once, or drop it (istiod then writes ${formatCount(ISTIOD_MAX_REQUESTS)}; the mesh's defaultTrafficPolicy connection pool applies instead only where the rule leaves out its whole connectionPool)${raisePending}; ${BOUND_THE_LOAD_ELSEWHERE}`,
    );
  });
}
