/**
 * The chart's clientCA: the webhook installed with `clientCA.configMap` answers only the kube-apiserver's client
 * certificate (serve --client-ca, --client-cn), its pod gets ready through the probes the chart points at the metrics
 * port (the kubelet has no client certificate), and kubectl apply is mutated through the apiserver. The apiserver
 * presents its certificate to the webhook Service by an AdmissionConfiguration naming `epp-webhook.epp-webhook.svc:443`.
 */
import t from 'tap';
import { request } from 'node:https';
import { startControlPlaneWithAdmissionConfig, type ControlPlane, type WebhookClientCredentials } from './harness/control-plane.ts';
import { createNamespace, createService, installCrdsAndNamespace } from './harness/cluster-setup.ts';
import { CHART, helm } from './harness/helm.ts';
import { waitFor } from './harness/processes.ts';
import { markDeploymentReady, runJobs, runWebhookPod, type WebhookPod } from './harness/workload-runner.ts';
import { probeEnvoyFilter } from './harness/webhook-process.ts';

const NS = 'epp-webhook';
const APP_NS = 'llm-d';

let cp: ControlPlane;
let client: WebhookClientCredentials;
let jobs: ReturnType<typeof runJobs>;
let pod: WebhookPod | undefined;

t.before(async () => {
  ({ cp, client } = await startControlPlaneWithAdmissionConfig({ webhookHostPort: `epp-webhook.${NS}.svc:443`, apiserverArgs: ['--service-cluster-ip-range=127.100.0.0/16'] }));
  await installCrdsAndNamespace(cp);
  await createNamespace(cp, APP_NS);
  jobs = runJobs(cp, NS);
});
t.teardown(async () => {
  await pod?.stop();
  await jobs?.stop();
  await cp?.stop();
});

/** What the webhook answers a caller without a client certificate: the TLS handshake's refusal, or a status. */
function withoutCertificate(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    request({ host, port, path: '/readyz', rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolve(`HTTP ${res.statusCode}`);
    })
      .on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
      .end();
  });
}

t.test('helm install --wait with clientCA: the pod gets ready by the metrics port, and only the apiserver is answered', async (t) => {
  const created = await cp.kubectl(['create', 'configmap', 'apiserver-client-ca', '-n', NS, `--from-file=ca.crt=${client.caFile}`]);
  t.equal(created.code, 0, created.stderr);
  const eppIP = await createService(cp, APP_NS, 'gaie-inference-scheduling-epp');
  const installing = helm(
    ['install', 'epp-webhook', CHART, '--namespace', NS, '--wait', '--timeout', '3m', '--set', 'clientCA.configMap=apiserver-client-ca', '--set', `clientCA.commonNames={${client.commonName}}`],
    { kubeconfig: cp.kubeconfig },
  );
  await waitFor('helm to create the Deployment', async () => ((await cp.kubectl(['get', 'deployment', '-n', NS, 'epp-webhook'])).code === 0 ? true : undefined), 120_000, 100);
  // runWebhookPod probes as the kubelet does, at the port and scheme of the Deployment's readiness probe.
  pod = await runWebhookPod(cp, NS, 'epp-webhook');
  await markDeploymentReady(cp, NS, 'epp-webhook');
  const installed = await installing;
  t.equal(installed.code, 0, installed.stderr);

  const deployment = JSON.parse((await cp.kubectl(['get', 'deployment', '-n', NS, 'epp-webhook', '-o', 'json'])).stdout);
  const container = deployment.spec.template.spec.containers[0];
  t.same(container.args.filter((a: string) => a.startsWith('--client-')), ['--client-ca=/etc/epp-webhook/client-ca/ca.crt', `--client-cn=${client.commonName}`]);
  t.same([container.readinessProbe.httpGet.port, container.startupProbe.httpGet.port, container.livenessProbe.httpGet.port], ['metrics', 'metrics', 'metrics'], 'every probe asks the metrics port');

  const https = JSON.parse((await cp.kubectl(['get', 'service', '-n', NS, 'epp-webhook', '-o', 'json'])).stdout).spec.ports[0].port;
  t.notMatch(await withoutCertificate(pod.clusterIP, https), /^HTTP /, 'a caller without a client certificate (the kubelet, say) gets no HTTP answer on the webhook port');

  const address = await waitFor(
    'the webhook to answer through the apiserver',
    async () => {
      const result = await cp.kubectl(['create', '--dry-run=server', '-o', 'jsonpath={.metadata.annotations.epp-webhook\\.io/resolved-cluster-ip}', '-f', '-'], { input: probeEnvoyFilter(APP_NS, 'probe') });
      return result.code === 0 && result.stdout.trim() !== '' ? result.stdout.trim() : undefined;
    },
    30_000,
  );
  t.equal(address, eppIP, 'the apiserver presented its client certificate, and the placeholder came back substituted');
});
