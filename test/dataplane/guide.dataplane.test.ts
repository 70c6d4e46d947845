/**
 * The guide, live: kubectl apply -> the webhook -> istiod -> Envoy -> the real EPP -> the model-server Pods.
 * A completion sent to the gateway must be routed by the EPP, through the cluster whose address the webhook filled in.
 */
import t from 'tap';
import { waitFor } from '../e2e/harness/processes.ts';
import { post } from './harness/client.ts';
import { applyEppService, EPP_SERVICE, NS, startDataPlane, type DataPlane } from './harness/dataplane.ts';
import { applyAndWait, exampleEnvoyFilter, poolRoute } from './harness/guide-manifests.ts';

// The example EnvoyFilter's CLUSTER patch is its second (the route patch comes first).
const ADDRESS = '{.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address}';

let plane: DataPlane;
t.before(async () => {
  plane = await startDataPlane();
});
t.teardown(async () => {
  await plane?.stop();
});

/** The endpoints (ip:port) the EPP logged as its picks ("Request handled ... endpoint"), in order. */
const eppPicks = () => [...plane.epp.log().matchAll(/"Request handled".*"endpoint":"([^"]*)"/g)].map((m) => m[1]);
const podOf = (endpoint: string) => plane.models.find((m) => `${m.host}:${m.port}` === endpoint)?.name;

t.test('the guide: a completion through Envoy is routed by the real EPP to the Pod it picked', async (t) => {
  const route = await applyAndWait(plane, poolRoute({ inject: false }));
  t.equal(route.code, 0, route.stderr);
  const envoyFilter = await applyAndWait(plane, exampleEnvoyFilter(), 'epp-cluster');
  t.equal(envoyFilter.code, 0, envoyFilter.stderr);
  t.comment(`kubectl apply of the EnvoyFilter printed: ${envoyFilter.stderr.trim() || '(no warnings)'}`);
  t.notMatch(envoyFilter.stderr, 'EPP230', 'the example carries the route override EPP230 asks for');
  const clusterIP = await plane.eppClusterIP();
  t.match(clusterIP, /^127\.100\.\d+\.\d+$/, 'the EPP Service has a loopback ClusterIP');
  const stored = await plane.cp.kubectl(['get', 'envoyfilter', '-n', NS, 'epp-ext-proc', '-o', `jsonpath=${ADDRESS}`]);
  t.equal(stored.stdout, clusterIP, 'the webhook replaced the placeholder with the live ClusterIP');

  const picksBefore = eppPicks().length;
  const answers = [];
  for (let i = 0; i < 6; i++) answers.push(await post(`${plane.gatewayUrl}/v1/completions`));
  await new Promise((r) => setTimeout(r, 300));
  const picks = eppPicks().slice(picksBefore);
  t.same(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200], JSON.stringify(answers.map((a) => a.body)));
  t.ok(answers.every((a) => plane.models.some((m) => m.name === a.servedBy)), 'each answer names a model-server Pod');
  const stats = await plane.envoy.stats('epp-cluster');
  t.ok((stats.get('cluster.epp-cluster.upstream_rq_total') ?? 0) >= 6, `Envoy reached the EPP through epp-cluster (the substituted ClusterIP): ${JSON.stringify([...stats])}`);
  t.same(picks.map(podOf), answers.map((a) => a.servedBy), 'each answer came from the Pod the EPP picked for it (EPP log, in order)');

  // Raise one Pod's queue: the EPP's queue scorer moves the traffic to the other.
  const [busy, idle] = plane.models;
  busy.metrics.waiting = 50;
  await new Promise((r) => setTimeout(r, 1000));
  const after = [];
  for (let i = 0; i < 6; i++) after.push(await post(`${plane.gatewayUrl}/v1/completions`));
  t.same(after.map((a) => a.servedBy), Array(6).fill(idle.name), `with ${busy.name} queueing 50 requests, every completion goes to ${idle.name}`);
  busy.metrics.waiting = 0;
});

t.test('the EPP Service deleted and recreated: the reconciler rewrites the address, requests succeed again', async (t) => {
  const oldIP = await plane.eppClusterIP();
  const target = (await plane.cp.kubectl(['get', 'service', '-n', NS, EPP_SERVICE, '-o', 'jsonpath={.spec.ports[0].targetPort}'])).stdout;
  const eppHost = async () => (await plane.envoy.admin('/clusters')).match(/^epp-cluster::([\d.]+):9002::cx_total/m)?.[1];
  t.equal(await eppHost(), oldIP);

  // A client keeps sending completions, one at a time, through the whole change.
  const seen: { at: number; status: number }[] = [];
  let sending = true;
  const client = (async () => {
    while (sending) {
      const a = await post(`${plane.gatewayUrl}/v1/completions`, undefined, { timeoutMs: 5000 });
      seen.push({ at: Date.now(), status: a.status });
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  t.equal((await plane.cp.kubectl(['delete', 'service', '-n', NS, EPP_SERVICE])).code, 0);
  await new Promise((r) => setTimeout(r, 1000));
  const recreated = Date.now();
  await applyEppService(plane.cp, Number(target));
  const newIP = await plane.eppClusterIP();
  t.not(newIP, oldIP, 'the recreated Service got another ClusterIP');
  await waitFor('Envoy to use the new ClusterIP', async () => ((await eppHost()) === newIP ? true : undefined), 60_000, 50);
  const switchedMs = Date.now() - recreated;
  await new Promise((r) => setTimeout(r, 1000));
  sending = false;
  await client;

  const stored = await plane.cp.kubectl(['get', 'envoyfilter', '-n', NS, 'epp-ext-proc', '-o', `jsonpath=${ADDRESS}`]);
  t.equal(stored.stdout, newIP, 'the reconciler wrote the new ClusterIP into the EnvoyFilter, with nothing done by hand');
  const after = await post(`${plane.gatewayUrl}/v1/completions`);
  t.equal(after.status, 200, 'a completion succeeds through the new ClusterIP');
  const failed = seen.filter((s) => s.status !== 200).map((s) => ({ status: s.status, msAfterRecreate: s.at - recreated }));
  t.comment(`Envoy used the new ClusterIP ${switchedMs} ms after the Service was recreated; ${seen.length} requests during the change, ${failed.length} not 200: ${JSON.stringify(failed)}`);
  t.ok(switchedMs < 15_000, `Envoy follows the recreated Service within 15 s (took ${switchedMs} ms)`);
  // Measured: the EPP Pod keeps running and Envoy keeps its connection to it (kube-proxy's conntrack, here the stand-in's
  // open pipe), so requests succeed until Envoy swaps the STATIC cluster; the ext_proc streams in flight on the old
  // cluster at that moment are reset and those requests get 500 (fail-closed). Every request after the swap succeeds.
  // How many fail depends on how fast the machine swaps (0-3 when quiet, 4 under load); the window is what a user sees.
  const window = failed.length === 0 ? 0 : failed[failed.length - 1].msAfterRecreate - failed[0].msAfterRecreate;
  t.ok(window <= 500, `the failures fall within half a second (${failed.length} in ${window} ms)`);
  t.ok(failed.every((f) => f.status === 500 && f.msAfterRecreate <= switchedMs + 500), 'failures are 500s at the moment Envoy swaps the cluster, none later');
});
