import t from 'tap';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { checkEnvoyFilter } from '../../../src/envoyfilter/check-envoyfilter.ts';
import { substituteClusterIP } from '../../../src/envoyfilter/substitute-cluster-ip.ts';
import type { InferencePoolResolver } from '../../../src/cluster/inference-pool.ts';
import { POOL_NS, SOCKET, poolEnvoyFilter, poolServices, pools, socketOf, v1Pool, v1alpha2Pool } from '../../helpers/inference-pools.ts';

const POOL = 'epp-webhook.io/inference-pool';
const SERVICE = 'epp-webhook.io/epp-service';
const twoPools = () =>
  pools(
    v1Pool('pool-a', { name: 'epp-a', port: { number: 9002 } }),
    v1Pool('pool-b', { name: 'epp-b', port: { number: 9003 }, failureMode: 'FailOpen' }),
  );
const substitute = (object: unknown, poolSource: InferencePoolResolver | undefined = twoPools(), config = DEFAULT_CONFIG) =>
  substituteClusterIP(object, POOL_NS, poolServices(), config, poolSource);
const codes = (findings: { code: string }[]) => findings.map((f) => f.code);

t.test("the pool's endpointPickerRef gives the ClusterIP and the port, recorded for the reconciler", async (t) => {
  for (const [pool, ip, port, failureModeAllow] of [['pool-a', '10.96.0.10', 9002, undefined], ['pool-b', '10.96.0.20', 9003, true]] as const) {
    const input = poolEnvoyFilter({ annotations: { [POOL]: pool }, failureModeAllow });
    const { object, findings, substitutions } = await substitute(input);
    t.same(findings, [], pool);
    t.equal(substitutions, 2);
    t.same(socketOf(object), { address: ip, port_value: port }, 'the port placeholder becomes a number, as Envoy expects');
    const annotations = (object as any).metadata.annotations;
    t.equal(annotations['epp-webhook.io/resolved-service'], `${POOL_NS}/${pool === 'pool-a' ? 'epp-a' : 'epp-b'}`);
    t.equal(annotations['epp-webhook.io/resolved-port'], String(port));
    t.equal(annotations['epp-webhook.io/port-placeholder-paths'], JSON.stringify([`${SOCKET}/port_value`]));
    t.equal(annotations['epp-webhook.io/placeholder-paths'], JSON.stringify([`${SOCKET}/address`]));
    const again = await substitute(object);
    t.equal(again.object, object, 'the stored object resubmitted is left as it is');
    t.same(again.findings, []);
  }
});

t.test('a pool namespace/name, and a pool of the older v1alpha2 API (extensionRef, portNumber 9002 by default)', async (t) => {
  const alpha = pools(v1alpha2Pool('old-pool', { name: 'epp-a' }), v1alpha2Pool('old-b', { name: 'epp-b', portNumber: 9003, failureMode: 'FailOpen' }));
  const a = await substitute(poolEnvoyFilter({ annotations: { [POOL]: `${POOL_NS}/old-pool` } }), alpha);
  t.same(a.findings, []);
  t.same(socketOf(a.object), { address: '10.96.0.10', port_value: 9002 });
  const b = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'old-b' }, failureModeAllow: true }), alpha);
  t.same(b.findings, []);
  t.same(socketOf(b.object), { address: '10.96.0.20', port_value: 9003 });
});

t.test('where both APIs hold a pool of one name, the v1 pool is the one followed', async (t) => {
  const both = pools(v1alpha2Pool('pool', { name: 'epp-b', portNumber: 9003 }), v1Pool('pool', { name: 'epp-a', port: { number: 9002 } }));
  const { object, findings } = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool' } }), both);
  t.same(findings, []);
  t.same(socketOf(object), { address: '10.96.0.10', port_value: 9002 });
});

