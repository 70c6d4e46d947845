/**
 * `npm run cluster`: the e2e control plane for a person. Starts etcd, kube-apiserver, the CRDs,
 * deploy/'s RBAC, the webhook (as the service-account identity) and its registration, then prints
 * the KUBECONFIG to export. The webhook runs with --reconcile, as deploy/ runs it. Ctrl-C tears it all down.
 */
import { startControlPlane } from './harness/control-plane.ts';
import { installCrdsAndRbac } from './harness/cluster-setup.ts';
import { registerWebhooks, startWebhookProcess } from './harness/webhook-process.ts';

const withoutWebhook = process.argv.includes('--no-webhook');
const cp = await startControlPlane();
try {
  await installCrdsAndRbac(cp);
  if (!withoutWebhook) {
    // As deploy/ runs it: with the reconciler, whose Lease lives in the webhook's namespace.
    const webhook = await startWebhookProcess(cp, { extraArgs: ['--reconcile', '--leader-election-namespace=epp-webhook'] });
    await registerWebhooks(cp, webhook.url, webhook.caPem);
    process.stdout.write(`webhook:   ${webhook.url} (log: ${webhook.process.logFile}, metrics: http://127.0.0.1:${webhook.metricsPort}/metrics)\n`);
  }
} catch (error) {
  await cp.stop();
  throw error;
}
process.stdout.write(
  [
    `apiserver: ${cp.server} (logs in ${cp.dir})`,
    '',
    `export KUBECONFIG=${cp.kubeconfig}`,
    `alias kubectl=${cp.binaries.kubectl}`,
    '',
    'Try: kubectl create namespace llm-d-inference-scheduler',
    '     kubectl create service clusterip gaie-inference-scheduling-epp -n llm-d-inference-scheduler --tcp=9002',
    '     kubectl apply -f examples/envoyfilter-placeholder.yaml',
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
await new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});
await cp.stop();
process.exit(0);
