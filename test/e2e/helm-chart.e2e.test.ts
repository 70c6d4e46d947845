/**
 * The Helm chart, rendered by the real helm (built from helm.sh/helm/v4 by test/e2e/build-helm.sh): `helm lint
 * --strict`; the default values and each certificate mode pass the checks deploy/'s Kustomize output passes
 * (harness/manifest-checks.ts); operators' values reach the objects; a bad value fails with the schema's message;
 * and deploy/ is the chart's rendering (checked-in files equal `npm run generate:kustomize` output, and `kubectl
 * kustomize` of each overlay gives the objects `helm template` gives for the same settings). No API server here:
 * helm-install.e2e.test.ts installs the chart on one.
 */
import t, { type Test } from 'tap';
import { scratchDir } from '../helpers/scratch-dir.ts';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config.ts';
import { HELM_ONLY_ANNOTATIONS, HELM_ONLY_JOB_FIELDS, HELM_ONLY_LABELS, RENDERINGS } from '../../scripts/kustomize-from-chart.ts';
import { staleKustomizeFiles } from '../../scripts/generate-kustomize.ts';
import { CHART, helm, helmTemplate } from './harness/helm.ts';
import { KUSTOMIZATIONS, renderKustomization, type KustomizationName } from './harness/kustomize.ts';
import {
  checkArgumentsAccepted,
  checkCaBundleLeftToTheInstaller,
  checkCertManagerWiring,
  checkDeployment,
  checkRestrictedPodSecurity,
  checkSelfSignedBootstrap,
  checkWebhookConfigurations,
  checkWebhookRbac,
  findObject,
  type Rendering,
} from './harness/manifest-checks.ts';

const MODES = { selfSigned: [], certManager: ['--set', 'certificates.mode=certManager'], external: ['--set', 'certificates.mode=external'] } as const;

async function render(name: string, args: string[] = []): Promise<Rendering> {
  const yaml = await helmTemplate(args);
  const objects = parseAllDocuments(yaml)
    .map((d) => d.toJS())
    .filter((o) => o !== null && o !== undefined);
  return { name, yaml, objects };
}

const configOf = (r: Rendering) => parseConfig(parse(findObject(r, 'ConfigMap', 'epp-webhook-config').data['config.yaml']), `${r.name} config.yaml`);

t.test('helm lint --strict passes for the default values and every certificate mode', async (t) => {
  for (const [mode, args] of Object.entries(MODES)) {
    const result = await helm(['lint', '--strict', CHART, ...args]);
    t.equal(result.code, 0, `${mode}: ${result.stdout}${result.stderr}`);
    t.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/, mode);
  }
});

