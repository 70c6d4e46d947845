import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, type PemPair } from '../../../src/certs/authority.ts';
import { controlPlaneBinaries, type ControlPlaneBinaries } from './binaries.ts';
import { freePorts, GiveUp, startProcess, waitFor, type ManagedProcess } from './processes.ts';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  dir: string;
  server: string;
  binaries: ControlPlaneBinaries;
  /** Admin (system:masters) kubeconfig, for kubectl and a person. */
  kubeconfig: string;
  ca: PemPair;
  /** Runs the real kubectl against this control plane; never throws on a non-zero exit. */
  kubectl(args: string[], options?: { input?: string; kubeconfig?: string }): Promise<KubectlResult>;
  /** Writes a kubeconfig for a client certificate (CN = user, O = groups) signed by the cluster CA. */
  kubeconfigFor(user: string, groups?: string[]): string;
  /** Raw API request as admin. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
  /** Stops and restarts kube-apiserver on the same port and etcd (for fault tests). */
  restartApiserver(): Promise<void>;
  /** Stops kube-apiserver only (etcd keeps running); the port refuses connections until startApiserver(). */
  stopApiserver(): Promise<void>;
  /** Starts kube-apiserver again on the same port, and waits until it is ready. */
  startApiserver(): Promise<void>;
}

const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/16';

