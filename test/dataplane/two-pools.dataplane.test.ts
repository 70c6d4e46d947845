/**
 * Two InferencePools behind one gateway, each with its own real EPP, wired by the repository's example EnvoyFilter
 * once per pool (annotated with its pool, its own EPP cluster). Which EPP picks each pool's requests, and which Pods
 * serve them, is what a user of two models would see.
 */
import t from 'tap';
import { parse, stringify } from 'yaml';
import { spawnCli } from '../cli/cli-harness.ts';
import { waitFor } from '../e2e/harness/processes.ts';
import { post, type Answer } from './harness/client.ts';
import { createNamespace } from '../e2e/harness/cluster-setup.ts';
import { EPP_SERVICE, NS, POOL, startDataPlane, type DataPlane } from './harness/dataplane.ts';
import { clusterNames, dynamicClusters, routeConfig } from './harness/envoy-config.ts';
import { ISTIO_NAMESPACE } from './harness/istiod-process.ts';
import { apply, applyAndWait, exampleEnvoyFilter } from './harness/guide-manifests.ts';
import { addSecondPool, type SecondPool } from './harness/second-pool.ts';

let plane: DataPlane;
let poolB: SecondPool;
t.before(async () => {
  // EnvoyFilters outside the pools' namespace may name its pools (the last scenario's).
  plane = await startDataPlane({ webhookConfig: `allowedServiceNamespaces: [${NS}]\n` });
  poolB = await addSecondPool(plane, 'pool-b');
});
t.teardown(async () => {
  await poolB?.stop();
  await plane?.stop();
});

const ROUTE = 'two-models';
/** Envoy's name for rule `index` of the HTTPRoute, as istiod gives it. */
const envoyRoute = (index: number) => `${NS}.${ROUTE}.${index}`;

const poolRef = (name: string, weight?: number) => ({ group: 'inference.networking.k8s.io', kind: 'InferencePool', name, ...(weight === undefined ? {} : { weight }) });

/**
 * One HTTPRoute, a rule per pool chosen by the x-model header (`rule0` the first rule's backendRefs); the webhook's
 * ExtensionRef kept out (Istio drops it: EPP402).
 */
function twoModelRoute(rule0: object[] = [poolRef(POOL)]): object {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: ROUTE, namespace: NS, annotations: { 'epp-webhook.io/inject': 'false' } },
    spec: {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'infra-inference-scheduling-inference-gateway' }],
      rules: [rule0, [poolRef('pool-b')]].map((backendRefs, i) => ({ matches: [{ headers: [{ name: 'x-model', value: i === 0 ? 'a' : 'b' }] }], backendRefs })),
    },
  };
}

let marker = 0;
/**
 * examples/envoyfilter-placeholder.yaml for one pool: named after it, annotated with it, its own EPP cluster (a fresh
 * name per scenario, so the push is visible). Its route override matches `route`, or, with none, no route by name. In
 * the pool's namespace unless `namespace` says another (then annotated with the pool's namespace too).
 */
function poolEnvoyFilter(pool: string, eppService: string, route: string | undefined, namespace = NS): { doc: any; cluster: string } {
  const doc = parse(exampleEnvoyFilter());
  const cluster = `${namespace === NS ? '' : `${namespace}-`}${pool}-epp-${marker}`;
  doc.metadata.name = `${pool}-ext-proc`;
  doc.metadata.namespace = namespace;
  doc.metadata.annotations = { 'epp-webhook.io/inference-pool': namespace === NS ? pool : `${NS}/${pool}` };
  const [override, clusterPatch] = doc.spec.configPatches;
  if (route === undefined) delete override.match.routeConfiguration;
  else override.match.routeConfiguration.vhost.route.name = route;
  override.patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'].overrides.grpc_service.envoy_grpc.cluster_name = cluster;
  const value = clusterPatch.patch.value;
  value.name = cluster;
  value.load_assignment.cluster_name = cluster;
  value.transport_socket.typed_config.sni = `${eppService}.${NS}.svc`;
  value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 'EPP_SERVICE_PORT';
  return { doc, cluster };
}

/** Envoy's routes by name: the cluster each sends to, and the ext_proc cluster its override names. */
async function routeTable(): Promise<Map<string, { cluster: string | undefined; override: string | undefined }>> {
  const table = new Map<string, { cluster: string | undefined; override: string | undefined }>();
  for (const config of await routeConfig(plane.envoy)) {
    for (const vhost of config?.virtual_hosts ?? []) {
      for (const route of vhost.routes ?? []) {
        table.set(route.name, { cluster: route.route?.cluster, override: route.typed_per_filter_config?.['envoy.filters.http.ext_proc']?.overrides?.grpc_service?.envoy_grpc?.cluster_name });
      }
    }
  }
  return table;
}

