/**
 * What `kubectl apply -k` would send, for the base and every overlay, rendered by the real kubectl (kustomize built
 * in) and checked against the choices the README explains: the webhook configurations, the restricted Pod Security
 * Standard, probes and shutdown, the certificate wiring of each overlay. No API server here: deploy.e2e.test.ts
 * sends the same renderings to one.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findObject, KUSTOMIZATIONS, podTemplates, renderKustomization, type KustomizationName, type RenderedKustomization } from './harness/kustomize.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NAMES = Object.keys(KUSTOMIZATIONS) as KustomizationName[];
const EXCLUDED_NAMESPACES = ['kube-system', 'kube-node-lease', 'epp-webhook'];
const SERVICE_NAMES = ['epp-webhook', 'epp-webhook.epp-webhook', 'epp-webhook.epp-webhook.svc', 'epp-webhook.epp-webhook.svc.cluster.local'];

const rendered = new Map<KustomizationName, RenderedKustomization>();
t.before(async () => {
  for (const name of NAMES) rendered.set(name, await renderKustomization(name));
});
const get = (name: KustomizationName) => rendered.get(name)!;

/** README "Webhook configuration": per webhook, what it matches and how it fails. */
const EXPECTED_WEBHOOKS = {
  MutatingWebhookConfiguration: {
    'envoyfilters.mutate.epp-webhook.io': { group: 'networking.istio.io', resource: 'envoyfilters', path: '/mutate', failurePolicy: 'Fail' },
    'httproutes.mutate.epp-webhook.io': { group: 'gateway.networking.k8s.io', resource: 'httproutes', path: '/mutate', failurePolicy: 'Fail' },
  },
  ValidatingWebhookConfiguration: {
    'envoyfilters.validate.epp-webhook.io': { group: 'networking.istio.io', resource: 'envoyfilters', path: '/validate', failurePolicy: 'Fail' },
  },
} as const;

