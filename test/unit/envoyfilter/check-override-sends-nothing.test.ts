import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import { checkEnvoyFilter } from '../../../src/envoyfilter/check-envoyfilter.ts';
import { eppProcessingMode } from '../../helpers/epp-processing-mode.ts';

const EXAMPLE = readFileSync(new URL('../../../examples/envoyfilter-placeholder.yaml', import.meta.url), 'utf8');
const KNOWN = { names: new Set(['llm-d-inference-scheduler/gaie-inference-scheduling-epp']), clusterIPs: new Set(['10.96.0.9']) };
const EXTERNAL_PROCESSOR = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';

/** The example as stored (ClusterIP filled in), its route override's `overrides` edited. */
function example(edit: (overrides: any, doc: any) => void = () => {}): any {
  const doc = parse(EXAMPLE.replace('EPP_SERVICE_CLUSTER_IP', '10.96.0.9'));
  edit(doc.spec.configPatches[0].patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'].overrides, doc);
  return doc;
}
const withoutMode = (more: (overrides: any, doc: any) => void = () => {}) => example((o, doc) => (delete o.processing_mode, more(o, doc)));
/** An HTTP_FILTER MERGE into istiod's filter with `typedConfig` fields. */
const mergeIntoIstiods = (fields: object) => ({
  applyTo: 'HTTP_FILTER',
  match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.ext_proc' } } } } },
  patch: { operation: 'MERGE', value: { name: 'envoy.filters.http.ext_proc', typed_config: { '@type': EXTERNAL_PROCESSOR, ...fields } } },
});
const epp206 = (object: unknown) => checkEnvoyFilter(object, DEFAULT_CONFIG, KNOWN).filter((f) => f.code === 'EPP206');

t.test("the example's override without its processing_mode: istiod's filter runs at its own mode, which sends nothing: EPP206", async (t) => {
  const [found, ...more] = epp206(withoutMode());
  t.same(more, []);
  t.match(found, { severity: 'warn', location: 'configPatches[0]', path: 'spec.configPatches[0].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"].overrides' });
  t.match(found.message, "replaces istiod's override on the route and names ext_proc cluster epp-cluster, without a processing_mode");
  t.match(found.message, 'whose own mode is headers SKIP and bodies NONE');
  t.match(found.message, 'Measured: 200 on every request from a Pod the EPP did not pick (judged an EPP:');
  t.match(found.fix, 'set processing_mode: {request_header_mode: SEND, request_body_mode: FULL_DUPLEX_STREAMED');
  t.same(epp206(example()), [], 'the example as it is');
  t.equal(epp206(example((o) => (o.processing_mode = null))).length, 1, 'processing_mode: null is unset, as istiod reads JSON');
  t.equal(epp206(withoutMode((o) => (o.grpcService = o.grpc_service, delete o.grpc_service))).length, 1, 'grpcService, as istiod also reads it');
  t.same(epp206(withoutMode((o) => (o.grpc_service.envoy_grpc.cluster_name = ''))), [], 'an empty cluster name names no cluster');
});

t.test('on a route named as an HTTPRoute rule could be (name: models): EPP206, said for where that rule goes to an InferencePool', async (t) => {
  const named = (name: string) => withoutMode((_o, doc) => (doc.spec.configPatches[0].match.routeConfiguration.vhost.route.name = name));
  const [found, ...more] = epp206(named('models'));
  t.same(more, []);
  t.match(found.message, 'names ext_proc cluster epp-cluster, without a processing_mode, on route models, the name istiod gives the route of an HTTPRoute rule with name: models; where that rule goes to an InferencePool, this replaces istiod\'s override on its route, so');
  t.match(found.message, 'sends the EPP nothing');
  t.equal(epp206(named('chat.v1')).length, 1, 'a rule name may hold dots');
  t.same(epp206(named('Models_1')), [], 'not a name a rule can carry (a DNS subdomain): a route no HTTPRoute rule gives');
  t.same(epp206(named('x'.repeat(254))), [], 'nor one longer than a rule name may be');
  t.same(epp206(example((_o, doc) => (doc.spec.configPatches[0].match.routeConfiguration.vhost.route.name = 'models'))), [], 'with its processing_mode: nothing to say');
});

t.test("an override that names neither cluster nor mode (written as if it added to istiod's): istiod's filter keeps its own, sends nothing: EPP206", async (t) => {
  // Measured in test/dataplane/rules.dataplane.test.ts: EPP206-route-override-failure-mode-only (200, the EPP never consulted).
  const failureModeOnly = withoutMode((o) => delete o.grpc_service);
  const [found, ...more] = epp206(failureModeOnly);
  t.same(more, []);
  t.match(found, { severity: 'warn', location: 'configPatches[0]', path: 'spec.configPatches[0].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"].overrides' });
  t.match(found.message, "replaces istiod's override on the route and names neither a grpc_service nor a processing_mode (it takes the place of istiod's whole, it is not merged into it)");
  t.match(found.message, 'sends the EPP nothing and the EPP is never consulted. Measured: 200 on every request from a Pod the EPP did not pick');
  t.match(found.fix, 'set grpc_service: {envoy_grpc: {cluster_name: <EPP cluster>}} and processing_mode: {request_header_mode: SEND, request_body_mode: FULL_DUPLEX_STREAMED');
  t.equal(epp206(example((_o, doc) => (doc.spec.configPatches[0].patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'].overrides = {}))).length, 1, 'overrides: {}');
  const named = withoutMode((o, doc) => (delete o.grpc_service, (doc.spec.configPatches[0].match.routeConfiguration.vhost.route.name = 'models')));
  t.match(epp206(named)[0]?.message, 'names neither a grpc_service nor a processing_mode, on route models, the name istiod gives the route of an HTTPRoute rule with name: models');
  const disabled = example((_o, doc) => (doc.spec.configPatches[0].patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'] = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', disabled: true }));
  t.same(epp206(disabled), [], 'disabled: true turns the filter off on the route by choice');
});

t.test("not where the route's filter gets a mode that sends: a MERGE into istiod's filter sets one, or a filter of the EnvoyFilter's own", async (t) => {
  t.same(epp206(withoutMode((_o, doc) => doc.spec.configPatches.push(mergeIntoIstiods({ processing_mode: eppProcessingMode() })))), [], "a MERGE gives istiod's filter the EPP's mode");
  t.equal(epp206(withoutMode((_o, doc) => doc.spec.configPatches.push(mergeIntoIstiods({ message_timeout: '10s' })))).length, 1, 'a MERGE that sets no mode leaves it sending nothing');
  const ownFilter = {
    applyTo: 'HTTP_FILTER',
    match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } } } },
    patch: { operation: 'INSERT_BEFORE', value: { name: 'envoy.filters.http.ext_proc', typed_config: { '@type': EXTERNAL_PROCESSOR, grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' } }, processing_mode: eppProcessingMode() } } },
  };
  t.same(epp206(withoutMode((_o, doc) => doc.spec.configPatches.push(ownFilter))), [], 'a filter of its own runs at its own mode (EPP230 judges the pair)');
});

t.test('not for what other rules or no EPP speak for', async (t) => {
  t.same(epp206(example((o) => delete o.grpc_service)), [], 'a mode that sends, no cluster named: EPP230 says what istiod does with its own');
  t.same(epp206(withoutMode((_o, doc) => (doc.spec.workloadSelector.labels = { istio: 'ingressgateway' }))), [], 'a classic gateway: no istiod filter there');
  t.same(epp206(withoutMode((_o, doc) => (doc.metadata.annotations = { 'epp-webhook.io/epp': 'false' }))), [], 'judged no EPP');
});
