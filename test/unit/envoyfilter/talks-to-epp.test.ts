import t from 'tap';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { checkEnvoyFilter } from '../../../src/envoyfilter/check-envoyfilter.ts';
import { judgeEnvoyFilter, type EppServices } from '../../../src/envoyfilter/talks-to-epp.ts';
import type { Finding } from '../../../src/findings.ts';

const EXT_PROC = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
const PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';
const ROUTER = { listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } } } };
/** What a WAF or API-security server asks for, and what the EPP would break on: whole bodies, fail-open. */
const WAF_MODE = { processing_mode: { request_header_mode: 'SEND', request_body_mode: 'BUFFERED', response_body_mode: 'BUFFERED' }, failure_mode_allow: true };
const codes = (findings: Finding[], severity?: string) =>
  findings.filter((f) => severity === undefined || f.severity === severity).map((f) => f.code).sort();

/** A plaintext HTTP/2 cluster at `address`. */
function cluster(name: string, address: string, port = 8000) {
  return {
    name,
    type: 'STRICT_DNS',
    http2_protocol_options: {},
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } } }] }] },
  };
}

/** An EnvoyFilter inserting one ext_proc filter that calls `clusterName`, plus `extra` patches. */
function envoyFilter(clusterName: string, { annotations, extra = [], typedConfig = WAF_MODE }: { annotations?: Record<string, string>; extra?: object[]; typedConfig?: object } = {}) {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: 'f', namespace: 'team-a', ...(annotations ? { annotations } : {}) },
    spec: {
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: ROUTER,
          patch: { operation: 'INSERT_BEFORE', value: { name: 'envoy.filters.http.ext_proc', typed_config: { '@type': EXT_PROC, grpc_service: { envoy_grpc: { cluster_name: clusterName } }, ...typedConfig } } },
        },
        ...extra,
      ],
    },
  };
}

const addCluster = (value: object) => ({ applyTo: 'CLUSTER', patch: { operation: 'ADD', value } });
const judge = (object: unknown, known?: EppServices, config = DEFAULT_CONFIG) => judgeEnvoyFilter(object, config, known);

t.test("another team's ext_proc server is judged no EPP, and only what Envoy and Istio enforce applies to it", async (t) => {
  const waf = envoyFilter('waf_cluster', { extra: [addCluster(cluster('waf_cluster', 'waf.security.svc.cluster.local', 443))] });
  t.match(judge(waf), [{ talksToEpp: false, evidence: 'none', location: 'configPatches[0]', path: 'spec.configPatches[0].patch.value.typed_config' }]);
  t.same(checkEnvoyFilter(waf, DEFAULT_CONFIG), [], 'BUFFERED bodies, fail-open and plaintext are its business');

  const brokenForEnvoy = envoyFilter('waf_cluster', {
    extra: [addCluster(cluster('waf_cluster', 'waf.security.svc.cluster.local'))],
    typedConfig: { processing_mode: { request_body_mode: 'FULL_DUPLEX_STREAMED', request_trailer_mode: 'SKIP', response_header_mode: 'SKIPPED' } },
  });
  t.same(codes(checkEnvoyFilter(brokenForEnvoy, DEFAULT_CONFIG)), ['EPP201', 'EPP203'], 'what Envoy refuses is refused for any server');
  // Measured (test/dataplane/measured-symptoms.json EPP305-cluster-nowhere, -fail-open): what the client gets follows
  // failure_mode_allow, so a placeholder cluster that route overrides replace (llm-d's activator) is not said to fail.
  const nowhere = checkEnvoyFilter(envoyFilter('nowhere'), DEFAULT_CONFIG)[0];
  t.match(nowhere, { code: 'EPP305', message: /no ext_proc stream opens, and, as failure_mode_allow is true, every request bypasses the ext_proc server, except on routes whose per-route override names a cluster that exists$/ }, 'EPP305 for any server');
  t.match(nowhere.fix, /; if nowhere is a placeholder that per-route overrides replace, set EPP305 to off$/);
  const failClosed = checkEnvoyFilter(envoyFilter('nowhere', { typedConfig: { ...WAF_MODE, failure_mode_allow: false } }), DEFAULT_CONFIG)[0];
  t.match(failClosed, { code: 'EPP305', message: /no ext_proc stream opens, and every request gets 500 \(with failure_mode_allow: true, bypasses the ext_proc server\)$/ });
  t.notMatch(failClosed.fix, 'placeholder');
});

