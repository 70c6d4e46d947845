import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { writeServingBundle } from '../../../src/certs/serving-bundle.ts';
import type { ControlPlane } from './control-plane.ts';
import { freePort, startProcess, waitFor, type ManagedProcess } from './processes.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
export const WEBHOOK_IDENTITY = 'system:serviceaccount:epp-webhook:epp-webhook';

export interface WebhookProcess {
  port: number;
  metricsPort: number;
  url: string;
  caPem: string;
  process: ManagedProcess;
  stop(): Promise<void>;
  metrics(): Promise<string>;
}

/**
 * Runs `epp-webhook serve` as its own process (the real CLI), watching Services as the webhook's
 * service-account identity: a client certificate whose only permissions are the ClusterRole of deploy/.
 */
export async function startWebhookProcess(
  cp: ControlPlane,
  options: { config?: string; extraArgs?: string[]; port?: number; certDir?: string } = {},
): Promise<WebhookProcess> {
  const certDir = options.certDir ?? mkdtempSync(join(cp.dir, 'webhook-certs-'));
  const bundle = writeServingBundle(certDir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  return startWebhookProcessWithTlsFiles(cp, {
    certFile: bundle.certFile,
    keyFile: bundle.keyFile,
    caPem: readFileSync(bundle.caCertFile, 'utf8'),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
    ...(options.extraArgs !== undefined ? { extraArgs: options.extraArgs } : {}),
  });
}

/**
 * The webhook configurations of deploy/base/webhooks.yaml, pointed at a local URL: the e2e tests
 * the exact rules, policies and match conditions that ship.
 */
export function webhookConfigurationsFor(url: string, caPem: string): string {
  const documents = parseAllDocuments(readFileSync(join(ROOT, 'deploy/base/webhooks.yaml'), 'utf8')).map((d) => d.toJS());
  for (const configuration of documents) {
    for (const webhook of configuration.webhooks) {
      const path = webhook.clientConfig.service.path;
      webhook.clientConfig = { url: `${url}${path}`, caBundle: Buffer.from(caPem).toString('base64') };
    }
  }
  return documents.map((d) => JSON.stringify(d)).join('\n');
}

export async function registerWebhooks(cp: ControlPlane, url: string, caPem: string): Promise<void> {
  const file = join(cp.dir, 'webhooks.json');
  writeFileSync(file, webhookConfigurationsFor(url, caPem));
  const applied = await cp.kubectl(['apply', '-f', file]);
  if (applied.code !== 0) throw new Error(`registering webhooks failed: ${applied.stderr}`);
}

export async function unregisterWebhooks(cp: ControlPlane): Promise<void> {
  await cp.kubectl(['delete', 'mutatingwebhookconfiguration,validatingwebhookconfiguration', 'epp-webhook', '--ignore-not-found']);
}

/**
 * Registration takes effect asynchronously in the apiserver: probe with a server-side dry-run of a
 * placeholder EnvoyFilter until it comes back substituted, so no assertion races the registration.
 */
export async function waitUntilMutating(cp: ControlPlane, namespace: string): Promise<void> {
  const probe = probeEnvoyFilter(namespace, 'epp-webhook-probe');
  await waitFor(
    'the mutating webhook to take effect (dry-run probe)',
    async () => {
      const result = await cp.kubectl(['create', '--dry-run=server', '-o', 'jsonpath={.metadata.annotations.epp-webhook\\.io/resolved-cluster-ip}', '-f', '-'], { input: probe });
      return result.code === 0 && result.stdout.trim() !== '' ? true : undefined;
    },
    30_000,
    300,
  );
}

/**
 * Like startWebhookProcess, but serving the given certificate files (for instance a Secret volume written by
 * writeSecretVolume) instead of issuing its own; `caPem` is what the readiness probe trusts.
 */
export async function startWebhookProcessWithTlsFiles(
  cp: ControlPlane,
  options: { certFile: string; keyFile: string; caPem: string; port?: number; config?: string; extraArgs?: string[] },
): Promise<WebhookProcess> {
  const port = options.port ?? (await freePort());
  const metricsPort = await freePort();
  const kubeconfig = cp.kubeconfigFor(WEBHOOK_IDENTITY, ['system:serviceaccounts', 'system:serviceaccounts:epp-webhook']);
  const args = serveArgs({ port, metricsPort, certFile: options.certFile, keyFile: options.keyFile, kubeconfig, config: options.config, extraArgs: options.extraArgs });
  const child = startProcess(process.execPath, args, join(cp.dir, `webhook-${port}.log`));
  const url = `https://127.0.0.1:${port}`;
  await waitFor(
    `the webhook on ${url} to be ready (log: ${child.logFile})`,
    () =>
      new Promise<true | undefined>((resolve) => {
        request(`${url}/readyz`, { ca: options.caPem, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode === 200 ? true : undefined);
        })
          .on('error', () => resolve(undefined))
          .end();
      }),
    30_000,
  );
  return {
    port,
    metricsPort,
    url,
    caPem: options.caPem,
    process: child,
    stop: () => child.stop(10_000),
    async metrics() {
      return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    },
  };
}

