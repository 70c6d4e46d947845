import t from 'tap';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import { checkEnvoyFilter } from '../../../src/envoyfilter/check-envoyfilter.ts';
import { readConfigPatches } from '../../../src/envoyfilter/config-patches.ts';
import { findExtProcConfigs } from '../../../src/envoyfilter/ext-proc-configs.ts';
import { ISTIOD_FILTER_MODE, mergedProcessingMode, mergesIntoIstiodFilter } from '../../../src/envoyfilter/merge-into-istiod-filter.ts';
import type { Finding } from '../../../src/findings.ts';

const NS = 'llm-d-inference-scheduler';
const EXTERNAL_PROCESSOR = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
const ISTIO_EPP_CLUSTER = `outbound|9002||gaie-inference-scheduling-epp.${NS}.svc.cluster.local`;
const FULL_DUPLEX_NO_TRAILER = { request_header_mode: 'SEND', response_header_mode: 'SEND', request_body_mode: 'FULL_DUPLEX_STREAMED' };

interface MergeOptions {
  context?: string;
  subFilter?: string;
  networkFilter?: string;
  labels?: Record<string, string>;
  /** The patch value; by default a typed ExternalProcessor with `typedConfig`. */
  value?: Record<string, unknown>;
}

/** An EnvoyFilter with one HTTP_FILTER MERGE, by default into istiod's InferencePool ext_proc filter, naming istiod's cluster of the EPP Service. */
function merge(typedConfig: Record<string, unknown>, options: MergeOptions = {}) {
  const { context = 'GATEWAY', subFilter = 'envoy.filters.http.ext_proc', networkFilter = 'envoy.filters.network.http_connection_manager' } = options;
  const labels = options.labels ?? { 'gateway.networking.k8s.io/gateway-name': 'inference-gateway' };
  const value = options.value ?? { typed_config: { '@type': EXTERNAL_PROCESSOR, grpc_service: { envoy_grpc: { cluster_name: ISTIO_EPP_CLUSTER } }, ...typedConfig } };
  return {
    metadata: { name: 'fix-extproc-body-mode', namespace: NS },
    spec: {
      workloadSelector: { labels },
      configPatches: [{ applyTo: 'HTTP_FILTER', match: { context, listener: { filterChain: { filter: { name: networkFilter, subFilter: { name: subFilter } } } } }, patch: { operation: 'MERGE', value } }],
    },
  };
}

const check = (object: unknown) => checkEnvoyFilter(object, DEFAULT_CONFIG);
const codes = (findings: Finding[], severity?: string) => findings.filter((f) => severity === undefined || f.severity === severity).map((f) => f.code).sort();
const mergesInto = (object: unknown) => {
  const sites = findExtProcConfigs(readConfigPatches(object, {}).patches);
  return sites.length === 1 && mergesIntoIstiodFilter(object, sites[0]);
};

t.test("the mode of istiod's filter after a MERGE: istiod's, overlaid with the fields the MERGE sets to a value other than the zero one", async (t) => {
  t.same(mergedProcessingMode([undefined]), ISTIOD_FILTER_MODE, 'no processing_mode: istiod\'s, headers SKIP');
  t.same(ISTIOD_FILTER_MODE, { request_header_mode: 'SKIP', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE', request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP' });
  t.same(mergedProcessingMode([FULL_DUPLEX_NO_TRAILER]), { ...ISTIOD_FILTER_MODE, ...FULL_DUPLEX_NO_TRAILER }, 'trailers stay unset: SKIP');
  t.equal(mergedProcessingMode([{ request_header_mode: 'DEFAULT' }]).request_header_mode, 'SKIP', 'DEFAULT is proto3 zero: the merge keeps istiod\'s SKIP');
  t.equal(mergedProcessingMode([{ request_header_mode: 0 }]).request_header_mode, 'SKIP', 'so is 0');
  t.equal(mergedProcessingMode([{ request_header_mode: 1 }]).request_header_mode, 'SEND');
  t.equal(mergedProcessingMode([{ requestBodyMode: 4, requestTrailerMode: 'SEND' }]).request_body_mode, 'FULL_DUPLEX_STREAMED', 'numbers and lowerCamelCase, as istiod reads them');
  t.equal(mergedProcessingMode([{ requestBodyMode: 4, requestTrailerMode: 'SEND' }]).request_trailer_mode, 'SEND');
  t.equal(mergedProcessingMode([{ request_header_mode: 'send' }]).request_header_mode, 'SKIP', 'a value istiod refuses (EPP201) merges nothing');
});

