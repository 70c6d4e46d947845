/**
 * Installing it, against a real kube-apiserver: every manifest of deploy/ passes a server-side dry-run (cert-manager's
 * CRDs installed from trimmed fixtures), Pod Security admission admits every pod of it in the `restricted` namespace,
 * and `epp-webhook bootstrap-certs` (run as the Job's identity, with exactly the Job's RBAC) creates the Secrets,
 * installs caBundle, and rotates the CA with an overlap while a real webhook process keeps answering
 * `kubectl apply --dry-run=server`, its certificate files swapped the way a Secret volume update swaps them.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { splitPemCertificates, certificateFingerprint } from '../../src/certs/ca-bundle.ts';
import { startControlPlane, type ControlPlane } from './harness/control-plane.ts';
import { createNamespace, createService, installCrdsAndRbac } from './harness/cluster-setup.ts';
import { findObject, KUSTOMIZATIONS, podFromTemplate, podTemplates, renderKustomization, type KustomizationName } from './harness/kustomize.ts';
import { freePort, waitFor } from './harness/processes.ts';
import { writeSecretVolume } from './harness/secret-volume.ts';
import { probeEnvoyFilter, startWebhookProcessWithTlsFiles, waitUntilMutating, webhookConfigurationsFor, type WebhookProcess } from './harness/webhook-process.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NS = 'epp-webhook';
const JOB_IDENTITY = 'system:serviceaccount:epp-webhook:epp-webhook-bootstrap-certs';
const CONFIGURATIONS = ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration'] as const;

let cp: ControlPlane;
let jobKubeconfig: string;
let jobArgs: string[];
let webhook: WebhookProcess | undefined;

t.before(async () => {
  cp = await startControlPlane();
  await must(['apply', '-f', join(ROOT, 'test/fixtures/cert-manager-crds/')]);
  await must(['wait', '--for=condition=Established', '--timeout=60s', 'crd/certificates.cert-manager.io', 'crd/issuers.cert-manager.io']);
  jobKubeconfig = cp.kubeconfigFor(JOB_IDENTITY, ['system:serviceaccounts', 'system:serviceaccounts:epp-webhook']);
  const job = findObject(await renderKustomization('self-signed'), 'Job', 'epp-webhook-bootstrap-certs');
  jobArgs = job.spec.template.spec.containers[0].args.map((a: string) => a.replace('$(POD_NAMESPACE)', NS));
});
t.teardown(async () => {
  await webhook?.stop();
  await cp?.stop();
});

async function must(args: string[], input?: string): Promise<string> {
  const result = await cp.kubectl(args, { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** `epp-webhook bootstrap-certs` as its own process, with the Job's arguments and the Job's identity. */
