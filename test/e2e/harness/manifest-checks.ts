/**
 * The checks every installable rendering of epp-webhook must pass, whoever rendered it (`kubectl kustomize` of
 * deploy/, `helm template` of the chart): the webhook configurations carry the README's choices, every pod meets the
 * restricted Pod Security Standard, the Deployment probes and shuts down gracefully, RBAC is least privilege, each
 * certificate mode is wired end to end. Used by deploy-manifests.e2e.test.ts and helm-chart.e2e.test.ts.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';

const ROOT = new URL('../../../', import.meta.url).pathname;

export interface Rendering {
  name: string;
  yaml: string;
  objects: any[];
}

export const NAMESPACE = 'epp-webhook';
const EXCLUDED_NAMESPACES = ['kube-system', 'kube-node-lease'];
export const SERVICE_NAMES = ['epp-webhook', 'epp-webhook.epp-webhook', 'epp-webhook.epp-webhook.svc', 'epp-webhook.epp-webhook.svc.cluster.local'];

export function findObject(rendered: Rendering, kind: string, name?: string): any {
  const found = rendered.objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length !== 1) throw new Error(`${rendered.name}: expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}

/** Every pod template in the rendering (Deployment, Job, CronJob), with where it came from. */
export function podTemplates(rendered: Rendering): { owner: string; template: any }[] {
  return rendered.objects.flatMap((o) => {
    const owner = `${o.kind} ${o.metadata?.name}`;
    if (o.kind === 'Deployment' || o.kind === 'Job' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet') return [{ owner, template: o.spec.template }];
    if (o.kind === 'CronJob') return [{ owner, template: o.spec.jobTemplate.spec.template }];
    if (o.kind === 'Pod') return [{ owner, template: { metadata: o.metadata, spec: o.spec } }];
    return [];
  });
}

/** A Pod built from a workload's pod template, for a server-side dry-run through Pod Security admission. */
export function podFromTemplate(template: any, name: string, namespace: string): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: template.metadata?.labels ?? {} },
    spec: template.spec,
  };
}

/** README "Webhook configuration": per webhook, what it matches and how it fails. */
/** The webhooks that only warn (routes opted out of injection; DestinationRules): Ignore whatever the chart's failurePolicy. */
const WARNS_ONLY = 'httproutes.validate.epp-webhook.io';
const DESTINATION_RULES = 'destinationrules.validate.epp-webhook.io';
const EXPECTED_WEBHOOKS = {
  MutatingWebhookConfiguration: {
    'envoyfilters.mutate.epp-webhook.io': { group: 'networking.istio.io', resource: 'envoyfilters', path: '/mutate' },
    'httproutes.mutate.epp-webhook.io': { group: 'gateway.networking.k8s.io', resource: 'httproutes', path: '/mutate' },
  },
  ValidatingWebhookConfiguration: {
    'envoyfilters.validate.epp-webhook.io': { group: 'networking.istio.io', resource: 'envoyfilters', path: '/validate' },
    'httproutes.validate.epp-webhook.io': { group: 'gateway.networking.k8s.io', resource: 'httproutes', path: '/validate' },
    [DESTINATION_RULES]: { group: 'networking.istio.io', resource: 'destinationrules', path: '/validate' },
  },
} as const;

