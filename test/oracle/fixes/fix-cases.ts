/**
 * Manifests beyond the differential corpus that put a finding in a context its fix must also work in: the corpus varies
 * one field of a well-wired config, so a fix that needs a neighbour field (a trailer mode beside a body mode) is right
 * there by construction.
 */
import {
  clusterPatch,
  eppCluster,
  eppMode,
  EXT_PROC,
  envoyFilter,
  EXTERNAL_PROCESSOR,
  EXT_PROC_PER_ROUTE,
  externalProcessor,
  extProcPerRoute,
  filterPatch,
  grpcToEpp,
  mergeIntoIstiodFilter,
  perRoutePatch,
  withFilter,
  withPerRoute,
  type JsonMap,
} from '../corpus/building-blocks.ts';
import type { CorpusEntry } from '../corpus/corpus-entry.ts';

const family = 'fix-context';

/** A processing_mode with headers sent and `fields`, no trailer modes unless given. */
const modeWith = (fields: JsonMap): JsonMap => ({ request_header_mode: 'SEND', response_header_mode: 'SEND', ...fields });

const typedStruct = (typeUrl: string, value: JsonMap): JsonMap => ({ '@type': 'type.googleapis.com/xds.type.v3.TypedStruct', type_url: typeUrl, value });

function withoutSubFilter(patch: JsonMap): JsonMap {
  delete ((patch.match as JsonMap).listener as { filterChain: { filter: JsonMap } }).filterChain.filter.subFilter;
  return patch;
}

/** The same MERGE as perRoutePatch on every virtual host of the gateway (no route match). */
function virtualHostPatch(perRoute: JsonMap): JsonMap {
  return { ...perRoutePatch(perRoute), applyTo: 'VIRTUAL_HOST', match: { context: 'GATEWAY', routeConfiguration: { vhost: {} } } };
}

function annotated(object: JsonMap, epp: string): JsonMap {
  return { ...object, metadata: { ...(object.metadata as JsonMap), annotations: { 'epp-webhook.io/epp': epp } } };
}

