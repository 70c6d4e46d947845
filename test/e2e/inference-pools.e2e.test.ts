/**
 * The InferencePool as the source of truth for the EPP, against a real kube-apiserver with the real InferencePool CRD
 * (test/fixtures/crds: inference.networking.k8s.io v1, the version it serves; the v1alpha2 API is not installed, so
 * the webhook's watch of it must count as synced and empty) and the webhook's service account with deploy/'s RBAC:
 * two pools with two EPP Services behind one gateway, placeholder manifests applied with kubectl and no per-route
 * annotation; then a pool repointed to a third EPP Service, and its EnvoyFilter following (serve --reconcile).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startControlPlane, type ControlPlane } from './harness/control-plane.ts';
import { createNamespace, createService, installCrdsAndRbac } from './harness/cluster-setup.ts';
import { waitFor } from './harness/processes.ts';
import { registerWebhooks, startWebhookProcess, waitUntilMutating, type WebhookProcess } from './harness/webhook-process.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NS = 'llm-d';
const [POOL_A, POOL_B, FILTER_A, FILTER_B, ROUTE] = readFileSync(join(ROOT, 'test/fixtures/manifests/two-pools/two-pools.yaml'), 'utf8')
  .split('\n---\n')
  .map((text) => parseAllDocuments(text)[0].toJS());

let cp: ControlPlane;
let webhook: WebhookProcess;
const ip: Record<string, string> = {};

async function kubectlApply(objects: unknown[], extra: string[] = []) {
  return cp.kubectl(['apply', ...extra, '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') });
}

async function get(resource: string, name: string): Promise<any> {
  const result = await cp.kubectl(['get', resource, '-n', NS, name, '-o', 'json']);
  if (result.code !== 0) throw new Error(`kubectl get ${resource} ${name}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

const socketOf = (filter: any) => filter.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;

t.before(async () => {
  cp = await startControlPlane();
  await installCrdsAndRbac(cp);
  await createNamespace(cp, NS);
  ip['epp-a'] = await createService(cp, NS, 'epp-a', [9002, 9090]);
  ip['epp-b'] = await createService(cp, NS, 'epp-b', [9012]);
  ip['epp-c'] = await createService(cp, NS, 'epp-c', [9022]);
  // The registration probe resolves the configured default Service.
  await createService(cp, NS, 'gaie-inference-scheduling-epp');
  webhook = await startWebhookProcess(cp, { extraArgs: ['--reconcile', '--leader-election-namespace=epp-webhook', '--leader-election-identity=pools-e2e'] });
  await registerWebhooks(cp, webhook.url, webhook.caPem);
  await waitUntilMutating(cp, NS);
});

t.teardown(async () => {
  await webhook?.stop();
  await cp?.stop();
});

t.test('two pools, two EPP Services, one gateway: placeholder manifests applied with kubectl', async (t) => {
  const pools = await kubectlApply([POOL_A, POOL_B]);
  t.equal(pools.code, 0, pools.stderr);
  // The pools first: a pool the webhook's cache has not seen yet would be denied (EPP109), never guessed.
  const filters = await waitFor('both EnvoyFilters admitted', async () => {
    const result = await kubectlApply([FILTER_A, FILTER_B]);
    return result.code === 0 ? result : undefined;
  }, 15_000, 250);
  t.match(filters.stdout, /envoyfilter.networking.istio.io\/pool-a-ext-proc created/);

  const a = await get('envoyfilter', 'pool-a-ext-proc');
  const b = await get('envoyfilter', 'pool-b-ext-proc');
  t.same(socketOf(a), { address: ip['epp-a'], port_value: 9002 }, 'pool-a: its EPP Service ClusterIP and endpointPickerRef port, stored as a number');
  t.same(socketOf(b), { address: ip['epp-b'], port_value: 9012 }, 'pool-b: its own');
  t.not(ip['epp-a'], ip['epp-b']);
  t.equal(b.metadata.annotations['epp-webhook.io/resolved-service'], `${NS}/epp-b`);
  t.equal(b.metadata.annotations['epp-webhook.io/resolved-port'], '9012');

  const again = await kubectlApply([FILTER_A, FILTER_B]);
  t.equal(again.code, 0, again.stderr);
  t.equal((await get('envoyfilter', 'pool-b-ext-proc')).metadata.resourceVersion, b.metadata.resourceVersion, 'the placeholder manifest re-applied stores nothing new');

  const route = await waitFor('the route admitted with both filters', async () => {
    const result = await kubectlApply([ROUTE]);
    if (result.code !== 0) throw new Error(result.stderr);
    const stored = await get('httproute', 'models');
    const names = stored.spec.rules.map((r: any) => (r.filters ?? []).map((f: any) => f.extensionRef?.name));
    return names.flat().length === 2 ? names : undefined;
  }, 10_000, 250);
  t.same(route, [['pool-a-ext-proc'], ['pool-b-ext-proc']], 'each rule stored with the EnvoyFilter of its pool, no route annotation');
});

t.test('a rule that mixes the two pools is refused, naming both', async (t) => {
  const mixed = structuredClone(ROUTE);
  mixed.metadata.name = 'mixed';
  mixed.spec.rules[0].backendRefs.push({ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'pool-b' });
  const result = await kubectlApply([mixed]);
  t.not(result.code, 0);
  t.match(result.stderr, /\[EPP404\] rules\[0\] sends traffic to InferencePools served by different EnvoyFilters \(llm-d\/pool-a -> pool-a-ext-proc, llm-d\/pool-b -> pool-b-ext-proc\)/);
});

t.test("blue/green between the two pools: weight 0 counts for nothing; a flip in the live object moves the rule's filter to the new pool", async (t) => {
  const blueGreen = structuredClone(ROUTE);
  blueGreen.metadata.name = 'blue-green';
  blueGreen.spec.rules = [{ ...ROUTE.spec.rules[0], backendRefs: [{ ...ROUTE.spec.rules[0].backendRefs[0], weight: 100 }, { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'pool-b', weight: 0 }] }];
  t.teardown(async () => void (await cp.kubectl(['delete', 'httproute', '-n', NS, 'blue-green', '--ignore-not-found'])));
  const applied = await kubectlApply([blueGreen]);
  t.equal(applied.code, 0, applied.stderr);
  const filterNames = async () => (await get('httproute', 'blue-green')).spec.rules[0].filters.map((f: any) => f.extensionRef.name);
  t.same(await filterNames(), ['pool-a-ext-proc'], 'pool-b at weight 0 gets no request: no EPP404');
  const patch = (operations: unknown[], extra: string[] = []) => cp.kubectl(['patch', 'httproute', '-n', NS, 'blue-green', '--type=json', '-p', JSON.stringify(operations), ...extra]);
  const weights = (a: number, b: number) => [{ op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: a }, { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: b }];
  const replaced = /Warning: \[EPP408\] rules\[0\] references EnvoyFilter pool-a-ext-proc, the ext_proc filter of InferencePool llm-d\/pool-a \(its epp-webhook\.io\/inference-pool annotation\), but the rule sends traffic to llm-d\/pool-b: the webhook replaces it with pool-b-ext-proc/;
  const dropIt = /Warning: \[EPP408\] Fix: nothing to do after a kubectl patch, kubectl edit or rollout controller changed the rule's backendRefs; if your manifest names pool-a-ext-proc there, drop that ExtensionRef/;

  // What a rollout controller (or kubectl edit) does: the weights flipped in the live object, pool-a's filter still in the rule.
  const dryRun = await patch(weights(0, 100), ['--dry-run=server', '-o', 'json']);
  t.equal(dryRun.code, 0, dryRun.stderr);
  t.same(JSON.parse(dryRun.stdout).spec.rules[0].filters.map((f: any) => f.extensionRef.name), ['pool-b-ext-proc'], 'a server dry-run shows the filter that would be stored');
  t.same(await filterNames(), ['pool-a-ext-proc'], 'and stores nothing');
  const flipped = await patch(weights(0, 100));
  t.equal(flipped.code, 0, flipped.stderr);
  t.match(flipped.stderr, replaced, 'kubectl prints what the webhook replaced');
  t.same(await filterNames(), ['pool-b-ext-proc'], "pool-b's filter stored in place of pool-a's");
  const back = await patch(weights(100, 0));
  t.equal(back.code, 0, back.stderr);
  t.same(await filterNames(), ['pool-a-ext-proc'], 'and back');

  // A manifest copied from the live object keeps pool-a's filter; applied with the flip, and again, it gets the same answer.
  const copied = await get('httproute', 'blue-green');
  const manifest = { apiVersion: copied.apiVersion, kind: copied.kind, metadata: { name: 'blue-green', namespace: NS }, spec: structuredClone(copied.spec) };
  manifest.spec.rules[0].backendRefs[0].weight = 0;
  manifest.spec.rules[0].backendRefs[1].weight = 100;
  for (const attempt of ['first', 'second']) {
    const result = await kubectlApply([manifest], ['--server-side', '--force-conflicts']);
    t.equal(result.code, 0, `${attempt} apply: ${result.stderr}`);
    t.match(result.stderr, replaced, `${attempt} apply: the same warning`);
    t.match(result.stderr, dropIt, `${attempt} apply: its fix says to drop the ExtensionRef from the manifest`);
    t.same(await filterNames(), ['pool-b-ext-proc'], `${attempt} apply: pool-b's filter stored`);
  }

  // Beside a second ExtensionRef of the kind the webhook cannot tell which is the rule's ext_proc filter: refused, not rewritten.
  const second = { type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'pool-a-ext-proc' } };
  const refused = await patch([...weights(100, 0), { op: 'add', path: '/spec/rules/0/filters/-', value: second }]);
  t.not(refused.code, 0, 'refused rather than a guess');
  t.match(refused.stderr, /\[EPP405\] rules\[0\] references EnvoyFilter pool-b-ext-proc, the ext_proc filter of InferencePool llm-d\/pool-b .*, but the rule sends traffic to llm-d\/pool-a, and it holds 2 ExtensionRefs to an EnvoyFilter/);
  t.same(await filterNames(), ['pool-b-ext-proc'], 'nothing stored');
});

t.test("on Istio's own InferencePool support (the route opted out of the ExtensionRef), a flip of weights that leaves pool-a's route override on rule 0: the validating webhook warns (EPP409)", async (t) => {
  const optedOut = (rule0: unknown[]) => {
    const route = structuredClone(ROUTE);
    route.metadata.annotations = { 'epp-webhook.io/inject': 'false' };
    route.spec.rules[0].backendRefs = rule0;
    return route;
  };
  const poolRef = (name: string, weight: number) => ({ group: 'inference.networking.k8s.io', kind: 'InferencePool', name, weight });
  /** HTTPRoute admissions the webhook answered on `endpoint`, from its own counter. */
  const routeAdmissions = async (endpoint: 'mutate' | 'validate') =>
    [...(await webhook.metrics()).matchAll(new RegExp(`^epp_webhook_admission_requests_total\\{[^}]*endpoint="${endpoint}"[^}]*kind="HTTPRoute"[^}]*\\} (\\d+)`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  const before = { mutate: await routeAdmissions('mutate'), validate: await routeAdmissions('validate') };
  const asWritten = await kubectlApply([optedOut([poolRef('pool-a', 100), poolRef('pool-b', 0)])], ['--dry-run=server']);
  t.equal(asWritten.code, 0, asWritten.stderr);
  t.notMatch(asWritten.stderr, 'EPP409', "each rule's route overridden by its own pool's EnvoyFilter: nothing to say");
  const flipped = await kubectlApply([optedOut([poolRef('pool-a', 0), poolRef('pool-b', 100)])], ['--dry-run=server']);
  t.equal(flipped.code, 0, `a warning, not a denial: ${flipped.stderr}`);
  t.match(
    flipped.stderr,
    /Warning: \[EPP409\] rules\[0\] sends traffic to InferencePool llm-d\/pool-b, and EnvoyFilter llm-d\/pool-a-ext-proc, annotated with InferencePool llm-d\/pool-a, overrides this rule's Envoy route llm-d\.models\.0/,
    'kubectl prints what the validating webhook says',
  );
  t.notMatch(flipped.stderr, 'rules[1]', "rule 1 keeps pool-b's own override");
  t.same(
    { mutate: (await routeAdmissions('mutate')) - before.mutate, validate: (await routeAdmissions('validate')) - before.validate },
    { mutate: 0, validate: 2 },
    'both applies reached /validate and neither /mutate (the two registrations\' matchConditions)',
  );
});

t.test('a missing pool, a conflicting annotation and a failure mode against the pool: clear answers', async (t) => {
  const missing = structuredClone(FILTER_A);
  missing.metadata = { name: 'no-pool', namespace: NS, annotations: { 'epp-webhook.io/inference-pool': 'pool-z' } };
  const refused = await kubectlApply([missing]);
  t.not(refused.code, 0);
  t.match(refused.stderr, /\[EPP109\] metadata\.annotations epp-webhook\.io\/inference-pool llm-d\/pool-z: InferencePool not found/);

  const conflict = structuredClone(FILTER_A);
  conflict.metadata = { name: 'conflict', namespace: NS, annotations: { 'epp-webhook.io/inference-pool': 'pool-a', 'epp-webhook.io/epp-service': 'epp-b' } };
  const denied = await kubectlApply([conflict]);
  t.match(denied.stderr, /\[EPP111\] .*pool-a names EPP Service llm-d\/epp-a, but epp-webhook\.io\/epp-service names llm-d\/epp-b/);

  const failOpen = structuredClone(FILTER_B);
  failOpen.metadata = { name: 'fail-closed-filter', namespace: NS, annotations: { 'epp-webhook.io/inference-pool': 'pool-b' } };
  failOpen.spec.configPatches.unshift({
    applyTo: 'HTTP_FILTER',
    match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } } } },
    patch: {
      operation: 'INSERT_BEFORE',
      value: {
        name: 'envoy.filters.http.ext_proc',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
          grpc_service: { envoy_grpc: { cluster_name: 'pool-b-epp' } },
          processing_mode: { request_header_mode: 'SEND', request_body_mode: 'FULL_DUPLEX_STREAMED', request_trailer_mode: 'SEND', response_header_mode: 'SEND', response_body_mode: 'FULL_DUPLEX_STREAMED', response_trailer_mode: 'SEND' },
        },
      },
    },
  });
  const warned = await kubectlApply([failOpen], ['--dry-run=server']);
  t.equal(warned.code, 0, warned.stderr);
  t.match(warned.stderr, /Warning: \[EPP113\] .*failure_mode_allow is unset \(false\), but InferencePool llm-d\/pool-b asks for failureMode FailOpen/);
});

