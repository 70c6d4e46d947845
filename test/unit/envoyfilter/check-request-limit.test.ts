import t from 'tap';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { checkEnvoyFilter } from '../../../src/envoyfilter/check-envoyfilter.ts';
import { substituteClusterIP } from '../../../src/envoyfilter/substitute-cluster-ip.ts';
import { fixtureResolver, manifest } from '../../helpers/fixtures.ts';

// What Envoy does at the limit (500s, failing open or not) and its default of 1,024 are measured by
// test/dataplane (EPP322, EPP322-fail-open, EPP322-default); istiod's 2^32-1 on its own EPP cluster there too.
const NS = 'llm-d-inference-scheduler';
const CLUSTER = 'spec.configPatches[1].patch.value';

/** The working fixture (its cluster at istiod's limit) with its cluster's circuit_breakers replaced, or removed. */
async function judge(breakers: unknown, edit: (doc: any) => void = () => {}, config = DEFAULT_CONFIG) {
  const doc = manifest('full-duplex-envoyfilter.yaml');
  const cluster = doc.spec.configPatches[1].patch.value;
  if (breakers === undefined) delete cluster.circuit_breakers;
  else cluster.circuit_breakers = breakers;
  edit(doc);
  const substituted = (await substituteClusterIP(doc, NS, fixtureResolver(), DEFAULT_CONFIG)).object;
  return checkEnvoyFilter(substituted, config).filter((f) => f.code === 'EPP322');
}

t.test("an EPP cluster without circuit_breakers: EPP322, naming Envoy's default and what breaks past it", async (t) => {
  const [f] = await judge(undefined);
  t.equal(f.severity, 'warn');
  t.equal(f.path, CLUSTER);
  t.match(f.message, "cluster epp-cluster leaves circuit_breakers max_requests at Envoy's default of 1,024: each request through the gateway holds one ext_proc stream");
  t.match(f.message, 'and Envoy refuses the streams past that limit, so with more than 1,024 requests in flight on one gateway Pod the next ones get 500 at once, even with failure_mode_allow: true');
  t.equal(f.fix, 'add circuit_breakers: {thresholds: [{max_requests: 4294967295, max_pending_requests: 4294967295}]}; 4294967295 is what istiod gives its own clusters, and max_pending_requests bounds the requests that wait while Envoy connects to the EPP (1,024 by default too): bound the load at the gateway or the model servers instead');
  t.equal((await judge(null))[0].path, CLUSTER, 'null is unset');
  const [empty] = await judge({});
  t.equal(empty.path, `${CLUSTER}.circuit_breakers`, 'no thresholds');
  t.match(empty.fix, /^add thresholds: \[\{max_requests: 4294967295, max_pending_requests: 4294967295\}\] to circuit_breakers; 4294967295 is what istiod/);
  const [high] = await judge({ thresholds: [{ priority: 'HIGH', max_requests: 100000 }] });
  t.equal(high.path, `${CLUSTER}.circuit_breakers.thresholds`, 'a HIGH entry leaves the DEFAULT priority, where ext_proc streams run, at its default');
  t.match(high.fix, /^add the entry \{max_requests: 4294967295, max_pending_requests: 4294967295\} to thresholds \(an entry without priority is the DEFAULT one, where ext_proc streams run\); 4294967295 is what istiod/);
  const [other] = await judge({ thresholds: [{ max_connections: 100000 }] });
  t.equal(other.path, `${CLUSTER}.circuit_breakers.thresholds[0]`, 'a DEFAULT entry without max_requests: pointed at');
  t.match(other.fix, /^set max_requests: 4294967295 and max_pending_requests: 4294967295 in this thresholds entry; /);
});