export function checkWebhookConfigurations(t: Test, r: Rendering, expected = { failurePolicy: 'Fail', maxTimeoutSeconds: 5, excludedNamespaces: EXCLUDED_NAMESPACES }): void {
  const service = findObject(r, 'Service', 'epp-webhook');
  const deployment = findObject(r, 'Deployment', 'epp-webhook');
  const httpsPort = service.spec.ports.find((p: any) => p.port === 443);
  t.equal(httpsPort?.targetPort, 'https', 'Service 443 -> the container port named https');
  t.ok(deployment.spec.template.spec.containers[0].ports.some((p: any) => p.name === 'https' && p.containerPort === 8443));

  for (const [kind, webhooks] of Object.entries(EXPECTED_WEBHOOKS)) {
    const configuration = findObject(r, kind, 'epp-webhook');
    t.same(configuration.webhooks.map((w: any) => w.name).sort(), Object.keys(webhooks).sort(), `${kind}: exactly these webhooks`);
    for (const webhook of configuration.webhooks) {
      const want = (webhooks as Record<string, { group: string; resource: string; path: string }>)[webhook.name];
      const where = `${kind} ${webhook.name}`;
      t.equal(webhook.sideEffects, 'None', `${where}: sideEffects None (dry-runs and GitOps diffs reach it)`);
      t.same(webhook.admissionReviewVersions, ['v1'], where);
      t.equal(webhook.matchPolicy, 'Equivalent', where);
      t.equal(webhook.failurePolicy, webhook.name === WARNS_ONLY || webhook.name === DESTINATION_RULES ? 'Ignore' : expected.failurePolicy, `${where}: failurePolicy`);
      t.ok(webhook.timeoutSeconds >= 1 && webhook.timeoutSeconds <= expected.maxTimeoutSeconds, `${where}: timeoutSeconds ${webhook.timeoutSeconds} fails fast`);
      if (kind === 'MutatingWebhookConfiguration') t.equal(webhook.reinvocationPolicy, 'IfNeeded', where);
      t.same(webhook.rules, [{ apiGroups: [want.group], apiVersions: ['*'], resources: [want.resource], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }], `${where}: only ${want.resource} CREATE/UPDATE`);
      const notIn = webhook.namespaceSelector?.matchExpressions?.find((e: any) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn');
      t.same(notIn?.values, expected.excludedNamespaces, `${where}: exactly these namespaces excluded`);
      // Its own objects are none of the kinds it matches: excluding its namespace would only let an EnvoyFilter there pass unchecked.
      if (!expected.excludedNamespaces.includes(NAMESPACE)) t.notOk(notIn?.values.includes(NAMESPACE), `${where}: its own namespace is not excluded`);
      t.same(webhook.clientConfig.service, { name: 'epp-webhook', namespace: NAMESPACE, path: want.path, port: 443 }, `${where}: the Service`);
      t.notOk(webhook.clientConfig.url, where);
    }
  }
  const routes = findObject(r, 'MutatingWebhookConfiguration', 'epp-webhook').webhooks.find((w: any) => w.name === 'httproutes.mutate.epp-webhook.io');
  t.same(routes.matchConditions.map((c: any) => c.name), ['targets-an-inference-pool', 'not-opted-out'], 'only InferencePool routes depend on the webhook');
  const optedOut = findObject(r, 'ValidatingWebhookConfiguration', 'epp-webhook').webhooks.find((w: any) => w.name === WARNS_ONLY);
  t.same(optedOut.matchConditions.map((c: any) => c.name), ['targets-an-inference-pool', 'opted-out'], 'the routes the mutating webhook is not called for');
  t.equal(optedOut.matchConditions[0].expression, routes.matchConditions[0].expression, 'the same InferencePool routes as the mutating webhook');
  const squeezed = (expression: string) => expression.replace(/\s+/g, ' ').trim();
  t.equal(squeezed(routes.matchConditions[1].expression), "!has(object.metadata.annotations) || !('epp-webhook.io/inject' in object.metadata.annotations) || object.metadata.annotations['epp-webhook.io/inject'] != 'false'");
  t.equal(squeezed(optedOut.matchConditions[1].expression), "has(object.metadata.annotations) && 'epp-webhook.io/inject' in object.metadata.annotations && object.metadata.annotations['epp-webhook.io/inject'] == 'false'", 'its negation, so each InferencePool route reaches exactly one of the two');
  t.ok(optedOut.timeoutSeconds <= 2, `${WARNS_ONLY}: timeoutSeconds ${optedOut.timeoutSeconds}: an unreachable webhook delays an opted-out route's apply by 2 s at most`);
  const rules = findObject(r, 'ValidatingWebhookConfiguration', 'epp-webhook').webhooks.find((w: any) => w.name === DESTINATION_RULES);
  t.same(rules.matchConditions.map((c: any) => c.name), ['sets-a-connection-pool'], 'only DestinationRules that set a connection pool reach the webhook');
  t.equal(squeezed(rules.matchConditions[0].expression), 'has(object.spec) && has(object.spec.trafficPolicy) && (has(object.spec.trafficPolicy.connectionPool) || has(object.spec.trafficPolicy.portLevelSettings))');
  t.ok(rules.timeoutSeconds <= 2, `${DESTINATION_RULES}: timeoutSeconds ${rules.timeoutSeconds}: 2 s at most`);
}

export function checkRestrictedPodSecurity(t: Test, r: Rendering): void {
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
}

/** `configMapName`: how the Deployment's config volume must be named (content-hashed by Kustomize, fixed by Helm). */
export function checkDeployment(t: Test, r: Rendering, options: { replicas: number; configMapName: RegExp }): void {
  const deployment = findObject(r, 'Deployment', 'epp-webhook');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  t.equal(deployment.spec.replicas, options.replicas);
  t.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0, 'a rollout never drops below the replicas');
  t.same([container.readinessProbe.httpGet.path, container.livenessProbe.httpGet.path, container.startupProbe.httpGet.path], ['/readyz', '/healthz', '/healthz']);
  for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
    const port = container.ports.find((p: any) => p.name === probe.httpGet.port || p.containerPort === probe.httpGet.port);
    t.ok(port, `probe ${probe.httpGet.path} targets a declared container port (${probe.httpGet.port})`);
  }
  // A client holding every connection of the webhook port must not get the pod restarted (request-limits.test.ts).
  t.same([container.livenessProbe.httpGet.port, container.livenessProbe.httpGet.scheme], ['metrics', 'HTTP'], 'liveness asks the metrics port, a listener of its own');
  t.ok(container.args.includes('--metrics-port=9090') && container.ports.some((p: any) => p.name === 'metrics' && p.containerPort === 9090), 'the metrics port is served and declared');
  const timeouts = r.objects
    .filter((o) => o.kind === 'MutatingWebhookConfiguration' || o.kind === 'ValidatingWebhookConfiguration')
    .flatMap((o) => o.webhooks.map((w: any) => w.timeoutSeconds));
  const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
  t.ok(preStop > 0, 'preStop pause: endpoints drop the pod before it stops listening');
  t.ok(pod.terminationGracePeriodSeconds > preStop + Math.max(...timeouts), `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > preStop ${preStop} + webhook timeout ${Math.max(...timeouts)}`);

  const pdb = findObject(r, 'PodDisruptionBudget', 'epp-webhook');
  t.equal(pdb.spec.minAvailable, 1);
  t.same(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
  for (const selector of [findObject(r, 'Service', 'epp-webhook').spec.selector, findObject(r, 'NetworkPolicy', 'epp-webhook').spec.podSelector.matchLabels]) {
    t.ok(Object.entries(selector).every(([k, v]) => deployment.spec.template.metadata.labels[k] === v), 'the Service and NetworkPolicy select the webhook pods');
  }

  // Arguments name files under the mounts, and the mounts name objects in this rendering (or the certificate Secret).
  const arg = (flag: string) => container.args.find((a: string) => a.startsWith(`--${flag}=`))?.split('=')[1];
  const mountOf = (file: string) => container.volumeMounts.find((m: any) => file.startsWith(`${m.mountPath}/`));
  const volume = (file: string) => pod.volumes.find((v: any) => v.name === mountOf(file)?.name);
  t.equal(volume(arg('tls-cert'))?.secret?.secretName, 'epp-webhook-tls');
  t.equal(volume(arg('tls-key'))?.secret?.secretName, 'epp-webhook-tls');
  t.equal(volume(arg('tls-cert')).secret.defaultMode, 0o440, 'the key is readable by the pod group only');
  const configMap = volume(arg('config'))?.configMap?.name;
  t.match(configMap, options.configMapName);
  t.ok(findObject(r, 'ConfigMap', configMap).data['config.yaml']);
}

