import { eppCluster, eppMode, externalProcessor, extProcPerRoute, grpcToEpp, withFilter, withPerRoute, type Json, type JsonMap } from './building-blocks.ts';
import type { CorpusEntry } from './corpus-entry.ts';

/**
 * The rules Envoy's protos (protoc-gen-validate) and its ext_proc filter put on ext_proc fields the other families
 * leave alone: status_on_error's code, forward_rules and mutation_rules matchers, the attributes Envoy parses as CEL,
 * metadata namespaces, gRPC metadata, override modes and extension configs. Each written once right (the control)
 * and in the shapes Envoy refuses.
 */
export function extProcFieldRules(): CorpusEntry[] {
  const family = 'ext-proc-pgv';
  const patterns = (list: Json): JsonMap => ({ patterns: list });
  const filterVariants: [string, Record<string, Json>][] = [
    // envoy.type.v3.HttpStatus: code is a defined StatusCode other than Empty (0).
    ['status_on_error/503', { status_on_error: { code: 503 } }],
    ['status_on_error/ServiceUnavailable', { status_on_error: { code: 'ServiceUnavailable' } }],
    ['status_on_error/"503"', { status_on_error: { code: '503' } }],
    ['status_on_error/empty', { status_on_error: {} }],
    ['status_on_error/0', { status_on_error: { code: 0 } }],
    ['status_on_error/Empty', { status_on_error: { code: 'Empty' } }],
    ['status_on_error/299', { status_on_error: { code: 299 } }],
    ['status_on_error/SERVICE_UNAVAILABLE', { status_on_error: { code: 'SERVICE_UNAVAILABLE' } }],
    ['status_on_error/number', { status_on_error: 503 }],
    ['statusOnError/0', { statusOnError: { code: 0 } }],
    // HeaderForwardingRules: a ListStringMatcher has at least one pattern; a StringMatcher one non-empty match.
    ['forward_rules/exact', { forward_rules: { allowed_headers: patterns([{ exact: 'x-gateway-model-name' }]) } }],
    ['forward_rules/exact-empty', { forward_rules: { allowed_headers: patterns([{ exact: '' }]) } }],
    ['forward_rules/allowed_headers-empty', { forward_rules: { allowed_headers: {} } }],
    ['forward_rules/patterns-empty', { forward_rules: { allowed_headers: patterns([]) } }],
    ['forward_rules/disallowed-patterns-empty', { forward_rules: { disallowed_headers: patterns([]) } }],
    ['forward_rules/pattern-empty', { forward_rules: { allowed_headers: patterns([{}]) } }],
    ['forward_rules/pattern-ignore_case-only', { forward_rules: { allowed_headers: patterns([{ ignore_case: true }]) } }],
    ['forward_rules/prefix-empty', { forward_rules: { allowed_headers: patterns([{ prefix: '' }]) } }],
    ['forward_rules/suffix-empty', { forward_rules: { allowed_headers: patterns([{ suffix: '' }]) } }],
    ['forward_rules/contains-empty', { forward_rules: { disallowed_headers: patterns([{ contains: '' }]) } }],
    ['forward_rules/prefix', { forward_rules: { allowed_headers: patterns([{ prefix: 'x-' }]) } }],
    ['forward_rules/null-pattern', { forward_rules: { allowed_headers: patterns([{ exact: 'x-a' }, null]) } }],
    // Misspelt keys inside the messages: istiod drops them (EPP213 names them), in a TypedStruct Envoy refuses them.
    ['forward_rules/typo-allowed_header', { forward_rules: { allowed_header: patterns([{ exact: 'x-gateway-model-name' }]) } }],
    ['mutation_rules/typo-allow_all_routng', { mutation_rules: { allow_all_routng: true } }],
    ['metadata_options/typo-forwarding_namespace', { metadata_options: { forwarding_namespace: { untyped: ['envoy.lb'] } } }],
    ['mutation_rules/@type', { mutation_rules: { '@type': 'type.googleapis.com/envoy.config.common.mutation_rules.v3.HeaderMutationRules', allow_all_routing: true } }],
    ['forward_rules/safe_regex', { forward_rules: { allowed_headers: patterns([{ safe_regex: { regex: 'x-.*' } }]) } }],
    ['forward_rules/safe_regex-empty', { forward_rules: { allowed_headers: patterns([{ safe_regex: { regex: '' } }]) } }],
    ['forward_rules/safe_regex-no-regex', { forward_rules: { allowed_headers: patterns([{ safe_regex: {} }]) } }],
    ['forward_rules/safe_regex-string', { forward_rules: { allowed_headers: patterns([{ safe_regex: '' }]) } }],
    ['forward_rules/custom-string', { forward_rules: { allowed_headers: patterns([{ custom: '' }]) } }],
    ['forward_rules/camel-allowedHeaders-empty', { forwardRules: { allowedHeaders: {} } }],
    // HeaderMutationRules: a RegexMatcher's regex is not empty.
    ['mutation_rules/allow_expression', { mutation_rules: { allow_expression: { regex: 'x-.*' } } }],
    ['mutation_rules/allow_expression-empty', { mutation_rules: { allow_expression: { regex: '' } } }],
    ['mutation_rules/disallow_expression-empty', { mutation_rules: { disallow_expression: { regex: '' } } }],
    ['mutation_rules/allow_expression-no-regex', { mutation_rules: { allow_expression: {} } }],
    ['mutation_rules/disallow_is_error', { mutation_rules: { disallow_is_error: true, disallow_all: true } }],
    // Envoy parses each attribute as a CEL expression when it loads the filter.
    ['request_attributes/request.path', { request_attributes: ['request.path', 'source.address'] }],
    ['request_attributes/header-index', { request_attributes: ["request.headers['x-gateway-model-name']"] }],
    ['request_attributes/empty', { request_attributes: [''] }],
    ['request_attributes/unbalanced', { request_attributes: ['request.headers[0'] }],
    ['request_attributes/double-dot', { request_attributes: ['request..path'] }],
    ['request_attributes/reserved-word', { request_attributes: ['if'] }],
    ['request_attributes/dangling-operator', { request_attributes: ['request.size +'] }],
    ['request_attributes/colon', { request_attributes: ['request:path'] }],
    ['request_attributes/duplicate', { request_attributes: ['request.path', 'request.path'] }],
    ['request_attributes/single-equals', { request_attributes: ['request.method = "GET"'] }],
    ['request_attributes/unclosed-string', { request_attributes: ["request.headers['x-a]"] }],
    ['request_attributes/at-sign', { request_attributes: ['request@path'] }],
    ['request_attributes/comprehension-all', { request_attributes: ['request.headers.all(h, h.size() > 0)'] }],
    ['request_attributes/comprehension-map', { request_attributes: ['[1, 2].map(x, x * 2)'] }],
    ['request_attributes/comprehension-exists_one', { request_attributes: ['[1].exists_one(x, x > 0)'] }],
    ['request_attributes/no-else', { request_attributes: ['request.size > 0 ? 1'] }],
    ['request_attributes/not-minus-name', { request_attributes: ['!-request.size'] }],
    // Expressions this reader must let through as Envoy does.
    [
      'request_attributes/valid-expressions',
      {
        request_attributes: [
          "request.headers['x'].size() > 0",
          'request.size > 0 ? 1 : 2',
          '[1, 2,]',
          '{"a": 1u, "b": 0x1F, "c": 1.5e3}',
          "r'raw\\d' + b'bytes'",
          "'''multi\nline'''",
          '!true && --1 == 1 || "a" in ["a"]',
          '.request.path',
          'xds.node.metadata["k"]',
          'request.path.startsWith("/v1")',
          'has(request.path)',
          '// comment\nrequest.path',
          '[-1, !-2]',
          '[,]',
          '{,}.size()',
        ],
      },
    ],
    // Calls: Envoy builds only the functions its CEL registers, by name, call style and argument count.
    ['request_attributes/unknown-function', { request_attributes: ['nosuchfn(request.path)'] }],
    ['request_attributes/string-conversion', { request_attributes: ['string(request.size)'] }],
    ['request_attributes/strings-extension', { request_attributes: ['request.path.lowerAscii()'] }],
    ['request_attributes/too-many-arguments', { request_attributes: ['size(request.path, 1)'] }],
    ['request_attributes/method-by-name', { request_attributes: ['getHours(request.time)'] }],
    ['request_attributes/conversion-on-value', { request_attributes: ['request.size.int()'] }],
    ['request_attributes/qualified-arity', { request_attributes: ['re.extract(request.path, "(a)")'] }],
    ['request_attributes/qualified-under-field', { request_attributes: ['request.re.extract(request.path, "(a)", r"\\1")'] }],
    ['request_attributes/unknown-in-untaken-branch', { request_attributes: ['true ? 1 : nosuchfn(1)'] }],
    ['request_attributes/has-without-selection', { request_attributes: ['has(request)'] }],
    ['request_attributes/has-index', { request_attributes: ["has(request.headers['x'])"] }],
    ['request_attributes/bracketed-names', { request_attributes: ['(re).extract(request.path, "(a)", "x")', 'has((request.path))', '(request.path).size()'] }],
    [
      'request_attributes/every-function',
      {
        request_attributes: [
          'size(request.path) + request.path.size()',
          'contains(request.path, "a") && request.path.contains("a")',
          'startsWith(request.path, "/") || request.path.startsWith("/")',
          'endsWith(request.path, "a") || request.path.endsWith("a")',
          'matches(request.path, "^/v1") || request.path.matches("^/v1")',
          '[int(request.size), uint(request.size), double(request.size), bytes(request.path), bool(request.path), dyn(request.size), type(request.size)]',
          '[timestamp("2026-01-01T00:00:00Z"), duration("1s")]',
          '[request.time.getFullYear(), request.time.getMonth("UTC"), request.time.getDayOfYear(), request.time.getDayOfMonth(), request.time.getDate()]',
          '[request.time.getDayOfWeek(), request.time.getHours(), request.time.getMinutes("UTC"), request.time.getSeconds(), request.time.getMilliseconds()]',
          're.extract(request.path, "(v[0-9])", r"\\1")',
          '.re.capture(request.path, "(v[0-9])").size() + re.captureN(request.path, "(v[0-9])").size()',
          'sets.contains(request.path)',
        ],
      },
    ],
    ['response_attributes/unknown-function', { response_attributes: ['response.code.toString()'] }],
    ['response_attributes/empty', { response_attributes: [''] }],
    ['response_attributes/response.code', { response_attributes: ['response.code'] }],
    // MetadataOptions namespaces: no rule on the strings.
    ['metadata_options/untyped-empty', { metadata_options: { forwarding_namespaces: { untyped: [''] } } }],
    ['metadata_options/typed-empty', { metadata_options: { forwarding_namespaces: { typed: [''] } } }],
    ['metadata_options/receiving-empty', { metadata_options: { receiving_namespaces: { untyped: [''] } } }],
    ['metadata_options/envoy.lb', { metadata_options: { forwarding_namespaces: { untyped: ['envoy.lb'] } } }],
    // GrpcService.initial_metadata: HeaderValue keys not empty, keys and values without NUL, CR, LF.
    ['initial_metadata/ok', { grpc_service: { ...grpcToEpp(), initial_metadata: [{ key: 'x-epp', value: '1' }] } }],
    ['initial_metadata/key-empty', { grpc_service: { ...grpcToEpp(), initial_metadata: [{ key: '', value: '1' }] } }],
    ['initial_metadata/no-key', { grpc_service: { ...grpcToEpp(), initial_metadata: [{ value: '1' }] } }],
    ['initial_metadata/key-newline', { grpc_service: { ...grpcToEpp(), initial_metadata: [{ key: 'x-epp\n', value: '1' }] } }],
    ['initial_metadata/value-newline', { grpc_service: { ...grpcToEpp(), initial_metadata: [{ key: 'x-epp', value: 'a\nb' }] } }],
    ['initial_metadata/no-value', { grpc_service: { ...grpcToEpp(), initial_metadata: [{ key: 'x-epp' }] } }],
    // allowed_override_modes: ProcessingModes, whose modes are defined values.
    ['allowed_override_modes/epp-mode', { allow_mode_override: true, allowed_override_modes: [eppMode()] }],
    ['allowed_override_modes/undefined-number', { allow_mode_override: true, allowed_override_modes: [{ request_body_mode: 7 }] }],
    ['allowed_override_modes/empty-mode', { allow_mode_override: true, allowed_override_modes: [{}] }],
    // TypedExtensionConfig: a name and a typed_config.
    ['processing_request_modifier/empty', { processing_request_modifier: {} }],
    ['on_processing_response/empty', { on_processing_response: {} }],
  ];
  const entries: CorpusEntry[] = filterVariants.map(([name, fields]) => ({ id: `${family}/filter/${name}`, family, object: withFilter('c-pgv', externalProcessor(fields)) }));
  const perRouteVariants: [string, JsonMap][] = [
    ['request_attributes/empty', { request_attributes: [''] }],
    ['request_attributes/unbalanced', { request_attributes: ['request.headers[0'] }],
    ['request_attributes/request.path', { request_attributes: ['request.path'] }],
    ['grpc_initial_metadata/key-empty', { grpc_initial_metadata: [{ key: '', value: '1' }] }],
    ['grpc_initial_metadata/ok', { grpc_initial_metadata: [{ key: 'x-epp', value: '1' }] }],
    ['grpc_service-initial_metadata/key-empty', { grpc_service: { ...grpcToEpp(), initial_metadata: [{ key: '', value: '1' }] } }],
    ['metadata_options/untyped-empty', { metadata_options: { forwarding_namespaces: { untyped: [''] } } }],
  ];
  for (const [name, fields] of perRouteVariants) {
    entries.push({ id: `${family}/per-route/${name}`, family, object: withPerRoute('c-pgv', extProcPerRoute({ overrides: { processing_mode: eppMode(), ...fields } })) });
  }
  return entries;
}