t.test('the limit is read where Envoy reads it: the first DEFAULT entry', async (t) => {
  t.same(await judge({ thresholds: [{ max_requests: 4294967295 }] }), [], "istiod's own limit");
  t.same(await judge({ thresholds: [{ max_requests: 1025 }] }), [], 'anything above the default is taken as sized by the operator');
  t.same(await judge({ thresholds: [{ max_requests: '5000' }] }), [], 'as a string, as istiod reads a UInt32Value');
  t.match((await judge({ thresholds: [{ max_requests: ' 100 ' }] }))[0].message, 'sets circuit_breakers max_requests to 100:', 'spaces around the digits, as istiod reads them');
  t.match((await judge({ thresholds: [{ max_requests: 1 }] }))[0].message, 'with more than 1 request in flight');
  t.match((await judge({ thresholds: [{ max_requests: 0 }] }))[0].message, 'refuses the streams past that limit, so every request gets 500 at once, even with failure_mode_allow: true', 'a limit of 0');
  t.same(await judge({ thresholds: [{ priority: 0, maxRequests: 5000 }] }), [], 'the priority as a number, the field in lowerCamelCase');
  const [set] = await judge({ thresholds: [{ priority: 'DEFAULT', max_requests: 100 }, { max_requests: 100000 }] });
  t.match(set.message, 'cluster epp-cluster sets circuit_breakers max_requests to 100:', 'the first DEFAULT entry wins (Envoy reads no other)');
  t.match(set.message, 'with more than 100 requests in flight');
  t.equal(set.path, `${CLUSTER}.circuit_breakers.thresholds[0]`);
  t.match(set.fix, /^set max_requests: 4294967295 and max_pending_requests: 4294967295 in this thresholds entry; /);
  t.match((await judge({ thresholds: [null, { max_requests: 100000 }] }))[0].message, "Envoy's default of 1,024", 'null is an empty entry to istiod: DEFAULT, nothing set');
});

