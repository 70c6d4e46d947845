import type { MessageName } from './ext-proc-schema.ts';

/**
 * The oneofs below the fields ext-proc-schema.ts leaves unwalked (`any`), read from Envoy 1.40's own descriptors:
 * in a TypedStruct Envoy converts the value itself and refuses a second member of a oneof, so these are checked
 * there (check-ext-proc-oneofs.ts). The schema's own oneofs (ExtProcPerRoute's override, GrpcService's target) are
 * checked where those messages are read (check-ext-proc-fields.ts). A oneof of one member (HttpUri's cluster) cannot
 * be set twice, and ExternalProcessor's grpc_service/http_service and disable_clear_route_cache/route_cache_action
 * are not oneofs in v3 (Envoy's filter checks both pairs itself: EPP301, EPP316).
 */
export interface OneofMessage {
  /** Each oneof's members, snake_case. */
  oneofs?: readonly (readonly string[])[];
  /** Fields leading to further oneofs: one message, a list of them, or a map whose values are them. */
  fields?: Readonly<Record<string, OneofField>>;
}

export interface OneofField {
  message: OneofMessage;
  repeated?: 'list' | 'map';
}

/** envoy.type.matcher.v3.StringMatcher */
const STRING_MATCHER: OneofMessage = { oneofs: [['exact', 'prefix', 'suffix', 'safe_regex', 'contains', 'custom']] };
/** envoy.type.matcher.v3.ListStringMatcher */
const LIST_STRING_MATCHER: OneofMessage = { fields: { patterns: { message: STRING_MATCHER, repeated: 'list' } } };
/** envoy.config.core.v3.DataSource */
const DATA_SOURCE: OneofMessage = { oneofs: [['filename', 'inline_bytes', 'inline_string', 'environment_variable']] };
/** GrpcService.GoogleGrpc.SslCredentials */
const SSL_CREDENTIALS: OneofMessage = {
  fields: { root_certs: { message: DATA_SOURCE }, private_key: { message: DATA_SOURCE }, cert_chain: { message: DATA_SOURCE } },
};

/** Where they start: a field of a schema message, typed `any` there. */
export const ONEOFS_BELOW: Partial<Record<MessageName, Readonly<Record<string, OneofField>>>> = {
  ExternalProcessor: {
    // HeaderForwardingRules
    forward_rules: { message: { fields: { allowed_headers: { message: LIST_STRING_MATCHER }, disallowed_headers: { message: LIST_STRING_MATCHER } } } },
  },
  GoogleGrpc: {
    channel_credentials: {
      message: { oneofs: [['ssl_credentials', 'google_default', 'local_credentials']], fields: { ssl_credentials: { message: SSL_CREDENTIALS } } },
    },
    call_credentials: {
      message: { oneofs: [['access_token', 'google_compute_engine', 'google_refresh_token', 'service_account_jwt_access', 'google_iam', 'from_plugin', 'sts_service']] },
      repeated: 'list',
    },
    // ChannelArgs {args: map<string, Value>}
    channel_args: { message: { fields: { args: { message: { oneofs: [['string_value', 'int_value']] }, repeated: 'map' } } } },
  },
};