t.test('the annotation epp-webhook.io/epp settles it either way', async (t) => {
  const yes = envoyFilter('waf_cluster', { annotations: { 'epp-webhook.io/epp': 'true' }, extra: [addCluster(cluster('waf_cluster', 'waf.security.svc.cluster.local'))] });
  t.match(judge(yes), [{ talksToEpp: true, evidence: 'annotation', reason: 'annotation epp-webhook.io/epp: "true"' }]);
  t.same(codes(checkEnvoyFilter(yes, DEFAULT_CONFIG), 'deny'), ['EPP202'], 'the BUFFERED request body');
  t.same(codes(checkEnvoyFilter(yes, DEFAULT_CONFIG), 'warn'), ['EPP205', 'EPP220', 'EPP230', 'EPP306', 'EPP322'], 'the BUFFERED response body holds a streamed completion back');
  for (const f of checkEnvoyFilter(yes, DEFAULT_CONFIG)) t.match(f.message, /\(judged an EPP: annotation epp-webhook\.io\/epp: "true"\)$/, `${f.code} says why`);

  const no = envoyFilter('outbound|9002||gaie-inference-scheduling-epp.team-a.svc.cluster.local', { annotations: { 'epp-webhook.io/epp': 'false' } });
  t.match(judge(no), [{ talksToEpp: false, evidence: 'annotation' }]);
  t.same(checkEnvoyFilter(no, DEFAULT_CONFIG), [], 'even the configured EPP Service is not judged as one when the owner says so');
});

t.test('a malformed epp-webhook.io/epp is its own denial; the other evidence still decides', async (t) => {
  for (const value of ['yes', 'True', '']) {
    const object = envoyFilter('outbound|9002||gaie-inference-scheduling-epp.team-a.svc.cluster.local', { annotations: { 'epp-webhook.io/epp': value } });
    const findings = checkEnvoyFilter(object, DEFAULT_CONFIG);
    const malformed = findings.find((f) => f.code === 'EPP208')!;
    t.equal(malformed.severity, 'deny', value);
    t.equal(malformed.path, 'metadata.annotations["epp-webhook.io/epp"]');
    t.match(malformed.message, `epp-webhook.io/epp ${JSON.stringify(value)}: not "true" or "false"`);
    t.ok(findings.some((f) => f.code === 'EPP202'), 'still judged an EPP by its cluster');
  }
});

t.test('"false" on an EnvoyFilter that gets the EPP ClusterIP warns (EPP209)', async (t) => {
  const object = envoyFilter('c', {
    annotations: { 'epp-webhook.io/epp': 'false' },
    extra: [addCluster({ ...cluster('c', 'EPP_SERVICE_CLUSTER_IP', 9002), type: 'STATIC' })],
  });
  t.same(codes(checkEnvoyFilter(object, DEFAULT_CONFIG)), ['EPP106', 'EPP209']);
});

