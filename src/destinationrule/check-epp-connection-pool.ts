import type { InferencePoolResolver } from '../cluster/inference-pool.ts';
import { ENVOY_DEFAULT_MAX_REQUESTS, ISTIOD_MAX_REQUESTS } from '../envoyfilter/check-request-limit.ts';
import { finding, formatCount, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { isObject, type JsonObject } from '../json-value.ts';
import { hostNamesService } from './rule-host.ts';

/** An InferencePool's Endpoint Picker: the Service port istiod builds the cluster its ext_proc filter calls for. */
interface EppTarget {
  namespace: string;
  name: string;
  /** Undefined where the pool gives none. */
  port: number | undefined;
}

/** The EPP Services InferencePools name (each Service and port once). */
function eppTargets(pools: InferencePoolResolver): EppTarget[] {
  const targets = new Map<string, EppTarget>();
  for (const pool of pools.records()) {
    const picker = pool.endpointPicker;
    if (picker?.kind !== 'Service') continue;
    targets.set(`${pool.namespace}/${picker.name}:${picker.port}`, { namespace: pool.namespace, name: picker.name, port: picker.port });
  }
  return [...targets.values()];
}

/**
 * The connectionPool istiod applies to the cluster of `port`, and where it is: the first portLevelSettings entry of
 * that port replaces the rule's own whole (MergeTrafficPolicy: "port level policies do not inherit"), so an entry
 * without a connectionPool leaves istiod's defaults. Undefined where the port is unknown and entries name ports.
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
 * A DestinationRule whose host takes in an InferencePool's EPP Service sets the circuit breaker of istiod's cluster
 * for it: its http2MaxRequests becomes the cluster's max_requests (istiod's own default is 2^32-1). Istio's own
 * InferencePool support sends each request of an InferencePool route through that cluster, on one ext_proc stream
 * that lasts the request, so the limit caps the requests in flight on one gateway Pod, not the EPP's own load. Above
 * Envoy's default of 1,024, the limit is taken as the operator's sizing (as EPP322 does).
 * Not judged: which of several rules for one host istiod picks, exportTo and workloadSelector (the rule is read as
 * applying to the gateway), subsets (istiod's EPP cluster has none).
 */
export function checkEppConnectionPool(object: unknown, namespace: string, severities: SeverityOverrides, pools: InferencePoolResolver | undefined): Finding[] {
  if (pools === undefined || !isObject(object) || !isObject(object.spec)) return [];
  const { host, trafficPolicy } = object.spec;
  if (typeof host !== 'string' || !isObject(trafficPolicy)) return [];
  const capped = new Map<string, { limit: number; pending: number | undefined; at: PathSegments; services: string[] }>();
  for (const target of eppTargets(pools)) {
    if (!hostNamesService(host, namespace, target)) continue;
    const applied = connectionPoolOf(trafficPolicy, target.port);
    if (applied === undefined || !isObject(applied.pool) || !isObject(applied.pool.http)) continue;
    const limit = writtenLimit(applied.pool.http.http2MaxRequests);
    if (limit === undefined || limit > ENVOY_DEFAULT_MAX_REQUESTS) continue;
    const key = formatPath(applied.at);
    const entry = capped.get(key) ?? { limit, pending: writtenLimit(applied.pool.http.http1MaxPendingRequests), at: applied.at, services: [] };
    entry.services.push(`${target.namespace}/${target.name}${target.port === undefined ? '' : ` port ${target.port}`}`);
    capped.set(key, entry);
  }
  return [...capped.values()].map(({ limit, pending, at, services }) => {
    const shown = services.length > 3 ? `${services.slice(0, 3).join(', ')} and ${services.length - 3} more` : services.join(', ');
    const past = `so with more than ${formatCount(limit)} ${limit === 1 ? 'request' : 'requests'} in flight on one gateway Pod the next ones get 500 at once`;
    const raisePending = pending !== undefined && pending <= ENVOY_DEFAULT_MAX_REQUESTS
      ? `, and raise http1MaxPendingRequests (${formatCount(pending)}) or drop it too: it bounds the requests that wait while Envoy connects to the EPP`
      : '';
    return finding(
      'EPP501',
      severities,
      { location: formatPath(at.slice(1)), path: formatPath([...at, 'http', 'http2MaxRequests']) },
      `http2MaxRequests ${formatCount(limit)} becomes the circuit-breaker max_requests of istiod's cluster of the EPP Service ${shown} (named by an InferencePool): each request on an InferencePool route holds one ext_proc stream to the EPP through that cluster for as long as it runs (a streamed completion until its last token), ${past}`,
      `raise http2MaxRequests above the requests one gateway Pod should carry at once, or drop it (istiod then sets ${ISTIOD_MAX_REQUESTS})${raisePending}; bound the load at the gateway or the model servers instead`,
    );
  });
}
