import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import type { ControlPlane } from '../../test/e2e/harness/control-plane.ts';
import { freePort, waitFor } from '../../test/e2e/harness/processes.ts';
import { WEBHOOK_IDENTITY } from '../../test/e2e/harness/webhook-process.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface LaunchedWebhook {
  url: string;
  caPem: string;
  logFile: string;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `epp-webhook serve` as test/e2e/harness's startWebhookProcess runs it (same flags, same service-account identity),
 * but with its log written straight to a file: the harness pipes the child's stdout through the parent, and here the
 * parent is also the load generator, so a log line per admission would wait on the bench's own event loop, which a
 * container runtime draining stdout does not do.
 */
export async function launchWebhook(cp: ControlPlane, extraArgs: string[] = []): Promise<LaunchedWebhook> {
  const certDir = mkdtempSync(join(cp.dir, 'webhook-certs-'));
  const bundle = writeServingBundle(certDir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  const port = await freePort();
  const metricsPort = await freePort();
  const kubeconfig = cp.kubeconfigFor(WEBHOOK_IDENTITY, ['system:serviceaccounts', 'system:serviceaccounts:epp-webhook']);
  const logFile = join(cp.dir, `webhook-${port}.log`);
  const log = openSync(logFile, 'a');
  const args = [join(ROOT, 'src/main.ts'), 'serve', '--host=127.0.0.1', `--port=${port}`, `--metrics-port=${metricsPort}`, `--tls-cert=${bundle.certFile}`, `--tls-key=${bundle.keyFile}`, `--kubeconfig=${kubeconfig}`, ...extraArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const caPem = readFileSync(bundle.caCertFile, 'utf8');
  const url = `https://127.0.0.1:${port}`;
  await waitFor(
    `the webhook on ${url} to be ready (log: ${logFile})`,
    () =>
      new Promise<true | undefined>((resolve) => {
        request(`${url}/readyz`, { ca: caPem, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode === 200 ? true : undefined);
        })
          .on('error', () => resolve(undefined))
          .end();
      }),
    30_000,
  );
  return {
    url,
    caPem,
    logFile,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 10_000);
      await exited;
      clearTimeout(timer);
      process.off('exit', kill);
    },
  };
}