t.test('the placeholder, or an epp-webhook.io annotation, marks an object written for this webhook', async (t) => {
  const withToken = envoyFilter('c', { extra: [addCluster({ ...cluster('c', 'EPP_SERVICE_CLUSTER_IP', 9002), type: 'STATIC' })] });
  t.match(judge(withToken), [{ talksToEpp: true, evidence: 'epp-webhook', reason: 'placeholder EPP_SERVICE_CLUSTER_IP' }]);
  const custom = parseConfig({ placeholder: 'MY_EPP_IP' });
  const withCustom = envoyFilter('c', { extra: [addCluster({ ...cluster('c', 'MY_EPP_IP', 9002), type: 'STATIC' })] });
  t.match(judgeEnvoyFilter(withCustom, custom), [{ evidence: 'epp-webhook', reason: 'placeholder MY_EPP_IP' }]);

  const named = envoyFilter('c', { annotations: { 'epp-webhook.io/epp-service': 'pool-epp' }, extra: [addCluster(cluster('c', '10.0.0.1'))] });
  t.match(judge(named), [{ talksToEpp: true, evidence: 'epp-webhook', reason: 'annotation epp-webhook.io/epp-service' }]);
  const resolved = envoyFilter('c', {
    annotations: { 'epp-webhook.io/resolved-service': 'team-a/pool-epp', 'epp-webhook.io/resolved-cluster-ip': '10.0.0.1' },
    extra: [addCluster(cluster('c', '10.0.0.1'))],
  });
  t.match(judge(resolved), [{ evidence: 'epp-webhook', reason: "EPP_SERVICE_CLUSTER_IP filled in with EPP Service team-a/pool-epp's ClusterIP" }]);
});

t.test("a cluster defined here that reaches an EPP Service: its ClusterIP or its DNS name", async (t) => {
  const byIP = envoyFilter('c', { extra: [addCluster({ ...cluster('c', '10.96.7.7'), type: 'STATIC' })] });
  t.match(judge(byIP), [{ talksToEpp: false }], 'an IP nobody knows');
  t.match(judge(byIP, { names: new Set(), clusterIPs: new Set(['10.96.7.7']) }), [
    { talksToEpp: true, evidence: 'epp-service', reason: "cluster c connects to 10.96.7.7, an EPP Service's ClusterIP" },
  ]);

  const byName = envoyFilter('c', { extra: [addCluster(cluster('c', 'gaie-inference-scheduling-epp.team-a.svc.cluster.local'))] });
  t.match(judge(byName), [{ talksToEpp: true, evidence: 'epp-service', reason: 'cluster c connects to EPP Service team-a/gaie-inference-scheduling-epp' }]);
  const elsewhere = parseConfig({ eppService: { name: 'gaie-inference-scheduling-epp', namespace: 'inference' } });
  t.match(judgeEnvoyFilter(byName, elsewhere), [{ evidence: 'name-hint' }], 'a configured namespace must match; the name is still a hint');
});

t.test("Istio's outbound cluster of an EPP Service: the configured one, or one an InferencePool names", async (t) => {
  const configured = envoyFilter('outbound|9002||gaie-inference-scheduling-epp.llm-d.svc.cluster.local');
  t.match(judge(configured), [{ talksToEpp: true, evidence: 'epp-service', reason: "cluster outbound|9002||gaie-inference-scheduling-epp.llm-d.svc.cluster.local is Istio's cluster of EPP Service llm-d/gaie-inference-scheduling-epp" }]);
  t.same(codes(checkEnvoyFilter(configured, DEFAULT_CONFIG), 'deny'), ['EPP202']);

  const pool = envoyFilter('outbound|9002||qwen-picker.models.svc.cluster.local');
  t.match(judge(pool), [{ talksToEpp: false }]);
  t.match(judge(pool, { names: new Set(['models/qwen-picker']), clusterIPs: new Set() }), [{ talksToEpp: true, evidence: 'epp-service' }]);
  t.match(judge(pool, { names: new Set(['other/qwen-picker']), clusterIPs: new Set() }), [{ talksToEpp: false }], 'namespace and name both count');
});