for (const [mode, args] of Object.entries(MODES)) {
  t.test(`${mode}: the rendering passes the checks deploy/ passes`, async (t) => {
    const r = await render(mode, [...args]);
    checkWebhookConfigurations(t, r);
    checkRestrictedPodSecurity(t, r);
    checkDeployment(t, r, { replicas: 2, configMapName: /^epp-webhook-config$/ });
    checkWebhookRbac(t, r, { reconciler: true });
    await checkArgumentsAccepted(t, r);
    t.same(configOf(r), parseConfig({}), 'the default config is the webhook\'s own defaults');
    t.notOk(r.objects.some((o) => o.kind === 'Namespace'), 'the release namespace is not the chart\'s to create or delete');
    if (mode === 'selfSigned') {
      checkCaBundleLeftToTheInstaller(t, r);
      checkSelfSignedBootstrap(t, r);
      t.same(findObject(r, 'Job', 'epp-webhook-bootstrap-certs').metadata.annotations, { 'helm.sh/hook': 'post-install,post-upgrade', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' }, 'a hook: install waits for the caBundle, an upgrade replaces the Job, success removes it');
      checkCreateCertsHook(t, r);
    }
    if (mode === 'certManager') checkCertManagerWiring(t, r);
    if (mode === 'external') {
      checkCaBundleLeftToTheInstaller(t, r);
      t.notOk(r.objects.some((o) => o.kind === 'Job' || o.kind === 'CronJob' || o.kind === 'Certificate'), 'nothing issues certificates');
    }
    t.notOk(r.objects.some((o) => o.kind === 'ServiceMonitor' || o.kind === 'PrometheusRule'), 'monitoring objects are off by default (their CRDs may be missing)');
  });
}

t.test("operators' values reach the objects they are about", async (t) => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  const r = await render('custom', [
    '--set', 'replicaCount=3',
    '--set', 'image.repository=registry.example.com/epp-webhook',
    '--set', `image.digest=${digest}`,
    '--set', 'image.pullPolicy=Always',
    '--set', 'imagePullSecrets[0].name=regcred',
    '--set', 'resources.requests.memory=256Mi',
    '--set', 'nodeSelector.pool=system',
    '--set', 'tolerations[0].key=dedicated',
    '--set', 'tolerations[0].operator=Exists',
    '--set', 'priorityClassName=system-cluster-critical',
    '--set', 'webhooks.failurePolicy=Ignore',
    '--set', 'webhooks.timeoutSeconds=10',
    '--set', 'webhooks.excludedNamespaces={kube-system,istio-system}',
    '--set', 'config.placeholder=EPP_IP',
    '--set', 'config.eppService.name=my-epp',
    '--set', 'config.eppService.namespace=llm-d',
    '--set', 'config.allowedServiceNamespaces={llm-d,shared}',
    '--set', 'config.severities.EPP402=off',
    '--set', 'reconciler.enabled=false',
    '--set', 'networkPolicy.enabled=false',
    '--set', 'podDisruptionBudget.enabled=false',
    '--set', 'monitoring.serviceMonitor.enabled=true',
    '--set', 'monitoring.serviceMonitor.labels.release=kube-prometheus-stack',
    '--set', 'monitoring.prometheusRule.enabled=true',
    '--set', 'monitoring.prometheusRule.labels.release=kube-prometheus-stack',
    '--set', 'podLabels.team=inference',
    '--set', 'podLabels.app\\.kubernetes\\.io/name=other',
    '--set-string', 'podAnnotations.sidecar\\.istio\\.io/inject=false',
    '--set', 'podAnnotations.checksum/config=mine',
    '--set', 'extraArgs={--log-level=debug}',
    '--set', 'extraEnv[0].name=UV_THREADPOOL_SIZE',
    '--set-string', 'extraEnv[0].value=8',
  ]);
  const deployment = findObject(r, 'Deployment', 'epp-webhook');
  const pod = deployment.spec.template.spec;
  const podMetadata = deployment.spec.template.metadata;
  t.equal(podMetadata.labels.team, 'inference', 'podLabels reach the pods');
  t.equal(podMetadata.labels['app.kubernetes.io/name'], 'epp-webhook', "the chart's own labels win: the Service selects on them");
  t.same(findObject(r, 'Service', 'epp-webhook').spec.selector, deployment.spec.selector.matchLabels);
  t.strictSame(podMetadata.annotations['sidecar.istio.io/inject'], 'false', 'podAnnotations reach the pods, as strings');
  t.match(podMetadata.annotations['checksum/config'], /^[0-9a-f]{64}$/, "the chart's config checksum wins");
  t.same(pod.containers[0].args.slice(-1), ['--log-level=debug'], 'extraArgs come after the chart\'s flags');
  t.same(pod.containers[0].env.slice(-1), [{ name: 'UV_THREADPOOL_SIZE', value: '8' }], 'extraEnv after the chart\'s variables');
  t.equal(deployment.spec.replicas, 3);
  for (const { template } of [deployment.spec, findObject(r, 'Job', 'epp-webhook-bootstrap-certs').spec, findObject(r, 'Job', 'epp-webhook-create-certs').spec, findObject(r, 'CronJob').spec.jobTemplate.spec]) {
    t.equal(template.spec.containers[0].image, `registry.example.com/epp-webhook@${digest}`, 'pulled by digest');
    t.equal(template.spec.containers[0].imagePullPolicy, 'Always');
    t.same(template.spec.imagePullSecrets, [{ name: 'regcred' }]);
    t.same(template.spec.nodeSelector, { pool: 'system' });
    t.same(template.spec.tolerations, [{ key: 'dedicated', operator: 'Exists' }]);
    t.equal(template.spec.priorityClassName, 'system-cluster-critical');
  }
  t.same(pod.containers[0].resources, { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '384Mi' } });
  checkWebhookConfigurations(t, r, { failurePolicy: 'Ignore', maxTimeoutSeconds: 10, excludedNamespaces: ['kube-system', 'istio-system'] });
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    for (const webhook of findObject(r, kind).webhooks) {
      const warnsOnly = webhook.name === 'httproutes.validate.epp-webhook.io' || webhook.name === 'destinationrules.validate.epp-webhook.io';
      t.equal(webhook.timeoutSeconds, warnsOnly ? 2 : 10, `${webhook.name}: the webhooks that only warn wait 2 s at most`);
      t.same(webhook.namespaceSelector.matchExpressions[0].values, ['kube-system', 'istio-system'], 'what the value lists, and not the release namespace');
    }
  }
  t.ok(pod.terminationGracePeriodSeconds > 5 + 10, 'the grace period outlasts preStop plus the longer timeout');
  const config = configOf(r);
  t.equal(config.placeholder, 'EPP_IP');
  t.same(config.eppService, { name: 'my-epp', namespace: 'llm-d' });
  t.same(config.allowedServiceNamespaces, ['llm-d', 'shared']);
  t.same(config.severities, { EPP402: 'off' });
  t.equal(config.admissionTimeoutMs, 9000, 'the admission deadline follows timeoutSeconds, a second below it');
  checkWebhookRbac(t, r, { reconciler: false });
  t.notOk(r.objects.some((o) => o.kind === 'NetworkPolicy' || o.kind === 'PodDisruptionBudget'));
  const monitor = findObject(r, 'ServiceMonitor', 'epp-webhook');
  t.equal(monitor.metadata.labels.release, 'kube-prometheus-stack');
  t.same(monitor.spec.selector.matchLabels, findObject(r, 'Service', 'epp-webhook').spec.selector);
  t.equal(monitor.spec.endpoints[0].port, 'metrics');
  const jobOf = (m: any) => m.spec.endpoints[0].relabelings?.find((r: any) => r.targetLabel === 'job')?.replacement;
  t.equal(jobOf(monitor), 'epp-webhook', 'scraped as the job the alert rules select on');
  const renamed = await render('nameOverride', ['--set', 'nameOverride=epp-admission', '--set', 'monitoring.serviceMonitor.enabled=true', '--set', 'monitoring.prometheusRule.enabled=true']);
  const renamedMonitor = renamed.objects.find((o) => o.kind === 'ServiceMonitor');
  t.equal(renamedMonitor.metadata.labels['app.kubernetes.io/name'], 'epp-admission');
  t.equal(jobOf(renamedMonitor), 'epp-webhook', 'nameOverride renames the objects, not the job the rules select on');
  t.notOk(renamedMonitor.spec.jobLabel, 'no job taken from a label nameOverride changes');
  const selected = new Set(JSON.stringify(renamed.objects.find((o) => o.kind === 'PrometheusRule').spec).match(/job=\\"[^\\]+\\"/g));
  t.same([...selected], ['job=\\"epp-webhook\\"'], 'every rule selects that job');
  const rules = findObject(r, 'PrometheusRule', 'epp-webhook');
  t.equal(rules.metadata.labels.release, 'kube-prometheus-stack');
  t.ok(rules.spec.groups[0].rules.some((rule: any) => rule.alert === 'EppWebhookDown'));
  t.match(rules.spec.groups[0].rules[0].annotations.summary, /\{\{ \$labels\.endpoint \}\}/, "Prometheus' templates survive Helm's");
});

