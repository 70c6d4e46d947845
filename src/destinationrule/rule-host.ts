/** The cluster domain istiod appends to short names unless configured otherwise. */
const CLUSTER_DOMAIN = 'cluster.local';

/**
 * Whether a DestinationRule's `host` names `service`, as istiod reads it (ResolveShortnameToFQDN, then host.Name's
 * Matches): a name without a dot is short for `<name>.<the rule's namespace>.svc.cluster.local`; one with a dot is
 * taken as written (`epp.ns` names no Service); `*` matches every host and `*<suffix>` every host ending in it.
 * A full name in another cluster domain (`epp.ns.svc.corp.local`) is read as the Service's; a wildcard is matched
 * against its name in cluster.local.
 */
export function hostNamesService(host: string, ruleNamespace: string, service: { namespace: string; name: string }): boolean {
  const serviceName = `${service.name}.${service.namespace}.svc`;
  if (host === '*') return true;
  if (host.startsWith('*')) return `${serviceName}.${CLUSTER_DOMAIN}`.endsWith(host.slice(1));
  if (!host.includes('.')) return service.namespace === ruleNamespace && host === service.name;
  return host.startsWith(`${serviceName}.`) && host.length > serviceName.length + 1;
}