/**
 * The webhook's own identity: Services, InferencePools and EnvoyFilters list+watch; with the reconciler, EnvoyFilter
 * get/patch, Service and InferencePool get (read from the API before a write its caches chose), Events and its Lease.
 */
export function checkWebhookRbac(t: Test, r: Rendering, options: { reconciler: boolean }): void {
  const subject = { kind: 'ServiceAccount', name: 'epp-webhook', namespace: NAMESPACE };
  const bound = r.objects.filter((o) => (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') && o.subjects?.some((s: any) => s.name === subject.name && s.namespace === subject.namespace));
  const rules = bound.flatMap((binding) => findObject(r, binding.roleRef.kind, binding.roleRef.name).rules.map((rule: any) => ({ ...rule, scope: binding.kind })));
  const grants = rules.flatMap((rule: any) => rule.resources.flatMap((resource: string) => rule.verbs.map((verb: string) => `${rule.scope === 'RoleBinding' ? 'ns' : 'cluster'} ${verb} ${resource}${rule.resourceNames ? `/${rule.resourceNames.join(',')}` : ''}`)));
  const expected = ['services', 'inferencepools', 'envoyfilters'].flatMap((resource) => [`cluster list ${resource}`, `cluster watch ${resource}`]);
  if (options.reconciler) {
    expected.push('cluster get envoyfilters', 'cluster patch envoyfilters', 'cluster get services', 'cluster get inferencepools', 'cluster create events', 'cluster patch events');
    expected.push('ns create leases', 'ns get leases/epp-webhook-reconciler', 'ns update leases/epp-webhook-reconciler');
  }
  t.same(grants.sort(), expected.sort(), 'the webhook identity holds exactly these rights');
  t.notOk(rules.some((rule: any) => rule.resources.includes('secrets')), 'no access to Secrets');
  const args = findObject(r, 'Deployment', 'epp-webhook').spec.template.spec.containers[0].args;
  t.equal(args.includes('--reconcile'), options.reconciler, '--reconcile runs exactly when its RBAC is there');
}

export function checkCaBundleLeftToTheInstaller(t: Test, r: Rendering): void {
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    const configuration = findObject(r, kind, 'epp-webhook');
    t.notOk(configuration.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${r.name} ${kind}`);
    t.ok(configuration.webhooks.every((w: any) => w.clientConfig.caBundle === undefined), `${r.name} ${kind}: no caBundle in the manifest (an apply must not overwrite the installed one)`);
  }
}

export function checkCertManagerWiring(t: Test, r: Rendering): void {
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    t.equal(findObject(r, kind, 'epp-webhook').metadata.annotations['cert-manager.io/inject-ca-from'], 'epp-webhook/epp-webhook-serving', kind);
  }
  const serving = findObject(r, 'Certificate', 'epp-webhook-serving');
  t.equal(serving.metadata.namespace, NAMESPACE);
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
}

export function checkSelfSignedBootstrap(t: Test, r: Rendering): void {
  const job = findObject(r, 'Job', 'epp-webhook-bootstrap-certs');
  const cron = findObject(r, 'CronJob', 'epp-webhook-rotate-certs');
  t.same(cron.spec.jobTemplate.spec.template, job.spec.template, "the CronJob runs exactly the Job's pod");
  t.ok(job.spec.backoffLimit > 0 && job.spec.backoffLimit <= 10, 'retried, boundedly');
  if (job.metadata.annotations?.['helm.sh/hook'] !== undefined) t.ok(job.spec.ttlSecondsAfterFinished > 0, "Helm's hook Job, kept when it fails, is cleaned up");
  else t.equal(job.spec.ttlSecondsAfterFinished, undefined, 'applied by Kustomize, the finished Job stays: Argo CD or Flux would recreate and rerun one that removed itself');
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
    t.same(binding.subjects, [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: NAMESPACE }]);
  }

  // The Job's pod must not be mistaken for a webhook replica.
  const labels = job.spec.template.metadata.labels;
  const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  t.notOk(matches(findObject(r, 'Service', 'epp-webhook').spec.selector), 'the Service does not route admissions to it');
  t.notOk(matches(findObject(r, 'PodDisruptionBudget', 'epp-webhook').spec.selector.matchLabels), 'the PDB does not count it');
  t.notOk(matches(findObject(r, 'NetworkPolicy', 'epp-webhook').spec.podSelector.matchLabels));
}

/** Every container's arguments, as the CLI parses them (strictly: an unknown or malformed flag exits 2). */
export async function checkArgumentsAccepted(t: Test, r: Rendering): Promise<void> {
  for (const { owner, template } of podTemplates(r)) {
    const container = template.spec.containers[0];
    const args = container.args.map((a: string) => a.replace('$(POD_NAMESPACE)', NAMESPACE));
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [join(ROOT, 'src/main.ts'), ...args, '--help'], (error, _stdout, stderr) => resolve({ code: error ? ((error as any).code ?? 1) : 0, stderr })),
    );
    t.equal(result.code, 0, `${owner}: epp-webhook ${args.join(' ')}: ${result.stderr}`);
  }
}

function parseHours(duration: string): number {
  const match = /^(\d+)h$/.exec(duration);
  if (!match) throw new Error(`not an hours duration: ${duration}`);
  return Number(match[1]);
}