t.test("which MERGEs go into istiod's filter", async (t) => {
  t.ok(mergesInto(merge({ processing_mode: FULL_DUPLEX_NO_TRAILER })), 'subFilter envoy.filters.http.ext_proc on a gateway');
  t.ok(mergesInto(merge({}, { context: 'ANY' })), 'context ANY reaches gateways');
  t.ok(mergesInto(merge({}, { value: { name: 'envoy.filters.http.ext_proc' } })), 'a MERGE that writes only the name');
  t.notOk(mergesInto(merge({}, { context: 'SIDECAR_OUTBOUND' })), 'a sidecar has no istiod InferencePool filter');
  t.notOk(mergesInto(merge({}, { subFilter: 'envoy.filters.http.router' })), 'another filter');
  t.notOk(mergesInto(merge({}, { subFilter: 'epp.ext_proc' })), 'a filter of another name');
  t.notOk(mergesInto(merge({}, { networkFilter: 'envoy.filters.network.tcp_proxy' })), 'not in the HTTP connection manager');
  t.notOk(mergesInto(merge({}, { labels: { istio: 'ingressgateway' } })), "Istio's classic gateway has no istiod filter");
  const typedStruct = { typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: EXTERNAL_PROCESSOR, value: { processing_mode: FULL_DUPLEX_NO_TRAILER } } };
  t.notOk(mergesInto(merge({}, { value: typedStruct })), "a TypedStruct is no message istiod's merge can merge into its filter");
});

t.test("FULL_DUPLEX_STREAMED without a trailer mode in a MERGE into istiod's filter: Envoy rejects the merged filter (EPP203)", async (t) => {
  const findings = check(merge({ processing_mode: FULL_DUPLEX_NO_TRAILER }));
  t.same(codes(findings, 'deny'), ['EPP203']);
  const [denial] = findings.filter((f) => f.code === 'EPP203');
  t.equal(denial.path, 'spec.configPatches[0].patch.value.typed_config.processing_mode.request_trailer_mode');
  t.match(denial.message, 'MERGE into envoy.filters.http.ext_proc, the filter istiod inserts for InferencePool routes, which sets no trailer modes: after the MERGEs into it here, it runs request_body_mode FULL_DUPLEX_STREAMED with request_trailer_mode SKIP');
  t.match(denial.message, 'rejects the listener update');
  t.equal(denial.fix, "write request_trailer_mode: SEND in this MERGE's processing_mode");

  t.same(codes(check(merge({ processing_mode: { ...FULL_DUPLEX_NO_TRAILER, request_trailer_mode: 'SEND' } })), 'deny'), [], 'with the trailer mode SEND it loads');
  t.same(codes(check(merge({ processing_mode: { ...FULL_DUPLEX_NO_TRAILER, request_trailer_mode: 'DEFAULT' } })), 'deny'), ['EPP203'], 'DEFAULT is not carried by the merge');
  const skip = check(merge({ processing_mode: { ...FULL_DUPLEX_NO_TRAILER, request_trailer_mode: 'SKIP' } })).find((f) => f.code === 'EPP203');
  t.match(skip?.message, 'it runs request_body_mode FULL_DUPLEX_STREAMED with request_trailer_mode SKIP, and Envoy requires', 'a trailer SKIP it writes itself too');
  const response = check(merge({ processing_mode: { request_header_mode: 'SEND', request_body_mode: 'FULL_DUPLEX_STREAMED', request_trailer_mode: 'SEND', response_body_mode: 'FULL_DUPLEX_STREAMED' } }));
  t.same(response.filter((f) => f.code === 'EPP203').map((f) => f.fix), ["write response_trailer_mode: SEND in this MERGE's processing_mode"], 'each direction');

  const withoutService = check(merge({ processing_mode: FULL_DUPLEX_NO_TRAILER }, { value: { typed_config: { '@type': EXTERNAL_PROCESSOR, processing_mode: FULL_DUPLEX_NO_TRAILER } } }));
  t.same(codes(withoutService, 'deny'), ['EPP203'], 'an Envoy rule: it holds whatever the ext_proc server is (here judged an EPP only on the filter name)');
});

