import t from 'tap';
import { checkClusterTypes } from '../../../src/envoyfilter/check-cluster-types.ts';
import { readConfigPatches } from '../../../src/envoyfilter/config-patches.ts';

// Each verdict below was asked of istiod and Envoy 1.40 by the oracle's field sweep (test/oracle/corpus/field-sweep.ts).
const EPP_CLUSTER = {
  name: 'epp-cluster',
  type: 'STATIC',
  connect_timeout: '2s',
  load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.96.0.9', port_value: 9002 } } } }] }] },
};
const judge = (fields: Record<string, unknown>) =>
  checkClusterTypes(readConfigPatches({ spec: { configPatches: [{ applyTo: 'CLUSTER', patch: { operation: 'ADD', value: { ...EPP_CLUSTER, ...fields } } }] } }, {}).patches, {});
const codes = (fields: Record<string, unknown>) => judge(fields).map((f) => f.code);
const at = 'spec.configPatches[0].patch.value';

t.test('a field in a JSON type istiod refuses: EPP310, with what it takes', async (t) => {
  const [list] = judge({ circuit_breakers: [] });
  t.equal(list.code, 'EPP310');
  t.equal(list.path, `${at}.circuit_breakers`);
  t.equal(list.message, 'cluster epp-cluster circuit_breakers is a list: istiod refuses this at kubectl apply (it takes an object)');
  t.equal(list.fix, 'write circuit_breakers as an object');
  t.same(codes({ respectDnsTtl: 'true' }), ['EPP310'], 'a quoted bool, under the lowerCamelCase key');
  t.same(codes({ per_connection_buffer_limit_bytes: -1 }), ['EPP310'], 'a UInt32Value below 0');
  t.same(codes({ lrs_report_endpoint_metrics: ['x', 1] }), ['EPP310'], 'a number in a list of strings');
  t.equal(judge({ lrs_report_endpoint_metrics: ['x', 1] })[0].path, `${at}.lrs_report_endpoint_metrics[1]`);
  t.same(codes({ dns_lookup_family: 'v4_only' }), ['EPP310'], 'an enum name not in upper case');
  t.same(codes({ circuit_breakers: null, respect_dns_ttl: true, dns_lookup_family: 'V4_ONLY', per_connection_buffer_limit_bytes: '32768', outlier_detection: {} }), [], 'each written as istiod reads it');
});

t.test("what Envoy's rules refuse in a cluster's other fields: EPP312 and EPP311", async (t) => {
  t.same(codes({ dns_jitter: '-1s' }), ['EPP312'], 'a negative duration');
  t.same(codes({ dns_refresh_rate: '1ms' }), ['EPP312'], 'a DNS refresh rate of 1ms is not above 1ms');
  t.same(codes({ dns_refresh_rate: '1.5ms' }), [], 'above it is');
  t.same(codes({ cleanup_interval: '0s' }), ['EPP312'], 'a cleanup interval of 0s');
  t.same(codes({ dns_lookup_family: 99 }), ['EPP312'], 'a family number no value has (defined values only)');
  t.same(codes({ protocol_selection: 99 }), [], 'protocol_selection takes any number');
  const resolver = judge({ dns_resolvers: [{ socket_address: { address: '127.0.0.1', port_value: 53 } }, null] });
  t.same(resolver.map((f) => f.code), ['EPP312'], 'null in a list is an empty entry');
  t.equal(resolver[0].path, `${at}.dns_resolvers[1]`);
  t.equal(resolver[0].message, 'cluster epp-cluster dns_resolvers[1] sets none of socket_address, pipe, envoy_internal_address: Envoy requires one; Istio accepts it and Envoy rejects the cluster, so it is never added and every call to it fails');
  t.same(codes({ filters: [{ name: 'x' }] }), ['EPP312'], 'a cluster filter without typed_config');
  t.same(codes({ load_balancing_policy: { policies: [] } }), ['EPP312'], 'a policy list without a policy');
  t.same(codes({ lrs_server: { ads: {} } }), [], 'an LRS server naming its source');
  t.same(codes({ eds_cluster_config: {} }), ['EPP311'], 'eds_cluster_config on a STATIC cluster');
  t.same(codes({ type: 'EDS', eds_cluster_config: {} }), [], 'on an EDS cluster it is at home (EDS without a source is check-cluster-fields.ts\'s)');
});