t.test('severities in a values file as README writes them: an unquoted off, which Helm reads as YAML 1.1 false, is off', async (t) => {
  const values = join(scratchDir('helm-values-'), 'values.yaml');
  writeFileSync(values, 'config:\n  severities: {EPP402: off, EPP205: warn, EPP230: "off"}\n');
  const r = await render('values-file', ['-f', values]);
  t.same(configOf(r).severities, { EPP402: 'off', EPP205: 'warn', EPP230: 'off' }, 'the webhook gets "off", which its own YAML 1.2 reader keeps a string');
  writeFileSync(values, 'config:\n  severities: {EPP101: off}\n');
  const refused = await helm(['template', 'epp-webhook', CHART, '-f', values]);
  t.not(refused.code, 0, 'a rule that cannot be relaxed is still refused');
  t.match(refused.stderr, /at '\/config\/severities\/EPP101': value must be 'deny'/);
});

t.test('a PodDisruptionBudget only where a drain can meet it', async (t) => {
  const budgets = async (args: string[]) => (await render('pdb', args)).objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.spec.minAvailable);
  t.same(await budgets([]), [1], 'two replicas, one kept');
  t.same(await budgets(['--set', 'replicaCount=3', '--set', 'podDisruptionBudget.minAvailable=2']), [2]);
  t.same(await budgets(['--set', 'podDisruptionBudget.minAvailable=50%']), ['50%']);
  t.same(await budgets(['--set', 'replicaCount=3', '--set', 'podDisruptionBudget.minAvailable=60%']), ['60%'], '60% of 3 keeps 2');
  const blocking = [
    ['--set', 'replicaCount=1'],
    ['--set', 'podDisruptionBudget.minAvailable=2'],
    ['--set', 'podDisruptionBudget.minAvailable=100%'],
    ['--set', 'replicaCount=1', '--set', 'podDisruptionBudget.minAvailable=50%'],
    ['--set', 'replicaCount=2', '--set', 'podDisruptionBudget.minAvailable=60%'],
    ['--set', 'replicaCount=3', '--set', 'podDisruptionBudget.minAvailable=90%'],
  ];
  for (const args of blocking) {
    t.same(await budgets(args), [], `${args.join(' ')}: no eviction could meet it, and it would block every node drain`);
  }
});