t.test('render --kubeconfig takes the pools and EnvoyFilters from the cluster', async (t) => {
  const input = [FILTER_A, ROUTE].map((o) => JSON.stringify(o)).join('\n---\n');
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'src/main.ts'), 'render', '-', '--kubeconfig', cp.kubeconfig], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject).on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
  t.equal(result.code, 0, result.stderr);
  const [filter, route] = parseAllDocuments(result.stdout).map((d) => d.toJS());
  t.same(socketOf(filter), { address: ip['epp-a'], port_value: 9002 }, 'the pool from the cluster, its Service from the cluster');
  t.same(route.spec.rules.map((r: any) => r.filters[0].extensionRef.name), ['pool-a-ext-proc', 'pool-b-ext-proc'], 'the EnvoyFilters stored in the cluster serve the pools');
});

t.test('the pool repointed to another EPP Service: the EnvoyFilter follows, with an Event', async (t) => {
  const since = Date.now();
  const patched = await cp.kubectl(['patch', 'inferencepool', '-n', NS, 'pool-b', '--type=merge', '-p', JSON.stringify({ spec: { endpointPickerRef: { name: 'epp-c', port: { number: 9022 } } } })]);
  t.equal(patched.code, 0, patched.stderr);
  const followed = await waitFor('pool-b-ext-proc to follow its pool', async () => {
    const filter = await get('envoyfilter', 'pool-b-ext-proc');
    return socketOf(filter).address === ip['epp-c'] ? filter : undefined;
  }, 15_000, 50);
  const ms = Date.now() - since;
  t.same(socketOf(followed), { address: ip['epp-c'], port_value: 9022 });
  t.equal(followed.metadata.annotations['epp-webhook.io/resolved-service'], `${NS}/epp-c`);
  t.equal(followed.metadata.annotations['epp-webhook.io/resolved-cluster-ip'], ip['epp-c']);
  t.equal(followed.metadata.annotations['epp-webhook.io/resolved-port'], '9022');
  t.same(socketOf(await get('envoyfilter', 'pool-a-ext-proc')), { address: ip['epp-a'], port_value: 9002 }, 'the other pool\'s EnvoyFilter is untouched');
  const event = await waitFor('an EndpointPickerFollowed Event', async () => {
    const { body } = await cp.api('GET', `/apis/events.k8s.io/v1/namespaces/${NS}/events`);
    return (body.items ?? []).find((e: any) => e.regarding?.name === 'pool-b-ext-proc' && e.reason === 'EndpointPickerFollowed');
  }, 10_000);
  t.equal(event.type, 'Normal');
  t.match(event.note, `InferencePool ${NS}/pool-b now names EPP Service ${NS}/epp-c (was ${NS}/epp-b): ClusterIP ${ip['epp-b']} -> ${ip['epp-c']}, port 9012 -> 9022`);
  process.stdout.write(`# measured: pool repointed -> EnvoyFilter patched and read back: ${ms} ms\n`);

  const reapplied = await kubectlApply([FILTER_B]);
  t.equal(reapplied.code, 0, reapplied.stderr);
  t.same(socketOf(await get('envoyfilter', 'pool-b-ext-proc')), { address: ip['epp-c'], port_value: 9022 }, 'the placeholder manifest re-applied resolves to the new EPP too');
});

