/**
 * The soak's server: the real webhook server (static Service table), in its own process, sampling itself once a
 * second and reporting over IPC: RSS and heap, event-loop utilization and delay (monitorEventLoopDelay), and the
 * active handles by type. `{cmd: 'checkpoint'}` forces a GC first (started with --expose-gc) for comparable figures.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { writeServingBundle } from '../../../src/certs/serving-bundle.ts';
import { loadServicesFile } from '../../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import { startWebhookServer } from '../../../src/server/webhook-server.ts';

export interface Sample {
  at: number;
  checkpoint?: string;
  rssMB: number;
  heapUsedMB: number;
  externalMB: number;
  eventLoopUtilization: number;
  delayP50Ms: number;
  delayP99Ms: number;
  delayMaxMs: number;
  handles: Record<string, number>;
  handleCount: number;
}

const services = new URL('../../fixtures/manifests/services.yaml', import.meta.url).pathname;
const bundle = writeServingBundle(mkdtempSync(join(tmpdir(), 'epp-webhook-soak-')), { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
const server = await startWebhookServer({
  config: DEFAULT_CONFIG,
  resolver: loadServicesFile(services),
  certFile: bundle.certFile,
  keyFile: bundle.keyFile,
  host: '127.0.0.1',
  port: 0,
  metricsPort: 0,
  logger: false,
});

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let lastElu = performance.eventLoopUtilization();
const started = performance.now();
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const ms = (ns: number) => Math.round((ns / 1e6) * 100) / 100;

function sample(checkpoint?: string): Sample {
  const memory = process.memoryUsage();
  const elu = performance.eventLoopUtilization(lastElu);
  lastElu = performance.eventLoopUtilization();
  const handles: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) handles[type] = (handles[type] ?? 0) + 1;
  const result: Sample = {
    at: Math.round(performance.now() - started),
    ...(checkpoint ? { checkpoint } : {}),
    rssMB: mb(memory.rss),
    heapUsedMB: mb(memory.heapUsed),
    externalMB: mb(memory.external),
    eventLoopUtilization: Math.round(elu.utilization * 1000) / 1000,
    delayP50Ms: ms(delay.percentile(50)),
    delayP99Ms: ms(delay.percentile(99)),
    delayMaxMs: ms(delay.max),
    handles,
    handleCount: Object.values(handles).reduce((a, b) => a + b, 0),
  };
  delay.reset();
  return result;
}

const timer = setInterval(() => process.send!({ sample: sample() }), 1000);
process.on('message', (message: { cmd: string; name?: string }) => {
  if (message.cmd === 'checkpoint') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send!({ checkpoint: sample(message.name) });
  } else if (message.cmd === 'stop') {
    clearInterval(timer);
    delay.disable();
    void server.close().then(() => process.exit(0));
  }
});
process.send!({ ready: { port: server.port, metricsPort: server.metricsPort } });
