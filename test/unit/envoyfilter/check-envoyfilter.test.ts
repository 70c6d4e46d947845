import t from 'tap';
import { eppProcessingMode } from '../../helpers/epp-processing-mode.ts';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { checkEnvoyFilter } from '../../../src/envoyfilter/check-envoyfilter.ts';
import { ISTIOD_REFUSES } from '../../../src/envoyfilter/check-never-read-config.ts';
import { RULE_CLAIMS } from '../../oracle/rule-claims.ts';
import { substituteClusterIP } from '../../../src/envoyfilter/substitute-cluster-ip.ts';
import { formatFinding, type Finding } from '../../../src/findings.ts';
import { fixtureResolver, manifest } from '../../helpers/fixtures.ts';

const NS = 'llm-d-inference-scheduler';
/**
 * The codes of the findings, but EPP230: every ext_proc filter these tests insert reaches gateways (no context is ANY)
 * without the route override that keeps it from istiod's InferencePool override, so EPP230 would be in each list; its
 * own tests are in check-istiod-route-override.test.ts.
 */
const allCodes = (findings: Finding[], severity?: string) =>
  findings.filter((f) => severity === undefined || f.severity === severity).map((f) => f.code).sort();
const codes = (findings: Finding[], severity?: string) =>
  findings.filter((f) => f.code !== 'EPP230' && (severity === undefined || f.severity === severity)).map((f) => f.code).sort();

async function substituted(name: string) {
  return (await substituteClusterIP(manifest(name), NS, fixtureResolver(), DEFAULT_CONFIG)).object;
}

/** An EnvoyFilter with one INSERT_BEFORE ext_proc filter config and a good cluster, annotated as talking to an EPP. */
function withFilter(typedConfig: Record<string, unknown>, cluster: Record<string, unknown> = goodCluster()) {
  return {
    metadata: { name: 'f', namespace: NS, annotations: { 'epp-webhook.io/epp': 'true' } },
    spec: {
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: { listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } } } },
          patch: {
            operation: 'INSERT_BEFORE',
            value: { name: 'envoy.filters.http.ext_proc', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', ...typedConfig } },
          },
        },
        { applyTo: 'CLUSTER', patch: { operation: 'ADD', value: cluster } },
      ],
    },
  };
}

function goodCluster(overrides: Record<string, unknown> = {}) {
  return {
    name: 'epp-cluster',
    type: 'STATIC',
    http2_protocol_options: {},
    circuit_breakers: { thresholds: [{ max_requests: 4294967295 }] },
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' } },
    load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.96.0.9', port_value: 9002 } } } }] }] },
    ...overrides,
  };
}

const GRPC = { grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' } } };
const FULL_DUPLEX = eppProcessingMode();

/** The EPP's filter with `fields` added, its config written as a TypedStruct's value (Envoy converts it). */
function judgeInTypedStruct(fields: Record<string, unknown>) {
  const object = withFilter({});
  (object.spec.configPatches[0].patch.value as Record<string, unknown>).typed_config = {
    '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
    type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
    value: { ...GRPC, processing_mode: FULL_DUPLEX, ...fields },
  };
  return checkEnvoyFilter(object, DEFAULT_CONFIG);
}

t.test("the guide's EnvoyFilter is admitted, with warnings", async (t) => {
  const findings = checkEnvoyFilter(await substituted('guide-envoyfilter.yaml'), DEFAULT_CONFIG);
  t.same(allCodes(findings, 'deny'), []);
  t.same(allCodes(findings, 'warn'), ['EPP206', 'EPP230', 'EPP304', 'EPP306', 'EPP322']);
});

t.test('the working FULL_DUPLEX config draws only EPP230: it works unless istiod overrides it on InferencePool routes', async (t) => {
  t.same(allCodes(checkEnvoyFilter(await substituted('full-duplex-envoyfilter.yaml'), DEFAULT_CONFIG)), ['EPP230']);
});

t.test('the example EnvoyFilter (the route override on the filter istiod inserts) draws no finding at all', async (t) => {
  const example = parse(readFileSync(new URL('../../../examples/envoyfilter-placeholder.yaml', import.meta.url), 'utf8'));
  t.same(checkEnvoyFilter((await substituteClusterIP(example, NS, fixtureResolver(), DEFAULT_CONFIG)).object, DEFAULT_CONFIG), []);
});

t.test("the operator's sample is denied, naming every problem at once", async (t) => {
  const findings = checkEnvoyFilter(manifest('wild/operator-sample-envoyfilter-epp.yaml'), DEFAULT_CONFIG);
  t.same(allCodes(findings, 'deny'), ['EPP201', 'EPP202']);
  t.same(allCodes(findings, 'warn'), ['EPP230', 'EPP306', 'EPP322']);
  const text = findings.map(formatFinding).join('\n');
  t.match(text, '[EPP201] configPatches[0] ext_proc response_body_mode "SKIP": istiod refuses this at kubectl apply');
  t.match(text, 'SKIP is a header and trailer mode, not a body mode');
  t.match(text, '[EPP202] configPatches[0] ext_proc request_body_mode BUFFERED: the EPP speaks only FULL_DUPLEX_STREAMED');
  t.match(text, 'Fix: set request_body_mode: FULL_DUPLEX_STREAMED and request_trailer_mode: SEND');
  const skip = findings.find((f) => f.code === 'EPP201')!;
  t.equal(skip.path, 'spec.configPatches[0].patch.value.typed_config.processing_mode.response_body_mode');
});

t.test("the operator's route override only warns on a hint, and is denied once annotated as an EPP", async (t) => {
  const hinted = checkEnvoyFilter(manifest('wild/operator-envoyfilter-route-override.yaml'), DEFAULT_CONFIG);
  t.same(allCodes(hinted, 'deny'), [], 'cluster epp-cluster at an IP on port 9002 only looks like an EPP: no denial on a guess');
  t.same(allCodes(hinted, 'warn'), ['EPP202', 'EPP202', 'EPP205', 'EPP304', 'EPP306', 'EPP322'], "no EPP230: its HTTP_ROUTE MERGE replaces istiod's override whole");
  t.match(hinted.find((f) => f.code === 'EPP202')!.message, 'judged an EPP only on a hint: cluster epp-cluster looks like an EPP\'s (its name); annotate epp-webhook.io/epp: "true" to confirm');

  const object = manifest('wild/operator-envoyfilter-route-override.yaml');
  object.metadata.annotations = { 'epp-webhook.io/epp': 'true' };
  const findings = checkEnvoyFilter(object, DEFAULT_CONFIG);
  t.same(allCodes(findings, 'deny'), ['EPP202', 'EPP202']);
  t.same(allCodes(findings, 'warn'), ['EPP205', 'EPP304', 'EPP306', 'EPP322']);
  const perRoute = findings.filter((f) => f.location === 'configPatches[2]');
  t.same(codes(perRoute), ['EPP202', 'EPP205'], 'the ExtProcPerRoute overrides are checked too');
  t.equal(perRoute.find((f) => f.code === 'EPP205')!.path, 'spec.configPatches[2].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"].overrides.failure_mode_allow');
});

t.test('the BUFFERED variant of the guide is denied', async (t) => {
  const findings = checkEnvoyFilter(await substituted('guide-envoyfilter-buffered.yaml'), DEFAULT_CONFIG);
  t.same(codes(findings, 'deny'), ['EPP202']);
});

t.test('a token left in the object means the mutating webhook did not run', async (t) => {
  const findings = checkEnvoyFilter(manifest('guide-envoyfilter.yaml'), DEFAULT_CONFIG);
  const leftover = findings.find((f) => f.code === 'EPP106')!;
  t.equal(leftover.severity, 'deny');
  t.match(leftover.message, /EPP_SERVICE_CLUSTER_IP still present in 1 place\(s\): the mutating webhook did not run/);
  t.notOk(findings.some((f) => f.code === 'EPP303'), 'the token is not also reported as a hostname');

  const flood = manifest('guide-envoyfilter.yaml');
  flood.spec.configPatches[1].patch.value.metadata = { filter_metadata: { notes: { list: Array.from({ length: 5_000 }, () => 'EPP_SERVICE_CLUSTER_IP') } } };
  const counted = checkEnvoyFilter(flood, DEFAULT_CONFIG).filter((f) => f.code === 'EPP106');
  t.equal(counted.length, 1, 'one finding however many tokens are left');
  t.match(counted[0].message, 'EPP_SERVICE_CLUSTER_IP still present in more than 1,000 place(s)');
});

t.test('processing_mode is read as istiod converts it: camelCase keys, exact names or numbers', async (t) => {
  const camel = withFilter({ ...GRPC, processingMode: { requestHeaderMode: 1, requestBodyMode: 4, requestTrailerMode: 'SEND', responseHeaderMode: 'SKIP' } });
  t.same(codes(checkEnvoyFilter(camel, DEFAULT_CONFIG)), []);
  const numbers = withFilter({ ...GRPC, processing_mode: { request_body_mode: 2, response_body_mode: 9, request_header_mode: 'send' } });
  const findings = checkEnvoyFilter(numbers, DEFAULT_CONFIG);
  t.same(codes(findings), ['EPP201', 'EPP202', 'EPP210']);
  const text = findings.map(formatFinding).join('\n');
  t.match(text, /response_body_mode 9: no mode has this number .*Istio accepts it and Envoy rejects the listener update/, 'an unknown number passes istiod and fails in Envoy');
  t.match(text, /request_header_mode "send": istiod refuses this at kubectl apply: it takes a mode's exact upper-case name or its number, DEFAULT \(0\), SEND \(1\), SKIP \(2\).*Fix: use SEND or SKIP/);
  t.notMatch(text, /Envoy defines/, 'a lower-case name is not a claim about Envoy (Envoy itself reads it)');
  t.match(text, /request_body_mode BUFFERED/, 'the number 2 is BUFFERED');
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, request_trailer_mode: '1' } }), DEFAULT_CONFIG)), ['EPP201'], 'a number in a string is refused by istiod');
});

t.test('a field written twice: istiod keeps the lowerCamelCase one, and the rules judge that one', async (t) => {
  const twice = withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, request_body_mode: 'FULL_DUPLEX_STREAMED', requestBodyMode: 'BUFFERED' } });
  const findings = checkEnvoyFilter(twice, DEFAULT_CONFIG);
  t.same(codes(findings), ['EPP202', 'EPP212']);
  const warning = findings.find((f) => f.code === 'EPP212')!;
  t.match(warning.message, 'Istio keeps requestBodyMode and drops request_body_mode, so Envoy runs "BUFFERED"');
  const same = withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, requestBodyMode: 'FULL_DUPLEX_STREAMED' } });
  t.same(codes(checkEnvoyFilter(same, DEFAULT_CONFIG)), [], 'the same value twice changes nothing');
});

t.test('a misspelt ext_proc key is named, with what istiod does instead', async (t) => {
  const { request_body_mode: _, ...rest } = FULL_DUPLEX;
  const findings = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...rest, request_body_mod: 'FULL_DUPLEX_STREAMED' } }), DEFAULT_CONFIG);
  const typo = findings.find((f) => f.code === 'EPP213')!;
  t.equal(typo.severity, 'warn', 'istiod itself only warns; the rules then judge the default it runs');
  t.match(typo.message, 'request_body_mod is not a field of ProcessingMode (did you mean request_body_mode?): Istio drops it with only a warning at kubectl apply, so request_body_mode stays NONE');
  t.equal(typo.fix, 'rename request_body_mod to request_body_mode');
  t.equal(typo.path, 'spec.configPatches[0].patch.value.typed_config.processing_mode.request_body_mod');
  const camelTypo = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, failureModeAllowed: true }), DEFAULT_CONFIG);
  t.match(camelTypo.find((f) => f.code === 'EPP213')!.message, 'did you mean failure_mode_allow?');
});