/** etcd + kube-apiserver on loopback with envtest-style flags; certificates from the project's own certs code. */
export async function startControlPlane(options: { log?: (line: string) => void; apiserverArgs?: string[] } = {}): Promise<ControlPlane> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[control-plane] ${line}\n`));
  const binaries = await controlPlaneBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'epp-webhook-e2e-'));
  const pki = join(dir, 'pki');
  mkdirSync(pki);

  const ca = createCertificateAuthority({ commonName: 'epp-webhook-e2e-ca', validityDays: 2 });
  const serving = issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
    ipAddresses: ['127.0.0.1', '10.0.0.1'],
    validityDays: 2,
    usage: 'server',
  });
  const admin = issueCertificate(ca, { commonName: 'e2e-admin', organizations: ['system:masters'], validityDays: 2, usage: 'client' });
  const serviceAccount = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(pki, 'ca.crt'), ca.certPem);
  writeFileSync(join(pki, 'apiserver.crt'), serving.certPem);
  writeFileSync(join(pki, 'apiserver.key'), serving.keyPem, { mode: 0o600 });
  writeFileSync(join(pki, 'sa.pub'), serviceAccount.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(pki, 'sa.key'), serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  let [etcdPort, peerPort, apiPort] = (await freePorts(3)) as [number, number, number];
  let server = `https://127.0.0.1:${apiPort}`;
  const env = { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' };

  const startEtcd = () =>
    startProcess(
      binaries.etcd,
      [
        '--name=e2e',
        `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=e2e=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync=true',
      ],
      join(dir, 'etcd.log'),
      env,
    );
  const startApiserver = () =>
    startProcess(
      binaries.kubeApiserver,
      [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        `--cert-dir=${join(dir, 'apiserver')}`,
        `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
        `--client-ca-file=${join(pki, 'ca.crt')}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${join(pki, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
        '--allow-privileged=true',
        '--disable-admission-plugins=ServiceAccount',
        ...(options.apiserverArgs ?? []),
      ],
      join(dir, 'kube-apiserver.log'),
      env,
    );

  const writeKubeconfig = (file: string, user: string, pair: PemPair) => {
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: e2e',
        '  cluster:',
        `    server: ${server}`,
        `    certificate-authority-data: ${b64(ca.certPem)}`,
        'users:',
        `- name: ${user}`,
        '  user:',
        `    client-certificate-data: ${b64(pair.certPem)}`,
        `    client-key-data: ${b64(pair.keyPem)}`,
        'contexts:',
        '- name: e2e',
        '  context:',
        '    cluster: e2e',
        `    user: ${user}`,
        'current-context: e2e',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return file;
  };
  const kubeconfig = writeKubeconfig(join(dir, 'admin.kubeconfig'), 'e2e-admin', admin);

  const api = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(
        `${server}${path}`,
        { method, ca: ca.certPem, cert: admin.certPem, key: admin.keyPem, headers: { 'content-type': 'application/json' }, agent: false },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c)).on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });

  let etcd: ManagedProcess | undefined;
  let apiserver: ManagedProcess | undefined;
  const stopProcesses = async () => {
    // The apiserver first: with etcd gone its graceful shutdown retries etcd for minutes.
    await apiserver?.stop(5000);
    await etcd?.stop(3000);
  };
  // etcd's data and every log: about 120 MB a run. EPP_WEBHOOK_KEEP_E2E_DIR=1 keeps them to read after a failure.
  const stop = async () => {
    await stopProcesses();
    if (process.env.EPP_WEBHOOK_KEEP_E2E_DIR !== '1') rmSync(dir, { recursive: true, force: true });
  };
  const waitReady = async (started?: ManagedProcess) => {
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        if (started?.hasExited()) throw new GiveUp(`kube-apiserver exited: ${lastLines(started.logFile, 5)}`);
        return (await api('GET', '/readyz')).status === 200 ? true : undefined;
      },
      60_000,
    );
    await waitFor('namespace default', async () => ((await api('GET', '/api/v1/namespaces/default')).status === 200 ? true : undefined), 30_000);
  };
  // A port released by freePorts can still be taken before etcd binds it (by another test process's listener; no
  // longer by an outgoing connection: see freePorts), and etcd then exits at once: it gets fresh ports, twice at most,
  // rather than failing a whole e2e file.
  const startHealthyEtcd = async (attempt: number): Promise<void> => {
    log(`starting etcd on 127.0.0.1:${etcdPort} and kube-apiserver on ${server} (logs in ${dir})`);
    const started = startEtcd();
    etcd = started;
    try {
      await waitFor(
        'etcd /health',
        async () => {
          if (started.hasExited()) throw new GiveUp(`etcd exited: ${lastLines(started.logFile, 5)}`);
          return (await fetch(`http://127.0.0.1:${etcdPort}/health`, { signal: AbortSignal.timeout(2000) })).ok ? true : undefined;
        },
        30_000,
      );
    } catch (error) {
      if (!(error instanceof GiveUp) || attempt >= 3) throw error;
      log(`${error.message}; again on fresh ports`);
      [etcdPort, peerPort] = (await freePorts(3)).filter((port) => port !== apiPort) as [number, number];
      rmSync(join(dir, 'etcd-data'), { recursive: true, force: true });
      await startHealthyEtcd(attempt + 1);
    }
  };
  // The same race for the apiserver's port: a fresh one, and the admin kubeconfig written again for it.
  const startReadyApiserver = async (attempt: number): Promise<void> => {
    const started = startApiserver();
    apiserver = started;
    try {
      await waitReady(started);
    } catch (error) {
      if (!(error instanceof GiveUp) || attempt >= 3) throw error;
      log(`${error.message}; again on a fresh port`);
      apiPort = (await freePorts(3)).find((port) => port !== etcdPort && port !== peerPort)!;
      server = `https://127.0.0.1:${apiPort}`;
      writeKubeconfig(kubeconfig, 'e2e-admin', admin);
      await startReadyApiserver(attempt + 1);
    }
  };
  try {
    await startHealthyEtcd(1);
    await startReadyApiserver(1);
  } catch (error) {
    await stopProcesses();
    throw new Error(`${(error as Error).message} (see ${dir}/kube-apiserver.log and etcd.log)`);
  }
  log('control plane ready');

  return {
    dir,
    server,
    binaries,
    kubeconfig,
    ca,
    api,
    kubectl(args, kubectlOptions = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          binaries.kubectl,
          ['--kubeconfig', kubectlOptions.kubeconfig ?? kubeconfig, ...args],
          { env, maxBuffer: 64 * 1024 * 1024 },
          (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
        child.stdin!.end(kubectlOptions.input);
      });
    },
    kubeconfigFor(user, groups = []) {
      const pair = issueCertificate(ca, { commonName: user, organizations: groups, validityDays: 2, usage: 'client' });
      return writeKubeconfig(join(dir, `${user.replaceAll(':', '_')}.kubeconfig`), user, pair);
    },
    stop,
    async restartApiserver() {
      await apiserver?.stop(5000);
      apiserver = startApiserver();
      await waitReady();
    },
    async stopApiserver() {
      await apiserver?.stop(5000);
      apiserver = undefined;
    },
    async startApiserver() {
      if (apiserver !== undefined && apiserver.child.exitCode === null && apiserver.child.signalCode === null) return;
      apiserver = startApiserver();
      await waitReady();
    },
  };
}

