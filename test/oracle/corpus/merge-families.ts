import { clusterPatch, envoyFilter, EPP_CLUSTER, eppCluster, eppMode, EXT_PROC, EXTERNAL_PROCESSOR, extProcPerRoute, grpcToEpp, mergeIntoIstiodFilter, perRoutePatch, type Json, type JsonMap } from './building-blocks.ts';
import type { CorpusEntry } from './corpus-entry.ts';

const ISTIO_EPP_CLUSTER = 'outbound|9002||gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local';

/** The MERGE's typed_config: an ExternalProcessor with `fields` (no grpc_service unless given: istiod's filter has one). */
function merged(fields: Record<string, Json>): JsonMap {
  return { typed_config: { '@type': EXTERNAL_PROCESSOR, ...fields } };
}

const tag = (value: Json | undefined) => (value === undefined ? 'unset' : typeof value === 'string' ? value : JSON.stringify(value));

/**
 * MERGEs into istiod's InferencePool ext_proc filter (headers SKIP, no body or trailer modes): the filter Envoy gets
 * is istiod's with the fields the MERGE sets, so FULL_DUPLEX_STREAMED needs the MERGE to set the trailer mode SEND.
 */
export function mergesIntoIstiodFilter(): CorpusEntry[] {
  const family = 'merge-istiod-filter';
  const entries: CorpusEntry[] = [];
  const add = (name: string, configPatches: Json[]) => entries.push({ id: `${family}/${name}`, family, object: envoyFilter(`c-${family}`, configPatches) });

  // Body mode by trailer mode, one direction at a time, the other left to istiod's filter; headers sent.
  for (const direction of ['request', 'response']) {
    for (const body of ['NONE', 'STREAMED', 'BUFFERED', 'FULL_DUPLEX_STREAMED', 4]) {
      for (const trailer of [undefined, 'DEFAULT', 'SEND', 'SKIP', 0, 1]) {
        const mode: JsonMap = { request_header_mode: 'SEND', response_header_mode: 'SEND', [`${direction}_body_mode`]: body };
        if (trailer !== undefined) mode[`${direction}_trailer_mode`] = trailer;
        add(`${direction}:${tag(body)}+${tag(trailer)}`, [mergeIntoIstiodFilter(merged({ processing_mode: mode }))]);
      }
    }
  }
  // Both directions FULL_DUPLEX_STREAMED, with the trailers the MERGE sets.
  for (const [name, trailers] of [
    ['both-trailers', { request_trailer_mode: 'SEND', response_trailer_mode: 'SEND' }],
    ['request-trailer-only', { request_trailer_mode: 'SEND' }],
    ['response-trailer-only', { response_trailer_mode: 'SEND' }],
    ['no-trailers', {}],
    ['camelCase-trailers', { requestTrailerMode: 'SEND', responseTrailerMode: 'SEND' }],
  ] as [string, JsonMap][]) {
    const mode = { request_header_mode: 'SEND', request_body_mode: 'FULL_DUPLEX_STREAMED', response_header_mode: 'SEND', response_body_mode: 'FULL_DUPLEX_STREAMED', ...trailers };
    add(`full-duplex/${name}`, [mergeIntoIstiodFilter(merged({ processing_mode: mode }))]);
  }
  // Header-only and empty modes: what istiod's SKIP headers become.
  const headerModes: [string, JsonMap | undefined][] = [
    ['request-header-send', { request_header_mode: 'SEND' }],
    ['both-headers-send', { request_header_mode: 'SEND', response_header_mode: 'SEND' }],
    ['request-header-default', { request_header_mode: 'DEFAULT' }],
    ['request-header-default-body-none', { request_header_mode: 'DEFAULT', request_body_mode: 'NONE' }],
    ['request-header-send-body-none', { request_header_mode: 'SEND', request_body_mode: 'NONE' }],
    ['response-header-skip', { response_header_mode: 'SKIP' }],
    ['empty-mode', {}],
    ['no-mode', undefined],
    ['epp-mode', eppMode()],
  ];
  for (const [name, mode] of headerModes) {
    add(`headers/${name}`, [mergeIntoIstiodFilter(merged(mode === undefined ? { message_timeout: '5s' } : { processing_mode: mode }))]);
  }
  // The MERGE names the EPP: istiod's cluster of the EPP Service, or a cluster this EnvoyFilter adds.
  const fullDuplexNoTrailer = { request_header_mode: 'SEND', response_header_mode: 'SEND', request_body_mode: 'FULL_DUPLEX_STREAMED' };
  add('service/istio-cluster-no-trailer', [mergeIntoIstiodFilter(merged({ grpc_service: { envoy_grpc: { cluster_name: ISTIO_EPP_CLUSTER } }, processing_mode: fullDuplexNoTrailer }))]);
  add('service/added-cluster-no-trailer', [mergeIntoIstiodFilter(merged({ grpc_service: grpcToEpp(), processing_mode: fullDuplexNoTrailer })), clusterPatch(eppCluster())]);
  add('service/added-cluster-epp-mode', [mergeIntoIstiodFilter(merged({ grpc_service: grpcToEpp(), processing_mode: eppMode() })), clusterPatch(eppCluster())]);
  // http_service beside istiod's grpc_service: the merged filter has both.
  add('service/http-service', [
    mergeIntoIstiodFilter(merged({ http_service: { http_uri: { uri: 'http://epp:9002/', cluster: EPP_CLUSTER, timeout: '1s' } }, processing_mode: { request_header_mode: 'SEND' } })),
    clusterPatch(eppCluster()),
  ]);
  // A grpc_service that sets only a timeout keeps istiod's envoy_grpc; a google_grpc takes its place (a oneof).
  add('service/timeout-only', [mergeIntoIstiodFilter(merged({ grpc_service: { timeout: '30s' }, processing_mode: eppMode() }))]);
  add('service/google-grpc', [mergeIntoIstiodFilter(merged({ grpc_service: { google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' } }, processing_mode: eppMode() }))]);
  // As published (a MERGE with the filter's other fields too), with FULL_DUPLEX_STREAMED in place of STREAMED.
  const published = (mode: JsonMap) =>
    merged({ grpc_service: { envoy_grpc: { cluster_name: ISTIO_EPP_CLUSTER }, timeout: '30s' }, failure_mode_allow: true, processing_mode: mode, message_timeout: '30s' });
  add('published/full-duplex-no-trailer', [mergeIntoIstiodFilter(published(fullDuplexNoTrailer))]);
  add('published/full-duplex-trailer-send', [mergeIntoIstiodFilter(published({ ...fullDuplexNoTrailer, request_trailer_mode: 'SEND' }))]);
  add('published/streamed', [mergeIntoIstiodFilter(published({ request_header_mode: 'SEND', response_header_mode: 'SEND', request_body_mode: 'STREAMED' }))]);
  // failure_mode_allow false is proto3's zero: the merge keeps istiod's true.
  add('fail-open/false', [mergeIntoIstiodFilter(merged({ failure_mode_allow: false, processing_mode: { ...fullDuplexNoTrailer, request_trailer_mode: 'SEND' } }))]);
  // The filter's name written in the MERGE value, and contexts.
  add('name/written', [mergeIntoIstiodFilter({ name: EXT_PROC, ...merged({ processing_mode: fullDuplexNoTrailer }) })]);
  add('name/only', [mergeIntoIstiodFilter({ name: EXT_PROC })]);
  add('context/any', [mergeIntoIstiodFilter(merged({ processing_mode: fullDuplexNoTrailer }), 'ANY')]);
  // Two MERGEs: Envoy gets istiod's filter after both, in order.
  const trailersSent = { ...fullDuplexNoTrailer, request_trailer_mode: 'SEND' };
  add('two-merges/trailer-first', [mergeIntoIstiodFilter(merged({ processing_mode: { request_trailer_mode: 'SEND' } })), mergeIntoIstiodFilter(merged({ processing_mode: fullDuplexNoTrailer }))]);
  add('two-merges/trailer-skip-after', [mergeIntoIstiodFilter(merged({ processing_mode: trailersSent })), mergeIntoIstiodFilter(merged({ processing_mode: { request_trailer_mode: 'SKIP' } }))]);
  add('two-merges/body-replaced', [
    mergeIntoIstiodFilter(merged({ processing_mode: { request_header_mode: 'SEND', request_body_mode: 'BUFFERED' } })),
    mergeIntoIstiodFilter(merged({ processing_mode: trailersSent })),
  ]);
  // A typed_config of another message: istiod's merge into its ExternalProcessor fails (a TypedStruct is no ExternalProcessor).
  for (const wrapper of ['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']) {
    add(`typed-struct/${wrapper}`, [mergeIntoIstiodFilter({ typed_config: { '@type': `type.googleapis.com/${wrapper}`, type_url: EXTERNAL_PROCESSOR, value: { processing_mode: trailersSent } } })]);
  }
  add('other-type/router', [mergeIntoIstiodFilter({ typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } })]);
  // A route override beside it does not lift Envoy's trailer rule on the filter.
  add('with-route-override/no-trailer', [
    mergeIntoIstiodFilter(merged({ processing_mode: fullDuplexNoTrailer })),
    perRoutePatch(extProcPerRoute({ overrides: { grpc_service: { envoy_grpc: { cluster_name: ISTIO_EPP_CLUSTER } }, processing_mode: eppMode() } })),
  ]);
  return entries;
}