for (const name of NAMES) {
  t.test(`${name}: the webhook configurations carry the documented choices`, async (t) => {
    const r = get(name);
    const service = findObject(r, 'Service', 'epp-webhook');
    const deployment = findObject(r, 'Deployment', 'epp-webhook');
    const httpsPort = service.spec.ports.find((p: any) => p.port === 443);
    t.equal(httpsPort?.targetPort, 'https', 'Service 443 -> the container port named https');
    t.ok(deployment.spec.template.spec.containers[0].ports.some((p: any) => p.name === 'https' && p.containerPort === 8443));

    for (const [kind, expected] of Object.entries(EXPECTED_WEBHOOKS)) {
      const configuration = findObject(r, kind, 'epp-webhook');
      t.same(configuration.webhooks.map((w: any) => w.name).sort(), Object.keys(expected).sort(), `${kind}: exactly these webhooks`);
      for (const webhook of configuration.webhooks) {
        const want = (expected as Record<string, { group: string; resource: string; path: string; failurePolicy: string }>)[webhook.name];
        const where = `${kind} ${webhook.name}`;
        t.equal(webhook.sideEffects, 'None', `${where}: sideEffects None (dry-runs and GitOps diffs reach it)`);
        t.same(webhook.admissionReviewVersions, ['v1'], where);
        t.equal(webhook.matchPolicy, 'Equivalent', where);
        t.equal(webhook.failurePolicy, want.failurePolicy, `${where}: failurePolicy`);
        t.ok(webhook.timeoutSeconds >= 1 && webhook.timeoutSeconds <= 5, `${where}: timeoutSeconds ${webhook.timeoutSeconds} fails fast`);
        if (kind === 'MutatingWebhookConfiguration') t.equal(webhook.reinvocationPolicy, 'IfNeeded', where);
        t.same(webhook.rules, [{ apiGroups: [want.group], apiVersions: ['*'], resources: [want.resource], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }], `${where}: only ${want.resource} CREATE/UPDATE`);
        const notIn = webhook.namespaceSelector?.matchExpressions?.find((e: any) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn');
        for (const ns of EXCLUDED_NAMESPACES) t.ok(notIn?.values.includes(ns), `${where}: namespace ${ns} excluded`);
        t.same(webhook.clientConfig.service, { name: 'epp-webhook', namespace: 'epp-webhook', path: want.path, port: 443 }, `${where}: the Service`);
        t.notOk(webhook.clientConfig.url, where);
      }
    }
    const routes = findObject(r, 'MutatingWebhookConfiguration', 'epp-webhook').webhooks.find((w: any) => w.name === 'httproutes.mutate.epp-webhook.io');
    t.same(routes.matchConditions.map((c: any) => c.name), ['targets-an-inference-pool', 'not-opted-out'], 'only InferencePool routes depend on the webhook');
  });

  t.test(`${name}: every pod meets the restricted Pod Security Standard`, async (t) => {
    const r = get(name);
    const namespace = findObject(r, 'Namespace', 'epp-webhook');
    t.equal(namespace.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted', 'the namespace enforces it, for anything else deployed there too');
    const templates = podTemplates(r);
    t.ok(templates.length >= 1);
    for (const { owner, template } of templates) {
      const pod = template.spec;
      t.equal(pod.securityContext?.runAsNonRoot, true, `${owner}: runAsNonRoot`);
      t.ok(pod.securityContext?.runAsUser > 0, `${owner}: a non-zero runAsUser`);
      t.notOk(pod.hostNetwork || pod.hostPID || pod.hostIPC, `${owner}: no host namespaces`);
      t.notOk((pod.volumes ?? []).some((v: any) => v.hostPath), `${owner}: no hostPath`);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const where = `${owner} container ${container.name}`;
        const sc = container.securityContext ?? {};
        t.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation false`);
        t.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
        t.same(sc.capabilities?.drop, ['ALL'], `${where}: drop ALL`);
        t.notOk(sc.capabilities?.add?.length, `${where}: adds no capability`);
        t.notOk(sc.privileged, `${where}: not privileged`);
        t.equal(sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp RuntimeDefault`);
        t.ok(container.resources?.requests?.cpu && container.resources?.requests?.memory, `${where}: requests`);
        t.ok(container.resources?.limits?.memory, `${where}: a memory limit`);
        t.ok((container.volumeMounts ?? []).some((m: any) => m.mountPath === '/tmp'), `${where}: a writable /tmp (emptyDir) for a read-only root`);
      }
    }
  });

  t.test(`${name}: the webhook Deployment probes, shuts down gracefully and mounts what it reads`, async (t) => {
    const r = get(name);
    const deployment = findObject(r, 'Deployment', 'epp-webhook');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    t.equal(deployment.spec.replicas, 2);
    t.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0, 'a rollout never drops below the replicas');
    t.same([container.readinessProbe.httpGet.path, container.livenessProbe.httpGet.path, container.startupProbe.httpGet.path], ['/readyz', '/healthz', '/healthz']);
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      const port = container.ports.find((p: any) => p.name === probe.httpGet.port || p.containerPort === probe.httpGet.port);
      t.ok(port, `probe ${probe.httpGet.path} targets a declared container port (${probe.httpGet.port})`);
    }
    const timeouts = r.objects
      .filter((o) => o.kind === 'MutatingWebhookConfiguration' || o.kind === 'ValidatingWebhookConfiguration')
      .flatMap((o) => o.webhooks.map((w: any) => w.timeoutSeconds));
    const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
    t.ok(preStop > 0, 'preStop pause: endpoints drop the pod before it stops listening');
    t.ok(pod.terminationGracePeriodSeconds > preStop + Math.max(...timeouts), `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > preStop ${preStop} + webhook timeout ${Math.max(...timeouts)}`);

    const pdb = findObject(r, 'PodDisruptionBudget', 'epp-webhook');
    t.equal(pdb.spec.minAvailable, 1);
    t.same(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);

    // Arguments name files under the mounts, and the mounts name objects in this rendering (or the certificate Secret).
    const arg = (flag: string) => container.args.find((a: string) => a.startsWith(`--${flag}=`))?.split('=')[1];
    const mountOf = (file: string) => container.volumeMounts.find((m: any) => file.startsWith(`${m.mountPath}/`));
    const volume = (file: string) => pod.volumes.find((v: any) => v.name === mountOf(file)?.name);
    t.equal(volume(arg('tls-cert'))?.secret?.secretName, 'epp-webhook-tls');
    t.equal(volume(arg('tls-key'))?.secret?.secretName, 'epp-webhook-tls');
    t.equal(volume(arg('tls-cert')).secret.defaultMode, 0o440, 'the key is readable by the pod group only');
    const configMap = volume(arg('config'))?.configMap?.name;
    t.match(configMap, /^epp-webhook-config-[a-z0-9]+$/, 'a generated, content-hashed ConfigMap: a config edit rolls the pods');
    t.ok(findObject(r, 'ConfigMap', configMap).data['config.yaml']);
  });
}