export interface WebhookClientCredentials {
  /** PEM CA that signed the apiserver's webhook client certificate: give it to `serve --client-ca`. */
  caFile: string;
  caPem: string;
  /** The client certificate's CN: give it to `serve --client-cn`. */
  commonName: string;
  /** The admission configuration and the kubeconfig it names, as written for the apiserver. */
  admissionConfigFile: string;
  kubeconfigFile: string;
  /** Another client certificate from the same CA (to show what a CN outside --client-cn gets). */
  issue(commonName: string): PemPair;
}

/**
 * A control plane whose kube-apiserver presents a client certificate when it calls the webhook at `webhookHostPort`
 * (`127.0.0.1:PORT`): `--admission-control-config-file` with a WebhookAdmissionConfiguration whose kubeConfigFile has
 * a user named after that host:port. Calls to any other host:port (e.g. `localhost:PORT`) carry no certificate.
 */
export async function startControlPlaneWithAdmissionConfig(options: {
  webhookHostPort: string;
  commonName?: string;
  log?: (line: string) => void;
  apiserverArgs?: string[];
}): Promise<{ cp: ControlPlane; client: WebhookClientCredentials }> {
  const dir = mkdtempSync(join(tmpdir(), 'epp-webhook-admission-config-'));
  const commonName = options.commonName ?? 'kube-apiserver-webhook-client';
  const clientCa = createCertificateAuthority({ commonName: 'epp-webhook-client-ca', validityDays: 2 });
  const client = issueCertificate(clientCa, { commonName, validityDays: 2, usage: 'client' });
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const caFile = join(dir, 'webhook-client-ca.crt');
  const kubeconfigFile = join(dir, 'webhook-client.kubeconfig');
  const admissionConfigFile = join(dir, 'admission-config.yaml');
  writeFileSync(caFile, clientCa.certPem);
  writeFileSync(
    kubeconfigFile,
    [
      'apiVersion: v1',
      'kind: Config',
      'users:',
      `- name: '${options.webhookHostPort}'`,
      '  user:',
      `    client-certificate-data: ${b64(client.certPem)}`,
      `    client-key-data: ${b64(client.keyPem)}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const plugin = (name: string) => [
    `- name: ${name}`,
    '  configuration:',
    '    apiVersion: apiserver.config.k8s.io/v1',
    '    kind: WebhookAdmissionConfiguration',
    `    kubeConfigFile: ${kubeconfigFile}`,
  ];
  writeFileSync(
    admissionConfigFile,
    ['apiVersion: apiserver.config.k8s.io/v1', 'kind: AdmissionConfiguration', 'plugins:', ...plugin('ValidatingAdmissionWebhook'), ...plugin('MutatingAdmissionWebhook'), ''].join('\n'),
  );
  const started = await startControlPlane({ log: options.log, apiserverArgs: [`--admission-control-config-file=${admissionConfigFile}`, ...(options.apiserverArgs ?? [])] });
  const cp = { ...started, stop: async () => (await started.stop(), rmSync(dir, { recursive: true, force: true })) };
  const issue = (name: string) => issueCertificate(clientCa, { commonName: name, validityDays: 2, usage: 'client' });
  return { cp, client: { caFile, caPem: clientCa.certPem, commonName, admissionConfigFile, kubeconfigFile, issue } };
}

function lastLines(file: string, count: number): string {
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-count).join(' | ');
}
