/**
 * Findings: what the core says about an object. Each has a stable code operators can
 * search for and silence (like istioctl analyze), a location, why it breaks, and the fix.
 */
export type Severity = 'deny' | 'warn' | 'off';

export interface Finding {
  code: RuleCode;
  severity: Severity;
  /** Short place in the object, as it reads in a message: `configPatches[0]`, `rules[1]`, `metadata.annotations`. */
  location: string;
  /** Precise JSON path to the offending field: `spec.configPatches[0].patch.value.typed_config.processing_mode`. */
  path: string;
  /** What is wrong and what breaks at runtime, starting with the subject: `ext_proc request_body_mode BUFFERED: ...`. */
  message: string;
  /** What to write instead. */
  fix: string;
}

interface Rule {
  severity: Severity;
  /** False for rules whose relaxation would store a broken object (the raw token, an unresolved Service). */
  relaxable: boolean;
  title: string;
}

export const RULES = {
  // EPP1xx: resolving the EPP Service
  EPP101: { severity: 'deny', relaxable: false, title: 'EPP Service not found' },
  EPP102: { severity: 'deny', relaxable: false, title: 'EPP Service has no ClusterIP (headless or ExternalName)' },
  EPP103: { severity: 'deny', relaxable: false, title: 'EPP Service in a namespace this object may not reference' },
  EPP104: { severity: 'deny', relaxable: false, title: 'Service, InferencePool or EnvoyFilter cache not ready, or API unreachable (temporary)' },
  EPP105: { severity: 'warn', relaxable: true, title: 'Cluster port_value matches no port of the EPP Service' },
  EPP106: { severity: 'deny', relaxable: false, title: 'Placeholder token still present (the mutating webhook did not run)' },
  EPP107: { severity: 'deny', relaxable: false, title: 'Malformed epp-webhook.io/epp-service annotation' },
  EPP108: { severity: 'deny', relaxable: false, title: 'Malformed epp-webhook.io/inference-pool annotation' },
  EPP109: { severity: 'deny', relaxable: false, title: 'InferencePool named by epp-webhook.io/inference-pool not found' },
  EPP110: { severity: 'deny', relaxable: false, title: "InferencePool's endpointPickerRef does not lead to a ClusterIP Service port" },
  EPP111: { severity: 'deny', relaxable: false, title: 'inference-pool and epp-service annotations name different Services' },
  EPP112: { severity: 'deny', relaxable: false, title: 'EPP_SERVICE_PORT cannot be resolved to one port of the EPP Service' },
  EPP113: { severity: 'warn', relaxable: true, title: "failure_mode_allow disagrees with the InferencePool's failureMode" },
  EPP114: { severity: 'deny', relaxable: true, title: "Cluster port_value is not the InferencePool's endpointPickerRef port" },
  EPP115: { severity: 'deny', relaxable: false, title: 'More placeholder tokens in one EnvoyFilter than the webhook substitutes (1,000, at paths of 128 KiB in all)' },
  EPP116: { severity: 'warn', relaxable: true, title: 'The address or port the webhook wrote is no longer the Service it recorded (recreated, changed or gone)' },
  EPP117: { severity: 'warn', relaxable: true, title: "An EPP Service's ClusterIP written by hand instead of the placeholder" },
  // EPP2xx: processing_mode
  EPP201: { severity: 'deny', relaxable: true, title: 'processing_mode value istiod refuses (not an exact upper-case name or an integer)' },
  EPP202: { severity: 'deny', relaxable: true, title: 'Body mode the EPP does not speak (request body BUFFERED, BUFFERED_PARTIAL, STREAMED or GRPC; response body STREAMED)' },
  EPP203: { severity: 'deny', relaxable: true, title: 'FULL_DUPLEX_STREAMED without the matching trailer mode SEND' },
  EPP204: { severity: 'warn', relaxable: true, title: 'Headers sent to the EPP with request_body_mode NONE' },
  EPP205: { severity: 'warn', relaxable: true, title: 'failure_mode_allow: true (fail-open skips endpoint picking)' },
  EPP206: { severity: 'warn', relaxable: true, title: 'ext_proc sends nothing to the EPP and no per-route override enables it' },
  EPP207: { severity: 'warn', relaxable: true, title: 'allow_mode_override with FULL_DUPLEX_STREAMED (changes nothing)' },
  EPP208: { severity: 'deny', relaxable: false, title: 'Malformed epp-webhook.io/epp annotation (not "true" or "false")' },
  EPP209: { severity: 'warn', relaxable: true, title: 'epp-webhook.io/epp "false" on an EnvoyFilter that gets the EPP ClusterIP' },
  // EPP21x: ext_proc read as istiod converts it, judged against Envoy's own checks
  EPP210: { severity: 'deny', relaxable: true, title: 'processing_mode value istiod passes and Envoy rejects (a number naming no mode; in a TypedStruct, any value Envoy cannot read)' },
  EPP211: { severity: 'warn', relaxable: true, title: 'Per-route override FULL_DUPLEX_STREAMED without trailer mode SEND (Envoy checks this only on the filter; completions without trailers pass)' },
  EPP212: { severity: 'warn', relaxable: true, title: 'ext_proc field written in snake_case and lowerCamelCase with different values (istiod keeps the lowerCamelCase one)' },
  EPP213: { severity: 'warn', relaxable: true, title: 'ext_proc field istiod does not know (a misspelt key): dropped' },
  EPP214: { severity: 'deny', relaxable: true, title: 'ext_proc field of a JSON type istiod refuses' },
  EPP215: { severity: 'deny', relaxable: true, title: 'ext_proc duration Envoy rejects (negative, or a message timeout above 1h)' },
  EPP216: { severity: 'deny', relaxable: true, title: 'grpc_service or http_service Envoy rejects (no target, an authority with CR, LF or NUL, a credential or header entry that names none)' },
  EPP217: { severity: 'deny', relaxable: true, title: 'ExtProcPerRoute with neither overrides nor disabled: true' },
  EPP218: { severity: 'deny', relaxable: true, title: 'http_service with a body mode other than NONE or a trailer mode SEND' },
  EPP219: { severity: 'deny', relaxable: true, title: 'ext_proc filter typed_config without @type, or with an ext_proc type istiod does not know' },
  EPP220: { severity: 'warn', relaxable: true, title: 'Response body BUFFERED or BUFFERED_PARTIAL to the EPP (a streamed completion reaches the client only at its end)' },
  EPP221: { severity: 'deny', relaxable: true, title: 'TypedStruct ext_proc value Envoy cannot convert (an unknown field, a duration not in seconds, a scalar for an object, two members of a oneof)' },
  EPP222: { severity: 'deny', relaxable: true, title: 'TypedStruct ext_proc field written twice with different values (which one Envoy keeps is not defined)' },
  EPP223: { severity: 'deny', relaxable: true, title: "MERGE into istiod's InferencePool ext_proc filter with a typed_config of another type (istiod's merge fails and drops every HTTP filter patch of the gateway's connection manager)" },
  EPP224: { severity: 'deny', relaxable: true, title: 'ext_proc "@type" without a "/" (Envoy cannot unpack the type URL)' },
  EPP225: { severity: 'deny', relaxable: true, title: 'ext_proc field Envoy refuses on load (status_on_error code, an empty forward_rules or mutation_rules matcher, a request_attributes entry that is not CEL, an extension without name or typed_config)' },
  EPP226: { severity: 'deny', relaxable: true, title: "ext_proc regex RE2 cannot compile (lookaround, backreference, atomic group, possessive quantifier): Envoy rejects the listener" },
  EPP230: { severity: 'warn', relaxable: true, title: "ext_proc filter on a gateway without the route override that keeps it from istiod's InferencePool ext_proc override" },
  EPP231: { severity: 'warn', relaxable: true, title: "ext_proc route override matching no route by name, where InferencePools of several EPPs share the namespace (one EPP picks every pool's requests)" },
  EPP232: { severity: 'warn', relaxable: true, title: 'ext_proc filter patched with a sidecar context on an EnvoyFilter that selects a gateway (never inserted)' },
  EPP233: { severity: 'warn', relaxable: true, title: "ext_proc observability_mode: true (Envoy ignores the EPP's answers: its pick is never applied)" },
  // EPP3xx: wiring of the filter and its cluster
  EPP301: { severity: 'deny', relaxable: true, title: 'ext_proc with neither or both of grpc_service and http_service' },
  EPP302: { severity: 'deny', relaxable: true, title: 'gRPC cluster without HTTP/2' },
  EPP303: { severity: 'deny', relaxable: true, title: 'STATIC cluster address that is not an IP' },
  EPP304: { severity: 'warn', relaxable: true, title: 'REPLACE on subFilter envoy.filters.http.ext_proc (a no-op unless Istio inserted it)' },
  EPP305: { severity: 'warn', relaxable: true, title: 'ext_proc cluster not defined in this EnvoyFilter (works if another EnvoyFilter adds it, else every request fails)' },
  EPP306: { severity: 'warn', relaxable: true, title: 'EPP cluster without TLS (the EPP serves TLS by default)' },
  EPP307: { severity: 'deny', relaxable: false, title: 'Malformed EnvoyFilter (wrong type where an array or object is expected)' },
  EPP310: { severity: 'deny', relaxable: true, title: 'Cluster field istiod refuses (type, lb_policy, connect_timeout, port, or any other in a JSON type it does not take)' },
  EPP311: { severity: 'deny', relaxable: true, title: 'Cluster type or lb_policy Envoy rejects (undefined number, EDS without a source, ORIGINAL_DST or CLUSTER_PROVIDED mismatch, LOAD_BALANCING_POLICY_CONFIG without a policy, eds_cluster_config on another type)' },
  EPP312: { severity: 'deny', relaxable: true, title: "Cluster field Envoy's rules refuse (no name, an empty address, a port above 65535, a duration at or below its bound, an entry without what it requires)" },
  EPP313: { severity: 'deny', relaxable: true, title: 'Cluster transport_socket without name or typed_config' },
  EPP314: { severity: 'deny', relaxable: true, title: 'Cluster negotiating HTTP/2 by ALPN (auto_config) without a TLS transport_socket' },
  EPP315: { severity: 'deny', relaxable: true, title: 'Cluster protocol options Envoy rejects (a misspelt extension name, HttpProtocolOptions choosing no protocol)' },
  EPP316: { severity: 'deny', relaxable: true, title: 'ext_proc with disable_clear_route_cache: true beside a route_cache_action other than DEFAULT' },
  EPP317: { severity: 'warn', relaxable: true, title: 'Two CLUSTER ADD patches add different clusters of one name to the same proxies (istiod keeps the first, discards the other)' },
  EPP318: { severity: 'deny', relaxable: true, title: "A CLUSTER ADD named as istiod's own outbound cluster (outbound|port|subset|host): Envoy rejects the cluster update carrying both" },
  EPP320: { severity: 'deny', relaxable: true, title: 'Cluster health check without timeout, interval, thresholds or a checker (Envoy rejects the cluster)' },
  EPP321: { severity: 'warn', relaxable: true, title: 'Cluster or endpoint address field istiod does not know (a misspelt key): dropped' },
  EPP322: { severity: 'warn', relaxable: true, title: "EPP cluster's circuit breaker at or below Envoy's default of 1,024 requests in flight (each request holds an ext_proc stream: past it, 500s)" },
  EPP319: { severity: 'deny', relaxable: true, title: 'ext_proc filter placed after the router (ADD, or INSERT_AFTER with no subFilter or after the router): Envoy rejects the listener' },
  // EPP4xx: HTTPRoute
  EPP401: { severity: 'deny', relaxable: false, title: 'Rule already holds 16 filters: no room for the ext_proc ExtensionRef' },
  EPP402: { severity: 'warn', relaxable: true, title: 'Istio does not resolve ExtensionRef filters in HTTPRoutes' },
  EPP403: { severity: 'deny', relaxable: false, title: 'Malformed HTTPRoute (wrong type where an array or object is expected)' },
  EPP404: { severity: 'deny', relaxable: false, title: 'Rule mixes InferencePools served by different EnvoyFilters (one rule, one EPP)' },
  EPP405: { severity: 'deny', relaxable: false, title: "No single EnvoyFilter for the rule's InferencePool (several claim it, or the route annotation names another, or the rule holds another pool's beside a second ExtensionRef)" },
  EPP406: { severity: 'warn', relaxable: true, title: 'Injected ExtensionRef names an EnvoyFilter that is not in the namespace' },
  EPP407: { severity: 'deny', relaxable: false, title: "A pool no EnvoyFilter claims would get the EnvoyFilter annotated with another pool (one rule, one EPP)" },
  EPP408: { severity: 'warn', relaxable: true, title: "A rule's own ExtensionRef named the EnvoyFilter of a pool it does not send to: replaced by the one its pools get" },
  EPP409: { severity: 'warn', relaxable: true, title: "An InferencePool rule's Envoy route carries the ext_proc override of another pool's EnvoyFilter (that pool's EPP picks its requests)" },
  EPP410: { severity: 'deny', relaxable: true, title: 'A backendRef of kind InferencePool has no group: the core group has no InferencePool, no gateway resolves it' },
  EPP411: { severity: 'warn', relaxable: true, title: "A backendRef to a v1alpha2 InferencePool (inference.networking.x-k8s.io), which istiod's translation does not resolve" },
  // EPP5xx: DestinationRule
  EPP501: { severity: 'warn', relaxable: true, title: "DestinationRule caps istiod's cluster of an InferencePool's EPP at or below 1,024 requests in flight (each request holds an ext_proc stream: past it, 500s)" },
} as const satisfies Record<string, Rule>;

