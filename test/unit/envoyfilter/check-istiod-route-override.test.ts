import t from 'tap';
import { eppProcessingMode } from '../../helpers/epp-processing-mode.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { checkEnvoyFilter } from '../../../src/envoyfilter/check-envoyfilter.ts';
import { formatFinding, type Finding } from '../../../src/findings.ts';

const NS = 'llm-d-inference-scheduler';
const EXT_PROC = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
const PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';
const FULL_DUPLEX = eppProcessingMode();
const ROUTER = { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } };
const TLS = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' } };
const EPP_CLUSTER = {
  name: 'epp-cluster',
  type: 'STATIC',
  http2_protocol_options: {},
  transport_socket: TLS,
  load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.96.0.9', port_value: 9002 } } } }] }] },
};

interface Options {
  selector?: Record<string, string>;
  name?: string;
  context?: string;
  operation?: string;
  cluster?: string;
  /** The subFilter a REPLACE matches (default: the filter's own name); null for none. */
  subFilter?: string | null;
  annotations?: Record<string, string>;
  extra?: object[];
}

/** An EnvoyFilter putting one FULL_DUPLEX ext_proc filter into the gateway's HTTP filters, plus its EPP cluster. */
function envoyFilter({ selector, name = 'envoy.filters.http.ext_proc', context = 'GATEWAY', operation = 'INSERT_BEFORE', cluster = 'epp-cluster', subFilter = name, annotations = { 'epp-webhook.io/epp': 'true' }, extra = [] }: Options = {}) {
  const filter = operation !== 'REPLACE' ? ROUTER : subFilter === null ? { name: ROUTER.name } : { ...ROUTER, subFilter: { name: subFilter } };
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: 'epp-ext-proc', namespace: NS, annotations },
    spec: {
      ...(selector === undefined ? {} : { workloadSelector: { labels: selector } }),
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: { ...(context === '' ? {} : { context }), listener: { filterChain: { filter } } },
          patch: { operation, value: { name, typed_config: { '@type': EXT_PROC, grpc_service: { envoy_grpc: { cluster_name: cluster } }, processing_mode: FULL_DUPLEX } } },
        },
        { applyTo: 'CLUSTER', match: { context: 'GATEWAY' }, patch: { operation: 'ADD', value: EPP_CLUSTER } },
        ...extra,
      ],
    },
  };
}

interface RoutePatchOptions {
  key?: string;
  applyTo?: string;
  operation?: string;
  context?: string;
  /** The route match (default: the InferencePool route); `undefined` given explicitly for none, every route of the virtual host. */
  route?: object;
}

/** An HTTP_ROUTE MERGE on the InferencePool route with `perRoute` under `key`. */
function routePatch(perRoute: object, options: RoutePatchOptions = {}) {
  const { key = 'envoy.filters.http.ext_proc', applyTo = 'HTTP_ROUTE', operation = 'MERGE', context = 'GATEWAY' } = options;
  // Not a parameter default: that would take `route: undefined` for the default route too.
  const route = 'route' in options ? options.route : { name: `${NS}.llm-d-inference-scheduling.0` };
  return {
    applyTo,
    match: { ...(context === '' ? {} : { context }), routeConfiguration: { name: 'http.80', vhost: { name: '*:80', ...(route === undefined ? {} : { route }) } } },
    patch: { operation, value: { typed_per_filter_config: { [key]: { '@type': PER_ROUTE, ...perRoute } } } },
  };
}
/** The same with the ExtProcPerRoute wrapped in a TypedStruct, whose value Envoy converts itself (istiod passes it on). */
function typedStructRoutePatch(perRoute: object) {
  const patch = routePatch({});
  patch.patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'] = { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: PER_ROUTE, value: perRoute } as never;
  return patch;
}
const toCluster = (cluster: string) => ({ overrides: { grpc_service: { envoy_grpc: { cluster_name: cluster } }, processing_mode: FULL_DUPLEX } });

const takeovers = (object: unknown, config = DEFAULT_CONFIG): Finding[] => checkEnvoyFilter(object, config).filter((f) => f.code === 'EPP230');

t.test('a filter named envoy.filters.http.ext_proc on a gateway, without the route override: EPP230 says what istiod does', async (t) => {
  const [found, ...more] = takeovers(envoyFilter());
  t.same(more, [], 'one finding for the one filter');
  t.equal(found.severity, 'warn', 'a warning: the webhook cannot see istiod\'s feature flag nor the gateway\'s routes');
  t.equal(found.location, 'configPatches[0]');
  t.equal(found.path, 'spec.configPatches[0].patch.value.typed_config');
  const text = formatFinding(found);
  t.match(text, '[EPP230] configPatches[0] ext_proc filter envoy.filters.http.ext_proc on a gateway, and no HTTP_ROUTE MERGE in this EnvoyFilter sets typed_per_filter_config["envoy.filters.http.ext_proc"] on the InferencePool routes (every route, or one istiod names <namespace>.<HTTPRoute name>.<rule index>), which would replace istiod\'s override');
  t.match(text, 'where istiod runs with InferencePool support (ENABLE_GATEWAY_API_INFERENCE_EXTENSION, which the webhook cannot see)');
  t.match(text, 'Envoy keys per-route config by filter name, so on those routes this filter calls istiod\'s cluster too and cluster epp-cluster carries nothing');
  t.match(text, '500 on every request');
  t.match(text, 'with a DestinationRule giving it TLS, 200 with the EPP consulted twice per request');
  t.match(text, "route: {name: <namespace>.<HTTPRoute name>.<rule index> (the rule's name where it has one)}");
  t.match(text, 'typed_per_filter_config: {envoy.filters.http.ext_proc: {"@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute, overrides: {grpc_service: {envoy_grpc: {cluster_name: epp-cluster}}');
  t.match(text, 'processing_mode: <this filter\'s>, failure_mode_allow: false}', 'the override replaces istiod\'s failure_mode_allow too: the fix keeps a FailClose pool closed');
  t.match(
    text,
    "without one istiod's filter-level true applies, which with the EPP down let header-only modes bypass it (measured; FULL_DUPLEX_STREAMED got 500 either way)",
    'what the line changes, as test/dataplane/rules.dataplane.test.ts measured it (EPP230-override-* scenarios)',
  );
  t.match(
    text,
    'and lets any mode bypass it where the stream cannot open at all (a cluster Envoy lacks; measured: EPP230-override-without-grpc-service)',
    'FULL_DUPLEX_STREAMED fails open too when the stream cannot open (measured: istiod\'s filter on cluster dummy)',
  );
  t.match(text, 'drop this HTTP_FILTER patch, as examples/envoyfilter-placeholder.yaml does');
  t.match(text, 'if another EnvoyFilter carries the route override, set EPP230 to off');
  t.match(found.message, /\(judged an EPP: annotation epp-webhook\.io\/epp: "true"\)$/);
});

