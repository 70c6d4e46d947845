/**
 * The manual guide, as `kubectl apply` against a real kube-apiserver with the webhook registered
 * from deploy/base/webhooks.yaml and running as its own process with deploy/'s RBAC only.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ControlPlane } from './harness/control-plane.ts';
import { startClusterWithWebhook } from './harness/webhook-cluster.ts';
import { createNamespace, createService } from './harness/cluster-setup.ts';
import { WEBHOOK_IDENTITY, type WebhookProcess } from './harness/webhook-process.ts';
import { spawnCli } from '../cli/cli-harness.ts';
import { waitFor } from './harness/processes.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const fixture = (name: string) => join(ROOT, 'test/fixtures/manifests', name);
const fixtureText = (name: string) => readFileSync(fixture(name), 'utf8');
const NS = 'llm-d-inference-scheduler';
const ADDRESS = '{.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address}';

let cp: ControlPlane;
let webhook: WebhookProcess;
let eppClusterIP: string;

t.before(async () => {
  ({ cp, webhook } = await startClusterWithWebhook());
});
t.teardown(async () => {
  await webhook?.stop();
  await cp?.stop();
});

t.test('1. the guide, step by step: apply the placeholder EnvoyFilter, get the live ClusterIP', async (t) => {
  await createNamespace(cp, NS);
  eppClusterIP = await createService(cp, NS, 'gaie-inference-scheduling-epp', [9002, 9090]);
  t.match(eppClusterIP, /^10\.0\.\d+\.\d+$/, 'the apiserver allocated a ClusterIP');

  const applied = await cp.kubectl(['apply', '-f', fixture('guide-envoyfilter.yaml')]);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, 'envoyfilter.networking.istio.io/epp-ext-proc-poc created');
  t.match(applied.stderr, /Warning: \[EPP304\] configPatches\[0\] REPLACE on subFilter envoy\.filters\.http\.ext_proc/, 'kubectl printed our warnings');
  t.match(applied.stderr, /Warning: \[EPP306\]/);

  const stored = parse((await cp.kubectl(['get', 'envoyfilter', '-n', NS, 'epp-ext-proc-poc', '-o', 'yaml'])).stdout);
  t.equal(stored.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, eppClusterIP);
  t.equal(stored.metadata.annotations['epp-webhook.io/resolved-cluster-ip'], eppClusterIP);
  t.equal(stored.metadata.annotations['epp-webhook.io/resolved-service'], `${NS}/gaie-inference-scheduling-epp`);
  t.same(JSON.parse(stored.metadata.annotations['epp-webhook.io/placeholder-paths']), [
    '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address',
  ]);
});

t.test('2. an HTTPRoute to an InferencePool is stored with the ExtensionRef; one without is stored unchanged', async (t) => {
  const applied = await cp.kubectl(['apply', '-f', fixture('guide-httproute.yaml')]);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stderr, /Warning: \[EPP402\]/);
  const route = JSON.parse((await cp.kubectl(['get', 'httproute', '-n', NS, 'llm-d-inference-scheduling', '-o', 'json'])).stdout);
  t.same(route.spec.rules[0].filters.map((f: any) => f.type), ['RequestHeaderModifier', 'ExtensionRef'], 'own filters first, then ours, once');
  t.same(route.spec.rules[0].filters[1].extensionRef, { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'epp-ext-proc' });
  t.notOk(route.spec.rules[1].filters, 'the rule to a plain Service is untouched');

  const plain = await cp.kubectl(['apply', '-f', fixture('wild/operator-httproute-ab.yaml')]);
  t.equal(plain.code, 0, plain.stderr);
  t.notMatch(plain.stderr, /EPP4/, 'no webhook involvement at all (matchConditions)');
  const ab = JSON.parse((await cp.kubectl(['get', 'httproute', '-n', NS, 'vllm-ab-test', '-o', 'json'])).stdout);
  t.ok(ab.spec.rules.every((r: any) => r.filters === undefined));
  t.notOk(Object.keys(ab.metadata.annotations ?? {}).some((k) => k.startsWith('epp-webhook.io/')));

  // kubectl's client-side patch carries the manifest's filter list; the webhook injects into it again,
  // so the apiserver finds nothing to write. (kubectl still prints "configured": it sent a non-empty patch.)
  const version = async () => (await cp.kubectl(['get', 'httproute', '-n', NS, 'llm-d-inference-scheduling', '-o', 'jsonpath={.metadata.resourceVersion}'])).stdout;
  const before = await version();
  const again = await cp.kubectl(['apply', '-f', fixture('guide-httproute.yaml')]);
  t.equal(again.code, 0, again.stderr);
  t.equal(await version(), before, 're-applying the manifest stores nothing new');
  const diff = await cp.kubectl(['diff', '-f', fixture('guide-httproute.yaml')]);
  t.equal(diff.code, 0, `kubectl diff (server-side dry-run) sees no drift: ${diff.stdout}`);
});

t.test('3. unsafe configs are refused with our codes and fixes', async (t) => {
  const routeOverride = fixtureText('wild/operator-envoyfilter-route-override.yaml');
  // Under its own name: epp-ext-proc-poc is stored already, with the annotations the webhook wrote, which say "EPP".
  const ownName = routeOverride.replace('name: epp-ext-proc-poc', 'name: operator-route-override');
  const hinted = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: ownName });
  t.equal(hinted.code, 0, `a cluster that only looks like an EPP's (epp-cluster, an IP on port 9002) is no ground for a denial: ${hinted.stderr}`);
  t.match(hinted.stderr, /Warning: \[EPP202\] configPatches\[0\] .*judged an EPP only on a hint: cluster epp-cluster .*annotate epp-webhook\.io\/epp: "true" to confirm/);
  const confirmed = ownName.replace('metadata:\n', 'metadata:\n  annotations:\n    epp-webhook.io/epp: "true"\n');

  const cases: [string, RegExp[]][] = [
    ['wild/operator-sample-envoyfilter-epp.yaml', [/\[EPP201\] configPatches\[0\] ext_proc response_body_mode "SKIP"/, /\[EPP202\] configPatches\[0\] ext_proc request_body_mode BUFFERED/]],
    [confirmed, [/\[EPP202\] configPatches\[0\]/, /\[EPP202\] configPatches\[2\]/]],
    ['guide-envoyfilter-buffered.yaml', [/\[EPP202\] configPatches\[0\] ext_proc request_body_mode BUFFERED/]],
  ];
  for (const [source, messages] of cases) {
    const inline = source.includes('\n');
    const file = inline ? 'the route override annotated epp-webhook.io/epp: "true"' : source;
    const applied = inline ? await cp.kubectl(['apply', '-f', '-'], { input: source }) : await cp.kubectl(['apply', '-f', fixture(source)]);
    t.not(applied.code, 0, `${file} refused`);
    t.match(applied.stderr, /admission webhook "envoyfilters\.validate\.epp-webhook\.io" denied the request/, file);
    for (const message of messages) t.match(applied.stderr, message, file);
    t.match(applied.stderr, /Fix: set request_body_mode: FULL_DUPLEX_STREAMED/, file);
  }
  const names = (await cp.kubectl(['get', 'envoyfilter', '-n', NS, '-o', 'name'])).stdout.trim().split('\n');
  t.same(names, ['envoyfilter.networking.istio.io/epp-ext-proc-poc'], 'nothing unsafe was stored');
});

t.test("3b. another team's ext_proc filter (a WAF: BUFFERED bodies, plaintext, fail-open) applies cleanly; the EPP's ClusterIP written by hand is still an EPP", async (t) => {
  const applied = await cp.kubectl(['apply', '-f', fixture('waf-envoyfilter.yaml')]);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, 'envoyfilter.networking.istio.io/waf-ext-proc created');
  t.equal(applied.stderr, '', 'not one warning: the EPP rules are not the WAF\'s business');
  const stored = JSON.parse((await cp.kubectl(['get', 'envoyfilter', '-n', NS, 'waf-ext-proc', '-o', 'json'])).stdout);
  t.notOk(Object.keys(stored.metadata.annotations ?? {}).some((k) => k.startsWith('epp-webhook.io/')), 'stored as written');
  t.equal(stored.spec.configPatches[0].patch.value.typed_config.processing_mode.request_body_mode, 'BUFFERED');
  t.equal((await cp.kubectl(['delete', 'envoyfilter', '-n', NS, 'waf-ext-proc'])).code, 0);

  // The same filter sent to a cluster at the EPP Service's live ClusterIP: the webhook knows that IP from its Service cache.
  const byHand = fixtureText('waf-envoyfilter.yaml')
    .replace('name: waf-ext-proc', 'name: epp-by-hand')
    .replace('type: STRICT_DNS', 'type: STATIC')
    .replace('address: waf-node.security.svc.cluster.local', `address: ${eppClusterIP}`)
    .replace('port_value: 8443', 'port_value: 9002');
  const denied = await cp.kubectl(['apply', '-f', '-'], { input: byHand });
  t.not(denied.code, 0, 'an EPP that gets BUFFERED bodies is refused');
  t.match(denied.stderr, /\[EPP202\] configPatches\[0\] ext_proc request_body_mode BUFFERED: the EPP speaks only FULL_DUPLEX_STREAMED/);
  t.notMatch(denied.stderr, /on a hint/, 'the ClusterIP is proof, not a hint');
});

t.test("3c. warnings past kube-apiserver's 4,096 characters: it cuts each to 256 and drops the rest; our note comes first, whole", async (t) => {
  // Twenty ext_proc filters of their own name in one EnvoyFilter: each draws EPP230, whose problem line is about 1,000
  // characters (its fix line, the same for all, is passed on once).
  const text = fixtureText('full-duplex-envoyfilter.yaml').replace('name: epp-ext-proc\n', 'name: many-warnings\n');
  const filter = text.slice(text.indexOf('  - applyTo: HTTP_FILTER'), text.indexOf('  - applyTo: CLUSTER'));
  const filters = Array.from({ length: 20 }, (_, i) => filter.replace('name: envoy.filters.http.ext_proc\n', `name: envoy.filters.http.ext_proc.team${i}\n`)).join('');
  const manifest = text.replace(filter, filters);

  const applied = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: manifest });
  t.equal(applied.code, 0, applied.stderr);
  const shown = applied.stderr.split('\n').filter((line) => line.startsWith('Warning: ')).map((line) => line.slice('Warning: '.length));
  const runes = (line: string) => [...line].length;
  t.match(shown[0], /^these warnings are [\d,]+ characters: past 4,096 in one request, kube-apiserver cuts each to 256 characters and adds no more once 4,096 are written; epp-webhook check on the manifest prints every one whole$/, 'our note first, whole');
  t.ok(shown.every((line) => runes(line) <= 256), 'kube-apiserver cut every warning to 256 characters');
  t.ok(shown.some((line) => /^\[EPP230\] /.test(line) && runes(line) === 256), 'an EPP230 line among them, cut');
  const total = shown.reduce((n, line) => n + runes(line), 0);
  t.ok(total >= 4096 && total - runes(shown.at(-1)!) < 4096, `and added none once 4,096 were written (${total} characters in ${shown.length} lines)`);
  const problems = shown.filter((line) => /^\[EPP230\] configPatches\[\d+\] /.test(line));
  t.ok(problems.length < 20, `only ${problems.length} of the twenty filters' EPP230 lines reached kubectl`);
});

t.test('3d. a warning quoting a C1 control character from the object reaches kubectl, escaped (kube-apiserver drops a warning holding one)', async (t) => {
  const text = fixtureText('full-duplex-envoyfilter.yaml').replace('name: epp-ext-proc\n', 'name: c1-in-a-name\n');
  // U+0085 (NEXT LINE) in the ext_proc filter's name, which EPP230's line quotes: Go's unicode.IsControl is true for it.
  const manifest = text.replace('name: envoy.filters.http.ext_proc\n', 'name: "envoy.filters.http.ext_proc.te\\u0085am"\n');
  const applied = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: manifest });
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stderr, /Warning: \[EPP230\] configPatches\[0\] ext_proc filter envoy\.filters\.http\.ext_proc\.te\\u0085am on a gateway/, 'the problem line is there, the character shown escaped');
  t.match(applied.stderr, /Warning: \[EPP230\] Fix: /);
  t.equal(applied.stderr.split('\n').filter((line) => line.startsWith('Warning: [EPP230] configPatches[0] ')).length, 1, 'one problem line, not dropped');
});

t.test("3e. what epp-webhook check calls unusable, kubectl apply refuses too, for the reason check gives", async (t) => {
  const guide = fixtureText('guide-envoyfilter.yaml');
  const cases = [
    { what: 'an EnvoyFilter of a version Istio does not serve', manifest: guide.replace('networking.istio.io/v1alpha3', 'networking.istio.io/v1beta1'), kubectl: 'no matches for kind "EnvoyFilter" in version "networking.istio.io/v1beta1"' },
    { what: 'a misspelt kind', manifest: guide.replace('kind: EnvoyFilter', 'kind: Envoyfilter'), kubectl: 'no matches for kind "Envoyfilter" in version "networking.istio.io/v1alpha3"' },
    { what: 'a misspelt API group', manifest: guide.replace('networking.istio.io/v1alpha3', 'networking.istio/v1alpha3'), kubectl: 'no matches for kind "EnvoyFilter" in version "networking.istio/v1alpha3"' },
    { what: 'no apiVersion', manifest: guide.replace('apiVersion: networking.istio.io/v1alpha3\n', ''), kubectl: 'apiVersion not set' },
  ];
  for (const { what, manifest, kubectl } of cases) {
    t.not(manifest, guide, `${what}: the fixture changed`);
    const applied = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: manifest });
    t.not(applied.code, 0, `${what}: kubectl apply fails`);
    t.match(applied.stderr, kubectl, `${what}: ${kubectl}`);
    const checked = await spawnCli(['check', '-'], manifest);
    t.equal(checked.code, 2, `${what}: check calls it unusable input`);
    t.match(checked.stdout, what === 'no apiVersion' ? 'kubectl apply refuses it (apiVersion not set)' : 'kubectl apply fails on it', `${what}: and says kubectl apply fails`);
    if (what.startsWith('an EnvoyFilter of a version')) t.match(checked.stdout, kubectl, 'quoting what kubectl says');
  }
});

t.test('4. dry-run shows the substitution and stores nothing; applies twice change nothing', async (t) => {
  const dry = await cp.kubectl(['apply', '--dry-run=server', '-o', 'yaml', '-f', fixture('full-duplex-envoyfilter.yaml')]);
  t.equal(dry.code, 0, dry.stderr);
  const shown = parse(dry.stdout);
  t.equal(shown.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, eppClusterIP);
  t.equal((await cp.kubectl(['get', 'envoyfilter', '-n', NS, 'epp-ext-proc'])).code, 1, 'nothing stored');

  const first = await cp.kubectl(['apply', '--server-side', '-f', fixture('full-duplex-envoyfilter.yaml')]);
  t.equal(first.code, 0, first.stderr);
  const version = async () => (await cp.kubectl(['get', 'envoyfilter', '-n', NS, 'epp-ext-proc', '-o', 'jsonpath={.metadata.resourceVersion}'])).stdout;
  const before = await version();
  const second = await cp.kubectl(['apply', '--server-side', '-f', fixture('full-duplex-envoyfilter.yaml')]);
  t.equal(second.code, 0, second.stderr);
  t.equal(await version(), before, 'server-side apply of the same placeholder manifest leaves the stored object alone');
  const address = await cp.kubectl(['get', 'envoyfilter', '-n', NS, 'epp-ext-proc', '-o', `jsonpath=${ADDRESS}`]);
  t.equal(address.stdout, eppClusterIP);

  const guideVersion = async () => (await cp.kubectl(['get', 'envoyfilter', '-n', NS, 'epp-ext-proc-poc', '-o', 'jsonpath={.metadata.resourceVersion}'])).stdout;
  const guideBefore = await guideVersion();
  for (let i = 0; i < 2; i++) {
    const clientSide = await cp.kubectl(['apply', '-f', fixture('guide-envoyfilter.yaml')]);
    t.equal(clientSide.code, 0, clientSide.stderr);
  }
  t.equal(await guideVersion(), guideBefore, 'client-side apply twice: the stored object is untouched');
  for (const file of ['guide-envoyfilter.yaml', 'full-duplex-envoyfilter.yaml']) {
    const diff = await cp.kubectl(['diff', '-f', fixture(file)]);
    t.equal(diff.code, 0, `kubectl diff of the placeholder manifest ${file} shows no drift: ${diff.stdout}`);
  }
});

t.test('5. a missing Service, and a Service in another namespace without permission, are denied', async (t) => {
  await createNamespace(cp, 'tenant-a');
  const manifest = fixtureText('guide-envoyfilter.yaml').replace(`namespace: ${NS}`, 'namespace: tenant-a');
  const missing = await cp.kubectl(['apply', '-f', '-'], { input: manifest });
  t.not(missing.code, 0);
  t.match(missing.stderr, /\[EPP101\] .*Service tenant-a\/gaie-inference-scheduling-epp \(chosen by the webhook default \(config eppService\)\) not found/);

  const crossNamespace = manifest.replace('metadata:\n', `metadata:\n  annotations:\n    epp-webhook.io/epp-service: ${NS}/gaie-inference-scheduling-epp\n`);
  const denied = await cp.kubectl(['apply', '-f', '-'], { input: crossNamespace });
  t.not(denied.code, 0);
  t.match(denied.stderr, /\[EPP103\] .*EnvoyFilters in namespace tenant-a may not reference Services in namespace llm-d-inference-scheduler/);
});

t.test('5b. the EPP Service recreated under a stored EnvoyFilter (no reconciler): its next admission, and check of the live object, say EPP116', async (t) => {
  const ns = 'epp-e2e-recreated';
  await createNamespace(cp, ns);
  const before = await createService(cp, ns, 'gaie-inference-scheduling-epp', [9002]);
  const manifest = fixtureText('guide-envoyfilter.yaml').replace('namespace: llm-d-inference-scheduler', `namespace: ${ns}`);
  const applied = await cp.kubectl(['apply', '-f', '-'], { input: manifest });
  t.equal(applied.code, 0, applied.stderr);
  await cp.kubectl(['delete', 'service', '-n', ns, 'gaie-inference-scheduling-epp']);
  const after = await createService(cp, ns, 'gaie-inference-scheduling-epp', [9002]);
  t.not(after, before, `recreated with another ClusterIP (${before} -> ${after})`);
  let n = 0;
  const warned = await waitFor(
    'EPP116 on a label of the live EnvoyFilter',
    async () => {
      const labelled = await cp.kubectl(['label', '--overwrite', 'envoyfilter', '-n', ns, 'epp-ext-proc-poc', `touched=${++n}`]);
      return labelled.stderr.includes('[EPP116]') ? labelled : undefined;
    },
    20_000,
    500,
  );
  t.equal(warned.code, 0, 'a warning: the label is stored');
  t.match(warned.stderr, `Warning: [EPP116] metadata.annotations Service ${ns}/gaie-inference-scheduling-epp changed since the webhook wrote its address here (ClusterIP ${before} -> ${after})`);
  const live = await cp.kubectl(['get', 'envoyfilter', '-n', ns, 'epp-ext-proc-poc', '-o', 'yaml']);
  const checked = await spawnCli(['check', '-', '--kubeconfig', cp.kubeconfig], live.stdout);
  t.equal(checked.code, 0, checked.stderr);
  t.match(checked.stdout, `warning: [EPP116] Service ${ns}/gaie-inference-scheduling-epp changed since the webhook wrote its address here (ClusterIP ${before} -> ${after})`, 'check of what kubectl get printed says it too');
  const reapplied = await cp.kubectl(['apply', '-f', '-'], { input: manifest });
  t.notMatch(reapplied.stderr, 'EPP116', 'the manifest applied again: substituted afresh');
  t.equal((await cp.kubectl(['get', 'envoyfilter', '-n', ns, 'epp-ext-proc-poc', '-o', `jsonpath=${ADDRESS}`])).stdout, after, 'with the new ClusterIP');
});

t.test("5c. the manual procedure, the ClusterIP copied by hand: kubectl apply and check say EPP117; the Service recreated, the copy is stale; the placeholder heals it", async (t) => {
  const ns = 'epp-e2e-by-hand';
  await createNamespace(cp, ns);
  const copied = await createService(cp, ns, 'gaie-inference-scheduling-epp', [9002]);
  const placeholder = fixtureText('guide-envoyfilter.yaml').replace('namespace: llm-d-inference-scheduler', `namespace: ${ns}`);
  const byHand = placeholder.replace('address: EPP_SERVICE_CLUSTER_IP', `address: ${copied}`);
  const said = `[EPP117] configPatches[1] cluster ${parse(placeholder).spec.configPatches[1].patch.value.name} reaches the EPP at ${copied}, Service ${ns}/gaie-inference-scheduling-epp's ClusterIP written by hand`;
  // The webhook learns of the new Service from its watch: the apply is repeated until its cache has it.
  const applied = await waitFor(
    'EPP117 on kubectl apply',
    async () => {
      const result = await cp.kubectl(['apply', '-f', '-'], { input: byHand });
      return result.stderr.includes('[EPP117]') ? result : undefined;
    },
    20_000,
    500,
  );
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stderr, `Warning: ${said}`);
  t.match(applied.stderr, `Warning: [EPP117] Fix: write EPP_SERVICE_CLUSTER_IP there with annotation epp-webhook.io/epp-service: ${ns}/gaie-inference-scheduling-epp`);
  const checked = await spawnCli(['check', '-', '--kubeconfig', cp.kubeconfig], byHand);
  t.equal(checked.code, 0, checked.stderr);
  t.match(checked.stdout, `warning: ${said.replace('[EPP117] configPatches[1] ', '[EPP117] ')}`, 'check of the manifest against the cluster says it too');

  await cp.kubectl(['delete', 'service', '-n', ns, 'gaie-inference-scheduling-epp']);
  const recreated = await createService(cp, ns, 'gaie-inference-scheduling-epp', [9002]);
  t.not(recreated, copied, `the recreated Service has another ClusterIP (${copied} -> ${recreated})`);
  t.equal((await cp.kubectl(['get', 'envoyfilter', '-n', ns, 'epp-ext-proc-poc', '-o', `jsonpath=${ADDRESS}`])).stdout, copied, 'the copy still holds the old one');

  const healed = await waitFor(
    'the placeholder manifest substituted with the recreated Service',
    async () => {
      const reapplied = await cp.kubectl(['apply', '-f', '-'], { input: placeholder });
      const address = (await cp.kubectl(['get', 'envoyfilter', '-n', ns, 'epp-ext-proc-poc', '-o', `jsonpath=${ADDRESS}`])).stdout;
      return address === recreated ? reapplied : undefined;
    },
    20_000,
    500,
  );
  t.equal(healed.code, 0, healed.stderr);
  t.notMatch(healed.stderr, 'EPP117', 'the address the webhook wrote is not "by hand"');
});

t.test("7. the webhook's lookups run with only deploy/'s RBAC", async (t) => {
  const webhookKubeconfig = cp.kubeconfigFor(WEBHOOK_IDENTITY, ['system:serviceaccounts', 'system:serviceaccounts:epp-webhook']);
  const can = async (...args: string[]) => (await cp.kubectl(['auth', 'can-i', ...args], { kubeconfig: webhookKubeconfig })).stdout.trim();
  t.equal(await can('list', 'services', '--all-namespaces'), 'yes');
  t.equal(await can('watch', 'services', '--all-namespaces'), 'yes');
  t.equal(await can('get', 'secrets', '-n', NS), 'no');
  t.equal(await can('create', 'services', '-n', NS), 'no');
  // serve --reconcile reads and patches EnvoyFilters and holds one Lease: never more.
  t.equal(await can('patch', 'envoyfilters.networking.istio.io', '-n', NS), 'yes');
  t.equal(await can('watch', 'envoyfilters.networking.istio.io', '--all-namespaces'), 'yes');
  for (const verb of ['update', 'create', 'delete']) t.equal(await can(verb, 'envoyfilters.networking.istio.io', '-n', NS), 'no', `${verb} envoyfilters`);
  t.equal(await can('list', 'httproutes.gateway.networking.k8s.io', '--all-namespaces'), 'no');
  t.equal(await can('update', 'leases.coordination.k8s.io/epp-webhook-reconciler', '-n', 'epp-webhook'), 'yes');
  t.equal(await can('update', 'leases.coordination.k8s.io/another-lease', '-n', 'epp-webhook'), 'no');
  t.equal(await can('create', 'leases.coordination.k8s.io', '-n', NS), 'no', 'Leases only in its own namespace');
  t.equal(await can('update', 'mutatingwebhookconfigurations'), 'no');
  const metrics = await webhook.metrics();
  t.match(metrics, /epp_webhook_service_cache_synced 1/, 'its Service cache synced with those permissions');
  t.match(metrics, /epp_webhook_substitutions_total [1-9]/);
});

t.test('6. the webhook stopped: failurePolicy Fail refuses EnvoyFilters and InferencePool routes, other HTTPRoutes are unaffected', async (t) => {
  await webhook.stop();
  const envoyFilter = await cp.kubectl(['apply', '-f', fixture('full-duplex-envoyfilter.yaml').replace('full-duplex', 'full-duplex'), '--dry-run=server']);
  t.not(envoyFilter.code, 0, 'EnvoyFilter writes fail while the webhook is down (the token is never stored)');
  t.match(envoyFilter.stderr, /failed calling webhook "envoyfilters\.mutate\.epp-webhook\.io"/);

  const plainRoute = await cp.kubectl(['apply', '--dry-run=server', '-f', fixture('wild/operator-httproute-ab.yaml')]);
  t.equal(plainRoute.code, 0, 'an HTTPRoute without an InferencePool does not depend on the webhook');
  const poolRoute = await cp.kubectl(['apply', '--dry-run=server', '-f', fixture('guide-httproute.yaml')]);
  t.not(poolRoute.code, 0, 'an InferencePool route waits for the webhook rather than being stored without its filter');
  t.match(poolRoute.stderr, /failed calling webhook "httproutes\.mutate\.epp-webhook\.io"/);
  const optedOut = parse(fixtureText('guide-httproute.yaml'));
  optedOut.metadata.annotations = { ...optedOut.metadata.annotations, 'epp-webhook.io/inject': 'false' };
  const failedOpen = async () => {
    const raw = await cp.kubectl(['get', '--raw', '/metrics']);
    const line = raw.stdout.split('\n').find((l) => l.startsWith('apiserver_admission_webhook_fail_open_count{') && l.includes('name="httproutes.validate.epp-webhook.io"'));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const failedOpenBefore = await failedOpen();
  const optedOutRoute = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(optedOut) });
  t.equal(optedOutRoute.code, 0, `an InferencePool route opted out of injection does not depend on the webhook: ${optedOutRoute.stderr}`);
  t.equal((await failedOpen()) - failedOpenBefore, 1, 'kube-apiserver tried its validating webhook and, failurePolicy Ignore, let it through (apiserver_admission_webhook_fail_open_count)');
});