export type RuleCode = keyof typeof RULES;

export type SeverityOverrides = Partial<Record<RuleCode, Severity>>;

export function isRuleCode(code: string): code is RuleCode {
  return Object.hasOwn(RULES, code);
}

/** Makes a finding at the severity the operator configured for its code. */
/** `defaultSeverity`: where the rule's default depends on the context (EPP410 off Istio); the operator's setting still wins. */
export function finding(
  code: RuleCode,
  severities: SeverityOverrides,
  at: { location: string; path: string },
  message: string,
  fix: string,
  defaultSeverity: Severity = RULES[code].severity,
): Finding {
  return { code, severity: severities[code] ?? defaultSeverity, location: at.location, path: at.path, message, fix };
}

/** `[EPP202] configPatches[0] ext_proc request_body_mode BUFFERED: <why>. Fix: <what>` (one line: logs, Events) */
export function formatFinding(f: Finding): string {
  return `[${f.code}] ${f.location} ${f.message}. Fix: ${f.fix}`;
}

/** A count as messages write it: 1,000. */
export const formatCount = (n: number): string => n.toLocaleString('en-US');

/**
 * For kubectl: the code and what is wrong, then the fix, as two lines, so that each stays readable in a terminal
 * (kube-apiserver passes each on whole while a request's warnings stay within 4,096 characters: warning-budget.ts):
 * `[EPP202] configPatches[0] ext_proc request_body_mode BUFFERED: <why>` and `[EPP202] Fix: <what>`.
 */
export function findingAndFix(f: Finding): [problem: string, fix: string] {
  return [`[${f.code}] ${f.location} ${f.message}`, `[${f.code}] Fix: ${f.fix}`];
}