t.test('EPP_SERVICE_PORT without a pool: the port named grpc-ext-proc, else the only port, else EPP112', async (t) => {
  const named = await substitute(poolEnvoyFilter({ annotations: { [SERVICE]: 'epp-a' } }));
  t.same(socketOf(named.object), { address: '10.96.0.10', port_value: 9002 }, 'grpc-ext-proc of two ports');
  const only = await substitute(poolEnvoyFilter({ annotations: { [SERVICE]: 'epp-b' } }));
  t.same(socketOf(only.object), { address: '10.96.0.20', port_value: 9003 }, 'the only port');
  const byDefault = await substitute(poolEnvoyFilter());
  t.same(socketOf(byDefault.object), { address: '10.96.0.99', port_value: 9002 }, 'the default Service');
  const ambiguous = await substitute(poolEnvoyFilter({ annotations: { [SERVICE]: 'epp-two-ports' } }));
  t.same(codes(ambiguous.findings), ['EPP112']);
  t.match(ambiguous.findings[0].message, /2 ports \(grpc:9002, metrics:9090\) and none is named grpc-ext-proc/);
  t.equal(ambiguous.findings[0].path, 'spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value');
  t.equal(socketOf(ambiguous.object).address, 'EPP_SERVICE_CLUSTER_IP', 'nothing is substituted when the port cannot be');
});

t.test('EPP_SERVICE_PORT inside a longer string gets the digits', async (t) => {
  const input = poolEnvoyFilter({ annotations: { [POOL]: 'pool-b' }, failureModeAllow: true });
  (input.spec.configPatches[0].patch.value as any).typed_config.grpc_service = { google_grpc: { target_uri: 'EPP_SERVICE_CLUSTER_IP:EPP_SERVICE_PORT', stat_prefix: 'epp' } };
  const { object, findings } = await substitute(input);
  t.same(findings, []);
  t.equal((object as any).spec.configPatches[0].patch.value.typed_config.grpc_service.google_grpc.target_uri, '10.96.0.20:9003');
});

t.test('EPP_SERVICE_PORT as the whole of a string field other than port_value stays a string: istiod refuses a number there', async (t) => {
  const input = poolEnvoyFilter({ annotations: { [POOL]: 'pool-b' }, failureModeAllow: true });
  const grpc = (input.spec.configPatches[0].patch.value as any).typed_config.grpc_service;
  grpc.initial_metadata = [{ key: 'x-epp-port', value: 'EPP_SERVICE_PORT' }];
  const { object, findings } = await substitute(input);
  t.same(findings, []);
  const stored = (object as any).spec.configPatches[0].patch.value.typed_config.grpc_service;
  t.strictSame(stored.initial_metadata, [{ key: 'x-epp-port', value: '9003' }], 'the digits, as a string');
  t.strictSame(socketOf(object), { address: '10.96.0.20', port_value: 9003 }, 'port_value beside it still gets the number');
  const camel = poolEnvoyFilter({ annotations: { [POOL]: 'pool-b' }, failureModeAllow: true });
  const socket = (camel.spec.configPatches[1].patch.value as any).load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
  socket.portValue = socket.port_value;
  delete socket.port_value;
  t.strictSame(((await substitute(camel)).object as any).spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.portValue, 9003, 'portValue too');
});

t.test('the pool and the epp-service annotation: agreeing is fine, disagreeing is EPP111, with or without tokens', async (t) => {
  const agree = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a', [SERVICE]: `${POOL_NS}/epp-a` } }));
  t.same(agree.findings, []);
  const clash = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a', [SERVICE]: 'epp-b' } }));
  t.same(codes(clash.findings), ['EPP111']);
  t.match(clash.findings[0].message, /pool-a names EPP Service llm-d\/epp-a, but epp-webhook\.io\/epp-service names llm-d\/epp-b/);
  const stored = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a', [SERVICE]: 'epp-b' }, address: '10.96.0.10', portValue: 9002 }));
  t.same(codes(stored.findings), ['EPP111'], 'a conflict is denied even when nothing is left to substitute');
});

