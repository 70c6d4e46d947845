/**
 * From client-side to server-side apply (what moving to Argo CD or Flux server-side apply does), against a real
 * kube-apiserver with the webhook registered. `kubectl apply --server-side` takes the fields kubectl-client-side-apply
 * owns without a conflict only where the kubectl.kubernetes.io/last-applied-configuration annotation agrees with the
 * live object (apimachinery's lastAppliedManager); the webhook changed the live spec, so it keeps that annotation in
 * step.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { scratchDir } from '../helpers/scratch-dir.ts';
import type { ControlPlane } from './harness/control-plane.ts';
import { startClusterWithWebhook } from './harness/webhook-cluster.ts';
import { createNamespace, createService } from './harness/cluster-setup.ts';
import type { WebhookProcess } from './harness/webhook-process.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const EXAMPLE = join(ROOT, 'examples/envoyfilter-placeholder.yaml');
const ROUTE = join(ROOT, 'test/fixtures/manifests/guide-httproute.yaml');
const NS = 'llm-d-inference-scheduler';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

let cp: ControlPlane;
let webhook: WebhookProcess;

t.before(async () => {
  ({ cp, webhook } = await startClusterWithWebhook());
  await createNamespace(cp, NS);
});
t.teardown(async () => {
  await webhook?.stop();
  await cp?.stop();
});

async function getJson(kind: string, name: string): Promise<any> {
  const got = await cp.kubectl(['get', kind, '-n', NS, name, '-o', 'json', '--show-managed-fields']);
  if (got.code !== 0) throw new Error(got.stderr);
  return JSON.parse(got.stdout);
}

t.test('the example EnvoyFilter: kubectl apply, then kubectl apply --server-side, then again', async (t) => {
  const clusterIP = await createService(cp, NS, 'gaie-inference-scheduling-epp', [9002, 9090]);
  const created = await cp.kubectl(['apply', '-f', EXAMPLE]);
  t.equal(created.code, 0, created.stderr);
  const before = await getJson('envoyfilter', 'epp-ext-proc');
  const address = (o: any) => o.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address;
  t.equal(address(before), clusterIP);
  t.equal(address(JSON.parse(before.metadata.annotations[LAST_APPLIED])), clusterIP, 'the annotation says what is stored, not the token');
  t.same(before.metadata.managedFields.map((m: any) => m.manager), ['kubectl-client-side-apply']);

  const server = await cp.kubectl(['apply', '--server-side', '-f', EXAMPLE]);
  t.equal(server.code, 0, `no conflict with kubectl-client-side-apply: ${server.stderr}`);
  const after = await getJson('envoyfilter', 'epp-ext-proc');
  t.equal(address(after), clusterIP, 'the webhook substituted the token again');
  const owner = after.metadata.managedFields.find((m: any) => m.fieldsV1?.['f:spec']?.['f:configPatches'] !== undefined);
  t.equal(owner?.manager, 'kubectl', 'kubectl server-side apply owns .spec.configPatches now');
  t.equal(owner?.operation, 'Apply');

  const again = await cp.kubectl(['apply', '--server-side', '-f', EXAMPLE]);
  t.equal(again.code, 0, again.stderr);
  t.equal((await getJson('envoyfilter', 'epp-ext-proc')).metadata.resourceVersion, after.metadata.resourceVersion, 'a second server-side apply stores nothing');

  const back = await cp.kubectl(['apply', '-f', EXAMPLE]);
  t.equal(back.code, 0, `and back to client-side apply: ${back.stderr}`);
});

t.test('HTTPRoutes: CRD defaults in .spec.rules conflict with or without the webhook; --force-conflicts once migrates', async (t) => {
  // The apiserver fills in backendRefs' weight: 1 and group: "" that the manifest omits, and .spec.rules is an atomic
  // list: the last-applied annotation never equals the live rules, so any such HTTPRoute conflicts, webhook or not.
  const PLAIN = join(ROOT, 'test/fixtures/manifests/wild/operator-httproute-ab.yaml');
  t.equal((await cp.kubectl(['apply', '-f', PLAIN])).code, 0);
  const plain = await cp.kubectl(['apply', '--server-side', '-f', PLAIN]);
  t.equal(plain.code, 1, 'a route the webhook never sees conflicts too');
  t.match(plain.stderr, /conflicts? with "kubectl-client-side-apply".*\.spec\.rules/s);

  const created = await cp.kubectl(['apply', '-f', ROUTE]);
  t.equal(created.code, 0, created.stderr);
  const before = await getJson('httproute', 'llm-d-inference-scheduling');
  const annotated = JSON.parse(before.metadata.annotations[LAST_APPLIED]).spec.rules;
  t.same(annotated[0].filters.map((f: any) => f.type), ['RequestHeaderModifier', 'ExtensionRef'], 'the annotation holds the injected filter, as the live rules do');
  const server = await cp.kubectl(['apply', '--server-side', '-f', ROUTE]);
  t.equal(server.code, 1);
  t.match(server.stderr, /conflict with "kubectl-client-side-apply".*\.spec\.rules/s, 'the same conflict as the plain route: defaults, not the filter');

  const forced = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '-f', ROUTE]);
  t.equal(forced.code, 0, `the documented migration: ${forced.stderr}`);
  const after = await getJson('httproute', 'llm-d-inference-scheduling');
  t.same(after.spec.rules, before.spec.rules, 'the same rules, the filter still there once');
  const again = await cp.kubectl(['apply', '--server-side', '-f', ROUTE]);
  t.equal(again.code, 0, `later server-side applies have no conflict: ${again.stderr}`);
});

t.test('annotations past 256 KiB: the apiserver refuses the object after the webhook, so the webhook need not read them', async (t) => {
  // The webhook leaves a last-applied annotation longer than 256 KiB unparsed (src/annotations.ts, annotationJson):
  // here kubectl writes one of about 300 KiB, and the apiserver itself refuses the object.
  const manifest = parse(readFileSync(EXAMPLE, 'utf8'));
  manifest.metadata.name = 'epp-ext-proc-padded';
  manifest.metadata.annotations = { padding: 'x'.repeat(150 * 1024) };
  const file = join(scratchDir('epp-e2e-padded-'), 'padded.yaml');
  writeFileSync(file, stringify(manifest));
  const applied = await cp.kubectl(['apply', '-f', file]);
  t.not(applied.code, 0, 'kubectl apply fails');
  t.match(applied.stderr, /metadata\.annotations: Too long: may not be more than 262144 bytes/, "with the apiserver's own limit");
  const got = await cp.kubectl(['get', 'envoyfilter', '-n', NS, 'epp-ext-proc-padded']);
  t.not(got.code, 0, 'nothing stored');
  const admissions = readFileSync(webhook.process.logFile, 'utf8').split('\n').filter((l) => l.includes('"msg":"admission"') && l.includes('"name":"epp-ext-proc-padded"'));
  t.match(admissions.join('\n'), /"endpoint":"mutate".*"verdict":"allowed","patched":true/, 'after the webhook had mutated it');
});