t.test("every pod of the chart stays out of an Istio mesh (a sidecar under STRICT mTLS refuses the API server's calls; a bootstrap Job's sidecar never exits), unless podLabels says otherwise", async (t) => {
  const OUT = { 'sidecar.istio.io/inject': 'false', 'istio.io/dataplane-mode': 'none' };
  const pods = (r: Rendering) =>
    r.objects.flatMap((o) =>
      o.kind === 'Deployment' || o.kind === 'Job' ? [[`${o.kind} ${o.metadata.name}`, o.spec.template.metadata.labels]] : o.kind === 'CronJob' ? [[`${o.kind} ${o.metadata.name}`, o.spec.jobTemplate.spec.template.metadata.labels]] : [],
    ) as [string, Record<string, string>][];
  const all = pods(await render('mesh'));
  t.same(all.map(([what]) => what.split(' ')[0]).sort(), ['CronJob', 'Deployment', 'Job', 'Job'], "the webhook's, the bootstrap's and the pre-install hook's");
  for (const [what, labels] of all) t.match(labels, OUT, what);
  const meshed = pods(await render('meshed', ['--set-string', 'podLabels.sidecar\\.istio\\.io/inject=true']));
  t.equal(meshed.find(([what]) => what.startsWith('Deployment'))![1]['sidecar.istio.io/inject'], 'true', "podLabels replaces the webhook pods' own");
});