t.test('a pool that cannot be followed is denied, naming it', async (t) => {
  const odd = pools(
    v1Pool('no-service', { name: 'epp-gone', port: { number: 9002 } }),
    v1Pool('headless', { name: 'epp-headless', port: { number: 9002 } }),
    v1Pool('not-a-service', { kind: 'Deployment', group: 'apps', name: 'epp' }),
    v1Pool('no-picker', undefined),
    v1Pool('wrong-port', { name: 'epp-a', port: { number: 9999 } }),
  );
  const cases = [
    ['missing', 'EPP109', /InferencePool not found in the test pools/],
    ['no-service', 'EPP110', /endpointPickerRef names Service llm-d\/epp-gone, which is not found/],
    ['headless', 'EPP110', /which is a headless Service/],
    ['not-a-service', 'EPP110', /names a Deployment, not a Service/],
    ['no-picker', 'EPP110', /names no Endpoint Picker/],
    ['wrong-port', 'EPP110', /endpointPickerRef port 9999 is not a port of Service llm-d\/epp-a \(it exposes 9002, 9090\)/],
  ] as const;
  for (const [pool, code, message] of cases) {
    const { findings } = await substitute(poolEnvoyFilter({ annotations: { [POOL]: pool }, portValue: pool === 'wrong-port' ? 'EPP_SERVICE_PORT' : undefined }), odd);
    t.ok(codes(findings).includes(code), `${pool}: ${code}`);
    t.match(findings.find((f) => f.code === code)!.message, message, pool);
  }
  const noSource = await substituteClusterIP(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a' } }), POOL_NS, poolServices(), DEFAULT_CONFIG);
  t.same(codes(noSource.findings), ['EPP109']);
  t.match(noSource.findings[0].message, /no InferencePool source/);
  const unsynced: InferencePoolResolver = { source: 'cache', lookupPool: () => ({ kind: 'unavailable', reason: 'not synced' }), endpointPickerServices: () => new Set(), records: () => [], ready: () => false };
  const later = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a' } }), unsynced);
  t.same(codes(later.findings), ['EPP104'], 'an unsynced pool cache is a temporary denial');
});

t.test('a malformed or cross-namespace pool annotation', async (t) => {
  for (const value of ['a/b/c', 'Pool', '/x', '']) {
    const { findings } = await substitute(poolEnvoyFilter({ annotations: { [POOL]: value } }));
    t.same(codes(findings), ['EPP108'], JSON.stringify(value));
  }
  const other = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'team-b/pool-a' } }));
  t.same(codes(other.findings), ['EPP103']);
  t.match(other.findings[0].message, /may not reference InferencePools/);
  const allowed = await substitute(
    poolEnvoyFilter({ annotations: { [POOL]: 'team-b/pool' } }),
    pools(v1Pool('pool', { name: 'epp', port: { number: 9002 } }, 'team-b')),
    parseConfig({ allowedServiceNamespaces: ['team-b'] }),
  );
  t.same(codes(allowed.findings), ['EPP110'], 'allowed: followed to team-b/epp (absent from the table)');
});

t.test("failure_mode_allow against the pool's failureMode (FailOpen <-> true): EPP113", async (t) => {
  const open = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-b' } }));
  t.same(codes(open.findings), ['EPP113']);
  t.equal(open.findings[0].severity, 'warn');
  t.match(open.findings[0].message, /failure_mode_allow is unset \(false\), but InferencePool llm-d\/pool-b asks for failureMode FailOpen/);
  t.ok(socketOf(open.object).address === '10.96.0.20', 'a warning: still substituted');
  const closed = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a' }, failureModeAllow: true }));
  t.same(codes(closed.findings), ['EPP113']);
  t.match(closed.findings[0].message, /failure_mode_allow: true, but InferencePool llm-d\/pool-a asks for failureMode FailClose/);
  t.equal(closed.findings[0].path, 'spec.configPatches[0].patch.value.typed_config.failure_mode_allow');
  const merge = poolEnvoyFilter({ annotations: { [POOL]: 'pool-b' } });
  merge.spec.configPatches[0].patch.operation = 'MERGE';
  t.same(codes((await substitute(merge)).findings), [], 'a MERGE that leaves the field alone says nothing about it');
});

