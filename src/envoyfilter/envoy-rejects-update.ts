/**
 * What Envoy does with an ext_proc config it refuses, as a verb phrase ("Envoy rejects ..."). A filter's config reaches
 * it in a listener update, a per-route config (ExtProcPerRoute, FilterConfig) in a route update; Envoy rejects that
 * update whole and keeps the last one it took (the data-plane suite sees a rejected route update in
 * http.*.rds.*.update_rejected, a rejected listener update in listener_manager.lds.update_rejected with the old filter
 * still routing: EPP215-listener-rejected-running). A gateway Pod that starts after it has no listener at all
 * (EPP215-listener-rejected-starting): the phrase speaks of the running gateways an apply reaches.
 */
export function rejectsUpdate(kind: 'filter' | 'per-route'): string {
  return kind === 'filter' ? 'rejects the listener update: running gateway Pods keep their old config, and one that starts has no listener' : 'rejects the route update: the gateway keeps its old routes';
}