t.test('a MERGE into the ext_proc filter istiod inserts for InferencePool routes talks to an EPP', async (t) => {
  const merge = {
    metadata: { name: 'fix', namespace: 'gw' },
    spec: {
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: { listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.ext_proc' } } } } },
          patch: { operation: 'MERGE', value: { typed_config: { '@type': EXT_PROC, processing_mode: { request_body_mode: 'STREAMED' } } } },
        },
      ],
    },
  };
  t.match(judge(merge), [{ talksToEpp: true, evidence: 'inferencepool-filter' }]);
  // Most ext_proc filters are named envoy.filters.http.ext_proc (39 of the 49 wild ones), so the name is a hint.
  const mergeFindings = checkEnvoyFilter(merge, DEFAULT_CONFIG);
  t.same(codes(mergeFindings, 'deny'), [], 'no denial on a filter name alone');
  t.same(codes(mergeFindings, 'warn'), ['EPP202']);
  t.match(mergeFindings[0].message, 'annotate epp-webhook.io/epp: "true" to confirm');
  const confirmed = { ...merge, metadata: { ...merge.metadata, annotations: { 'epp-webhook.io/epp': 'true' } } };
  t.same(codes(checkEnvoyFilter(confirmed, DEFAULT_CONFIG), 'deny'), ['EPP202'], 'the annotation confirms it');

  const perRoute = {
    metadata: { name: 'fix', namespace: 'gw' },
    spec: {
      configPatches: [
        {
          applyTo: 'HTTP_ROUTE',
          patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': PER_ROUTE, overrides: { processing_mode: { request_body_mode: 'BUFFERED' } } } } } },
        },
      ],
    },
  };
  t.match(judge(perRoute), [{ talksToEpp: true, evidence: 'inferencepool-filter', reason: /^per-route config of envoy\.filters\.http\.ext_proc/ }]);

  const otherFilter = structuredClone(perRoute);
  const configs = otherFilter.spec.configPatches[0].patch.value.typed_per_filter_config as Record<string, unknown>;
  configs['envoy.filters.http.ext_proc.waf'] = configs['envoy.filters.http.ext_proc'];
  delete configs['envoy.filters.http.ext_proc'];
  t.match(judge(otherFilter), [{ talksToEpp: false }], 'a filter of another name is not istiod\'s');
});