/** The example's shape: no filter of its own, an HTTP_ROUTE MERGE overriding istiod's filter on the pool's route. */
function routeOverrideEnvoyFilter(pool: string, failureModeAllow?: unknown) {
  const input = poolEnvoyFilter({ annotations: { [POOL]: pool } }) as any;
  const overrides: Record<string, unknown> = { grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' } }, processing_mode: input.spec.configPatches[0].patch.value.typed_config.processing_mode };
  if (failureModeAllow !== undefined) overrides.failure_mode_allow = failureModeAllow;
  input.spec.configPatches[0] = {
    applyTo: 'HTTP_ROUTE',
    match: { context: 'GATEWAY', routeConfiguration: { vhost: { route: { name: `${POOL_NS}.llm-route.0` } } } },
    patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', overrides } } } },
  };
  return input;
}

t.test("EPP113 on a route override (the example's shape): its failure_mode_allow, or istiod's filter's true where it sets none", async (t) => {
  const path = 'spec.configPatches[0].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"].overrides.failure_mode_allow';
  t.same(codes((await substitute(routeOverrideEnvoyFilter('pool-a', false))).findings), [], 'FailClose pool, false: agree');
  t.same(codes((await substitute(routeOverrideEnvoyFilter('pool-b', true))).findings), [], 'FailOpen pool, true: agree');
  const open = (await substitute(routeOverrideEnvoyFilter('pool-a', true))).findings;
  t.same(open.map((f) => [f.code, f.path]), [['EPP113', path]]);
  t.match(open[0].message, /^ext_proc route override failure_mode_allow: true, but InferencePool llm-d\/pool-a asks for failureMode FailClose: where no stream to the EPP can open, or the EPP is down or times out with header-only modes/);
  const closed = (await substitute(routeOverrideEnvoyFilter('pool-b', false))).findings;
  t.same(closed.map((f) => [f.code, f.path]), [['EPP113', path]]);
  t.match(closed[0].message, /failure_mode_allow: false, but InferencePool llm-d\/pool-b asks for failureMode FailOpen: where no stream to the EPP can open, or the EPP is down or times out with header-only modes, Envoy fails the requests of the routes it matches instead of serving them unpicked \(with FULL_DUPLEX_STREAMED a down EPP gets them 500 either way\)/);
  const unset = (await substitute(routeOverrideEnvoyFilter('pool-a'))).findings;
  t.same(unset.map((f) => [f.code, f.path]), [['EPP113', path]], 'unset, FailClose pool: istiod gives its filter true, which the route then takes');
  t.match(unset[0].message, "sets no failure_mode_allow, so the route takes that of istiod's filter, true, but InferencePool llm-d/pool-a asks for failureMode FailClose");
  t.equal(unset[0].fix, 'add failure_mode_allow: false to the override');
  t.same(codes((await substitute(routeOverrideEnvoyFilter('pool-b'))).findings), [], 'unset, FailOpen pool: true is what it asks for');
  const besideOwnFilter = routeOverrideEnvoyFilter('pool-a');
  besideOwnFilter.spec.configPatches.push(poolEnvoyFilter().spec.configPatches[0]);
  t.notOk(codes((await substitute(besideOwnFilter)).findings).includes('EPP113'), "unset beside a filter of its own: that filter's value is judged, not istiod's");
});

t.test('EPP113 judges only the ext_proc configs that talk to the pool EPP, not a WAF beside it', async (t) => {
  const withWaf = (options: Parameters<typeof poolEnvoyFilter>[0]) => {
    const input = poolEnvoyFilter(options);
    const waf = structuredClone(input.spec.configPatches[0]) as any;
    waf.patch.value.name = 'waf.ext_proc';
    waf.patch.value.typed_config.grpc_service = { envoy_grpc: { cluster_name: 'outbound|9000||waf.security.svc.cluster.local' } };
    waf.patch.value.typed_config.failure_mode_allow = true;
    waf.patch.value.typed_config.processing_mode = { request_header_mode: 'SEND', request_body_mode: 'BUFFERED' };
    input.spec.configPatches.push(waf);
    return input;
  };
  const tokens = await substitute(withWaf({ annotations: { [POOL]: 'pool-a' } }));
  t.same(tokens.findings, [], "the WAF's failure_mode_allow: true is its own choice, not the pool's");
  t.same(socketOf(tokens.object), { address: '10.96.0.10', port_value: 9002 });
  t.same((await substitute(tokens.object)).findings, [], 'nor once substituted');
  const eppOpen = await substitute(withWaf({ annotations: { [POOL]: 'pool-a' }, failureModeAllow: true }));
  t.same(eppOpen.findings.map((f) => [f.code, f.path]), [['EPP113', 'spec.configPatches[0].patch.value.typed_config.failure_mode_allow']], "the EPP's own filter still is");
});

t.test("EPP113 spares a WAF beside an EPP that is called through Istio's cluster of its Service (no CLUSTER patch)", async (t) => {
  const input = poolEnvoyFilter({ annotations: { [POOL]: 'pool-a' } }) as any;
  input.spec.configPatches.pop();
  input.spec.configPatches[0].patch.value.typed_config.grpc_service = { envoy_grpc: { cluster_name: `outbound|9002||epp-a.${POOL_NS}.svc.cluster.local` } };
  const waf = structuredClone(input.spec.configPatches[0]);
  waf.patch.value.name = 'waf.ext_proc';
  waf.patch.value.typed_config.grpc_service = { envoy_grpc: { cluster_name: 'outbound|9000||waf.security.svc.cluster.local' } };
  waf.patch.value.typed_config.failure_mode_allow = true;
  input.spec.configPatches.push(waf);
  t.same((await substitute(input)).findings, [], "the WAF's failure_mode_allow: true is its own choice");
  input.spec.configPatches[0].patch.value.typed_config.failure_mode_allow = true;
  t.same((await substitute(input)).findings.map((f) => [f.code, f.path]), [['EPP113', 'spec.configPatches[0].patch.value.typed_config.failure_mode_allow']], "the EPP's own filter still is");
});

t.test("a literal port_value other than the pool's port: EPP114, also on an object already substituted", async (t) => {
  const literal = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a' }, portValue: 9090 }));
  t.same(codes(literal.findings), ['EPP114']);
  t.equal(literal.findings[0].severity, 'deny');
  t.match(literal.findings[0].message, /port 9090: InferencePool llm-d\/pool-a says its EPP listens on port 9002 of Service llm-d\/epp-a/);
  // Measured (test/dataplane/measured-symptoms.json EPP114-port-not-the-pools, -fail-open).
  t.match(literal.findings[0].message, 'the connection fails and every request gets 500, with failure_mode_allow: true too');
  const right = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a' }, portValue: 9002 }));
  t.same(right.findings, []);
  const stored = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a' }, address: '10.96.0.10', portValue: 9003 }));
  t.same(codes(stored.findings), ['EPP114'], 'without tokens: checked against the pool all the same');
  const handWritten = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a' }, address: '10.96.0.100', portValue: 9003 }));
  t.same(handWritten.findings, [], 'an address that is not the pool EPP (10.96.0.100 is not 10.96.0.10) is not judged by it');
  const relaxed = await substitute(poolEnvoyFilter({ annotations: { [POOL]: 'pool-a' }, portValue: 9090 }), twoPools(), parseConfig({ severities: { EPP114: 'warn' } }));
  t.equal(relaxed.findings[0].severity, 'warn', 'EPP114 can be relaxed');
});

t.test('a pool annotation on an object without tokens whose pool is missing changes nothing and denies nothing', async (t) => {
  const input = poolEnvoyFilter({ annotations: { [POOL]: 'missing' }, address: '10.96.0.10', portValue: 9002 });
  const { object, findings } = await substitute(input);
  t.equal(object, input);
  t.same(findings, []);
});

t.test('validation: a leftover EPP_SERVICE_PORT is EPP106', async (t) => {
  const findings = checkEnvoyFilter(poolEnvoyFilter({ address: '10.96.0.10' }), DEFAULT_CONFIG);
  const leftover = findings.find((f) => f.code === 'EPP106');
  t.ok(leftover);
  t.match(leftover!.message, /^EPP_SERVICE_PORT still present in 1 place\(s\).*as a port/);
  const both = checkEnvoyFilter(poolEnvoyFilter(), DEFAULT_CONFIG).find((f) => f.code === 'EPP106');
  t.match(both!.message, /^EPP_SERVICE_CLUSTER_IP and EPP_SERVICE_PORT still present in 2 place/);
});
