import { CIRCUIT_BREAKERS_FIELDS, CLUSTER_FIELDS, THRESHOLDS_FIELDS } from '../../../src/envoyfilter/cluster-schema.ts';
import { EXT_PROC_SCHEMA, type MessageName } from '../../../src/envoyfilter/ext-proc-schema.ts';
import {
  clusterPatch,
  envoyFilter,
  eppCluster,
  eppMode,
  EXT_PROC_PER_ROUTE,
  EXTERNAL_PROCESSOR,
  externalProcessor,
  extProcPerRoute,
  filterPatch,
  grpcToEpp,
  mergeIntoIstiodFilter,
  withFilter,
  withPerRoute,
  type Json,
  type JsonMap,
} from './building-blocks.ts';
import type { CorpusEntry } from './corpus-entry.ts';

/** Values of every JSON type, and the edge cases of each kind's reading (ext-proc-schema.ts). */
const VALUES: Record<string, Json[]> = {
  bool: [true, false, 'true', 'false', 1, 0, null, {}, [], { value: true }],
  'bool-value': [true, false, 'true', 1, null, {}, [], { value: true }],
  string: ['', 'x', 1, true, null, {}, [], 'x'.repeat(300)],
  duration: ['0s', '1s', '-1s', '1.5s', '1', 1, '0.0001s', '1000000000s', '315576000001s', 'abc', '1ms', null, {}, { seconds: 1 }],
  enum: [0, 1, 2, 99, -1, 'DEFAULT', 'BOGUS', '1', 1.5, null, true, {}, 4294967296, '4294967296', '99', 'clear'],
  uint32: [0, 1, -1, 1.5, '7', ' 7', '1e2', 4294967295, 4294967296, 'x', true, {}, [], null, { value: 1 }],
  'list:string': [[], ['x'], 'x', {}, 1, true, [1], null, [null], [{}], [true], [[]], 'request..path', [['request..path']]],
  'list:object': [[], [{}], 'x', {}, [1], null, [null], ['x'], [[]], [true], { request_body_mode: 'BOGUS', key: '' }],
  'list:any': [[], [{}], [{ '@type': 'type.googleapis.com/envoy.config.core.v3.HeaderValue', key: 'x' }], ['x'], [null], {}],
  object: [{}, [], 'x', 1, null, true, { bogus: 1 }],
  message: [{}, [], 'x', 1, null, true, { bogus: 1 }],
};

/**
 * Every field of the ext_proc messages the webhook reads, set to each value of its kind's list above, one at a time in a
 * well-wired config: in the filter, in a route override, in a MERGE into istiod's filter and in a TypedStruct (read by
 * Envoy, not istiod), and in each nested message (gRPC and HTTP services). What the webhook's type reading has to
 * match, in istiod's jsonpb and in Envoy's own JSON reader. And the same for the fields of the EPP cluster.
 */
