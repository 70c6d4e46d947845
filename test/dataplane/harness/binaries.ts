import { spawn } from 'node:child_process';

export interface DataPlaneBinaries {
  epp: string;
  pilotDiscovery: string;
  envoy: string;
  /** Directory of the Gateway API standard-channel CRDs of the release this Istio is built against. */
  gatewayApiCrds: string;
  /** Istio's crd-all.gen.yaml of the same Istio module. */
  istioCrds: string;
}

const BUILD_SCRIPT = new URL('../build-dataplane.sh', import.meta.url).pathname;

/** Builds (first run on a machine) or finds (cached) the EPP and istiod, and installs Envoy. Progress goes to stderr. */
export function dataPlaneBinaries(): Promise<DataPlaneBinaries> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${BUILD_SCRIPT} exited with ${code}`));
      const paths = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
      if (!paths.EPP || !paths.PILOT_DISCOVERY || !paths.ENVOY || !paths.GATEWAY_API_CRDS || !paths.ISTIO_CRDS) return reject(new Error(`unexpected output from ${BUILD_SCRIPT}: ${stdout}`));
      resolve({ epp: paths.EPP, pilotDiscovery: paths.PILOT_DISCOVERY, envoy: paths.ENVOY, gatewayApiCrds: paths.GATEWAY_API_CRDS, istioCrds: paths.ISTIO_CRDS });
    });
  });
}