t.test("values istiod's conversion refuses, and values Envoy's own checks reject", async (t) => {
  const judge = (typedConfig: Record<string, unknown>) => checkEnvoyFilter(withFilter({ processing_mode: FULL_DUPLEX, ...typedConfig }), DEFAULT_CONFIG);
  const quotedBool = judge({ ...GRPC, failure_mode_allow: 'true' });
  t.same(codes(quotedBool), ['EPP214']);
  t.match(quotedBool[0].message, 'istiod refuses this at kubectl apply (it takes true or false, unquoted)');
  t.same(codes(judge({ ...GRPC, message_timeout: 5 })), ['EPP214'], 'a duration is a string');
  t.same(codes(judge({ ...GRPC, message_timeout: '200ms' })), [], "Go's duration syntax is what istiod reads");
  for (const unit of ['valueOf', 'constructor', 'toString', '__proto__']) {
    const odd = judge({ ...GRPC, message_timeout: `1${unit}` });
    t.same(codes(odd), ['EPP214'], `a unit named as an Object method (1${unit}) is refused like any unknown unit, not a crash`);
    t.match(odd[0]?.message, `message_timeout is the string "1${unit}": istiod refuses this`);
  }
  const long = judge({ ...GRPC, message_timeout: '3601s' });
  t.same(codes(long), ['EPP215']);
  t.match(long[0].message, "above Envoy's limit of 1h: Istio accepts it and Envoy rejects the listener update: running gateway Pods keep their old config, and one that starts has no listener");
  t.same(codes(judge({ ...GRPC, max_message_timeout: '3600s' })), [], '1h itself is allowed');
  t.same(codes(judge({ grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' }, timeout: '-1s' } })), ['EPP215']);
  t.same(codes(judge({ grpc_service: {} })), ['EPP216']);
  t.same(codes(judge({ grpc_service: { envoy_grpc: {} } })), ['EPP216']);
  t.same(codes(judge({ grpc_service: { google_grpc: { target_uri: 'epp:9002' } } })), ['EPP216'], 'Google gRPC needs a stat_prefix');
  t.same(codes(judge({ grpc_service: null })), ['EPP301'], 'null leaves grpc_service unset');
});

t.test('the JSON type of every ext_proc field as istiod reads it, and as Envoy reads a TypedStruct (the oracle\'s field sweep)', async (t) => {
  const judge = (fields: Record<string, unknown>) => checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, ...fields }), DEFAULT_CONFIG);
  const inTypedStruct = judgeInTypedStruct;
  const at = 'spec.configPatches[0].patch.value.typed_config';

  const entry = judge({ request_attributes: ['request.path', 1] });
  t.same(codes(entry), ['EPP214'], 'a number in a list of strings');
  t.equal(entry[0].path, `${at}.request_attributes[1]`);
  t.equal(entry[0].message, 'ext_proc request_attributes[1] is the number 1: istiod refuses this at kubectl apply (it takes a string)');
  t.equal(entry[0].fix, 'write request_attributes[1] as a string');
  t.same(codes(judge({ allowed_override_modes: ['FULL_DUPLEX_STREAMED'] })), ['EPP214'], 'a string in a list of messages');
  t.same(codes(judge({ mutation_rules: [] })), ['EPP214'], 'a message not walked field by field is still an object');
  t.same(codes(judge({ filter_metadata: 'x' })), ['EPP214'], 'a Struct is an object');
  t.same(codes(judge({ grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster', max_receive_message_length: -1 } } })), ['EPP214'], 'a UInt32Value below 0');
  t.same(codes(judge({ grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster', max_receive_message_length: '4194304' } } })), [], 'a UInt32Value in a decimal string loads');

  const nullAttribute = judge({ request_attributes: [null] });
  t.same(codes(nullAttribute), ['EPP225'], 'null in a list of attributes is "", which is no CEL');
  t.match(nullAttribute[0].message, 'request_attributes[0] null (read as "") is not a CEL expression Envoy can build');
  t.same(codes(judge({ grpc_service: { ...GRPC.grpc_service, initial_metadata: [null] } })), ['EPP216'], 'null in gRPC metadata is an entry without key');

  const both = { envoy_grpc: { cluster_name: 'epp-cluster' }, google_grpc: {} };
  t.same(codes(judge({ grpc_service: both })), ['EPP216'], 'with both, google_grpc reaches Envoy, whichever is written first: judged alone');
  t.same(codes(judge({ grpc_service: { google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' }, envoy_grpc: {} } })), [], 'and an envoy_grpc beside it is never read');

  const google = (fields: Record<string, unknown>) => judge({ grpc_service: { google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp', ...fields } } });
  const credentials = google({ call_credentials: [{}] });
  t.same(codes(credentials), ['EPP216'], 'a call credential that names none');
  t.equal(credentials[0].path, `${at}.grpc_service.google_grpc.call_credentials[0]`);
  t.match(credentials[0].message, 'ext_proc call_credentials[0] sets none of access_token, google_compute_engine');
  t.same(codes(google({ channel_credentials: {} })), ['EPP216'], 'channel credentials that name none');
  t.same(codes(google({ channel_credentials: { google_default: {} } })), [], 'one credential loads');
  t.same(codes(google({ call_credentials_plugin: [{}] })), ['EPP214'], 'an Any without "@type"');

  t.same(codes(inTypedStruct({ failure_mode_allow: 'false' })), [], 'Envoy\'s reader takes "false" for a bool');
  t.same(codes(inTypedStruct({ failure_mode_allow: 1 })), ['EPP221'], 'but not a number');
  t.same(codes(inTypedStruct({ stat_prefix: 7 })), ['EPP221'], 'nor a number for a string');
  t.same(codes(inTypedStruct({ request_attributes: [true] })), ['EPP221'], 'nor a bool in a list of strings');
  t.same(codes(inTypedStruct({ message_timeout: { seconds: 1 } })), [], 'an object for a Duration it reads');
  t.same(codes(inTypedStruct({ request_attributes: 1 })), ['EPP221'], 'a number for a list of strings it does not');
  t.same(codes(inTypedStruct({ '@type': 'x' })), ['EPP221'], 'an @type in its value is a field no message has');
  t.same(codes(judge({ mutation_rules: { '@type': 'x', allow_all_routing: true } })), ['EPP213'], 'an @type below the root istiod drops');
  const lone = inTypedStruct({ request_attributes: 'request..path' });
  t.same(codes(lone), ['EPP225'], 'a lone string for a list it reads as the one entry, and judges it');
  t.equal(lone[0].path, `${at}.value.request_attributes`, 'the path names the value itself');
  const nested = inTypedStruct({ grpc_service: { ...GRPC.grpc_service, initial_metadata: [[{ key: '' }]] } });
  t.same(codes(nested), ['EPP216'], 'a list inside the list it reads too');
  t.equal(nested[0].path, `${at}.value.grpc_service.initial_metadata[0][0]`);
  t.same(codes(inTypedStruct({ route_cache_action: 4294967296 })), ['EPP221'], 'an enum number beyond int32');
  t.same(codes(inTypedStruct({ route_cache_action: '99' })), [], 'a number no value has, in a string, it takes');
  t.same(codes(inTypedStruct({ grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster', max_receive_message_length: ' 7' } } })), ['EPP221'], 'a UInt32Value string not in a number\'s form');
  t.same(codes(inTypedStruct({ grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster', max_receive_message_length: { value: 1 } } } })), [], 'a UInt32Value object it takes');
  t.same(codes(judge({ forward_rules: { allowed_headers: { patterns: [{ exact: 'x-a' }, null] } } })), ['EPP225'], 'null in patterns is a pattern with no match');
  const http = (service: Record<string, unknown>) => judge({ grpc_service: undefined, processing_mode: { request_header_mode: 'SEND' }, http_service: { http_service: { http_uri: { uri: 'http://epp:9002/', cluster: 'epp-cluster', timeout: '1s' }, ...service } } });
  t.same(codes(http({ request_headers_to_add: [{ header: {} }] }), 'deny'), ['EPP216'], 'a header to add without key');
  t.same(codes(http({ formatters: [{ name: '', typed_config: { '@type': 'type.googleapis.com/envoy.config.core.v3.Metadata' } }] }), 'deny'), ['EPP216'], 'a formatter with an empty name');
  t.same(codes(inTypedStruct({ message_timeout: '315576000001s' })), ['EPP221'], 'a Duration beyond protobuf\'s range it does not');
});

t.test('every request body mode the EPP does not speak is denied with its own reason', async (t) => {
  for (const [mode, reason] of [
    ['BUFFERED', /413 above the buffer limit/],
    ['BUFFERED_PARTIAL', /at most the buffer limit/],
    ['STREAMED', /does not answer STREAMED/],
    ['GRPC', /does not answer GRPC bodies, so requests wait message_timeout and fail with 504/],
  ] as const) {
    const findings = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, request_body_mode: mode } }), DEFAULT_CONFIG);
    t.same(codes(findings), ['EPP202'], mode);
    t.match(findings[0].message, reason, mode);
  }
});

t.test('a request body mode the EPP does not answer: what the client gets follows the failure_mode_allow that applies', async (t) => {
  // Measured (test/dataplane/measured-symptoms.json): EPP202-BUFFERED and -STREAMED 504 after message_timeout;
  // EPP202-BUFFERED-fail-open and -STREAMED-fail-open 200 after it, from a Pod the EPP did not pick.
  const epp202 = (filter: object) => checkEnvoyFilter(withFilter({ ...GRPC, ...filter }), DEFAULT_CONFIG).find((f) => f.code === 'EPP202')!;
  const streamed = { processing_mode: { ...FULL_DUPLEX, request_body_mode: 'STREAMED' } };
  t.match(epp202(streamed).message, /does not answer STREAMED bodies, so requests wait message_timeout and fail with 504( \(|$)/, 'unset: the filter fails closed');
  t.match(epp202({ ...streamed, failure_mode_allow: false }).message, /and fail with 504( \(|$)/);
  t.match(epp202({ ...streamed, failure_mode_allow: true }).message, /so requests wait message_timeout, then bypass the EPP \(failure_mode_allow is true\) to a backend with no endpoint picking( \(|$)/);
  t.match(epp202({ processing_mode: { ...FULL_DUPLEX, request_body_mode: 'BUFFERED' }, failure_mode_allow: true }).message, /413 above the buffer limit.*then bypass the EPP \(failure_mode_allow is true\).*\(also when a per-route override switches to it\)/);

  // A route override without failure_mode_allow takes the filter's: not known here.
  const route = manifest('full-duplex-envoyfilter.yaml') as any;
  const overrides: Record<string, unknown> = { processing_mode: { ...FULL_DUPLEX, request_body_mode: 'BUFFERED' } };
  route.spec.configPatches.push({ applyTo: 'HTTP_ROUTE', match: { context: 'GATEWAY' }, patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', overrides } } } } });
  const inRoute = () => checkEnvoyFilter(route, DEFAULT_CONFIG).find((f) => f.code === 'EPP202')!;
  t.match(inRoute().message, /wait message_timeout, then fail with 504, or bypass the EPP to a backend with no endpoint picking where failure_mode_allow is true/);
  overrides.failure_mode_allow = true;
  t.match(inRoute().message, /then bypass the EPP \(failure_mode_allow is true\)/);
  overrides.failure_mode_allow = false;
  t.match(inRoute().message, /wait message_timeout and fail with 504( \(judged|$)/);
  t.notMatch(inRoute().message, 'also when a per-route override switches to it', 'said of the filter only');
});

t.test("a body mode in a MERGE into istiod's filter: never on InferencePool routes (istiod's override sets its own), on the gateway's other routes", async (t) => {
  // nirjhar17/llm-d-observability-openshift's MERGE, measured (test/dataplane/measured-symptoms.json
  // EPP202-merge-into-istiods-filter-pool-route: the EPP picks each; -other-route: each waits message_timeout, then passes).
  const merge = {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: 'fix-extproc-body-mode', namespace: 'openshift-ingress' },
    spec: {
      workloadSelector: { labels: { 'gateway.networking.k8s.io/gateway-name': 'openshift-ai-inference' } },
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.ext_proc' } } } } },
          patch: {
            operation: 'MERGE',
            value: {
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
                grpc_service: { envoy_grpc: { cluster_name: 'outbound|9002||qwen3-0-6b-epp-service.my-first-model.svc.cluster.local' }, timeout: '30s' },
                failure_mode_allow: true,
                processing_mode: { request_header_mode: 'SEND', response_header_mode: 'SEND', request_body_mode: 'STREAMED' },
                message_timeout: '30s',
              },
            },
          },
        },
      ],
    },
  };
  const findings = checkEnvoyFilter(merge, DEFAULT_CONFIG);
  const epp202 = findings.find((f) => f.code === 'EPP202')!;
  t.match(epp202.message, /^ext_proc request_body_mode STREAMED in a MERGE into envoy\.filters\.http\.ext_proc, the filter istiod inserts for InferencePool routes: the EPP speaks only FULL_DUPLEX_STREAMED, and the EPP does not answer STREAMED bodies\. istiod's route override on each InferencePool route sets a processing_mode of its own \(FULL_DUPLEX_STREAMED\), so this one never reaches those routes; it reaches only routes whose override sets none: the gateway's other routes, which it turns the filter on for \(istiod's filter sets failure_mode_allow true, which a MERGE cannot make false\)/);
  t.match(epp202.message, /There requests wait message_timeout \(30s\), then bypass the EPP to a backend with no endpoint picking, or fail with 504 where the route's override sets failure_mode_allow: false/);
  t.match(epp202.fix, /^remove processing_mode from the MERGE: istiod's route override already runs FULL_DUPLEX_STREAMED on each InferencePool route, and without it istiod's filter sends nothing on the other routes/);
  t.notMatch(epp202.fix, 'set request_body_mode: FULL_DUPLEX_STREAMED', "not the fix that would turn istiod's filter on, in the EPP's mode, for every other route");
  // Removing true from the MERGE changes nothing: istiod's filter sets it (measured: EPP230-override-unset-headers-only-epp-down).
  const epp205 = findings.find((f) => f.code === 'EPP205')!;
  t.match(epp205.fix, /^remove failure_mode_allow from this MERGE \(istiod's filter sets it true itself\) and, to fail closed, per InferencePool route add \{applyTo: HTTP_ROUTE, .*cluster_name: outbound\|9002\|\|qwen3-0-6b-epp-service\.my-first-model\.svc\.cluster\.local\}\}, processing_mode: \{request_header_mode: SEND, request_body_mode: FULL_DUPLEX_STREAMED, .*failure_mode_allow: false\}/, "the EPP's mode, not the MERGE's STREAMED (EPP202)");

  // Without a grpc_service or a message_timeout in the MERGE: istiod's cluster dummy and its 1000 s.
  const bare = structuredClone(merge);
  const typed = bare.spec.configPatches[0].patch.value.typed_config as Record<string, unknown>;
  delete typed.grpc_service;
  delete typed.message_timeout;
  const onDummy = checkEnvoyFilter(bare, DEFAULT_CONFIG).find((f) => f.code === 'EPP202')!.message;
  t.match(onDummy, /it reaches only routes whose override sets none: an InferencePool route whose override an EnvoyFilter replaced without one, where requests wait message_timeout \(istiod's 1000s, as no MERGE sets one\)/);
  t.match(onDummy, /the gateway's other routes, which it turns the filter on for on istiod's cluster dummy, which Envoy lacks: no stream opens and requests there pass the EPP at once/);

  // The mode written by one MERGE, judged on the last: the fix names the MERGE that sets it.
  const two = structuredClone(merge);
  two.spec.configPatches.push({ ...structuredClone(merge.spec.configPatches[0]), patch: { operation: 'MERGE', value: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', message_timeout: '5s' } } } } as any);
  const inherited = checkEnvoyFilter(two, DEFAULT_CONFIG).find((f) => f.code === 'EPP202')!;
  t.match(inherited.message, /^ext_proc request_body_mode STREAMED as the MERGEs into envoy\.filters\.http\.ext_proc, the filter istiod inserts for InferencePool routes leave it: .*message_timeout \(5s\)/);
  t.match(inherited.fix, /^remove processing_mode from the MERGE into it that sets it:/);
});

t.test("EPP205's fix in a route override is false, not removal: an override without it takes the filter's, and istiod's filter sets true", async (t) => {
  // Measured (test/dataplane/measured-symptoms.json): EPP230-override-unset-headers-only-epp-down (the EPP bypassed),
  // EPP230-override-fail-closed-headers-only-epp-down (false: the request fails).
  const route = manifest('full-duplex-envoyfilter.yaml') as any;
  route.spec.configPatches.push({ applyTo: 'HTTP_ROUTE', match: { context: 'GATEWAY' }, patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: true } } } } } });
  const fix = checkEnvoyFilter(route, DEFAULT_CONFIG).find((f) => f.code === 'EPP205')!.fix;
  t.match(fix, /^set failure_mode_allow: false so Envoy fails closed \(504\/500\): an override without it takes the filter's value, and istiod's InferencePool filter, which this name may be, sets true/);
  const ownName = structuredClone(route);
  const entry = ownName.spec.configPatches.at(-1).patch.value.typed_per_filter_config;
  entry['my.epp'] = entry['envoy.filters.http.ext_proc'];
  delete entry['envoy.filters.http.ext_proc'];
  t.notMatch(checkEnvoyFilter(ownName, DEFAULT_CONFIG).find((f) => f.code === 'EPP205')!.fix, 'istiod', "under another filter's name, istiod's filter is not the one it falls back to");
  t.match(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, failure_mode_allow: true }), DEFAULT_CONFIG).find((f) => f.code === 'EPP205')!.fix, /^remove failure_mode_allow so Envoy fails closed \(500\)/, "the filter's own: removing it is false");
});

t.test('response body modes: STREAMED is denied, BUFFERED and BUFFERED_PARTIAL warned, each with what was measured; GRPC passes', async (t) => {
  // test/dataplane/measured-symptoms.json: EPP202-response-STREAMED-stream, EPP220-BUFFERED-stream, EPP220-BUFFERED_PARTIAL-stream.
  for (const [mode, code, severity, reason] of [
    ['STREAMED', 'EPP202', 'deny', /Envoy refuses as spurious .*the client gets 200, then the body breaks off .* with no token/],
    ['BUFFERED', 'EPP220', 'warn', /Envoy holds the whole response body until the EPP has answered it, so completions arrive, but a streamed completion \(stream: true\) reaches the client all at once at its end/],
    ['BUFFERED_PARTIAL', 'EPP220', 'warn', /up to the buffer limit, .*a streamed completion \(stream: true\) reaches the client all at once at its end/],
  ] as const) {
    const findings = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, response_body_mode: mode } }), DEFAULT_CONFIG);
    t.same(codes(findings), [code], mode);
    t.equal(findings[0].severity, severity, mode);
    t.equal(findings[0].path, 'spec.configPatches[0].patch.value.typed_config.processing_mode.response_body_mode', mode);
    t.match(findings[0].message, reason, mode);
    t.notMatch(findings[0].message, /504|message_timeout/, `${mode}: no request-side symptom`);
    t.match(findings[0].fix, 'set response_body_mode: FULL_DUPLEX_STREAMED and response_trailer_mode: SEND, or NONE to keep response bodies from the EPP', mode);
  }
  // Measured: EPP202-response-GRPC, -stream, -long: every completion arrives whole, a streamed one token by token.
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, response_body_mode: 'GRPC' } }), DEFAULT_CONFIG)), [], 'GRPC response bodies: nothing breaks');
  const none = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, response_body_mode: 'NONE' } }), DEFAULT_CONFIG);
  t.same(codes(none), [], 'NONE keeps response bodies from the EPP: nothing to say');
  const off = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, response_body_mode: 'BUFFERED' } }), parseConfig({ severities: { EPP220: 'off' } }));
  t.same(codes(off, 'off'), ['EPP220'], 'EPP220 can be turned off');
});

t.test('FULL_DUPLEX_STREAMED needs its trailer mode SEND', async (t) => {
  const { request_trailer_mode: _, ...noTrailer } = FULL_DUPLEX;
  const findings = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: noTrailer }), DEFAULT_CONFIG);
  t.same(codes(findings), ['EPP203']);
  t.match(findings[0].message, 'request_body_mode FULL_DUPLEX_STREAMED with request_trailer_mode unset (SKIP)');
  t.equal(findings[0].fix, 'set request_trailer_mode: SEND');
  const response = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, response_trailer_mode: 'SKIP' } }), DEFAULT_CONFIG);
  t.same(codes(response), ['EPP203']);
  t.match(response[0].message, 'response_body_mode FULL_DUPLEX_STREAMED with response_trailer_mode SKIP:');
  // The manifest's own word first: DEFAULT is not in it as SKIP.
  const byDefault = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, request_trailer_mode: 'DEFAULT' } }), DEFAULT_CONFIG);
  t.match(byDefault[0].message, 'request_body_mode FULL_DUPLEX_STREAMED with request_trailer_mode "DEFAULT" (SKIP):');
});

