/**
 * mTLS between the real kube-apiserver and the webhook: the apiserver presents a client certificate
 * (--admission-control-config-file, WebhookAdmissionConfiguration, a kubeConfigFile user named after the
 * webhook's host:port), the webhook requires it (serve --client-ca, --client-cn).
 */
import t from 'tap';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startControlPlaneWithAdmissionConfig, type ControlPlane, type WebhookClientCredentials } from './harness/control-plane.ts';
import { createNamespace, createService, installCrdsAndRbac } from './harness/cluster-setup.ts';
import { freePort } from './harness/processes.ts';
import { launchWebhookProcess, registerWebhooks, waitUntilMutating, type WebhookProcess } from './harness/webhook-process.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NS = 'llm-d-inference-scheduler';
let cp: ControlPlane;
let client: WebhookClientCredentials;
let webhook: WebhookProcess;
let clusterIP: string;

t.before(async () => {
  const port = await freePort();
  ({ cp, client } = await startControlPlaneWithAdmissionConfig({ webhookHostPort: `127.0.0.1:${port}` }));
  await installCrdsAndRbac(cp);
  webhook = await launchWebhookProcess(cp, { waitFor: 'ready', port, extraArgs: [`--client-ca=${client.caFile}`, `--client-cn=${client.commonName}`] });
  await createNamespace(cp, NS);
  clusterIP = await createService(cp, NS, 'gaie-inference-scheduling-epp', [9002]);
  await registerWebhooks(cp, webhook.url, webhook.caPem);
  await waitUntilMutating(cp, NS);
});
t.teardown(async () => {
  await webhook?.stop();
  await cp?.stop();
});

function post(options: { host?: string; cert?: { certPem: string; keyPem: string } }): Promise<{ status: number; body: any } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(
      `https://${options.host ?? '127.0.0.1'}:${webhook.port}/mutate`,
      { method: 'POST', ca: webhook.caPem, agent: false, headers: { 'content-type': 'application/json' }, ...(options.cert ? { cert: options.cert.certPem, key: options.cert.keyPem } : {}) },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, operation: 'CREATE', object: {} } }));
  });
}

t.test('the apiserver authenticates with its client certificate: kubectl apply is mutated', async (t) => {
  const applied = await cp.kubectl(['apply', '-f', join(ROOT, 'test/fixtures/manifests/guide-envoyfilter.yaml')]);
  t.equal(applied.code, 0, applied.stderr);
  const stored = parse((await cp.kubectl(['get', 'envoyfilter', '-n', NS, 'epp-ext-proc-poc', '-o', 'yaml'])).stdout);
  t.equal(stored.metadata.annotations['epp-webhook.io/resolved-cluster-ip'], clusterIP, 'substituted: the webhook answered the apiserver');
  t.notMatch(readFileSync(webhook.process.logFile, 'utf8'), /client certificate not allowed/, 'the apiserver was never refused');
});

t.test('without the client certificate: refused in the TLS handshake, for a direct client and for the apiserver', async (t) => {
  const none = await post({});
  t.match(none, { error: /CERTIFICATE_REQUIRED|ECONNRESET|EPIPE/ }, `a client without a certificate gets no HTTP answer (${JSON.stringify(none)})`);

  // The same apiserver calling the same webhook as localhost:PORT: its kubeconfig has no user for that host,
  // so it calls without a certificate, and the webhook's handshake refuses it.
  const documents = [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'epp-webhook-no-client-cert' },
      webhooks: [
        {
          name: 'no-client-cert.epp-webhook.io',
          clientConfig: { url: `https://localhost:${webhook.port}/validate`, caBundle: Buffer.from(webhook.caPem).toString('base64') },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          failurePolicy: 'Fail',
          timeoutSeconds: 5,
        },
      ],
    },
  ];
  const registered = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(documents[0]) });
  t.equal(registered.code, 0, registered.stderr);
  t.teardown(() => cp.kubectl(['delete', 'validatingwebhookconfiguration', 'epp-webhook-no-client-cert', '--ignore-not-found']));
  let created = { code: 0, stdout: '', stderr: '' };
  const deadline = Date.now() + 30_000;
  for (let i = 0; Date.now() < deadline; i++) {
    created = await cp.kubectl(['create', 'configmap', `probe-${i}`, '-n', NS, '--dry-run=server']);
    if (created.code !== 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  t.not(created.code, 0, 'the apiserver could not call the webhook without a certificate');
  // Under TLS 1.3 the apiserver reads the server's alert (`remote error: tls: certificate required`) or, when its
  // request write races the alert, `broken pipe` / `connection reset` / `use of closed network connection`: either way
    // the handshake refused it.
  t.match(created.stderr, /failed calling webhook "no-client-cert\.epp-webhook\.io".*(certificate required|remote error|broken pipe|connection reset|EOF|use of closed network connection)/is, created.stderr.trim());
  t.notMatch(readFileSync(webhook.process.logFile, 'utf8'), /"kind":"ConfigMap"/, 'no ConfigMap admission ever reached the webhook\'s HTTP layer');
});

t.test('a certificate from the client CA: the apiserver\'s CN is answered, another CN gets 403 with a reason', async (t) => {
  const own = await post({ cert: client.issue(client.commonName) });
  t.match(own, { status: 200, body: { response: { uid: 'u', allowed: true } } });
  const other = await post({ cert: client.issue('someone-else') });
  t.match(other, { status: 403, body: { error: 'Forbidden', reason: /--client-cn/ } });
});
