import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

const running = new Set<ChildProcess>();

// Whatever ends the test process (a failed assertion, an uncaught error, Ctrl-C), no child survives it.
function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

export interface ManagedProcess {
  child: ChildProcess;
  logFile: string;
  /** True once the process has ended, by itself or by stop(). */
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function startProcess(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): ManagedProcess {
  // The child writes its log to the file itself, as under a container runtime: piped through this process, every
  // line would wait on this event loop (the bench's load generator, a test's own work) and slow the child down.
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', log, log], env });
  closeSync(log);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => (running.delete(child), resolve())));
  return {
    child,
    logFile,
    hasExited: () => child.exitCode !== null || child.signalCode !== null,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A port free right now on 127.0.0.1, released for a child to bind (see freePorts). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `count` distinct ports free right now, released for children to bind. They are drawn below the kernel's ephemeral
 * range: between the release and a child's bind, an outgoing connection of any process could take an ephemeral port
 * (etcd then exited at once), but never one below the range. Each listener stays open until all are picked, and no
 * port is handed out twice in one test process: one released a moment ago may not be bound yet.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  const [low, high] = UNEPHEMERAL_PORTS;
  try {
    for (let tries = 0; servers.length < count; tries++) {
      // Where the range leaves no room below it, or every try failed, the kernel picks (an ephemeral port).
      const port = high > low && tries < 50 * count ? low + Math.floor(Math.random() * (high - low)) : 0;
      const server = createServer();
      const bound = await new Promise<boolean>((resolve, reject) =>
        server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' && port !== 0 ? resolve(false) : reject(error))).listen(port, '127.0.0.1', () => resolve(true)),
      );
      if (!bound) continue;
      if (handedOut.has((server.address() as { port: number }).port)) server.close();
      else servers.push(server);
    }
    const ports = servers.map((server) => (server.address() as { port: number }).port);
    for (const port of ports) handedOut.add(port);
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

const handedOut = new Set<number>();

/** [first, end) of the ports below Linux's ephemeral range (net.ipv4.ip_local_port_range), from 20000 up. */
const UNEPHEMERAL_PORTS = ((): [number, number] => {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) ? [20_000, first] : [0, 0];
  } catch {
    return [0, 0];
  }
})();

/** Thrown by a waitFor probe to stop waiting at once (the process it waits on has died, say). */
export class GiveUp extends Error {}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}
