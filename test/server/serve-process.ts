/**
 * `epp-webhook serve` as its own process (the real CLI, real signals), for the tests that need a process:
 * SIGTERM under load, mTLS flags. Its stdout (pino JSON lines) is kept for assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { scratchDir } from '../helpers/scratch-dir.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  metricsPort: number | undefined;
  url: string;
  ca: Buffer;
  certDir: string;
  /** Every JSON log line so far. */
  logs(): Record<string, any>[];
  /** Resolves with the exit code (null if killed by a signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  kill(): void;
}

/** `nodeOptions`: flags for node itself, such as deploy/'s heap limits. */
export async function startServeProcess(options: { args?: string[]; certDir?: string; metrics?: boolean; nodeOptions?: string[] } = {}): Promise<ServeProcess> {
  const certDir = options.certDir ?? scratchDir('epp-webhook-serve-');
  const bundle = writeServingBundle(certDir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  const args = [
    ...(options.nodeOptions ?? []),
    MAIN,
    'serve',
    '--host=127.0.0.1',
    '--port=0',
    `--metrics-port=${options.metrics ? '0' : 'off'}`,
    `--tls-cert=${bundle.certFile}`,
    `--tls-key=${bundle.keyFile}`,
    `--services=${FIXTURES}manifests/services.yaml`,
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, any>[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  process.once('exit', () => child.kill('SIGKILL'));

  const deadline = Date.now() + 20_000;
  let serving: Record<string, any> | undefined;
  while ((serving = lines.find((l) => l.msg === 'epp-webhook serving')) === undefined) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`epp-webhook serve did not start: ${stderr}${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = Number(new URL(serving.url).port);
  return {
    child,
    port,
    metricsPort: serving.metricsPort,
    url: `https://127.0.0.1:${port}`,
    ca: readFileSync(bundle.caCertFile),
    certDir,
    logs: () => lines,
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}
