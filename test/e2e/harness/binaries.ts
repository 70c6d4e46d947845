import { spawn } from 'node:child_process';

export interface ControlPlaneBinaries {
  kubeApiserver: string;
  kubectl: string;
  etcd: string;
}

const BUILD_SCRIPT = new URL('../build-control-plane.sh', import.meta.url).pathname;

/**
 * Builds (first run on a machine, ~13 min on 2 cores) or finds (cached, ~0.05 s) kube-apiserver,
 * kubectl and etcd. Progress goes to our stderr so a person or CI sees the long build happen.
 */
export function controlPlaneBinaries(): Promise<ControlPlaneBinaries> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${BUILD_SCRIPT} exited with ${code}`));
      const paths = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
      if (!paths.KUBE_APISERVER || !paths.KUBECTL || !paths.ETCD) return reject(new Error(`unexpected output from ${BUILD_SCRIPT}: ${stdout}`));
      resolve({ kubeApiserver: paths.KUBE_APISERVER, kubectl: paths.KUBECTL, etcd: paths.ETCD });
    });
  });
}
