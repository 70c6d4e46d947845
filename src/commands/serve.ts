import type { KubeConfig } from '@kubernetes/client-node';
import { hasDefaultClusterCredentials } from '../cluster/cluster-credentials.ts';
import { parseArgs } from 'node:util';
import { ensureDevCertificates } from '../certs/serving-bundle.ts';
import type { InformerEvent } from '../cluster/informer-resolver.ts';
import type { ServiceCacheChange } from '../cluster/service-change.ts';
import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { InferencePoolResolver } from '../cluster/inference-pool.ts';
import { KubeConfigError } from '../cluster/kubeconfig-error.ts';
import type { PoolChange } from '../cluster/informer-inference-pools.ts';
import type { ResourceListWatchEvent } from '../cluster/resource-list-watch.ts';
import type { ServiceResolver } from '../cluster/service-resolver.ts';
import { loadClusterTableFiles } from '../cluster/static-cluster-table.ts';
import { ServicesFileError } from '../cluster/static-resolver.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { leaderElectionIdentity, leaseNamespace } from '../reconcile/leader-election-settings.ts';
import type { RunningReconciler } from '../reconcile/start-reconciler.ts';
import type { CacheName } from '../server/list-watch-health.ts';
import { serverLogOptions } from '../server/log-options.ts';
import { ClientCaError } from '../server/client-ca.ts';
import { TlsFilesError } from '../server/tls-files.ts';
import { ALL_ADDRESSES, startWebhookServer, type RunningWebhookServer } from '../server/webhook-server.ts';
import type { CommandIo } from './certs.ts';
import { usageErrorText } from './usage-error.ts';

const USAGE = `Usage: epp-webhook serve [options]

Serves the admission webhook over HTTPS: POST /mutate, POST /validate, GET /healthz, GET /readyz;
Prometheus metrics on a separate plain HTTP port.

Options:
  --port N            HTTPS port (default 8443)
  --host ADDR         address to listen on (default ::, every IPv6 and IPv4 address; 0.0.0.0 without IPv6)
  --tls-cert FILE     serving certificate, PEM (reloaded when it changes on disk)
  --tls-key FILE      its private key, PEM
                      without both: dev certificates are issued into --certs-dir
  --certs-dir DIR     where dev certificates live (default certs)
  --client-ca FILE    require a client certificate signed by this CA (PEM), checked in the TLS handshake:
                      the apiserver's, configured with an AdmissionConfiguration kubeConfigFile (docs/reliability.md);
                      reloaded when it changes on disk
  --client-cn NAME    with --client-ca: answer only certificates with this common name (repeatable; others get 403)
  --config FILE       webhook config, YAML (see README "Configuration")
  --services FILE     answer Service lookups from this file (a List or multi-document YAML of Services; the
                      InferencePools and EnvoyFilters in it are used too; repeatable: the files together)
  --kubeconfig FILE   watch Services, InferencePools and EnvoyFilters through this kubeconfig
                      (default: KUBECONFIG, then ~/.kube/config, then in-cluster)
  --reconcile         also keep substituted ClusterIPs true: patch EnvoyFilters when their EPP Service's
                      ClusterIP changes, resolve any stored with the raw token (needs a cluster; one replica
                      writes, elected on the Lease epp-webhook-reconciler; every replica keeps serving admissions)
  --leader-election-namespace NS   namespace of that Lease (default POD_NAMESPACE, then the pod's own)
  --leader-election-identity NAME  this replica in the Lease and in Events (default POD_NAME, then hostname_pid)
  --metrics-port N    Prometheus /metrics port, plain HTTP (default 9090; "off" disables)
  --log-level LEVEL   fatal|error|warn|info|debug|trace (default info)
  -h, --help          show this help
`;

interface ServeFlags {
  port: number;
  host: string;
  certFile: string | undefined;
  keyFile: string | undefined;
  certsDir: string;
  clientCa: string | undefined;
  clientCommonNames: string[];
  config: string | undefined;
  services: string[] | undefined;
  kubeconfig: string | undefined;
  /** Present with --reconcile: where the Lease lives and who this replica is. */
  reconcile: { leaseNamespace: string; identity: string } | undefined;
  metricsPort: number | undefined;
  logLevel: string;
}

