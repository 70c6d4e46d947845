import { clusterPatch, endpointAt, envoyFilter, eppCluster, externalProcessor, filterPatch, http2Options, NAMESPACE, PLACEHOLDER, tlsSocket, withFilter, type Json, type JsonMap } from './building-blocks.ts';
import type { CorpusEntry } from './corpus-entry.ts';

const tag = (value: Json | undefined) => (value === undefined ? 'unset' : typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

/** Cluster discovery type spellings by address kinds: STATIC needs IPs, DNS types take hostnames. */
export function clusterTypesAndAddresses(): CorpusEntry[] {
  const family = 'cluster-address';
  const types: (Json | undefined)[] = [undefined, 'STATIC', 'static', 'Static', 0, '0', 'STRICT_DNS', 'strict_dns', 1, '1', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST', 'BOGUS', 99, null];
  const addresses: [string, Json][] = [
    ['placeholder', PLACEHOLDER],
    ['ipv4', '10.96.0.10'],
    ['ipv6', 'fd00::10'],
    ['hostname', 'gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local'],
    ['short-hostname', 'epp'],
    ['empty', ''],
    ['bad-ipv4', '10.96.0.256'],
    ['placeholder-in-hostname', `${PLACEHOLDER}.nip.io`],
  ];
  const entries: CorpusEntry[] = [];
  for (const type of types) {
    for (const [name, address] of addresses) {
      entries.push({
        id: `${family}/type=${tag(type)}/${name}`,
        family,
        object: withFilter('c-cluster', externalProcessor(), eppCluster({ type: type === undefined ? undefined : type, load_assignment: endpointAt(address) })),
      });
    }
  }
  for (const port of [9002, '9002', 0, 65536, -1, 'grpc']) {
    entries.push({ id: `${family}/port=${tag(port)}`, family, object: withFilter('c-cluster', externalProcessor(), eppCluster({ load_assignment: endpointAt(PLACEHOLDER, port) })) });
  }
  entries.push({ id: `${family}/no-load_assignment`, family, object: withFilter('c-cluster', externalProcessor(), eppCluster({ load_assignment: undefined })) });
  entries.push({ id: `${family}/camel-loadAssignment`, family, object: withFilter('c-cluster', externalProcessor(), eppCluster({ load_assignment: undefined, loadAssignment: endpointAt(PLACEHOLDER) })) });
  return entries;
}

/** HTTP/2 forms by TLS forms: what the gRPC call to the EPP needs. */
export function clusterProtocols(): CorpusEntry[] {
  const family = 'cluster-protocol';
  const protocolOptions = (inner: JsonMap): JsonMap => ({
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', ...inner },
  });
  const typedStructOptions = (value: JsonMap): JsonMap => ({
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
      type_url: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      value,
    },
  });
  const http2Forms: [string, Record<string, Json | undefined>][] = [
    ['typed-explicit-http2', { typed_extension_protocol_options: http2Options() }],
    ['legacy-http2_protocol_options', { typed_extension_protocol_options: undefined, http2_protocol_options: {} }],
    ['legacy-camel-http2ProtocolOptions', { typed_extension_protocol_options: undefined, http2ProtocolOptions: {} }],
    ['both-legacy-and-typed', { http2_protocol_options: {} }],
    ['typed-explicit-http1', { typed_extension_protocol_options: protocolOptions({ explicit_http_config: { http_protocol_options: {} } }) }],
    ['typed-auto_config', { typed_extension_protocol_options: protocolOptions({ auto_config: {} }) }],
    ['typed-downstream', { typed_extension_protocol_options: protocolOptions({ use_downstream_protocol_config: {} }) }],
    ['typed-empty', { typed_extension_protocol_options: protocolOptions({}) }],
    ['none', { typed_extension_protocol_options: undefined }],
    ['typed-wrong-key', { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOption': http2Options()['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'] } }],
    // The options as a TypedStruct's value, which Envoy converts: what they say counts, not the wrapper.
    ['typed-struct-explicit-http2', { typed_extension_protocol_options: typedStructOptions({ explicit_http_config: { http2_protocol_options: {} } }) }],
    ['typed-struct-explicit-http1', { typed_extension_protocol_options: typedStructOptions({ explicit_http_config: { http_protocol_options: {} } }) }],
    ['typed-struct-empty', { typed_extension_protocol_options: typedStructOptions({}) }],
  ];
  const tlsForms: [string, Json | undefined, Json | undefined][] = [
    ['tls', tlsSocket(), undefined],
    ['tls-typed-only', { typed_config: (tlsSocket().typed_config as JsonMap) }, undefined],
    ['tls-name-only', { name: 'envoy.transport_sockets.tls' }, undefined],
    ['raw_buffer', { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } }, undefined],
    ['transport_socket_matches', undefined, [{ name: 'tls', match: {}, transport_socket: tlsSocket() }]],
    ['plaintext', undefined, undefined],
  ];
  const entries: CorpusEntry[] = [];
  for (const [http2Name, http2] of http2Forms) {
    for (const [tlsName, socket, matches] of tlsForms) {
      const cluster = eppCluster({ ...http2, transport_socket: socket, transport_socket_matches: matches });
      entries.push({ id: `${family}/${http2Name}/${tlsName}`, family, object: withFilter('c-protocol', externalProcessor(), cluster) });
    }
  }
  return entries;
}

/** Other cluster fields users get wrong: timeouts, load balancing, typos. */
export function clusterFields(): CorpusEntry[] {
  const family = 'cluster-field';
  const variants: [string, Record<string, Json | undefined>][] = [
    ['connect_timeout=0s', { connect_timeout: '0s' }],
    ['connect_timeout=-1s', { connect_timeout: '-1s' }],
    ['connect_timeout=2', { connect_timeout: 2 }],
    ['connect_timeout=unset', { connect_timeout: undefined }],
    ['lb_policy=round_robin', { lb_policy: 'round_robin' }],
    ['lb_policy=LEAST_REQUEST', { lb_policy: 'LEAST_REQUEST' }],
    ['lb_policy=99', { lb_policy: 99 }],
    ['lb_policy=CLUSTER_PROVIDED', { lb_policy: 'CLUSTER_PROVIDED' }],
    ['lb_policy=LOAD_BALANCING_POLICY_CONFIG', { lb_policy: 'LOAD_BALANCING_POLICY_CONFIG' }],
    ['lb_policy=7', { lb_policy: 7 }],
    [
      'lb_policy=LOAD_BALANCING_POLICY_CONFIG+load_balancing_policy',
      {
        lb_policy: 'LOAD_BALANCING_POLICY_CONFIG',
        load_balancing_policy: {
          policies: [{ typed_extension_config: { name: 'envoy.load_balancing_policies.round_robin', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin' } } }],
        },
      },
    ],
    ['health_checks-grpc-only', { health_checks: [{ grpc_health_check: {} }] }],
    ['health_checks-no-checker', { health_checks: [{ timeout: '1s', interval: '10s', unhealthy_threshold: 3, healthy_threshold: 1 }] }],
    ['health_checks-no-thresholds', { health_checks: [{ timeout: '1s', interval: '10s', grpc_health_check: {} }] }],
    ['health_checks-whole', { health_checks: [{ timeout: '1s', interval: '10s', unhealthy_threshold: 3, healthy_threshold: 1, grpc_health_check: {} }] }],
    ['typo-connect_time_out', { connect_time_out: '2s' }],
    ['typo-circuit-breakers-max_request', { circuit_breakers: { thresholds: [{ max_request: 4294967295 }] } }],
    ['typo-circuit-breakers-threshold', { circuit_breakers: { threshold: [{ max_requests: 4294967295 }] } }],
    ['typo-circuit-breakers-camel-maxRequest', { circuitBreakers: { thresholds: [{ maxRequest: 4294967295 }] } }],
    ['typo-http2_protocol_option', { typed_extension_protocol_options: undefined, http2_protocol_option: {} }],
    ['typo-connectTimeOut', { connectTimeOut: '2s' }],
    ['typo-address', { load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { adress: 'EPP_SERVICE_CLUSTER_IP', port_value: 9002 } } } }] }] } }],
    ['typo-port', { load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'EPP_SERVICE_CLUSTER_IP', port: 9002 } } } }] }] } }],
    // Written in both spellings: istiod reads the lowerCamelCase one alone.
    ['both-spellings-dns_refresh_rate', { dns_refresh_rate: 5, dnsRefreshRate: '5s' }],
    ['both-spellings-dns_lookup_family', { dns_lookup_family: 'bogus', dnsLookupFamily: 'V4_ONLY' }],
    ['@type', { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster' }],
    // A named port: Envoy's IP resolver (STATIC) takes none; a DNS cluster takes no custom resolver.
    ['static-named_port', { load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: PLACEHOLDER, named_port: 'grpc' } } } }] }] } }],
    ['static-port_value-and-named_port', { load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: PLACEHOLDER, port_value: 9002, named_port: 'grpc' } } } }] }] } }],
    [
      'logical_dns-resolver_name',
      { type: 'LOGICAL_DNS', load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'epp.example.svc.cluster.local', port_value: 9002, resolver_name: 'x' } } } }] }] } },
    ],
    [
      'strict_dns-resolver_name',
      { type: 'STRICT_DNS', load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'epp.example.svc.cluster.local', port_value: 9002, resolver_name: 'x' } } } }] }] } },
    ],
    ['no-name', { name: undefined }],
    ['empty-name', { name: '' }],
    ['name-mismatch', { name: 'other-cluster' }],
  ];
  const entries = variants.map(([name, fields]) => ({ id: `${family}/${name}`, family, object: withFilter('c-cluster-field', externalProcessor(), eppCluster(fields)) }));
  // A CLUSTER MERGE into the EPP cluster: its value is read as a Cluster too.
  const merge = (value: JsonMap): JsonMap => ({ applyTo: 'CLUSTER', match: { context: 'GATEWAY', cluster: { name: 'epp-cluster' } }, patch: { operation: 'MERGE', value } });
  for (const [name, value] of [
    ['dns_refresh_rate-number', { dns_refresh_rate: 5 }],
    ['typo-conect_timeout', { conect_timeout: '5s' }],
    ['circuit_breakers', { circuit_breakers: { thresholds: [{ max_connections: 100 }] } }],
  ] as [string, JsonMap][]) {
    entries.push({ id: `${family}/merge-${name}`, family, object: envoyFilter('c-cluster-field', [filterPatch(externalProcessor()), clusterPatch(eppCluster()), merge(value)]) });
  }
  return entries;
}

