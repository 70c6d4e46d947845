import type { ServiceResolver } from '../cluster/service-resolver.ts';

export interface ProbeAnswer {
  status: 200 | 503;
  body: { status: 'ok' | 'ready' | 'not ready'; services?: number; reason?: string };
}

/** /healthz and /readyz, the same answer on the HTTPS port and on the metrics port (where probes go with mTLS on). */
export function probeAnswer(path: '/healthz' | '/readyz', resolver: ServiceResolver): ProbeAnswer {
  if (path === '/healthz') return { status: 200, body: { status: 'ok' } };
  if (resolver.ready()) return { status: 200, body: { status: 'ready', services: resolver.size() } };
  return { status: 503, body: { status: 'not ready', reason: `the Service resolver (${resolver.source}) has not synced yet` } };
}