t.test('EPP224: an ext_proc "@type" without a "/" is denied; any text before the "/" is not read', async (t) => {
  const bare = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, '@type': 'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor' }), DEFAULT_CONFIG);
  t.same(codes(bare, 'deny'), ['EPP224']);
  t.match(bare[0].message, 'ext_proc "@type" "envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor" has no "/": istiod passes the type URL on as written, and Envoy cannot unpack it and rejects the listener update');
  t.equal(bare[0].fix, 'write "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor');
  const otherHost = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, '@type': 'example.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor' }), DEFAULT_CONFIG);
  t.same(codes(otherHost, 'deny'), []);
  const wrapped = withFilter({ ...GRPC, processing_mode: FULL_DUPLEX });
  const filterValue = (wrapped.spec.configPatches[0].patch as { value: { typed_config: unknown } }).value;
  filterValue.typed_config = { '@type': 'xds.type.v3.TypedStruct', type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', value: { ...GRPC, processing_mode: FULL_DUPLEX } };
  const typedStruct = checkEnvoyFilter(wrapped, DEFAULT_CONFIG).filter((f) => f.code === 'EPP224');
  t.equal(typedStruct[0]?.path, 'spec.configPatches[0].patch.value.typed_config.@type', "a TypedStruct wrapper's own type URL");
});

t.test('headers with body NONE warn (the EPP never answers); absent processing_mode is the same default', async (t) => {
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { request_header_mode: 'SEND' } }), DEFAULT_CONFIG)), ['EPP204']);
  const defaults = checkEnvoyFilter(withFilter({ ...GRPC }), DEFAULT_CONFIG);
  t.same(codes(defaults), ['EPP204']);
  t.match(defaults[0].message, /504/);
});

t.test('fail-open and mode override warnings', async (t) => {
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, failure_mode_allow: true }), DEFAULT_CONFIG)), ['EPP205']);
  // What failing open does depends on the filter's body mode (measured-symptoms.json EPP205-*, EPP322-*, EPP501-fail-open).
  const epp205 = (findings: Finding[]) => findings.find((f) => f.code === 'EPP205')!;
  const fullDuplex = epp205(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, failure_mode_allow: true }), DEFAULT_CONFIG));
  t.match(fullDuplex.message, 'with FULL_DUPLEX_STREAMED: it does not fail open what goes wrong at the EPP: a down EPP, or one past its cluster\'s max_requests, still gets requests 500');
  t.match(fullDuplex.fix, 'so Envoy fails closed (500)');
  const headersOnly = epp205(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { request_header_mode: 'SEND', request_body_mode: 'NONE' }, failure_mode_allow: true }), DEFAULT_CONFIG));
  t.match(headersOnly.message, 'when the EPP times out (message_timeout), or is down, requests silently bypass it');
  t.match(headersOnly.fix, '(504/500)');
  // A route override without a processing_mode: the filter it runs under is not known here (its own, or istiod's).
  const routeOnly = manifest('full-duplex-envoyfilter.yaml') as any;
  routeOnly.spec.configPatches.push({ applyTo: 'HTTP_ROUTE', match: { context: 'GATEWAY' }, patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', overrides: { failure_mode_allow: true } } } } } });
  const neutral = epp205(checkEnvoyFilter(routeOnly, DEFAULT_CONFIG));
  t.match(neutral.message, "a filter that runs FULL_DUPLEX_STREAMED itself still gets them 500 from a down EPP or one past its cluster's max_requests (istiod's InferencePool filter, which its route override turns on, skips the EPP past that limit instead)");
  t.equal(neutral.path, `spec.configPatches[${routeOnly.spec.configPatches.length - 1}].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"].overrides.failure_mode_allow`);
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, failureModeAllow: false }), DEFAULT_CONFIG)), []);
  const override = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, allow_mode_override: true }), DEFAULT_CONFIG);
  t.same(codes(override), ['EPP207']);
  // Measured: Envoy loads it and the EPP picks every request, as without it (measured-symptoms.json EPP207-allow-mode-override).
  t.match(override[0].message, 'it changes nothing here: Envoy loads it and requests run as without it');
  t.notMatch(override[0].message, /not support/, 'no claim of breakage the data plane did not show');
});

t.test('grpc_service xor http_service', async (t) => {
  const neither = checkEnvoyFilter(withFilter({ processing_mode: FULL_DUPLEX }), DEFAULT_CONFIG);
  t.same(codes(neither), ['EPP301']);
  t.match(neither[0].message, 'neither grpc_service nor http_service');
  const both = withFilter({ ...GRPC, http_service: { http_service: { http_uri: { uri: 'http://x', cluster: 'epp-cluster', timeout: '1s' } } }, processing_mode: FULL_DUPLEX });
  t.same(codes(checkEnvoyFilter(both, DEFAULT_CONFIG)), ['EPP301']);
  const http = { http_service: { http_uri: { uri: 'http://x', cluster: 'other', timeout: '1s' } } };
  const httpOnly = withFilter({ http_service: http, processing_mode: { request_header_mode: 'SEND', request_body_mode: 'NONE' } });
  t.same(codes(checkEnvoyFilter(httpOnly, DEFAULT_CONFIG), 'deny'), [], 'headers only over http_service');
  t.ok(checkEnvoyFilter(httpOnly, DEFAULT_CONFIG).some((f) => f.code === 'EPP305'), 'the http_service cluster is looked up too');
  const httpBodies = checkEnvoyFilter(withFilter({ http_service: http, processing_mode: FULL_DUPLEX }), DEFAULT_CONFIG);
  t.same(codes(httpBodies, 'deny'), ['EPP218']);
  t.match(httpBodies.find((f) => f.code === 'EPP218')!.message, 'Envoy sends neither bodies nor trailers to an HTTP service');
});

t.test('disable_clear_route_cache: true beside a route_cache_action other than DEFAULT: Envoy\'s filter refuses the pair (EPP316)', async (t) => {
  const typed = (fields: Record<string, unknown>) => checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, ...fields }), DEFAULT_CONFIG);
  const inTypedStruct = judgeInTypedStruct;
  const clear = typed({ disable_clear_route_cache: true, route_cache_action: 'CLEAR' });
  t.same(codes(clear), ['EPP316']);
  const [found] = clear;
  t.equal(found.severity, 'deny');
  t.equal(found.path, 'spec.configPatches[0].patch.value.typed_config.route_cache_action');
  t.equal(
    found.message,
    "ext_proc sets both disable_clear_route_cache: true and route_cache_action CLEAR: Envoy's filter takes one of the two only and refuses them together; Istio accepts it and Envoy rejects the listener update: running gateway Pods keep their old config, and one that starts has no listener",
  );
  t.equal(found.fix, 'remove disable_clear_route_cache (deprecated) and keep route_cache_action CLEAR, or set route_cache_action: DEFAULT');
  t.same(codes(typed({ disable_clear_route_cache: true, route_cache_action: 'RETAIN' })), ['EPP316'], 'RETAIN too');
  t.same(codes(typed({ disable_clear_route_cache: true, route_cache_action: 2 })), ['EPP316'], 'an enum number: 2 is RETAIN');
  const camel = typed({ disableClearRouteCache: true, routeCacheAction: 'CLEAR' });
  t.same(codes(camel), ['EPP316'], 'lowerCamelCase, as istiod reads it');
  t.equal(camel[0].path, 'spec.configPatches[0].patch.value.typed_config.routeCacheAction', 'the path names the key as written');
  t.same(codes(typed({ disable_clear_route_cache: true, route_cache_action: 'DEFAULT' })), [], 'DEFAULT loads');
  t.same(codes(typed({ disable_clear_route_cache: true, route_cache_action: 0 })), [], '0 is DEFAULT');
  t.same(codes(typed({ disable_clear_route_cache: false, route_cache_action: 'CLEAR' })), [], 'disable_clear_route_cache: false loads');
  t.same(codes(typed({ disable_clear_route_cache: true })), [], 'disable_clear_route_cache alone loads');
  t.same(codes(typed({ route_cache_action: 'RETAIN' })), [], 'route_cache_action alone loads');
  t.same(codes(typed({ disable_clear_route_cache: 'true', route_cache_action: 'CLEAR' })), ['EPP214'], 'istiod refuses "true" at apply: not an Envoy rejection');
  const lower = typed({ disable_clear_route_cache: true, route_cache_action: 'clear' });
  t.same(codes(lower), ['EPP214'], 'istiod refuses a lowercase name at apply: EPP214 says so, not an Envoy rejection');
  t.match(lower[0].message, 'ext_proc route_cache_action is the string "clear": istiod refuses this at kubectl apply (it takes one of DEFAULT (0), CLEAR (1), RETAIN (2))');
  t.same(codes(typed({ route_cache_action: 99 })), [], 'a number no value has: istiod and Envoy load it (the enum is open)');
  t.same(codes(inTypedStruct({ route_cache_action: 'clear' })), [], 'in a TypedStruct Envoy reads a name in any case');
  t.same(codes(inTypedStruct({ route_cache_action: 'CLEAN' })), ['EPP221'], 'in a TypedStruct a name no value has: Envoy rejects it');
  t.same(codes(typed({ disable_clear_route_cache: true, disableClearRouteCache: false, route_cache_action: 'CLEAR' })), ['EPP212'], 'istiod keeps the lowerCamelCase false: it loads');

  const wrapped = inTypedStruct({ disable_clear_route_cache: true, route_cache_action: 'CLEAR' });
  t.same(codes(wrapped), ['EPP316'], 'in a TypedStruct too');
  t.equal(wrapped[0].path, 'spec.configPatches[0].patch.value.typed_config.value.route_cache_action');
  t.same(codes(inTypedStruct({ disable_clear_route_cache: 'true', route_cache_action: 'retain' })), ['EPP316'], 'Envoy reads "true" and a lowercase name there');
  t.same(codes(inTypedStruct({ disableClearRouteCache: true, routeCacheAction: '1' })), ['EPP316'], 'and lowerCamelCase keys and numbers in strings');
  t.same(codes(inTypedStruct({ disable_clear_route_cache: 'false', route_cache_action: 'CLEAR' })), [], '"false" loads');
  t.same(codes(inTypedStruct({ disable_clear_route_cache: true, route_cache_action: 'default' })), [], 'default loads');
  const relaxed = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, disable_clear_route_cache: true, route_cache_action: 'CLEAR' }), parseConfig({ severities: { EPP316: 'warn' } }));
  t.same(codes(relaxed, 'warn'), ['EPP316'], 'relaxable: an operator may make it a warning');
});

t.test('the EPP cluster: defined, HTTP/2, TLS', async (t) => {
  const undefinedCluster = withFilter({ grpc_service: { envoy_grpc: { cluster_name: 'elsewhere' } }, processing_mode: FULL_DUPLEX });
  const undefinedFindings = checkEnvoyFilter(undefinedCluster, DEFAULT_CONFIG);
  t.same(codes(undefinedFindings), ['EPP305']);
  // Measured: the cluster added by another EnvoyFilter works; defined nowhere, 500 or, failing open, a bypass
  // (measured-symptoms.json EPP305-cluster-in-another-envoyfilter, EPP305-cluster-nowhere, -fail-open).
  t.match(undefinedFindings[0].message, 'if another EnvoyFilter of the gateway adds it, this works as if it were here');
  t.match(undefinedFindings[0].message, 'every request gets 500 (with failure_mode_allow: true, bypasses the ext_proc server)');
  const istioCluster = withFilter({ grpc_service: { envoy_grpc: { cluster_name: 'outbound|9002||epp.ns.svc.cluster.local' } }, processing_mode: FULL_DUPLEX });
  t.same(codes(checkEnvoyFilter(istioCluster, DEFAULT_CONFIG)), [], "Istio's outbound clusters exist without a patch");

  const { http2_protocol_options: _, ...http1 } = goodCluster();
  const noHttp2 = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, http1), DEFAULT_CONFIG);
  t.same(codes(noHttp2), ['EPP302']);
  t.equal(noHttp2[0].location, 'configPatches[1]');
  t.match(noHttp2[0].fix, 'explicit_http_config');
  const typedHttp2 = {
    ...http1,
    typedExtensionProtocolOptions: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { explicitHttpConfig: { http2ProtocolOptions: {} } },
    },
  };
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, typedHttp2), DEFAULT_CONFIG)), []);

  const { transport_socket: __, ...plaintext } = goodCluster();
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, plaintext), DEFAULT_CONFIG)), ['EPP306']);
});

t.test('STATIC clusters need IP literals; STRICT_DNS may use names', async (t) => {
  const hostCluster = goodCluster();
  (hostCluster.load_assignment as any).endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = 'epp.ns.svc.cluster.local';
  const findings = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, hostCluster), DEFAULT_CONFIG);
  t.same(codes(findings), ['EPP303']);
  t.match(findings[0].message, 'cluster epp-cluster is STATIC but its address "epp.ns.svc.cluster.local" is not an IP');
  const { type: _, ...untyped } = hostCluster;
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, untyped), DEFAULT_CONFIG)), ['EPP303'], 'STATIC is the default type');
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, { ...hostCluster, type: 'STRICT_DNS' }), DEFAULT_CONFIG)), []);
  const ipv6 = goodCluster();
  (ipv6.load_assignment as any).endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = 'fd00::9';
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, ipv6), DEFAULT_CONFIG)), []);
});