t.test("MERGEs into a filter the webhook cannot see are still judged only on what they set", async (t) => {
  t.same(codes(check(merge({ processing_mode: FULL_DUPLEX_NO_TRAILER }, { subFilter: 'epp.ext_proc' })), 'deny'), [], 'another filter: its trailer modes are unknown');
  t.same(codes(check(merge({ processing_mode: FULL_DUPLEX_NO_TRAILER }, { labels: { istio: 'ingressgateway' } })), 'deny'), [], 'the classic gateway: no istiod filter');
  t.same(codes(check(merge({ processing_mode: FULL_DUPLEX_NO_TRAILER }, { context: 'SIDECAR_OUTBOUND' })), 'deny'), []);
});

t.test("the EPP rules on the merged filter's mode, gated as before", async (t) => {
  const headersOnly = check(merge({ processing_mode: { request_header_mode: 'SEND' } }));
  t.same(codes(headersOnly), ['EPP204'], "request headers SEND and istiod's body NONE: the EPP never answers");
  t.same(codes(check(merge({ processing_mode: { request_header_mode: 'DEFAULT', request_body_mode: 'NONE' } }))), [], "DEFAULT keeps istiod's SKIP: no headers go out");
  t.same(codes(check(merge({ message_timeout: '5s' }))), [], "no processing_mode: istiod's filter sends nothing until its route override turns it on: no EPP206");
  const hinted = check(merge({}, { value: { typed_config: { '@type': EXTERNAL_PROCESSOR, processing_mode: { request_header_mode: 'SEND', request_body_mode: 'BUFFERED' } } } }));
  t.same(codes(hinted, 'warn'), ['EPP202'], 'judged an EPP only on the filter name: EPP rules warn at most');
  t.match(hinted[0].message, 'judged an EPP only on a hint');
  t.same(codes(check(merge({ processing_mode: { ...FULL_DUPLEX_NO_TRAILER, request_trailer_mode: 'SEND' }, failure_mode_allow: true }))), ['EPP205'], 'fail-open as the MERGE writes it');
});

t.test("the service of the merged filter: istiod's grpc_service stays unless the MERGE writes another", async (t) => {
  const httpService = { http_service: { http_uri: { uri: 'http://epp:9002/', cluster: 'epp-cluster', timeout: '1s' } } };
  const both = check(merge({}, { value: { typed_config: { '@type': EXTERNAL_PROCESSOR, ...httpService } } }));
  t.same(codes(both, 'deny'), ['EPP301'], 'http_service beside the grpc_service istiod\'s filter keeps: Envoy rejects the filter');
  t.match(both.find((f) => f.code === 'EPP301')?.message, 'ext_proc http_service in a MERGE into envoy.filters.http.ext_proc, the filter istiod inserts for InferencePool routes, which has a grpc_service');
  t.same(codes(check(merge({}, { value: { typed_config: { '@type': EXTERNAL_PROCESSOR, ...httpService } }, subFilter: 'epp.ext_proc' })), 'deny'), [], 'into a filter the webhook cannot see: not known');

  const timeoutOnly = { typed_config: { '@type': EXTERNAL_PROCESSOR, grpc_service: { timeout: '30s' } } };
  t.same(codes(check(merge({}, { value: timeoutOnly })), 'deny'), [], "a grpc_service with only a timeout keeps istiod's envoy_grpc: no EPP216");
  const noClusterName = { typed_config: { '@type': EXTERNAL_PROCESSOR, grpc_service: { envoy_grpc: { authority: 'epp' } } } };
  t.same(codes(check(merge({}, { value: noClusterName })), 'deny'), [], "nor does envoy_grpc without cluster_name: istiod's stays");
  const googleWithoutTarget = { typed_config: { '@type': EXTERNAL_PROCESSOR, grpc_service: { google_grpc: { stat_prefix: 'epp' } } } };
  t.same(codes(check(merge({}, { value: googleWithoutTarget })), 'deny'), ['EPP216'], 'google_grpc takes the place of envoy_grpc (a oneof): its own fields are what Envoy gets');
});

