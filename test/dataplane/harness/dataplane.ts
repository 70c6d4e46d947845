/**
 * The whole path of the guide on one machine, no Docker, no kubelet: kube-apiserver (ClusterIPs from a loopback
 * range, so they route) + etcd, the webhook with its reconciler, the real istiod, Envoy as the gateway Pod, the real
 * EPP, and model-server stand-ins as InferencePool Pods. What kubelet, kube-proxy and the EndpointSlice controller
 * would do is done by the harness (pods.ts, kube-proxy.ts, endpoint-slices.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../e2e/harness/control-plane.ts';
import { createNamespace, installCrdsAndRbac } from '../../e2e/harness/cluster-setup.ts';
import { freePort, waitFor } from '../../e2e/harness/processes.ts';
import { registerWebhooks, startWebhookProcess, type WebhookProcess } from '../../e2e/harness/webhook-process.ts';
import { dataPlaneBinaries, type DataPlaneBinaries } from './binaries.ts';
import { startClusterControllers, type ClusterControllers } from './cluster-controllers.ts';
import { startEnvoy, type EnvoyProcess } from './envoy-process.ts';
import { startEpp, type EppProcess } from './epp-process.ts';
import { xdsCounters } from './envoy-config.ts';
import { ISTIO_NAMESPACE, startIstiod, type IstiodProcess } from './istiod-process.ts';
import { startModelServer, type ModelServer } from './model-server.ts';
import { createReadyPod } from './pods.ts';

/** The names of the guide and its fixtures (test/fixtures/manifests). */
export const NS = 'llm-d-inference-scheduler';
export const GATEWAY = 'infra-inference-scheduling-inference-gateway';
export const POOL = 'gaie-inference-scheduling';
export const EPP_SERVICE = 'gaie-inference-scheduling-epp';
export const EPP_SERVICE_PORT = 9002;
const MODEL_LABELS = { app: 'vllm-sim' };
const EPP_LABELS = { app: EPP_SERVICE };
const GATEWAY_LABELS = { 'gateway.networking.k8s.io/gateway-name': GATEWAY };
const GATEWAY_API_CRDS = ['gatewayclasses', 'gateways', 'referencegrants', 'grpcroutes', 'backendtlspolicies', 'listenersets'];