t.test('MERGE patches into a filter the webhook cannot see (here the router) are judged only on what they set', async (t) => {
  const merge = withFilter({ processing_mode: { request_body_mode: 'FULL_DUPLEX_STREAMED', request_trailer_mode: 'SEND' } });
  merge.spec.configPatches[0].patch.operation = 'MERGE';
  t.same(codes(checkEnvoyFilter(merge, DEFAULT_CONFIG)), [], 'no EPP301 or EPP204 for fields the merge leaves alone');
  (merge.spec.configPatches[0].patch.value.typed_config as any).processing_mode.response_body_mode = 'BUFFERED';
  t.same(codes(checkEnvoyFilter(merge, DEFAULT_CONFIG)), ['EPP220']);
});

t.test('ext_proc configs are found wherever they sit: EXTENSION_CONFIG, TypedStruct, untyped HTTP filter', async (t) => {
  const object = {
    metadata: { name: 'f', namespace: NS },
    spec: {
      configPatches: [
        {
          applyTo: 'EXTENSION_CONFIG',
          patch: { operation: 'ADD', value: { name: 'epp', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', processing_mode: { request_body_mode: 'STREAMED' }, ...GRPC } } },
        },
        {
          applyTo: 'HTTP_FILTER',
          patch: {
            operation: 'INSERT_FIRST',
            value: { name: 'other', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', value: { ...GRPC, processing_mode: { response_body_mode: 'SKIP' } } } },
          },
        },
        { applyTo: 'HTTP_FILTER', patch: { operation: 'INSERT_BEFORE', value: { name: 'envoy.filters.http.ext_proc' } } },
        { applyTo: 'HTTP_FILTER', patch: { operation: 'REMOVE', value: { name: 'envoy.filters.http.ext_proc', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', processing_mode: { request_body_mode: 'BUFFERED' } } } } },
        { applyTo: 'CLUSTER', patch: { operation: 'ADD', value: goodCluster() } },
      ],
    },
  };
  const findings = checkEnvoyFilter({ ...object, metadata: { ...object.metadata, annotations: { 'epp-webhook.io/epp': 'true' } } }, DEFAULT_CONFIG);
  t.same(codes(findings, 'deny'), ['EPP202', 'EPP210', 'EPP301']);
  const skip = findings.find((f) => f.code === 'EPP210')!;
  t.equal(skip.path, 'spec.configPatches[1].patch.value.typed_config.value.processing_mode.response_body_mode');
  t.match(skip.message, 'in a TypedStruct: istiod passes it on unconverted, and Envoy cannot read it as a mode', 'a TypedStruct is converted by Envoy, not istiod');
  t.equal(findings.find((f) => f.code === 'EPP301')!.location, 'configPatches[2]');
  t.notOk(findings.some((f) => f.location === 'configPatches[3]'), 'REMOVE patches add nothing to check');
});

t.test('severities are configurable per code', async (t) => {
  const config = parseConfig({ severities: { EPP202: 'warn', EPP306: 'off' } });
  const findings = checkEnvoyFilter(manifest('wild/operator-sample-envoyfilter-epp.yaml'), config);
  t.same(codes(findings, 'deny'), ['EPP201']);
  t.same(codes(findings, 'warn'), ['EPP202', 'EPP322']);
  t.same(codes(findings, 'off'), ['EPP306']);
});

t.test('wrongly typed processing_mode is a malformed-object denial, not a crash', async (t) => {
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: 'FULL' }), DEFAULT_CONFIG)), ['EPP307']);
  t.same(codes(checkEnvoyFilter({ spec: { configPatches: [null, { patch: { value: [] } }] } }, DEFAULT_CONFIG)), ['EPP307', 'EPP307']);
  t.same(checkEnvoyFilter({ metadata: {} }, DEFAULT_CONFIG), [], 'an EnvoyFilter without spec has nothing to check');
});

/** The filter above plus an HTTP_ROUTE MERGE carrying `perRoute` as the ExtProcPerRoute. */
function withPerRoute(perRoute: Record<string, unknown>, filterMode: Record<string, unknown> = FULL_DUPLEX) {
  const object = withFilter({ ...GRPC, processing_mode: filterMode });
  object.spec.configPatches.push({
    applyTo: 'HTTP_ROUTE',
    patch: {
      operation: 'MERGE',
      value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', ...perRoute } } },
    },
  } as never);
  return object;
}

t.test('ExtProcPerRoute: overrides, or disabled: true, and nothing else', async (t) => {
  t.same(codes(checkEnvoyFilter(withPerRoute({ disabled: true }), DEFAULT_CONFIG)), []);
  const disabledFalse = checkEnvoyFilter(withPerRoute({ disabled: false }), DEFAULT_CONFIG);
  t.same(codes(disabledFalse), ['EPP217']);
  t.match(disabledFalse[0].message, 'Envoy accepts only disabled: true');
  // A per-route config comes to Envoy in the route update (measured: EPP210-per-route-mode-number, EPP217-*).
  t.match(disabledFalse[0].message, 'Envoy rejects the route update: the gateway keeps its old routes');
  const modeNumber = checkEnvoyFilter(withPerRoute({ overrides: { processing_mode: { ...FULL_DUPLEX, request_body_mode: 9 } } }), DEFAULT_CONFIG);
  t.same(codes(modeNumber), ['EPP210']);
  t.match(modeNumber[0].message, /request_body_mode 9: no mode has this number .*; Istio accepts it and Envoy rejects the route update: the gateway keeps its old routes/);
  t.same(codes(checkEnvoyFilter(withPerRoute({}), DEFAULT_CONFIG)), ['EPP217'], 'neither');
  t.same(codes(checkEnvoyFilter(withPerRoute({ overrides: null }), DEFAULT_CONFIG)), ['EPP217'], 'null overrides are unset');
  t.same(codes(checkEnvoyFilter(withPerRoute({ disabled: true, overrides: { processing_mode: FULL_DUPLEX } }), DEFAULT_CONFIG), 'deny'), [], 'both, outside a TypedStruct: istiod keeps overrides (EPP230 reads it so), Envoy loads it');
  const bothTargets = { grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' }, google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' } } };
  t.same(codes(checkEnvoyFilter(withFilter({ ...bothTargets, processing_mode: FULL_DUPLEX }), DEFAULT_CONFIG), 'deny'), [], 'envoy_grpc and google_grpc outside a TypedStruct: istiod keeps one');
});

t.test('EPP206: only a per-route override that can turn processing on silences "sends nothing"', async (t) => {
  const nothing = { request_header_mode: 'SKIP', response_header_mode: 'SKIP' };
  t.same(codes(checkEnvoyFilter(withPerRoute({ disabled: true }, nothing), DEFAULT_CONFIG)), ['EPP206'], 'disabled: true only turns it further off');
  t.same(codes(checkEnvoyFilter(withPerRoute({ overrides: { processing_mode: FULL_DUPLEX } }, nothing), DEFAULT_CONFIG)), [], 'overrides turn it on per route');
  // Measured: EPP206-override-without-mode and EPP206-override-under-another-name in test/dataplane.
  t.same(codes(checkEnvoyFilter(withPerRoute({ overrides: { failure_mode_allow: false } }, nothing), DEFAULT_CONFIG)), ['EPP206'], 'overrides without a processing_mode leave it silent');
  t.same(codes(checkEnvoyFilter(withPerRoute({ overrides: { processing_mode: nothing } }, nothing), DEFAULT_CONFIG)), ['EPP206'], 'nor one that sends nothing either');
  const renamed = withPerRoute({ overrides: { processing_mode: FULL_DUPLEX } }, nothing);
  (renamed.spec.configPatches[0].patch as { value: { name: string } }).value.name = 'epp-ext-proc';
  const underAnotherName = checkEnvoyFilter(renamed, DEFAULT_CONFIG);
  t.same(codes(underAnotherName), ['EPP206'], 'an override keyed envoy.filters.http.ext_proc configures another filter than epp-ext-proc');
  t.match(underAnotherName[0].message, 'no ExtProcPerRoute override under its name (epp-ext-proc) in this EnvoyFilter turns it on');
});

t.test('EPP206: a filter disabled: true with no per-route config of its own in the EnvoyFilter is never consulted', async (t) => {
  const disabled = (perRoute?: Record<string, unknown>) => {
    const object = perRoute === undefined ? withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }) : withPerRoute(perRoute);
    (object.spec.configPatches[0].patch as { value: Record<string, unknown> }).value.disabled = true;
    return checkEnvoyFilter(object, DEFAULT_CONFIG);
  };
  const alone = disabled();
  t.same(codes(alone), ['EPP206']);
  t.equal(alone[0].path, 'spec.configPatches[0].patch.value.disabled');
  t.match(alone[0].message, 'ext_proc filter envoy.filters.http.ext_proc is disabled: true, which turns it off on every route without a per-route config of its own');
  // Measured: EPP206-filter-disabled (200, the EPP saw nothing); an ExtProcPerRoute under its name turns it on.
  t.same(codes(disabled({ overrides: { processing_mode: FULL_DUPLEX } })), [], 'an override under its name turns it on');
  t.same(codes(disabled({ disabled: true })), ['EPP206'], 'a per-route disabled: true keeps it off');
});

t.test("FilterConfig under an ext_proc filter's name: Envoy's way to turn a disabled filter on, refused without a config", async (t) => {
  const FILTER_CONFIG = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
  const PER_ROUTE = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', overrides: { processing_mode: FULL_DUPLEX } };
  const withFilterConfig = (entry: Record<string, unknown>, options: { filterDisabled?: boolean; key?: string; applyTo?: string } = {}) => {
    const object = withFilter({ ...GRPC, processing_mode: FULL_DUPLEX });
    if (options.filterDisabled ?? true) (object.spec.configPatches[0].patch as { value: Record<string, unknown> }).value.disabled = true;
    object.spec.configPatches.push({
      applyTo: options.applyTo ?? 'HTTP_ROUTE',
      patch: { operation: 'MERGE', value: { typed_per_filter_config: { [options.key ?? 'envoy.filters.http.ext_proc']: { '@type': FILTER_CONFIG, ...entry } } } },
    } as never);
    return checkEnvoyFilter(object, DEFAULT_CONFIG);
  };
  // Asked of istiod and Envoy 1.40: the differential corpus, family filter-config.
  t.same(codes(withFilterConfig({ config: PER_ROUTE })), [], "a FilterConfig whose config is the filter's per-route config turns it on");
  t.same(codes(withFilterConfig({ disabled: false, config: PER_ROUTE })), []);
  t.same(codes(withFilterConfig({ disabled: true }), 'deny'), [], 'disabled: true needs no config');
  const empty = withFilterConfig({ disabled: false });
  t.same(codes(empty, 'deny'), ['EPP217'], 'disabled: false without a config: Envoy rejects the route update');
  t.equal(empty.find((f) => f.code === 'EPP217')?.path, 'spec.configPatches[2].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"]');
  t.match(empty.find((f) => f.code === 'EPP217')?.message, 'Envoy refuses it ("Empty route/virtual host per filter configuration") and rejects the route update');
  t.ok(codes(empty).includes('EPP206'), 'and it turns nothing on: the disabled filter stays off');
  t.same(codes(withFilterConfig({}, { filterDisabled: false }), 'deny'), ['EPP217'], 'neither disabled nor config, on a filter that is on');
  t.same(codes(withFilterConfig({ is_optional: true }), 'deny'), ['EPP217'], 'is_optional is no config');
  t.same(codes(withFilterConfig({ config: { overrides: {} } }), 'deny'), ['EPP219'], 'a config without "@type": istiod refuses it');
  t.same(codes(withFilterConfig({ config: 'on' }), 'deny'), ['EPP219']);
  t.same(codes(withFilterConfig({ disabled: true, config: {} }), 'deny'), ['EPP219'], 'istiod decodes the config of a disabled FilterConfig too');
  t.same(codes(withFilterConfig({ disabled: 'true' }), 'deny'), ['EPP214'], 'disabled as a string: istiod refuses it');
  t.same(codes(withFilterConfig({ disabled: false }, { applyTo: 'VIRTUAL_HOST' }), 'deny'), ['EPP217'], 'on a virtual host too');
  t.same(codes(withFilterConfig({ disabled: false }, { key: 'envoy.filters.http.cors', filterDisabled: false }), 'deny'), [], "another filter's FilterConfig is not the webhook's to judge");
  // ext_proc's own per-route disabled: true inside a FilterConfig that turns the filter on: it skips the route all the same.
  t.ok(codes(withFilterConfig({ config: { '@type': PER_ROUTE['@type'], disabled: true } })).includes('EPP206'), 'a FilterConfig whose config is disabled: true turns nothing on');
});

t.test('the config of a FilterConfig with disabled: true: Envoy never reads it, istiod still converts it', async (t) => {
  const FILTER_CONFIG = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
  const ignoring = (perRoute: Record<string, unknown>, filterMode: Record<string, unknown> = FULL_DUPLEX) => {
    const object = withFilter({ ...GRPC, processing_mode: filterMode });
    object.spec.configPatches.push({
      applyTo: 'HTTP_ROUTE',
      patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': FILTER_CONFIG, disabled: true, config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', ...perRoute } } } } },
    } as never);
    return checkEnvoyFilter(object, DEFAULT_CONFIG);
  };
  // Asked of istiod and Envoy 1.40: the differential corpus, filter-config/*/disabled-true-config-*.
  t.same(codes(ignoring({ disabled: false })), [], 'an ExtProcPerRoute Envoy would refuse (EPP217 elsewhere): Envoy loads the route');
  t.same(codes(ignoring({ overrides: { processing_mode: { ...FULL_DUPLEX, request_body_mode: 9 } } })), [], 'a mode number no mode has (EPP210 elsewhere)');
  t.same(codes(ignoring({ overrides: { processing_mode: { ...FULL_DUPLEX, request_body_mode: 'BUFFERED' } } })), [], 'nor what the EPP would make of it (EPP202 elsewhere)');
  const refused = ignoring({ overrides: { processing_mode: { ...FULL_DUPLEX, request_body_mode: 'full_duplex_streamed' } } });
  t.same(codes(refused), ['EPP201'], 'what istiod refuses in it still stops kubectl apply');
  t.equal(refused[0].path, 'spec.configPatches[2].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"].config.overrides.processing_mode.request_body_mode');
  const nothing = { request_header_mode: 'SKIP', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE' };
  t.same(codes(ignoring({ overrides: { processing_mode: FULL_DUPLEX } }, nothing)), ['EPP206'], 'a filter that sends nothing: the ignored override does not turn it on');
  for (const code of ISTIOD_REFUSES) t.equal(RULE_CLAIMS[code], 'istio-refuses', `${code} is a rule the differential test asks istiod about as a refusal`);
  // In a TypedStruct too (the corpus' disabled-true-config-typed-struct), and an ExternalProcessor there configures nothing.
  const wrapped = withFilter({ ...GRPC, processing_mode: nothing });
  wrapped.spec.configPatches.push({
    applyTo: 'HTTP_ROUTE',
    patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': FILTER_CONFIG, disabled: true, config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', value: { disabled: false, overrides: { processing_mode: FULL_DUPLEX } } } } } } },
  } as never);
  t.same(codes(checkEnvoyFilter(wrapped, DEFAULT_CONFIG)), ['EPP206'], 'a TypedStruct there is not read either, nor turns the filter on');
  const filterThere = withFilter({ ...GRPC, processing_mode: FULL_DUPLEX });
  filterThere.spec.configPatches.push({
    applyTo: 'HTTP_ROUTE',
    patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': FILTER_CONFIG, disabled: true, config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', message_timeout: '-1s' } } } } },
  } as never);
  t.same(codes(checkEnvoyFilter(filterThere, DEFAULT_CONFIG)), [], 'an ExternalProcessor as its config is no filter');
});

