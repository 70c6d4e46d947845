import { camelCase } from '../json-value.ts';
import type { FieldKind } from './ext-proc-schema.ts';

/**
 * The fields of envoy.config.cluster.v3.Cluster as istiod knows them (the go-control-plane protos in istio.io/istio, the
 * version pinned in test/oracle/istio/go.mod), each with the JSON istiod's conversion takes (kinds: ext-proc-schema.ts;
 * a map is `object`). `npm run test:oracles` checks this table against Istio's own descriptors.
 */
export const CLUSTER_FIELDS: Readonly<Record<string, Exclude<FieldKind, `message:${string}`>>> = {
  transport_socket_matches: 'list:object',
  transport_socket_matcher: 'object',
  name: 'string',
  alt_stat_name: 'string',
  type: 'enum',
  cluster_type: 'object',
  eds_cluster_config: 'object',
  connect_timeout: 'duration',
  per_connection_buffer_limit_bytes: 'uint32',
  per_connection_buffer_high_watermark_timeout: 'duration',
  lb_policy: 'enum',
  load_assignment: 'object',
  health_checks: 'list:object',
  max_requests_per_connection: 'uint32',
  circuit_breakers: 'object',
  upstream_http_protocol_options: 'object',
  common_http_protocol_options: 'object',
  http_protocol_options: 'object',
  http2_protocol_options: 'object',
  typed_extension_protocol_options: 'object',
  dns_refresh_rate: 'duration',
  dns_jitter: 'duration',
  dns_failure_refresh_rate: 'object',
  respect_dns_ttl: 'bool',
  dns_lookup_family: 'enum',
  dns_resolvers: 'list:object',
  use_tcp_for_dns_lookups: 'bool',
  dns_resolution_config: 'object',
  typed_dns_resolver_config: 'object',
  wait_for_warm_on_init: 'bool-value',
  outlier_detection: 'object',
  cleanup_interval: 'duration',
  upstream_bind_config: 'object',
  lb_subset_config: 'object',
  ring_hash_lb_config: 'object',
  maglev_lb_config: 'object',
  original_dst_lb_config: 'object',
  least_request_lb_config: 'object',
  round_robin_lb_config: 'object',
  common_lb_config: 'object',
  transport_socket: 'object',
  metadata: 'object',
  protocol_selection: 'enum',
  upstream_connection_options: 'object',
  close_connections_on_host_health_failure: 'bool',
  ignore_health_on_host_removal: 'bool',
  filters: 'list:object',
  load_balancing_policy: 'object',
  lrs_server: 'object',
  lrs_report_endpoint_metrics: 'list:string',
  track_timeout_budgets: 'bool',
  upstream_config: 'object',
  track_cluster_stats: 'object',
  preconnect_policy: 'object',
  connection_pool_per_downstream_connection: 'bool',
};

/** envoy.config.core.v3.SocketAddress, an endpoint's address, the same way. */
export const SOCKET_ADDRESS_FIELDS: Readonly<Record<string, Exclude<FieldKind, `message:${string}`>>> = {
  protocol: 'enum',
  address: 'string',
  port_value: 'uint32',
  named_port: 'string',
  resolver_name: 'string',
  ipv4_compat: 'bool',
  network_namespace_filepath: 'string',
};

/** envoy.config.cluster.v3.CircuitBreakers, the same way. */
export const CIRCUIT_BREAKERS_FIELDS: Readonly<Record<string, Exclude<FieldKind, `message:${string}`>>> = {
  thresholds: 'list:object',
  per_host_thresholds: 'list:object',
};

/** envoy.config.cluster.v3.CircuitBreakers.Thresholds, each entry of those lists, the same way. */
export const THRESHOLDS_FIELDS: Readonly<Record<string, Exclude<FieldKind, `message:${string}`>>> = {
  priority: 'enum',
  max_connections: 'uint32',
  max_pending_requests: 'uint32',
  max_requests: 'uint32',
  max_retries: 'uint32',
  retry_budget: 'object',
  track_remaining: 'bool',
  max_connection_pools: 'uint32',
};

/** envoy.config.core.v3.RoutingPriority, a thresholds entry's priority, by number. */
export const ROUTING_PRIORITIES = ['DEFAULT', 'HIGH'] as const;

type Fields = Readonly<Record<string, Exclude<FieldKind, `message:${string}`>>>;
/** A message's fields by the keys istiod takes for them: the field's name and its lowerCamelCase. */
const byKey = (fields: Fields): ReadonlyMap<string, string> => new Map(Object.keys(fields).flatMap((field) => [[field, field], [camelCase(field), field]]));

/** The messages of a cluster read field by field, by their names in messages. */
export const CLUSTER_MESSAGES = {
  Cluster: { fields: CLUSTER_FIELDS, keys: byKey(CLUSTER_FIELDS) },
  CircuitBreakers: { fields: CIRCUIT_BREAKERS_FIELDS, keys: byKey(CIRCUIT_BREAKERS_FIELDS) },
  'CircuitBreakers.Thresholds': { fields: THRESHOLDS_FIELDS, keys: byKey(THRESHOLDS_FIELDS) },
  SocketAddress: { fields: SOCKET_ADDRESS_FIELDS, keys: byKey(SOCKET_ADDRESS_FIELDS) },
} as const;
export type ClusterMessage = keyof typeof CLUSTER_MESSAGES;
