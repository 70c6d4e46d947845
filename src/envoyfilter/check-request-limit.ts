import { finding, formatCount, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { envoyField, envoyFieldKey, isObject, type JsonObject } from '../json-value.ts';
import { patchLocation } from './config-patches.ts';
import type { ClusterSite } from './ext-proc-configs.ts';

/** Envoy's max_requests when a cluster's thresholds leave it unset (measured: test/dataplane EPP322-default). */
export const ENVOY_DEFAULT_MAX_REQUESTS = 1024;
/** What istiod gives the clusters it builds itself (pilot/pkg/networking/core/cluster_traffic_policy.go; measured too). */
export const ISTIOD_MAX_REQUESTS = 4294967295;

// How istiod reads ResourcePriority: unset, null, its name or its number.
const DEFAULT_PRIORITY: ReadonlySet<unknown> = new Set([undefined, null, 'DEFAULT', 0]);
const PRIORITY: ReadonlySet<unknown> = new Set([...DEFAULT_PRIORITY, 'HIGH', 1]);

interface RequestLimit {
  limit: number;
  /** False when the limit is Envoy's default. */
  written: boolean;
  /** Where the fix goes (below the cluster), and what it says to do there. */
  at: PathSegments;
  fix: string;
}

/**
 * The cluster's circuit-breaker limit on requests in flight at the DEFAULT priority, where ext_proc's streams run:
 * the first thresholds entry of that priority (a missing priority is DEFAULT), as Envoy picks it, or Envoy's default.
 * `undefined` when a value is not one istiod would read: the type rules speak to that.
 */
function requestLimit(cluster: JsonObject): RequestLimit | undefined {
  const entry = `{max_requests: ${ISTIOD_MAX_REQUESTS}}`;
  const unset = (at: PathSegments, fix: string): RequestLimit => ({ limit: ENVOY_DEFAULT_MAX_REQUESTS, written: false, at, fix });
  const breakers = envoyField(cluster, 'circuit_breakers');
  if (breakers == null) return unset([], `add circuit_breakers: {thresholds: [${entry}]}`);
  if (!isObject(breakers)) return undefined;
  const inBreakers = [envoyFieldKey(cluster, 'circuit_breakers')];
  const thresholds = envoyField(breakers, 'thresholds');
  if (thresholds == null) return unset(inBreakers, `add thresholds: [${entry}] to circuit_breakers`);
  if (!Array.isArray(thresholds)) return undefined;
  const inThresholds = [...inBreakers, envoyFieldKey(breakers, 'thresholds')];
  // A priority no reading gives (EPP310, EPP312) leaves which entry Envoy would read unknown.
  if (thresholds.some((t) => isObject(t) && !PRIORITY.has(envoyField(t, 'priority')))) return undefined;
  // A null entry is an empty one to istiod: DEFAULT priority, nothing set.
  const index = thresholds.findIndex((t) => t === null || (isObject(t) && DEFAULT_PRIORITY.has(envoyField(t, 'priority'))));
  if (index < 0) return unset(inThresholds, `add the entry ${entry} to thresholds (no priority is DEFAULT, where ext_proc streams run)`);
  const set = { at: [...inThresholds, index], fix: `set max_requests: ${ISTIOD_MAX_REQUESTS} in this thresholds entry` };
  const value = envoyField(thresholds[index] ?? {}, 'max_requests');
  if (value == null) return { ...unset(set.at, set.fix) };
  const limit = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof limit === 'number' && Number.isInteger(limit) ? { limit, written: true, ...set } : undefined;
}

/**
 * Each request through the gateway holds one ext_proc stream to the EPP for as long as it runs, and Envoy counts
 * those streams against the EPP cluster's max_requests: past it the stream is refused ("overflow") and the request
 * fails, failing open or not (measured: the EPP's FULL_DUPLEX_STREAMED does not fail open). istiod's own clusters
 * carry 2^32-1; a cluster the EnvoyFilter adds gets Envoy's 1,024 unless it says otherwise. A limit above the
 * default is taken as the operator's sizing.
 */
export function checkRequestLimit(name: string, site: ClusterSite, severities: SeverityOverrides): Finding[] {
  const read = requestLimit(site.cluster);
  if (read === undefined || read.limit > ENVOY_DEFAULT_MAX_REQUESTS) return [];
  const limit = formatCount(read.limit);
  const which = read.written ? `sets circuit_breakers max_requests to ${limit}` : `leaves circuit_breakers max_requests at Envoy's default of ${limit}`;
  return [
    finding(
      'EPP322',
      severities,
      { location: patchLocation(site.patch.index), path: formatPath([...site.patch.valuePath, ...read.at]) },
      `cluster ${name} ${which}: each request through the gateway holds one ext_proc stream to the EPP for as long as it runs (a streamed completion until its last token), and Envoy refuses the streams past that limit, so with more than ${limit} requests in flight on one gateway Pod the next ones get 500 at once, even with failure_mode_allow: true`,
      `${read.fix} (what istiod gives its own clusters), and bound the load at the gateway or the model servers instead`,
    ),
  ];
}
