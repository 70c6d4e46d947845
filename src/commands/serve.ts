import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { ensureDevCertificates } from '../certs/serving-bundle.ts';
import type { InformerEvent } from '../cluster/informer-resolver.ts';
import type { ServiceResolver } from '../cluster/service-resolver.ts';
import { loadServicesFile } from '../cluster/static-resolver.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { startWebhookServer, type RunningWebhookServer } from '../server/webhook-server.ts';
import type { CommandIo } from './certs.ts';

const USAGE = `Usage: epp-webhook serve [options]

Serves the admission webhook over HTTPS: POST /mutate, POST /validate, GET /healthz, GET /readyz;
Prometheus metrics on a separate plain HTTP port.

Options:
  --port N            HTTPS port (default 8443)
  --host ADDR         address to listen on (default 0.0.0.0)
  --tls-cert FILE     serving certificate, PEM (reloaded when it changes on disk)
  --tls-key FILE      its private key, PEM
                      without both: dev certificates are issued into --certs-dir
  --certs-dir DIR     where dev certificates live (default certs)
  --config FILE       webhook config, YAML (see README "Configuration")
  --services FILE     answer Service lookups from this file (a List or multi-document YAML of Services)
  --kubeconfig FILE   watch Services through this kubeconfig (default: in-cluster, then KUBECONFIG)
  --metrics-port N    Prometheus /metrics port, plain HTTP (default 9090; "off" disables)
  --log-level LEVEL   fatal|error|warn|info|debug|trace (default info)
  --help              show this help
`;

interface ServeFlags {
  port: number;
  host: string;
  certFile: string | undefined;
  keyFile: string | undefined;
  certsDir: string;
  config: string | undefined;
  services: string | undefined;
  kubeconfig: string | undefined;
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
      host: { type: 'string', default: '0.0.0.0' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'certs-dir': { type: 'string', default: 'certs' },
      config: { type: 'string' },
      services: { type: 'string' },
      kubeconfig: { type: 'string' },
      'metrics-port': { type: 'string', default: '9090' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const port = portNumber(values.port, '--port');
  const metricsPort = values['metrics-port'] === 'off' ? undefined : portNumber(values['metrics-port'], '--metrics-port');
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: give both, or neither for dev certificates');
  }
  if (values.services !== undefined && values.kubeconfig !== undefined) {
    throw new UsageError('--services and --kubeconfig are alternatives: give one');
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(values['log-level'])) {
    throw new UsageError(`--log-level must be one of fatal, error, warn, info, debug, trace (got ${values['log-level']})`);
  }
  return {
    port,
    host: values.host,
    certFile: values['tls-cert'],
    keyFile: values['tls-key'],
    certsDir: values['certs-dir'],
    config: values.config,
    services: values.services,
    kubeconfig: values.kubeconfig,
    metricsPort,
    logLevel: values['log-level'],
  };
}

function portNumber(text: string, flag: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`${flag} must be a port number 0-65535 (got ${text})`);
  return port;
}

/** Chooses where Service lookups come from: a file, or a watch on the cluster's API. */
async function createResolver(flags: ServeFlags, onEvent: (event: InformerEvent) => void): Promise<{ resolver: ServiceResolver; start(): void; stop(): void }> {
  if (flags.services !== undefined) {
    const resolver = loadServicesFile(flags.services);
    return { resolver, start() {}, stop() {} };
  }
  const inCluster = process.env.KUBERNETES_SERVICE_HOST !== undefined;
  if (flags.kubeconfig === undefined && !inCluster && process.env.KUBECONFIG === undefined && !existsSync(`${process.env.HOME}/.kube/config`)) {
    throw new UsageError('no Service source: pass --services FILE (a Service table) or --kubeconfig FILE (watch a cluster), or run in a cluster');
  }
  // client-node is large: load it only when a cluster is the Service source.
  const { InformerServiceResolver } = await import('../cluster/informer-resolver.ts');
  const resolver = new InformerServiceResolver({ kubeconfig: flags.kubeconfig, onEvent });
  return {
    resolver,
    start() {
      void resolver.start();
    },
    stop() {
      resolver.stop();
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
    io.stderr.write(`epp-webhook serve: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }

  let server: RunningWebhookServer | undefined;
  let resolverHandle: Awaited<ReturnType<typeof createResolver>>;
  try {
    const config = loadConfig(flags.config);
    resolverHandle = await createResolver(flags, (event) => logInformerEvent(server, event));
    let { certFile, keyFile } = flags;
    if (certFile === undefined || keyFile === undefined) {
      const dev = ensureDevCertificates(flags.certsDir);
      io.stderr.write(`epp-webhook serve: ${dev.issued ? 'issued' : 'using'} dev certificates in ${flags.certsDir}/ (CA: ${dev.caCertFile}, valid until ${dev.notAfter.toISOString()})\n`);
      certFile = dev.certFile;
      keyFile = dev.keyFile;
    }
    server = await startWebhookServer({
      config,
      resolver: resolverHandle.resolver,
      certFile,
      keyFile,
      host: flags.host,
      port: flags.port,
      metricsPort: flags.metricsPort,
      logger: { level: flags.logLevel },
    });
    resolverHandle.start();
    server.app.log.info(
      { url: `https://${flags.host}:${server.port}`, metricsPort: server.metricsPort, services: resolverHandle.resolver.source },
      'epp-webhook serving',
    );
  } catch (error) {
    const known = error instanceof ConfigError || error instanceof UsageError || (error as NodeJS.ErrnoException).code !== undefined;
    io.stderr.write(`epp-webhook serve: ${known ? (error as Error).message : (error as Error).stack}\n`);
    await server?.close();
    return error instanceof UsageError ? 2 : 1;
  }

  const running = server;
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      running.app.log.info({ signal }, 'shutting down: finishing in-flight admissions');
      process.off('SIGTERM', onTerm).off('SIGINT', onInt);
      resolverHandle.stop();
      running.close().then(
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

function logInformerEvent(server: RunningWebhookServer | undefined, event: InformerEvent): void {
  if (server === undefined) return;
  const log = server.app.log;
  switch (event.type) {
    case 'synced':
      log.info({ services: event.services, initial: event.initial }, 'Service cache synced');
      break;
    case 'watch-restart':
      server.metrics.watchRestarts.inc();
      log.debug({ reason: event.reason }, 'Service watch restarted');
      break;
    case 'relist':
      server.metrics.watchRestarts.inc();
      log.info({ reason: event.reason }, 'Service cache relisting');
      break;
    case 'error':
      log.warn({ reason: event.error.message, retryInMs: event.retryInMs }, 'Service list/watch failed; retrying');
      break;
  }
}
