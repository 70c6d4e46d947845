/**
 * `npm run cluster`: the e2e control plane for a person. Starts etcd, kube-apiserver, the CRDs,
 * deploy/'s RBAC, the webhook (as the service-account identity) and its registration, then prints
 * the KUBECONFIG to export. The webhook runs with --reconcile, as deploy/ runs it. Ctrl-C tears it all down.
 *
 * `npm run cluster -- --helm` installs the Helm chart instead (`helm install`, its bootstrap hook run as the hook's
 * ServiceAccount) and runs the webhook Deployment's container from what helm stored, at the Service's ClusterIP
 * (the Service range is on loopback, 127.100.0.0/16), so `helm upgrade` / `helm uninstall` can be tried on it.
 *
 * `npm run cluster -- --dataplane` brings up the whole guide's path instead (test/dataplane/dataplane-cli.ts).
 */
if (process.argv.includes('--dataplane')) {
  await import('../dataplane/dataplane-cli.ts');
  process.exit(0);
}
import { startControlPlane } from './harness/control-plane.ts';
import { installCrdsAndNamespace, installCrdsAndRbac } from './harness/cluster-setup.ts';
import { CHART, helm, helmBinary } from './harness/helm.ts';
import { registerWebhooks, startWebhookProcess } from './harness/webhook-process.ts';
import { runJobs, runWebhookPod, type WebhookPod } from './harness/workload-runner.ts';

const withoutWebhook = process.argv.includes('--no-webhook');
const withHelm = process.argv.includes('--helm');
const cp = await startControlPlane(withHelm ? { apiserverArgs: ['--service-cluster-ip-range=127.100.0.0/16'] } : {});
let stopHelmWorkloads = async () => {};
const extraLines: string[] = [];
try {
  if (withHelm) {
    await installCrdsAndNamespace(cp);
    const jobs = runJobs(cp, 'epp-webhook');
    const installed = await helm(['install', 'epp-webhook', CHART, '--namespace', 'epp-webhook', '--timeout', '3m'], { kubeconfig: cp.kubeconfig });
    if (installed.code !== 0) throw new Error(`helm install failed: ${installed.stderr}`);
    const pod: WebhookPod = await runWebhookPod(cp, 'epp-webhook', 'epp-webhook');
    stopHelmWorkloads = async () => {
      await pod.stop();
      await jobs.stop();
    };
    process.stdout.write(`webhook:   https://${pod.clusterIP}:443, the Deployment's container (log: ${pod.process.logFile}, metrics: http://127.0.0.1:${pod.metricsPort}/metrics)\n`);
    extraLines.push(
      `alias helm=${await helmBinary()}`,
      '',
      'Helm release epp-webhook in namespace epp-webhook (chart deploy/helm/epp-webhook). Bootstrap Jobs run as they',
      'appear; the webhook process runs the config it started with: a `helm upgrade` of config is not picked up here.',
    );
  } else {
    await installCrdsAndRbac(cp);
    if (!withoutWebhook) {
      // As deploy/ runs it: with the reconciler, whose Lease lives in the webhook's namespace.
      const webhook = await startWebhookProcess(cp, { extraArgs: ['--reconcile', '--leader-election-namespace=epp-webhook'] });
      await registerWebhooks(cp, webhook.url, webhook.caPem);
      process.stdout.write(`webhook:   ${webhook.url} (log: ${webhook.process.logFile}, metrics: http://127.0.0.1:${webhook.metricsPort}/metrics)\n`);
    }
  }
} catch (error) {
  await stopHelmWorkloads();
  await cp.stop();
  throw error;
}
process.stdout.write(
  [
    `apiserver: ${cp.server} (logs in ${cp.dir})`,
    '',
    `export KUBECONFIG=${cp.kubeconfig}`,
    `alias kubectl=${cp.binaries.kubectl}`,
    ...extraLines,
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
await stopHelmWorkloads();
await cp.stop();
process.exit(0);
