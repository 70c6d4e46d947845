import { createServer, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ServiceResolver } from '../cluster/service-resolver.ts';
import type { WebhookConfig } from '../config.ts';
import { buildApp } from './app.ts';
import { createMetrics, type WebhookMetrics } from './metrics.ts';
import { watchTlsFiles, type TlsFilesWatcher } from './tls-files.ts';

export interface WebhookServerOptions {
  config: WebhookConfig;
  resolver: ServiceResolver;
  certFile: string;
  keyFile: string;
  host: string;
  port: number;
  /** Plain HTTP /metrics; undefined: no metrics listener. */
  metricsPort: number | undefined;
  logger: FastifyBaseLogger | boolean | object;
  tlsPollIntervalMs?: number;
}

export interface RunningWebhookServer {
  app: FastifyInstance;
  metrics: WebhookMetrics;
  port: number;
  metricsPort: number | undefined;
  /** Stops accepting, lets in-flight admissions finish, closes the metrics listener and the file watch. */
  close(): Promise<void>;
}

/** Wires the HTTPS app to its certificate files (hot reload), metrics and listeners. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningWebhookServer> {
  const metrics = createMetrics(options.resolver);
  let app: FastifyInstance | undefined;
  const tls: TlsFilesWatcher = watchTlsFiles({
    certFile: options.certFile,
    keyFile: options.keyFile,
    intervalMs: options.tlsPollIntervalMs,
    onChange(material) {
      (app?.server as HttpsServer | undefined)?.setSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' });
      metrics.certificateExpiry.set(material.notAfter.getTime() / 1000);
      app?.log.info({ certFile: options.certFile, notAfter: material.notAfter.toISOString() }, 'serving certificate reloaded');
    },
    onError(error) {
      app?.log.warn({ certFile: options.certFile, reason: error.message }, 'serving certificate files changed but are not a usable pair yet; still serving the previous one');
    },
  });
  const initial = tls.current();
  metrics.certificateExpiry.set(initial.notAfter.getTime() / 1000);
  app = buildApp({ config: options.config, resolver: options.resolver, metrics, tls: initial, logger: options.logger });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    tls.close();
    throw error;
  }
  const port = (app.server.address() as AddressInfo).port;

  let metricsServer: Server | undefined;
  if (options.metricsPort !== undefined) {
    metricsServer = createServer((request, response) => {
      if (request.method === 'GET' && request.url === '/metrics') {
        metrics.registry.metrics().then(
          (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
          () => response.writeHead(500).end('metrics collection failed\n'),
        );
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      metricsServer!.once('error', reject).listen(options.metricsPort, options.host, resolve);
    });
  }
  const metricsPort = metricsServer ? (metricsServer.address() as AddressInfo).port : undefined;
  const server = app;
  return {
    app: server,
    metrics,
    port,
    metricsPort,
    async close() {
      tls.close();
      await Promise.all([
        server.close(),
        metricsServer ? new Promise<void>((resolve) => metricsServer!.close(() => resolve())) : undefined,
      ]);
    },
  };
}