t.test("any route-level ExtProcPerRoute under istiod's key replaces istiod's override whole: no EPP230", async (t) => {
  // istiod merges an HTTP_ROUTE patch by proto merge, which replaces a map entry (pkg/proto/merge mergeMap): istiod's
  // ExtProcPerRoute, with its grpc_service, is gone on the route, whatever the patch's entry holds.
  t.same(takeovers(envoyFilter({ extra: [routePatch(toCluster('epp-cluster'))] })), [], 'grpc_service of the override names epp-cluster');
  const camel = routePatch({ overrides: { grpcService: { envoyGrpc: { clusterName: 'epp-cluster' } } } });
  t.same(takeovers(envoyFilter({ extra: [camel] })), [], 'lowerCamelCase keys, as istiod reads them');
  t.same(takeovers(envoyFilter({ extra: [routePatch({ overrides: { processing_mode: FULL_DUPLEX } })] })), [], 'an override of the mode only: the filter keeps its own grpc_service');
  t.same(takeovers(envoyFilter({ extra: [routePatch(toCluster('another-cluster'))] })), [], 'an override naming another cluster: not istiod\'s');
  t.same(takeovers(envoyFilter({ extra: [routePatch({ disabled: true })] })), [], 'disabled: true is this EnvoyFilter\'s choice, not istiod\'s override');
  t.same(takeovers(envoyFilter({ extra: [routePatch(toCluster('epp-cluster'), { operation: 'MERGE_AND_REPLACE_LIST' })] })), [], 'MERGE_AND_REPLACE_LIST merges too');
  t.same(takeovers(envoyFilter({ extra: [routePatch(toCluster('epp-cluster'), { context: '' })] })), [], 'no context is ANY, which reaches gateways');
  const everyRoute = routePatch({ disabled: true }, { route: undefined });
  t.same(everyRoute.match.routeConfiguration.vhost, { name: '*:80' }, 'the patch has no route match');
  t.same(takeovers(envoyFilter({ extra: [everyRoute] })), [], "no route match: every route of the virtual host, the InferencePool's included (rc_patch.go routeMatch)");
  t.same(takeovers(envoyFilter({ extra: [routePatch({ disabled: true }, { route: { name: 'ns.my.route.v2.3', action: 'ROUTE' } })] })), [], 'an HTTPRoute name may hold dots');
});

t.test("an override under istiod's key that turns its filter on without a grpc_service and forbids failing open: EPP230 says istiod's filter fails closed on its own missing cluster", async (t) => {
  // istiod's filter is left with its own grpc_service, cluster dummy, which Envoy lacks (measured in
  // test/dataplane/rules.dataplane.test.ts: EPP230-override-without-grpc-service-fail-closed, 500 on every request).
  const failClosed = routePatch({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: false } });
  const [found, ...more] = takeovers(envoyFilter({ extra: [failClosed] }));
  t.same(more, []);
  t.equal(found.severity, 'warn', "a warning: the webhook cannot see istiod's feature flag nor the gateway's routes");
  t.equal(found.location, 'configPatches[0]', 'on the filter, which the caller judges to talk to an EPP');
  const text = formatFinding(found);
  t.match(text, 'ext_proc filter envoy.filters.http.ext_proc on a gateway, and the HTTP_ROUTE MERGE at configPatches[2] sets typed_per_filter_config["envoy.filters.http.ext_proc"] with a processing_mode and failure_mode_allow: false but no grpc_service');
  t.match(text, "istiod's filter calls its own grpc_service, a cluster named dummy that Envoy does not have, and may not fail open");
  t.match(text, "Measured with this filter inserted before the router: 500 on every request, no request reaches the EPP for a pick (it gets only the 500's response headers)");
  t.match(found.fix, 'overrides: {grpc_service: {envoy_grpc: {cluster_name: epp-cluster}}, ...}, and drop this HTTP_FILTER patch');
  t.match(found.fix, 'or take failure_mode_allow: false out of it');
  t.notMatch(text, 'no HTTP_ROUTE MERGE', 'not the text for a missing override');

  const camel = routePatch({ overrides: { processingMode: FULL_DUPLEX, failureModeAllow: false } });
  t.equal(takeovers(envoyFilter({ extra: [camel] })).length, 1, 'lowerCamelCase keys, as istiod reads them');
  const [other] = takeovers(envoyFilter({ name: 'epp.ext_proc', extra: [failClosed] }));
  t.match(other?.fix, "make that override disabled: true, which turns istiod's filter off on the route", 'another name: turn istiod\'s filter off');

  const silent = (perRoute: object, options: Options = {}) => takeovers(envoyFilter({ ...options, extra: [routePatch(perRoute)] }));
  t.same(silent({ overrides: { processing_mode: FULL_DUPLEX } }), [], 'failure_mode_allow left to istiod\'s filter (true): it fails open on its missing cluster and this filter does the work (measured: 200, the EPP once per request)');
  t.same(silent({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: true } }), [], 'failure_mode_allow: true: the same');
  t.same(silent({ overrides: { ...toCluster('epp-cluster').overrides, failure_mode_allow: false } }), [], 'with a grpc_service: the fix itself');
  t.same(silent({ overrides: { failure_mode_allow: false } }), [], "no processing_mode: istiod's filter keeps its own, which sends nothing, so it never calls its cluster");
  const nothing = { request_header_mode: 'SKIP', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE' };
  t.same(silent({ overrides: { processing_mode: nothing, failure_mode_allow: false } }), [], 'a processing_mode that sends nothing opens no stream');
  t.same(silent({ disabled: true }), [], "disabled alone: istiod's filter is off on the route");
  const camelWithCluster = { overrides: { grpcService: { envoyGrpc: { clusterName: 'epp-cluster' } }, processingMode: FULL_DUPLEX, failureModeAllow: false } };
  t.same(silent(camelWithCluster), [], 'a lowerCamelCase grpcService names the cluster too, as istiod reads it');
  t.same(silent({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: false } }, { operation: 'REPLACE' }), [], "a REPLACE swapped istiod's filter out: the override applies to this one, with its own cluster");
  t.same(
    silent({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: false } }, { operation: 'REPLACE', name: 'epp.ext_proc', subFilter: 'envoy.filters.http.ext_proc' }),
    [],
    "a REPLACE of istiod's filter by one of another name: istiod's filter is gone, and the override keyed by its name applies to no filter",
  );

  // disabled and overrides are one oneof: istiod's jsonpb decodes fields in declaration order, so overrides (2) is set
  // after disabled (1) and wins, whichever comes first in the YAML (asked of istiod's own code: test/oracle/ext-proc-per-route-oneof.test.ts).
  const both = { disabled: true, overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: false } };
  t.equal(silent(both).length, 1, 'disabled beside overrides: istiod keeps the overrides, disabled is dropped');
  t.equal(silent({ overrides: both.overrides, disabled: true }).length, 1, 'in either order');

  // A TypedStruct's value is converted by Envoy, not by istiod: Envoy reads "false" as false and enum names in any case.
  const typedStruct = (perRoute: object) => takeovers(envoyFilter({ extra: [typedStructRoutePatch(perRoute)] }));
  t.equal(typedStruct({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: false } }).length, 1, 'in a TypedStruct: the same warning');
  t.equal(typedStruct({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: 'false' } }).length, 1, 'failure_mode_allow "false", which Envoy reads as false');
  const lowercaseNothing = { request_header_mode: 'skip', response_header_mode: 'skip', request_body_mode: 'none', response_body_mode: 'none', request_trailer_mode: 'skip', response_trailer_mode: 'skip' };
  t.same(typedStruct({ overrides: { processing_mode: lowercaseNothing, failure_mode_allow: false } }), [], 'lowercase skip and none, which Envoy reads as SKIP and NONE: nothing sent, no stream');
  t.same(typedStruct({ overrides: { processing_mode: FULL_DUPLEX } }), [], 'in a TypedStruct without failure_mode_allow: istiod\'s override replaced, nothing to warn');
  t.same(typedStruct(both), [], 'disabled beside overrides in a TypedStruct: Envoy refuses the route, no 500 to warn about');
});