function bootstrap(extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [join(ROOT, 'src/main.ts'), ...jobArgs, `--kubeconfig=${jobKubeconfig}`, ...extra], (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

async function secret(name: string): Promise<{ type: string; data: Record<string, string>; resourceVersion: string; annotations: Record<string, string> }> {
  const object = JSON.parse(await must(['get', 'secret', '-n', NS, name, '-o', 'json']));
  const data = Object.fromEntries(Object.entries(object.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  return { type: object.type, data, resourceVersion: object.metadata.resourceVersion, annotations: object.metadata.annotations ?? {} };
}

/** Every webhook's caBundle, as lists of certificate fingerprints, plus the configurations' resourceVersions. */
async function caBundles(): Promise<{ bundles: string[][]; versions: string[] }> {
  const bundles: string[][] = [];
  const versions: string[] = [];
  for (const kind of CONFIGURATIONS) {
    const object = JSON.parse(await must(['get', kind, 'epp-webhook', '-o', 'json']));
    versions.push(object.metadata.resourceVersion);
    for (const webhook of object.webhooks) {
      const pem = Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString('utf8');
      bundles.push(splitPemCertificates(pem).map(certificateFingerprint));
    }
  }
  return { bundles, versions };
}

const fingerprint = (pem: string) => certificateFingerprint(pem);

t.test('every manifest of the base and of each overlay passes kubectl apply --dry-run=server', async (t) => {
  for (const name of Object.keys(KUSTOMIZATIONS) as KustomizationName[]) {
    const rendered = await renderKustomization(name);
    // A dry-run of a namespaced object in a namespace that does not exist fails: the Namespace is created for real.
    for (const namespace of rendered.objects.filter((o) => o.kind === 'Namespace')) await must(['apply', '-f', '-'], JSON.stringify(namespace));
    const dry = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: rendered.yaml });
    t.equal(dry.code, 0, `${name}: ${dry.stderr}`);
    t.notMatch(dry.stderr, /would violate PodSecurity/, `${name}: no Pod Security warning for any workload`);
    const lines = dry.stdout.trim().split('\n');
    t.equal(lines.length, rendered.objects.length, `${name}: every object answered`);
    t.ok(lines.every((line) => line.endsWith('(server dry run)')), `${name}: ${lines.join('; ')}`);
  }
});

t.test('Pod Security admission (restricted, enforced on the namespace) admits every pod of deploy/, and would refuse a weaker one', async (t) => {
  const labels = JSON.parse(await must(['get', 'namespace', NS, '-o', 'json'])).metadata.labels;
  t.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted');
  const seen = new Set<string>();
  for (const name of Object.keys(KUSTOMIZATIONS) as KustomizationName[]) {
    for (const { owner, template } of podTemplates(await renderKustomization(name))) {
      if (seen.has(owner)) continue;
      seen.add(owner);
      const pod = podFromTemplate(template, `psa-${owner.split(' ')[1]}`, NS);
      const result = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod) });
      t.equal(result.code, 0, `${owner} as a Pod: ${result.stderr}`);
    }
  }
  t.same([...seen].sort(), ['CronJob epp-webhook-rotate-certs', 'Deployment epp-webhook', 'Job epp-webhook-bootstrap-certs']);

  // The control: the same Deployment pod without its container securityContext is refused, naming what it lacks.
  const deployment = findObject(await renderKustomization('base'), 'Deployment', 'epp-webhook');
  const weaker = podFromTemplate(structuredClone(deployment.spec.template), 'psa-weaker', NS);
  delete weaker.spec.containers[0].securityContext;
  const refused = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(weaker) });
  t.not(refused.code, 0);
  t.match(refused.stderr, /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
});