t.test('mode external without a caBundle: the install notes say the webhooks trust no CA until one is installed', async (t) => {
  const notes = async (...set: string[]) => {
    const result = await helm(['install', '--dry-run=client', 'epp-webhook', CHART, '--namespace', 'epp-webhook', '--set', 'certificates.mode=external', ...set.flatMap((s) => ['--set', s])]);
    t.equal(result.code, 0, result.stderr);
    return result.stdout.slice(result.stdout.indexOf('NOTES:'));
  };
  t.match(await notes(), /certificates\.external\.caBundle is empty: the webhooks have no CA to trust until you install one[^]*EnvoyFilter writes and HTTPRoutes to InferencePools fail with "failed calling webhook" until then/);
  t.match(await notes('webhooks.failurePolicy=Ignore'), /EnvoyFilters are stored unchecked and unsubstituted until then/, 'under Ignore, what happens is that nothing is checked');
  t.notMatch(await notes('certificates.external.caBundle=Zm9v'), 'caBundle is empty', 'not once it is set');
});

t.test('certManager with an existing issuer: only the serving Certificate, signed by it', async (t) => {
  const r = await render('issuer', ['--set', 'certificates.mode=certManager', '--set', 'certificates.certManager.issuerRef.name=corp-ca', '--set', 'certificates.certManager.issuerRef.kind=ClusterIssuer']);
  t.same(r.objects.filter((o) => o.kind === 'Certificate' || o.kind === 'Issuer').map((o) => `${o.kind} ${o.metadata.name}`), ['Certificate epp-webhook-serving']);
  t.same(findObject(r, 'Certificate').spec.issuerRef, { name: 'corp-ca', kind: 'ClusterIssuer' });
});

t.test('another release name: every object is named after it, and every reference between them still resolves', async (t) => {
  const yaml = (await helm(['template', 'gateway', CHART, '--namespace', 'llm-d', '--set', 'monitoring.serviceMonitor.enabled=true'])).stdout;
  const objects = parseAllDocuments(yaml).map((d) => d.toJS()).filter(Boolean);
  const r: Rendering = { name: 'gateway', yaml, objects };
  const has = (kind: string, name: string) => objects.some((o) => o.kind === kind && o.metadata.name === name);
  t.ok(objects.every((o) => o.metadata.name.startsWith('gateway-epp-webhook')), 'every name derives from the release');
  const deployment = findObject(r, 'Deployment', 'gateway-epp-webhook');
  const pod = deployment.spec.template.spec;
  t.ok(has('ServiceAccount', pod.serviceAccountName));
  t.ok(has('ConfigMap', pod.volumes.find((v: any) => v.name === 'config').configMap.name));
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    for (const webhook of findObject(r, kind).webhooks) {
      t.ok(has('Service', webhook.clientConfig.service.name) && webhook.clientConfig.service.namespace === 'llm-d', `${kind}: its Service`);
      t.notOk(webhook.namespaceSelector.matchExpressions[0].values.includes('llm-d'), `${kind}: the release namespace, the app's here, is not excluded: its EnvoyFilters are checked`);
    }
  }
  for (const binding of objects.filter((o) => o.kind.endsWith('Binding'))) {
    t.ok(has(binding.roleRef.kind, binding.roleRef.name), `${binding.metadata.name}: its role`);
    for (const subject of binding.subjects) t.ok(has('ServiceAccount', subject.name) && subject.namespace === 'llm-d', `${binding.metadata.name}: its subject`);
  }
  const args = findObject(r, 'Job', 'gateway-epp-webhook-bootstrap-certs').spec.template.spec.containers[0].args;
  t.ok(args.includes(`--secret=${pod.volumes.find((v: any) => v.name === 'tls').secret.secretName}`), 'the bootstrap writes the Secret the pods mount');
  t.ok(args.includes('--service=gateway-epp-webhook') && args.includes('--mutating-webhook-configuration=gateway-epp-webhook'));
  t.same(findObject(r, 'ServiceMonitor').spec.selector.matchLabels, findObject(r, 'Service').spec.selector);

  const long = await render('long', ['--set', `fullnameOverride=${'x'.repeat(70)}`]);
  for (const o of long.objects) t.ok(o.metadata.name.length <= (o.kind === 'CronJob' ? 52 : 63), `${o.kind} name within the limit (${o.metadata.name.length})`);
});

