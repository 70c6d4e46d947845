import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import type { ServiceResolver } from '../../src/cluster/service-resolver.ts';
import { DEFAULT_CONFIG, type WebhookConfig } from '../../src/config.ts';
import { startWebhookServer, type RunningWebhookServer, type WebhookServerOptions } from '../../src/server/webhook-server.ts';
import { fixtureResolver } from './fixtures.ts';
import { scratchDir } from './scratch-dir.ts';

export interface WebhookUnderTest {
  server: RunningWebhookServer;
  url: string;
  ca: Buffer;
  certDir: string;
}

/** The real server on loopback over real TLS, certificates from the project's own `certs` code. */
export async function startWebhookUnderTest(
  options: { config?: WebhookConfig; resolver?: ServiceResolver; tlsPollIntervalMs?: number } & Pick<WebhookServerOptions, 'pools' | 'envoyFilters' | 'envoyFiltersComplete' | 'requestTimeoutMs'> = {},
): Promise<WebhookUnderTest> {
  const certDir = scratchDir('epp-webhook-test-');
  const bundle = writeServingBundle(certDir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  const server = await startWebhookServer({
    config: options.config ?? DEFAULT_CONFIG,
    resolver: options.resolver ?? fixtureResolver(),
    pools: options.pools,
    envoyFilters: options.envoyFilters,
    envoyFiltersComplete: options.envoyFiltersComplete,
    certFile: bundle.certFile,
    keyFile: bundle.keyFile,
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    logger: false,
    tlsPollIntervalMs: options.tlsPollIntervalMs ?? 100,
    requestTimeoutMs: options.requestTimeoutMs,
  });
  return { server, url: `https://127.0.0.1:${server.port}`, ca: readFileSync(bundle.caCertFile), certDir };
}