/** HTTP/2 options of the EPP cluster, in the typed protocol options and the cluster's own (deprecated) field. */
export function clusterHttp2Options(): CorpusEntry[] {
  const family = 'cluster-http2';
  const options: [string, JsonMap][] = [
    ['initial_stream_window_size=65535', { initial_stream_window_size: 65535 }],
    ['initial_stream_window_size=65534', { initial_stream_window_size: 65534 }],
    ['initial_stream_window_size="65534"', { initial_stream_window_size: '65534' }],
    ['initial_stream_window_size=0', { initial_stream_window_size: 0 }],
    ['initial_stream_window_size=2147483647', { initial_stream_window_size: 2147483647 }],
    ['initial_stream_window_size=2147483648', { initial_stream_window_size: 2147483648 }],
    ['initial_stream_window_size=4294967296', { initial_stream_window_size: 4294967296 }],
    ['initial_connection_window_size=1048576', { initial_connection_window_size: 1048576 }],
    ['initial_connection_window_size=1024', { initial_connection_window_size: 1024 }],
    ['initial_connection_window_size=2147483648', { initial_connection_window_size: 2147483648 }],
    ['initialConnectionWindowSize=1024', { initialConnectionWindowSize: 1024 }],
    ['max_concurrent_streams=100', { max_concurrent_streams: 100 }],
    ['max_concurrent_streams=0', { max_concurrent_streams: 0 }],
    ['max_concurrent_streams=2147483648', { max_concurrent_streams: 2147483648 }],
    ['hpack_table_size=0', { hpack_table_size: 0 }],
    ['hpack_table_size=4294967295', { hpack_table_size: 4294967295 }],
    ['max_outbound_frames=0', { max_outbound_frames: 0 }],
    ['max_outbound_control_frames=0', { max_outbound_control_frames: 0 }],
    ['max_inbound_window_update_frames_per_data_frame_sent=0', { max_inbound_window_update_frames_per_data_frame_sent: 0 }],
    ['max_consecutive_inbound_frames_with_empty_payload=0', { max_consecutive_inbound_frames_with_empty_payload: 0 }],
    ['max_header_field_size_kb=63', { max_header_field_size_kb: 63 }],
    ['max_header_field_size_kb=64', { max_header_field_size_kb: 64 }],
    ['connection_keepalive=ok', { connection_keepalive: { interval: '10s', timeout: '1s' } }],
    ['connection_keepalive=no-timeout', { connection_keepalive: { interval: '10s' } }],
    ['connection_keepalive=timeout-0s', { connection_keepalive: { interval: '10s', timeout: '0s' } }],
    ['connection_keepalive=timeout-only', { connection_keepalive: { timeout: '1s' } }],
    ['connection_keepalive=connection_idle_interval-0s', { connection_keepalive: { timeout: '1s', connection_idle_interval: '0s' } }],
    ['connection_keepalive=timeout-0.5ms', { connection_keepalive: { timeout: '0.0005s' } }],
    ['connection_keepalive=interval-0s', { connection_keepalive: { interval: '0s', timeout: '1s' } }],
    ['custom_settings_parameters=ok', { custom_settings_parameters: [{ identifier: 9, value: 1 }] }],
    ['custom_settings_parameters=enable-push', { custom_settings_parameters: [{ identifier: 2, value: 1 }] }],
    ['custom_settings_parameters=named-too', { hpack_table_size: 4096, custom_settings_parameters: [{ identifier: 1, value: 2048 }] }],
    ['custom_settings_parameters=no-value', { custom_settings_parameters: [{ identifier: 9 }] }],
    ['custom_settings_parameters=enable-push-0', { custom_settings_parameters: [{ identifier: 2, value: 0 }] }],
    ['custom_settings_parameters=enable-connect', { custom_settings_parameters: [{ identifier: 8, value: 1 }] }],
    ['custom_settings_parameters=window-alone', { custom_settings_parameters: [{ identifier: 4, value: 1048576 }] }],
    ['custom_settings_parameters=window-named-too', { initial_stream_window_size: 1048576, custom_settings_parameters: [{ identifier: 4, value: 1048576 }] }],
    ['custom_settings_parameters=streams-named-too', { max_concurrent_streams: 100, custom_settings_parameters: [{ identifier: 3, value: 100 }] }],
    ['custom_settings_parameters=duplicate-same', { custom_settings_parameters: [{ identifier: 9, value: 1 }, { identifier: 9, value: 1 }] }],
    ['custom_settings_parameters=duplicate-different', { custom_settings_parameters: [{ identifier: 9, value: 1 }, { identifier: 9, value: 2 }] }],
    ['custom_settings_parameters=no-identifier', { custom_settings_parameters: [{ value: 1 }] }],
    ['custom_settings_parameters=identifier-70000', { custom_settings_parameters: [{ identifier: 70000, value: 1 }] }],
    ['max_concurrent_streams=" 100"', { max_concurrent_streams: ' 100' }],
    ['max_concurrent_streams="100 "', { max_concurrent_streams: '100 ' }],
    ['max_concurrent_streams="007"', { max_concurrent_streams: '007' }],
    ['max_concurrent_streams=" 0"', { max_concurrent_streams: ' 0' }],
  ];
  // In a TypedStruct Envoy reads the numbers itself, in more forms than istiod.
  const envoyRead: [string, JsonMap][] = [
    ['max_concurrent_streams="1e2"', { max_concurrent_streams: '1e2' }],
    ['max_concurrent_streams="0x10"', { max_concurrent_streams: '0x10' }],
    ['max_concurrent_streams="+100"', { max_concurrent_streams: '+100' }],
    ['max_concurrent_streams="007"', { max_concurrent_streams: '007' }],
    ['max_concurrent_streams="0"', { max_concurrent_streams: '0' }],
    ['custom_settings_parameters=identifier-"0x9"', { custom_settings_parameters: [{ identifier: '0x9', value: 1 }] }],
  ];
  const typedOptions = (http2: JsonMap): JsonMap => ({
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: http2 },
    },
  });
  const entries: CorpusEntry[] = [];
  for (const [name, http2] of options) {
    entries.push({ id: `${family}/typed/${name}`, family, object: withFilter('c-http2', externalProcessor(), eppCluster({ typed_extension_protocol_options: typedOptions(http2) })) });
    entries.push({
      id: `${family}/legacy/${name}`,
      family,
      object: withFilter('c-http2', externalProcessor(), eppCluster({ typed_extension_protocol_options: undefined, http2_protocol_options: http2 })),
    });
  }
  for (const [name, http2] of envoyRead) {
    const typedStruct = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
        type_url: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        value: { explicit_http_config: { http2_protocol_options: http2 } },
      },
    };
    entries.push({ id: `${family}/typed-struct/${name}`, family, object: withFilter('c-http2', externalProcessor(), eppCluster({ typed_extension_protocol_options: typedStruct })) });
  }
  return entries;
}