t.test('a config change changes the pod template (the pods roll and read it); other changes do not', async (t) => {
  const checksum = async (args: string[]) => findObject(await render('checksum', args), 'Deployment').spec.template.metadata.annotations['checksum/config'];
  const before = await checksum([]);
  t.not(await checksum(['--set', 'config.eppService.name=other-epp']), before);
  t.equal(await checksum(['--set', 'replicaCount=3']), before);
});

t.test('names YAML would read as something else, and names too long for a certificate\'s commonName, render objects the API server and cert-manager take', async (t) => {
  const result = await helm(['template', 'llm-d-inference-gateway-epp-webhook', CHART, '--namespace', '2024', '--set-json', 'webhooks.excludedNamespaces=["on","2024","kube-system"]', '--set', 'certificates.mode=certManager']);
  t.equal(result.code, 0, result.stderr);
  const objects = parseAllDocuments(result.stdout).map((d) => d.toJS()).filter((o) => o !== null && o !== undefined);
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    for (const webhook of objects.find((o) => o.kind === kind).webhooks) {
      const excluded = webhook.namespaceSelector.matchExpressions.find((e: { key: string }) => e.key === 'kubernetes.io/metadata.name');
      t.strictSame(excluded.values, ['on', '2024', 'kube-system'], `${kind} ${webhook.name}: strings, as YAML 1.1 reads them too (not true and 2024)`);
    }
  }
  const serving = objects.find((o) => o.kind === 'Certificate' && o.metadata.name.endsWith('-serving'));
  t.equal(serving.spec.commonName, undefined, 'no commonName: cert-manager refuses one over 64 bytes');
  t.ok(serving.spec.dnsNames.includes('llm-d-inference-gateway-epp-webhook.2024.svc'), 'the dnsNames the API server verifies');
});

t.test('a bad value fails with the schema\'s message, naming the value', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--set', 'webhooks.failurePolicy=Sometimes'], /at '\/webhooks\/failurePolicy': value must be one of 'Fail', 'Ignore'/],
    [['--set', 'replicas=3'], /additional properties 'replicas' not allowed/],
    [['--set', 'certificates.mode=manual'], /at '\/certificates\/mode': value must be one of 'selfSigned', 'certManager', 'external'/],
    [['--set', 'config.placeholder=ab'], /at '\/config\/placeholder'/],
    [['--set', 'config.severities.EPP402=never'], /at '\/config\/severities\/EPP402': value must be one of 'deny', 'warn', 'off'/],
    [['--set', 'config.severities.EPP999=off'], /at '\/config\/severities': additional properties 'EPP999' not allowed/],
    [['--set', 'config.severities.EPP101=off'], /at '\/config\/severities\/EPP101': value must be 'deny'/],
    [['--set', 'config.eppServce.name=x'], /at '\/config': additional properties 'eppServce' not allowed/],
    [['--set', 'webhooks.timeoutSeconds=31'], /at '\/webhooks\/timeoutSeconds': maximum: got 31, want 30/],
    [['--set', 'image.digest=latest'], /at '\/image\/digest'/],
    [['--set', 'podDisruptionBudget.minAvailable=most'], /at '\/podDisruptionBudget\/minAvailable'/],
  ];
  for (const [args, message] of cases) {
    const result = await helm(['template', 'epp-webhook', CHART, ...args]);
    t.not(result.code, 0, args.join(' '));
    t.match(result.stderr, /values don't meet the specifications of the schema/, args.join(' '));
    t.match(result.stderr, message, args.join(' '));
  }
  for (const args of [['--set', 'resources.requests.cpu=0.5'], ['--set', 'podDisruptionBudget.minAvailable=50%'], ['--set', 'podDisruptionBudget.minAvailable=1']]) {
    const result = await helm(['template', 'epp-webhook', CHART, '--set', 'replicaCount=3', ...args]);
    t.equal(result.code, 0, `${args.join(' ')} is a valid value: ${result.stderr}`);
  }
});