t.test('fixes name the keys istiod reads', async (t) => {
  const [both] = await judge({ thresholds: [{ max_requests: 5000, maxRequests: 100 }] });
  t.match(both.message, 'sets circuit_breakers max_requests to 100:', 'istiod reads the lowerCamelCase one');
  t.match(both.fix, /^set maxRequests: 4294967295 and max_pending_requests: 4294967295 in this thresholds entry; /);
  const [camelNull] = await judge({ thresholds: [{ maxRequests: null, max_requests: 5000 }] });
  t.match(camelNull.fix, /^set maxRequests: /, 'null in the key istiod reads: unset');
  const [beside] = await judge({ thresholds: [{ max_requests: 5000 }] }, (doc) => (doc.spec.configPatches[1].patch.value.circuitBreakers = null));
  t.match(beside.fix, /^add circuitBreakers: \{thresholds: /);
});

t.test('no EPP322 where another rule speaks, or for a cluster that is no EPP', async (t) => {
  t.same(await judge([]), [], 'circuit_breakers as a list is EPP310 (istiod refuses it)');
  t.same(await judge({ thresholds: {} }), [], 'thresholds as an object too');
  t.same(await judge({ thresholds: [{ max_requests: 'many' }] }), [], 'a value istiod cannot read');
  t.same(await judge({ thresholds: [{ max_requests: -5 }] }), [], 'a negative number: EPP310');
  t.same(await judge({ thresholds: [{ max_requests: '0100' }] }), [], 'a leading zero, which istiod refuses: EPP310');
  t.same(await judge({ thresholds: [5] }), [], 'an entry that is no object: EPP310');
  t.same(await judge({ thresholds: [{ max_request: 4294967295 }] }), [], 'a misspelt max_requests: EPP321 names it, and its rename is the fix');
  t.same(await judge({ threshold: [{ max_requests: 4294967295 }] }), [], 'a misspelt thresholds');
  t.same(await judge(undefined, (doc) => (doc.spec.configPatches[1].patch.value.circuit_breaker = { thresholds: [{ max_requests: 4294967295 }] })), [], 'a misspelt circuit_breakers');
  t.same(await judge({ thresholds: [{ priorty: 'HIGH', max_requests: 100 }] }), [], 'a misspelt priority: renamed, the entry is HIGH and the DEFAULT one still to write');
  const typoOff = parseConfig({ severities: { EPP321: 'off' } });
  t.equal((await judge({ thresholds: [{ max_request: 4294967295 }] }, () => {}, typoOff)).length, 1, 'with EPP321 off, the limit left unset is named here');
  t.same(await judge({ thresholds: [{ priority: 'default', max_requests: 10 }] }), [], 'a priority istiod refuses (EPP310): which entry Envoy would read is unknown');
  const notEpp = await judge(undefined, (doc) => {
    doc.metadata.annotations = { 'epp-webhook.io/epp': 'false' };
    doc.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = '10.0.0.1';
  });
  t.same(notEpp, [], 'an ext_proc server that is not an EPP: its streams may well be short, the operator sizes them');
  const viaHttp = await judge(undefined, (doc) => {
    const filter = doc.spec.configPatches[0].patch.value.typed_config;
    delete filter.grpc_service;
    filter.http_service = { http_service: { http_uri: { uri: 'http://epp:9002/', cluster: 'epp-cluster', timeout: '1s' } } };
    filter.processing_mode = { request_header_mode: 'SEND', response_header_mode: 'SKIP' };
  });
  t.same(viaHttp, [], 'over http_service each call is a short request per header phase, not a stream that lasts the request');
});

t.test('a cluster two ext_proc configs call is judged as the most EPP of them, whichever comes first', async (t) => {
  const EXT_PROC = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
  const chain = (subFilter: string) => ({ context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: subFilter } } } } });
  const grpc = { envoy_grpc: { cluster_name: 'ext-cluster' } };
  // Another team's filter, and a MERGE into istiod's InferencePool filter (a hint of an EPP), both calling ext-cluster.
  const waf = { applyTo: 'HTTP_FILTER', match: chain('envoy.filters.http.router'), patch: { operation: 'INSERT_BEFORE', value: { name: 'my.waf', typed_config: { '@type': EXT_PROC, grpc_service: grpc } } } };
  const merge = { applyTo: 'HTTP_FILTER', match: chain('envoy.filters.http.ext_proc'), patch: { operation: 'MERGE', value: { typed_config: { '@type': EXT_PROC, grpc_service: grpc } } } };
  const fixture = manifest('full-duplex-envoyfilter.yaml').spec.configPatches[1];
  const cluster = { ...fixture, patch: { operation: 'ADD', value: { ...fixture.patch.value, name: 'ext-cluster', circuit_breakers: undefined } } };
  cluster.patch.value.load_assignment = { cluster_name: 'ext-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 8080 } } } }] }] };
  const limits = (configPatches: unknown[]) =>
    checkEnvoyFilter({ apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'f', namespace: NS }, spec: { configPatches } }, DEFAULT_CONFIG).filter((f) => f.code === 'EPP322');
  const first = limits([waf, cluster, merge]);
  t.equal(first.length, 1, "the MERGE into istiod's filter makes the cluster an EPP's, though the WAF names it first");
  t.match(first[0].message, 'judged an EPP only on a hint');
  t.same(limits([merge, cluster, waf]), first, 'the same in the other order');

  // Each rule at the strongest any caller keeps: the gRPC caller's HTTP/2 denial, the EPP caller's TLS warning.
  const http = { ...merge, patch: { operation: 'MERGE', value: { typed_config: { '@type': EXT_PROC, http_service: { http_service: { http_uri: { uri: 'http://backend/', cluster: 'ext-cluster', timeout: '1s' } } } } } } };
  const bare = { ...cluster, patch: { ...cluster.patch, value: { ...cluster.patch.value, typed_extension_protocol_options: undefined, transport_socket: undefined } } };
  const codes = (configPatches: unknown[]) =>
    checkEnvoyFilter({ apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'f', namespace: NS }, spec: { configPatches } }, DEFAULT_CONFIG)
      .filter((f) => f.location === 'configPatches[1]')
      .map((f) => f.code)
      .sort();
  t.same(codes([http, bare, waf]), ['EPP302', 'EPP306'], 'an http_service MERGE into istiod\'s filter, then a WAF over gRPC');
  t.same(codes([waf, bare, http]), ['EPP302', 'EPP306'], 'the other way round');
});
