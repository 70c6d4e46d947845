/**
 * Places what istiod pushes for an EnvoyFilter's patches into a minimal gateway bootstrap for Envoy to
 * validate: one HTTP listener whose chain is [istiod's InferencePool ext_proc filter as the HTTP_FILTER
 * MERGEs leave it, the adding HTTP_FILTER patches..., router], one route that the HTTP_ROUTE MERGE patches
 * merge into, and the CLUSTER ADD patches beside a backend cluster.
 *
 * The gateway is one istiod builds for InferencePool routes: istiod inserts its own ext_proc filter
 * (pilot/pkg/xds/filters/filters.go InferencePoolExtProc) before any EnvoyFilter patch, and an HTTP_FILTER
 * MERGE matching it merges into it. The Istio oracle does that merge with Istio's own code (main.go,
 * mergedIntoInferencePool, after each such MERGE in order); the filter after the last one is put first in
 * the chain. Without such a MERGE istiod's filter is left out, as are Istio's other filters and listeners.
 * EnvoyFilter matches are otherwise not evaluated: every adding patch is taken as applied; a MERGE into any
 * other HTTP filter, or one istiod's merge fails on (mergeError), is skipped. A cluster the ext_proc config
 * names but no patch adds is stubbed, as Istio or another EnvoyFilter would provide it
 * (outbound|9002||<epp>...), except istiod's placeholder cluster `dummy` of its own filter, which no gateway
 * has: Envoy loads the filter without it (the ext_proc gRPC client skips the cluster check). Of several CLUSTER ADDs of
 * one name the first is kept, as istiod's normalizeClusters keeps it. A CLUSTER ADD named as istiod names its outbound
 * clusters (outbound|<port>|<subset>|<host>) is sent beside istiod's own cluster of that name, as istiod sends both
 * (cluster.go buildClusters: normalizeClusters runs over the added clusters, not over the outbound ones); the oracle
 * gateway sees every such host, as a gateway sees the Services of its mesh, so Envoy gets both.
 */
import { parseIstioClusterName } from '../../../src/envoyfilter/istio-cluster-name.ts';
export type JsonObject = Record<string, unknown>;

export interface TranslatedPatch {
  index: number;
  applyTo: string;
  operation: string;
  /** The proto istiod pushes, as proto JSON with proto field names; absent for REMOVE. */
  value?: JsonObject;
  error?: string;
  /** For an HTTP_FILTER MERGE into istiod's InferencePool ext_proc filter: that filter after this MERGE (and the earlier ones). */
  mergedIntoInferencePool?: JsonObject;
  /** Why istiod's merge of this MERGE into its filter failed. */
  mergeError?: string;
}

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ADDING = new Set(['ADD', 'INSERT_BEFORE', 'INSERT_AFTER', 'INSERT_FIRST', 'REPLACE']);
/** The cluster istiod's InferencePool ext_proc filter names until a per-route override or a MERGE names another. */
const ISTIOD_PLACEHOLDER_CLUSTER = 'dummy';

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
  const istiodClusters: JsonObject[] = [];
  let inferencePoolFilter: JsonObject | undefined;
  for (const patch of patches) {
    if (patch.value === undefined) continue;
    if (patch.mergedIntoInferencePool !== undefined) inferencePoolFilter = patch.mergedIntoInferencePool;
    else if (patch.mergeError !== undefined) skipped.push({ index: patch.index, reason: `istiod's merge into its InferencePool ext_proc filter fails: ${patch.mergeError}` });
    else if (patch.applyTo === 'HTTP_FILTER' && ADDING.has(patch.operation)) httpFilters.push(patch.value);
    else if (patch.applyTo === 'HTTP_ROUTE' && patch.operation === 'MERGE') mergeRoute(route, patch.value);
    else if (patch.applyTo === 'CLUSTER' && patch.operation === 'ADD') {
      // istiod keeps the first cluster of a name and discards the others (cluster_builder.go normalizeClusters).
      if (clusters.some((c) => c.name === patch.value!.name)) skipped.push({ index: patch.index, reason: `istiod keeps the first cluster named ${String(patch.value.name)} and discards this one` });
      else clusters.push(patch.value);
      // istiod's own outbound cluster of that name, which it sends too.
      const name = patch.value.name;
      if (typeof name === 'string' && parseIstioClusterName(name) !== undefined && !istiodClusters.some((c) => c.name === name)) istiodClusters.push(staticCluster(name, true));
    }
    else skipped.push({ index: patch.index, reason: `${patch.applyTo} ${patch.operation} has nothing to apply to on the oracle gateway` });
  }
  if (inferencePoolFilter !== undefined) httpFilters.unshift(inferencePoolFilter);
  const referenced = new Set<string>();
  referencedClusters(httpFilters, referenced);
  referencedClusters(route, referenced);
  referenced.delete(ISTIOD_PLACEHOLDER_CLUSTER);
  const defined = new Set(clusters.map((c) => c.name));
  for (const name of referenced) if (!defined.has(name)) clusters.push(staticCluster(name, true));
  // istiod's own clusters come before those EnvoyFilters add.
  clusters.splice(1, 0, ...istiodClusters);

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
