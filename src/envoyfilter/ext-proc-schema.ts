/**
 * The messages of an ext_proc config as istiod knows them (the go-control-plane protos in istio.io/istio,
 * the version pinned in test/oracle/istio/go.mod): every field, and for the ones the webhook type-checks, the
 * JSON istiod's conversion takes. A field not listed is one istiod drops. `npm run test:oracles` checks this
 * table against Istio's own descriptors, so it cannot drift silently when Istio is bumped.
 *
 * Kinds: `bool` (JSON true/false), `bool-value` (google.protobuf.BoolValue: the same to istiod), `string`, `duration` (a string Go's
 * time.ParseDuration reads), `enum` (an exact value name or a JSON number), `uint32` (google.protobuf.UInt32Value:
 * a JSON integer or its decimal string), `list:string`, `list:object` and `list:any` (a list of strings, of messages,
 * of google.protobuf.Any, each an object with its `@type`),
 * `message:<Name>` (an object, checked recursively), `object` (any other message, google.protobuf.Struct and Any
 * among them: an object, not checked field by field here).
 */
export type FieldKind = 'bool' | 'bool-value' | 'string' | 'duration' | 'enum' | 'uint32' | 'list:string' | 'list:object' | 'list:any' | 'object' | `message:${MessageName}`;

export interface MessageSchema {
  fullName: string;
  fields: Record<string, FieldKind>;
}

export type MessageName =
  | 'ExternalProcessor'
  | 'ProcessingMode'
  | 'ExtProcPerRoute'
  | 'ExtProcOverrides'
  | 'GrpcService'
  | 'EnvoyGrpc'
  | 'GoogleGrpc'
  | 'ExtProcHttpService'
  | 'HttpService'
  | 'HttpUri'
  | 'HeaderMutationRules'
  | 'HeaderForwardingRules'
  | 'MetadataOptions'
  | 'MetadataNamespaces'
  | 'HttpStatus';

const EXT_PROC = 'envoy.extensions.filters.http.ext_proc.v3';

export const EXT_PROC_SCHEMA: Record<MessageName, MessageSchema> = {
  ExternalProcessor: {
    fullName: `${EXT_PROC}.ExternalProcessor`,
    fields: {
      grpc_service: 'message:GrpcService',
      http_service: 'message:ExtProcHttpService',
      failure_mode_allow: 'bool',
      processing_mode: 'message:ProcessingMode',
      request_attributes: 'list:string',
      response_attributes: 'list:string',
      message_timeout: 'duration',
      stat_prefix: 'string',
      mutation_rules: 'message:HeaderMutationRules',
      max_message_timeout: 'duration',
      forward_rules: 'message:HeaderForwardingRules',
      filter_metadata: 'object',
      allow_mode_override: 'bool',
      disable_immediate_response: 'bool',
      metadata_options: 'message:MetadataOptions',
      observability_mode: 'bool',
      disable_clear_route_cache: 'bool',
      route_cache_action: 'enum',
      deferred_close_timeout: 'duration',
      send_body_without_waiting_for_header_response: 'bool',
      allowed_override_modes: 'list:object',
      processing_request_modifier: 'object',
      on_processing_response: 'object',
      status_on_error: 'message:HttpStatus',
      allow_content_length_header: 'bool',
    },
  },
  ProcessingMode: {
    fullName: `${EXT_PROC}.ProcessingMode`,
    fields: {
      request_header_mode: 'enum',
      response_header_mode: 'enum',
      request_body_mode: 'enum',
      response_body_mode: 'enum',
      request_trailer_mode: 'enum',
      response_trailer_mode: 'enum',
    },
  },
  ExtProcPerRoute: {
    fullName: `${EXT_PROC}.ExtProcPerRoute`,
    fields: { disabled: 'bool', overrides: 'message:ExtProcOverrides' },
  },
  ExtProcOverrides: {
    fullName: `${EXT_PROC}.ExtProcOverrides`,
    fields: {
      processing_mode: 'message:ProcessingMode',
      async_mode: 'bool',
      request_attributes: 'list:string',
      response_attributes: 'list:string',
      grpc_service: 'message:GrpcService',
      metadata_options: 'message:MetadataOptions',
      grpc_initial_metadata: 'list:object',
      failure_mode_allow: 'bool-value',
      processing_request_modifier: 'object',
    },
  },
  GrpcService: {
    fullName: 'envoy.config.core.v3.GrpcService',
    fields: { envoy_grpc: 'message:EnvoyGrpc', google_grpc: 'message:GoogleGrpc', timeout: 'duration', initial_metadata: 'list:object', retry_policy: 'object' },
  },
  EnvoyGrpc: {
    fullName: 'envoy.config.core.v3.GrpcService.EnvoyGrpc',
    fields: { cluster_name: 'string', authority: 'string', retry_policy: 'object', max_receive_message_length: 'uint32', skip_envoy_headers: 'bool' },
  },
  GoogleGrpc: {
    fullName: 'envoy.config.core.v3.GrpcService.GoogleGrpc',
    fields: {
      target_uri: 'string',
      channel_credentials: 'object',
      channel_credentials_plugin: 'list:any',
      call_credentials: 'list:object',
      call_credentials_plugin: 'list:any',
      stat_prefix: 'string',
      credentials_factory_name: 'string',
      config: 'object',
      per_stream_buffer_limit_bytes: 'uint32',
      channel_args: 'object',
    },
  },
  ExtProcHttpService: {
    fullName: `${EXT_PROC}.ExtProcHttpService`,
    fields: { http_service: 'message:HttpService' },
  },
  HttpService: {
    fullName: 'envoy.config.core.v3.HttpService',
    fields: { http_uri: 'message:HttpUri', request_headers_to_add: 'list:object', formatters: 'list:object' },
  },
  HttpUri: {
    fullName: 'envoy.config.core.v3.HttpUri',
    fields: { uri: 'string', cluster: 'string', timeout: 'duration' },
  },
  HeaderMutationRules: {
    fullName: 'envoy.config.common.mutation_rules.v3.HeaderMutationRules',
    fields: {
      allow_all_routing: 'bool-value',
      allow_envoy: 'bool-value',
      disallow_system: 'bool-value',
      disallow_all: 'bool-value',
      allow_expression: 'object',
      disallow_expression: 'object',
      disallow_is_error: 'bool-value',
    },
  },
  HeaderForwardingRules: {
    fullName: `${EXT_PROC}.HeaderForwardingRules`,
    fields: { allowed_headers: 'object', disallowed_headers: 'object' },
  },
  MetadataOptions: {
    fullName: `${EXT_PROC}.MetadataOptions`,
    fields: { forwarding_namespaces: 'message:MetadataNamespaces', receiving_namespaces: 'message:MetadataNamespaces', cluster_metadata_forwarding_namespaces: 'message:MetadataNamespaces' },
  },
  MetadataNamespaces: {
    fullName: `${EXT_PROC}.MetadataOptions.MetadataNamespaces`,
    fields: { untyped: 'list:string', typed: 'list:string' },
  },
  HttpStatus: {
    fullName: 'envoy.type.v3.HttpStatus',
    fields: { code: 'enum' },
  },
};
