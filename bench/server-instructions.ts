/**
 * Instructions per request of the whole server process (TLS, HTTP, body parser, the webhook's handler, its log line
 * and metrics, the answer), counted by valgrind (callgrind) for the floor, the webhook and the ceiling of each HTTP
 * case (bench/http/server-child.ts, the processes `npm run bench -- --only=http --ceiling` times). The closed-loop
 * throughput ratio the bench times is, on a machine with the server's core to itself, about floor ÷ webhook of the
 * server's CPU per request; this counts it without the machine's noise (the same code timed 33% and 47% of the floor
 * ten minutes apart), so a change to the shell around the core shows as what it is.
 * Each server answers N1, then in a fresh process N2, requests of the case's body from autocannon (8 connections,
 * keep-alive, TLS) running outside valgrind; (count(N2) − count(N1)) / (N2 − N1) is one warm request, start-up,
 * handshakes and warm-up cancelled. The count moves by a few percent between runs of the same tree (JIT and GC
 * decisions): repeat before trusting a smaller change. Instructions are not time (a cache miss costs more than an add).
 * Nor is the count's garbage collection the server's: V8's heap heuristics read the clock (allocation per
 * millisecond, timers), and under valgrind the process runs some fifty times slower on it. The webhook scavenged 47
 * times in 2,000 `/validate` requests under callgrind against 40 in 6,000 natively; and its count at 3,000/9,000
 * carries about 65k instructions per request of a major collection's marking (the ceiling's: under 1k), where a
 * native run of 6,000 requests made none (`--trace-gc`; round 36 of docs/performance.md).
 * --out-dir keeps callgrind's files (callgrind_annotate names the C++ and builtin functions; V8's JIT code stays unnamed).
 * --by-function=N also names the JIT code (V8's perf map, lib/callgrind-functions.ts) and prints, per case, the N
 * functions whose instructions per request differ most between the floor and each other server: where the extra work
 * is, counted rather than sampled (the CPU profiler of profile-diff.ts charges small functions several times their share).
 *   node bench/server-instructions.ts [--cases=a,b] [--servers=floor,webhook,ceiling] [--n1=1000] [--n2=3000] [--log-level=info] [--out-dir=DIR] [--by-function=N]
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { servingBundlePaths, writeServingBundle } from '../src/certs/serving-bundle.ts';
import { checkOnce } from './http/bench-http.ts';
import { benchCases, type BenchCase } from './http/cases.ts';
import { callgrindNodeArgs, JIT_NAMING_FLAGS } from './lib/callgrind.ts';
import { countedRun, functionsTable, perUnit, type CountedRun } from './lib/callgrind-functions.ts';
import { loadAverage, table } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string' },
    servers: { type: 'string', default: 'floor,webhook,ceiling' },
    n1: { type: 'string', default: '1000' },
    n2: { type: 'string', default: '3000' },
    'log-level': { type: 'string', default: 'info' },
    'out-dir': { type: 'string' },
    'by-function': { type: 'string' },
  },
});
const byFunction = values['by-function'] === undefined ? undefined : Number(values['by-function']);
const [n1, n2] = [Number(values.n1), Number(values.n2)];
if (!(n2 > n1 && n1 > 0)) throw new Error('--n2 must be larger than --n1, both positive');
const servers = values.servers.split(',') as Array<'floor' | 'webhook' | 'ceiling'>;
const SERVER_CHILD = new URL('./http/server-child.ts', import.meta.url).pathname;
const certDir = mkdtempSync(join(tmpdir(), 'epp-webhook-server-instructions-'));
const outDir = values['out-dir'] ?? (byFunction === undefined ? undefined : join(certDir, 'callgrind'));
if (outDir !== undefined) mkdirSync(outDir, { recursive: true });
writeServingBundle(certDir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
const ca = readFileSync(servingBundlePaths(certDir).caCertFile, 'utf8');

/** Instructions the server process executed, from start to exit, answering `requests` requests of the case. */
async function countServer(kind: 'floor' | 'webhook' | 'ceiling', benchCase: BenchCase, requests: number): Promise<CountedRun> {
  const outFile = outDir === undefined ? undefined : join(outDir, `${kind}-${benchCase.id.replace('/', '_')}-${requests}.callgrind`);
  const child = fork(SERVER_CHILD, [kind, certDir, values['log-level']], {
    execPath: 'valgrind',
    execArgv: [...callgrindNodeArgs(outFile), ...(byFunction === undefined ? [] : JIT_NAMING_FLAGS)],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code} before listening:\n${stderr.slice(-2000)}`)));
  });
  await checkOnce(port, ca, benchCase);
  const result = await autocannon({
    url: `https://127.0.0.1:${port}${benchCase.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: benchCase.body,
    connections: 8,
    timeout: 120,
    // A number of requests instead of a duration (autocannon's typings lack it): the count must not depend on speed.
    ...({ amount: requests - 1 } as object),
  });
  if (result.non2xx + result.errors + result.timeouts > 0) throw new Error(`${kind} ${benchCase.id}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  child.send({ type: 'stop' });
  await exited;
  return countedRun(stderr, `${kind} ${benchCase.id}`, byFunction === undefined || outFile === undefined ? undefined : { callgrindFile: outFile, pid: child.pid! });
}

const cases = benchCases().filter((c) => c.server === 'webhook' && (values.cases === undefined || values.cases.split(',').includes(c.id)));
const rows: string[][] = [];
const functionTables: string[] = [];
try {
  for (const benchCase of cases) {
    const perRequest = new Map<string, number>();
    const functionsPerRequest = new Map<string, Map<string, number>>();
    for (const kind of servers) {
      const twin = kind === 'webhook' ? benchCase : benchCases().find((c) => c.server === kind && (c.floorOf ?? c.ceilingOf) === benchCase.id)!;
      const [low, high] = [await countServer(kind, twin, n1), await countServer(kind, twin, n2)];
      perRequest.set(kind, (high.instructions - low.instructions) / (n2 - n1));
      if (low.functions && high.functions) functionsPerRequest.set(kind, perUnit(low.functions, high.functions, n1, n2));
      process.stderr.write(`${benchCase.id} ${kind}: ${Math.round(perRequest.get(kind)!)} instructions per request\n`);
    }
    const floor = perRequest.get('floor');
    for (const [kind, count] of perRequest) {
      rows.push([benchCase.id, kind, Math.round(count).toLocaleString('en-US'), floor === undefined ? '' : `${((floor / count) * 100).toFixed(1)}%`]);
    }
    if (byFunction !== undefined) {
      const baseline = functionsPerRequest.has('floor') ? 'floor' : undefined;
      functionTables.push(`${benchCase.id}: instructions per request by function (self; JIT code named by V8's perf map)\n\n${functionsTable(functionsPerRequest, byFunction, baseline)}`);
    }
  }
} finally {
  rmSync(certDir, { recursive: true, force: true });
}
process.stdout.write(`server instructions per request (valgrind callgrind, (count(${n2}) − count(${n1})) / ${n2 - n1}, node --single-threaded, autocannon 8 connections outside valgrind, log level ${values['log-level']}); load ${loadAverage()} (does not matter)\n\n`);
process.stdout.write(`${table(['case', 'server', 'instructions per request', 'floor ÷ this'], rows)}\n`);
for (const functionTable of functionTables) process.stdout.write(`\n${functionTable}\n`);