/**
 * `epp-webhook serve` as its own process, probed on its plain metrics port (`/healthz`, `/readyz` there answer
 * without TLS: with `--client-ca` the HTTPS port refuses clients without a certificate, as it refuses the kubelet).
 * `waitFor: 'alive'` returns before the Service cache has synced (for fault tests: an API server that is down or
 * unreachable); `kubeconfig` replaces the webhook identity's own (for instance one pointing through a proxy).
 */
export async function launchWebhookProcess(
  cp: ControlPlane,
  options: { waitFor: 'ready' | 'alive'; kubeconfig?: string; extraArgs?: string[]; port?: number; logName?: string },
): Promise<WebhookProcess & { certDir: string }> {
  const certDir = mkdtempSync(join(cp.dir, 'webhook-certs-'));
  const bundle = writeServingBundle(certDir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  const port = options.port ?? (await freePort());
  const metricsPort = await freePort();
  const kubeconfig = options.kubeconfig ?? cp.kubeconfigFor(WEBHOOK_IDENTITY, ['system:serviceaccounts', 'system:serviceaccounts:epp-webhook']);
  const args = serveArgs({ port, metricsPort, certFile: bundle.certFile, keyFile: bundle.keyFile, kubeconfig, extraArgs: options.extraArgs });
  const child = startProcess(process.execPath, args, join(cp.dir, options.logName ?? `webhook-${port}.log`));
  const path = options.waitFor === 'ready' ? '/readyz' : '/healthz';
  await waitFor(
    `the webhook's ${path} on metrics port ${metricsPort} (log: ${child.logFile})`,
    async () => ((await fetch(`http://127.0.0.1:${metricsPort}${path}`)).status === 200 ? true : undefined),
    30_000,
  );
  return {
    port,
    metricsPort,
    url: `https://127.0.0.1:${port}`,
    caPem: readFileSync(bundle.caCertFile, 'utf8'),
    certDir,
    process: child,
    stop: () => child.stop(10_000),
    async metrics() {
      return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    },
  };
}

/** A placeholder EnvoyFilter for probes: admitted substituted only while the mutating webhook answers. */
export function probeEnvoyFilter(namespace: string, name: string): string {
  return JSON.stringify({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name, namespace },
    spec: {
      configPatches: [
        {
          applyTo: 'CLUSTER',
          patch: {
            operation: 'ADD',
            value: {
              name: 'probe',
              type: 'STRICT_DNS',
              load_assignment: {
                cluster_name: 'probe',
                endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'EPP_SERVICE_CLUSTER_IP', port_value: 9002 } } } }] }],
              },
            },
          },
        },
      ],
    },
  });
}

function serveArgs(o: { port: number; metricsPort: number; certFile: string; keyFile: string; kubeconfig: string; config?: string; extraArgs?: string[] }): string[] {
  return [
    join(ROOT, 'src/main.ts'),
    'serve',
    '--host=127.0.0.1',
    `--port=${o.port}`,
    `--metrics-port=${o.metricsPort}`,
    `--tls-cert=${o.certFile}`,
    `--tls-key=${o.keyFile}`,
    `--kubeconfig=${o.kubeconfig}`,
    ...(o.config ? [`--config=${o.config}`] : []),
    ...(o.extraArgs ?? []),
  ];
}
