/**
 * The chart's life cycle on a real kube-apiserver, with the real helm: `helm install --wait` the first time (the
 * pre-install hook creates the Secrets before the Deployment exists, so its pods get ready; the post-install hook then
 * installs caBundle; each hook run as its own ServiceAccount), the
 * webhook Deployment's container run from what helm stored (args, ConfigMap and Secret volumes, ServiceAccount)
 * and answering the apiserver at the Service's ClusterIP with the bootstrap's certificate; `helm upgrade` with a
 * changed config value reaching the process; a bad value refused with the schema's message; `helm uninstall`
 * leaving no webhook configuration behind (a leftover one fails every later EnvoyFilter apply).
 *
 * The Service range is on loopback (127.100.0.0/16): the apiserver calls a webhook Service at its ClusterIP and
 * port, so the webhook process listens there (no kube-proxy, no kubelet: harness/workload-runner.ts).
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { splitPemCertificates, certificateFingerprint } from '../../src/certs/ca-bundle.ts';
import { startControlPlane, type ControlPlane } from './harness/control-plane.ts';
import { createNamespace, createService, installCrdsAndNamespace } from './harness/cluster-setup.ts';
import { CHART, helm } from './harness/helm.ts';
import { waitFor } from './harness/processes.ts';
import { markDeploymentReady, runJobs, runWebhookPod, type WebhookPod } from './harness/workload-runner.ts';
import { probeEnvoyFilter } from './harness/webhook-process.ts';

const NS = 'epp-webhook';
const APP_NS = 'llm-d';
const CONFIGURATIONS = ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration'] as const;

let cp: ControlPlane;
let jobs: ReturnType<typeof runJobs>;
let pod: WebhookPod | undefined;

t.before(async () => {
  cp = await startControlPlane({ apiserverArgs: ['--service-cluster-ip-range=127.100.0.0/16'] });
  await installCrdsAndNamespace(cp);
  await createNamespace(cp, APP_NS);
  jobs = runJobs(cp, NS);
});
t.teardown(async () => {
  await pod?.stop();
  await jobs?.stop();
  await cp?.stop();
});

const helmOnCluster = (args: string[]) => helm([...args, '--namespace', NS], { kubeconfig: cp.kubeconfig });

async function must(args: string[], input?: string): Promise<string> {
  const result = await cp.kubectl(args, { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** Every webhook's caBundle, as fingerprint lists. */
async function caBundles(): Promise<string[][]> {
  const bundles: string[][] = [];
  for (const kind of CONFIGURATIONS) {
    for (const webhook of JSON.parse(await must(['get', kind, 'epp-webhook', '-o', 'json'])).webhooks) {
      bundles.push(splitPemCertificates(Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString('utf8')).map(certificateFingerprint));
    }
  }
  return bundles;
}

/** The ClusterIP a server-side dry-run of a placeholder EnvoyFilter comes back with, through the apiserver. */
async function substitutedAddress(): Promise<string> {
  const result = await cp.kubectl(['create', '--dry-run=server', '-o', 'jsonpath={.metadata.annotations.epp-webhook\\.io/resolved-cluster-ip}', '-f', '-'], { input: probeEnvoyFilter(APP_NS, 'probe') });
  if (result.code !== 0) throw new Error(result.stderr);
  return result.stdout.trim();
}

t.test('helm install with a bad value fails with the schema\'s message and installs nothing', async (t) => {
  const result = await helmOnCluster(['install', 'epp-webhook', CHART, '--set', 'webhooks.failurePolicy=Sometimes']);
  t.not(result.code, 0);
  t.match(result.stderr, /at '\/webhooks\/failurePolicy': value must be one of 'Fail', 'Ignore'/);
  t.equal((await helmOnCluster(['list', '-q'])).stdout.trim(), '', 'no release');
  t.equal((await cp.kubectl(['get', 'mutatingwebhookconfiguration', 'epp-webhook'])).code, 1, 'no webhook configuration');
});

