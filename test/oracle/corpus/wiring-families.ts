import {
  eppCluster,
  eppMode,
  EPP_CLUSTER,
  envoyFilter,
  EXTERNAL_PROCESSOR,
  EXT_PROC_PER_ROUTE,
  externalProcessor,
  extProcPerRoute,
  filterPatch,
  grpcToEpp,
  clusterPatch,
  perRoutePatch,
  withFilter,
  withPerRoute,
  type Json,
  type JsonMap,
} from './building-blocks.ts';
import type { CorpusEntry } from './corpus-entry.ts';

const tag = (value: Json | undefined) => (value === undefined ? 'unset' : typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

/** The ExtProcHttpService wrapper around an HttpService pointing at the EPP cluster. */
function httpService(fields: JsonMap = {}): JsonMap {
  return { http_service: { http_uri: { uri: 'http://epp:9002/', cluster: EPP_CLUSTER, timeout: '1s' }, ...fields } };
}

/** grpc_service / http_service in every shape: empty, half-written, both, neither, Google gRPC, odd types. */
export function serviceShapes(): CorpusEntry[] {
  const family = 'service-shape';
  const grpcShapes: [string, Json | undefined][] = [
    ['envoy_grpc', grpcToEpp()],
    ['camel-envoyGrpc', { envoyGrpc: { clusterName: EPP_CLUSTER } }],
    ['empty', {}],
    ['null', null],
    ['string', EPP_CLUSTER],
    ['list', [grpcToEpp()]],
    ['envoy_grpc-empty', { envoy_grpc: {} }],
    ['envoy_grpc-null', { envoy_grpc: null }],
    ['cluster_name-empty', { envoy_grpc: { cluster_name: '' } }],
    ['cluster_name-number', { envoy_grpc: { cluster_name: 9002 } }],
    ['authority', { envoy_grpc: { cluster_name: EPP_CLUSTER, authority: 'epp.llm-d.svc' } }],
    ['authority-bad', { envoy_grpc: { cluster_name: EPP_CLUSTER, authority: 'bad host\n' } }],
    ['google_grpc', { google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' } }],
    ['google_grpc-no-stat_prefix', { google_grpc: { target_uri: 'epp:9002' } }],
    ['google_grpc-no-target', { google_grpc: { stat_prefix: 'epp' } }],
    ['both-grpc-kinds', { envoy_grpc: { cluster_name: EPP_CLUSTER }, google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' } }],
    // Which of the two reaches Envoy, in either order: the one whose rules Envoy applies (keptGrpcTarget).
    ['both-grpc-kinds-bad-google-last', { envoy_grpc: { cluster_name: EPP_CLUSTER }, google_grpc: {} }],
    ['both-grpc-kinds-bad-google-first', { google_grpc: {}, envoy_grpc: { cluster_name: EPP_CLUSTER } }],
    ['both-grpc-kinds-google-first-bad-envoy', { google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' }, envoy_grpc: {} }],
    ['both-grpc-kinds-bad-envoy-first', { envoy_grpc: {}, google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' } }],
    ['timeout-2s', { ...grpcToEpp(), timeout: '2s' }],
    ['timeout-0s', { ...grpcToEpp(), timeout: '0s' }],
    ['timeout-negative', { ...grpcToEpp(), timeout: '-1s' }],
    ['timeout-number', { ...grpcToEpp(), timeout: 2 }],
    ['timeout-1h', { ...grpcToEpp(), timeout: '1h' }],
    ['initial_metadata', { ...grpcToEpp(), initial_metadata: [{ key: 'x-epp', value: '1' }] }],
    ['initial_metadata-upper-key', { ...grpcToEpp(), initial_metadata: [{ key: 'X-Epp', value: '1' }] }],
    ['retry_policy', { ...grpcToEpp(), retry_policy: { num_retries: 2 } }],
    ['unknown-field', { ...grpcToEpp(), cluster: EPP_CLUSTER }],
    ['cluster_name-at-top', { cluster_name: EPP_CLUSTER }],
    ['outbound-cluster', { envoy_grpc: { cluster_name: 'outbound|9002||gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local' } }],
    ['undefined-cluster', { envoy_grpc: { cluster_name: 'no-such-cluster' } }],
  ];
  const entries: CorpusEntry[] = grpcShapes.map(([name, grpc]) => ({
    id: `${family}/grpc/${name}`,
    family,
    object: withFilter('c-service', externalProcessor({ grpc_service: grpc })),
  }));

  entries.push({ id: `${family}/neither`, family, object: withFilter('c-service', externalProcessor({ grpc_service: undefined })) });
  entries.push({ id: `${family}/both`, family, object: withFilter('c-service', externalProcessor({ http_service: httpService() })) });
  entries.push({ id: `${family}/grpc_service+grpcService`, family, object: withFilter('c-service', externalProcessor({ grpcService: { envoyGrpc: { clusterName: 'other' } } })) });

  // http_service: the body and trailer modes Envoy allows with it, and malformed shapes.
  const httpShapes: [string, Json][] = [
    ['ok', httpService()],
    ['empty', {}],
    ['inner-empty', { http_service: {} }],
    ['no-cluster', { http_service: { http_uri: { uri: 'http://epp:9002/', timeout: '1s' } } }],
    ['no-timeout', { http_service: { http_uri: { uri: 'http://epp:9002/', cluster: EPP_CLUSTER } } }],
    ['flat-http_uri', { http_uri: { uri: 'http://epp:9002/', cluster: EPP_CLUSTER, timeout: '1s' } }],
    ['header-without-key', httpService({ request_headers_to_add: [{ header: {} }] })],
    ['header-with-key', httpService({ request_headers_to_add: [{ header: { key: 'x-epp', value: '1' } }] })],
    ['formatter-empty-name', httpService({ formatters: [{ name: '', typed_config: { '@type': 'type.googleapis.com/envoy.config.core.v3.Metadata' } }] })],
  ];
  const headersOnly = { request_header_mode: 'SEND', response_header_mode: 'SEND', request_body_mode: 'NONE', response_body_mode: 'NONE' };
  for (const [name, shape] of httpShapes) {
    entries.push({
      id: `${family}/http/${name}`,
      family,
      object: withFilter('c-service', externalProcessor({ grpc_service: undefined, http_service: shape, processing_mode: headersOnly })),
    });
  }
  const bodies = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED', 'GRPC'];
  for (const direction of ['request', 'response']) {
    for (const body of bodies) {
      for (const trailer of ['SKIP', 'SEND']) {
        const mode = { ...headersOnly, [`${direction}_body_mode`]: body, [`${direction}_trailer_mode`]: trailer };
        entries.push({
          id: `${family}/http/${direction}:${body}+${trailer}`,
          family,
          object: withFilter('c-service', externalProcessor({ grpc_service: undefined, http_service: httpService(), processing_mode: mode })),
        });
      }
    }
  }
  return entries;
}

/** Durations as users write them, in every ext_proc duration field. */
export function durations(): CorpusEntry[] {
  const family = 'duration';
  const spellings: Json[] = ['0s', '0.200s', '0.001s', '1s', '1.5s', '60s', '3600s', '3600.000000001s', '3601s', '86400s', '315576000000s', '315576000001s', '200ms', '1h', '1m', '-1s', '', 'abc', '5', 5, 0.2, null];
  const entries: CorpusEntry[] = [];
  for (const field of ['message_timeout', 'messageTimeout', 'max_message_timeout', 'deferred_close_timeout']) {
    for (const value of spellings) {
      entries.push({ id: `${family}/${field}=${tag(value)}`, family, object: withFilter('c-duration', externalProcessor({ [field]: value })) });
    }
  }
  for (const value of ['0.5s', '2s', '3601s']) {
    entries.push({
      id: `${family}/message_timeout+max_message_timeout=${value}`,
      family,
      object: withFilter('c-duration', externalProcessor({ message_timeout: '1s', max_message_timeout: value })),
    });
  }
  for (const value of ['1s', '3601s', '0s', '-1s']) {
    entries.push({
      id: `${family}/per-route-grpc-timeout=${value}`,
      family,
      object: withPerRoute('c-duration', extProcPerRoute({ overrides: { processing_mode: eppMode(), grpc_service: { ...grpcToEpp(), timeout: value } } })),
    });
  }
  return entries;
}

/** failure_mode_allow and allow_mode_override, in their spellings, with and without FULL_DUPLEX_STREAMED. */
export function failOpenAndOverrides(): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  const bufferedMode = { request_header_mode: 'SEND', request_body_mode: 'BUFFERED' };
  for (const key of ['failure_mode_allow', 'failureModeAllow']) {
    for (const value of [true, false, 'true', 'false', 1, 0, 'yes', null]) {
      entries.push({ id: `fail-open/filter/${key}=${tag(value)}`, family: 'fail-open', object: withFilter('c-fail-open', externalProcessor({ [key]: value })) });
      entries.push({
        id: `fail-open/per-route/${key}=${tag(value)}`,
        family: 'fail-open',
        object: withPerRoute('c-fail-open', extProcPerRoute({ overrides: { processing_mode: eppMode(), [key]: value } })),
      });
    }
  }
  for (const key of ['allow_mode_override', 'allowModeOverride']) {
    for (const value of [true, false, 'true', 1]) {
      for (const [modeName, mode] of [['full-duplex', eppMode()], ['buffered', bufferedMode]] as const) {
        entries.push({
          id: `mode-override/${key}=${tag(value)}/${modeName}`,
          family: 'mode-override',
          object: withFilter('c-mode-override', externalProcessor({ [key]: value, processing_mode: mode })),
        });
      }
    }
  }
  // observability_mode (EPP233, a runtime claim): Envoy loads it with every body mode and beside the fields of the
  // filter's stream handling; in an ExtProcPerRoute's overrides it is no field (istiod drops it).
  const streamedMode = { request_header_mode: 'SEND', response_header_mode: 'SEND', request_body_mode: 'STREAMED', response_body_mode: 'STREAMED' };
  const headersOnly = { request_header_mode: 'SEND', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE' };
  for (const key of ['observability_mode', 'observabilityMode']) {
    for (const value of [true, false, 'true']) {
      for (const [modeName, mode] of [['full-duplex', eppMode()], ['streamed', streamedMode], ['buffered', bufferedMode], ['headers-only', headersOnly]] as const) {
        entries.push({ id: `observability/${key}=${tag(value)}/${modeName}`, family: 'observability', object: withFilter('c-observability', externalProcessor({ [key]: value, processing_mode: mode })) });
      }
    }
  }
  const beside: [string, Record<string, Json>][] = [
    ['failure_mode_allow', { failure_mode_allow: true }],
    ['deferred_close_timeout', { deferred_close_timeout: '1s' }],
    ['send_body_without_waiting', { send_body_without_waiting_for_header_response: true }],
    ['allow_mode_override', { allow_mode_override: true }],
  ];
  for (const [name, fields] of beside) {
    entries.push({ id: `observability/with-${name}`, family: 'observability', object: withFilter('c-observability', externalProcessor({ observability_mode: true, ...fields })) });
  }
  entries.push({
    id: 'observability/per-route',
    family: 'observability',
    object: withPerRoute('c-observability', extProcPerRoute({ overrides: { processing_mode: eppMode(), observability_mode: true } })),
  });
  return entries;
}

/** ExtProcPerRoute shapes: disabled, overrides, both, neither, and overrides carrying other fields. */
export function perRouteShapes(): CorpusEntry[] {
  const family = 'per-route';
  const shapes: [string, JsonMap][] = [
    ['disabled-true', { disabled: true }],
    ['disabled-false', { disabled: false }],
    ['disabled-string', { disabled: 'true' }],
    ['disabled-number', { disabled: 1 }],
    ['disabled-null', { disabled: null }],
    ['neither', {}],
    ['overrides-empty', { overrides: {} }],
    ['overrides-null', { overrides: null }],
    ['overrides-mode', { overrides: { processing_mode: eppMode() } }],
    ['overrides-mode-empty', { overrides: { processing_mode: {} } }],
    ['overrides-camel', { overrides: { processingMode: eppMode() } }],
    ['disabled-and-overrides', { disabled: true, overrides: { processing_mode: eppMode() } }],
    ['disabled-false-and-overrides', { disabled: false, overrides: { processing_mode: eppMode() } }],
    ['overrides-grpc_service', { overrides: { processing_mode: eppMode(), grpc_service: grpcToEpp() } }],
    ['overrides-grpc_service-empty', { overrides: { processing_mode: eppMode(), grpc_service: {} } }],
    ['overrides-async_mode', { overrides: { async_mode: true } }],
    ['overrides-request_attributes', { overrides: { request_attributes: ['request.path'] } }],
    ['overrides-typo', { overrides: { processing_modes: eppMode() } }],
    ['override-typo', { override: { processing_mode: eppMode() } }],
    ['disable-typo', { disable: true }],
    ['overrides-failure_mode_allow', { overrides: { failure_mode_allow: true } }],
    ['overrides-mode-buffered', { overrides: { processing_mode: { request_body_mode: 'BUFFERED' } } }],
  ];
  const entries: CorpusEntry[] = shapes.map(([name, fields]) => ({ id: `${family}/${name}`, family, object: withPerRoute('c-per-route', extProcPerRoute(fields)) }));
  // The override alone, with no ext_proc filter in this EnvoyFilter.
  entries.push({
    id: `${family}/alone`,
    family,
    object: envoyFilter('c-per-route', [perRoutePatch(extProcPerRoute({ overrides: { processing_mode: eppMode() } }))]),
  });
  // The filter sends nothing and there is no override.
  entries.push({
    id: `${family}/filter-sends-nothing`,
    family,
    object: withFilter('c-per-route', externalProcessor({ processing_mode: { request_header_mode: 'SKIP', response_header_mode: 'SKIP' } })),
  });
  // Filter variants Istio and Envoy treat specially: no typed_config, an untyped one, a disabled filter, a MERGE.
  const filterVariants: [string, JsonMap][] = [
    ['no-typed_config', { applyTo: 'HTTP_FILTER', match: filterPatch({}).match, patch: { operation: 'INSERT_BEFORE', value: { name: 'envoy.filters.http.ext_proc' } } }],
    ['typed_config-without-type', filterPatch({ grpc_service: grpcToEpp(), processing_mode: eppMode() })],
    ['typedConfig-camel', { ...filterPatch({}), patch: { operation: 'INSERT_BEFORE', value: { name: 'envoy.filters.http.ext_proc', typedConfig: externalProcessor() } } }],
    ['disabled-filter', filterPatch(externalProcessor(), { filterFields: { disabled: true } })],
    ['merge', filterPatch(externalProcessor({ grpc_service: undefined }), { operation: 'MERGE' })],
    ['replace', filterPatch(externalProcessor(), { operation: 'REPLACE' })],
    ['typed-struct', filterPatch({ '@type': 'type.googleapis.com/xds.type.v3.TypedStruct', type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', value: { grpc_service: grpcToEpp(), processing_mode: eppMode() } })],
    ['unknown-top-level', filterPatch(externalProcessor({ processing_modes: eppMode() }))],
    ['unknown-top-level-foo', filterPatch(externalProcessor({ foo: 'bar' }))],
    ['grpcservice-typo', filterPatch(externalProcessor({ grpc_service: undefined, grpcservice: grpcToEpp() }))],
    ['failure_mode_allowed-typo', filterPatch(externalProcessor({ failure_mode_allowed: true }))],
    ['v2-type', filterPatch({ '@type': 'type.googleapis.com/envoy.config.filter.http.ext_proc.v2alpha.ExternalProcessor', grpc_service: grpcToEpp() })],
    ['wrong-type-name', filterPatch({ '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessing', grpc_service: grpcToEpp() })],
  ];
  for (const [name, patch] of filterVariants) {
    entries.push({ id: `filter-shape/${name}`, family: 'filter-shape', object: envoyFilter('c-filter-shape', [patch, clusterPatch(eppCluster())]) });
  }
  return entries;
}

/**
 * The ExternalProcessor inside a TypedStruct: istiod passes the value on as a Struct and Envoy converts it
 * itself, with its own reading of names, numbers and unknown keys.
 */
export function typedStructs(): CorpusEntry[] {
  const family = 'typed-struct';
  const entries: CorpusEntry[] = [];
  const variants: [string, JsonMap][] = [
    ['epp-mode', { grpc_service: grpcToEpp(), processing_mode: eppMode() }],
    ['lower-case', { grpc_service: grpcToEpp(), processing_mode: { ...eppMode(), request_body_mode: 'full_duplex_streamed' } }],
    ['numeric-string', { grpc_service: grpcToEpp(), processing_mode: { ...eppMode(), request_body_mode: '4' } }],
    ['number', { grpc_service: grpcToEpp(), processing_mode: { ...eppMode(), request_body_mode: 4 } }],
    ['out-of-range', { grpc_service: grpcToEpp(), processing_mode: { ...eppMode(), request_body_mode: 7 } }],
    ['typo-key', { grpc_service: grpcToEpp(), processing_mode: { ...eppMode(), request_body_mod: 'FULL_DUPLEX_STREAMED' } }],
    ['duplicate-key', { grpc_service: grpcToEpp(), processing_mode: { ...eppMode(), requestBodyMode: 'BUFFERED' } }],
    ['trailer-skip', { grpc_service: grpcToEpp(), processing_mode: { ...eppMode(), request_trailer_mode: 'SKIP' } }],
    // Which spelling Envoy keeps shows through its trailer rule: it rejects only when FULL_DUPLEX_STREAMED is kept.
    ['duplicate-snake-full-duplex', { grpc_service: grpcToEpp(), processing_mode: { request_body_mode: 'FULL_DUPLEX_STREAMED', requestBodyMode: 'NONE' } }],
    ['duplicate-camel-full-duplex', { grpc_service: grpcToEpp(), processing_mode: { requestBodyMode: 'FULL_DUPLEX_STREAMED', request_body_mode: 'NONE' } }],
    ['timeout-3601s', { grpc_service: grpcToEpp(), processing_mode: eppMode(), message_timeout: '3601s' }],
    ...['0.1234567891s', '+1s', '.5s', '1.s', '1.000000000s'].map((t): [string, JsonMap] => [`timeout-${t}`, { grpc_service: grpcToEpp(), processing_mode: eppMode(), message_timeout: t }]),
    ['quoted-bool', { grpc_service: grpcToEpp(), processing_mode: eppMode(), failure_mode_allow: 'true' }],
    ['no-service', { processing_mode: eppMode() }],
    ['service-not-object', { grpc_service: 'epp', processing_mode: eppMode() }],
    ['mode-not-object', { grpc_service: grpcToEpp(), processing_mode: 'FULL_DUPLEX_STREAMED' }],
    ['attributes-not-list', { grpc_service: grpcToEpp(), processing_mode: eppMode(), request_attributes: 'request.path' }],
    // Envoy's reader takes a lone value for a list as its one entry, and lists inside a list: the rules apply to them.
    ['lone-pattern-empty-prefix', { grpc_service: grpcToEpp(), processing_mode: eppMode(), forward_rules: { allowed_headers: { patterns: { prefix: '' } } } }],
    ['nested-metadata-without-key', { grpc_service: { ...grpcToEpp(), initial_metadata: [[{ key: '' }]] }, processing_mode: eppMode() }],
    ['lone-metadata-without-key', { grpc_service: { ...grpcToEpp(), initial_metadata: { key: '' } }, processing_mode: eppMode() }],
    ['nested-@type', { grpc_service: grpcToEpp(), processing_mode: eppMode(), mutation_rules: { '@type': 'x', allow_all_routing: true } }],
    ['root-@type', { '@type': 'x', grpc_service: grpcToEpp(), processing_mode: eppMode() }],
    // With http_service Envoy allows no body and no trailer; it reads a TypedStruct's modes in any case or as numbers in strings.
    ...['send', '1', 'SKIP'].map((trailer): [string, JsonMap] => [`http-service-trailer-${trailer}`, { http_service: httpService(), processing_mode: { request_trailer_mode: trailer } }]),
    ...['buffered', '2', 'none'].map((body): [string, JsonMap] => [`http-service-body-${body}`, { http_service: httpService(), processing_mode: { request_body_mode: body } }]),
    ['http-service-header-without-key', { http_service: httpService({ request_headers_to_add: [{ header: {} }] }), processing_mode: { request_header_mode: 'SEND' } }],
  ];
  const perRouteVariants: [string, JsonMap][] = [
    ['disabled-true', { disabled: true }],
    ['disabled-quoted-true', { disabled: 'true' }],
    ['disabled-quoted-false', { disabled: 'false' }],
    ['overrides-lower-case', { overrides: { processing_mode: { ...eppMode(), request_body_mode: 'full_duplex_streamed' } } }],
    ['overrides-not-object', { overrides: 'none' }],
  ];
  for (const wrapper of ['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']) {
    for (const [name, value] of variants) {
      const typed = { '@type': `type.googleapis.com/${wrapper}`, type_url: EXTERNAL_PROCESSOR, value };
      entries.push({ id: `${family}/${wrapper}/${name}`, family, object: envoyFilter('c-typed-struct', [filterPatch(typed), clusterPatch(eppCluster())]) });
    }
    for (const [name, value] of perRouteVariants) {
      const typed = { '@type': `type.googleapis.com/${wrapper}`, type_url: EXT_PROC_PER_ROUTE, value };
      entries.push({ id: `${family}/${wrapper}/per-route/${name}`, family, object: withPerRoute('c-typed-struct', typed) });
    }
  }
  return entries;
}

/**
 * The type URL of an ext_proc config: Envoy takes the name after the last `/`, and refuses one without any `/`. (Not
 * `/name`: Envoy's JSON reader, which the oracle feeds, also wants a host before the `/`, where xDS carries the Any in
 * binary and Envoy reads only the name.)
 */
export function typeUrls(): CorpusEntry[] {
  const family = 'type-url';
  const name = EXTERNAL_PROCESSOR.slice(EXTERNAL_PROCESSOR.lastIndexOf('/') + 1);
  const perRouteName = EXT_PROC_PER_ROUTE.slice(EXT_PROC_PER_ROUTE.lastIndexOf('/') + 1);
  const forms: [string, (message: string) => string][] = [
    ['no-prefix', (message) => message],
    ['other-host', (message) => `type.googleapi.com/${message}`],
    ['two-slashes', (message) => `example.com/types/${message}`],
  ];
  return forms.flatMap(([form, url]) => [
    { id: `${family}/filter/${form}`, family, object: withFilter('c-type-url', externalProcessor({ '@type': url(name) })) },
    { id: `${family}/per-route/${form}`, family, object: withPerRoute('c-type-url', { ...extProcPerRoute({ overrides: { processing_mode: eppMode() } }), '@type': url(perRouteName) }) },
  ]);
}

const FILTER_CONFIG = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';

/**
 * Route's FilterConfig wrapper under the ext_proc filter's name (Envoy's way to turn a `disabled: true` filter on per
 * route, or off): Envoy refuses one with neither `disabled: true` nor a `config`, and takes an empty `config` as "on".
 */
export function filterConfigs(): CorpusEntry[] {
  const family = 'filter-config';
  const perRoute = extProcPerRoute({ overrides: { processing_mode: eppMode() } });
  const shapes: [string, JsonMap][] = [
    ['disabled-false', { disabled: false }],
    ['empty', {}],
    ['disabled-true', { disabled: true }],
    ['config-empty', { config: {} }],
    ['config-per-route', { config: perRoute }],
    ['disabled-false-config-per-route', { disabled: false, config: perRoute }],
    ['is-optional-config-per-route', { is_optional: true, config: perRoute }],
    ['isOptional-camel', { isOptional: true }],
    ['disabled-true-config-per-route', { disabled: true, config: perRoute }],
    ['disabled-string', { disabled: 'true' }],
    ['config-untyped', { config: { overrides: { processing_mode: eppMode() } } }],
    ['config-string', { config: 'on' }],
    ['is_optional-alone', { is_optional: true }],
    ['disabled-true-config-empty', { disabled: true, config: {} }],
    ['disabled-true-config-string', { disabled: true, config: 'x' }],
    // Envoy never reads the config of a FilterConfig with disabled: true; istiod still converts it.
    ['config-per-route-disabled-false', { config: extProcPerRoute({ disabled: false }) }],
    ['disabled-true-config-per-route-disabled-false', { disabled: true, config: extProcPerRoute({ disabled: false }) }],
    ['disabled-true-config-mode-number', { disabled: true, config: extProcPerRoute({ overrides: { processing_mode: { ...eppMode(), request_body_mode: 9 } } }) }],
    ['disabled-true-config-mode-lower-case', { disabled: true, config: extProcPerRoute({ overrides: { processing_mode: { ...eppMode(), request_body_mode: 'full_duplex_streamed' } } }) }],
    ['disabled-true-config-typed-struct', { disabled: true, config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', value: { disabled: false } } }],
    ['disabled-true-config-external-processor', { disabled: true, config: externalProcessor({ message_timeout: '-1s' }) }],
    ['config-per-route-disabled-true', { config: extProcPerRoute({ disabled: true }) }],
    ['disabled-true-config-negative-timeout', { disabled: true, config: extProcPerRoute({ overrides: { grpc_service: { envoy_grpc: { cluster_name: 'outbound|9002||epp.default.svc.cluster.local' }, timeout: '-1s' } } }) }],
  ];
  return shapes.flatMap(([name, fields]) => {
    const entry = { '@type': FILTER_CONFIG, ...fields };
    return [
      { id: `${family}/filter-disabled/${name}`, family, object: envoyFilter('c-filter-config', [filterPatch(externalProcessor(), { filterFields: { disabled: true } }), perRoutePatch(entry), clusterPatch(eppCluster())]) },
      { id: `${family}/filter-enabled/${name}`, family, object: envoyFilter('c-filter-config', [filterPatch(externalProcessor()), perRoutePatch(entry), clusterPatch(eppCluster())]) },
    ];
  });
}