class UsageError extends Error {}

function parseServeFlags(argv: string[]): ServeFlags | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string', default: '8443' },
      host: { type: 'string', default: ALL_ADDRESSES },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'certs-dir': { type: 'string', default: 'certs' },
      'client-ca': { type: 'string' },
      'client-cn': { type: 'string', multiple: true },
      config: { type: 'string' },
      services: { type: 'string', multiple: true },
      kubeconfig: { type: 'string' },
      reconcile: { type: 'boolean', default: false },
      'leader-election-namespace': { type: 'string' },
      'leader-election-identity': { type: 'string' },
      'metrics-port': { type: 'string', default: '9090' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const port = portNumber(values.port, '--port');
  const metricsPort = values['metrics-port'] === 'off' ? undefined : portNumber(values['metrics-port'], '--metrics-port');
  if (port !== 0 && port === metricsPort) {
    throw new UsageError(`--port and --metrics-port are both ${port}: the webhook (HTTPS) and the metrics (plain HTTP) need a port each; pass --metrics-port off for no metrics`);
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: give both, or neither for dev certificates');
  }
  if (values['client-cn'] !== undefined && values['client-ca'] === undefined) {
    throw new UsageError('--client-cn needs --client-ca: the common name is only trusted from a certificate the CA signed');
  }
  if (values.services !== undefined && values.kubeconfig !== undefined) {
    throw new UsageError('--services and --kubeconfig are alternatives: give one');
  }
  const reconcile = values.reconcile ? reconcileSettings(values) : undefined;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(values['log-level'])) {
    throw new UsageError(`--log-level must be one of fatal, error, warn, info, debug, trace (got ${values['log-level']})`);
  }
  return {
    port,
    host: values.host,
    certFile: values['tls-cert'],
    keyFile: values['tls-key'],
    certsDir: values['certs-dir'],
    clientCa: values['client-ca'],
    clientCommonNames: values['client-cn'] ?? [],
    config: values.config,
    services: values.services,
    kubeconfig: values.kubeconfig,
    reconcile,
    metricsPort,
    logLevel: values['log-level'],
  };
}

function portNumber(text: string, flag: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`${flag} must be a port number 0-65535 (got ${text})`);
  return port;
}

interface ClusterSources {
  resolver: ServiceResolver;
  pools: InferencePoolResolver;
  envoyFilters: EnvoyFilterIndex;
  /** True for the cluster's watch, false for a file: only the former can say an EnvoyFilter does not exist (EPP406). */
  envoyFiltersComplete: boolean;
  /** The cluster's, for the reconciler to write through; undefined with --services. */
  kubeConfig: KubeConfig | undefined;
  start(): void;
  stop(): void;
}

