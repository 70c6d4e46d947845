/**
 * The real istiod (pilot-discovery) against the test apiserver, as the gateway's control plane: it watches the
 * Gateway, HTTPRoutes, InferencePools and EnvoyFilters there and serves xDS in plaintext on a loopback port to the
 * Envoy that stands for the gateway Pod. Gateway API on, with its InferencePool support
 * (ENABLE_GATEWAY_API_INFERENCE_EXTENSION, the only way Istio routes to an InferencePool); its deployment controller
 * off, since there is no kubelet to run a gateway Deployment: the harness runs Envoy itself.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts, startProcess, waitFor, type ManagedProcess } from '../../e2e/harness/processes.ts';

export const ISTIO_NAMESPACE = 'istio-system';

export interface IstiodProcess {
  xdsPort: number;
  debugUrl: string;
  process: ManagedProcess;
  log(): string;
  stop(): Promise<void>;
}

export async function startIstiod(options: { binary: string; kubeconfig: string; dir: string; env?: Record<string, string> }): Promise<IstiodProcess> {
  const [xdsPort, secureXdsPort, httpPort, httpsPort, monitoringPort, ctrlzPort] = await freePorts(6);
  const meshConfig = join(options.dir, 'istiod-mesh.yaml');
  // No sidecars here, so no workload certificates: without auto mTLS, istiod adds no ISTIO_MUTUAL transport socket
  // whose SDS secret (served by pilot-agent in a real gateway Pod) Envoy would wait for forever.
  writeFileSync(meshConfig, ['enableAutoMtls: false', 'defaultConfig:', `  discoveryAddress: 127.0.0.1:${xdsPort}`, ''].join('\n'));
  const args = [
    'discovery',
    `--kubeconfig=${options.kubeconfig}`,
    `--meshConfig=${meshConfig}`,
    `--networksConfig=${join(options.dir, 'istiod-no-mesh-networks.yaml')}`,
    '--domain=cluster.local',
    `--grpcAddr=127.0.0.1:${xdsPort}`,
    `--secureGRPCAddr=127.0.0.1:${secureXdsPort}`,
    `--httpAddr=127.0.0.1:${httpPort}`,
    `--httpsAddr=127.0.0.1:${httpsPort}`,
    `--monitoringAddr=127.0.0.1:${monitoringPort}`,
    `--ctrlz_port=${ctrlzPort}`,
    '--keepaliveMaxServerConnectionAge=30m',
    '--log_output_level=default:info',
  ];
  const env = {
    ...process.env,
    POD_NAME: 'istiod-dataplane',
    POD_NAMESPACE: ISTIO_NAMESPACE,
    REVISION: 'default',
    CLUSTER_ID: 'Kubernetes',
    PILOT_ENABLE_GATEWAY_API: 'true',
    PILOT_ENABLE_GATEWAY_API_STATUS: 'true',
    PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER: 'false',
    ENABLE_GATEWAY_API_INFERENCE_EXTENSION: 'true',
    // Telemetry extensions built only into istio-proxy, which upstream Envoy rejects (the whole CDS/LDS update):
    // the metadata-exchange filters on clusters and listeners, and the istio.alpn HTTP filter.
    PILOT_ENABLE_METADATA_EXCHANGE: 'false',
    PILOT_ENABLE_ALPN_FILTER: 'false',
    INJECTION_WEBHOOK_CONFIG_NAME: '',
    VALIDATION_WEBHOOK_CONFIG_NAME: '',
    ...options.env,
  };
  const logFile = join(options.dir, 'istiod.log');
  const child = startProcess(options.binary, args, logFile, env);
  const debugUrl = `http://127.0.0.1:${httpPort}`;
  await waitFor(
    `istiod ready on ${debugUrl}/ready (log: ${logFile})`,
    async () => {
      if (child.child.exitCode !== null) throw new Error(`istiod exited with ${child.child.exitCode}: ${readFileSync(logFile, 'utf8').slice(-3000)}`);
      return (await fetch(`${debugUrl}/ready`)).status === 200 ? true : undefined;
    },
    120_000,
    500,
  );
  return { xdsPort, debugUrl, process: child, log: () => readFileSync(logFile, 'utf8'), stop: () => child.stop(5000) };
}