t.test('a route that sorts before its pool\'s EnvoyFilter in one `kubectl apply -f dir/`: denied rather than sent to another pool\'s EPP; applied again, it gets its own', async (t) => {
  // A setup that began with one pool: its EnvoyFilter has the default extensionRef.name.
  const defaultNamed = structuredClone(FILTER_A);
  defaultNamed.metadata.name = 'epp-ext-proc';
  t.equal((await kubectlApply([defaultNamed])).code, 0);
  const poolC = JSON.parse(JSON.stringify(POOL_B).replaceAll('pool-b', 'pool-c').replaceAll('epp-b', 'epp-c').replaceAll('9012', '9022'));
  t.equal((await kubectlApply([poolC])).code, 0);
  const filterC = JSON.parse(JSON.stringify(FILTER_B).replaceAll('pool-b', 'pool-c'));
  const routeC = structuredClone(ROUTE);
  routeC.metadata.name = 'models-c';
  routeC.spec.rules = [{ ...ROUTE.spec.rules[1], backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'pool-c' }] }];
  const dir = mkdtempSync(join(cp.dir, 'apply-dir-'));
  writeFileSync(join(dir, 'models-c.yaml'), JSON.stringify(routeC));
  writeFileSync(join(dir, 'pool-c-ext-proc.yaml'), JSON.stringify(filterC));
  t.teardown(async () => {
    await cp.kubectl(['delete', '-f', dir, '--ignore-not-found']);
    await cp.kubectl(['delete', 'envoyfilter', '-n', NS, 'epp-ext-proc', '--ignore-not-found']);
  });

  const first = await waitFor('the pool-c EnvoyFilter admitted (the pool is in the cache)', async () => {
    const result = await cp.kubectl(['apply', '-f', dir]);
    return /pool-c-ext-proc (created|unchanged)/.test(result.stdout) ? result : undefined;
  }, 15_000, 250);
  t.not(first.code, 0, 'kubectl reports the route it could not apply');
  t.match(first.stderr, /\[EPP407\] rules\[0\] InferencePool llm-d\/pool-c: no EnvoyFilter in namespace llm-d carries epp-webhook\.io\/inference-pool for it, so the rule would get the configured default \(extensionRef\.name\), EnvoyFilter epp-ext-proc, which is annotated with InferencePool llm-d\/pool-a/);
  t.equal((await cp.kubectl(['get', 'httproute', '-n', NS, 'models-c'])).code, 1, 'the route was not stored pointing at pool-a\'s EPP');

  const names = await waitFor('the route admitted with its pool\'s EnvoyFilter', async () => {
    const result = await cp.kubectl(['apply', '-f', dir]);
    if (result.code !== 0) return undefined;
    return (await get('httproute', 'models-c')).spec.rules.map((r: any) => (r.filters ?? []).map((f: any) => f.extensionRef?.name));
  }, 10_000, 250);
  t.same(names, [['pool-c-ext-proc']], 'the same directory applied again: the route gets pool-c\'s EnvoyFilter');
});

