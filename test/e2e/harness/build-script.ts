import { spawn } from 'node:child_process';

/**
 * Runs one of the per-machine cache build scripts (build-control-plane.sh, build-helm.sh, build-dataplane.sh):
 * the first run on a machine builds, later ones find the cached binaries. Progress goes to our stderr so a person
 * or CI sees a long build happen; stdout is `KEY=/abs/path` lines, of which every key in `keys` must be there.
 */
export function runBuildScript<K extends string>(script: string, keys: readonly K[]): Promise<Record<K, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code}`));
      const printed = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
      const missing = keys.filter((key) => !printed[key]);
      if (missing.length > 0) return reject(new Error(`${script} did not print ${missing.join(', ')}: ${stdout}`));
      resolve(printed as Record<K, string>);
    });
  });
}