export interface DataPlane {
  cp: ControlPlane;
  binaries: DataPlaneBinaries;
  webhook: WebhookProcess;
  istiod: IstiodProcess;
  envoy: EnvoyProcess;
  epp: EppProcess;
  models: ModelServer[];
  /** http://127.0.0.1:PORT, the Gateway's listener as Envoy serves it (the gateway Pod's port). */
  gatewayUrl: string;
  envoyPort: number;
  eppClusterIP(): Promise<string>;
  /** Restarts the EPP with other serving options (same ports, same Pod). */
  restartEpp(options: { secureServing: boolean }): Promise<void>;
  /**
   * Stops the gateway's Envoy and starts a new one for the same Pod, taking its config over SotW (`GRPC`) or delta
   * (`DELTA_GRPC`) xDS: a gateway Pod that (re)starts. Its admin port is new; `envoy` is the new one.
   */
  /** `listening: false`: the Gateway's listener is expected to be refused; wait for Envoy's answer to it, not for it to listen. */
  restartEnvoy(options: { xds: 'GRPC' | 'DELTA_GRPC'; listening?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

async function must(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const result = await cp.kubectl(args, { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** `kubectl apply` of one object, failing with kubectl's own words. */
export async function applyObject(cp: ControlPlane, object: object): Promise<void> {
  await must(cp, ['apply', '-f', '-'], JSON.stringify(object));
}

/**
 * The webhook's config for measuring: the deny rules whose runtime symptom a scenario measures are relaxed to warnings,
 * so the object reaches Istio and Envoy (kubectl still prints the code).
 */
export const MEASURING_CONFIG = ['severities:', '  EPP114: warn', '  EPP202: warn', '  EPP210: warn', '  EPP215: warn', '  EPP217: warn', '  EPP223: warn', '  EPP302: warn', '  EPP318: warn', '  EPP319: warn', '  EPP410: warn', ''].join('\n');

export async function startDataPlane(
  options: { models?: number; secureServing?: boolean; webhookConfig?: string; log?: (line: string) => void } = {},
): Promise<DataPlane> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[dataplane] ${line}\n`));
  const started = Date.now();
  const binaries = await dataPlaneBinaries();
  const cp = await startControlPlane({ apiserverArgs: ['--service-cluster-ip-range=127.100.0.0/16'] });
  const stops: (() => Promise<void>)[] = [() => cp.stop()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    await installCrdsAndRbac(cp);
    const crds = GATEWAY_API_CRDS.map((name) => join(binaries.gatewayApiCrds, `gateway.networking.k8s.io_${name}.yaml`));
    await must(cp, ['apply', '--server-side', ...crds.flatMap((f) => ['-f', f])]);
    await must(cp, ['wait', '--for=condition=Established', '--timeout=60s', ...GATEWAY_API_CRDS.map((n) => `crd/${n}.gateway.networking.k8s.io`)]);
    // ServiceEntries carry the Pods' endpoints to istiod (service-endpoints.ts); a DestinationRule is how a scenario
    // gives istiod's own EPP cluster TLS, as Gateway API Inference Extension's Istio guide does.
    const istioCrdNames = ['serviceentries.networking.istio.io', 'destinationrules.networking.istio.io'];
    const istioCrds = parseAllDocuments(readFileSync(binaries.istioCrds, 'utf8'))
      .map((d) => d.toJS())
      .filter((d) => istioCrdNames.includes(d?.metadata?.name));
    for (const crd of istioCrds) await must(cp, ['apply', '--server-side', '-f', '-'], JSON.stringify(crd));
    await must(cp, ['wait', '--for=condition=Established', '--timeout=60s', ...istioCrdNames.map((n) => `crd/${n}`)]);
    await createNamespace(cp, ISTIO_NAMESPACE);
    await createNamespace(cp, NS);

    const controllers: ClusterControllers = startClusterControllers(cp);
    stops.push(() => controllers.stop());

    // One /24 of loopback per run, so parallel runs do not share Pod IPs.
    const subnet = `127.0.${2 + Math.floor(Math.random() * 250)}`;
    const modelPort = await freePort();
    const models: ModelServer[] = [];
    for (let i = 0; i < (options.models ?? 2); i++) {
      const name = `vllm-sim-${i}`;
      const ip = `${subnet}.${11 + i}`;
      const model = await startModelServer(name, ip, modelPort);
      models.push(model);
      stops.push(() => model.close());
      await createReadyPod(cp, NS, name, MODEL_LABELS, ip, modelPort);
    }

    const eppGrpcPort = await freePort();
    await applyObject(cp, {
      apiVersion: 'inference.networking.k8s.io/v1',
      kind: 'InferencePool',
      metadata: { name: POOL, namespace: NS },
      spec: {
        targetPorts: [{ number: modelPort }],
        selector: { matchLabels: MODEL_LABELS },
        endpointPickerRef: { name: EPP_SERVICE, port: { number: EPP_SERVICE_PORT }, failureMode: 'FailClose' },
      },
    });
    await applyEppService(cp, eppGrpcPort);
    await createReadyPod(cp, NS, `${EPP_SERVICE}-0`, EPP_LABELS, `${subnet}.20`, eppGrpcPort);

    const config = options.webhookConfig === undefined ? undefined : join(cp.dir, 'webhook-config.yaml');
    if (config) writeFileSync(config, options.webhookConfig!);
    const webhook = await startWebhookProcess(cp, { extraArgs: ['--reconcile', '--leader-election-namespace=epp-webhook'], ...(config ? { config } : {}) });
    stops.push(() => webhook.stop());
    await registerWebhooks(cp, webhook.url, webhook.caPem);

    const eppOptions = { binary: binaries.epp, kubeconfig: cp.kubeconfig, dir: cp.dir, poolName: POOL, poolNamespace: NS, grpcPort: eppGrpcPort };
    let epp = await startEpp({ ...eppOptions, secureServing: options.secureServing ?? true });
    stops.push(() => epp.stop());

    const istiod = await startIstiod({ binary: binaries.pilotDiscovery, kubeconfig: cp.kubeconfig, dir: cp.dir });
    stops.push(() => istiod.stop());
    const gatewayPort = await freePort();
    const envoyPort = await freePort();
    await applyObject(cp, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: GATEWAY, namespace: NS },
      spec: { gatewayClassName: 'istio', listeners: [{ name: 'http', port: gatewayPort, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } }] },
    });
    // What istiod's deployment controller would create for the Gateway: its Service (the Gateway's address) and Pod.
    await applyObject(cp, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${GATEWAY}-istio`, namespace: NS },
      // istiod binds the Gateway's listener on the targetPort of the Service port equal to the listener port. Another
      // targetPort than the port keeps Envoy's 0.0.0.0 bind clear of kube-proxy.ts's ClusterIP:port in this one network
      // namespace (in a cluster they live in different ones).
      spec: { selector: GATEWAY_LABELS, ports: [{ name: 'http', port: gatewayPort, targetPort: envoyPort, protocol: 'TCP' }] },
    });
    await createReadyPod(cp, NS, `${GATEWAY}-istio-0`, GATEWAY_LABELS, `${subnet}.10`, envoyPort);
    const envoyOptions = { binary: binaries.envoy, dir: cp.dir, xdsPort: istiod.xdsPort, namespace: NS, gatewayName: GATEWAY, podName: `${GATEWAY}-istio-0`, podIP: `${subnet}.10` };
    let envoy = await startEnvoy(envoyOptions);
    stops.push(() => envoy.stop());
    await waitFor(`Envoy to listen on the Gateway's port ${envoyPort}`, async () => ((await envoy.admin('/listeners')).includes(`:${envoyPort}`) ? true : undefined), 180_000, 300);
    log(`data plane up in ${((Date.now() - started) / 1000).toFixed(1)} s (logs in ${cp.dir})`);

    const plane: DataPlane = {
      cp,
      binaries,
      webhook,
      istiod,
      get envoy() {
        return envoy;
      },
      get epp() {
        return epp;
      },
      models,
      gatewayUrl: `http://127.0.0.1:${envoyPort}`,
      envoyPort,
      eppClusterIP: async () => (await must(cp, ['get', 'service', '-n', NS, EPP_SERVICE, '-o', 'jsonpath={.spec.clusterIP}'])).trim(),
      async restartEpp(restart) {
        await epp.stop();
        epp = await startEpp({ ...eppOptions, secureServing: restart.secureServing, logName: `epp-${eppGrpcPort}-${Date.now()}.log` });
      },
      async restartEnvoy(restart) {
        await envoy.stop();
        envoy = await startEnvoy({ ...envoyOptions, xds: restart.xds, logName: `envoy-${restart.xds.toLowerCase()}-${Date.now()}` });
        if (restart.listening === false) {
          // A listener Envoy refuses never listens: wait for its answer to istiod's first listener update instead.
          await waitFor('Envoy to take or refuse its first listener update', async () => {
            const lds = await xdsCounters(envoy);
            return lds.ldsSuccess + lds.ldsRejected > 0 ? true : undefined;
          }, 60_000, 300);
          return;
        }
        await waitFor(`Envoy to listen on the Gateway's port ${envoyPort}`, async () => ((await envoy.admin('/listeners')).includes(`:${envoyPort}`) ? true : undefined), 60_000, 300);
      },
      stop,
    };
    return plane;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The EPP Service as the chart names it: port 9002 (grpc-ext-proc) to the EPP's gRPC port. */
export async function applyEppService(cp: ControlPlane, targetPort: number): Promise<void> {
  await applyObject(cp, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: EPP_SERVICE, namespace: NS },
    spec: { selector: EPP_LABELS, ports: [{ name: 'grpc-ext-proc', port: EPP_SERVICE_PORT, targetPort, protocol: 'TCP', appProtocol: 'http2' }] },
  });
}