t.test('the webhook identity may list, watch and get InferencePools and EnvoyFilters, and nothing more of them', async (t) => {
  const kubeconfig = cp.kubeconfigFor('system:serviceaccount:epp-webhook:epp-webhook', ['system:serviceaccounts', 'system:serviceaccounts:epp-webhook']);
  const can = async (...args: string[]) => (await cp.kubectl(['auth', 'can-i', ...args], { kubeconfig })).stdout.trim();
  t.equal(await can('list', 'inferencepools.inference.networking.k8s.io', '--all-namespaces'), 'yes');
  // kubectl resolves a resource through discovery, and the v1alpha2 API is not served here: ask the authorizer itself.
  const review = await cp.api('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: 'system:serviceaccount:epp-webhook:epp-webhook',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:epp-webhook'],
      resourceAttributes: { group: 'inference.networking.x-k8s.io', resource: 'inferencepools', verb: 'watch' },
    },
  });
  t.equal(review.body.status?.allowed, true, 'watch of v1alpha2 InferencePools, for when that CRD is installed');
  t.equal(await can('watch', 'envoyfilters', '--all-namespaces'), 'yes');
  // The reconciler reads a pool from the API before it follows it: its cache may be behind another replica's admission.
  t.equal(await can('get', 'inferencepools.inference.networking.k8s.io', '-n', NS), 'yes');
  t.equal(await can('get', 'services', '-n', NS), 'yes');
  t.equal(await can('patch', 'inferencepools.inference.networking.k8s.io', '-n', NS), 'no');
  t.equal(await can('patch', 'services', '-n', NS), 'no');
});

