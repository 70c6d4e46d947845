/**
 * What Envoy does with an ext_proc config it refuses, as a verb phrase ("Envoy rejects ..."). A filter's config reaches
 * it in a listener update, a per-route config (ExtProcPerRoute, FilterConfig) in a route update; Envoy rejects that
 * update whole and keeps the last one it took (the data-plane suite sees a rejected route update in
 * http.*.rds.*.update_rejected).
 */
export function rejectsUpdate(kind: 'filter' | 'per-route'): string {
  return kind === 'filter' ? 'rejects the listener update: the gateway keeps its old config' : 'rejects the route update: the gateway keeps its old routes';
}