t.test('a key istiod does not know in a cluster or an endpoint address: EPP321 names it, with what it meant', async (t) => {
  const [typo] = judge({ connect_time_out: '2s' });
  t.equal(typo.code, 'EPP321');
  t.equal(typo.severity, 'warn');
  t.equal(typo.message, 'cluster epp-cluster connect_time_out is not a field of Cluster (did you mean connect_timeout?): Istio drops it with only a warning at kubectl apply, so Envoy never sees it');
  t.equal(typo.fix, 'remove connect_time_out (connect_timeout is written already)');
  t.match(judge({ connect_timeout: undefined, connectTimeOut: '2s' })[0]?.message, 'did you mean connect_timeout?): Istio drops it with only a warning at kubectl apply, so connect_timeout stays unset');
  const socket = (fields: Record<string, unknown>) => ({ load_assignment: { cluster_name: 'epp-cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: fields } } }] }] } });
  const address = judge(socket({ adress: '10.96.0.9', port_value: 9002 }));
  t.same(address.map((f) => f.code), ['EPP321', 'EPP312'], 'the misspelt address is dropped, and an endpoint without one Envoy rejects');
  t.equal(address[0].path, `${at}.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.adress`);
  t.equal(address[1].path, `${at}.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address`);
  t.same(codes(socket({ address: '10.96.0.9' })), ['EPP312'], 'an endpoint without a port');
  t.match(judge(socket({ address: '10.96.0.9', port: 9002 }))[0]?.message, 'port is not a field of SocketAddress (did you mean port_value?)', 'a name cut short');
  t.same(codes({ type: 'STRICT_DNS', ...socket({ address: 'epp.llm-d.svc.cluster.local', named_port: 'grpc' }) }), [], 'a named port is a port, on a DNS cluster');
  t.same(codes(socket({ address: '10.96.0.9', named_port: 'grpc' })), ['EPP312'], "not on a STATIC one: Envoy's IP resolver takes a port_value only");
  t.same(codes(socket({ address: '10.96.0.9', port_value: 9002, named_port: 'grpc' })), ['EPP312'], 'written beside port_value, named_port is the one istiod keeps');
  t.same(codes({ type: 'STRICT_DNS', ...socket({ address: 'epp.llm-d.svc.cluster.local', port_value: 9002, resolver_name: 'x' }) }), ['EPP312'], 'a DNS cluster takes no custom resolver');
  t.same(codes({ '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster' }), ['EPP321'], 'an @type copied from a config_dump');
  t.equal(judge({ '@type': 'x' })[0].fix, 'remove @type', 'never renamed to type');
  t.same(codes({ dns_refresh_rate: 5, dnsRefreshRate: '5s' }), [], 'written in both spellings, istiod reads the lowerCamelCase one alone');
  const merge = checkClusterTypes(readConfigPatches({ spec: { configPatches: [{ applyTo: 'CLUSTER', patch: { operation: 'MERGE', value: { dns_refresh_rate: 5, conect_timeout: '5s' } } }] } }, {}).patches, {});
  t.same(merge.map((f) => f.code), ['EPP310', 'EPP321'], "a MERGE's value is read as a Cluster too (and needs no name or endpoints)");
});

t.test('circuit_breakers and its thresholds are read like the cluster: misspelt keys named (EPP321), JSON types (EPP310), priorities', async (t) => {
  const breakers = (value: unknown) => judge({ circuit_breakers: value });
  const [typo] = breakers({ thresholds: [{ max_request: 5000 }] });
  t.equal(typo.code, 'EPP321');
  t.equal(typo.path, `${at}.circuit_breakers.thresholds[0].max_request`);
  t.equal(
    typo.message,
    'cluster epp-cluster circuit_breakers.thresholds[0]: max_request is not a field of CircuitBreakers.Thresholds (did you mean max_requests?): Istio drops it with only a warning at kubectl apply, so max_requests stays unset',
  );
  t.equal(typo.fix, 'rename max_request to max_requests');
  t.match(breakers({ threshold: [{ max_requests: 5000 }] })[0].message, 'circuit_breakers: threshold is not a field of CircuitBreakers (did you mean thresholds?)');
  t.match(judge({ circuitBreakers: { thresholds: [{ maxRequest: 5000 }] } })[0].path, 'circuitBreakers.thresholds[0].maxRequest', 'in lowerCamelCase too');
  const [negative] = breakers({ per_host_thresholds: [{ max_connections: -1 }] });
  t.equal(negative.code, 'EPP310');
  t.equal(negative.message, 'cluster epp-cluster circuit_breakers.per_host_thresholds[0].max_connections is the number -1: istiod refuses this at kubectl apply (it takes a whole number from 0 to 4294967295)');
  t.same(codes({ circuit_breakers: { thresholds: [{ priority: 'default' }] } }), ['EPP310'], 'a priority not in upper case');
  t.same(codes({ circuit_breakers: { thresholds: [{ priority: 2 }] } }), ['EPP312'], 'a priority number no value has');
  t.same(codes({ circuit_breakers: { thresholds: [{ priority: 'HIGH', max_requests: '5000', track_remaining: true }, null], per_host_thresholds: [] } }), [], 'each written as istiod reads it');
});
