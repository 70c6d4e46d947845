import { finding, formatCount, RULES, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { envoyField, envoyFieldKey, isObject, type JsonObject } from '../json-value.ts';
import { meantField } from './closest-name.ts';
import { CLUSTER_MESSAGES, ROUTING_PRIORITIES, type ClusterMessage } from './cluster-schema.ts';
import { patchLocation } from './config-patches.ts';
import type { ClusterSite } from './ext-proc-configs.ts';
import { readEnum } from './proto-enum.ts';
import { readUint32 } from './proto-uint32.ts';
import { BOUND_THE_LOAD_ELSEWHERE, ENVOY_DEFAULT_MAX_REQUESTS, ISTIOD_MAX_REQUESTS, pastTheLimit } from './stream-limit.ts';


interface RequestLimit {
  limit: number;
  /** False when the limit is Envoy's default. */
  written: boolean;
  /** Where the fix goes (below the cluster), and what it says to do there, in the keys istiod reads. */
  at: PathSegments;
  fix: string;
}

/** A key of `object` istiod does not know, that meant `field` (EPP321 names it, with the rename that mends it). */
function misspelt(object: JsonObject, field: string, message: ClusterMessage): boolean {
  const { fields, keys } = CLUSTER_MESSAGES[message];
  return Object.keys(object).some((key) => !keys.has(key) && meantField(key, Object.keys(fields)) === field);
}

/**
 * The cluster's circuit-breaker limit on requests in flight at the DEFAULT priority, where ext_proc's streams run:
 * the first thresholds entry of that priority (a missing priority is DEFAULT), as Envoy picks it, or Envoy's default.
 * `undefined` where another rule speaks: a value istiod cannot read (EPP310, EPP312), a misspelt key of what it reads
 * (EPP321, unless turned off: its rename is then the fix, and this one's would write a second entry).
 */
function requestLimit(cluster: JsonObject, typosNamed: boolean): RequestLimit | undefined {
  const typo = (object: JsonObject, field: string, message: ClusterMessage) => typosNamed && misspelt(object, field, message);
  const entry = `{max_requests: ${ISTIOD_MAX_REQUESTS}, max_pending_requests: ${ISTIOD_MAX_REQUESTS}}`;
  const unset = (at: PathSegments, fix: string): RequestLimit => ({ limit: ENVOY_DEFAULT_MAX_REQUESTS, written: false, at, fix });
  const breakersKey = envoyFieldKey(cluster, 'circuit_breakers');
  const breakers = cluster[breakersKey];
  if (breakers == null) return typo(cluster, 'circuit_breakers', 'Cluster') ? undefined : unset([], `add ${breakersKey}: {thresholds: [${entry}]}`);
  if (!isObject(breakers)) return undefined;
  const thresholdsKey = envoyFieldKey(breakers, 'thresholds');
  const thresholds = breakers[thresholdsKey];
  if (thresholds == null) return typo(breakers, 'thresholds', 'CircuitBreakers') ? undefined : unset([breakersKey], `add ${thresholdsKey}: [${entry}] to ${breakersKey}`);
  if (!Array.isArray(thresholds) || thresholds.some((t) => t !== null && !isObject(t))) return undefined;
  if (thresholds.some((t) => isObject(t) && typo(t, 'priority', 'CircuitBreakers.Thresholds'))) return undefined;
  const priorities = thresholds.map((t) => readEnum(isObject(t) ? envoyField(t, 'priority') : undefined, ROUTING_PRIORITIES));
  // A priority no reading gives leaves which entry Envoy would read unknown.
  if (priorities.some((p) => p.kind !== 'unset' && p.kind !== 'name')) return undefined;
  const index = priorities.findIndex((p) => p.kind === 'unset' || (p.kind === 'name' && p.name === 'DEFAULT'));
  const inThresholds = [breakersKey, thresholdsKey];
  if (index < 0) return unset(inThresholds, `add the entry ${entry} to ${thresholdsKey} (an entry without priority is the DEFAULT one, where ext_proc streams run)`);
  // A null entry is an empty one to istiod: DEFAULT priority, nothing set.
  const written = (thresholds[index] ?? {}) as JsonObject;
  const key = envoyFieldKey(written, 'max_requests');
  const at = [...inThresholds, index];
  const set = `set ${key}: ${ISTIOD_MAX_REQUESTS} and ${envoyFieldKey(written, 'max_pending_requests')}: ${ISTIOD_MAX_REQUESTS} in this ${thresholdsKey} entry`;
  const value = written[key];
  if (value == null) return typo(written, 'max_requests', 'CircuitBreakers.Thresholds') ? undefined : unset(at, set);
  const limit = readUint32(value, 'istiod');
  return typeof limit === 'number' ? { limit, written: true, at, fix: set } : undefined;
}

/**
 * Each request through the gateway holds one ext_proc stream to the EPP for as long as it runs, and Envoy counts
 * those streams against the EPP cluster's max_requests: past it the stream is refused ("overflow") and the request
 * fails, failing open or not (measured: the EPP's FULL_DUPLEX_STREAMED does not fail open). istiod's own clusters
 * carry 2^32-1; a cluster the EnvoyFilter adds gets Envoy's 1,024 unless it says otherwise. A limit above the
 * default is taken as the operator's sizing. Over http_service each call is a short request per header phase, not a
 * stream that lasts the request: not judged.
 */
export function checkRequestLimit(name: string, via: 'grpc' | 'http', site: ClusterSite, severities: SeverityOverrides): Finding[] {
  if (via !== 'grpc') return [];
  const read = requestLimit(site.cluster, (severities.EPP321 ?? RULES.EPP321.severity) !== 'off');
  if (read === undefined || read.limit > ENVOY_DEFAULT_MAX_REQUESTS) return [];
  const limit = formatCount(read.limit);
  const which = read.written ? `sets circuit_breakers max_requests to ${limit}` : `leaves circuit_breakers max_requests at Envoy's default of ${limit}`;
  const past = read.limit === 0 ? 'so every request gets 500 at once' : `${pastTheLimit(read.limit)} get 500 at once`;
  return [
    finding(
      'EPP322',
      severities,
      { location: patchLocation(site.patch.index), path: formatPath([...site.patch.valuePath, ...read.at]) },
      `cluster ${name} ${which}: each request through the gateway holds one ext_proc stream to the EPP for as long as it runs (a streamed completion until its last token), and Envoy refuses the streams past that limit, ${past}, even with failure_mode_allow: true where the filter runs FULL_DUPLEX_STREAMED itself (set on it or in a route's override; istiod's InferencePool filter, which a route override naming this cluster turns on, skips the EPP past the limit instead)`,
      `${read.fix}; ${ISTIOD_MAX_REQUESTS} is what istiod gives its own clusters, and max_pending_requests bounds the requests that wait while Envoy connects to the EPP (1,024 by default too): ${BOUND_THE_LOAD_ELSEWHERE}`,
    ),
  ];
}