t.test('an EnvoyFilter renamed the GitOps way (the new one applied before the old one is deleted): a kubectl label of a route wired to the old one is admitted, a new route to the pool is refused (EPP405)', async (t) => {
  const route = structuredClone(ROUTE);
  route.metadata.name = 'models-rename';
  route.spec.rules = [route.spec.rules[0]];
  const renamed = structuredClone(FILTER_A);
  renamed.metadata.name = 'pool-a-ext-proc-v2';
  t.teardown(async () => {
    await cp.kubectl(['delete', 'httproute', '-n', NS, 'models-rename', 'models-rename-new', '--ignore-not-found']);
    await cp.kubectl(['delete', 'envoyfilter', '-n', NS, 'pool-a-ext-proc-v2', '--ignore-not-found']);
  });
  const created = await kubectlApply([route]);
  t.equal(created.code, 0, created.stderr);
  t.same((await get('httproute', 'models-rename')).spec.rules[0].filters.map((f: any) => f.extensionRef.name), ['pool-a-ext-proc']);
  const second = await kubectlApply([renamed]);
  t.equal(second.code, 0, second.stderr);
  const labelled = await waitFor('the second EnvoyFilter in the webhook\'s cache (a new route is refused)', async () => {
    const fresh = structuredClone(route);
    fresh.metadata.name = 'models-rename-new';
    const refused = await kubectlApply([fresh], ['--dry-run=server']);
    return refused.code !== 0 ? refused : undefined;
  }, 10_000, 250);
  t.match(labelled.stderr, /\[EPP405\] rules\[0\] InferencePool llm-d\/pool-a: EnvoyFilters pool-a-ext-proc, pool-a-ext-proc-v2 in namespace llm-d all carry epp-webhook\.io\/inference-pool for it/);
  const label = await cp.kubectl(['label', 'httproute', '-n', NS, 'models-rename', 'team=inference']);
  t.equal(label.code, 0, `the wired route is labelled: ${label.stderr}`);
  const stored = await get('httproute', 'models-rename');
  t.equal(stored.metadata.labels?.team, 'inference');
  t.same(stored.spec.rules[0].filters.map((f: any) => f.extensionRef.name), ['pool-a-ext-proc'], 'its filter kept');
});