/** An EnvoyFilter carrying only route patches (and the EPP cluster), no ext_proc filter of its own. */
function overrideOnly(...routes: object[]) {
  const object = envoyFilter({ extra: routes, annotations: {} });
  object.spec.configPatches.shift();
  return object;
}

t.test("only the route override, no ext_proc filter of the EnvoyFilter's own, and no grpc_service in it: istiod's filter alone, on its missing cluster", async (t) => {
  // Measured in test/dataplane/rules.dataplane.test.ts: EPP230-override-only-without-grpc-service (200, the EPP
  // bypassed) and EPP230-override-only-without-grpc-service-fail-closed (500).
  const [open, ...more] = takeovers(overrideOnly(routePatch({ overrides: { processing_mode: FULL_DUPLEX } })));
  t.same(more, []);
  t.equal(open.severity, 'warn');
  t.equal(open.location, 'configPatches[1]', 'on the route patch: there is no filter of its own to point at');
  t.equal(open.path, 'spec.configPatches[1].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"]');
  t.match(open.message, 'typed_per_filter_config["envoy.filters.http.ext_proc"] turns istiod\'s filter on (a processing_mode that sends something) but names no grpc_service and this EnvoyFilter puts in no ext_proc filter of its own');
  t.match(open.message, "a cluster named dummy that Envoy does not have, and fails open there (istiod's filter-level failure_mode_allow: true). Measured: 200 on every request from a Pod the EPP did not pick: the EPP is bypassed");
  t.match(open.message, /\(judged an EPP only on a hint: per-route config of envoy\.filters\.http\.ext_proc, the filter istiod inserts for InferencePool routes; annotate/, 'judged an EPP without an annotation: the key is istiod\'s filter');
  t.match(open.fix, 'name the EPP cluster in the override, overrides: {grpc_service: {envoy_grpc: {cluster_name: <EPP cluster>}}, ...}');
  t.match(open.fix, 'if another EnvoyFilter puts in a envoy.filters.http.ext_proc filter of its own that names the EPP cluster (this override then turns it on), set EPP230 to off');

  const [closed] = takeovers(overrideOnly(routePatch({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: false } })));
  t.match(closed?.message, 'but names no grpc_service, with failure_mode_allow: false, and this EnvoyFilter puts in no ext_proc filter of its own');
  t.match(closed?.message, 'and may not fail open. Measured: 500 on every request, the EPP picks none');
  t.notMatch(closed?.fix, 'set EPP230 to off', "another EnvoyFilter's filter does not save it: istiod's filter still fails closed first");

  t.equal(takeovers(overrideOnly(routePatch({ overrides: { processing_mode: FULL_DUPLEX } }), routePatch({ overrides: { processing_mode: FULL_DUPLEX } }, { route: { name: `${NS}.other.0` } }))).length, 2, 'one per route patch');
  t.equal(takeovers(overrideOnly(typedStructRoutePatch({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: 'false' } })))[0]?.message.includes('may not fail open'), true, 'a TypedStruct, read as Envoy reads it');

  const silent = (perRoute: object) => takeovers(overrideOnly(routePatch(perRoute)));
  t.same(silent(toCluster('epp-cluster')), [], 'the example: the override names the EPP cluster');
  t.same(silent({ overrides: { grpcService: { envoyGrpc: { clusterName: 'epp-cluster' } }, processingMode: FULL_DUPLEX } }), [], 'lowerCamelCase grpcService');
  t.same(silent({ disabled: true }), [], "disabled: istiod's filter is off on the route, by choice");
  const nothing = { request_header_mode: 'SKIP', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE', request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP' };
  t.same(silent({ overrides: { processing_mode: nothing } }), [], 'a processing_mode that sends nothing opens no stream');
  const merged = envoyFilter({ operation: 'MERGE', extra: [routePatch({ overrides: { processing_mode: FULL_DUPLEX } })] });
  t.same(takeovers(merged), [], "a MERGE into istiod's filter (here with a grpc_service) is an ext_proc config of this EnvoyFilter's: not override-only");
  t.same(takeovers(overrideOnly(routePatch({ overrides: { processing_mode: FULL_DUPLEX } }, { key: 'epp.ext_proc' }))), [], "an override under another key leaves istiod's alone");
});