/** The EPP cluster each of the HTTPRoute's two Envoy routes is overridden to, once both carry one of `clusters`. */
async function routeOverrides(clusters: string[]): Promise<string[]> {
  return waitFor(
    `both routes of ${ROUTE} to carry an override naming one of ${clusters.join(', ')}`,
    async () => {
      const table = await routeTable();
      const found = [0, 1].map((i) => table.get(envoyRoute(i))?.override);
      return found.every((c) => c !== undefined && clusters.includes(c)) ? (found as string[]) : undefined;
    },
    30_000,
  );
}

/** Applies both pools' EnvoyFilters (the route first) and returns what kubectl printed for each, and the clusters. */
async function setUp(route: (pool: 0 | 1) => string | undefined) {
  marker++;
  const routed = await apply(plane, twoModelRoute());
  if (routed.code !== 0) throw new Error(routed.stderr);
  const a = poolEnvoyFilter(POOL, EPP_SERVICE, route(0));
  const b = poolEnvoyFilter(poolB.name, poolB.eppService, route(1));
  const printed: string[] = [];
  for (const { doc, cluster } of [a, b]) {
    const applied = await applyAndWait(plane, doc, cluster);
    if (applied.code !== 0) throw new Error(applied.stderr);
    printed.push(applied.stderr);
  }
  return { printed, clusters: { a: a.cluster, b: b.cluster } };
}

/** The load-balancing policy of an Envoy cluster, by name, as istiod pushed it. */
async function lbPolicyOf(cluster: string): Promise<string[]> {
  const found = (await dynamicClusters(plane.envoy)).find((c) => c?.name === cluster);
  return (found?.load_balancing_policy?.policies ?? []).map((p: any) => p?.typed_extension_config?.typed_config?.['@type']);
}

const picks = (log: string) => [...log.matchAll(/"Request handled".*"endpoint":"([^"]*)"/g)].map((m) => m[1]);
const podsA = () => plane.models.map((m) => m.name);
const podsB = () => poolB.models.map((m) => m.name);

/** `count` completions for model `model` (the x-model header): the answers, how many picks each EPP logged, and the Pods picked. */
async function send(model: 'a' | 'b', count = 4): Promise<{ answers: Answer[]; byEppA: number; byEppB: number; picked: (string | undefined)[] }> {
  const beforeA = picks(plane.epp.log()).length;
  const beforeB = picks(poolB.epp.log()).length;
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await post(`${plane.gatewayUrl}/v1/completions`, undefined, { headers: { 'x-model': model } }));
  await new Promise((r) => setTimeout(r, 300));
  const newPicks = [...picks(plane.epp.log()).slice(beforeA), ...picks(poolB.epp.log()).slice(beforeB)];
  const podAt = (endpoint: string) => [...plane.models, ...poolB.models].find((m) => `${m.host}:${m.port}` === endpoint)?.name;
  return { answers, byEppA: picks(plane.epp.log()).length - beforeA, byEppB: picks(poolB.epp.log()).length - beforeB, picked: newPicks.map(podAt) };
}

const summary = (sent: Awaited<ReturnType<typeof send>>) =>
  JSON.stringify({ answers: sent.answers.map((a) => `${a.status} ${a.servedBy ?? '-'}`), picksByEppA: sent.byEppA, picksByEppB: sent.byEppB, picked: sent.picked });

t.test('each pool\'s override matching its own InferencePool rule\'s route: each EPP picks its own pool\'s requests', async (t) => {
  const { printed, clusters } = await setUp((pool) => envoyRoute(pool));
  t.notMatch(printed.join('\n'), 'EPP231', 'kubectl printed no EPP231 for overrides that name their route');
  t.same(await routeOverrides([clusters.a, clusters.b]), [clusters.a, clusters.b], "each route's override names its own pool's EPP cluster");
  const a = await send('a');
  const b = await send('b');
  t.comment(`model a: ${summary(a)}; model b: ${summary(b)}`);
  t.ok(a.answers.every((x) => x.status === 200 && podsA().includes(x.servedBy!)), `model a served by ${POOL}'s Pods`);
  t.same([a.byEppA, a.byEppB], [a.answers.length, 0], `model a picked by ${POOL}'s EPP, once per request`);
  t.same(a.picked, a.answers.map((x) => x.servedBy), 'each answered by the Pod its EPP picked (EPP log, in order)');
  t.ok(b.answers.every((x) => x.status === 200 && podsB().includes(x.servedBy!)), "model b served by pool-b's Pods");
  t.same([b.byEppA, b.byEppB], [0, b.answers.length], "model b picked by pool-b's EPP, once per request");
  t.same(b.picked, b.answers.map((x) => x.servedBy), 'each answered by the Pod its EPP picked');
});