/**
 * Clusters beside the EPP's that other teams add with the same EnvoyFilter: the cluster checks hold them to what Envoy
 * enforces, so an extension cluster type or another extension's protocol options must pass as Envoy passes them.
 */
export function neighbourClusters(): CorpusEntry[] {
  const family = 'cluster-neighbour';
  const staticAt = (name: string, fields: JsonMap): JsonMap => ({
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.9', port_value: 5432 } } } }] }] },
    ...fields,
  });
  const extension = (name: string, type: string, config: JsonMap, fields: JsonMap = { lb_policy: 'CLUSTER_PROVIDED' }): JsonMap => ({
    name,
    connect_timeout: '1s',
    ...fields,
    cluster_type: { name: type, typed_config: config },
  });
  const aggregate = { '@type': 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig', clusters: ['backend'] };
  const forwardProxy = {
    '@type': 'type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig',
    dns_cache_config: { name: 'dynamic_forward_proxy_cache_config', dns_lookup_family: 'V4_ONLY' },
  };
  const tcpOptions = (key: string): JsonMap => ({
    typed_extension_protocol_options: { [key]: { '@type': 'type.googleapis.com/envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions', idle_timeout: '600s' } },
  });
  const variants: [string, JsonMap][] = [
    ['aggregate-CLUSTER_PROVIDED', extension('aggregate_cluster', 'envoy.clusters.aggregate', aggregate)],
    ['aggregate-camel-lbPolicy', extension('aggregate_cluster', 'envoy.clusters.aggregate', aggregate, { lbPolicy: 'CLUSTER_PROVIDED' })],
    ['dynamic_forward_proxy-CLUSTER_PROVIDED', extension('dynamic_forward_proxy_cluster', 'envoy.clusters.dynamic_forward_proxy', forwardProxy)],
    ['tcp-protocol-options', staticAt('tcp-backend', tcpOptions('envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions'))],
    ['tcp-protocol-options-wrong-key', staticAt('tcp-backend', tcpOptions('envoy.extensions.upstreams.tcp.v3.TcpProtocolOption'))],
  ];
  return variants.map(([name, cluster]) => ({
    id: `${family}/${name}`,
    family,
    object: envoyFilter('c-neighbour', [filterPatch(externalProcessor()), clusterPatch(eppCluster()), clusterPatch(cluster)]),
  }));
}

/** Two CLUSTER ADDs of one name (an exact copy, a corrected copy after a broken one) and, as the control, of two names. */
export function duplicateClusters(): CorpusEntry[] {
  const family = 'cluster-duplicate';
  const twoClusters = (second: JsonMap): JsonMap => envoyFilter('c-duplicate', [filterPatch(externalProcessor()), clusterPatch(eppCluster()), clusterPatch(second)]);
  return [
    { id: `${family}/exact-copy`, family, object: twoClusters(eppCluster()) },
    { id: `${family}/other-connect_timeout`, family, object: twoClusters(eppCluster({ connect_timeout: '5s' })) },
    { id: `${family}/other-port`, family, object: twoClusters(eppCluster({ load_assignment: endpointAt(PLACEHOLDER, 9003) })) },
    { id: `${family}/other-name`, family, object: twoClusters(eppCluster({ name: 'epp-cluster-b', load_assignment: { ...endpointAt(PLACEHOLDER), cluster_name: 'epp-cluster-b' } })) },
  ];
}

/**
 * The EPP cluster named as istiod names its own cluster of the EPP Service (the name people copy into cluster_name),
 * with and without the settings the EPP needs, and a subset's name; as the control, a name of its own.
 */
export function istiodClusterNames(): CorpusEntry[] {
  const family = 'cluster-istiod-name';
  const named = (name: string, fields: Record<string, Json | undefined> = {}): JsonMap =>
    envoyFilter('c-istiod-name', [
      filterPatch(externalProcessor({ grpc_service: { envoy_grpc: { cluster_name: name } } })),
      clusterPatch(eppCluster({ name, load_assignment: { ...endpointAt(PLACEHOLDER), cluster_name: name }, ...fields })),
    ]);
  const istiod = `outbound|9002||gaie-inference-scheduling-epp.${NAMESPACE}.svc.cluster.local`;
  return [
    { id: `${family}/epp-service`, family, object: named(istiod) },
    { id: `${family}/epp-service-no-http2`, family, object: named(istiod, { typed_extension_protocol_options: undefined, transport_socket: undefined }) },
    { id: `${family}/subset`, family, object: named(`outbound|9002|v1|gaie-inference-scheduling-epp.${NAMESPACE}.svc.cluster.local`) },
    { id: `${family}/own-name`, family, object: named('outbound-epp') },
  ];
}