t.test('helm install --wait, the first time: the Secrets exist before the Deployment, its pods get ready, then caBundle is installed', async (t) => {
  const eppIP = await createService(cp, APP_NS, 'gaie-inference-scheduling-epp');
  // --wait: Helm waits for the Deployment to be ready before it runs post-install hooks (Flux waits the same way).
  const installing = helmOnCluster(['install', 'epp-webhook', CHART, '--wait', '--timeout', '3m']);

  const deployment = await waitFor('helm to create the Deployment', async () => ((await cp.kubectl(['get', 'deployment', '-n', NS, 'epp-webhook'])).code === 0 ? true : undefined), 120_000, 100);
  t.ok(deployment);
  t.same(jobs.runs.map((r) => [r.job, r.code]), [['epp-webhook-create-certs', 0]], 'the pre-install hook ran, as its own ServiceAccount, before the Deployment was created');
  t.match(jobs.runs[0].stdout, /CA: creating a new one/);
  t.match(jobs.runs[0].stdout, /caBundle: not touched \(create-only\)/);
  // The kubelet's part: the pod mounts the Secret that exists now, and serves; the Deployment controller's: ready.
  pod = await runWebhookPod(cp, NS, 'epp-webhook');
  await markDeploymentReady(cp, NS, 'epp-webhook');

  const installed = await installing;
  t.equal(installed.code, 0, installed.stderr);
  t.match(installed.stdout, /STATUS: deployed/);
  t.match(installed.stdout, /Check that it works:/, 'NOTES.txt');
  t.notMatch(installed.stdout, /does not enforce the restricted Pod Security Standard/, 'the namespace enforces it: no warning');

  t.same(jobs.runs.map((r) => [r.job, r.code]), [['epp-webhook-create-certs', 0], ['epp-webhook-bootstrap-certs', 0]], 'then the post-install hook, once the Deployment was ready');
  t.match(jobs.runs[1].stdout, /CA: kept/);
  t.match(jobs.runs[1].stdout, /caBundle: patched/);
  for (const [kind, name] of [['job', 'epp-webhook-create-certs'], ['job', 'epp-webhook-bootstrap-certs'], ['serviceaccount', 'epp-webhook-create-certs'], ['role', 'epp-webhook-create-certs'], ['rolebinding', 'epp-webhook-create-certs']]) {
    t.equal((await cp.kubectl(['get', kind, '-n', NS, name])).code, 1, `helm deleted the hook's ${kind} ${name} once it succeeded`);
  }
  const ca = new X509Certificate(Buffer.from(JSON.parse(await must(['get', 'secret', '-n', NS, 'epp-webhook-ca', '-o', 'json'])).data['ca.crt'], 'base64'));
  t.same(await caBundles(), [0, 1, 2, 3, 4].map(() => [ca.fingerprint256]), 'every webhook trusts the CA');

  t.match(pod.clusterIP, /^127\.100\./);
  const address = await waitFor('the webhook to answer through the apiserver', async () => (await substitutedAddress().catch(() => '')) || undefined, 30_000);
  t.equal(address, eppIP, 'a placeholder EnvoyFilter comes back with the EPP Service\'s ClusterIP');
  // The release namespace is not excluded: an EnvoyFilter there is judged (here it names an EPP Service it lacks),
  // where it used to be stored with its raw placeholder.
  const own = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: probeEnvoyFilter(NS, 'probe') });
  t.not(own.code, 0, 'refused');
  t.match(own.stderr, /admission webhook "envoyfilters\.mutate\.epp-webhook\.io" denied the request: [\s\S]*\[EPP101\] [^\n]*Service epp-webhook\/gaie-inference-scheduling-epp [^\n]*not found/, 'by the webhook, which says which Service is missing');
});