t.test('EPP206 reads the name and disabled flag of the HTTP filter that holds the config, also inside a connection manager patched whole', async (t) => {
  const silent = { request_header_mode: 'SKIP', response_header_mode: 'SKIP' };
  const connectionManager = (filter: Record<string, unknown>) => ({
    metadata: { name: 'f', namespace: NS, annotations: { 'epp-webhook.io/epp': 'true' } },
    spec: {
      configPatches: [
        {
          applyTo: 'NETWORK_FILTER',
          match: { listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } } } },
          patch: {
            operation: 'REPLACE',
            value: {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                stat_prefix: 'gw',
                http_filters: [filter, { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
              },
            },
          },
        },
        { applyTo: 'HTTP_ROUTE', patch: { operation: 'MERGE', value: { typed_per_filter_config: { epp: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', overrides: { processing_mode: FULL_DUPLEX } } } } } },
        { applyTo: 'CLUSTER', patch: { operation: 'ADD', value: goodCluster() } },
      ],
    },
  });
  const typed = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', ...GRPC, processing_mode: silent };
  t.same(codes(checkEnvoyFilter(connectionManager({ name: 'epp', typed_config: typed }), DEFAULT_CONFIG)).filter((c) => c === 'EPP206'), [], "the override under the nested filter's own name turns it on");
  const disabled = checkEnvoyFilter(connectionManager({ name: 'other', disabled: true, typed_config: { ...typed, processing_mode: FULL_DUPLEX } }), DEFAULT_CONFIG).filter((f) => f.code === 'EPP206');
  t.equal(disabled.length, 1, 'a nested filter disabled: true with no entry under its name');
  t.equal(disabled[0]?.path, 'spec.configPatches[0].patch.value.typed_config.http_filters[0].disabled');
});

t.test('FULL_DUPLEX_STREAMED without trailers SEND in a per-route override: no claim that Envoy rejects it', async (t) => {
  const findings = checkEnvoyFilter(withPerRoute({ overrides: { processing_mode: { ...FULL_DUPLEX, request_trailer_mode: 'SKIP' } } }), DEFAULT_CONFIG);
  t.same(codes(findings), ['EPP211']);
  t.equal(findings[0].severity, 'warn');
  t.match(findings[0].message, 'checks it only there, and accepts this override');
  t.notMatch(findings[0].message, /rejects/);
  // Measured (measured-symptoms.json EPP211-per-route-trailers-skip, -stream, -long): completions pass; trailers unmeasured.
  t.match(findings[0].message, 'completions without trailers pass it (plain, streamed and long: 200, the EPP picks each)');
  t.notMatch(findings[0].message, /not yet measured/);
  t.same(codes(checkEnvoyFilter(withPerRoute({ overrides: { processing_mode: { ...FULL_DUPLEX, request_trailer_mode: 'Send' } } }), DEFAULT_CONFIG)), ['EPP201'], '"Send" is refused by istiod, not read as SKIP');
});

t.test('an ext_proc filter whose typed_config istiod cannot convert', async (t) => {
  const filter = (typedConfig: Record<string, unknown>) => {
    const object = withFilter({});
    (object.spec.configPatches[0].patch.value as Record<string, unknown>).typed_config = typedConfig;
    return object;
  };
  const untyped = checkEnvoyFilter(filter({ ...GRPC, processing_mode: FULL_DUPLEX }), DEFAULT_CONFIG);
  t.same(codes(untyped), ['EPP219']);
  t.match(untyped[0].message, 'has no "@type": istiod refuses this at kubectl apply');
  const v2 = checkEnvoyFilter(filter({ '@type': 'type.googleapis.com/envoy.config.filter.http.ext_proc.v2alpha.ExternalProcessor', ...GRPC }), DEFAULT_CONFIG);
  t.ok(codes(v2).includes('EPP219'), 'a v2 type');
});

t.test('the clusters an EnvoyFilter adds, read as istiod converts them and checked as Envoy checks them', async (t) => {
  const judge = (overrides: Record<string, unknown>) => checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, goodCluster(overrides)), DEFAULT_CONFIG);
  const lower = judge({ type: 'static' });
  t.same(codes(lower), ['EPP310']);
  t.match(lower[0].message, 'cluster epp-cluster type "static": istiod refuses this at kubectl apply: it takes the exact upper-case name or its number, STATIC (0), STRICT_DNS (1)');
  t.same(codes(judge({ type: 1 })), [], 'numbers are fine: 1 is STRICT_DNS');
  t.same(codes(judge({ type: 99 })), ['EPP311']);
  t.same(codes(judge({ type: 'EDS' })), ['EPP311']);
  t.same(codes(judge({ type: 'ORIGINAL_DST' })), ['EPP311']);
  t.same(codes(judge({ lb_policy: 'CLUSTER_PROVIDED' })), ['EPP311']);
  const aggregate = { type: undefined, load_assignment: undefined, cluster_type: { name: 'envoy.clusters.aggregate', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig', clusters: ['a'] } } };
  t.same(codes(judge({ ...aggregate, lb_policy: 'CLUSTER_PROVIDED' }), 'deny'), [], 'an extension cluster_type is no STATIC cluster: CLUSTER_PROVIDED is its load balancer');
  t.same(codes(judge({ lb_policy: 'round_robin' })), ['EPP310']);
  t.same(codes(judge({ connect_timeout: '0s' })), ['EPP312']);
  t.same(codes(judge({ connect_timeout: 2 })), ['EPP310']);
  t.same(codes(judge({ name: '' })), ['EPP312'], 'an unnamed cluster, and the filter points at a cluster no patch adds: EPP312 says to give it that name (an EPP305 to add one would make two)');
  t.same(codes(judge({ type: null, load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'epp.svc', port_value: 9002 } } } }] }] } })), ['EPP303'], 'null type is STATIC');
  t.same(codes(judge({ load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 65536 } } } }] }] } })), ['EPP312']);
  t.same(codes(judge({ load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: '9002' } } } }] }] } })), [], 'a quoted port is read as a number');
  const camelEndpoint = (socketAddress: Record<string, unknown>) => ({ load_assignment: undefined, loadAssignment: { endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress } } }] }] } });
  const endpointAt = 'spec.configPatches[1].patch.value.loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress';
  t.same(judge(camelEndpoint({ address: '10.0.0.1', portValue: 65536 })).filter((f) => f.code !== 'EPP230').map((f) => f.path), [`${endpointAt}.portValue`], 'the path names the port as written');
  t.same(judge({ type: 'STATIC', ...camelEndpoint({ address: 'epp.svc', portValue: 9002 }) }).filter((f) => f.code !== 'EPP230').map((f) => f.path), [`${endpointAt}.address`], 'and the address');
  t.same(codes(judge({ transport_socket: { name: 'envoy.transport_sockets.tls' } })), ['EPP313']);
  const alpn = judge({
    http2_protocol_options: undefined,
    transport_socket: undefined,
    typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { auto_config: {} } },
  });
  t.same(codes(alpn, 'deny'), ['EPP302', 'EPP314']);
  const alpnCamel = judge({
    http2_protocol_options: undefined,
    transport_socket: undefined,
    typedExtensionProtocolOptions: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { auto_config: {} } },
  });
  t.match(alpnCamel.find((f) => f.code === 'EPP314')?.path, /\.typedExtensionProtocolOptions$/, 'the path names the key as written');
  const options = (key: string, inner: Record<string, unknown>) =>
    judge({ http2_protocol_options: undefined, typed_extension_protocol_options: { [key]: { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', ...inner } } });
  const misspelt = options('envoy.extensions.upstreams.http.v3.HttpProtocolOption', { explicit_http_config: { http2_protocol_options: {} } });
  t.ok(codes(misspelt).includes('EPP315'), 'a misspelt extension name');
  t.match(misspelt.find((f) => f.code === 'EPP315')!.message, 'did you mean envoy.extensions.upstreams.http.v3.HttpProtocolOptions?');
  t.same(codes(options('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', {}), 'deny'), ['EPP302', 'EPP315'], 'no protocol chosen');
  const tcp = (key: string) => judge({ typed_extension_protocol_options: { [key]: { '@type': 'type.googleapis.com/envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions', idle_timeout: '600s' } } });
  t.same(codes(tcp('envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions')), [], "TcpProtocolOptions is as close to HttpProtocolOptions' name as a typo, and is its own extension");
  t.match(tcp('envoy.extensions.upstreams.tcp.v3.TcpProtocolOption').find((f) => f.code === 'EPP315')?.message, 'did you mean envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions?');
});

t.test("a TypedStruct's value is read as Envoy converts it, not as istiod does", async (t) => {
  const typedStruct = (value: Record<string, unknown>) => {
    const object = withFilter({});
    (object.spec.configPatches[0].patch.value as Record<string, unknown>).typed_config = {
      '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
      type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      value: { ...GRPC, ...value },
    };
    return checkEnvoyFilter(object, DEFAULT_CONFIG);
  };
  t.same(codes(typedStruct({ processing_mode: { ...FULL_DUPLEX, request_body_mode: 'full_duplex_streamed', request_trailer_mode: '1' } })), [], 'any case, numbers in strings');
  const typo = typedStruct({ processing_mode: { ...FULL_DUPLEX, request_body_mod: 'FULL_DUPLEX_STREAMED' } });
  t.ok(codes(typo).includes('EPP221'), 'Envoy rejects an unknown field there');
  t.match(typo.find((f) => f.code === 'EPP221')!.message, 'did you mean request_body_mode?');
  t.same(codes(typedStruct({ processing_mode: FULL_DUPLEX, message_timeout: '200ms' })), ['EPP221'], 'durations only in seconds');
  t.same(codes(typedStruct({ processing_mode: FULL_DUPLEX, message_timeout: '0.1234567891s' })), ['EPP221'], 'Envoy (not istiod) rejects more than nine decimals');
  t.same(codes(typedStruct({ processing_mode: 'FULL_DUPLEX_STREAMED' })), ['EPP221'], 'Envoy (not istiod) rejects a mode that is not an object');
  t.same(codes(typedStruct({ processing_mode: FULL_DUPLEX, grpc_service: 'epp' })), ['EPP221'], 'Envoy (not istiod) rejects a service that is not an object');
  const overHttp = (processing_mode: Record<string, unknown>) => {
    const object = withFilter({});
    (object.spec.configPatches[0].patch.value as Record<string, unknown>).typed_config = {
      '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
      type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      value: { http_service: { http_service: { http_uri: { uri: 'http://x', cluster: 'epp-cluster', timeout: '1s' } } }, processing_mode },
    };
    return codes(checkEnvoyFilter(object, DEFAULT_CONFIG), 'deny');
  };
  t.same(overHttp({ request_trailer_mode: 'send' }), ['EPP218'], 'Envoy reads "send" as SEND, which http_service does not allow');
  t.same(overHttp({ request_body_mode: 'none' }), [], 'Envoy reads "none" as NONE: no body is sent');
  t.same(codes(typedStruct({ processing_mode: FULL_DUPLEX, failure_mode_allow: 'true' })), ['EPP205'], 'Envoy reads "true" as true: fail-open');
  t.same(codes(typedStruct({ processing_mode: FULL_DUPLEX, allow_mode_override: 'true' })), ['EPP207'], 'and allow_mode_override "true" as true');
  const skipAll = { request_header_mode: 'skip', response_header_mode: 'skip' };
  t.same(codes(typedStruct({ processing_mode: skipAll })), ['EPP206'], 'Envoy reads "skip" as SKIP: the EPP is sent nothing');
  const perRoute = (value: Record<string, unknown>) => {
    const object = withFilter({ ...GRPC, processing_mode: FULL_DUPLEX });
    object.spec.configPatches.push({
      applyTo: 'HTTP_ROUTE',
      patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', value } } } },
    } as any);
    return codes(checkEnvoyFilter(object, DEFAULT_CONFIG), 'deny');
  };
  t.same(perRoute({ disabled: 'true' }), [], 'Envoy reads "true" as true there');
  t.same(perRoute({ disabled: 'false' }), ['EPP217'], 'and "false" as false, which an ExtProcPerRoute may not say');
  const overrides = { processing_mode: FULL_DUPLEX };
  t.same(perRoute({ disabled: true, overrides }), ['EPP221'], 'disabled and overrides are one oneof: Envoy refuses the second');
  t.same(perRoute({ overrides, disabled: false }), ['EPP221'], 'whatever disabled says');
  t.same(perRoute({ overrides }), [], 'overrides alone loads');
  t.same(perRoute({ disabled: true }), [], 'disabled alone loads');
  t.same(perRoute({ disabled: null, overrides }), [], 'null leaves disabled unset');
  t.same(perRoute({ overrides: { grpc_service: { google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp', channel_credentials: { google_default: {}, local_credentials: {} } } } } }), ['EPP221'], "and an override's channel_credentials");
  t.same(codes(typedStruct({ processing_mode: FULL_DUPLEX, grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' }, google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' } } }), 'deny'), ['EPP221'], 'so are envoy_grpc and google_grpc');
  const patterns = typedStruct({ processing_mode: FULL_DUPLEX, forward_rules: { allowed_headers: { patterns: [{ exact: 'x-a' }, { exact: 'x-b', prefix: 'x-' }] } } });
  t.same(codes(patterns, 'deny'), ['EPP221'], "and a StringMatcher's exact beside prefix, in forward_rules");
  t.match(patterns[0], {
    path: /forward_rules\.allowed_headers\.patterns\[1\]$/,
    message: 'ext_proc forward_rules.allowed_headers.patterns[1] sets both exact and prefix in a TypedStruct: they are one oneof',
    fix: 'keep one of exact, prefix (another can be its own entry of patterns)',
  });
  t.same(codes(typedStruct({ processing_mode: FULL_DUPLEX, forwardRules: { disallowedHeaders: { patterns: [{ exact: 'x-a', suffix: '-a', contains: 'a' }] } } }), 'deny'), ['EPP221'], 'under either spelling');
  t.same(codes(typedStruct({ processing_mode: FULL_DUPLEX, forward_rules: { allowed_headers: { patterns: [{ exact: 'x-a' }, { prefix: 'x-' }] } } }), 'deny'), [], 'one member per pattern loads');
  const google = (googleGrpc: Record<string, unknown>) => typedStruct({ processing_mode: FULL_DUPLEX, grpc_service: { google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp', ...googleGrpc } } });
  const credentials = google({ channel_credentials: { google_default: {}, local_credentials: {} } });
  t.same(codes(credentials, 'deny'), ['EPP221'], "google_grpc's channel_credentials are one oneof");
  t.match(credentials[0].message, 'ext_proc grpc_service.google_grpc.channel_credentials sets both google_default and local_credentials in a TypedStruct');
  t.same(codes(google({ channel_credentials: { google_default: {}, local_credentials: null } }), 'deny'), [], 'null leaves a member unset');
  t.same(codes(google({ channel_credentials: { ssl_credentials: { root_certs: { filename: '/etc/ca.pem', inline_string: 'x' } } } }), 'deny'), ['EPP221'], 'so is a DataSource in ssl_credentials');
  t.same(codes(google({ channel_credentials: { ssl_credentials: { root_certs: { filename: '/etc/ca.pem' } } } }), 'deny'), [], 'one DataSource member loads');
  t.same(codes(google({ call_credentials: [{ access_token: 't', google_compute_engine: {} }] }), 'deny'), ['EPP221'], 'so is each of call_credentials');
  const args = google({ channel_args: { args: { 'grpc.x': { string_value: 'a', int_value: '1' } } } });
  t.same(codes(args, 'deny'), ['EPP221'], 'so is each value of channel_args');
  t.match(args[0].message, 'ext_proc grpc_service.google_grpc.channel_args.args["grpc.x"] sets both string_value and int_value');
  const plain = withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, forward_rules: { allowed_headers: { patterns: [{ exact: 'x-a', prefix: 'x-' }] } } });
  t.same(codes(checkEnvoyFilter(plain, DEFAULT_CONFIG), 'deny'), [], 'outside a TypedStruct istiod keeps one member and Envoy loads it');
  const twice = typedStruct({ processing_mode: { ...FULL_DUPLEX, requestBodyMode: 'NONE' } });
  t.same(codes(twice), ['EPP222'], 'which spelling Envoy keeps is not defined, so the field is not judged');
  t.match(twice[0].message, 'which one it keeps is not defined');
});

t.test("EPP204's fix names the keys as written, and over http_service asks for grpc_service first (else it loops or leads into EPP218)", async (t) => {
  const fixOf = (typedConfig: Record<string, unknown>) => checkEnvoyFilter(withFilter(typedConfig), DEFAULT_CONFIG).find((f) => f.code === 'EPP204')?.fix;
  t.equal(fixOf({ ...GRPC, processing_mode: { requestHeaderMode: 'SEND', requestBodyMode: 'NONE', requestTrailerMode: 'SKIP' } }), 'set requestBodyMode: FULL_DUPLEX_STREAMED and requestTrailerMode: SEND');
  t.equal(fixOf({ ...GRPC, processing_mode: { request_header_mode: 'SEND' } }), 'set request_body_mode: FULL_DUPLEX_STREAMED and request_trailer_mode: SEND');
  const http = { http_service: { http_service: { http_uri: { uri: 'http://epp:9002/', cluster: 'epp-cluster', timeout: '1s' } } } };
  t.match(fixOf({ ...http, processing_mode: { request_header_mode: 'SEND' } }), /^replace http_service with grpc_service: \{envoy_grpc: \{cluster_name: <EPP cluster>\}\} .*, and set request_body_mode: FULL_DUPLEX_STREAMED and request_trailer_mode: SEND$/);
});

t.test("EPP206's fix writes the EPP's mode out whole, trailer modes SEND included (FULL_DUPLEX_STREAMED without them is EPP203)", async (t) => {
  const fix = checkEnvoyFilter(withFilter({ ...GRPC, processingMode: { requestHeaderMode: 'SKIP', responseHeaderMode: 'SKIP' } }), DEFAULT_CONFIG).find((f) => f.code === 'EPP206')?.fix;
  t.match(fix, /^set processingMode: \{request_header_mode: SEND, request_body_mode: FULL_DUPLEX_STREAMED, request_trailer_mode: SEND, response_body_mode: FULL_DUPLEX_STREAMED, response_trailer_mode: SEND\} here/);
});

t.test('EPP201 and EPP210 fixes that lead to FULL_DUPLEX_STREAMED name its trailer mode SEND (else the fix leads into EPP203)', async (t) => {
  const fixOf = (mode: Record<string, unknown>, code: string) => checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: mode }), DEFAULT_CONFIG).find((f) => f.code === code)?.fix;
  t.equal(fixOf({ request_header_mode: 'SEND', request_body_mode: 'full_duplex_streamed' }, 'EPP201'), 'use NONE to skip the body, or the body mode your ext_proc server speaks (an EPP: FULL_DUPLEX_STREAMED, with request_trailer_mode: SEND)');
  t.equal(fixOf({ request_header_mode: 'SEND', request_body_mode: 7, requestTrailerMode: 'SKIP' }, 'EPP210'), 'use NONE to skip the body, or the body mode your ext_proc server speaks (an EPP: FULL_DUPLEX_STREAMED, with requestTrailerMode: SEND)');
  t.equal(fixOf({ ...FULL_DUPLEX, request_body_mode: 'full_duplex_streamed' }, 'EPP201'), 'use NONE to skip the body, or the body mode your ext_proc server speaks (an EPP: FULL_DUPLEX_STREAMED)');
  t.equal(fixOf({ ...FULL_DUPLEX, request_trailer_mode: 'send' }, 'EPP201'), 'use SEND: request_body_mode FULL_DUPLEX_STREAMED needs the trailer mode SEND');
  t.equal(fixOf({ request_header_mode: 'SEND', request_trailer_mode: 'send' }, 'EPP201'), 'use SEND or SKIP');
});

t.test('EPP213 and EPP221 never ask to rename a key to one the object has (a duplicate key kubectl refuses)', async (t) => {
  const findingsFor = (mode: Record<string, unknown>) => checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: mode }), DEFAULT_CONFIG).filter((f) => f.code === 'EPP213');
  const { response_body_mode: _, ...withoutResponseBody } = FULL_DUPLEX;
  const resp = findingsFor({ ...withoutResponseBody, resp_body_mode: 'FULL_DUPLEX_STREAMED' });
  t.equal(resp[0].fix, 'rename resp_body_mode to response_body_mode');
  t.match(resp[0].message, 'did you mean response_body_mode?');
  const extra = findingsFor({ ...FULL_DUPLEX, request_body_mod: 'FULL_DUPLEX_STREAMED' });
  t.equal(extra[0].fix, 'remove request_body_mod (request_body_mode is written already)');
});

