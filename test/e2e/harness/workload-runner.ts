/**
 * Stand-ins for the parts of a cluster the e2e control plane lacks (no controller-manager, scheduler or kubelet),
 * so what `helm install` or `kubectl apply` stored runs as it would on a node: the certificate bootstrap Jobs run
 * as their ServiceAccount with their own arguments, and the webhook Deployment's container runs with its own
 * arguments, its ConfigMap and Secret as volume files, as its ServiceAccount, listening on the Service's ClusterIP
 * (the apiserver calls a webhook Service at its ClusterIP). Everything is read from the API server, nothing from
 * the chart or deploy/.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpGet } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import type { ControlPlane } from './control-plane.ts';
import { freePort, startProcess, waitFor, type ManagedProcess } from './processes.ts';
import { writeSecretVolume } from './secret-volume.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

async function getJson(cp: ControlPlane, args: string[]): Promise<any> {
  const result = await cp.kubectl([...args, '-o', 'json']);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function identityOf(cp: ControlPlane, namespace: string, serviceAccount: string): string {
  return cp.kubeconfigFor(`system:serviceaccount:${namespace}:${serviceAccount}`, ['system:serviceaccounts', `system:serviceaccounts:${namespace}`]);
}

/** `$(VAR)` in container args, expanded as the kubelet does from the container's fieldRef env. */
function expandArgs(args: string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole));
}

/** The container's environment: its env entries (fieldRefs resolved) and a PATH. */
function containerEnv(container: any, pod: { name: string; namespace: string }): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = pod.namespace;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = pod.name;
  }
  return env;
}

/**
 * `env -i` runs the command with exactly the container's environment, as a container runtime does. Spawning the node
 * binary directly from a test would not: tap's process tracking adds its own --import to the child's NODE_OPTIONS,
 * and that bookkeeping does not fit in the Deployment's V8 heap cap (the webhook dies of "heap out of memory").
 */