t.test('deploy/ is the chart\'s rendering: the checked-in Kustomize files equal `npm run generate:kustomize` output', async (t) => {
  t.same(await staleKustomizeFiles(), [], 'run npm run generate:kustomize and commit the result');
});

/** What only Helm adds, taken off so a Helm rendering compares with a Kustomize one. */
function withoutHelmOnly(object: any): any {
  const copy = structuredClone(object);
  const visit = (node: any) => {
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'labels' || key === 'annotations') && value && typeof value === 'object') {
        for (const drop of key === 'labels' ? HELM_ONLY_LABELS : HELM_ONLY_ANNOTATIONS) delete (value as any)[drop];
        if (key === 'annotations' && Object.keys(value).length === 0) delete node[key];
      }
      visit(value);
    }
  };
  visit(copy);
  if (copy.kind === 'Job') for (const field of HELM_ONLY_JOB_FIELDS) delete copy.spec[field];
  return copy;
}

t.test('the Kustomize bootstrap Job stays once finished (a GitOps tool would recreate one that removed itself); Helm\'s hook Job keeps its TTL', async (t) => {
  const kustomized = findObject(await renderKustomization('self-signed'), 'Job', 'epp-webhook-bootstrap-certs');
  t.equal(kustomized.spec.ttlSecondsAfterFinished, undefined);
  const helmed = findObject(await render('self-signed', [...RENDERINGS['self-signed']]), 'Job', 'epp-webhook-bootstrap-certs');
  t.equal(helmed.spec.ttlSecondsAfterFinished, 600);
  t.match(helmed.metadata.annotations['helm.sh/hook'], 'post-install');
});

const KUSTOMIZE_TO_HELM: Record<KustomizationName, keyof typeof RENDERINGS> = { base: 'base', 'self-signed': 'self-signed', 'cert-manager': 'cert-manager' };

for (const name of Object.keys(KUSTOMIZATIONS) as KustomizationName[]) {
  t.test(`kubectl kustomize ${KUSTOMIZATIONS[name]} gives the objects helm template gives for the same settings`, async (t) => {
    await sameObjects(t, await renderKustomization(name), await render(name, [...RENDERINGS[KUSTOMIZE_TO_HELM[name]]]));
  });

  t.test(`${KUSTOMIZATIONS[name]} with its namespace set to another (kustomize edit set namespace) gives the objects helm template -n gives there`, async (t) => {
    const root = scratchDir('epp-kustomize-namespace-');
    cpSync(join(CHART, '../..'), join(root, 'deploy'), { recursive: true });
    const file = join(root, KUSTOMIZATIONS[name], 'kustomization.yaml');
    const text = readFileSync(file, 'utf8');
    t.match(text, /^namespace: epp-webhook$/m);
    writeFileSync(file, text.replace(/^namespace: epp-webhook$/m, 'namespace: platform-webhooks'));
    const kustomized = await renderKustomization(name, root);
    const helmed = await render(name, ['--namespace', 'platform-webhooks', ...RENDERINGS[KUSTOMIZE_TO_HELM[name]]]);
    t.ok(helmed.objects.some((o) => o.metadata.namespace === 'platform-webhooks'), 'helm renders into the namespace given last');
    t.equal(findObject(kustomized, 'Namespace').metadata.name, 'platform-webhooks', 'the Namespace object is renamed with it');
    await sameObjects(t, kustomized, helmed);
  });
}