/** Chooses where Service, InferencePool and EnvoyFilter lookups come from: a file, or watches on the cluster's API. */
async function createResolver(
  flags: ServeFlags,
  onEvent: (event: InformerEvent) => void,
  onListWatchEvent: (event: ResourceListWatchEvent, cache: CacheName, what: string) => void,
  onServiceChange?: (change: ServiceCacheChange) => void,
  onPoolChange?: (change: PoolChange | { type: 'resynced' }) => void,
): Promise<ClusterSources> {
  if (flags.services !== undefined) {
    const table = loadClusterTableFiles(flags.services);
    return { resolver: table.services, pools: table.pools, envoyFilters: table.envoyFilters, envoyFiltersComplete: false, kubeConfig: undefined, start() {}, stop() {} };
  }
  if (flags.kubeconfig === undefined && !hasDefaultClusterCredentials()) {
    throw new UsageError('no Service source: pass --services FILE (a Service table) or --kubeconfig FILE (watch a cluster), or run in a cluster');
  }
  // client-node is large: load it only when a cluster is the Service source.
  const { InformerServiceResolver } = await import('../cluster/informer-resolver.ts');
  const { loadKubeConfig } = await import('../cluster/load-kubeconfig.ts');
  const { InformerInferencePools } = await import('../cluster/informer-inference-pools.ts');
  const { informerEnvoyFilterIndex } = await import('../cluster/informer-envoyfilter-index.ts');
  const kubeConfig = loadKubeConfig(flags.kubeconfig);
  const resolver = new InformerServiceResolver({ kubeConfig, onEvent, onServiceChange });
  const pools = new InformerInferencePools({ kubeConfig, onEvent: (event, what) => onListWatchEvent(event, 'InferencePools', what), onPoolChange });
  const envoyFilters = informerEnvoyFilterIndex({ kubeConfig, onEvent: (event) => onListWatchEvent(event, 'EnvoyFilters', 'EnvoyFilters') });
  return {
    resolver,
    pools,
    envoyFilters: envoyFilters.index,
    envoyFiltersComplete: true,
    kubeConfig,
    start() {
      void resolver.start();
      void pools.start();
      void envoyFilters.start();
    },
    stop() {
      resolver.stop();
      void pools.stop();
      void envoyFilters.stop();
    },
  };
}

/** `epp-webhook serve`: runs until SIGTERM/SIGINT; resolves with the exit code. */
export async function runServeCommand(argv: string[], io: CommandIo): Promise<number> {
  let flags: ServeFlags;
  try {
    const parsed = parseServeFlags(argv);
    if (parsed === 'help') {
      io.stdout.write(USAGE);
      return 0;
    }
    flags = parsed;
  } catch (error) {
    io.stderr.write(usageErrorText('serve', (error as Error).message));
    return 2;
  }

  let server: RunningWebhookServer | undefined;
  let resolverHandle: ClusterSources;
  let reconciler: RunningReconciler | undefined;
  try {
    const config = loadConfig(flags.config);
    resolverHandle = await createResolver(
      flags,
      (event) => logInformerEvent(server, event),
      (event, cache, what) => logListWatchEvent(server, event, cache, what),
      flags.reconcile === undefined ? undefined : (change) => reconciler?.onServiceChange(change),
      flags.reconcile === undefined ? undefined : (change) => reconciler?.onPoolChange(change),
    );
    let { certFile, keyFile } = flags;
    if (certFile === undefined || keyFile === undefined) {
      const dev = ensureDevCertificates(flags.certsDir);
      io.stderr.write(`epp-webhook serve: ${dev.issued ? 'issued' : 'using'} dev certificates in ${flags.certsDir}/ (CA: ${dev.caCertFile}; serving certificate valid until ${dev.notAfter.toISOString()})\n`);
      certFile = dev.certFile;
      keyFile = dev.keyFile;
    }
    server = await startWebhookServer({
      config,
      resolver: resolverHandle.resolver,
      pools: resolverHandle.pools,
      envoyFilters: resolverHandle.envoyFilters,
      envoyFiltersComplete: resolverHandle.envoyFiltersComplete,
      certFile,
      keyFile,
      host: flags.host,
      port: flags.port,
      metricsPort: flags.metricsPort,
      logger: serverLogOptions(flags.logLevel),
      clientCaFile: flags.clientCa,
      clientCommonNames: flags.clientCommonNames,
    });
    resolverHandle.start();
    if (flags.reconcile !== undefined) {
      // client-node is large: load the reconciler only when asked for.
      const { startReconciler } = await import('../reconcile/start-reconciler.ts');
      // --reconcile refuses --services: the Services come from a cluster, through this kubeConfig.
      reconciler = startReconciler({ kubeConfig: resolverHandle.kubeConfig!, config, resolver: resolverHandle.resolver, pools: resolverHandle.pools, registry: server.metrics.registry, log: server.app.log, ...flags.reconcile });
    }
    server.app.log.info(
      { url: `https://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`, metricsPort: server.metricsPort, services: resolverHandle.resolver.source },
      'epp-webhook serving',
    );
    if (flags.services !== undefined && resolverHandle.resolver.size() === 0) {
      server.app.log.warn({ services: flags.services.join(', ') }, `the --services ${flags.services.length === 1 ? 'file holds' : 'files hold'} no Service: every placeholder is denied (EPP101, or EPP110 for a pool's); give it a Service table (kubectl get svc -A -o yaml)`);
    }
  } catch (error) {
    const known =
      error instanceof ConfigError ||
      error instanceof UsageError ||
      error instanceof ServicesFileError ||
      error instanceof TlsFilesError ||
      error instanceof ClientCaError ||
      error instanceof KubeConfigError ||
      (error as NodeJS.ErrnoException).code !== undefined;
    io.stderr.write(`epp-webhook serve: ${known ? (error as Error).message : (error as Error).stack}\n`);
    await server?.close();
    // As check and render answer a config, Services file or kubeconfig they cannot use: 2; 1 for what failed on the way.
    return error instanceof UsageError || error instanceof ConfigError || error instanceof ServicesFileError || error instanceof KubeConfigError ? 2 : 1;
  }

  const running = server;
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      running.app.log.info({ signal }, 'shutting down: finishing in-flight admissions');
      process.off('SIGTERM', onTerm).off('SIGINT', onInt);
      resolverHandle.stop();
      // The reconciler steps down and releases its Lease, so another replica takes over without waiting for expiry.
      Promise.all([reconciler?.stop(), running.close()]).then(
        () => resolve(0),
        (error: Error) => {
          io.stderr.write(`epp-webhook serve: shutdown failed: ${error.message}\n`);
          resolve(1);
        },
      );
    };
    const onTerm = () => shutdown('SIGTERM');
    const onInt = () => shutdown('SIGINT');
    process.on('SIGTERM', onTerm).on('SIGINT', onInt);
  });
}

