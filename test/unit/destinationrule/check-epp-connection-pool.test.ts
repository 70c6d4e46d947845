import t from 'tap';
import { mutateObject } from '../../../src/admission/admit-object.ts';
import { admitRequest } from '../../../src/admission/admit-request.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { checkEppConnectionPool } from '../../../src/destinationrule/check-epp-connection-pool.ts';
import { admissionReview } from '../../helpers/fixtures.ts';
import { pools, POOL_NS, poolServices, v1alpha2Pool, v1Pool } from '../../helpers/inference-pools.ts';

// What istiod makes of a DestinationRule's connectionPool on its cluster of the EPP (http2MaxRequests as max_requests,
// a port-level entry replacing the whole, 2^32-1 when unset) and the 500s past the limit are measured by
// test/dataplane (EPP501, EPP501-sized, EPP501-port-level-without-pool, EPP501-wildcard-*). Which rule istiod takes, from
// which namespace, is read from its PushContext.destinationRule (docs/reference/domain-facts.md).
const POOLS = pools(v1Pool('pool-a', { name: 'epp-a', port: { number: 9002 } }), v1Pool('pool-b', { name: 'epp-b', port: { number: 9003 } }));

function rule(host: string, trafficPolicy: unknown, namespace = POOL_NS, more: Record<string, unknown> = {}) {
  return { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'epp', namespace }, spec: { host, trafficPolicy, ...more } };
}
const capped = (http2MaxRequests: unknown, more: Record<string, unknown> = {}) => ({ connectionPool: { http: { http2MaxRequests, ...more } } });
const judge = (object: unknown, namespace = POOL_NS, config = DEFAULT_CONFIG, known = POOLS) => checkEppConnectionPool(object, namespace, config, known);
/** The EPP Services and the gateways a finding names. */
const named = (f: { message: string }) => f.message.match(/EPP Service (.*) \(named by an InferencePool\), (.*?): each request/)?.slice(1, 3);

t.test("http2MaxRequests at or below 1,024 on an InferencePool's EPP Service: EPP501, what it caps and what breaks", async (t) => {
  const [f, ...rest] = judge(rule('epp-a', capped(100)));
  t.same(rest, []);
  t.equal(f.code, 'EPP501');
  t.equal(f.severity, 'warn');
  t.equal(f.location, 'trafficPolicy.connectionPool');
  t.equal(f.path, 'spec.trafficPolicy.connectionPool.http.http2MaxRequests');
  t.equal(
    f.message,
    "http2MaxRequests 100 becomes the circuit-breaker max_requests of istiod's cluster of the EPP Service llm-d/epp-a port 9002 (named by an InferencePool), for gateways in any namespace with no rule for that host in their own namespace: each request on an InferencePool route holds one ext_proc stream to the EPP through that cluster for as long as it runs (a streamed completion until its last token), so with more than 100 requests in flight on one gateway Pod the next ones get 500 at once",
  );
  t.equal(f.fix, "raise http2MaxRequests above the requests one gateway Pod should carry at once, or drop it (istiod then writes 4,294,967,295; the mesh's defaultTrafficPolicy connection pool applies instead only where the rule leaves out its whole connectionPool); bound the load at the gateway or the model servers instead");
  t.match(judge(rule('epp-a', capped(1)))[0].message, 'so with more than 1 request in flight');
  t.equal(judge(rule('epp-a', capped(1024))).length, 1, "1,024, Envoy's own default, is as low");
  t.same(judge(rule('epp-a', capped(1025))), [], "above Envoy's default the limit is the operator's sizing");
  t.same(judge(rule('epp-a', capped(256000))), [], "llm-d's guides' 256000");
  for (const ignored of [0, -1, undefined, null, '100', 1.5]) t.same(judge(rule('epp-a', capped(ignored))), [], `${JSON.stringify(ignored)}: istiod writes no limit (it takes values above 0), or the API server refuses it`);
  t.same(judge(rule('epp-a', { connectionPool: { tcp: { maxConnections: 1 } } })), [], 'a connection limit is not a stream limit: HTTP/2 carries the streams on one connection');
});