t.test('self-signed: the bootstrap Job creates the Secrets and patches caBundle into both configurations, with only its RBAC', async (t) => {
  const applied = await cp.kubectl(['apply', '-k', join(ROOT, KUSTOMIZATIONS['self-signed'])]);
  t.equal(applied.code, 0, applied.stderr);

  const first = await bootstrap();
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /CA: creating a new one \(no CA yet\)/);
  t.match(first.stdout, /caBundle: patched MutatingWebhookConfiguration epp-webhook \(envoyfilters\.mutate\.epp-webhook\.io, httproutes\.mutate\.epp-webhook\.io\): 1 CA/);
  t.match(first.stdout, /caBundle: patched ValidatingWebhookConfiguration epp-webhook/);
  t.match(first.stdout, /serving certificate: issuing a new one/);

  const tls = await secret('epp-webhook-tls');
  const ca = await secret('epp-webhook-ca');
  t.equal(tls.type, 'kubernetes.io/tls');
  t.same(Object.keys(tls.data).sort(), ['ca.crt', 'tls.crt', 'tls.key'], 'the mounted Secret holds no CA key');
  t.same(Object.keys(ca.data).sort(), ['ca.crt', 'ca.key']);
  const serving = new X509Certificate(tls.data['tls.crt']);
  const caCert = new X509Certificate(ca.data['ca.crt']);
  t.ok(serving.checkIssued(caCert) && serving.verify(caCert.publicKey), 'signed by the CA');
  t.equal(serving.subjectAltName, 'DNS:epp-webhook, DNS:epp-webhook.epp-webhook, DNS:epp-webhook.epp-webhook.svc, DNS:epp-webhook.epp-webhook.svc.cluster.local');
  t.equal(Math.round((serving.validToDate.getTime() - Date.now()) / 86_400_000), 90);
  t.equal(tls.data['ca.crt'].replaceAll('\r\n', '\n'), ca.data['ca.crt'].replaceAll('\r\n', '\n'));
  const installed = await caBundles();
  t.same(installed.bundles, [0, 1, 2, 3, 4].map(() => [caCert.fingerprint256]), 'all five webhooks trust the CA');

  // Idempotent: a rerun writes nothing.
  const again = await bootstrap();
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /done: everything was up to date, nothing written/);
  t.equal((await secret('epp-webhook-tls')).resourceVersion, tls.resourceVersion);
  t.equal((await secret('epp-webhook-ca')).resourceVersion, ca.resourceVersion);
  t.same((await caBundles()).versions, installed.versions);

  // Upgrade: re-applying the overlay (client-side, then server-side) leaves the installed caBundle alone.
  const reapplied = await cp.kubectl(['apply', '-k', join(ROOT, KUSTOMIZATIONS['self-signed'])]);
  t.equal(reapplied.code, 0, reapplied.stderr);
  t.same((await caBundles()).bundles, installed.bundles, 'client-side apply kept caBundle');
  const serverSide = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '-k', join(ROOT, KUSTOMIZATIONS['self-signed'])]);
  t.equal(serverSide.code, 0, serverSide.stderr);
  t.same((await caBundles()).bundles, installed.bundles, 'server-side apply kept caBundle (its field manager owns only caBundle)');

  // The Job's identity can do what it needs and nothing near it.
  const can = async (...args: string[]) => (await cp.kubectl(['auth', 'can-i', ...args], { kubeconfig: jobKubeconfig })).stdout.trim();
  t.equal(await can('get', 'secret/epp-webhook-tls', '-n', NS), 'yes');
  t.equal(await can('update', 'secret/epp-webhook-ca', '-n', NS), 'yes');
  t.equal(await can('create', 'secrets', '-n', NS), 'yes');
  t.equal(await can('get', 'secret/some-other-secret', '-n', NS), 'no');
  t.equal(await can('list', 'secrets', '-n', NS), 'no', 'listing would read every Secret');
  t.equal(await can('delete', 'secret/epp-webhook-tls', '-n', NS), 'no');
  t.equal(await can('create', 'secrets', '-n', 'default'), 'no');
  t.equal(await can('patch', 'mutatingwebhookconfiguration/epp-webhook'), 'yes');
  t.equal(await can('patch', 'validatingwebhookconfiguration/epp-webhook'), 'yes');
  t.equal(await can('patch', 'mutatingwebhookconfiguration/someone-elses'), 'no');
  t.equal(await can('create', 'mutatingwebhookconfigurations'), 'no');
  // And the webhook's own identity cannot read the certificates' Secrets at all.
  const webhookKubeconfig = cp.kubeconfigFor('system:serviceaccount:epp-webhook:epp-webhook', ['system:serviceaccounts', 'system:serviceaccounts:epp-webhook']);
  t.equal((await cp.kubectl(['auth', 'can-i', 'get', 'secret/epp-webhook-ca', '-n', NS], { kubeconfig: webhookKubeconfig })).stdout.trim(), 'no');

  // Uninstall, in the documented order: the webhook configurations first, so nothing is left calling a webhook
  // that is going away. (The rest, `kubectl delete -k`, would leave the namespace Terminating here: this API server
  // runs no namespace controller.)
  await must(['delete', 'mutatingwebhookconfiguration,validatingwebhookconfiguration', 'epp-webhook']);
});


/** The SHA-256 of the certificate the webhook presents right now. */
function presentedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fingerprint256 = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint256);
    });
    socket.on('error', reject);
  });
}

