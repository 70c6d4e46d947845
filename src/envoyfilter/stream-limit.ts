import { formatCount } from '../findings.ts';

/**
 * What the EPP cluster's circuit breaker means for ext_proc: each request through the gateway holds one stream to the
 * EPP for as long as it runs, and Envoy counts those streams against the cluster's max_requests. Shared by the rules
 * on the clusters an EnvoyFilter adds (EPP322) and on the one istiod builds for a pool's EPP (EPP501).
 */

/** Envoy's max_requests when a cluster's thresholds leave it unset (measured: test/dataplane EPP322-default). */
export const ENVOY_DEFAULT_MAX_REQUESTS = 1024;
/** What istiod gives the clusters it builds itself, max_requests and max_pending_requests (cluster_traffic_policy.go; measured). */
export const ISTIOD_MAX_REQUESTS = 4294967295;

/** `so with more than 1,024 requests in flight on one gateway Pod the next ones` (what they get follows). */
export function pastTheLimit(limit: number): string {
  return `so with more than ${formatCount(limit)} ${limit === 1 ? 'request' : 'requests'} in flight on one gateway Pod the next ones`;
}

/** Where a fix that lifts the limit sends the bound instead. */
export const BOUND_THE_LOAD_ELSEWHERE = 'bound the load at the gateway or the model servers instead';