t.test('a route opted out with kubectl annotate keeps the ExtensionRef injected before: the validating webhook warns EPP402; kubectl apply of the annotated manifest takes it away', async (t) => {
  const route = structuredClone(ROUTE);
  route.metadata.name = 'models-opt-out';
  t.teardown(async () => void (await cp.kubectl(['delete', 'httproute', '-n', NS, 'models-opt-out', '--ignore-not-found'])));
  const created = await kubectlApply([route]);
  t.equal(created.code, 0, created.stderr);
  const annotated = await cp.kubectl(['annotate', 'httproute', '-n', NS, 'models-opt-out', 'epp-webhook.io/inject=false']);
  t.equal(annotated.code, 0, annotated.stderr);
  t.match(annotated.stderr, /Warning: \[EPP402\] spec\.rules rules\[0\], rules\[1\] still hold the ExtensionRef to EnvoyFilter pool-a-ext-proc, pool-b-ext-proc, though the route is opted out with epp-webhook\.io\/inject: "false"/, 'kubectl prints it');
  t.same((await get('httproute', 'models-opt-out')).spec.rules.map((r: any) => (r.filters ?? []).length), [1, 1], 'the filters stay');
  const optedOut = structuredClone(route);
  optedOut.metadata.annotations = { ...optedOut.metadata.annotations, 'epp-webhook.io/inject': 'false' };
  const applied = await kubectlApply([optedOut]);
  t.equal(applied.code, 0, applied.stderr);
  t.notMatch(applied.stderr, 'EPP402', 'nothing left to warn about');
  t.same((await get('httproute', 'models-opt-out')).spec.rules.map((r: any) => (r.filters ?? []).length), [0, 0], 'kubectl apply of the manifest, which has none, removed them');
});

t.test("a rule's own ExtensionRef to an EnvoyFilter that is gone (what deleting a renamed one's old name leaves): admitted with EPP406 naming its pool's", async (t) => {
  const route = structuredClone(ROUTE);
  route.metadata.name = 'models-dangling';
  route.spec.rules = [{ ...route.spec.rules[0], filters: [{ type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'pool-a-ext-proc-old' } }] }];
  t.teardown(async () => void (await cp.kubectl(['delete', 'httproute', '-n', NS, 'models-dangling', '--ignore-not-found'])));
  const applied = await kubectlApply([route]);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stderr, /Warning: \[EPP406\] rules\[0\] the rule's own ExtensionRef names EnvoyFilter pool-a-ext-proc-old, which is not in namespace llm-d \(deleted, or renamed\)/);
  t.match(applied.stderr, /Warning: \[EPP406\] Fix: name EnvoyFilter pool-a-ext-proc there \(the one a rule to this pool gets\), or drop that ExtensionRef and the webhook adds it/);
  t.same((await get('httproute', 'models-dangling')).spec.rules[0].filters.map((f: any) => f.extensionRef.name), ['pool-a-ext-proc-old'], 'kept as written');
});