t.test("a FailOpen pool's requests past the limit skip the EPP instead (measured: EPP501-fail-open)", async (t) => {
  const failOpen = pools(v1Pool('pool-a', { name: 'epp-a', port: { number: 9002 }, failureMode: 'FailOpen' }));
  const [f] = judge(rule('epp-a', capped(100)), POOL_NS, DEFAULT_CONFIG, failOpen);
  t.match(f.message, "of the EPP Service llm-d/epp-a port 9002 (named by a FailOpen InferencePool), for gateways");
  t.match(f.message, /so with more than 100 requests in flight on one gateway Pod the next ones skip the EPP \(the pool's failureMode is FailOpen\): Envoy's own load balancing picks their Pod$/);
  const both = pools(v1Pool('p1', { name: 'epp-a', port: { number: 9002 }, failureMode: 'FailOpen' }), v1Pool('p2', { name: 'epp-a', port: { number: 9002 } }));
  t.same(judge(rule('epp-a', capped(100)), POOL_NS, DEFAULT_CONFIG, both).map((f) => /skip the EPP/.test(f.message)).sort(), [false, true], 'two pools of one EPP port with two failure modes: a finding for each');
});

t.test('a low http1MaxPendingRequests beside it is raised by the fix too', async (t) => {
  t.match(judge(rule('epp-a', capped(10, { http1MaxPendingRequests: 1 })))[0].fix, 'whole connectionPool), and raise http1MaxPendingRequests (1) or drop it too: it bounds the requests that wait while Envoy connects to the EPP; bound the load');
  t.notMatch(judge(rule('epp-a', capped(10, { http1MaxPendingRequests: 256000 })))[0].fix, 'http1MaxPendingRequests');
});

t.test("the host as istiod resolves it, naming the Service; the gateways it reaches by the rule's namespace", async (t) => {
  const names = (host: string, namespace = POOL_NS, more = {}) => judge(rule(host, capped(100), namespace, more), namespace).map(named);
  const everywhere = 'for gateways in any namespace with no rule for that host in their own namespace';
  t.same(names('epp-a'), [['llm-d/epp-a port 9002', everywhere]], "a short name: the Service of the rule's namespace");
  t.same(names('epp-a.llm-d.svc.cluster.local'), [['llm-d/epp-a port 9002', everywhere]]);
  t.same(names('epp-a', 'other'), [], "a short name in another namespace names that namespace's Service");
  t.same(names('epp-a.llm-d.svc.cluster.local', 'team-a'), [['llm-d/epp-a port 9002', "for gateways in namespace team-a only (a rule of a namespace other than the EPP's or the root one reaches no other)"]]);
  t.same(names('epp-a.llm-d.svc.cluster.local', 'istio-system'), [['llm-d/epp-a port 9002', "for gateways in any namespace with no rule for that host in their own namespace or the EPP's"]], 'the root namespace: the last place istiod looks');
  t.same(names('epp-a.llm-d.svc.cluster.local', 'mesh-root'), [['llm-d/epp-a port 9002', "for gateways in namespace mesh-root only (a rule of a namespace other than the EPP's or the root one reaches no other)"]]);
  t.equal(judge(rule('epp-a.llm-d.svc.cluster.local', capped(100), 'mesh-root'), 'mesh-root', parseConfig({ istioRootNamespace: 'mesh-root' })).map(named)[0]?.[1], "for gateways in any namespace with no rule for that host in their own namespace or the EPP's", 'the configured root namespace');
  for (const other of ['epp-a.llm-d', 'epp-a.llm-d.svc', 'epp-a.llm-d.svc.cluster.local.', 'epp-a.llm-d.svc.cluster.local.evil.com', 'epp-a.llm-d.svc.corp.example', 'model-server']) {
    t.same(names(other), [], `${other}: istiod takes a name with a dot as written, and it is not the EPP Service's (in cluster.local)`);
  }
  for (const wildcard of ['*', '*.llm-d.svc.cluster.local', '*.cluster.local', '*epp-a']) {
    t.same(names(wildcard), [], `${wildcard}: not judged (the rule naming the Service, which its TLS needs, is the one istiod takes)`);
  }
});

t.test('exportTo narrows the gateways as istiod exports rules; a workloadSelector leaves the rule unjudged', async (t) => {
  const scope = (exportTo: unknown, namespace = POOL_NS) => judge(rule('epp-a.llm-d.svc.cluster.local', capped(100), namespace, { exportTo }), namespace).map((f) => named(f)?.[1]);
  const shadowed = 'with no rule for that host in their own namespace';
  t.same(scope(['.']), ['for gateways in namespace llm-d only'], 'exported to its own namespace alone: private');
  t.same(scope(['llm-d']), ['for gateways in namespace llm-d only']);
  t.same(scope(['.', 'gateways']), [`for gateways in gateways, llm-d (its exportTo) ${shadowed}`]);
  t.same(scope(['gateways']), [`for gateways in gateways (its exportTo) ${shadowed}`], "without . or its own name, not its own namespace's");
  t.same(scope(['*']), [`for gateways in any namespace ${shadowed}`]);
  t.same(scope([]), [`for gateways in any namespace ${shadowed}`]);
  t.same(scope(['~']), [], 'exported nowhere: no gateway');
  const root = "with no rule for that host in their own namespace or the EPP's";
  t.same(scope(['.'], 'istio-system'), ['for gateways in namespace istio-system only'], "a root-namespace rule exported to it alone: its own gateways' first pick");
  t.same(scope(['.', 'gateways'], 'istio-system'), [`for gateways in gateways (its exportTo) ${root}`], "not the root namespace's own gateways: they read only its private rules, and . is not their name");
  t.same(scope(['.', 'gateways', 'istio-system'], 'istio-system'), [`for gateways in gateways, istio-system (its exportTo) ${root}`]);
  t.same(scope(undefined, 'istio-system'), [`for gateways in any namespace ${root}`]);
  t.same(scope(['gateways'], 'team-a'), [], 'a rule of another namespace that is not its own namespace\'s reaches nothing');
  t.same(scope(undefined, 'team-a'), ["for gateways in namespace team-a only (a rule of a namespace other than the EPP's or the root one reaches no other)"]);
  t.same(judge(rule('epp-a', capped(100), POOL_NS, { workloadSelector: { matchLabels: { app: 'client' } } })), []);
});

t.test("a portLevelSettings entry of the EPP's port replaces the rule's whole connectionPool", async (t) => {
  const portLevel = (entries: unknown[], own: unknown = capped(100).connectionPool) => judge(rule('epp-a', { connectionPool: own, portLevelSettings: entries }));
  t.same(portLevel([{ port: { number: 9002 } }]), [], "an entry of the port without a connectionPool leaves the mesh's default or istiod's");
  t.same(portLevel([{ port: { number: 9002 }, connectionPool: { tcp: { maxConnections: 10 } } }]), [], "nor is the rule's own http block inherited");
  t.equal(portLevel([{ port: { number: 9090 } }]).length, 1, "an entry of another port leaves the rule's own");
  const [f] = portLevel([{ port: { number: 9090 } }, { port: { number: 9002 }, connectionPool: { http: { http2MaxRequests: 8 } } }], undefined);
  t.equal(f.path, 'spec.trafficPolicy.portLevelSettings[1].connectionPool.http.http2MaxRequests');
  t.equal(f.location, 'trafficPolicy.portLevelSettings[1].connectionPool');
  t.match(f.message, /^http2MaxRequests 8 /);
  t.equal(portLevel([{ port: { number: 9002 }, connectionPool: { http: { http2MaxRequests: 8 } } }, { port: { number: 9002 } }], undefined).length, 1, 'the first entry of the port is the one');
});

t.test('each pool port of the Service judged by its own policy; pools istiod does not act on are left alone', async (t) => {
  const twoPorts = pools(v1Pool('p1', { name: 'epp-a', port: { number: 9002 } }), v1Pool('p2', { name: 'epp-a', port: { number: 9003 } }), v1Pool('p3', { name: 'epp-a', port: { number: 9002 } }));
  t.same(judge(rule('epp-a', capped(100)), POOL_NS, DEFAULT_CONFIG, twoPorts).map(named), [['llm-d/epp-a port 9002, llm-d/epp-a port 9003', 'for gateways in any namespace with no rule for that host in their own namespace']], 'one finding for the one policy, each port named once');
  const split = { connectionPool: capped(100).connectionPool, portLevelSettings: [{ port: { number: 9003 }, connectionPool: { http: { http2MaxRequests: 50 } } }] };
  t.same(judge(rule('epp-a', split), POOL_NS, DEFAULT_CONFIG, twoPorts).map((f) => [f.path, named(f)?.[0]]), [
    ['spec.trafficPolicy.connectionPool.http.http2MaxRequests', 'llm-d/epp-a port 9002'],
    ['spec.trafficPolicy.portLevelSettings[0].connectionPool.http.http2MaxRequests', 'llm-d/epp-a port 9003'],
  ]);
  t.same(judge(rule('epp-c', capped(100)), POOL_NS, DEFAULT_CONFIG, pools(v1Pool('pool-c', { name: 'epp-c' }))), [], 'a v1 pool without a port: istiod drops it ("port is required"), so no filter of its own calls that cluster');
  t.same(judge(rule('epp-old', capped(100)), POOL_NS, DEFAULT_CONFIG, pools(v1alpha2Pool('old', { name: 'epp-old' }))), [], "a v1alpha2 pool: istiod's InferencePool support reads only v1 pools, so no filter of its own calls that cluster");
  t.same(judge(rule('epp-a', capped(100)), POOL_NS, DEFAULT_CONFIG, pools(v1Pool('p', { kind: 'Other', name: 'epp-a' }))), [], 'an Endpoint Picker that is no Service');
});

t.test("odd shapes are passed over, never thrown on; the severity is the operator's", async (t) => {
  for (const object of [null, 'x', {}, { spec: null }, { spec: { host: 7, trafficPolicy: capped(1) } }, rule('epp-a', null), rule('epp-a', { connectionPool: 'x' }), rule('epp-a', { connectionPool: { http: [] } }), rule('epp-a', { portLevelSettings: 'x', connectionPool: { http: { http2MaxRequests: 5 } } }), rule('epp-a', capped(5), POOL_NS, { exportTo: 'x' })]) {
    t.doesNotThrow(() => judge(object));
  }
  t.equal(judge(rule('epp-a', { portLevelSettings: [null, 'x', { port: 'x' }], connectionPool: { http: { http2MaxRequests: 5 } } })).length, 1, "entries without a port number leave the rule's own");
  t.same(checkEppConnectionPool(rule('epp-a', capped(1)), POOL_NS, DEFAULT_CONFIG, undefined), [], 'no pools known: no EPP Service to name');
  t.equal(judge(rule('epp-a', capped(1)), POOL_NS, parseConfig({ severities: { EPP501: 'deny' } }))[0].severity, 'deny');
});

t.test('through admitRequest: /validate warns, /mutate passes a DestinationRule untouched, however deep', async (t) => {
  const deps = { config: DEFAULT_CONFIG, resolver: poolServices(), pools: POOLS };
  const request = admissionReview(rule('epp-a', capped(100)), 'CREATE').request as any;
  const validated = await admitRequest('validate', request, deps);
  t.equal(validated.kind, 'DestinationRule');
  t.equal(validated.verdict.allowed, true);
  t.equal(validated.verdict.warnings.length, 2, validated.verdict.warnings.join('\n'));
  t.match(validated.verdict.warnings, [/^\[EPP501\] trafficPolicy\.connectionPool http2MaxRequests 100 becomes/, /^\[EPP501\] Fix: raise http2MaxRequests/]);
  const mutated = await admitRequest('mutate', request, deps);
  t.same([mutated.verdict.allowed, mutated.verdict.patch, mutated.verdict.warnings], [true, undefined, []]);
  let deep: Record<string, unknown> = {};
  const nested = rule('epp-a', capped(100), POOL_NS, { deep });
  for (let i = 0; i < 300; i++) deep = (deep.next = {}) as Record<string, unknown>;
  const outcome = await mutateObject('DestinationRule', nested, POOL_NS, deps);
  t.same([outcome.patch, outcome.findings], [[], []], 'nothing walks it, so nothing bounds its depth');
  const deepValidated = await admitRequest('validate', admissionReview(nested, 'CREATE').request as any, deps);
  t.same(deepValidated.verdict.findings.map((f) => f.code), ['EPP501'], '/validate reads its few paths of it, nothing else');
});
