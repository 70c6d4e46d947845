import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuildScript } from './build-script.ts';

const BUILD_SCRIPT = new URL('../build-helm.sh', import.meta.url).pathname;
export const CHART = new URL('../../../deploy/helm/epp-webhook', import.meta.url).pathname;

let cached: Promise<string> | undefined;

/** Builds (first run on a machine) or finds (cached) the helm CLI; its path. */
export function helmBinary(): Promise<string> {
  cached ??= runBuildScript(BUILD_SCRIPT, ['HELM']).then((paths) => paths.HELM);
  return cached;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Helm keeps a cache, config and repository index under $HOME by default: a run of the tests writes none of them there.
const helmHome = mkdtempSync(join(tmpdir(), 'epp-webhook-helm-'));
process.once('exit', () => rmSync(helmHome, { recursive: true, force: true }));
const HELM_ENV = {
  HELM_CACHE_HOME: join(helmHome, 'cache'),
  HELM_CONFIG_HOME: join(helmHome, 'config'),
  HELM_DATA_HOME: join(helmHome, 'data'),
};

/** Runs helm; `kubeconfig` for the commands that talk to a cluster. Never throws on a non-zero exit. */
export async function helm(args: string[], options: { kubeconfig?: string } = {}): Promise<HelmResult> {
  const binary = await helmBinary();
  const env = { ...process.env, ...HELM_ENV, ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}) };
  return new Promise((resolve) =>
    execFile(binary, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** `helm template` of the chart as release epp-webhook in namespace epp-webhook; throws if it fails. */
export async function helmTemplate(args: string[] = []): Promise<string> {
  const result = await helm(['template', 'epp-webhook', CHART, '--namespace', 'epp-webhook', ...args]);
  if (result.code !== 0) throw new Error(`helm template ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}