t.test("EPP205 on a MERGE into istiod's filter: the fix removes the MERGE's false and writes a route override that names the EPP cluster (alone, failure_mode_allow: false leaves istiod's filter on dummy: 500)", async (t) => {
  const merge = {
    metadata: { name: 'f', namespace: NS },
    spec: {
      workloadSelector: { labels: { 'gateway.networking.k8s.io/gateway-name': 'inference-gateway' } },
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.ext_proc' } } } } },
          patch: { operation: 'MERGE', value: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', failure_mode_allow: false, processing_mode: { request_header_mode: 'SEND' } } } },
        },
      ],
    },
  };
  const fix = checkEnvoyFilter(merge, DEFAULT_CONFIG).find((f) => f.code === 'EPP205')?.fix;
  t.match(fix, /^remove failure_mode_allow from this MERGE \(it changes nothing\) and, to fail closed, per InferencePool route add \{applyTo: HTTP_ROUTE, .*overrides: \{grpc_service: \{envoy_grpc: \{cluster_name: <the EPP cluster istiod's override names, outbound\|<port>\|\|<EPP Service>\.<namespace>\.svc\.cluster\.local>\}\}, processing_mode: \{request_header_mode: SEND, request_body_mode: FULL_DUPLEX_STREAMED, request_trailer_mode: SEND, response_body_mode: FULL_DUPLEX_STREAMED, response_trailer_mode: SEND\}, failure_mode_allow: false\}/, "the EPP's mode whatever the MERGE writes: the MERGE's would then run on the route");
});

t.test('EPP310 and EPP311 name the type and lb_policy the cluster takes, not every value (EDS, ORIGINAL_DST or STATIC on a hostname would be denied again)', async (t) => {
  const fixesOf = (cluster: Record<string, unknown>) => checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, goodCluster(cluster)), DEFAULT_CONFIG).filter((f) => f.code === 'EPP310' || f.code === 'EPP311').map((f) => `${f.code} ${f.fix}`);
  t.same(fixesOf({ type: 'static' }), ['EPP310 write type: STATIC (its endpoints are IP addresses)']);
  t.same(fixesOf({ type: 99 }), ['EPP311 write type: STATIC (its endpoints are IP addresses)']);
  const hostname = { load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'epp.ns.svc.cluster.local', port_value: 9002 } } } }] }] } };
  t.same(fixesOf({ type: 'strict_dns', ...hostname }), ['EPP310 write type: STRICT_DNS (its endpoints are hostnames)']);
  t.same(fixesOf({ lb_policy: 'round_robin' }), ['EPP310 write lb_policy as one of ROUND_ROBIN (0), LEAST_REQUEST (1), RING_HASH (2), RANDOM (3), MAGLEV (5), or remove it (ROUND_ROBIN is the default)']);
  t.same(fixesOf({ type: 'ORIGINAL_DST', lb_policy: 'cluster_provided', load_assignment: undefined }), ['EPP310 write lb_policy: CLUSTER_PROVIDED (the only one ORIGINAL_DST takes)']);
});

t.test('an empty cluster_name is EPP216 only: no EPP305 asking to add a cluster named "" (which would be EPP312)', async (t) => {
  const found = checkEnvoyFilter(withFilter({ grpc_service: { envoy_grpc: { cluster_name: '' } }, processing_mode: FULL_DUPLEX }), DEFAULT_CONFIG);
  t.ok(found.some((f) => f.code === 'EPP216'));
  t.notOk(found.some((f) => f.code === 'EPP305'));
});

t.test('a filter with no typed_config: EPP301 asks for a typed_config with its "@type" (one without is EPP219), and no mode is judged', async (t) => {
  const bare = withFilter({});
  const patch = bare.spec.configPatches[0].patch as { value: Record<string, unknown> };
  delete patch.value.typed_config;
  const found = checkEnvoyFilter(bare, DEFAULT_CONFIG);
  t.match(found.find((f) => f.code === 'EPP301')?.fix, /^add typed_config: \{"@type": type\.googleapis\.com\/envoy\.extensions\.filters\.http\.ext_proc\.v3\.ExternalProcessor, grpc_service: /);
  t.same(codes(found).filter((c) => c.startsWith('EPP2')), []);
});

t.test('HTTP/2 options under a misspelt key are EPP315 only: no EPP302 whose fix adds a second entry that the rename then collides with', async (t) => {
  const { http2_protocol_options: _, ...withoutLegacy } = goodCluster();
  const options = { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } };
  const found = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, { ...withoutLegacy, typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOption': options } }), DEFAULT_CONFIG);
  t.same(codes(found, 'deny'), ['EPP315']);
});

t.test("EPP307's example processing_mode is one the webhook admits: FULL_DUPLEX_STREAMED with its trailer mode SEND (alone it is EPP203)", async (t) => {
  const fix = checkEnvoyFilter(withFilter({ ...GRPC, processingMode: 'FULL_DUPLEX_STREAMED' }), DEFAULT_CONFIG).find((f) => f.code === 'EPP307')?.fix;
  t.equal(fix, 'write processingMode as a mapping, e.g. {request_header_mode: SEND, request_body_mode: FULL_DUPLEX_STREAMED, request_trailer_mode: SEND, response_body_mode: FULL_DUPLEX_STREAMED, response_trailer_mode: SEND}');
});

t.test('a cluster without a name is EPP312 only: no EPP305 asking to add a second cluster of the name it is to get (Envoy rejects duplicate clusters)', async (t) => {
  const { name: _, ...nameless } = goodCluster();
  const found = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, nameless), DEFAULT_CONFIG);
  t.ok(found.some((f) => f.code === 'EPP312'));
  t.notOk(found.some((f) => f.code === 'EPP305'));
});

t.test('lb_policy LOAD_BALANCING_POLICY_CONFIG without load_balancing_policy is EPP311 (Envoy: "field load_balancing_policy need to be set")', async (t) => {
  const judge = (cluster: Record<string, unknown>) => codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, goodCluster(cluster)), DEFAULT_CONFIG), 'deny');
  t.same(judge({ lb_policy: 'LOAD_BALANCING_POLICY_CONFIG' }), ['EPP311']);
  t.same(judge({ lb_policy: 7 }), ['EPP311']);
  const roundRobin = { typed_extension_config: { name: 'envoy.load_balancing_policies.round_robin', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin' } } };
  t.same(judge({ lb_policy: 'LOAD_BALANCING_POLICY_CONFIG', load_balancing_policy: { policies: [roundRobin] } }), []);
  t.same(judge({ lb_policy: 'LOAD_BALANCING_POLICY_CONFIG', load_balancing_policy: { policies: [] } }), ['EPP312'], 'a policy list without a policy: Envoy finds no load balancer (the field sweep asked it)');
});

t.test('EPP213: a misspelt second copy of a written field is removed, not renamed to a neighbour that means something else', async (t) => {
  const findingsFor = (mode: Record<string, unknown>) => checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: mode }), DEFAULT_CONFIG).filter((f) => f.code === 'EPP213');
  // response_header_mode is not written: renaming the copy of response_trailer_mode to it would turn response headers off.
  const { response_header_mode: _, ...withoutResponseHeaders } = FULL_DUPLEX;
  const [copy] = findingsFor({ ...withoutResponseHeaders, response_trailer_mod: 'SKIP' });
  t.equal(copy.fix, 'remove response_trailer_mod (response_trailer_mode is written already)');
  t.match(copy.message, 'did you mean response_trailer_mode?');
  const [timeout] = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, message_timeout: '1s', message_timeou: '2s' }), DEFAULT_CONFIG).filter((f) => f.code === 'EPP213');
  t.equal(timeout.fix, 'remove message_timeou (message_timeout is written already)', 'not max_message_timeout, another field with another meaning');
});

t.test('EPP310 on a cluster whose address is a configured placeholder token: STATIC, as for the default token', async (t) => {
  const config = parseConfig({ placeholder: 'EPP_ADDRESS' });
  const token = (address: string) => ({ load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: 9002 } } } }] }] } });
  const fixOf = (cluster: Record<string, unknown>) => checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, goodCluster(cluster)), config).find((f) => f.code === 'EPP310')?.fix;
  t.equal(fixOf({ type: 'static', ...token('EPP_ADDRESS') }), 'write type: STATIC (its endpoints are IP addresses)', 'the token becomes the ClusterIP: not a hostname for STRICT_DNS');
  t.equal(fixOf({ type: 'static', load_assignment: undefined }), 'write type: STATIC with IP addresses (for an EPP, the EPP_ADDRESS token), or STRICT_DNS with hostnames');
});

t.test('two different CLUSTER ADDs of one name to the same proxies: istiod keeps the first, and so does the webhook (EPP317)', async (t) => {
  const withClusters = (...extra: Record<string, unknown>[]) => {
    const object = withFilter({ ...GRPC, processing_mode: FULL_DUPLEX });
    (object.spec.configPatches as unknown[]).push(...extra);
    return checkEnvoyFilter(object, DEFAULT_CONFIG);
  };
  const add = (cluster: Record<string, unknown>, match?: Record<string, unknown>) => ({ applyTo: 'CLUSTER', ...(match ? { match } : {}), patch: { operation: 'ADD', value: cluster } });
  const other = goodCluster({ connect_timeout: '5s' });

  const corrected = withClusters(add(other));
  t.same(codes(corrected), ['EPP317']);
  const [found] = corrected;
  t.equal(found.severity, 'warn');
  t.equal(found.location, 'configPatches[2]', 'the later patch is the one istiod discards');
  t.equal(found.path, 'spec.configPatches[2].patch.value.name');
  t.equal(
    found.message,
    "adds cluster epp-cluster, which configPatches[1] adds to the same proxies with other settings: istiod keeps the first cluster of a name and discards the others, so this one never reaches Envoy and the proxies use configPatches[1]'s. Measured: a corrected copy after a broken cluster changed nothing",
  );
  t.match(found.fix, 'keep one CLUSTER ADD per name: write the settings you want into configPatches[1] and drop this patch');

  t.same(codes(withClusters(add(goodCluster()))), [], 'an exact copy loses nothing');
  t.same(codes(withClusters(add(goodCluster({ name: 'waf-cluster' })))), [], 'another name');
  t.same(codes(withClusters(add(other, { context: 'SIDECAR_OUTBOUND' }))), ['EPP317'], 'no context is ANY: the first reaches sidecars too');
  const gatewayOnly = withFilter({ ...GRPC, processing_mode: FULL_DUPLEX });
  (gatewayOnly.spec.configPatches[1] as Record<string, unknown>).match = { context: 'GATEWAY' };
  (gatewayOnly.spec.configPatches as unknown[]).push(add(other, { context: 'SIDECAR_INBOUND' }));
  t.same(codes(checkEnvoyFilter(gatewayOnly, DEFAULT_CONFIG)), [], 'GATEWAY and SIDECAR_INBOUND: a gateway and a sidecar, never one proxy');
  t.same(codes(withClusters(add(other, { proxy: { proxyVersion: '^1\\.2[0-9].*' } }))), [], 'a proxy match may tell them apart on purpose');

  const plaintextFirst = withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, goodCluster({ transport_socket: undefined }));
  (plaintextFirst.spec.configPatches as unknown[]).push(add(goodCluster()));
  t.same(codes(checkEnvoyFilter(plaintextFirst, DEFAULT_CONFIG)), ['EPP306', 'EPP317'], 'the first, plaintext cluster is the one judged, as Envoy gets it');
});

