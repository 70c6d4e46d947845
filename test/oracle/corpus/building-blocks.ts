/**
 * The parts the corpus is assembled from: a well-wired EnvoyFilter for an EPP (ext_proc filter, per-route
 * override, EPP cluster), each part replaceable, so one family varies one thing at a time.
 */
import { eppProcessingMode } from '../../helpers/epp-processing-mode.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonMap = { [key: string]: Json };

export const NAMESPACE = 'llm-d-inference-scheduler';
export const EPP_CLUSTER = 'epp-cluster';
export const PLACEHOLDER = 'EPP_SERVICE_CLUSTER_IP';
export const EXT_PROC = 'envoy.filters.http.ext_proc';
export const EXTERNAL_PROCESSOR = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
export const EXT_PROC_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';
const TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

/** What an EPP needs: headers and both bodies FULL_DUPLEX_STREAMED with trailers SEND. */
export function eppMode(): JsonMap {
  return eppProcessingMode();
}

export function grpcToEpp(): JsonMap {
  return { envoy_grpc: { cluster_name: EPP_CLUSTER } };
}

/** An ExternalProcessor; `fields` replace or add top-level fields (a key mapped to undefined is left out). */
export function externalProcessor(fields: Record<string, Json | undefined> = {}): JsonMap {
  return withFields({ '@type': EXTERNAL_PROCESSOR, grpc_service: grpcToEpp(), processing_mode: eppMode() }, fields);
}

export function withFields(base: JsonMap, fields: Record<string, Json | undefined>): JsonMap {
  const out: JsonMap = { ...base };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out;
}

/** The ext_proc filter put before the router; without `typedConfig`, only what `filterFields` gives (config_discovery). */
export function filterPatch(typedConfig: Json | undefined, options: { operation?: string; filterFields?: JsonMap } = {}): JsonMap {
  return {
    applyTo: 'HTTP_FILTER',
    match: {
      context: 'GATEWAY',
      listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } } },
    },
    patch: { operation: options.operation ?? 'INSERT_BEFORE', value: { name: EXT_PROC, ...(typedConfig === undefined ? {} : { typed_config: typedConfig }), ...options.filterFields } },
  };
}

/** An HTTP_FILTER MERGE into the ext_proc filter istiod inserts for InferencePool routes; `value` is the patch value. */
export function mergeIntoIstiodFilter(value: JsonMap, context: string = 'GATEWAY'): JsonMap {
  return {
    applyTo: 'HTTP_FILTER',
    match: { context, listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: EXT_PROC } } } } },
    patch: { operation: 'MERGE', value },
  };
}

/** An HTTP_ROUTE MERGE that puts `perRoute` (an ExtProcPerRoute) on the routes of the gateway. */
export function perRoutePatch(perRoute: Json): JsonMap {
  return {
    applyTo: 'HTTP_ROUTE',
    match: { context: 'GATEWAY', routeConfiguration: { vhost: { route: { action: 'ROUTE' } } } },
    patch: { operation: 'MERGE', value: { typed_per_filter_config: { [EXT_PROC]: perRoute } } },
  };
}

export function extProcPerRoute(fields: JsonMap): JsonMap {
  return { '@type': EXT_PROC_PER_ROUTE, ...fields };
}

export function tlsSocket(): JsonMap {
  return { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TLS_CONTEXT, sni: 'epp' } };
}

export function http2Options(): JsonMap {
  return {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
}

export function endpointAt(address: Json, port: Json = 9002): JsonMap {
  return { cluster_name: EPP_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } } }] }] };
}

/** The EPP cluster: STATIC on the placeholder (the mutating webhook fills in the ClusterIP), HTTP/2, TLS. */
export function eppCluster(fields: Record<string, Json | undefined> = {}): JsonMap {
  return withFields(
    {
      name: EPP_CLUSTER,
      type: 'STATIC',
      connect_timeout: '2s',
      lb_policy: 'ROUND_ROBIN',
      typed_extension_protocol_options: http2Options(),
      transport_socket: tlsSocket(),
      load_assignment: endpointAt(PLACEHOLDER),
    },
    fields,
  );
}

export function clusterPatch(cluster: Json): JsonMap {
  return { applyTo: 'CLUSTER', match: { context: 'GATEWAY' }, patch: { operation: 'ADD', value: cluster } };
}

export function envoyFilter(name: string, configPatches: Json[]): JsonMap {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name, namespace: NAMESPACE },
    spec: { workloadSelector: { labels: { 'gateway.networking.k8s.io/gateway-name': 'inference-gateway' } }, configPatches },
  };
}

/** The usual EnvoyFilter: the ext_proc filter given and the EPP cluster. */
export function withFilter(name: string, typedConfig: Json, cluster: Json = eppCluster()): JsonMap {
  return envoyFilter(name, [filterPatch(typedConfig), clusterPatch(cluster)]);
}

/** The filter sends nothing; the per-route override given turns it on for the gateway's routes. */
export function withPerRoute(name: string, perRoute: Json): JsonMap {
  const off = { request_header_mode: 'SKIP', response_header_mode: 'SKIP' };
  return envoyFilter(name, [filterPatch(externalProcessor({ processing_mode: off })), perRoutePatch(perRoute), clusterPatch(eppCluster())]);
}
