import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { InferencePoolResolver } from '../cluster/inference-pool.ts';
import type { ServiceResolver } from '../cluster/service-resolver.ts';

/** The caches admissions are answered from; a replica is ready only once every one of them can answer. */
export interface ProbedCaches {
  resolver: ServiceResolver;
  pools?: InferencePoolResolver;
  envoyFilters?: EnvoyFilterIndex;
}

export interface ProbeAnswer {
  status: 200 | 503;
  body: { status: 'ok' | 'ready' | 'not ready'; services?: number; reason?: string; notSynced?: string[] };
}

/**
 * /healthz and /readyz, the same answer on the HTTPS port and on the metrics port (where probes go with mTLS on).
 * Not ready while any cache has not listed once: a replica that took admissions then would deny pool references and
 * pool routes as temporary (EPP104) while the Service says it is up.
 */
export function probeAnswer(path: '/healthz' | '/readyz', caches: ProbedCaches): ProbeAnswer {
  if (path === '/healthz') return { status: 200, body: { status: 'ok' } };
  const waiting = [
    { what: 'Services', cache: caches.resolver },
    { what: 'InferencePools', cache: caches.pools },
    { what: 'EnvoyFilters', cache: caches.envoyFilters },
  ].filter((c) => c.cache !== undefined && !c.cache.ready());
  if (waiting.length === 0) return { status: 200, body: { status: 'ready', services: caches.resolver.size() } };
  const sources = waiting.map((c) => c.cache!.source);
  return {
    status: 503,
    body: {
      status: 'not ready',
      reason: `${sources.join(', ')} ${sources.length === 1 ? 'has' : 'have'} not synced yet`,
      notSynced: waiting.map((c) => c.what),
    },
  };
}
