/**
 * A second InferencePool behind the same gateway, as a cluster with two models has it: its own model-server Pods, its
 * own EPP Service and a second real EPP process watching it. The harness's first pool stays as it is.
 */
import { freePort } from '../../e2e/harness/processes.ts';
import { startEpp, type EppProcess } from './epp-process.ts';
import { startModelServer, type ModelServer } from './model-server.ts';
import { createReadyPod } from './pods.ts';
import { applyObject, EPP_SERVICE_PORT, NS, type DataPlane } from './dataplane.ts';

export interface SecondPool {
  name: string;
  eppService: string;
  epp: EppProcess;
  models: ModelServer[];
  stop(): Promise<void>;
}

/** `name`'s Pods take the addresses .31 and up of the first pool's /24, its EPP Pod .40. */
export async function addSecondPool(plane: DataPlane, name: string, options: { models?: number } = {}): Promise<SecondPool> {
  const subnet = plane.models[0].host.split('.').slice(0, 3).join('.');
  const modelPort = plane.models[0].port;
  const labels = { app: `${name}-model` };
  const eppService = `${name}-epp`;
  const eppLabels = { app: eppService };
  const models: ModelServer[] = [];
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    for (let i = 0; i < (options.models ?? 2); i++) {
      const model = await startModelServer(`${name}-model-${i}`, `${subnet}.${31 + i}`, modelPort);
      models.push(model);
      stops.push(() => model.close());
      await createReadyPod(plane.cp, NS, model.name, labels, model.host, modelPort);
    }
    const grpcPort = await freePort();
    await applyObject(plane.cp, {
      apiVersion: 'inference.networking.k8s.io/v1',
      kind: 'InferencePool',
      metadata: { name, namespace: NS },
      spec: { targetPorts: [{ number: modelPort }], selector: { matchLabels: labels }, endpointPickerRef: { name: eppService, port: { number: EPP_SERVICE_PORT }, failureMode: 'FailClose' } },
    });
    await applyObject(plane.cp, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: eppService, namespace: NS },
      spec: { selector: eppLabels, ports: [{ name: 'grpc-ext-proc', port: EPP_SERVICE_PORT, targetPort: grpcPort, protocol: 'TCP', appProtocol: 'http2' }] },
    });
    await createReadyPod(plane.cp, NS, `${eppService}-0`, eppLabels, `${subnet}.40`, grpcPort);
    const epp = await startEpp({ binary: plane.binaries.epp, kubeconfig: plane.cp.kubeconfig, dir: plane.cp.dir, poolName: name, poolNamespace: NS, grpcPort, secureServing: true });
    stops.push(() => epp.stop());
    return { name, eppService, epp, models, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