function reconcileSettings(values: { services?: string[]; 'leader-election-namespace'?: string; 'leader-election-identity'?: string }): { leaseNamespace: string; identity: string } {
  if (values.services !== undefined) throw new UsageError('--reconcile patches EnvoyFilters in a cluster: it needs --kubeconfig or in-cluster credentials, not --services');
  const namespace = leaseNamespace(values['leader-election-namespace']);
  if (namespace === undefined) throw new UsageError('--reconcile needs a namespace for its Lease: pass --leader-election-namespace NS or set POD_NAMESPACE');
  return { leaseNamespace: namespace, identity: leaderElectionIdentity(values['leader-election-identity']) };
}

function logInformerEvent(server: RunningWebhookServer | undefined, event: InformerEvent): void {
  if (server === undefined) return;
  server.metrics.listWatch.observe('Services', 'Services', event);
  const log = server.app.log;
  switch (event.type) {
    case 'synced':
      log.info({ services: event.services, initial: event.initial }, 'Service cache synced');
      break;
    case 'watch-restart':
      server.metrics.watchRestarts.inc({ cause: event.cause });
      log.debug({ cause: event.cause, reason: event.reason }, 'Service watch restarted');
      break;
    case 'relist':
      server.metrics.watchRestarts.inc({ cause: 'gone' });
      log.info({ reason: event.reason }, 'Service cache relisting');
      break;
    case 'error':
      log.warn({ reason: event.error.message, retryInMs: event.retryInMs }, 'Service list/watch failed; retrying');
      break;
  }
}

function logListWatchEvent(server: RunningWebhookServer | undefined, event: ResourceListWatchEvent, cache: CacheName, what: string): void {
  if (server === undefined) return;
  server.metrics.listWatch.observe(cache, what, event);
  const log = server.app.log;
  switch (event.type) {
    case 'synced':
      log.info({ what, items: event.items, initial: event.initial }, 'cache synced');
      break;
    case 'watch-restart':
      log.debug({ what, reason: event.reason }, 'watch restarted');
      break;
    case 'relist':
      log.info({ what, reason: event.reason }, 'cache relisting');
      break;
    case 'error':
      log.warn({ what, reason: event.error.message, retryInMs: event.retryInMs }, 'list/watch failed; retrying');
      break;
  }
}