t.test('each pool\'s override matching no route by name: istiod merges both into every route, and one EPP is asked for both pools', async (t) => {
  const { printed, clusters } = await setUp(() => undefined);
  t.ok(printed.every((p) => p.includes('[EPP231]')), 'kubectl printed EPP231 for each EnvoyFilter');
  const overrides = await routeOverrides([clusters.a, clusters.b]);
  t.comment(`route overrides: ${JSON.stringify(overrides)}`);
  t.equal(overrides[0], overrides[1], "both routes carry the same EnvoyFilter's override: the one istiod merged last");
  const a = await send('a');
  const b = await send('b');
  t.comment(`model a: ${summary(a)}; model b: ${summary(b)}`);
  const winner = overrides[0] === clusters.a ? 'a' : 'b';
  const [other, ownPods] = winner === 'a' ? [b, podsB()] : [a, podsA()];
  t.same([other.byEppA, other.byEppB], winner === 'a' ? [other.answers.length, 0] : [0, other.answers.length], `the other pool's requests all go to pool ${winner}'s EPP, which picks a Pod of its own pool`);
  t.ok(other.answers.every((x) => x.status === 200 && ownPods.includes(x.servedBy!)), "answered 200 by their own pool's Pods anyway: its cluster skips a pick it does not have, and Envoy's load balancing chooses");
  t.ok(other.picked.every((pod) => pod !== undefined && !ownPods.includes(pod)), 'the Pods picked for them were of the other pool');
  const poolCluster = (await routeTable()).get(envoyRoute(winner === 'a' ? 1 : 0))?.cluster;
  t.same(await lbPolicyOf(poolCluster!), ['type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost'], `${poolCluster}: istiod's override_host policy, which takes a pick only among the cluster's own endpoints and otherwise falls back`);
});

t.test("a blue/green flip of rule 0's weights to pool-b, the overrides named by rule: its route keeps pool-a's override, pool-a's EPP is asked and its pick skipped", async (t) => {
  const { clusters } = await setUp((pool) => envoyRoute(pool));
  t.same(await routeOverrides([clusters.a, clusters.b]), [clusters.a, clusters.b], "each route's override names its own pool's EPP cluster");
  const before = (await routeTable()).get(envoyRoute(0))?.cluster;
  const flippedRoute = twoModelRoute([poolRef(POOL, 0), poolRef('pool-b', 100)]);
  const flipped = await apply(plane, flippedRoute);
  t.equal(flipped.code, 0, `kubectl apply of the flipped route ${flipped.stderr}`);
  // The route opts out of the ExtensionRef (Istio drops it): the validating webhook, not the mutating one, is called for it.
  t.match(flipped.stderr, `Warning: [EPP409] rules[0] sends traffic to InferencePool ${NS}/pool-b, and EnvoyFilter ${NS}/${POOL}-ext-proc`, 'kubectl printed the validating webhook\'s warning');
  const after = await waitFor(
    "istiod to send rule 0's route to pool-b",
    async () => {
      const route = (await routeTable()).get(envoyRoute(0));
      return route?.cluster !== undefined && route.cluster !== before ? route : undefined;
    },
    30_000,
  );
  t.comment(`rule 0's route: cluster ${before} -> ${after.cluster}, override ${after.override}`);
  t.match(after.cluster, 'pool-b', "rule 0's route now sends to pool-b's cluster");
  t.equal(after.override, clusters.a, "and still carries pool-a's EnvoyFilter's override: it names the route, not the pool");
  t.same(await lbPolicyOf(after.cluster!), ['type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost'], "pool-b's cluster: istiod's override_host policy");
  const a = await send('a');
  t.comment(`model a (rule 0, flipped to pool-b): ${summary(a)}`);
  t.same([a.byEppA, a.byEppB], [a.answers.length, 0], "its requests go to pool-a's EPP; pool-b's EPP is never asked");
  t.ok(a.picked.every((pod) => podsA().includes(pod!)), "the Pods picked were pool-a's");
  t.ok(a.answers.every((x) => x.status === 200 && podsB().includes(x.servedBy!)), "answered 200 by pool-b's Pods that no EPP picked: pool-b's cluster skips the pick");

  const checked = await spawnCli(['check', '-', '--kubeconfig', plane.cp.kubeconfig], stringify(flippedRoute));
  t.comment(checked.stdout);
  t.match(checked.stdout, `warning: [EPP409] sends traffic to InferencePool ${NS}/pool-b, and EnvoyFilter ${NS}/${POOL}-ext-proc, annotated with InferencePool ${NS}/${POOL}, overrides this rule's Envoy route ${envoyRoute(0)}`, 'epp-webhook check against the cluster says what happened');
  t.match(checked.stdout, 'at spec.rules[0].backendRefs');
  t.notMatch(checked.stdout, 'spec.rules[1].backendRefs', "rule 1 carries pool-b's own override: nothing said");
});