t.test('rotation with a CA overlap: a real webhook answers every kubectl apply --dry-run=server while CA and certificate change', async (t) => {
  await installCrdsAndRbac(cp);
  const probeNamespace = 'rotation-probe';
  await createNamespace(cp, probeNamespace);
  const clusterIP = await createService(cp, probeNamespace, 'gaie-inference-scheduling-epp');
  await cp.kubectl(['delete', 'secret', '-n', NS, 'epp-webhook-tls', 'epp-webhook-ca', '--ignore-not-found']);

  // deploy/base/webhooks.yaml pointed at a local URL, with no caBundle: bootstrap-certs installs it.
  const port = await freePort();
  const configurations = webhookConfigurationsFor(`https://127.0.0.1:${port}`, '')
    .split('\n')
    .map((line) => JSON.parse(line))
    .map((c) => ({ ...c, webhooks: c.webhooks.map((w: any) => ({ ...w, clientConfig: { url: w.clientConfig.url } })) }));
  await must(['apply', '-f', '-'], configurations.map((c) => JSON.stringify(c)).join('\n'));
  const ip = ['--ip=127.0.0.1'];

  const installed = await bootstrap(ip);
  t.equal(installed.code, 0, installed.stderr);
  const ca1 = (await secret('epp-webhook-ca')).data['ca.crt'];
  const tls1 = await secret('epp-webhook-tls');
  const volume = join(mkdtempSync(join(cp.dir, 'secret-volume-')), 'tls');
  const files = writeSecretVolume(volume, tls1.data);
  // The webhook's client trust comes from what bootstrap-certs patched into the configuration.
  const mutating = JSON.parse(await must(['get', 'mutatingwebhookconfiguration', 'epp-webhook', '-o', 'json']));
  const caBundlePem = Buffer.from(mutating.webhooks[0].clientConfig.caBundle, 'base64').toString('utf8');
  t.same(splitPemCertificates(caBundlePem).map(fingerprint), [fingerprint(ca1)]);
  webhook = await startWebhookProcessWithTlsFiles(cp, { certFile: files['tls.crt'], keyFile: files['tls.key'], caPem: caBundlePem, port });
  await waitUntilMutating(cp, probeNamespace);
  t.equal(await presentedCertificate(port), fingerprint(tls1.data['tls.crt']));

  // Admissions through the API server, back to back, for the whole rotation.
  const failures: string[] = [];
  let probes = 0;
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const result = await cp.kubectl(['create', '--dry-run=server', '-o', 'jsonpath={.metadata.annotations.epp-webhook\\.io/resolved-cluster-ip}', '-f', '-'], { input: probeEnvoyFilter(probeNamespace, 'rotation-probe') });
      probes++;
      if (result.code !== 0 || result.stdout.trim() !== clusterIP) failures.push(`${new Date().toISOString()} ${result.stderr.trim() || result.stdout}`);
      await sleep(50);
    }
  })();

  // 1. The CA is due (renew-before longer than anything): new CA, new certificate; caBundle = new + old, first.
  const rotated = await bootstrap([...ip, '--renew-before=100000d']);
  t.equal(rotated.code, 0, rotated.stderr);
  t.match(rotated.stdout, /CA: creating a new one \(the CA expires/);
  t.match(rotated.stdout, /caBundle: keeping CA .*signed the serving certificate the pods present until they reload the new one/);
  const ca2 = (await secret('epp-webhook-ca')).data['ca.crt'];
  const tls2 = await secret('epp-webhook-tls');
  t.not(fingerprint(ca2), fingerprint(ca1));
  t.ok(new X509Certificate(tls2.data['tls.crt']).checkIssued(new X509Certificate(ca2)), 'the new certificate is signed by the new CA');
  t.same((await caBundles()).bundles, [0, 1, 2, 3, 4].map(() => [fingerprint(ca2), fingerprint(ca1)]), 'every webhook trusts both CAs');
  const caLines = rotated.stdout.split('\n');
  t.ok(
    caLines.findIndex((l) => l.includes('caBundle: patched ValidatingWebhookConfiguration')) < caLines.findIndex((l) => l.includes('serving certificate: wrote Secret')),
    'caBundle patched before the serving Secret changed',
  );
  t.equal(await presentedCertificate(port), fingerprint(tls1.data['tls.crt']), 'the webhook still presents the old certificate (a pod before its Secret volume updates)');

  // 2. The kubelet updates the Secret volume a while later (its sync period); the server reloads the files.
  await sleep(3000);
  writeSecretVolume(volume, tls2.data);
  await waitFor('the webhook to present the new certificate', async () => ((await presentedCertificate(port)) === fingerprint(tls2.data['tls.crt']) ? true : undefined), 15_000);
  await sleep(2000);

  // 3. Within the overlap a rerun keeps both CAs; after it, the old CA is dropped.
  const soon = await bootstrap(ip);
  t.equal(soon.code, 0, soon.stderr);
  t.match(soon.stdout, /pods may present the previous certificate until they reload/);
  t.match(soon.stdout, /nothing written/);
  t.same((await caBundles()).bundles[0], [fingerprint(ca2), fingerprint(ca1)]);
  const later = await bootstrap([...ip, '--overlap=0s']);
  t.equal(later.code, 0, later.stderr);
  t.same((await caBundles()).bundles, [0, 1, 2, 3, 4].map(() => [fingerprint(ca2)]), 'the old CA left every caBundle');
  await sleep(3000);

  // 4. The serving certificate alone is due: the same CA reissues it, caBundle untouched.
  const before = (await caBundles()).versions;
  const renewed = await bootstrap([...ip, '--renew-before=100d', '--days=1']);
  t.equal(renewed.code, 0, renewed.stderr);
  t.match(renewed.stdout, /CA: kept/);
  t.match(renewed.stdout, /serving certificate: issuing a new one \(the serving certificate expires .* within renew-before \(100d\)\)/);
  t.same((await caBundles()).versions, before, 'no configuration written');
  const tls3 = await secret('epp-webhook-tls');
  writeSecretVolume(volume, tls3.data);
  await waitFor('the webhook to present the renewed certificate', async () => ((await presentedCertificate(port)) === fingerprint(tls3.data['tls.crt']) ? true : undefined), 15_000);
  await sleep(2000);

  probing = false;
  await prober;
  t.same(failures, [], `no admission failed during the rotation (${probes} dry-runs through the API server)`);
  t.ok(probes >= 20, `${probes} admissions probed`);
  const metrics = await webhook.metrics();
  const expiry = Number(/^epp_webhook_tls_certificate_expiry_timestamp_seconds(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1]);
  t.equal(expiry, new X509Certificate(tls3.data['tls.crt']).validToDate.getTime() / 1000, 'the expiry gauge follows the reloaded certificate');

  // The failure a wrong caBundle causes (README "Troubleshoot"), and bootstrap-certs repairing it.
  const wrong = Buffer.from(ca1).toString('base64');
  const patch = JSON.stringify([0, 1].map((i) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig/caBundle`, value: wrong })));
  await must(['patch', 'mutatingwebhookconfiguration', 'epp-webhook', '--type=json', '-p', patch]);
  const broken = await waitFor(
    'admissions to fail on the wrong caBundle',
    async () => {
      const result = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: probeEnvoyFilter(probeNamespace, 'rotation-probe') });
      return result.code !== 0 ? result.stderr : undefined;
    },
    30_000,
  );
  t.match(broken, /failed calling webhook "envoyfilters\.mutate\.epp-webhook\.io"/);
  t.match(broken, /x509: certificate signed by unknown authority/);
  writeFileSync(join(cp.dir, 'wrong-cabundle-error.txt'), broken);
  // (--renew-before 1h: keep step 4's one-day certificate, so the run only repairs.)
  const repaired = await bootstrap([...ip, '--renew-before=1h']);
  t.equal(repaired.code, 0, repaired.stderr);
  t.match(repaired.stdout, /caBundle: patched MutatingWebhookConfiguration epp-webhook/);
  t.notMatch(repaired.stdout, /caBundle: patched ValidatingWebhookConfiguration/, 'the one that was right is left alone');
  t.match(repaired.stdout, /serving certificate: kept/);
  await waitUntilMutating(cp, probeNamespace);
});
