import { createServer, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { LogOptions } from './log-options.ts';
import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { InferencePoolResolver } from '../cluster/inference-pool.ts';
import type { ServiceResolver } from '../cluster/service-resolver.ts';
import type { WebhookConfig } from '../config.ts';
import { buildApp, REQUEST_TIMEOUT_MS, requestTimeLimits, type AppOptions } from './app.ts';
import { createMetrics, type WebhookMetrics } from './metrics.ts';
import { watchServingTls } from './serving-tls.ts';
import { probeAnswer } from './probes.ts';

export interface WebhookServerOptions {
  config: WebhookConfig;
  resolver: ServiceResolver;
  pools?: InferencePoolResolver;
  envoyFilters?: EnvoyFilterIndex;
  /** envoyFilters is the cluster's, all of it (serve's watch): EPP406 may say a name is missing. */
  envoyFiltersComplete?: boolean;
  certFile: string;
  keyFile: string;
  host: string;
  port: number;
  /** Plain HTTP /metrics; undefined: no metrics listener. */
  metricsPort: number | undefined;
  logger: LogOptions;
  tlsPollIntervalMs?: number;
  /** PEM CA file: clients (the apiserver) must present a certificate it signed, checked in the TLS handshake. */
  clientCaFile?: string;
  /** With clientCaFile: only these certificate common names are answered; others get 403. Empty: any CN. */
  clientCommonNames?: string[];
  /** How long close() waits for open connections before cutting them; default 10 s (deploy/ grants 25 s after preStop). */
  drainTimeoutMs?: number;
  /** See AppOptions.requestTimeoutMs. */
  requestTimeoutMs?: number;
  /** See AppOptions.admit: only the benchmark's ceiling server sets it. */
  admit?: AppOptions['admit'];
}

const DRAIN_TIMEOUT_MS = 10_000;

export interface RunningWebhookServer {
  app: FastifyInstance;
  metrics: WebhookMetrics;
  /** The address listened on: `host` as given, or 0.0.0.0 where `::` fell back to it (no IPv6). */
  host: string;
  port: number;
  metricsPort: number | undefined;
  /** Stops accepting, lets in-flight admissions finish, closes the metrics listener and the file watch. */
  close(): Promise<void>;
}

/** Wires the HTTPS app to its certificate files (hot reload), metrics and listeners. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningWebhookServer> {
  const metrics = createMetrics(options);
  let app: FastifyInstance | undefined;
  const tls = watchServingTls(
    { certFile: options.certFile, keyFile: options.keyFile, clientCaFile: options.clientCaFile, intervalMs: options.tlsPollIntervalMs },
    {
      pairReloaded(material) {
        metrics.certificateExpiry.set(material.notAfter.getTime() / 1000);
        app?.log.info({ certFile: options.certFile, notAfter: material.notAfter.toISOString() }, 'serving certificate reloaded');
      },
      pairRefused(error) {
        app?.log.warn({ certFile: options.certFile, reason: error.message }, 'serving certificate files changed but are not a usable pair yet; still serving the previous one');
      },
      clientCaReloaded(ca) {
        app?.log.info({ clientCaFile: options.clientCaFile, caSubjects: ca.subjects }, 'client CA reloaded');
      },
      clientCaRefused(error) {
        app?.log.warn({ clientCaFile: options.clientCaFile, reason: error.message }, 'client CA file changed but is not usable; still trusting the previous one');
      },
    },
  );
  const { notAfter, ...initial } = tls.current();
  metrics.certificateExpiry.set(notAfter.getTime() / 1000);
  try {
    app = buildApp({ config: options.config, resolver: options.resolver, pools: options.pools, envoyFilters: options.envoyFilters, envoyFiltersComplete: options.envoyFiltersComplete, metrics, tls: initial, logger: options.logger, requestTimeoutMs: options.requestTimeoutMs, admit: options.admit });
  } catch (error) {
    tls.close();
    throw error;
  }
  tls.attach(app.server as HttpsServer);
  const allowedNames = options.clientCommonNames ?? [];
  if (initial.clientCa !== undefined && allowedNames.length > 0) {
    // The handshake proved the certificate chains to the client CA; this says which of its holders may call.
    app.addHook('onRequest', async (request, reply) => {
      const commonName = (request.raw.socket as TLSSocket).getPeerCertificate().subject?.CN;
      if (typeof commonName === 'string' && allowedNames.includes(commonName)) return;
      request.log.info({ route: request.routeOptions.url ?? 'other', clientCN: commonName }, 'client certificate not allowed');
      await reply.code(403).send({ error: 'Forbidden', reason: 'the client certificate\'s common name is not allowed to call this webhook (--client-cn)' });
    });
  }
  let metricsServer: Server | undefined;
  let host: string;
  try {
    host = await listenHost(options.host, (host) => app!.listen({ host, port: options.port }));
    metricsServer = options.metricsPort === undefined ? undefined : await listenForMetrics({ ...options, host }, options.metricsPort, metrics);
  } catch (error) {
    tls.close();
    // The listen error is the one to report; a failure to close after it would only hide it.
    await app.close().catch(() => undefined);
    throw error;
  }
  const port = (app.server.address() as AddressInfo).port;
  const metricsPort = metricsServer ? (metricsServer.address() as AddressInfo).port : undefined;
  const server = app;
  return {
    app: server,
    metrics,
    host,
    port,
    metricsPort,
    async close() {
      tls.close();
      // In-flight admissions finish; a connection still open at the drain limit (a client that stalled mid-request)
      // is cut, so SIGTERM ends the process before the kubelet's SIGKILL would cut everything.
      const cut = setTimeout(() => {
        (server.server as HttpsServer).closeAllConnections();
        metricsServer?.closeAllConnections();
      }, options.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
      cut.unref();
      try {
        await Promise.all([
          server.close(),
          metricsServer ? new Promise<void>((resolve) => metricsServer!.close(() => resolve())) : undefined,
        ]);
      } finally {
        clearTimeout(cut);
      }
    },
  };
}

/** Every address, IPv6 and IPv4 (`serve`'s default): an IPv6-only cluster gives its pods no IPv4 address at all. */
export const ALL_ADDRESSES = '::';

/**
 * Listens on `host`; for ALL_ADDRESSES on a kernel without IPv6 (booted with ipv6.disable=1), on every IPv4 address
 * instead, as Node's own listen() does when given no host. Resolves with the host listened on.
 */
export async function listenHost(host: string, listen: (host: string) => Promise<unknown>): Promise<string> {
  try {
    await listen(host);
    return host;
  } catch (error) {
    if (host !== ALL_ADDRESSES || (error as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw error;
    await listen('0.0.0.0');
    return '0.0.0.0';
  }
}

/**
 * The plain-HTTP listener for /metrics and the kubelet's probes, with the webhook port's bounds: deploy/'s NetworkPolicy
 * opens it to every pod too, and without them 8,000 connections each sending half a request took the server from 130
 * to 210 MB of resident memory, held for Node's default 60 s.
 */
async function listenForMetrics(options: WebhookServerOptions, port: number, metrics: WebhookMetrics): Promise<Server> {
  const limits = requestTimeLimits(options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
  const metricsServer = createServer(limits, (request, response) => {
    // As the HTTPS port (Fastify) routes: by the path without its query, HEAD as GET (Node sends a HEAD answer no body).
    const path = request.url?.split('?', 1)[0];
    const readable = request.method === 'GET' || request.method === 'HEAD';
    // Probes live here too: with --client-ca the HTTPS port refuses the kubelet, which has no client certificate.
    if (readable && (path === '/healthz' || path === '/readyz')) {
      const answer = probeAnswer(path, options);
      response.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer.body));
    } else if (readable && path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => response.writeHead(500).end('metrics collection failed\n'),
      );
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET (or HEAD) /metrics, /healthz and /readyz here\n');
    }
  });
  metricsServer.maxConnections = options.config.maxConnections;
  // A plain connection that sends nothing starts no request, so the limits above never see it: idle that long, it goes.
  metricsServer.timeout = limits.headersTimeout;
  await new Promise<void>((resolve, reject) => {
    metricsServer.once('error', reject).listen(port, options.host, resolve);
  });
  return metricsServer;
}
