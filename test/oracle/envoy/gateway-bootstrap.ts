/**
 * Places what istiod pushes for an EnvoyFilter's patches into a minimal gateway bootstrap for Envoy to
 * validate: one HTTP listener whose chain is [the HTTP_FILTER patches..., router], one route that the
 * HTTP_ROUTE MERGE patches merge into, and the CLUSTER ADD patches beside a backend cluster.
 *
 * What this gateway leaves out, on purpose: Istio's own filters and listeners (EnvoyFilter matches are not
 * evaluated: every adding patch is taken as applied, and a MERGE into an HTTP filter is skipped, as there
 * is no Istio-inserted ext_proc to merge into). A cluster the ext_proc config names but no patch adds is
 * stubbed, as Istio or another EnvoyFilter would provide it (outbound|9002||<epp>...).
 */
export type JsonObject = Record<string, unknown>;

export interface TranslatedPatch {
  index: number;
  applyTo: string;
  operation: string;
  /** The proto istiod pushes, as proto JSON with proto field names; absent for REMOVE. */
  value?: JsonObject;
  error?: string;
}

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ADDING = new Set(['ADD', 'INSERT_BEFORE', 'INSERT_AFTER', 'INSERT_FIRST', 'REPLACE']);

function staticCluster(name: string, http2: boolean): JsonObject {
  const cluster: JsonObject = {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } } }] }] },
  };
  if (http2) {
    cluster.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return cluster;
}

/** Names of clusters that ext_proc (gRPC or HTTP) calls go to, wherever they sit in `value`. */
function referencedClusters(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) referencedClusters(item, into);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const object = value as JsonObject;
  const envoyGrpc = object.envoy_grpc as JsonObject | undefined;
  if (typeof envoyGrpc?.cluster_name === 'string' && envoyGrpc.cluster_name !== '') into.add(envoyGrpc.cluster_name);
  const httpUri = object.http_uri as JsonObject | undefined;
  if (typeof httpUri?.cluster === 'string' && httpUri.cluster !== '') into.add(httpUri.cluster);
  for (const child of Object.values(object)) referencedClusters(child, into);
}

export interface GatewayBootstrap {
  bootstrap: JsonObject;
  /** Patches that did not reach the gateway, with why. */
  skipped: { index: number; reason: string }[];
}

export function gatewayBootstrap(patches: readonly TranslatedPatch[]): GatewayBootstrap {
  const httpFilters: unknown[] = [];
  const route: JsonObject = { match: { prefix: '/' }, route: { cluster: 'backend' } };
  const clusters: JsonObject[] = [staticCluster('backend', false)];
  const skipped: { index: number; reason: string }[] = [];
  for (const patch of patches) {
    if (patch.value === undefined) continue;
    if (patch.applyTo === 'HTTP_FILTER' && ADDING.has(patch.operation)) httpFilters.push(patch.value);
    else if (patch.applyTo === 'HTTP_ROUTE' && patch.operation === 'MERGE') mergeRoute(route, patch.value);
    else if (patch.applyTo === 'CLUSTER' && patch.operation === 'ADD') clusters.push(patch.value);
    else skipped.push({ index: patch.index, reason: `${patch.applyTo} ${patch.operation} has nothing to apply to on the oracle gateway` });
  }
  const referenced = new Set<string>();
  referencedClusters(httpFilters, referenced);
  referencedClusters(route, referenced);
  const defined = new Set(clusters.map((c) => c.name));
  for (const name of referenced) if (!defined.has(name)) clusters.push(staticCluster(name, true));

  const hcm = {
    '@type': HCM_TYPE,
    stat_prefix: 'gateway',
    http_filters: [...httpFilters, ROUTER],
    route_config: { name: 'http.80', virtual_hosts: [{ name: '*:80', domains: ['*'], routes: [route] }] },
  };
  const listener = {
    name: '0.0.0.0_80',
    address: { socket_address: { address: '127.0.0.1', port_value: 10080 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
  };
  return { bootstrap: { static_resources: { listeners: [listener], clusters } }, skipped };
}

/** Proto merge of a Route: messages merge field by field, maps by key, lists append, scalars replace. */
function mergeRoute(into: JsonObject, value: JsonObject): void {
  for (const [key, v] of Object.entries(value)) {
    const current = into[key];
    if (Array.isArray(v)) into[key] = [...(Array.isArray(current) ? current : []), ...v];
    else if (key === 'typed_per_filter_config' && typeof v === 'object' && v !== null) into[key] = { ...(current as JsonObject | undefined), ...(v as JsonObject) };
    else if (typeof v === 'object' && v !== null && typeof current === 'object' && current !== null && !('@type' in v)) mergeRoute(current as JsonObject, v as JsonObject);
    else into[key] = v;
  }
}