export function fieldSweep(): CorpusEntry[] {
  const family = 'field-sweep';
  const entries = new Map<string, CorpusEntry>();
  const sweep = (message: MessageName, site: string, skip: readonly string[], wrap: (field: string, value: Json) => JsonMap) => {
    for (const [field, kind] of Object.entries(EXT_PROC_SCHEMA[message].fields)) {
      if (skip.includes(field)) continue;
      for (const value of VALUES[kind.startsWith('message:') ? 'message' : kind]) {
        const id = `${family}/${site}.${field}=${JSON.stringify(value).slice(0, 40)}`;
        entries.set(id, { id, family, object: wrap(field, value) });
      }
    }
  };
  const google = { target_uri: 'epp:9002', stat_prefix: 'epp' };
  const uri = { uri: 'http://epp:9002/', cluster: 'epp-cluster', timeout: '1s' };
  const headersOnly = { request_header_mode: 'SEND', response_header_mode: 'SKIP' };
  const viaHttp = (http: JsonMap) => withFilter('c-sweep', externalProcessor({ grpc_service: undefined, processing_mode: headersOnly, http_service: { http_service: http } }));
  const typed = (typeUrl: string, value: JsonMap): JsonMap => ({ '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: typeUrl, value });

  sweep('ExternalProcessor', 'filter', ['processing_mode'], (f, v) => withFilter('c-sweep', externalProcessor({ [f]: v })));
  sweep('ExtProcPerRoute', 'per-route', [], (f, v) => withPerRoute('c-sweep', extProcPerRoute({ [f]: v })));
  sweep('ExtProcOverrides', 'override', ['processing_mode'], (f, v) => withPerRoute('c-sweep', extProcPerRoute({ overrides: { processing_mode: eppMode(), [f]: v } })));
  sweep('GrpcService', 'grpc_service', ['envoy_grpc'], (f, v) => withFilter('c-sweep', externalProcessor({ grpc_service: { ...grpcToEpp(), [f]: v } })));
  sweep('EnvoyGrpc', 'envoy_grpc', ['cluster_name'], (f, v) => withFilter('c-sweep', externalProcessor({ grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster', [f]: v } } })));
  sweep('GoogleGrpc', 'google_grpc', [], (f, v) => withFilter('c-sweep', externalProcessor({ grpc_service: { google_grpc: { ...google, [f]: v } } })));
  sweep('HttpService', 'http_service', ['http_uri'], (f, v) => viaHttp({ http_uri: uri, [f]: v }));
  sweep('HttpUri', 'http_uri', [], (f, v) => viaHttp({ http_uri: { ...uri, [f]: v } }));
  sweep('ExternalProcessor', 'merge', ['processing_mode'], (f, v) => envoyFilter('c-sweep', [mergeIntoIstiodFilter({ typed_config: { '@type': EXTERNAL_PROCESSOR, processing_mode: eppMode(), [f]: v } })]));
  sweep('ExternalProcessor', 'typed-struct', ['processing_mode'], (f, v) =>
    envoyFilter('c-sweep', [filterPatch(typed(EXTERNAL_PROCESSOR, { grpc_service: grpcToEpp(), processing_mode: eppMode(), [f]: v })), clusterPatch(eppCluster())]),
  );
  const typedWith = (grpc: JsonMap) => envoyFilter('c-sweep', [filterPatch(typed(EXTERNAL_PROCESSOR, { grpc_service: grpc, processing_mode: eppMode() })), clusterPatch(eppCluster())]);
  sweep('GrpcService', 'typed-struct.grpc_service', ['envoy_grpc'], (f, v) => typedWith({ ...grpcToEpp(), [f]: v }));
  sweep('EnvoyGrpc', 'typed-struct.envoy_grpc', ['cluster_name'], (f, v) => typedWith({ envoy_grpc: { cluster_name: 'epp-cluster', [f]: v } }));
  sweep('ExtProcOverrides', 'typed-struct-override', ['processing_mode'], (f, v) => withPerRoute('c-sweep', typed(EXT_PROC_PER_ROUTE, { overrides: { processing_mode: eppMode(), [f]: v } })));

  // The EPP cluster's own fields (cluster-schema.ts), but those the cluster families vary with the wiring in view.
  const clusterValues: Record<string, Json[]> = {
    ...VALUES,
    duration: [...VALUES.duration, '1.5ms'],
    enum: [0, 1, 4, 5, 99, -1, 'x', 'V4_ONLY', 'v4_only', 'USE_DOWNSTREAM_PROTOCOL', '1', 1.5],
    object: [...VALUES.object, { name: 'x' }, { base_interval: '1s' }, { ads: {} }, { policies: [] }],
    'list:object': [...VALUES['list:object'], [{ name: 'x' }], [{ socket_address: { address: '127.0.0.1', port_value: 53 } }]],
  };
  const wiring = new Set(['name', 'type', 'cluster_type', 'load_assignment', 'connect_timeout', 'typed_extension_protocol_options', 'transport_socket']);
  for (const [field, kind] of Object.entries(CLUSTER_FIELDS)) {
    if (wiring.has(field)) continue;
    for (const value of clusterValues[kind]) {
      const id = `${family}/cluster.${field}=${JSON.stringify(value).slice(0, 40)}`;
      entries.set(id, { id, family, object: withFilter('c-sweep', externalProcessor(), eppCluster({ [field]: value })) });
    }
  }
  // Inside the cluster: circuit_breakers (EPP322 has users write it) and an entry of its thresholds.
  const nested = (site: string, fields: Readonly<Record<string, string>>, wrap: (field: string, value: Json) => JsonMap) => {
    for (const [field, kind] of Object.entries(fields)) {
      const values = field === 'priority' ? ['DEFAULT', 'HIGH', 'default', 0, 1, 2, 99, -1, '1', 1.5, true, null] : clusterValues[kind];
      for (const value of values) {
        const id = `${family}/cluster.${site}.${field}=${JSON.stringify(value).slice(0, 40)}`;
        entries.set(id, { id, family, object: withFilter('c-sweep', externalProcessor(), eppCluster(wrap(field, value))) });
      }
    }
  };
  nested('circuit_breakers', CIRCUIT_BREAKERS_FIELDS, (f, v) => ({ circuit_breakers: { [f]: v } }));
  nested('circuit_breakers.thresholds[0]', THRESHOLDS_FIELDS, (f, v) => ({ circuit_breakers: { thresholds: [{ max_requests: 4294967295, [f]: v }] } }));
  return [...entries.values()];
}