t.test("a CLUSTER ADD named as istiod's own outbound cluster: Envoy rejects the update that carries both (EPP318)", async (t) => {
  const ISTIOD = 'outbound|9002||gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local';
  const named = (name: string) =>
    checkEnvoyFilter(withFilter({ grpc_service: { envoy_grpc: { cluster_name: name } }, processing_mode: FULL_DUPLEX }, goodCluster({ name, load_assignment: { ...goodCluster().load_assignment, cluster_name: name } })), DEFAULT_CONFIG);

  const found = named(ISTIOD);
  t.same(codes(found), ['EPP318']);
  const [f] = found;
  t.equal(f.severity, 'deny', 'a gateway that starts over delta xDS gets no cluster at all (measured)');
  t.equal(f.location, 'configPatches[1]');
  t.equal(f.path, 'spec.configPatches[1].patch.value.name');
  t.match(f.message, `adds cluster ${ISTIOD}, the name istiod gives its own cluster of port 9002 of gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local,`);
  t.match(f.message, 'Envoy rejects every cluster update that carries two of one name. Measured: over delta xDS');
  t.equal(f.fix, `give this cluster a name of your own (as epp-cluster), in its load_assignment.cluster_name and in the cluster_name that calls it; or drop this CLUSTER ADD and call istiod's cluster ${ISTIOD} (measured: 200 with the EPP serving plaintext and its Service port declaring appProtocol: http2; against an EPP serving TLS it needs TLS from a DestinationRule, not measured)`);
  t.match(named('outbound|9002|v1|epp.ns.svc.cluster.local')[0]?.message ?? '', 'of port 9002 of epp.ns.svc.cluster.local (subset v1),', 'a subset cluster is istiod\'s too');
  t.same(codes(named('outbound|9002||epp')), ['EPP318'], 'any host: istiod names a ServiceEntry host so too');
  t.same(codes(named('epp-cluster')), [], 'a name of its own');
  t.same(codes(named('outbound_.9002_._.epp.ns.svc.cluster.local')), [], 'not the outbound|port|subset|host shape');
  t.same(codes(named('inbound|9002||epp.ns.svc.cluster.local')), [], 'inbound clusters: not measured, not judged');
  t.same(codes(named('outbound|9002|epp.ns.svc.cluster.local')), [], 'three parts: no name istiod gives');
  for (const port of ['0', '09002', '99999']) t.same(codes(named(`outbound|${port}||epp.ns.svc.cluster.local`)), [], `port ${port}: no name istiod's strconv.Itoa writes`);

  // Its settings are judged too: renamed as EPP318's fix says, they are what Envoy gets.
  const broken = checkEnvoyFilter(withFilter({ grpc_service: { envoy_grpc: { cluster_name: ISTIOD } }, processing_mode: FULL_DUPLEX }, goodCluster({ name: ISTIOD, http2_protocol_options: undefined })), DEFAULT_CONFIG);
  t.same(codes(broken), ['EPP302', 'EPP318']);

  // A REMOVE of istiod's cluster of that name, for the proxies the ADD reaches, leaves one cluster of it: the ADD's.
  const withRemove = (match: Record<string, unknown> | undefined, context?: string) => {
    const object = withFilter({ grpc_service: { envoy_grpc: { cluster_name: ISTIOD } }, processing_mode: FULL_DUPLEX }, goodCluster({ name: ISTIOD }));
    object.spec.configPatches.unshift({ applyTo: 'CLUSTER', match: { ...(context ? { context } : {}), ...(match ? { cluster: match } : {}) }, patch: { operation: 'REMOVE' } } as any);
    return codes(checkEnvoyFilter(object, DEFAULT_CONFIG));
  };
  t.same(withRemove({ name: ISTIOD }), [], 'REMOVE by its name, then ADD');
  t.same(withRemove({ service: 'gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local', portNumber: 9002 }), [], 'REMOVE by service and port');
  t.same(withRemove({ service: 'gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local', portNumber: 9003 }), ['EPP318'], 'a REMOVE of another port leaves istiod\'s cluster');
  t.same(withRemove({ name: 'outbound|9002||other.ns.svc.cluster.local' }), ['EPP318'], 'a REMOVE of another cluster');
  t.same(withRemove({ name: ISTIOD }, 'SIDECAR_OUTBOUND'), ['EPP318'], 'a REMOVE on sidecars only leaves the gateway with both');

  const relaxed = checkEnvoyFilter(withFilter({ grpc_service: { envoy_grpc: { cluster_name: ISTIOD } }, processing_mode: FULL_DUPLEX }, goodCluster({ name: ISTIOD })), parseConfig({ severities: { EPP318: 'warn' } }));
  t.equal(relaxed.find((x) => x.code === 'EPP318')?.severity, 'warn', 'relaxable');
});

t.test('a value written where a name or a scalar belongs is quoted by its shape, never echoed: denials reach kubectl output and audit logs', async (t) => {
  const secret = { password: 'hunter2-SECRET' };
  const judged = [
    checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, goodCluster({ type: secret })), DEFAULT_CONFIG),
    checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, goodCluster({ lb_policy: [secret] })), DEFAULT_CONFIG),
    checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, request_body_mode: secret } }), DEFAULT_CONFIG),
  ];
  const [type, lb, mode] = judged.map((findings) => findings.find((f) => f.severity === 'deny'));
  t.match(type, { code: 'EPP310', message: /cluster epp-cluster type \{…\}: istiod refuses this at kubectl apply/ });
  t.match(lb, { code: 'EPP310', message: /lb_policy \[…\]: istiod refuses this at kubectl apply/ });
  t.match(mode, { code: 'EPP201', message: /ext_proc request_body_mode \{…\}: istiod refuses this at kubectl apply/ });
  for (const findings of judged) t.notOk(findings.some((f) => `${f.message} ${f.fix}`.includes('hunter2')), 'no part of the object in any finding');
  t.match(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: { ...FULL_DUPLEX, request_body_mode: 'FULL_DUPLEX' } }), DEFAULT_CONFIG).find((f) => f.code === 'EPP201')?.message, 'request_body_mode "FULL_DUPLEX"', 'a scalar is still quoted as written');
});

t.test('EPP319: an ext_proc filter istiod would put after the router is denied; before it, or after another filter, is not', async (t) => {
  const withOperation = async (operation: string, subFilter: string | undefined) => {
    const object = (await substituted('full-duplex-envoyfilter.yaml')) as any;
    const filter = object.spec.configPatches[0];
    filter.patch.operation = operation;
    if (subFilter === undefined) delete filter.match.listener.filterChain.filter.subFilter;
    else filter.match.listener.filterChain.filter.subFilter = { name: subFilter };
    return checkEnvoyFilter(object, DEFAULT_CONFIG).filter((f) => f.code === 'EPP319');
  };
  const added = await withOperation('ADD', 'envoy.filters.http.router');
  t.same(added.map((f) => [f.severity, f.location, f.path]), [['deny', 'configPatches[0]', 'spec.configPatches[0].patch.operation']]);
  t.match(added[0].message, 'ADD appends it to the HTTP filter chain, after envoy.filters.http.router, which ends every chain: Envoy rejects the listener');
  t.equal(added[0].fix, 'use operation: INSERT_BEFORE with subFilter envoy.filters.http.router to add the filter');
  t.match((await withOperation('INSERT_AFTER', undefined))[0]?.message, 'INSERT_AFTER with no subFilter appends it to the HTTP filter chain, as ADD does');
  t.match((await withOperation('INSERT_AFTER', 'envoy.filters.http.router'))[0]?.message, 'INSERT_AFTER subFilter envoy.filters.http.router puts it right behind the router');
  for (const [operation, subFilter] of [['INSERT_AFTER', 'envoy.filters.http.cors'], ['INSERT_BEFORE', undefined], ['INSERT_FIRST', undefined], ['INSERT_BEFORE', 'envoy.filters.http.router']] as const) {
    t.same(await withOperation(operation, subFilter), [], `${operation} ${subFilter ?? '(no subFilter)'}`);
  }
});

t.test('EPP232: an ext_proc filter patched with a sidecar context on an EnvoyFilter that selects a gateway is never inserted', async (t) => {
  const withContext = async (context: string | undefined, labels: Record<string, string> | undefined) => {
    const object = (await substituted('full-duplex-envoyfilter.yaml')) as any;
    if (context === undefined) delete object.spec.configPatches[0].match.context;
    else object.spec.configPatches[0].match.context = context;
    if (labels === undefined) delete object.spec.workloadSelector;
    else object.spec.workloadSelector = { labels };
    return checkEnvoyFilter(object, DEFAULT_CONFIG).filter((f) => f.code === 'EPP232');
  };
  const gateway = { 'gateway.networking.k8s.io/gateway-name': 'inference-gateway' };
  const outbound = await withContext('SIDECAR_OUTBOUND', gateway);
  t.same(outbound.map((f) => [f.severity, f.path]), [['warn', 'spec.configPatches[0].match.context']]);
  t.match(outbound[0].message, 'context SIDECAR_OUTBOUND matches no gateway proxy (istiod patches a gateway only with context GATEWAY or ANY), and the workloadSelector picks gateway Pods (gateway.networking.k8s.io/gateway-name: inference-gateway): the ext_proc filter is never inserted');
  t.equal(outbound[0].fix, 'write match.context: GATEWAY');
  t.equal((await withContext('SIDECAR_INBOUND', { istio: 'ingressgateway' })).length, 1, "Istio's charts' gateway");
  for (const [context, labels] of [['GATEWAY', gateway], ['ANY', gateway], [undefined, gateway], ['SIDECAR_OUTBOUND', { app: 'vllm' }], ['SIDECAR_OUTBOUND', undefined]] as const) {
    t.same(await withContext(context, labels), [], `${context ?? '(no context)'} on ${JSON.stringify(labels ?? 'every workload')}`);
  }
});

t.test('EPP226: an ext_proc regex RE2 cannot compile is denied, naming what it uses; RE2 syntax passes', async (t) => {
  const lookahead = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, mutation_rules: { allow_expression: { regex: '^(?!x-envoy).*' } } }), DEFAULT_CONFIG);
  t.same(codes(lookahead, 'deny'), ['EPP226']);
  t.equal(lookahead[0].path, 'spec.configPatches[0].patch.value.typed_config.mutation_rules.allow_expression.regex');
  t.match(lookahead[0].message, 'ext_proc regex "^(?!x-envoy).*" uses a lookahead ((?!), which RE2, Envoy\'s regex engine, does not have: Envoy rejects the listener update');
  const forward = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, forward_rules: { allowed_headers: { patterns: [{ exact: 'x-a' }, { safe_regex: { regex: '(a)\\1' } }] } } }), DEFAULT_CONFIG);
  t.equal(forward.find((f) => f.code === 'EPP226')?.path, 'spec.configPatches[0].patch.value.typed_config.forward_rules.allowed_headers.patterns[1].safe_regex.regex');
  for (const regex of ['^x-(epp|gateway)-.*', '[(?!]x', '\\(?!x', '(?P<name>x)', '(?i)x-epp', '\\\\1']) {
    t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, mutation_rules: { allow_expression: { regex } } }), DEFAULT_CONFIG)), [], regex);
  }
});

t.test('EPP320: a cluster health check Envoy would reject names what it lacks', async (t) => {
  const cluster = (healthChecks: unknown) => ({ ...goodCluster(), health_checks: healthChecks });
  const bare = checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, cluster([{ grpc_health_check: {} }])), DEFAULT_CONFIG);
  t.same(codes(bare, 'deny'), ['EPP320']);
  t.match(bare[0].message, 'health check has no timeout, no interval, no unhealthy_threshold, no healthy_threshold: Envoy requires each');
  t.equal(bare[0].path, 'spec.configPatches[1].patch.value.health_checks[0]');
  const whole = { timeout: '1s', interval: '10s', unhealthy_threshold: 3, healthy_threshold: 1, grpc_health_check: {} };
  t.same(codes(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, cluster([whole])), DEFAULT_CONFIG)), []);
  const { grpc_health_check: _, ...noChecker } = whole;
  t.match(checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, cluster([noChecker])), DEFAULT_CONFIG)[0]?.message, 'has no health checker (grpc_health_check, http_health_check or tcp_health_check)');
});

t.test("EPP233: observability_mode: true on a filter that talks to the EPP: Envoy ignores the EPP's answers, so its pick is never applied", async (t) => {
  const observing = (typedConfig: Record<string, unknown>, annotations: Record<string, string> = { 'epp-webhook.io/epp': 'true' }) => {
    const object = withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, ...typedConfig });
    (object.metadata as { annotations: Record<string, string> }).annotations = annotations;
    return checkEnvoyFilter(object, DEFAULT_CONFIG).filter((f) => f.code === 'EPP233');
  };
  const [found, ...more] = observing({ observability_mode: true });
  t.same(more, []);
  t.equal(found?.severity, 'warn', 'requests still get 200 (measured), and a second filter may still pick: a warning');
  t.equal(found?.path, 'spec.configPatches[0].patch.value.typed_config.observability_mode');
  // Measured (measured-symptoms.json EPP233-*): 200 on every request, Pods in Envoy's round robin, the EPP's picks ignored.
  t.match(found?.message, "ext_proc observability_mode true: Envoy sends the EPP the request without waiting and ignores every answer");
  t.match(found?.message, "the EPP's pick is never applied, and requests get 200 from whichever Pod Envoy's own load balancing chooses");
  t.match(found?.message, '(judged an EPP: annotation epp-webhook.io/epp: "true")');
  t.equal(found?.fix, 'remove observability_mode');
  t.equal(observing({ observabilityMode: true })[0]?.path, 'spec.configPatches[0].patch.value.typed_config.observabilityMode', 'read in lowerCamelCase too, named as written');
  t.same(observing({ observability_mode: false }), []);
  t.same(observing({ observability_mode: true }, { 'epp-webhook.io/epp': 'false' }), [], 'not for another ext_proc server: a logging one is what the mode is for');

  const typedStruct = withFilter({});
  (typedStruct.spec.configPatches[0].patch.value as Record<string, unknown>).typed_config = {
    '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
    type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
    value: { ...GRPC, processing_mode: FULL_DUPLEX, observability_mode: 'true' },
  };
  t.same(codes(checkEnvoyFilter(typedStruct, DEFAULT_CONFIG)), ['EPP233'], 'Envoy reads "true" in a TypedStruct as true');

  // The MERGE into istiod's InferencePool filter, beside the guide's route override (measured: EPP233-observability-merged-into-istiods-filter).
  const merged = parse(readFileSync(new URL('../../../examples/envoyfilter-placeholder.yaml', import.meta.url), 'utf8'));
  merged.spec.configPatches.push({
    applyTo: 'HTTP_FILTER',
    match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.ext_proc' } } } } },
    patch: { operation: 'MERGE', value: { name: 'envoy.filters.http.ext_proc', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', observability_mode: true } } },
  });
  const intoIstiods = checkEnvoyFilter(merged, DEFAULT_CONFIG).filter((f) => f.code === 'EPP233');
  t.same(intoIstiods.map((f) => [f.severity, f.location]), [['warn', 'configPatches[2]']], "in a MERGE into istiod's filter too");
});