export function fixCases(): CorpusEntry[] {
  const cases: [string, JsonMap][] = [
    // EPP201/EPP210 on a body mode, no trailer mode written: the EPP's body mode needs the trailer mode SEND.
    ['body-lower-case-no-trailer', withFilter('f', externalProcessor({ processing_mode: modeWith({ request_body_mode: 'full_duplex_streamed' }) }))],
    ['body-number-no-trailer', withFilter('f', externalProcessor({ processing_mode: modeWith({ request_body_mode: 7 }) }))],
    ['response-body-lower-case-no-trailer', withFilter('f', externalProcessor({ processing_mode: modeWith({ request_body_mode: 'FULL_DUPLEX_STREAMED', request_trailer_mode: 'SEND', response_body_mode: 'full_duplex_streamed' }) }))],
    ['per-route-body-lower-case-no-trailer', withPerRoute('f', extProcPerRoute({ overrides: { processing_mode: modeWith({ request_body_mode: 'full_duplex_streamed' }) } }))],
    // EPP201 on a trailer mode beside FULL_DUPLEX_STREAMED, written in lowerCamelCase.
    ['trailer-camel-lower-case', withFilter('f', externalProcessor({ processing_mode: modeWith({ requestBodyMode: 'FULL_DUPLEX_STREAMED', requestTrailerMode: 'send' }) }))],
    // EPP202 and EPP204 with the trailer mode written in lowerCamelCase.
    ['buffered-camel-trailer', withFilter('f', externalProcessor({ processing_mode: modeWith({ requestBodyMode: 'BUFFERED', requestTrailerMode: 'SKIP' }) }))],
    ['none-camel-trailer', withFilter('f', externalProcessor({ processing_mode: modeWith({ requestBodyMode: 'NONE', requestTrailerMode: 'SKIP' }) }))],
    // EPP204 with processing_mode written in lowerCamelCase, request_body_mode unset.
    ['headers-only-camel-processing-mode', withFilter('f', externalProcessor({ processing_mode: undefined, processingMode: { requestHeaderMode: 'SEND' } }))],
    // EPP204 with no processing_mode at all (Envoy's default: headers SEND, bodies NONE).
    ['no-processing-mode', withFilter('f', externalProcessor({ processing_mode: undefined }))],
    // EPP203 in a MERGE into istiod's filter with lowerCamelCase keys.
    ['merge-camel-no-trailer', envoyFilter('f', [mergeIntoIstiodFilter({ typed_config: { '@type': EXTERNAL_PROCESSOR, processingMode: { requestHeaderMode: 'SEND', requestBodyMode: 'FULL_DUPLEX_STREAMED' } } })])],
    // EPP206 on a filter that sends nothing, with an EPP cluster (its fix: send headers and bodies).
    ['sends-nothing-camel', withFilter('f', externalProcessor({ processing_mode: undefined, processingMode: { requestHeaderMode: 'SKIP', responseHeaderMode: 'SKIP' } }))],
    // EPP206 on a route override under istiod's key that names the EPP cluster but no processing_mode, with no filter of
    // its own: istiod's filter runs at its own mode, which sends nothing (its fix: the EPP's mode in the override).
    ['route-override-without-mode', envoyFilter('f', [perRoutePatch(extProcPerRoute({ overrides: { grpc_service: grpcToEpp() } })), clusterPatch(eppCluster())])],
    // EPP206 on a route override under istiod's key that names neither cluster nor mode (only failure_mode_allow, as if
    // it added to istiod's override): istiod's filter keeps its own cluster and mode (its fix: write the override whole).
    ['route-override-failure-mode-only', envoyFilter('f', [perRoutePatch(extProcPerRoute({ overrides: { failure_mode_allow: false } })), clusterPatch(eppCluster())])],
    // EPP302 on a cluster with the legacy HTTP/1 options (Envoy refuses them beside typed_extension_protocol_options).
    ['legacy-http1-options', withFilter('f', externalProcessor(), eppCluster({ typed_extension_protocol_options: undefined, http_protocol_options: {} }))],
    // EPP311 on ORIGINAL_DST without a load_assignment, and on EDS without one.
    // EPP322 at each place its fix may point: circuit_breakers without thresholds, thresholds without a DEFAULT entry,
    // a DEFAULT entry at a low limit in lowerCamelCase, a null entry (an empty DEFAULT one to istiod), and in the
    // spelling istiod reads where both are written.
    ['breakers-without-thresholds', withFilter('f', externalProcessor(), eppCluster({ circuit_breakers: {} }))],
    ['breakers-high-only', withFilter('f', externalProcessor(), eppCluster({ circuit_breakers: { thresholds: [{ priority: 'HIGH', max_requests: 100000 }] } }))],
    ['breakers-default-low-camel', withFilter('f', externalProcessor(), eppCluster({ circuitBreakers: { thresholds: [{ maxRequests: 100, max_connections: 5000 }] } }))],
    ['breakers-null-entry', withFilter('f', externalProcessor(), eppCluster({ circuit_breakers: { thresholds: [null, { max_requests: 100000 }] } }))],
    // Both spellings: the fix names the one istiod reads.
    ['breakers-both-spellings', withFilter('f', externalProcessor(), eppCluster({ circuit_breakers: { thresholds: [{ max_requests: 5000, maxRequests: 100 }] } }))],
    ['breakers-camel-null-beside', withFilter('f', externalProcessor(), eppCluster({ circuit_breakers: { thresholds: [{ max_requests: 5000 }] }, circuitBreakers: null }))],
    ['original-dst-no-endpoints', withFilter('f', externalProcessor(), eppCluster({ type: 'ORIGINAL_DST', load_assignment: undefined }))],
    ['eds-no-endpoints', withFilter('f', externalProcessor(), eppCluster({ type: 'EDS', load_assignment: undefined }))],
    // EPP310 on lb_policy written in lower case beside an ORIGINAL_DST cluster.
    ['original-dst-lb-lower-case', withFilter('f', externalProcessor(), eppCluster({ type: 'ORIGINAL_DST', lb_policy: 'cluster_provided', load_assignment: undefined }))],
    // EPP216 on a per-route override's empty grpc_service.
    ['per-route-grpc-empty', withPerRoute('f', extProcPerRoute({ overrides: { processing_mode: eppMode(), grpc_service: {} } }))],
    // EPP301 on a filter with no typed_config at all (only its name).
    ['filter-without-typed-config', envoyFilter('f', [{ ...filterPatch(undefined) }, clusterPatch(eppCluster())])],
    // EPP316 (Envoy's filter refuses the two together), and EPP221's oneofs in a TypedStruct.
    ['route-cache-both', withFilter('f', externalProcessor({ disable_clear_route_cache: true, route_cache_action: 'CLEAR' }))],
    ['typed-struct-both-grpc', envoyFilter('f', [filterPatch(typedStruct(EXTERNAL_PROCESSOR, { grpc_service: { ...grpcToEpp(), google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' } }, processing_mode: eppMode() })), clusterPatch(eppCluster())])],
    ['typed-struct-disabled-and-overrides', withPerRoute('f', typedStruct(EXT_PROC_PER_ROUTE, { disabled: true, overrides: { processing_mode: eppMode() } }))],
    // EPP230 on a route override without grpc_service beside a MERGE into istiod's filter that names none either.
    ...(['fails-open', 'fails-closed'] as const).map((fails): [string, JsonMap] => [
      `merge-without-grpc-beside-override-without-${fails}`,
      envoyFilter('f', [
        mergeIntoIstiodFilter({ name: EXT_PROC, typed_config: { '@type': EXTERNAL_PROCESSOR, message_timeout: '10s', processing_mode: eppMode() } }),
        perRoutePatch(extProcPerRoute({ overrides: { processing_mode: eppMode(), ...(fails === 'fails-closed' ? { failure_mode_allow: false } : {}) } })),
        clusterPatch(eppCluster()),
      ]),
    ]),
    // EPP230 on the example's route override written as a VIRTUAL_HOST MERGE naming the EPP cluster, with and without
    // the EPP's processing_mode (its fix: the route patch per InferencePool route, beside or in place of this one).
    ...([true, false] as const).map((withMode): [string, JsonMap] => [
      `virtual-host-override-naming-cluster${withMode ? '' : '-without-mode'}`,
      envoyFilter('f', [virtualHostPatch(extProcPerRoute({ overrides: { grpc_service: grpcToEpp(), ...(withMode ? { processing_mode: eppMode() } : {}), failure_mode_allow: false } })), clusterPatch(eppCluster())]),
    ]),
    // EPP214/EPP221/EPP216 from the field sweep (test/oracle/corpus/field-sweep.ts), each in a context where its fix has a meaning.
    ['attribute-not-string', withFilter('f', externalProcessor({ request_attributes: ['request.path', 1] }))],
    ['initial-metadata-entry-not-object', withFilter('f', externalProcessor({ grpc_service: { ...grpcToEpp(), initial_metadata: ['x-epp: 1'] } }))],
    ['initial-metadata-null-entry', withFilter('f', externalProcessor({ grpc_service: { ...grpcToEpp(), initial_metadata: [null] } }))],
    ['override-metadata-entry-not-object', withPerRoute('f', extProcPerRoute({ overrides: { processing_mode: eppMode(), grpc_initial_metadata: [1] } }))],
    ['override-mode-not-object', withFilter('f', externalProcessor({ allow_mode_override: true, allowed_override_modes: ['FULL_DUPLEX_STREAMED'] }))],
    ['max-receive-message-length-negative', withFilter('f', externalProcessor({ grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster', max_receive_message_length: -1 } } }))],
    ['route-cache-action-unknown', withFilter('f', externalProcessor({ route_cache_action: 'clear' }))],
    ['mutation-rules-not-object', withFilter('f', externalProcessor({ mutation_rules: 'allow_all_routing' }))],
    ['typed-struct-route-cache-action-unknown', envoyFilter('f', [filterPatch(typedStruct(EXTERNAL_PROCESSOR, { grpc_service: grpcToEpp(), processing_mode: eppMode(), route_cache_action: 'CLEAN' })), clusterPatch(eppCluster())])],
    ['typed-struct-attribute-not-string', envoyFilter('f', [filterPatch(typedStruct(EXTERNAL_PROCESSOR, { grpc_service: grpcToEpp(), processing_mode: eppMode(), request_attributes: [true] })), clusterPatch(eppCluster())])],
    ['typed-struct-bool-number', envoyFilter('f', [filterPatch(typedStruct(EXTERNAL_PROCESSOR, { grpc_service: grpcToEpp(), processing_mode: eppMode(), failure_mode_allow: 1 })), clusterPatch(eppCluster())])],
    ['google-grpc-call-credentials-empty', withFilter('f', externalProcessor({ grpc_service: { google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp', call_credentials: [{}] } } }))],
    ['google-grpc-channel-credentials-empty', withFilter('f', externalProcessor({ grpc_service: { google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp', channel_credentials: {} } } }))],
    [
      'http-service-header-empty',
      withFilter('f', externalProcessor({ grpc_service: undefined, processing_mode: { request_header_mode: 'SEND' }, http_service: { http_service: { http_uri: { uri: 'http://epp:9002/', cluster: 'epp-cluster', timeout: '1s' }, request_headers_to_add: [{}] } } })),
    ],
    // EPP310/EPP311/EPP312/EPP320 on the EPP cluster's other fields, from the field sweep.
    ['cluster-circuit-breakers-list', withFilter('f', externalProcessor(), eppCluster({ circuit_breakers: [] }))],
    ['cluster-dns-lookup-family-lower-case', withFilter('f', externalProcessor(), eppCluster({ dns_lookup_family: 'v4_only' }))],
    ['cluster-dns-refresh-rate-zero', withFilter('f', externalProcessor(), eppCluster({ dns_refresh_rate: '0s' }))],
    ['cluster-buffer-timeout-negative', withFilter('f', externalProcessor(), eppCluster({ per_connection_buffer_high_watermark_timeout: '-1s' }))],
    ['cluster-eds-config-on-static', withFilter('f', externalProcessor(), eppCluster({ eds_cluster_config: {} }))],
    ['cluster-dns-resolver-empty', withFilter('f', externalProcessor(), eppCluster({ dns_resolvers: [{}] }))],
    ['cluster-upstream-config-empty', withFilter('f', externalProcessor(), eppCluster({ upstream_config: {} }))],
    ['cluster-health-check-null', withFilter('f', externalProcessor(), eppCluster({ health_checks: [null] }))],
    // EPP307: processing_mode not a mapping.
    ['processing-mode-scalar', withFilter('f', externalProcessor({ processing_mode: 'FULL_DUPLEX_STREAMED' }))],
    // EPP208 and EPP209: the epp-webhook.io/epp annotation.
    ['epp-annotation-yes', annotated(withFilter('f', externalProcessor()), 'yes')],
    ['epp-annotation-false-with-placeholder', annotated(withFilter('f', externalProcessor()), 'false')],
    // EPP319: the filter put after the router, with or without a subFilter to rewrite.
    ['filter-added', envoyFilter('f', [filterPatch(externalProcessor(), { operation: 'ADD' }), clusterPatch(eppCluster())])],
    ['filter-inserted-after-router', envoyFilter('f', [filterPatch(externalProcessor(), { operation: 'INSERT_AFTER' }), clusterPatch(eppCluster())])],
    ['filter-inserted-after-nothing', envoyFilter('f', [withoutSubFilter(filterPatch(externalProcessor(), { operation: 'INSERT_AFTER' })), clusterPatch(eppCluster())])],
  ];
  return cases.map(([name, object]) => ({ id: `${family}/${name}`, family, object }));
}