t.test('helm upgrade with a changed config value: the pods roll and the process uses the new value', async (t) => {
  const otherIP = await createService(cp, APP_NS, 'other-epp');
  const deploymentBefore = JSON.parse(await must(['get', 'deployment', '-n', NS, 'epp-webhook', '-o', 'json']));
  const bundlesBefore = await caBundles();

  const upgraded = await helmOnCluster(['upgrade', 'epp-webhook', CHART, '--reset-then-reuse-values', '--set', 'config.eppService.name=other-epp', '--timeout', '3m']);
  t.equal(upgraded.code, 0, upgraded.stderr);
  t.match(upgraded.stdout, /REVISION: 2/);
  const deployment = JSON.parse(await must(['get', 'deployment', '-n', NS, 'epp-webhook', '-o', 'json']));
  t.not(deployment.spec.template.metadata.annotations['checksum/config'], deploymentBefore.spec.template.metadata.annotations['checksum/config'], 'the pod template changed: the Deployment rolls');
  t.same(await caBundles(), bundlesBefore, 'the upgrade left the installed caBundle alone');
  t.same(jobs.runs.slice(2).map((r) => [r.job, r.code]), [['epp-webhook-create-certs', 0], ['epp-webhook-bootstrap-certs', 0]], 'the upgrade re-created both hook Jobs and waited for them');
  t.match(jobs.runs[2].stdout, /create-only: Secret epp-webhook\/epp-webhook-tls exists/, 'the pre-upgrade hook leaves existing Secrets alone');
  t.match(jobs.runs[3].stdout, /nothing written/, 'the post-upgrade one found everything valid');

  // The rollout: the old pod goes, a new one starts from what is stored now.
  await pod!.stop();
  pod = await runWebhookPod(cp, NS, 'epp-webhook');
  t.match(pod.config, /name: other-epp/, 'the new pod mounts the new config');
  const address = await waitFor('the new pod to answer', async () => (await substitutedAddress().catch(() => '')) || undefined, 30_000);
  t.equal(address, otherIP, 'placeholders now resolve to the newly configured EPP Service');
});

t.test('helm upgrade with a bad value fails with the schema\'s message and leaves the release as it was', async (t) => {
  const result = await helmOnCluster(['upgrade', 'epp-webhook', CHART, '--reset-then-reuse-values', '--set', 'config.severities.EPP402=never']);
  t.not(result.code, 0);
  t.match(result.stderr, /at '\/config\/severities\/EPP402': value must be one of 'deny', 'warn', 'off'/);
  const status = JSON.parse((await helmOnCluster(['status', 'epp-webhook', '-o', 'json'])).stdout);
  t.equal(status.version, 2);
  t.equal(status.info.status, 'deployed');
});

t.test('helm uninstall removes the webhook configurations: EnvoyFilter applies work again without the webhook', async (t) => {
  const uninstalled = await helmOnCluster(['uninstall', 'epp-webhook', '--timeout', '2m']);
  t.equal(uninstalled.code, 0, uninstalled.stderr);
  for (const kind of CONFIGURATIONS) {
    const left = JSON.parse(await must(['get', kind, '-o', 'json'])).items.map((o: any) => o.metadata.name);
    t.same(left, [], `no ${kind} left`);
  }
  await pod!.stop();
  pod = undefined;
  // With a leftover configuration (failurePolicy Fail) and no webhook, this apply would fail "failed calling webhook".
  const applied = await cp.kubectl(['apply', '-f', '-'], { input: probeEnvoyFilter(APP_NS, 'after-uninstall') });
  t.equal(applied.code, 0, applied.stderr);
  const stored = JSON.parse(await must(['get', 'envoyfilter', '-n', APP_NS, 'after-uninstall', '-o', 'json']));
  t.notOk(stored.metadata.annotations?.['epp-webhook.io/resolved-cluster-ip'], 'stored as sent: no webhook was called');

  const leftovers = JSON.parse(await must(['get', 'all,serviceaccounts,roles,rolebindings,configmaps,networkpolicies,poddisruptionbudgets,clusterroles,clusterrolebindings', '-A', '-l', 'app.kubernetes.io/instance=epp-webhook', '-o', 'json'])).items;
  t.same(leftovers.map((o: any) => `${o.kind} ${o.metadata.name}`), [], 'nothing of the release is left');
  const secrets = JSON.parse(await must(['get', 'secrets', '-n', NS, '-o', 'json'])).items.map((o: any) => o.metadata.name).sort();
  t.same(secrets, ['epp-webhook-ca', 'epp-webhook-tls'], 'only the Secrets the bootstrap wrote stay (README "Uninstall")');
});