t.test("EPP225: ext_proc fields Envoy refuses when it loads the filter are denied, each where it is written", async (t) => {
  const judge = (fields: Record<string, unknown>) => checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX, ...fields }), DEFAULT_CONFIG);
  const at = 'spec.configPatches[0].patch.value.typed_config';

  const pattern = (matcher: Record<string, unknown>) => codes(judge({ forward_rules: { allowed_headers: { patterns: [matcher] } } }), 'deny');
  t.same(pattern({ prefix: '' }), ['EPP225'], 'an empty prefix: Envoy refuses it');
  t.same(pattern({ safe_regex: '' }), ['EPP214'], 'a RegexMatcher written as a string: istiod refuses it (its type), not Envoy');
  t.same(pattern({ custom: '' }), ['EPP214'], 'so an extension written as a string');

  const noCode = judge({ status_on_error: {} });
  t.same(codes(noCode), ['EPP225'], 'status_on_error without code: code 0, which Envoy refuses');
  t.equal(noCode[0].severity, 'deny');
  t.equal(noCode[0].path, `${at}.status_on_error`);
  t.match(noCode[0].message, 'ext_proc status_on_error has no code: Envoy requires an HTTP status code, and not 0; Istio accepts it and Envoy rejects the listener update: running gateway Pods keep their old config, and one that starts has no listener');
  t.match(noCode[0].fix, 'set status_on_error: {code: 503}');
  t.same(codes(judge({ status_on_error: { code: 0 } })), ['EPP225']);
  t.same(codes(judge({ statusOnError: { code: 'Empty' } })), ['EPP225'], 'Empty is 0, lowerCamelCase as istiod reads it');
  const undefinedCode = judge({ status_on_error: { code: 299 } });
  t.same(codes(undefinedCode), ['EPP225']);
  t.equal(undefinedCode[0].path, `${at}.status_on_error.code`);
  t.match(undefinedCode[0].message, 'code 299 is no HTTP status Envoy defines');
  t.same(codes(judge({ status_on_error: { code: 503 } })), [], '503 loads');
  t.same(codes(judge({ status_on_error: { code: 'ServiceUnavailable' } })), [], 'its name loads');
  t.same(codes(judge({ status_on_error: { code: 'SERVICE_UNAVAILABLE' } })), ['EPP214'], 'a name the enum lacks: istiod refuses it at apply');
  const quoted = judge({ status_on_error: { code: '503' } });
  t.same(codes(quoted), ['EPP214'], 'a number in a string: istiod refuses it');
  t.equal(quoted[0].path, `${at}.status_on_error.code`);
  t.match(quoted[0].message, 'ext_proc status_on_error.code "503": istiod refuses this at kubectl apply');
  t.same(codes(judge({ status_on_error: 503 })), ['EPP214'], 'not an object: istiod refuses it');

  const patterns = (list: unknown) => ({ forward_rules: { allowed_headers: { patterns: list } } });
  t.same(codes(judge({ forward_rules: { allowed_headers: {} } })), ['EPP225'], 'a ListStringMatcher needs a pattern');
  t.same(codes(judge(patterns([]))), ['EPP225']);
  t.same(codes(judge({ forwardRules: { disallowedHeaders: { patterns: [] } } })), ['EPP225'], 'disallowed_headers too, in lowerCamelCase');
  const emptyPattern = judge(patterns([{ ignore_case: true }]));
  t.same(codes(emptyPattern), ['EPP225']);
  t.equal(emptyPattern[0].path, `${at}.forward_rules.allowed_headers.patterns[0]`);
  t.match(emptyPattern[0].message, 'names no match (exact, prefix, suffix, contains, safe_regex or custom)');
  for (const key of ['prefix', 'suffix', 'contains']) t.same(codes(judge(patterns([{ [key]: '' }]))), ['EPP225'], `an empty ${key}`);
  t.same(codes(judge(patterns([{ exact: '' }]))), [], 'an empty exact loads');
  t.same(codes(judge(patterns([{ safe_regex: { regex: '' } }]))), ['EPP225'], 'an empty safe_regex');
  t.same(codes(judge(patterns([{ safe_regex: {} }]))), ['EPP225'], 'a safe_regex without regex');
  t.same(codes(judge(patterns([{ prefix: 'x-' }, { safe_regex: { regex: 'x-.*' } }]))), [], 'written whole, they load');

  t.same(codes(judge({ mutation_rules: { allow_expression: { regex: '' } } })), ['EPP225'], 'an empty mutation_rules regex');
  t.same(codes(judge({ mutation_rules: { disallow_expression: {} } })), ['EPP225'], 'a mutation_rules matcher without regex');
  t.same(codes(judge({ mutation_rules: { allow_expression: { regex: 'x-.*' } } })), []);

  const cel = judge({ request_attributes: ['request.path', 'request..path'] });
  t.same(codes(cel), ['EPP225'], 'an attribute that is not CEL');
  t.equal(cel[0].path, `${at}.request_attributes[1]`);
  t.match(cel[0].message, 'ext_proc request_attributes[1] "request..path" is not a CEL expression Envoy can build (character 9:');
  for (const attribute of ['', 'if', 'request.size +', 'request:path', 'request.headers[0', 'request.method = "GET"', "'open", 'request.headers.all(h, h.size() > 0)']) {
    t.same(codes(judge({ response_attributes: [attribute] })), ['EPP225'], JSON.stringify(attribute));
  }
  t.same(codes(judge({ request_attributes: ["request.headers['x-gateway-model-name']", 'source.address', 'has(request.path) ? 1 : 2', 'xds.node.metadata["k"]'] })), [], 'CEL Envoy loads');
  t.same(codes(judge({ request_attributes: ['!-1', '[-1, !-2]', '[,]', '{,}.size()'] })), [], 'a minus before a number is the literal\'s, and a lone comma an empty list or map (Envoy loads them)');

  const call = judge({ request_attributes: ['string(request.size)'] });
  t.same(codes(call), ['EPP225'], 'a function Envoy does not register');
  t.match(call[0].message, `"string(request.size)" is not a CEL expression Envoy can build (character 1: Envoy's CEL has no string() of 1 argument (string conversion is not enabled in Envoy's CEL))`);
  t.match(judge({ request_attributes: ['size(request.path, 1)'] })[0]?.message, 'has no size() of 2 arguments (it takes 1)');
  t.match(judge({ request_attributes: ['getHours(request.time)'] })[0]?.message, 'has no getHours() of 1 argument (it is called as x.getHours(…))');
  t.match(judge({ request_attributes: ['request.size.int()'] })[0]?.message, 'has no .int() of 0 arguments on a value (it is called as int(x, …))');
  t.match(judge({ request_attributes: ['request.path.lowerAscii()'] })[0]?.message, 'character 14: Envoy\'s CEL has no .lowerAscii() of 0 arguments on a value');
  t.match(judge({ request_attributes: ['re.extract(request.path, "(a)")'] })[0]?.message, 'has no re.extract() of 2 arguments (it takes 3)');
  t.match(judge({ request_attributes: ['has(request)'] })[0]?.message, 'has() takes a field selection, such as has(request.path)');
  t.same(codes(judge({ request_attributes: ['(re).extract(request.path, "(a)", "x")', 'has((request.path))'] })), [], 'a name in brackets is that name (asked of Envoy)');
  for (const attribute of ['re.extract(request.path, "(a)")', 'request.re.extract(request.path, "(a)", "x")', 'true ? 1 : nosuchfn(1)', '[nosuchfn()]', 'request.time.getHours("UTC", 1)', "has(request.headers['x'])"]) {
    t.same(codes(judge({ request_attributes: [attribute] })), ['EPP225'], `${attribute}: a call Envoy refuses on load`);
  }
  const everyCall = ['size(request.path)', 'request.path.size()', 'contains(request.path, "a")', 'request.path.matches("a")', 'bool(request.path)', 'type(1)', 'request.time.getHours()', 'request.time.getHours("UTC")', 're.extract(request.path, "(a)", "x")', '.re.capture(request.path, "(a)")', 're.captureN(request.path, "(a)")', 'sets.contains(1)'];
  t.same(codes(judge({ request_attributes: everyCall })), [], 'calls Envoy builds, by name, style and count (a dotted name tried whole first, then as a receiver)');
  t.same(codes(judge({ request_attributes: ['!'.repeat(2_500_000) + 'a'] })), [], 'an attribute too long to be meant is left to Envoy, not read token by token');

  const overrideMode = judge({ allowed_override_modes: [{ request_body_mode: 7 }] });
  t.same(codes(overrideMode), ['EPP210'], 'a mode number no mode has, in allowed_override_modes');
  t.equal(overrideMode[0].path, `${at}.allowed_override_modes[0].request_body_mode`);
  t.same(codes(judge({ allowed_override_modes: [{ request_body_mode: 'full_duplex_streamed' }] })), ['EPP201'], 'a name istiod refuses');

  t.same(codes(judge({ processing_request_modifier: {} })), ['EPP225'], 'an extension without name and typed_config');
  t.match(judge({ on_processing_response: { name: 'x' } })[0]?.message, 'on_processing_response has no typed_config');

  const metadata = judge({ grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' }, initial_metadata: [{ key: '', value: '1' }] } });
  t.same(codes(metadata), ['EPP216'], 'gRPC metadata without key');
  t.equal(metadata[0].path, `${at}.grpc_service.initial_metadata[0]`);
  t.same(codes(judge({ grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' }, initial_metadata: [{ key: 'x-epp', value: 'a\nb' }] } })), ['EPP216'], 'a value over two lines');
  t.same(codes(judge({ grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' }, initial_metadata: [{ key: 'x-epp' }] } })), [], 'no value loads');
  t.same(codes(checkEnvoyFilter(withPerRoute({ overrides: { processing_mode: FULL_DUPLEX, grpc_initial_metadata: [{ key: '', value: '1' }] } }), DEFAULT_CONFIG)), ['EPP216'], "an override's grpc_initial_metadata");
  t.same(codes(checkEnvoyFilter(withPerRoute({ overrides: { processing_mode: FULL_DUPLEX, request_attributes: [''] } }), DEFAULT_CONFIG)), [], "an override's attributes are not parsed when Envoy loads it");
});

t.test("EPP312/EPP310: the EPP cluster's HTTP/2 options Envoy refuses, in the cluster's own field and in its HttpProtocolOptions", async (t) => {
  const legacy = (http2: Record<string, unknown>) => checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, goodCluster({ http2_protocol_options: http2 })), DEFAULT_CONFIG);
  const typed = (http2: Record<string, unknown>, wrap = false) => {
    const options = { explicit_http_config: { http2_protocol_options: http2 } };
    const name = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
    const value = wrap ? { '@type': 'type.googleapis.com/xds.type.v3.TypedStruct', type_url: `type.googleapis.com/${name}`, value: options } : { '@type': `type.googleapis.com/${name}`, ...options };
    return checkEnvoyFilter(withFilter({ ...GRPC, processing_mode: FULL_DUPLEX }, goodCluster({ http2_protocol_options: undefined, typed_extension_protocol_options: { [name]: value } })), DEFAULT_CONFIG);
  };
  const window = legacy({ initial_stream_window_size: 65534 });
  t.same(codes(window), ['EPP312']);
  t.equal(window[0].path, 'spec.configPatches[1].patch.value.http2_protocol_options.initial_stream_window_size');
  t.equal(
    window[0].message,
    'cluster epp-cluster http2_protocol_options.initial_stream_window_size 65534 is outside the range Envoy allows, 65535 to 2147483647; Istio accepts it and Envoy rejects the cluster, so it is never added and every call to it fails',
  );
  t.equal(window[0].fix, 'set initial_stream_window_size between 65535 and 2147483647');
  const typedWindow = typed({ initialConnectionWindowSize: '1024' });
  t.same(codes(typedWindow), ['EPP312'], 'in HttpProtocolOptions, lowerCamelCase, a number in a string');
  t.equal(typedWindow[0].path, 'spec.configPatches[1].patch.value.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http2_protocol_options.initialConnectionWindowSize');
  t.same(codes(typed({ max_concurrent_streams: 0 }, true)), ['EPP312'], "in a TypedStruct's value");
  t.same(codes(legacy({ initial_stream_window_size: 4294967296 })), ['EPP310'], 'above a uint32: istiod refuses it');
  for (const http2 of [{ max_concurrent_streams: 2147483648 }, { max_outbound_frames: 0 }, { max_header_field_size_kb: 63 }, { connection_keepalive: { interval: '10s' } }, { connection_keepalive: { timeout: '0s' } }]) {
    t.same(codes(legacy(http2)), ['EPP312'], JSON.stringify(http2));
  }
  const parameter = (list: unknown[], named: Record<string, unknown> = {}) => codes(legacy({ ...named, custom_settings_parameters: list }));
  t.same(parameter([{ identifier: 2, value: 1 }]), ['EPP312'], 'server push');
  t.same(parameter([{ identifier: 8, value: 1 }]), ['EPP312'], 'CONNECT, only through allow_connect');
  t.same(parameter([{ identifier: 1, value: 2048 }], { hpack_table_size: 4096 }), ['EPP312'], 'a named field sets it too');
  t.same(parameter([{ identifier: 9, value: 1 }, { identifier: 9, value: 2 }]), ['EPP312'], 'twice with two values');
  t.same(parameter([{ identifier: 9 }]), ['EPP312'], 'no value');
  t.same(parameter([{ identifier: 70000, value: 1 }]), ['EPP312'], 'above 65535');
  t.same(parameter([{ identifier: 2, value: 0 }, { identifier: 4, value: 1048576 }, { identifier: 9, value: 1 }, { identifier: 9, value: 1 }]), [], 'what Envoy loads');
  t.same(codes(legacy({ initial_stream_window_size: 65535, initial_connection_window_size: 1048576, max_concurrent_streams: 100, hpack_table_size: 0, connection_keepalive: { interval: '10s', timeout: '1s' } })), [], 'in range');
});

t.test('a filter name of any JSON shape is named in EPP206, never a crash (a property-test counterexample)', async (t) => {
  const nothing = { request_header_mode: 'SKIP', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE' };
  const named = (name: unknown, fields: Record<string, unknown> = {}) => {
    const object = withFilter({ ...GRPC, processing_mode: nothing });
    Object.assign(object.spec.configPatches[0].patch.value, { name, ...fields });
    return checkEnvoyFilter(object, DEFAULT_CONFIG);
  };
  const odd = JSON.parse('[{"toString":0}]');
  t.match(named(odd).find((f) => f.code === 'EPP206')?.message, 'no ExtProcPerRoute override under its name (a list)');
  t.doesNotThrow(() => named(odd, { disabled: true }), 'nor when the filter is disabled: true');
});
