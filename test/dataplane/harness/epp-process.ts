/**
 * The real Endpoint Picker (gateway-api-inference-extension cmd/epp) as its own process, watching its InferencePool
 * and Pods in the test apiserver through KUBECONFIG. It binds its gRPC port on every address, so it answers on the
 * EPP Service's loopback ClusterIP as kube-proxy would deliver it.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, startProcess, waitFor, type ManagedProcess } from '../../e2e/harness/processes.ts';

export interface EppProcess {
  grpcPort: number;
  process: ManagedProcess;
  /** The EPP's log so far. */
  log(): string;
  stop(): Promise<void>;
}

export async function startEpp(options: {
  binary: string;
  kubeconfig: string;
  dir: string;
  poolName: string;
  poolNamespace: string;
  grpcPort: number;
  secureServing: boolean;
  logName?: string;
}): Promise<EppProcess> {
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const args = [
    `--pool-name=${options.poolName}`,
    `--pool-namespace=${options.poolNamespace}`,
    `--grpc-port=${options.grpcPort}`,
    `--grpc-health-port=${healthPort}`,
    `--metrics-port=${metricsPort}`,
    `--secure-serving=${options.secureServing}`,
    '--metrics-endpoint-auth=false',
    '--tracing=false',
    '--enable-pprof=false',
    '--v=3',
  ];
  const logFile = join(options.dir, options.logName ?? `epp-${options.grpcPort}.log`);
  const child = startProcess(options.binary, args, logFile, { ...process.env, KUBECONFIG: options.kubeconfig });
  await waitFor(
    `the EPP's gRPC port ${options.grpcPort} (log: ${logFile})`,
    () =>
      new Promise<true | undefined>((resolve) => {
        if (child.child.exitCode !== null) throw new Error(`the EPP exited with ${child.child.exitCode}: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
        const socket = connect(options.grpcPort, '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(undefined));
      }),
    60_000,
  );
  return {
    grpcPort: options.grpcPort,
    process: child,
    log: () => readFileSync(logFile, 'utf8'),
    stop: () => child.stop(5000),
  };
}
