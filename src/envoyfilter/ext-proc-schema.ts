/**
 * The messages of an ext_proc config as istiod knows them (the go-control-plane protos in istio.io/istio,
 * the version pinned in test/oracle/istio/go.mod): every field, and for the ones the webhook type-checks, the
 * JSON istiod's conversion takes. A field not listed is one istiod drops. `npm run test:oracles` checks this
 * table against Istio's own descriptors, so it cannot drift silently when Istio is bumped.
 *
 * Kinds: `bool` (JSON true/false, also google.protobuf.BoolValue), `string`, `duration` (a string Go's
 * time.ParseDuration reads), `enum` (an exact value name or a JSON number), `list`, `message:<Name>` (an
 * object, checked recursively), `any` (anything else: not type-checked here).
 */
export type FieldKind = 'bool' | 'string' | 'duration' | 'enum' | 'list' | 'any' | `message:${MessageName}`;

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
  | 'HttpUri';

const EXT_PROC = 'envoy.extensions.filters.http.ext_proc.v3';

export const EXT_PROC_SCHEMA: Record<MessageName, MessageSchema> = {
  ExternalProcessor: {
    fullName: `${EXT_PROC}.ExternalProcessor`,
    fields: {
      grpc_service: 'message:GrpcService',
      http_service: 'message:ExtProcHttpService',
      failure_mode_allow: 'bool',
      processing_mode: 'message:ProcessingMode',
      request_attributes: 'list',
      response_attributes: 'list',
      message_timeout: 'duration',
      stat_prefix: 'string',
      mutation_rules: 'any',
      max_message_timeout: 'duration',
      forward_rules: 'any',
      filter_metadata: 'any',
      allow_mode_override: 'bool',
      disable_immediate_response: 'bool',
      metadata_options: 'any',
      observability_mode: 'bool',
      disable_clear_route_cache: 'bool',
      route_cache_action: 'enum',
      deferred_close_timeout: 'duration',
      send_body_without_waiting_for_header_response: 'bool',
      allowed_override_modes: 'list',
      processing_request_modifier: 'any',
      on_processing_response: 'any',
      status_on_error: 'any',
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
      request_attributes: 'list',
      response_attributes: 'list',
      grpc_service: 'message:GrpcService',
      metadata_options: 'any',
      grpc_initial_metadata: 'list',
      failure_mode_allow: 'bool',
      processing_request_modifier: 'any',
    },
  },
  GrpcService: {
    fullName: 'envoy.config.core.v3.GrpcService',
    fields: { envoy_grpc: 'message:EnvoyGrpc', google_grpc: 'message:GoogleGrpc', timeout: 'duration', initial_metadata: 'list', retry_policy: 'any' },
  },
  EnvoyGrpc: {
    fullName: 'envoy.config.core.v3.GrpcService.EnvoyGrpc',
    fields: { cluster_name: 'string', authority: 'string', retry_policy: 'any', max_receive_message_length: 'any', skip_envoy_headers: 'bool' },
  },
  GoogleGrpc: {
    fullName: 'envoy.config.core.v3.GrpcService.GoogleGrpc',
    fields: {
      target_uri: 'string',
      channel_credentials: 'any',
      channel_credentials_plugin: 'list',
      call_credentials: 'list',
      call_credentials_plugin: 'list',
      stat_prefix: 'string',
      credentials_factory_name: 'string',
      config: 'any',
      per_stream_buffer_limit_bytes: 'any',
      channel_args: 'any',
    },
  },
  ExtProcHttpService: {
    fullName: `${EXT_PROC}.ExtProcHttpService`,
    fields: { http_service: 'message:HttpService' },
  },
  HttpService: {
    fullName: 'envoy.config.core.v3.HttpService',
    fields: { http_uri: 'message:HttpUri', request_headers_to_add: 'list', formatters: 'list' },
  },
  HttpUri: {
    fullName: 'envoy.config.core.v3.HttpUri',
    fields: { uri: 'string', cluster: 'string', timeout: 'duration' },
  },
};