/** A Kustomize rendering holds the objects a Helm one does, but what only Helm needs. */
async function sameObjects(t: Test, kustomized: Rendering, helmed: Rendering): Promise<void> {
  const id = (o: any) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  // Kustomize only: the namespace (a Helm release's exists first), and the content-hashed ConfigMap name.
  const generated = findObject(kustomized, 'ConfigMap').metadata.name;
  t.match(generated, /^epp-webhook-config-[a-z0-9]+$/);
  const fromKustomize = new Map(
    kustomized.objects
      .filter((o) => o.kind !== 'Namespace')
      .map((o) => JSON.parse(JSON.stringify(o).replaceAll(`"${generated}"`, '"epp-webhook-config"')))
      .map((o) => [id(o), o]),
  );
  // Helm only: the pre-install hook that creates the Secrets before Helm waits (kubectl apply -k waits for nothing).
  const fromHelm = new Map(helmed.objects.filter((o) => !o.metadata.annotations?.['helm.sh/hook']?.includes('pre-install')).map((o) => [id(o), withoutHelmOnly(o)]));
  t.same([...fromKustomize.keys()].sort(), [...fromHelm.keys()].sort(), 'the same objects');
  for (const [key, object] of fromHelm) {
    const other = fromKustomize.get(key);
    if (!other) continue;
    if (object.kind === 'ConfigMap') {
      // Kustomize's generator labels it with its own labels; the webhook reads the data.
      t.same(parse(other.data['config.yaml']), parse(object.data['config.yaml']), `${key}: the same config`);
      continue;
    }
    t.same(other, object, key);
  }
}

/**
 * The pre-install hook that lets `helm install --wait` succeed the first time: it creates the Secrets before Helm
 * creates the Deployment (whose pods mount the serving Secret), under an identity that exists only while it runs and
 * may only read the two Secrets by name and create Secrets; it never touches a webhook configuration.
 */
function checkCreateCertsHook(t: Test, r: Rendering): void {
  const hook = { 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' };
  const job = findObject(r, 'Job', 'epp-webhook-create-certs');
  t.same(job.metadata.annotations, { ...hook, 'helm.sh/hook-weight': '0' }, 'a pre-install hook: Helm runs it before creating the Deployment');
  for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) {
    t.same(findObject(r, kind, 'epp-webhook-create-certs').metadata.annotations, { ...hook, 'helm.sh/hook-weight': '-10' }, `its ${kind} is a hook too, created before it and deleted with it`);
  }
  const pod = job.spec.template.spec;
  const bootstrap = findObject(r, 'Job', 'epp-webhook-bootstrap-certs').spec.template.spec;
  t.equal(pod.serviceAccountName, 'epp-webhook-create-certs');
  t.same(pod.containers[0].args, [...bootstrap.containers[0].args.filter((a: string) => !a.includes('webhook-configuration')), '--create-only'], 'the bootstrap\'s arguments, create-only, without the configurations');
  t.same({ ...pod, serviceAccountName: undefined, containers: undefined }, { ...bootstrap, serviceAccountName: undefined, containers: undefined }, 'otherwise the bootstrap\'s pod');
  t.same(findObject(r, 'Role', 'epp-webhook-create-certs').rules, [
    { apiGroups: [''], resources: ['secrets'], resourceNames: ['epp-webhook-tls', 'epp-webhook-ca'], verbs: ['get'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  ], 'read the two Secrets, create: no update, list or delete');
  t.notOk(r.objects.some((o) => o.kind.startsWith('ClusterRole') && o.metadata.name === 'epp-webhook-create-certs'), 'no cluster-wide right');
  t.same(findObject(r, 'RoleBinding', 'epp-webhook-create-certs').subjects, [{ kind: 'ServiceAccount', name: 'epp-webhook-create-certs', namespace: 'epp-webhook' }]);
}