t.test("EPP223: a MERGE into istiod's filter with a typed_config of another message, on which istiod's merge fails", async (t) => {
  const typedStruct = { typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: EXTERNAL_PROCESSOR, value: { processing_mode: { request_header_mode: 'SEND' } } } };
  const denied = check(merge({}, { value: typedStruct }));
  t.same(codes(denied, 'deny'), ['EPP223']);
  const epp223 = denied.find((f) => f.code === 'EPP223')!;
  t.equal(epp223.path, 'spec.configPatches[0].patch.value.typed_config');
  t.match(epp223.message, 'with a typed_config of type udpa.type.v1.TypedStruct: istiod merges it into its own ExternalProcessor');
  // Measured in test/dataplane/rules.dataplane.test.ts (EPP223-typed-struct-merge).
  t.match(epp223.message, "istiod pushes the gateway's listener without its HTTP filter patches");
  t.match(epp223.message, "Measured on a gateway of one listener: no HTTP_FILTER patch of its connection manager took effect, of EnvoyFilters ordered before this one or after (the filters two of them insert before the router were missing from Envoy's listener), nor this MERGE's own fields, while the later one's LISTENER and NETWORK_FILTER merges held; a gateway of several listeners is not measured");
  t.notMatch(epp223.message, 'had not applied yet', 'not the order of the patches: every HTTP filter patch of the connection manager is left out');
  t.match(epp223.fix, '"@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor');
  t.same(codes(check(merge({}, { value: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } } })), 'deny'), ['EPP223'], "another filter's type too");
  t.notOk(codes(check(merge({ processing_mode: { ...FULL_DUPLEX_NO_TRAILER, request_trailer_mode: 'SEND' } }))).includes('EPP223'), 'a typed ExternalProcessor merges');
  t.notOk(codes(check(merge({}, { value: typedStruct, labels: { istio: 'ingressgateway' } }))).includes('EPP223'), "Istio's classic gateway has no istiod filter to merge into");
  t.notOk(codes(check(merge({}, { value: typedStruct, subFilter: 'envoy.filters.http.router' }))).includes('EPP223'), 'a MERGE into another filter');
});

t.test("several MERGEs into istiod's filter are judged once, on the filter Envoy gets after all of them", async (t) => {
  const twoMerges = (first: Record<string, unknown>, second: Record<string, unknown>) => {
    const object = merge({ processing_mode: first });
    const [patch] = object.spec.configPatches;
    object.spec.configPatches.push({ ...patch, patch: { operation: 'MERGE', value: { typed_config: { '@type': EXTERNAL_PROCESSOR, processing_mode: second } } } });
    return object;
  };
  t.same(codes(check(twoMerges({ request_trailer_mode: 'SEND' }, FULL_DUPLEX_NO_TRAILER)), 'deny'), [], 'the trailer from the first, the body mode from the second: it loads');
  const overridden = check(twoMerges({ ...FULL_DUPLEX_NO_TRAILER, request_trailer_mode: 'SEND' }, { request_trailer_mode: 'SKIP' }));
  t.same(codes(overridden, 'deny'), ['EPP203'], 'a later MERGE that sets the trailer SKIP: Envoy rejects what they leave');
  t.equal(overridden.find((f) => f.code === 'EPP203')!.location, 'configPatches[1]', 'on the last MERGE');
  t.same(codes(check(twoMerges({ request_header_mode: 'SEND', request_body_mode: 'BUFFERED' }, { request_body_mode: 'FULL_DUPLEX_STREAMED', request_trailer_mode: 'SEND' })), 'deny'), [], 'a body mode a later MERGE replaces is not what runs');
});

t.test("EPP305 of a cluster a MERGE into istiod's filter names: istiod's filter fails open, so the bypass leads, as with a fail-open filter of one's own", async (t) => {
  const missing = check(merge({ grpc_service: { envoy_grpc: { cluster_name: 'my-epp' } }, processing_mode: FULL_DUPLEX_NO_TRAILER })).find((f) => f.code === 'EPP305')!;
  t.match(missing.message, /no ext_proc stream opens, and, as failure_mode_allow is true, every request bypasses the ext_proc server, except on routes whose per-route override names a cluster that exists/, "istiod's true, not the MERGE's unset");
});