function inContainerEnv(env: Record<string, string>, command: string, args: string[]): [string, string[]] {
  return ['env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), command, ...args]];
}

export interface JobRun {
  job: string;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs every Job that appears in `namespace` once (the container's command is `epp-webhook`, i.e. src/main.ts), as
 * its ServiceAccount, and records the outcome in its status the way the Job controller does, so `helm install`
 * (which waits for its hook Jobs) sees it complete or fail.
 */
export function runJobs(cp: ControlPlane, namespace: string): { runs: JobRun[]; stop(): Promise<void> } {
  const runs: JobRun[] = [];
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const jobs = (await getJson(cp, ['get', 'jobs', '-n', namespace]).catch(() => ({ items: [] }))).items;
      for (const job of jobs) {
        if (seen.has(job.metadata.uid) || job.status?.conditions?.length) continue;
        seen.add(job.metadata.uid);
        runs.push(await runJob(cp, job));
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    runs,
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function runJob(cp: ControlPlane, job: any): Promise<JobRun> {
  const namespace = job.metadata.namespace;
  const pod = job.spec.template.spec;
  const container = pod.containers[0];
  const env = containerEnv(container, { name: `${job.metadata.name}-pod`, namespace });
  const args = expandArgs(container.args, env);
  const started = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(...inContainerEnv(env, process.execPath, [join(ROOT, 'src/main.ts'), ...args, `--kubeconfig=${identityOf(cp, namespace, pod.serviceAccountName)}`]), (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
  const finished = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const condition = (type: string, reason: string) => ({ type, status: 'True', reason, message: reason, lastProbeTime: finished, lastTransitionTime: finished });
  const status =
    result.code === 0
      ? { startTime: started, completionTime: finished, succeeded: 1, conditions: [condition('SuccessCriteriaMet', 'CompletionsReached'), condition('Complete', 'CompletionsReached')] }
      : { startTime: started, failed: 1, conditions: [condition('FailureTarget', 'BackoffLimitExceeded'), condition('Failed', 'BackoffLimitExceeded')] };
  const patched = await cp.kubectl(['patch', 'job', '-n', namespace, job.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  if (patched.code !== 0) throw new Error(`recording Job ${job.metadata.name}'s outcome failed: ${patched.stderr}`);
  return { job: job.metadata.name, ...result };
}

export interface WebhookPod {
  /** The Service's ClusterIP, where the process listens (port 443). */
  clusterIP: string;
  metricsPort: number;
  config: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * One replica of the webhook Deployment as stored in the API server: its container's arguments, with the files of
 * its ConfigMap and Secret volumes written where it mounts them (the paths rewritten into a scratch directory) and
 * the ports moved to where the apiserver will call: the Service's ClusterIP and port (no kube-proxy here).
 */
export async function runWebhookPod(cp: ControlPlane, namespace: string, name: string): Promise<WebhookPod> {
  const deployment = await getJson(cp, ['get', 'deployment', '-n', namespace, name]);
  const service = await getJson(cp, ['get', 'service', '-n', namespace, name]);
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const root = mkdtempSync(join(cp.dir, `pod-${name}-`));
  const mounts = new Map<string, string>();
  let config = '';
  for (const mount of container.volumeMounts) {
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    const dir = join(root, mount.name);
    if (volume.secret) {
      const secret = await getJson(cp, ['get', 'secret', '-n', namespace, volume.secret.secretName]);
      writeSecretVolume(dir, Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])));
    } else if (volume.configMap) {
      const configMap = await getJson(cp, ['get', 'configmap', '-n', namespace, volume.configMap.name]);
      writeSecretVolume(dir, configMap.data);
      config = configMap.data['config.yaml'] ?? '';
    } else {
      writeSecretVolume(dir, {});
    }
    mounts.set(mount.mountPath, dir);
  }
  const env = containerEnv(container, { name: `${name}-0`, namespace });
  const httpsPort = service.spec.ports.find((p: any) => p.targetPort === 'https' || p.name === 'https').port;
  const metricsPort = await freePort();
  const args = expandArgs(container.args, env).map((a) => {
    const [flag, value] = a.split(/=(.*)/s, 2);
    if (flag === '--port') return `--port=${httpsPort}`;
    if (flag === '--metrics-port') return `--metrics-port=${metricsPort}`;
    for (const [mountPath, dir] of mounts) if (value?.startsWith(`${mountPath}/`)) return `${flag}=${dir}${value.slice(mountPath.length)}`;
    return a;
  });
  const clusterIP = service.spec.clusterIP;
  const kubeconfig = identityOf(cp, namespace, pod.serviceAccountName);
  const child = startProcess(...inContainerEnv(env, process.execPath, [join(ROOT, 'src/main.ts'), ...args, `--host=${clusterIP}`, `--kubeconfig=${kubeconfig}`]), join(root, 'webhook.log'));
  // As the kubelet: the readiness probe's port and scheme, as the Deployment names them.
  const probe = container.readinessProbe?.httpGet ?? { path: '/readyz', port: 'https', scheme: 'HTTPS' };
  const probePort = probe.port === 'metrics' ? metricsPort : httpsPort;
  const get = probe.scheme === 'HTTP' ? httpGet : request;
  await waitFor(
    `the webhook pod's readiness probe, ${probe.scheme} ${clusterIP}:${probePort}${probe.path} (log: ${child.logFile})`,
    () =>
      new Promise<true | undefined>((resolve) => {
        get({ host: clusterIP, port: probePort, path: probe.path, rejectUnauthorized: false, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode === 200 ? true : undefined);
        })
          .on('error', () => resolve(undefined))
          .end();
      }),
    30_000,
  );
  return { clusterIP, metricsPort, config, process: child, stop: () => child.stop(10_000) };
}

/**
 * What the Deployment controller writes once the kubelet reports the pods ready: every replica updated, ready and
 * available, for the generation stored now. Call it only after runWebhookPod answered /readyz: `helm install --wait`
 * (kstatus) reads exactly these fields, and this harness has no controller-manager or kubelet to write them.
 */
export async function markDeploymentReady(cp: ControlPlane, namespace: string, name: string): Promise<void> {
  const deployment = await getJson(cp, ['get', 'deployment', '-n', namespace, name]);
  const replicas = deployment.spec.replicas ?? 1;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const condition = (type: string, reason: string) => ({ type, status: 'True', reason, message: reason, lastUpdateTime: now, lastTransitionTime: now });
  const status = {
    observedGeneration: deployment.metadata.generation,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
    conditions: [condition('Available', 'MinimumReplicasAvailable'), condition('Progressing', 'NewReplicaSetAvailable')],
  };
  const patched = await cp.kubectl(['patch', 'deployment', '-n', namespace, name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  if (patched.code !== 0) throw new Error(`recording Deployment ${name} ready failed: ${patched.stderr}`);
}