/** An HTTP_FILTER MERGE into istiod's InferencePool filter (subFilter envoy.filters.http.ext_proc) writing `typedConfig`. */
function mergeIntoIstiodsFilter(typedConfig: object, options: { subFilter?: string } = {}) {
  return {
    applyTo: 'HTTP_FILTER',
    match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: ROUTER.name, subFilter: { name: options.subFilter ?? 'envoy.filters.http.ext_proc' } } } } },
    patch: { operation: 'MERGE', value: { name: 'envoy.filters.http.ext_proc', typed_config: typedConfig } },
  };
}

t.test("a MERGE into istiod's filter that names no grpc_service, beside the route override without one: istiod's filter stays on its missing cluster", async (t) => {
  // Measured in test/dataplane/rules.dataplane.test.ts: EPP230-merge-override-without-grpc-service (200, the EPP
  // bypassed), EPP230-merge-override-without-grpc-service-fail-closed (500); with grpc_service in the override
  // (EPP230-merge-override-with-grpc-service) or in the MERGE (EPP230-merge-grpc-service-override-without): 200, the EPP once.
  const processing = { '@type': EXT_PROC, message_timeout: '10s', processing_mode: FULL_DUPLEX };
  const [open, ...more] = takeovers(overrideOnly(mergeIntoIstiodsFilter(processing), routePatch({ overrides: { processing_mode: FULL_DUPLEX } })));
  t.same(more, [], 'one finding');
  t.equal(open?.location, 'configPatches[2]', 'on the route patch');
  t.equal(open?.path, 'spec.configPatches[2].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"]');
  t.match(open?.message, "but names no grpc_service and this EnvoyFilter puts in no ext_proc filter of its own; the HTTP_FILTER MERGE at configPatches[1] into istiod's filter names none either (no envoy_grpc cluster_name, no google_grpc), so that filter keeps istiod's grpc_service");
  t.match(open?.message, 'Measured, with and without such a MERGE: 200 on every request from a Pod the EPP did not pick: the EPP is bypassed');
  t.match(open?.fix, 'name the EPP cluster in the override, overrides: {grpc_service: {envoy_grpc: {cluster_name: <EPP cluster>}}, ...}');
  t.match(open?.fix, 'or in the HTTP_FILTER MERGE at configPatches[1]: grpc_service: {envoy_grpc: {cluster_name: <EPP cluster>}} (measured: 200, the EPP consulted once per request)');

  const [closed] = takeovers(overrideOnly(mergeIntoIstiodsFilter(processing), routePatch({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: false } })));
  t.match(closed?.message, 'and may not fail open. Measured, with and without such a MERGE: 500 on every request, the EPP picks none');

  const beside = (merge: object, perRoute: object = { overrides: { processing_mode: FULL_DUPLEX } }) => takeovers(overrideOnly(mergeIntoIstiodsFilter(merge), routePatch(perRoute)));
  t.equal(beside({ ...processing, grpc_service: { timeout: '30s' } }).length, 1, "a grpc_service with only a timeout keeps istiod's envoy_grpc, cluster dummy");
  t.equal(beside({ ...processing, grpcService: { envoyGrpc: { authority: 'epp' } } }).length, 1, 'nor does envoy_grpc without cluster_name (lowerCamelCase)');
  t.equal(beside({ '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: EXT_PROC, value: { grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' } } } }).length, 1, "a TypedStruct's merge fails (EPP223): istiod's filter is left as it was");
  t.same(beside({ ...processing, grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' } } }), [], "the MERGE names the EPP cluster: istiod's filter calls it");
  t.same(beside({ ...processing, grpcService: { envoyGrpc: { clusterName: 'epp-cluster' } } }), [], 'lowerCamelCase');
  t.same(beside({ ...processing, grpc_service: { google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' } } }), [], "google_grpc takes envoy_grpc's place (a oneof)");
  t.same(beside(processing, toCluster('epp-cluster')), [], 'the override names the EPP cluster');
  t.same(takeovers(overrideOnly(mergeIntoIstiodsFilter(processing, { subFilter: 'epp.ext_proc' }), routePatch({ overrides: { processing_mode: FULL_DUPLEX } }))), [], "a MERGE into another EnvoyFilter's filter, which the webhook cannot see: not judged");

  // A TypedStruct MERGE naming the cluster is lost to istiod's failing merge: said so, and no fix points into it.
  const [typedStruct] = beside({ '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: EXT_PROC, value: { grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' } } } });
  t.match(typedStruct?.message, "the HTTP_FILTER MERGE at configPatches[1] into istiod's filter is a TypedStruct, which istiod's merge fails on (EPP223), so that filter keeps istiod's grpc_service");
  t.notMatch(typedStruct?.message, 'names none either', 'it may name one: it is lost whatever it names');
  t.notMatch(typedStruct?.fix, 'or in the HTTP_FILTER MERGE', 'naming the cluster in it changes nothing');
  // A MERGE with no typed_config has nowhere to put a grpc_service but a typed_config.
  const nameOnly = overrideOnly(mergeIntoIstiodsFilter({}), routePatch({ overrides: { processing_mode: FULL_DUPLEX } }));
  delete (nameOnly.spec.configPatches[0] as any).patch.value.typed_config;
  t.match(takeovers(nameOnly)[0]?.fix, `or in the HTTP_FILTER MERGE at configPatches[1]: typed_config: {"@type": ${EXT_PROC}, grpc_service: {envoy_grpc: {cluster_name: <EPP cluster>}}}`);

  // A MERGE that names the cluster but reaches only sidecars is no filter of this EnvoyFilter's on the gateway.
  const sidecarMerge = mergeIntoIstiodsFilter({ ...processing, grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' } } });
  sidecarMerge.match.context = 'SIDECAR_OUTBOUND';
  const withSidecar = overrideOnly(mergeIntoIstiodsFilter(processing), sidecarMerge, routePatch({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: false } }));
  t.match(takeovers(withSidecar)[0]?.message, 'and may not fail open', "the sidecar MERGE leaves the gateway's istiod filter on its missing cluster");
});

/** A VIRTUAL_HOST MERGE with `perRoute` under `key`. */
const virtualHostPatch = (perRoute: object, options: { key?: string; context?: string; operation?: string } = {}) => routePatch(perRoute, { ...options, applyTo: 'VIRTUAL_HOST', route: undefined });
const MODE_ONLY_FAIL_CLOSED = { overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: false } };

t.test("a VIRTUAL_HOST override under istiod's key that turns its filter on without a grpc_service and forbids failing open: EPP230 says the gateway's other routes get 500", async (t) => {
  // Measured in test/dataplane/rules.dataplane.test.ts (EPP230-virtual-host-override-*): 500 on a route of the gateway
  // to a plain Service, 200 on the InferencePool route, which keeps its own override.
  const [alone, ...more] = takeovers(overrideOnly(virtualHostPatch(MODE_ONLY_FAIL_CLOSED)));
  t.same(more, [], 'one finding');
  t.equal(alone.severity, 'warn', "a warning: the webhook cannot see istiod's feature flag nor the gateway's routes");
  t.equal(alone.location, 'configPatches[1]', 'on the VIRTUAL_HOST patch');
  t.equal(alone.path, 'spec.configPatches[1].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"]');
  t.match(alone.message, 'typed_per_filter_config["envoy.filters.http.ext_proc"] on a virtual host turns istiod\'s filter on (a processing_mode that sends something) with failure_mode_allow: false but names no grpc_service');
  t.match(alone.message, "istiod sets its override on the InferencePool routes only, so on the gateway's other routes this entry is the only one: istiod's filter calls its own grpc_service, a cluster named dummy that Envoy does not have, and may not fail open");
  t.match(alone.message, 'Measured: 500 on every request to a route of the gateway that does not go to an InferencePool (with or without an ext_proc filter of this EnvoyFilter\'s own); the InferencePool route, with its own override, answered 200 as before');
  t.match(alone.message, /\(judged an EPP only on a hint: per-route config of envoy\.filters\.http\.ext_proc, the filter istiod inserts for InferencePool routes/);
  t.match(alone.fix, 'set the override per InferencePool route instead, {applyTo: HTTP_ROUTE, match: {context: GATEWAY, routeConfiguration: {vhost: {route: {name: <namespace>.<HTTPRoute name>.<rule index> (the rule\'s name where it has one)}}}}');
  t.match(alone.fix, 'overrides: {grpc_service: {envoy_grpc: {cluster_name: <EPP cluster>}}, processing_mode: <this entry\'s>, failure_mode_allow: false}');
  t.match(alone.fix, "or take failure_mode_allow: false out of this entry: istiod's filter then fails open on those routes (measured: 200, the EPP not consulted there)");

  // The example's route override beside it (EPP230-virtual-host-override-fail-closed): the pool route is already set.
  const [beside] = takeovers(overrideOnly(routePatch(toCluster('epp-cluster')), virtualHostPatch(MODE_ONLY_FAIL_CLOSED)));
  t.equal(beside?.location, 'configPatches[2]');
  t.match(beside?.fix, 'drop this VIRTUAL_HOST patch: the HTTP_ROUTE MERGE at configPatches[1] already sets the override on the InferencePool route');

  // With an ext_proc filter of this EnvoyFilter's own (EPP230-virtual-host-override-beside-filter-fail-closed).
  const withFilter = takeovers(envoyFilter({ extra: [routePatch(toCluster('epp-cluster')), virtualHostPatch(MODE_ONLY_FAIL_CLOSED)] }));
  t.same(withFilter.map((f) => f.location), ['configPatches[3]'], 'the filter with its route override is fine; the virtual host entry is not');
  const noRouteOverride = takeovers(envoyFilter({ extra: [virtualHostPatch(MODE_ONLY_FAIL_CLOSED)] }));
  t.same(noRouteOverride.map((f) => f.location).sort(), ['configPatches[0]', 'configPatches[2]'], 'two problems: istiod\'s override takes over the filter on the pool route, the virtual host entry breaks the other routes');
  t.equal(takeovers(envoyFilter({ name: 'epp.ext_proc', extra: [routePatch({ disabled: true }), virtualHostPatch(MODE_ONLY_FAIL_CLOSED)] })).length, 1, "beside a filter of another name istiod's filter still runs first on the other routes");

  t.equal(takeovers(overrideOnly(virtualHostPatch({ overrides: { processingMode: FULL_DUPLEX, failureModeAllow: false } }))).length, 1, 'lowerCamelCase keys, as istiod reads them');
  t.equal(takeovers(overrideOnly(virtualHostPatch(MODE_ONLY_FAIL_CLOSED, { operation: 'MERGE_AND_REPLACE_LIST' }))).length, 1, 'MERGE_AND_REPLACE_LIST merges too');
  t.equal(takeovers(overrideOnly(virtualHostPatch(MODE_ONLY_FAIL_CLOSED, { context: '' }))).length, 1, 'no context is ANY, which reaches gateways');
  const typedStruct = virtualHostPatch({});
  typedStruct.patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'] = { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: PER_ROUTE, value: { overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: 'false' } } } as never;
  t.equal(takeovers(overrideOnly(typedStruct)).length, 1, 'in a TypedStruct, read as Envoy reads it ("false" is false)');

  const silent = (...patches: object[]) => takeovers(overrideOnly(...patches));
  t.same(silent(virtualHostPatch({ overrides: { processing_mode: FULL_DUPLEX } })), [], "failure_mode_allow left to istiod's filter (true): it fails open on those routes (measured: 200, the EPP not consulted there)");
  t.same(silent(virtualHostPatch({ overrides: { processing_mode: FULL_DUPLEX, failure_mode_allow: true } })), [], 'failure_mode_allow: true: the same');
  const named = silent(virtualHostPatch({ overrides: { ...toCluster('epp-cluster').overrides, failure_mode_allow: false } }));
  t.same(named.map((f) => f.message.includes('dummy')), [false], "with a grpc_service: istiod's filter calls that cluster, not dummy (what the entry does instead is the next test's)");
  const nothing = { request_header_mode: 'SKIP', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE', request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP' };
  t.same(silent(virtualHostPatch({ overrides: { processing_mode: nothing, failure_mode_allow: false } })), [], 'a processing_mode that sends nothing opens no stream');
  t.same(silent(virtualHostPatch({ overrides: { failure_mode_allow: false } })), [], "no processing_mode: istiod's filter keeps its own, which sends nothing");
  t.same(silent(virtualHostPatch({ disabled: true })), [], "disabled: istiod's filter off on the virtual host");
  t.same(silent(virtualHostPatch(MODE_ONLY_FAIL_CLOSED, { key: 'epp.ext_proc' })), [], "another key leaves istiod's filter alone");
  t.same(silent(virtualHostPatch(MODE_ONLY_FAIL_CLOSED, { context: 'SIDECAR_OUTBOUND' })), [], 'a sidecar virtual host is not the gateway\'s');
  t.same(silent(virtualHostPatch(MODE_ONLY_FAIL_CLOSED, { operation: 'ADD' })), [], 'an ADD puts in a virtual host of its own, with routes of its own: not judged');
  t.same(silent(routePatch(toCluster('epp-cluster'), { route: undefined }), virtualHostPatch(MODE_ONLY_FAIL_CLOSED)), [], 'an HTTP_ROUTE override on every route is more specific than the virtual host\'s everywhere: not judged');
  t.same(takeovers(envoyFilter({ operation: 'REPLACE', extra: [routePatch(toCluster('epp-cluster')), virtualHostPatch(MODE_ONLY_FAIL_CLOSED)] })), [], "a REPLACE swapped istiod's filter out: no istiod filter for the entry to turn on");
  const classic = overrideOnly(virtualHostPatch(MODE_ONLY_FAIL_CLOSED));
  (classic.spec as any).workloadSelector = { labels: { istio: 'ingressgateway' } };
  t.same(takeovers(classic), [], 'a classic gateway, where istiod inserts no ext_proc filter');
});

t.test("the example's route override written as a VIRTUAL_HOST MERGE naming the EPP cluster: EPP230 says it never reaches the InferencePool routes", async (t) => {
  // Measured in test/dataplane/rules.dataplane.test.ts (EPP230-virtual-host-epp-cluster-*): on the InferencePool route
  // istiod's own route override holds (500 with istiod's plaintext cluster, 200 through it with a TLS DestinationRule),
  // epp-cluster carries nothing there; on a route to a plain Service the entry calls epp-cluster, 200.
  const EXAMPLE_ENTRY = { overrides: { ...toCluster('epp-cluster').overrides, failure_mode_allow: false } };
  const [found, ...more] = takeovers(overrideOnly(virtualHostPatch(EXAMPLE_ENTRY)));
  t.same(more, [], 'one finding');
  t.equal(found?.severity, 'warn', "a warning: the webhook cannot see istiod's feature flag nor the gateway's routes");
  t.equal(found?.location, 'configPatches[1]', 'on the VIRTUAL_HOST patch');
  t.equal(found?.path, 'spec.configPatches[1].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"]');
  t.match(found?.message, 'typed_per_filter_config["envoy.filters.http.ext_proc"] on a virtual host names cluster epp-cluster, and no HTTP_ROUTE MERGE in this EnvoyFilter sets it on a route');
  t.match(found?.message, "Envoy takes a route's per-filter config over its virtual host's, so on the InferencePool routes this entry never applies and epp-cluster carries nothing for them");
  t.match(found?.message, "Measured: 500 on every request to the InferencePool route (istiod's cluster is plaintext, the EPP serves TLS), or, with a DestinationRule giving it TLS, 200 with the EPP consulted through istiod's cluster");
  t.match(found?.message, "on the gateway's other routes, which istiod gives no override, this entry turns istiod's filter on, calling epp-cluster (measured on a route to a plain Service: 200, the EPP consulted once per request)");
  t.match(found?.fix, "set the override per InferencePool route instead, {applyTo: HTTP_ROUTE, match: {context: GATEWAY, routeConfiguration: {vhost: {route: {name: <namespace>.<HTTPRoute name>.<rule index> (the rule's name where it has one)}}}}");
  t.match(found?.fix, "overrides: {grpc_service: {envoy_grpc: {cluster_name: epp-cluster}}, processing_mode: <this entry's>, failure_mode_allow: false}");
  t.match(found?.fix, 'as examples/envoyfilter-placeholder.yaml does, and drop this VIRTUAL_HOST patch unless the gateway\'s other routes are to call the EPP too');

  const noMode = takeovers(overrideOnly(virtualHostPatch({ overrides: { grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' } } } })));
  t.equal(noMode.length, 1, 'a grpc_service alone: the InferencePool routes are as unreached');
  t.notMatch(noMode[0]?.message, "turns istiod's filter on", "no processing_mode: istiod's filter keeps its own, which sends nothing, on the other routes");
  t.match(noMode[0]?.fix, 'processing_mode: {request_header_mode: SEND, request_body_mode: FULL_DUPLEX_STREAMED, request_trailer_mode: SEND, response_body_mode: FULL_DUPLEX_STREAMED, response_trailer_mode: SEND}', "no mode of the entry's to copy: the EPP's written out");
  t.equal(takeovers(overrideOnly(virtualHostPatch(EXAMPLE_ENTRY, { context: '' }))).length, 1, 'no context is ANY, which reaches gateways');
  t.equal(takeovers(overrideOnly(virtualHostPatch(EXAMPLE_ENTRY, { operation: 'MERGE_AND_REPLACE_LIST' }))).length, 1, 'MERGE_AND_REPLACE_LIST merges too');

  const silent = (...patches: object[]) => takeovers(overrideOnly(...patches));
  t.same(silent(routePatch(toCluster('epp-cluster')), virtualHostPatch(EXAMPLE_ENTRY)), [], 'beside the HTTP_ROUTE override of the example: the virtual host entry is for the other routes');
  t.same(silent(routePatch(toCluster('epp-cluster'), { route: { name: 'models' } }), virtualHostPatch(EXAMPLE_ENTRY)), [], 'beside an HTTP_ROUTE override on a named rule\'s route: the same');
  t.same(silent(virtualHostPatch(EXAMPLE_ENTRY, { key: 'epp.ext_proc' })), [], "another key is not istiod's filter's");
  t.same(silent(virtualHostPatch(EXAMPLE_ENTRY, { context: 'SIDECAR_OUTBOUND' })), [], "a sidecar virtual host is not the gateway's");
  t.same(silent(virtualHostPatch({ disabled: true })), [], 'disabled names no cluster');
  const classic = overrideOnly(virtualHostPatch(EXAMPLE_ENTRY));
  (classic.spec as any).workloadSelector = { labels: { istio: 'ingressgateway' } };
  t.same(takeovers(classic), [], 'a classic gateway, where istiod inserts no ext_proc filter');
  // With a filter of its own, the takeover of that filter is the warning (on the HTTP_FILTER patch), not this one.
  t.same(takeovers(envoyFilter({ extra: [virtualHostPatch(EXAMPLE_ENTRY)] })).map((f) => f.location), ['configPatches[0]'], 'beside a filter of its own: the takeover warning only');
});

t.test('what is not the route override: EPP230 stays', async (t) => {
  t.equal(takeovers(envoyFilter({ extra: [routePatch(toCluster('epp-cluster'), { key: 'epp.ext_proc' })] })).length, 1, 'an override under another key leaves istiod\'s in place');
  t.equal(takeovers(envoyFilter({ extra: [routePatch(toCluster('epp-cluster'), { applyTo: 'VIRTUAL_HOST' })] })).length, 1, 'a virtual host override: istiod\'s route-level one wins');
  t.equal(takeovers(envoyFilter({ extra: [routePatch(toCluster('epp-cluster'), { operation: 'ADD' })] })).length, 1, 'an HTTP_ROUTE ADD puts in a new route, it does not change istiod\'s');
  t.equal(takeovers(envoyFilter({ extra: [routePatch(toCluster('epp-cluster'), { context: 'SIDECAR_OUTBOUND' })] })).length, 1, 'a sidecar route is not the gateway\'s');
  t.equal(takeovers(envoyFilter({ extra: [routePatch({ disabled: true }, { route: { name: 'health' } })] })).length, 1, 'a route name istiod gives no Gateway API rule');
  t.equal(takeovers(envoyFilter({ extra: [routePatch({ disabled: true }, { route: { action: 'DIRECT_RESPONSE' } })] })).length, 1, 'an InferencePool route forwards: a DIRECT_RESPONSE match is not it');
});

t.test("an override on a route named like a Gateway API rule's name: EPP230 stays, and says that a rule so named would be it", async (t) => {
  // istiod names a named rule's route after the rule (conversion.go convertHTTPRoute); a name without the
  // <namespace>.<route>.<index> shape is more often a VirtualService route's, so the warning stays, saying so.
  const [named] = takeovers(envoyFilter({ extra: [routePatch(toCluster('epp-cluster'), { route: { name: 'models' } })] }));
  t.ok(named, 'EPP230');
  t.match(formatFinding(named), "The HTTP_ROUTE MERGE at configPatches[2] names route models: istiod gives a Gateway API route that name only where the HTTPRoute rule has name: models; if that rule goes to the InferencePool, that MERGE is its override and this does not apply (set EPP230 to off)");
  const [health] = takeovers(envoyFilter({ extra: [routePatch({ disabled: true }, { route: { name: 'health' } })] }));
  t.notMatch(health.message, 'names route health', 'a route whose ext_proc is turned off is not an InferencePool override: no such note');
  const [vs] = takeovers(envoyFilter({ extra: [routePatch(toCluster('epp-cluster'), { route: { name: 'Models_Route' } })] }));
  t.notMatch(vs.message, 'names route', 'a name no HTTPRoute rule may have: no such note');
});

t.test('a filter of another name runs after istiod\'s: the fix turns istiod\'s filter off on the route', async (t) => {
  const [found] = takeovers(envoyFilter({ name: 'epp.ext_proc' }));
  t.ok(found, 'EPP230 for epp.ext_proc too');
  const text = formatFinding(found);
  t.match(text, 'ext_proc filter epp.ext_proc on a gateway, and no HTTP_ROUTE MERGE in this EnvoyFilter sets typed_per_filter_config["envoy.filters.http.ext_proc"] on the InferencePool routes');
  t.match(text, 'if another EnvoyFilter carries the route override, set EPP230 to off');
  t.match(text, "on those routes that filter runs as well as this one, calling istiod's cluster");
  t.match(text, 'Measured with this filter inserted before the router (after istiod\'s)');
  t.match(text, "no request reached the EPP through cluster epp-cluster for a pick (it got only the 500's response headers)");
  t.match(text, 'typed_per_filter_config: {envoy.filters.http.ext_proc: {"@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute, disabled: true}}');
  t.notMatch(text, 'twice');
  t.same(takeovers(envoyFilter({ name: 'epp.ext_proc', extra: [routePatch({ disabled: true })] })), [], "istiod's filter turned off on the route");
  t.same(takeovers(envoyFilter({ name: 'epp.ext_proc', extra: [routePatch(toCluster('epp-cluster'))] })), [], "istiod's filter pointed at this EPP cluster");
  t.equal(takeovers(envoyFilter({ name: 'epp.ext_proc', extra: [routePatch({ disabled: true }, { key: 'epp.ext_proc' })] })).length, 1, 'turning this filter off is no fix');
  // Measured: EPP230-other-name-istiod-filter-config-disabled (200, the EPP once per request, through this cluster).
  const FILTER_CONFIG = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
  t.same(takeovers(envoyFilter({ name: 'epp.ext_proc', extra: [routePatch({ '@type': FILTER_CONFIG, disabled: true })] })), [], "a route FilterConfig with disabled: true turns istiod's filter off as well");
  t.equal(takeovers(envoyFilter({ name: 'epp.ext_proc', extra: [routePatch({ '@type': FILTER_CONFIG, disabled: true }, { key: 'envoy.filters.http.cors' })] })).length, 1, "one under another filter's name is not about istiod's");
});

t.test('a REPLACE of istiod\'s filter swaps it: no second filter, so no "twice"', async (t) => {
  const [found] = takeovers(envoyFilter({ operation: 'REPLACE' }));
  t.match(found.message, "this filter calls istiod's cluster instead and cluster epp-cluster carries nothing");
  t.notMatch(found.message, 'twice');
  t.notMatch(found.fix, 'drop this HTTP_FILTER patch');
  t.match(found.fix, 'failure_mode_allow: false');
  t.same(takeovers(envoyFilter({ operation: 'REPLACE', extra: [routePatch(toCluster('epp-cluster'))] })), []);
  t.same(takeovers(envoyFilter({ operation: 'REPLACE', extra: [routePatch({ overrides: { processing_mode: FULL_DUPLEX } })] })), [], 'an override without grpc_service: the one filter keeps its own cluster');
  t.same(
    takeovers(envoyFilter({ operation: 'REPLACE', name: 'epp.ext_proc', subFilter: 'envoy.filters.http.ext_proc' })),
    [],
    "istiod's filter swapped for one of another name: istiod's override, keyed envoy.filters.http.ext_proc, applies to no filter",
  );
  const [beside] = takeovers(envoyFilter({ operation: 'REPLACE', subFilter: 'envoy.filters.http.cors' }));
  t.match(beside?.message, "this filter calls istiod's cluster too", "a REPLACE of another filter leaves istiod's in place: this one runs beside it");
  t.same(takeovers(envoyFilter({ operation: 'REPLACE', subFilter: null })), [], 'a REPLACE without subFilter matches no filter: istiod skips it, nothing is put in');
});

t.test('only filters this EnvoyFilter puts into a gateway\'s HTTP filters, judged to talk to an EPP', async (t) => {
  t.equal(takeovers(envoyFilter({ context: '' })).length, 1, 'no context is ANY, which reaches gateways');
  t.equal(takeovers(envoyFilter({ context: 'ANY' })).length, 1);
  t.same(takeovers(envoyFilter({ context: 'SIDECAR_INBOUND' })), [], 'istiod inserts its filter on gateways only');
  t.same(takeovers(envoyFilter({ context: 'SIDECAR_OUTBOUND' })), []);
  t.same(takeovers(envoyFilter({ operation: 'MERGE' })), [], 'a MERGE changes a filter, it puts none in');
  t.same(takeovers(envoyFilter({ operation: 'MERGE_AND_REPLACE_LIST' })), [], 'nor does MERGE_AND_REPLACE_LIST');
  t.same(takeovers(envoyFilter({ operation: 'INSERT_FIRST_OF_ALL' })), [], 'an operation istiod does not know puts none in');
  for (const operation of ['ADD', 'INSERT_FIRST', 'INSERT_AFTER', 'INSERT_BEFORE']) t.equal(takeovers(envoyFilter({ operation })).length, 1, `${operation} puts a filter in`);
  t.same(takeovers(envoyFilter({ annotations: { 'epp-webhook.io/epp': 'false' } })), [], 'not an EPP: not its business');
  const waf = envoyFilter({ annotations: {}, cluster: 'waf_cluster', extra: [{ applyTo: 'CLUSTER', patch: { operation: 'ADD', value: { ...EPP_CLUSTER, name: 'waf_cluster', load_assignment: { cluster_name: 'waf_cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'waf.security.svc.cluster.local', port_value: 443 } } } }] }] }, type: 'STRICT_DNS' } } }] });
  t.same(takeovers(waf), [], "another team's ext_proc server");
  const hinted = takeovers(envoyFilter({ annotations: {} }));
  t.equal(hinted.length, 1, 'epp-cluster at an IP on port 9002: judged an EPP on a hint');
  t.match(hinted[0].message, 'judged an EPP only on a hint');
});

t.test("istiod's filter goes only to a Gateway API gateway's Pods: not to the classic `istio: ingressgateway`", async (t) => {
  t.equal(takeovers(envoyFilter({ selector: { 'gateway.networking.k8s.io/gateway-name': 'inference-gateway' } })).length, 1);
  t.equal(takeovers(envoyFilter({ selector: { app: 'my-gateway' } })).length, 1, 'a label a Gateway may carry (its infrastructure labels)');
  t.same(takeovers(envoyFilter({ selector: { istio: 'ingressgateway' } })), [], "Istio's Gateway Pods carry no istio label: a classic gateway, where istiod inserts no ext_proc filter");
  t.equal(takeovers(envoyFilter({ selector: { istio: 'ingressgateway', 'gateway.networking.k8s.io/gateway-name': 'g' } })).length, 1);
});

t.test('where the pool cache knows InferencePools in the namespace, the message names their EPP Service', async (t) => {
  const known = { names: new Set(['llm-d-inference-scheduler/gaie-inference-scheduling-epp', 'elsewhere/other-epp']), clusterIPs: new Set<string>() };
  const [found] = checkEnvoyFilter(envoyFilter(), DEFAULT_CONFIG, known).filter((f) => f.code === 'EPP230');
  t.match(found.message, 'has an HTTPRoute to an InferencePool (this namespace has InferencePools, whose EPP Service is llm-d-inference-scheduler/gaie-inference-scheduling-epp), istiod inserts');
  t.notMatch(found.message, 'elsewhere/other-epp', 'only pools of this namespace');
  t.notMatch(takeovers(envoyFilter())[0].message, 'this namespace has InferencePools', 'nothing claimed where nothing is known');
  const two = { names: new Set(['llm-d-inference-scheduler/b-epp', 'llm-d-inference-scheduler/a-epp']), clusterIPs: new Set<string>() };
  const [both] = checkEnvoyFilter(envoyFilter(), DEFAULT_CONFIG, two).filter((f) => f.code === 'EPP230');
  t.match(both.message, 'whose EPP Services are llm-d-inference-scheduler/a-epp, llm-d-inference-scheduler/b-epp)');
});

t.test('severity is configurable: off, or deny', async (t) => {
  t.equal(takeovers(envoyFilter(), parseConfig({ severities: { EPP230: 'off' } }))[0].severity, 'off');
  t.equal(takeovers(envoyFilter(), parseConfig({ severities: { EPP230: 'deny' } }))[0].severity, 'deny');
});

t.test("EPP230's route patch for a TypedStruct filter spells its processing_mode by name: the override is typed, and istiod refuses lower-case names there (EPP201)", async (t) => {
  const typed = {
    '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
    type_url: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
    value: { grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' } }, processing_mode: { request_header_mode: 'send', request_body_mode: 'full_duplex_streamed', request_trailer_mode: '1' } },
  };
  const object = {
    metadata: { name: 'f', namespace: 'llm-d-inference-scheduler' },
    spec: {
      workloadSelector: { labels: { 'gateway.networking.k8s.io/gateway-name': 'inference-gateway' } },
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } } } },
          patch: { operation: 'INSERT_BEFORE', value: { name: 'envoy.filters.http.ext_proc', typed_config: typed } },
        },
      ],
    },
  };
  const fix = checkEnvoyFilter(object, DEFAULT_CONFIG).find((f) => f.code === 'EPP230')?.fix;
  t.match(fix, 'processing_mode: {request_header_mode: SEND, request_body_mode: FULL_DUPLEX_STREAMED, request_trailer_mode: SEND}, failure_mode_allow: false}');
});