t.test("a per-route config without its own service is judged as the filter it configures here", async (t) => {
  const route = { applyTo: 'HTTP_ROUTE', patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': PER_ROUTE, overrides: { processing_mode: { request_body_mode: 'STREAMED' } } } } } } };
  const waf = envoyFilter('waf_cluster', { extra: [addCluster(cluster('waf_cluster', 'waf.security.svc.cluster.local')), route] });
  t.match(judge(waf), [{ talksToEpp: false }, { talksToEpp: false }]);
  t.same(checkEnvoyFilter(waf, DEFAULT_CONFIG), []);
  const epp = envoyFilter('outbound|9002||gaie-inference-scheduling-epp.team-a.svc.cluster.local', { extra: [route] });
  t.match(judge(epp), [{ evidence: 'epp-service' }, { evidence: 'epp-service' }]);
});

t.test('a name or a port alone is a hint: EPP rules warn at most and say how to settle it', async (t) => {
  // Each note names what looked like an EPP's (neuralmagic's epp cluster is on port 9080: its name alone).
  for (const [name, extra, why] of [
    ['outbound|9002||llama-3-2-1b-epp-service.llm-d.svc.cluster.local', [], "its Service's name, llama-3-2-1b-epp-service"],
    ['outbound|9080||endpoint-picker.ns.svc.cluster.local', [], "its Service's name, endpoint-picker"],
    ['outbound|9002||10.1.2.3', [], 'its port 9002'],
    ['picker', [addCluster({ ...cluster('picker', '10.100.95.99', 9002), type: 'STATIC' })], "its endpoint's port 9002"],
    ['my_epp', [addCluster(cluster('my_epp', 'backend.example.com'))], 'its name'],
    ['epp', [addCluster(cluster('epp', 'epp.llm-d.svc.cluster.local', 9080))], 'its name'],
    ['upstream', [addCluster(cluster('upstream', 'qwen-epp.llm-d.svc.cluster.local', 9080))], "its Service's name, qwen-epp"],
  ] as const) {
    t.match(judge(envoyFilter(name, { extra: [...extra] })), [{ talksToEpp: true, evidence: 'name-hint', reason: `cluster ${name} looks like an EPP's (${why})` }], name);
    const findings = checkEnvoyFilter(envoyFilter(name, { extra: [...extra] }), DEFAULT_CONFIG);
    t.same(codes(findings, 'deny'), [], `${name}: no denial on a guess`);
    const buffered = findings.find((f) => f.code === 'EPP202')!;
    t.equal(buffered.severity, 'warn');
    t.match(buffered.message, /judged an EPP only on a hint: .*; annotate epp-webhook\.io\/epp: "true" to confirm, "false" if it is not one/);
  }
  t.same(codes(checkEnvoyFilter(envoyFilter('outbound|9002||x-epp.ns.svc.cluster.local'), parseConfig({ severities: { EPP202: 'off' } })), 'warn'), ['EPP205', 'EPP220', 'EPP230'], 'off stays off');

  for (const name of ['outbound|9002||granite-3-8b-activator.default.svc.cluster.local', 'outbound|50051||sleepy.ns.svc.cluster.local', 'deeper-cluster']) {
    t.match(judge(envoyFilter(name)), [{ talksToEpp: false }], `${name}: a Service named otherwise is not an EPP, whatever its port`);
  }
});

t.test("the placeholder proves the cluster it is in: another team's ext_proc in the same EnvoyFilter is judged by its own cluster", async (t) => {
  // One EnvoyFilter for a gateway: the EPP (its cluster gets the ClusterIP) and a WAF (BUFFERED, fail-open, its own cluster).
  const wafFilter = {
    applyTo: 'HTTP_FILTER',
    match: ROUTER,
    patch: { operation: 'INSERT_BEFORE', value: { name: 'waf.ext_proc', typed_config: { '@type': EXT_PROC, grpc_service: { envoy_grpc: { cluster_name: 'waf_cluster' } }, ...WAF_MODE } } },
  };
  const wafRoute = { applyTo: 'HTTP_ROUTE', patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'waf.ext_proc': { '@type': PER_ROUTE, overrides: { processing_mode: { request_body_mode: 'STREAMED' } } } } } } };
  const eppMode = { processing_mode: { request_header_mode: 'SEND', request_body_mode: 'FULL_DUPLEX_STREAMED', request_trailer_mode: 'SEND', response_header_mode: 'SEND', response_body_mode: 'FULL_DUPLEX_STREAMED', response_trailer_mode: 'SEND' } };
  const eppCluster = (address: string) => ({ ...cluster('epp', address, 9002), type: 'STATIC', circuit_breakers: { thresholds: [{ max_requests: 4294967295 }] }, transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' } } });
  const wafCluster = addCluster(cluster('waf_cluster', 'waf.security.svc.cluster.local', 443));

  const written = envoyFilter('epp', { typedConfig: eppMode, extra: [addCluster(eppCluster('EPP_SERVICE_CLUSTER_IP')), wafFilter, wafCluster, wafRoute] });
  t.match(judge(written), [{ talksToEpp: true, evidence: 'epp-webhook' }, { talksToEpp: false }, { talksToEpp: false }]);
  t.same(codes(checkEnvoyFilter(written, DEFAULT_CONFIG)), ['EPP106', 'EPP230'], 'only the token the mutating webhook fills in, and istiod\'s override of the EPP filter');

  // As the validating webhook sees it: the token filled in, the annotations the mutating webhook adds.
  const stored = envoyFilter('epp', {
    typedConfig: eppMode,
    annotations: { 'epp-webhook.io/resolved-service': 'team-a/gaie-inference-scheduling-epp', 'epp-webhook.io/resolved-cluster-ip': '10.96.0.10' },
    extra: [addCluster(eppCluster('10.96.0.10')), wafFilter, wafCluster, wafRoute],
  });
  t.match(judge(stored), [{ talksToEpp: true, evidence: 'epp-webhook' }, { talksToEpp: false }, { talksToEpp: false }]);
  t.same(
    checkEnvoyFilter(stored, DEFAULT_CONFIG).map((f) => [f.code, f.location]),
    [['EPP230', 'configPatches[0]']],
    "the WAF keeps its BUFFERED bodies and fail-open; only the EPP filter is told about istiod's InferencePool override",
  );

  const eppBuffered = structuredClone(stored);
  ((eppBuffered.spec.configPatches[0] as { patch: { value: { typed_config: unknown } } }).patch.value.typed_config as { processing_mode: Record<string, string> }).processing_mode.request_body_mode = 'BUFFERED';
  t.same(codes(checkEnvoyFilter(eppBuffered, DEFAULT_CONFIG), 'deny'), ['EPP202'], 'the EPP one is still held to what the EPP speaks');
});