t.test("which namespaces' EnvoyFilters reach the gateway: not another namespace's, whatever its workloadSelector; Istio's root namespace's, as EPP409 counts them", async (t) => {
  // Only the two stray EnvoyFilters below override rule 0's route: the pools' own are removed, the flip undone.
  t.equal((await plane.cp.kubectl(['delete', 'envoyfilter', '--all', '-n', NS])).code, 0, "the pools' own EnvoyFilters removed");
  t.equal((await apply(plane, twoModelRoute())).code, 0, 'the route as first applied, each rule to its own pool');
  const ELSEWHERE = 'elsewhere';
  await createNamespace(plane.cp, ELSEWHERE);
  marker++;
  // pool-b's EnvoyFilter, as examples/ has it (its workloadSelector selects the gateway's Pod by label), matching rule
  // 0's route, which goes to pool-a: once in another namespace, then in istiod's root namespace. The informers of
  // istiod and the webhook both watch EnvoyFilters in one stream, so whatever has seen the second has seen the first.
  const elsewhere = poolEnvoyFilter(poolB.name, poolB.eppService, envoyRoute(0), ELSEWHERE);
  const root = poolEnvoyFilter(poolB.name, poolB.eppService, envoyRoute(0), ISTIO_NAMESPACE);
  const first = await apply(plane, elsewhere.doc);
  t.equal(first.code, 0, `kubectl apply in ${ELSEWHERE} ${first.stderr}`);
  const second = await applyAndWait(plane, root.doc, root.cluster);
  t.equal(second.code, 0, `kubectl apply in ${ISTIO_NAMESPACE} ${second.stderr}`);

  const override = await waitFor(
    `rule 0's route to carry ${root.cluster}`,
    async () => {
      const found = (await routeTable()).get(envoyRoute(0))?.override;
      return found === root.cluster || found === elsewhere.cluster ? found : undefined;
    },
    30_000,
  );
  t.equal(override, root.cluster, `rule 0's route carries the override of the EnvoyFilter in Istio's root namespace ${ISTIO_NAMESPACE}`);
  t.notOk((await clusterNames(plane.envoy)).includes(elsewhere.cluster), `the EnvoyFilter in ${ELSEWHERE} reached the gateway in ${NS} in no part: not even its CLUSTER patch`);
  const a = await send('a');
  t.comment(`model a (rule 0): ${summary(a)}`);
  t.same([a.byEppA, a.byEppB], [0, a.answers.length], "model a's requests go to pool-b's EPP, through the root namespace's override");

  let poll = 0;
  const dryRun = async () => {
    const route: any = twoModelRoute();
    route.metadata.labels = { poll: String(++poll) };
    return plane.cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: stringify(route) });
  };
  const said = await waitFor('the webhook to say EPP409 for rule 0', async () => {
    const result = await dryRun();
    return result.stderr.includes('[EPP409]') ? result.stderr : undefined;
  }, 30_000);
  t.comment(said);
  t.match(said, `Warning: [EPP409] rules[0] sends traffic to InferencePool ${NS}/${POOL}, and EnvoyFilter ${ISTIO_NAMESPACE}/${poolB.name}-ext-proc, annotated with InferencePool ${NS}/${poolB.name}`, 'kubectl apply of the route: EPP409 names the root namespace\'s EnvoyFilter');
  t.notMatch(said, `EnvoyFilter ${ELSEWHERE}/`, `and not the one in ${ELSEWHERE}, which the webhook had seen first`);
  const checked = await spawnCli(['check', '-', '--kubeconfig', plane.cp.kubeconfig], stringify(twoModelRoute()));
  t.match(checked.stdout, `EnvoyFilter ${ISTIO_NAMESPACE}/${poolB.name}-ext-proc, annotated`, 'epp-webhook check against the cluster says the same');
  t.notMatch(checked.stdout, `EnvoyFilter ${ELSEWHERE}/`);

  for (const ns of [ISTIO_NAMESPACE, ELSEWHERE]) await plane.cp.kubectl(['delete', 'envoyfilter', '--all', '-n', ns]);
});
