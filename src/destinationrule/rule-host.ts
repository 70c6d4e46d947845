/** The cluster domain istiod appends to short names unless configured otherwise; hosts in another are not judged. */
const CLUSTER_DOMAIN = 'cluster.local';

/**
 * The Service host a DestinationRule's `host` names, as istiod resolves it (ResolveShortnameToFQDN): a name without a
 * dot is short for `<name>.<the rule's namespace>.svc.cluster.local`; one with a dot is taken as written (`epp.ns`
 * names no Service). Undefined for a wildcard, which is not judged: within a namespace istiod takes the most specific
 * host, so a wildcard rule counts only where no rule names the Service itself, and the one the EPP's TLS needs does.
 */
export function exactHost(host: string, ruleNamespace: string): string | undefined {
  if (host.includes('*')) return undefined;
  return host.includes('.') ? host : `${host}.${ruleNamespace}.svc.${CLUSTER_DOMAIN}`;
}

export function serviceHost(service: { namespace: string; name: string }): string {
  return `${service.name}.${service.namespace}.svc.${CLUSTER_DOMAIN}`;
}