t.test("a WAF beside the EPP that calls Istio's cluster of its own Service is judged by that cluster, as one defined here is", async (t) => {
  const wafFilter = (clusterName: string) => ({
    applyTo: 'HTTP_FILTER',
    match: ROUTER,
    patch: { operation: 'INSERT_BEFORE', value: { name: 'waf.ext_proc', typed_config: { '@type': EXT_PROC, grpc_service: { envoy_grpc: { cluster_name: clusterName } }, ...WAF_MODE } } },
  });
  const eppMode = { processing_mode: { request_header_mode: 'SEND', request_body_mode: 'FULL_DUPLEX_STREAMED', request_trailer_mode: 'SEND', response_header_mode: 'SEND', response_body_mode: 'FULL_DUPLEX_STREAMED', response_trailer_mode: 'SEND' } };
  const eppCluster = { ...cluster('epp', 'EPP_SERVICE_CLUSTER_IP', 9002), type: 'STATIC' };
  const written = (wafCluster: string) => envoyFilter('epp', { typedConfig: eppMode, extra: [addCluster(eppCluster), wafFilter(wafCluster)] });

  const waf = written('outbound|9000||waf.security.svc.cluster.local');
  t.match(judge(waf), [{ talksToEpp: true, evidence: 'epp-webhook' }, { talksToEpp: false, evidence: 'none', reason: 'cluster outbound|9000||waf.security.svc.cluster.local is no EPP Service' }]);
  t.same(codes(checkEnvoyFilter(waf, DEFAULT_CONFIG), 'deny'), ['EPP106'], "the WAF's BUFFERED bodies and fail-open are its business");

  const eppOutbound = written('outbound|9002||gaie-inference-scheduling-epp.team-a.svc.cluster.local');
  t.match(judge(eppOutbound)[1], { talksToEpp: true, evidence: 'epp-service' }, "Istio's cluster of the EPP Service is still the EPP");
  t.ok(codes(checkEnvoyFilter(eppOutbound, DEFAULT_CONFIG), 'deny').includes('EPP202'), 'and held to what the EPP speaks');

  const unknown = written('cluster-from-another-envoyfilter');
  t.match(judge(unknown)[1], { talksToEpp: true, evidence: 'epp-webhook' }, 'a cluster nothing here describes keeps the judgement of the object written for the webhook');
});

t.test('EPP305 of a cluster only a per-route override names: no fail-open lead, whatever the override says', async (t) => {
  const filter = envoyFilter('epp-cluster', { extra: [addCluster(cluster('epp-cluster', 'epp.team-a.svc.cluster.local', 9002))] });
  filter.spec.configPatches.push({
    applyTo: 'HTTP_ROUTE',
    match: { context: 'GATEWAY' },
    patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': PER_ROUTE, overrides: { grpc_service: { envoy_grpc: { cluster_name: 'nowhere' } }, failure_mode_allow: true } } } } },
  } as any);
  const missing = checkEnvoyFilter(filter, DEFAULT_CONFIG).find((f) => f.code === 'EPP305')!;
  t.match(missing.message, /^ext_proc cluster nowhere is not defined in this EnvoyFilter: .*every request gets 500 \(with failure_mode_allow: true, bypasses the ext_proc server\)$/, 'what a route whose override names a missing cluster gets is not measured: the plain text');
  t.notMatch(missing.fix, 'placeholder');
});