t.test('base and self-signed leave caBundle to the bootstrap; cert-manager has cainjector fill it', async (t) => {
  for (const name of ['base', 'self-signed'] as const) {
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      const configuration = findObject(get(name), kind, 'epp-webhook');
      t.notOk(configuration.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${name} ${kind}`);
      t.ok(configuration.webhooks.every((w: any) => w.clientConfig.caBundle === undefined), `${name} ${kind}: no caBundle in the manifest (an apply must not overwrite the installed one)`);
    }
  }
  const r = get('cert-manager');
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    t.equal(findObject(r, kind, 'epp-webhook').metadata.annotations['cert-manager.io/inject-ca-from'], 'epp-webhook/epp-webhook-serving', kind);
  }
});

t.test('cert-manager: self-signed Issuer -> CA Certificate -> CA Issuer -> serving Certificate into epp-webhook-tls', async (t) => {
  const r = get('cert-manager');
  const serving = findObject(r, 'Certificate', 'epp-webhook-serving');
  t.equal(serving.metadata.namespace, 'epp-webhook');
  t.equal(serving.spec.secretName, 'epp-webhook-tls', 'the Secret the Deployment mounts');
  t.same(serving.spec.dnsNames, SERVICE_NAMES, 'every name the API server may use for the Service');
  t.notOk(serving.spec.isCA);
  t.ok(serving.spec.usages.includes('server auth'));
  const caIssuer = findObject(r, 'Issuer', serving.spec.issuerRef.name);
  t.ok(caIssuer.spec.ca, 'the serving certificate comes from a CA Issuer');
  const caCertificate = r.objects.find((o) => o.kind === 'Certificate' && o.spec.secretName === caIssuer.spec.ca.secretName);
  t.ok(caCertificate?.spec.isCA, 'whose Secret is written by an isCA Certificate');
  t.not(caCertificate.spec.secretName, serving.spec.secretName, 'the CA key is not in the Secret the webhook mounts');
  const selfSigned = findObject(r, 'Issuer', caCertificate.spec.issuerRef.name);
  t.same(selfSigned.spec, { selfSigned: {} }, 'signed by a self-signed Issuer');
  for (const cert of [serving, caCertificate]) {
    t.same(cert.spec.issuerRef, { name: cert.spec.issuerRef.name, kind: 'Issuer', group: 'cert-manager.io' });
    t.ok(parseHours(cert.spec.renewBefore) < parseHours(cert.spec.duration), `${cert.metadata.name}: renewBefore < duration`);
  }
  t.ok(parseHours(caCertificate.spec.duration) > parseHours(serving.spec.duration), 'the CA outlives the serving certificate');
});

t.test('self-signed: a Job and a weekly CronJob run bootstrap-certs with least privilege', async (t) => {
  const r = get('self-signed');
  const job = findObject(r, 'Job', 'epp-webhook-bootstrap-certs');
  const cron = findObject(r, 'CronJob', 'epp-webhook-rotate-certs');
  t.same(cron.spec.jobTemplate.spec.template, job.spec.template, 'the CronJob runs exactly the Job\'s pod');
  t.ok(job.spec.backoffLimit > 0 && job.spec.backoffLimit <= 10, 'retried, boundedly');
  t.ok(job.spec.ttlSecondsAfterFinished > 0, 'the finished Job is cleaned up');
  t.ok(job.spec.activeDeadlineSeconds > 0);
  t.equal(cron.spec.concurrencyPolicy, 'Forbid', 'two rotations never race');
  t.match(cron.spec.schedule, /^\d+ \d+ \* \* \d$/, 'weekly');

  const pod = job.spec.template.spec;
  const container = pod.containers[0];
  t.equal(pod.restartPolicy, 'Never');
  t.equal(container.args[0], 'bootstrap-certs');
  const deployment = findObject(r, 'Deployment', 'epp-webhook');
  t.equal(container.image, deployment.spec.template.spec.containers[0].image, 'one image for both');
  const arg = (flag: string) => container.args.find((a: string) => a.startsWith(`--${flag}=`))?.split('=')[1];
  t.equal(arg('secret'), deployment.spec.template.spec.volumes.find((v: any) => v.name === 'tls').secret.secretName, 'writes the Secret the webhook mounts');
  t.equal(arg('mutating-webhook-configuration'), 'epp-webhook');
  t.equal(arg('validating-webhook-configuration'), 'epp-webhook');
  t.equal(arg('service'), 'epp-webhook');

  // Its own identity: the webhook's keeps no access to Secrets.
  t.not(pod.serviceAccountName, deployment.spec.template.spec.serviceAccountName);
  const role = findObject(r, 'Role', 'epp-webhook-bootstrap-certs');
  const named = role.rules.find((rule: any) => rule.resourceNames);
  t.same(named.resourceNames.sort(), [arg('ca-secret'), arg('secret')].sort());
  t.same(named.verbs.sort(), ['get', 'update']);
  t.same(role.rules.filter((rule: any) => !rule.resourceNames).flatMap((rule: any) => rule.verbs), ['create'], 'unnamed: create only');
  t.notOk(role.rules.some((rule: any) => rule.verbs.some((v: string) => ['list', 'watch', 'delete', '*'].includes(v))), 'never list (that would read every Secret) or delete');
  const clusterRole = findObject(r, 'ClusterRole', 'epp-webhook-bootstrap-certs');
  t.same(clusterRole.rules, [
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'], resourceNames: ['epp-webhook'], verbs: ['get', 'patch'] },
  ]);
  for (const binding of [findObject(r, 'RoleBinding', 'epp-webhook-bootstrap-certs'), findObject(r, 'ClusterRoleBinding', 'epp-webhook-bootstrap-certs')]) {
    t.same(binding.subjects, [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: 'epp-webhook' }]);
  }

  // The Job's pod must not be mistaken for a webhook replica.
  const labels = job.spec.template.metadata.labels;
  const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  t.notOk(matches(findObject(r, 'Service', 'epp-webhook').spec.selector), 'the Service does not route admissions to it');
  t.notOk(matches(findObject(r, 'PodDisruptionBudget', 'epp-webhook').spec.selector.matchLabels), 'the PDB does not count it');
  t.notOk(matches(findObject(r, 'NetworkPolicy', 'epp-webhook').spec.podSelector.matchLabels));
});

t.test('the arguments in the manifests are ones the CLI accepts', async (t) => {
  const r = get('self-signed');
  const node = process.execPath;
  for (const { owner, template } of podTemplates(r)) {
    const container = template.spec.containers[0];
    const args = container.args.map((a: string) => a.replace('$(POD_NAMESPACE)', 'epp-webhook'));
    // --help after every flag: the flags are parsed strictly (an unknown or malformed one exits 2), then help exits 0.
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(node, [join(ROOT, 'src/main.ts'), ...args, '--help'], (error, _stdout, stderr) => resolve({ code: error ? ((error as any).code ?? 1) : 0, stderr })),
    );
    t.equal(result.code, 0, `${owner}: epp-webhook ${args.join(' ')}: ${result.stderr}`);
  }
});

t.test('the image holds what the manifests run: Dockerfile COPY set + production dependencies', async (t) => {
  // Docker cannot run here. This rebuilds the image's /app the way deploy/Dockerfile does (its COPY sources, then
  // `npm ci --omit=dev --ignore-scripts`) and runs the commands of the manifests there: a devDependency imported
  // at runtime, or a source the Dockerfile forgets to copy, fails this.
  const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
  const sources = [...dockerfile.matchAll(/^COPY\s+(?!--from)(?:--\S+\s+)*(.+?)\s+\S+\s*$/gm)].flatMap((m) => m[1].split(/\s+/));
  t.same([...new Set(sources)].sort(), ['package-lock.json', 'package.json', 'src'], 'the Dockerfile copies package files and src only');
  const app = mkdtempSync(join(tmpdir(), 'epp-webhook-image-'));
  for (const source of new Set(sources)) cpSync(join(ROOT, source), join(app, source), { recursive: true });
  const npm = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) =>
      resolve({ code: error ? 1 : 0, stderr }),
    ),
  );
  t.equal(npm.code, 0, `npm ci --omit=dev: ${npm.stderr}`);
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ['src/main.ts', ...args], { cwd: app, env: { ...process.env, NODE_ENV: 'production' } }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as any).code ?? 1) : 0, stdout, stderr }),
      ),
    );
  for (const command of ['serve', 'bootstrap-certs']) {
    const result = await run([command, '--help']);
    t.equal(result.code, 0, `${command} --help in the image: ${result.stderr}`);
  }
  // bootstrap-certs loads client-node lazily: make it load (an unreachable API server fails after the import).
  const bootstrap = await run(['bootstrap-certs', '--kubeconfig', '/nonexistent']);
  t.match(bootstrap.stderr, /cannot load kubeconfig/, 'client-node imported from production dependencies');
  t.notOk(bootstrap.stderr.includes('ERR_MODULE_NOT_FOUND'));
});

function parseHours(duration: string): number {
  const match = /^(\d+)h$/.exec(duration);
  if (!match) throw new Error(`not an hours duration: ${duration}`);
  return Number(match[1]);
}
