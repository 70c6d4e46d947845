import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import { benchCases, type BenchCase, type CaseId, type WebhookCaseId } from './cases.ts';
import { LatencyRecorder, mean, spread, type LatencySummary } from '../lib/stats.ts';
import { int, loadAverage, ms, pct, progress, table } from '../lib/report.ts';

export interface HttpOptions {
  /** Seconds of each measured closed-loop run and of each fixed-rate run. */
  duration: number;
  /** Seconds of load before each measured run, discarded (JIT, connection set-up). */
  warmup: number;
  connections: number;
  rate: number;
  rateConnections: number;
  rounds: number;
  /**
   * Each measured run is cut into this many slices per server, the floor and the case alternating (floor, case, case,
   * floor, ...): this machine's speed drifts by a third within a minute, and a floor measured ten seconds before its
   * case carried that drift into the ratio. Alternating slices put the same drift on both sides.
   */
  slices: number;
  logLevel: string;
  /** Directory for `--cpu-prof` profiles of the server children; undefined: no profiling. */
  cpuProfDir: string | undefined;
  only: WebhookCaseId[] | undefined;
  /** Also measure each case's ceiling (cases.ts) in the same slices: the share of the gap the rules themselves cost. */
  ceiling: boolean;
}

export interface RunResult {
  round: number;
  id: CaseId;
  mode: 'closed' | 'rate';
  rps: number;
  latency: LatencySummary;
  /** Server child CPU (user+system) per answered request, microseconds. */
  serverCpuUs: number;
  /** Microseconds per answered request inside admissions, by the webhook's own duration metric (0 for the floor). */
  admissionUs: number;
  errors: number;
  load: string;
}

export interface ServerChild {
  child: ChildProcess;
  port: number;
  /**
   * The child's CPU so far and the seconds it has spent inside admissions by its own account (the webhook's
   * epp_webhook_admission_duration_seconds, from a parsed AdmissionReview to its verdict; 0 for the floor; NaN from
   * a tree whose server child does not report it).
   */
  usage(): Promise<{ cpu: NodeJS.CpuUsage; admissionSeconds: number }>;
  /** Requests the floor has answered so far. */
  floorRequests(): Promise<number>;
  /** The floor's /mutate answers carry this base64 JSONPatch from now on (null: none). */
  setCannedPatch(patch: string | null): Promise<void>;
  /** The floor does this many microseconds of busy work per request from now on (0: none). */
  setWork(us: number): Promise<void>;
  stop(): Promise<void>;
}

const SERVER_CHILD = new URL('./server-child.ts', import.meta.url).pathname;

/** `serverChild`: another tree's bench/http/server-child.ts (bench/ab-cpu.ts runs the code before a change beside it). */
/** `nodeFlags`: more flags for the child's node (bench/clock-profile.ts has V8 write its perf map). */
export async function startServerChild(kind: 'floor' | 'webhook' | 'ceiling', certDir: string, options: Pick<HttpOptions, 'cpuProfDir' | 'logLevel'> & { servicesFile?: string; serverChild?: string; nodeFlags?: string[] }): Promise<ServerChild> {
  const execArgv = [...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, `--cpu-prof-name=${kind}-${Date.now()}.cpuprofile`] : []), ...(options.nodeFlags ?? [])];
  // stdout to /dev/null: the webhook's info log line per admission is written, as in production, but not collected.
  const child = fork(options.serverChild ?? SERVER_CHILD, [kind, certDir, options.logLevel, ...(options.servicesFile ? [options.servicesFile] : [])], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`${kind} server child exited with ${code} before listening`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ask = () =>
    new Promise<{ usage: NodeJS.CpuUsage; floorRequests: number; admissionSeconds: number }>((resolve) => {
      const onMessage = (m: { type?: string; usage?: NodeJS.CpuUsage; floorRequests?: number; admissionSeconds?: number }) => {
        if (m.type !== 'cpu') return;
        child.off('message', onMessage);
        resolve({ usage: m.usage!, floorRequests: m.floorRequests ?? 0, admissionSeconds: m.admissionSeconds ?? NaN });
      };
      child.on('message', onMessage);
      child.send({ type: 'cpu' });
    });
  const tell = (message: object, done: string) =>
    new Promise<void>((resolve) => {
      const onMessage = (m: { type?: string }) => {
        if (m.type !== done) return;
        child.off('message', onMessage);
        resolve();
      };
      child.on('message', onMessage);
      child.send(message);
    });
  return {
    child,
    port,
    usage: async () => {
      const { usage, admissionSeconds } = await ask();
      return { cpu: usage, admissionSeconds };
    },
    floorRequests: async () => (await ask()).floorRequests,
    setCannedPatch: (patch) => tell({ type: 'patch', patch }, 'patch-set'),
    setWork: (us) => tell({ type: 'work', us }, 'work-set'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ type: 'stop' });
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One request with full certificate verification: the answer the load will get, checked before the load. */
export function checkOnce(port: number, ca: string, benchCase: BenchCase): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: benchCase.path, method: 'POST', ca, headers: { 'content-type': 'application/json' }, agent: false },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c)).on('end', () => {
          let problem: string | undefined;
          try {
            problem = res.statusCode === 200 ? benchCase.check(JSON.parse(text)) : `HTTP ${res.statusCode}: ${text}`;
          } catch (error) {
            problem = (error as Error).message;
          }
          if (problem) reject(new Error(`${benchCase.id}: ${problem}`));
          else resolve();
        });
      },
    );
    req.on('error', reject);
    req.end(benchCase.body);
  });
}

/** autocannon against one server with one case's body, over keep-alive TLS; `answered` counts the 200s. */
export async function load(
  port: number,
  benchCase: BenchCase,
  settings: { duration: number; connections: number; overallRate?: number },
  /** Records into this one (several slices of one measurement); by default a recorder of this run's own. */
  recorder = new LatencyRecorder(),
): Promise<{ rps: number; latency: LatencySummary; errors: number; answered: number; seconds: number }> {
  const before = recorder.count;
  const instance = autocannon({
    url: `https://127.0.0.1:${port}${benchCase.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: benchCase.body,
    connections: settings.connections,
    pipelining: 1,
    duration: settings.duration,
    ...(settings.overallRate ? { overallRate: settings.overallRate } : {}),
    // The load tool only: autocannon does not verify certificates (checkOnce did, against the CA).
    tlsOptions: { rejectUnauthorized: false },
  });
  // autocannon's own histogram holds whole milliseconds; the raw float response times resolve sub-millisecond answers.
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode === 200) recorder.record(responseTime);
  });
  const result = await instance;
  const errors = result.errors + result.timeouts + result.non2xx;
  const answered = recorder.count - before;
  return { rps: answered / result.duration, latency: recorder.summary(), errors, answered, seconds: result.duration };
}

/** A fresh directory with the servers' serving certificate (what server-child.ts reads) and the CA that verifies it. */
export function benchCertificates(prefix: string): { dir: string; ca: string } {
  const dir = mkdtempSync(join(tmpdir(), `epp-webhook-${prefix}-`));
  const bundle = writeServingBundle(dir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  return { dir, ca: readFileSync(bundle.caCertFile, 'utf8') };
}

export async function benchHttp(options: HttpOptions): Promise<RunResult[]> {
  const { dir: certDir, ca } = benchCertificates('bench');
  const cases = benchCases().filter(
    (c) => (options.ceiling || c.server !== 'ceiling') && (options.only === undefined || options.only.includes(c.floorOf ?? c.ceilingOf ?? (c.id as WebhookCaseId))),
  );
  const results: RunResult[] = [];
  let servers: Record<BenchCase['server'], ServerChild> | undefined;
  try {
    // Each webhook case with its floor (and ceiling): measured together, slice by slice.
    const groups = cases.filter((c) => c.server === 'webhook').map((webhookCase) => [cases.find((c) => c.floorOf === webhookCase.id)!, webhookCase, ...cases.filter((c) => c.ceilingOf === webhookCase.id)]);
    for (let round = 1; round <= options.rounds; round++) {
      // Fresh server processes every round: on this machine two processes of the same code, measured in the same
      // alternating slices, differed by up to a quarter in req/s, so a run kept one process per server for all its
      // rounds made every round draw the same lot. The mean over rounds is then a mean over processes too.
      servers = {
        floor: await startServerChild('floor', certDir, options),
        webhook: await startServerChild('webhook', certDir, options),
        ...(options.ceiling ? { ceiling: await startServerChild('ceiling', certDir, options) } : {}),
      } as Record<BenchCase['server'], ServerChild>;
      for (const benchCase of cases) await checkOnce(servers[benchCase.server].port, ca, benchCase);
      if (round === 1) progress(`HTTP: ${cases.length} cases checked over verified TLS; body sizes ${cases.map((c) => `${c.id} ${c.body.length} B`).join(', ')}`);
      for (const mode of ['closed', 'rate'] as const) {
        const settings = mode === 'closed' ? { duration: options.duration, connections: options.connections } : { duration: options.duration, connections: options.rateConnections, overallRate: options.rate };
        for (const pair of groups) {
          for (const benchCase of pair) if (options.warmup > 0) await load(servers[benchCase.server].port, benchCase, { ...settings, duration: options.warmup });
          const sides = pair.map(() => ({ recorder: new LatencyRecorder(), answered: 0, seconds: 0, cpuUs: 0, admissionSeconds: 0, errors: 0 }));
          const slice = { ...settings, duration: Math.max(1, Math.round(options.duration / options.slices)) };
          const forward = pair.map((_, side) => side);
          for (let i = 0; i < options.slices; i++) {
            // floor, case; case, floor; ... (with a ceiling: floor, case, ceiling; ceiling, case, floor): a drift over the run weighs on all alike.
            for (const side of i % 2 === 0 ? forward : [...forward].reverse()) {
              const server = servers[pair[side].server];
              const before = await server.usage();
              const run = await load(server.port, pair[side], slice, sides[side].recorder);
              const after = await server.usage();
              sides[side].answered += run.answered;
              sides[side].seconds += run.seconds;
              sides[side].errors += run.errors;
              sides[side].cpuUs += after.cpu.user - before.cpu.user + (after.cpu.system - before.cpu.system);
              sides[side].admissionSeconds += after.admissionSeconds - before.admissionSeconds;
            }
          }
          pair.forEach((benchCase, side) => {
            const measured = sides[side];
            const result: RunResult = {
              round,
              id: benchCase.id,
              mode,
              rps: measured.answered / measured.seconds,
              latency: measured.recorder.summary(),
              serverCpuUs: measured.cpuUs / Math.max(1, measured.answered),
              admissionUs: (measured.admissionSeconds * 1e6) / Math.max(1, measured.answered),
              errors: measured.errors,
              load: loadAverage(),
            };
            results.push(result);
            progress(`HTTP round ${round} ${mode} ${benchCase.id}: ${int(result.rps)} req/s, p99 ${ms(result.latency.p99)} ms, server ${result.serverCpuUs.toFixed(0)} µs CPU/req${result.errors ? `, ${result.errors} ERRORS` : ''}`);
          });
        }
      }
      await Promise.all(Object.values(servers).map((server) => server.stop()));
      servers = undefined;
    }
  } finally {
    if (servers !== undefined) await Promise.all(Object.values(servers).map((server) => server.stop()));
    rmSync(certDir, { recursive: true, force: true });
  }
  return results;
}

/** The tables the issue asks for: per round, then the mean over rounds with how far the rounds spread. */
export function formatHttp(results: RunResult[], options: HttpOptions): string {
  const out: string[] = [];
  const webhookIds = [...new Set(results.map((r) => r.id))].filter((id): id is WebhookCaseId => !id.startsWith('floor/') && !id.startsWith('ceiling/'));
  const rounds = [...new Set(results.map((r) => r.round))];
  const floorOf = (r: RunResult) => results.find((f) => f.id === `floor/${r.id.replace(/^ceiling\//, '')}` && f.round === r.round && f.mode === r.mode)!;
  const ceilingOf = (r: RunResult) => results.find((c) => c.id === `ceiling/${r.id}` && c.round === r.round && c.mode === r.mode);
  const isFloor = (r: RunResult) => r.id.startsWith('floor/');
  // Server CPU per request is what a busy shared machine disturbs least: the capacity ratio if the server had a core.
  const cpuRatio = (r: RunResult) => floorOf(r).serverCpuUs / r.serverCpuUs;

  out.push(`### Saturating closed loop: ${options.connections} connections, pipelining 1, ${options.duration} s per run (after ${options.warmup} s warm-up)`);
  out.push('');
  out.push(`Each webhook case is measured against its floor (\`floor/<case>\`: same body, same TLS, same JSON parsing, canned allow) in ${options.slices} alternating slices each (floor, case, case, floor, ...), so the machine's drift falls on both alike.`);
  if (options.ceiling) {
    out.push('');
    out.push("`ceiling/<case>` (--ceiling) is the webhook server answering the same body with the core's answer computed once: the same Fastify app, TLS, parser, review check, metrics, admission log line and answer (patch included), only the rules' own work taken away. It is measured in the same slices (floor, case, ceiling; ceiling, case, floor; ...).");
  }
  out.push('');
  out.push(
    table(
      ['case', 'round', 'req/s', 'vs floor', 'floor CPU / case CPU', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'server CPU µs/req', ADMISSION_COLUMN, 'errors', 'load avg (1, 5, 15 min)'],
      results
        .filter((r) => r.mode === 'closed')
        .map((r) => [r.id, r.round, int(r.rps), isFloor(r) ? '' : pct(r.rps / floorOf(r).rps), isFloor(r) ? '' : pct(cpuRatio(r)), ms(r.latency.p50), ms(r.latency.p99), ms(r.latency.p999), ms(r.latency.max), r.serverCpuUs.toFixed(0), admissionCell(r), r.errors, r.load]),
    ),
  );
  out.push('');
  out.push(`### Fixed rate: ${options.rate} req/s (autocannon overallRate) over ${options.rateConnections} connections, ${options.duration} s per run`);
  out.push('');
  out.push(
    table(
      ['case', 'round', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'p99 Δ vs floor ms', 'server CPU µs/req', ADMISSION_COLUMN, 'errors', 'load avg (1, 5, 15 min)'],
      results
        .filter((r) => r.mode === 'rate')
        .map((r) => [r.id, r.round, int(r.rps), ms(r.latency.p50), ms(r.latency.p99), ms(r.latency.p999), ms(r.latency.max), isFloor(r) ? '' : ms(r.latency.p99 - floorOf(r).latency.p99), r.serverCpuUs.toFixed(0), admissionCell(r), r.errors, r.load]),
    ),
  );
  out.push('');
  out.push(`### Summary over ${rounds.length} round(s) (mean; the rounds in parentheses)`);
  out.push('');
  const rows = webhookIds.map((id) => {
    const closed = results.filter((r) => r.id === id && r.mode === 'closed');
    const rate = results.filter((r) => r.id === id && r.mode === 'rate');
    const floorClosed = closed.map(floorOf);
    const floorRate = rate.map(floorOf);
    const ratios = closed.map((r) => r.rps / floorOf(r).rps);
    const cpuRatios = closed.map(cpuRatio);
    const deltas = rate.map((r) => r.latency.p99 - floorOf(r).latency.p99);
    const ceilingRatios = closed.flatMap((r) => {
      const ceiling = ceilingOf(r);
      return ceiling === undefined ? [] : [ceiling.rps / floorOf(r).rps];
    });
    return [
      id,
      `${int(mean(closed.map((r) => r.rps)))} / ${int(mean(floorClosed.map((r) => r.rps)))}`,
      `${pct(mean(ratios))} (${ratios.map(pct).join(', ')})`,
      ...(options.ceiling ? [`${pct(mean(ceilingRatios))} (${ceilingRatios.map(pct).join(', ')})`] : []),
      `${pct(mean(cpuRatios))} (${cpuRatios.map(pct).join(', ')})`,
      `${mean(closed.map((r) => r.serverCpuUs)).toFixed(0)} / ${mean(floorClosed.map((r) => r.serverCpuUs)).toFixed(0)}`,
      `${ms(mean(rate.map((r) => r.latency.p50)))} / ${ms(mean(floorRate.map((r) => r.latency.p50)))}`,
      `${ms(mean(rate.map((r) => r.latency.p99)))} / ${ms(mean(floorRate.map((r) => r.latency.p99)))}`,
      `${ms(mean(deltas))} (${deltas.map(ms).join(', ')})`,
      `${ms(mean(rate.map((r) => r.latency.p999)))} / ${ms(mean(floorRate.map((r) => r.latency.p999)))}`,
      `${spreadText(closed.map((r) => r.rps))}`,
    ];
  });
  out.push(
    table(
      ['case', 'req/s case / floor', 'throughput vs floor', ...(options.ceiling ? ['ceiling vs floor'] : []), 'floor CPU / case CPU', 'server CPU µs/req case / floor', `p50 ms @${options.rate} case / floor`, `p99 ms @${options.rate} case / floor`, 'p99 Δ vs floor ms', 'p99.9 ms case / floor', 'req/s spread'],
      rows,
    ),
  );
  return out.join('\n');
}

/** The rules inside the server, on the clock: what the webhook's epp_webhook_admission_duration_seconds says per request. */
const ADMISSION_COLUMN = 'admission µs/req (its own metric)';
const admissionCell = (r: RunResult): string => (r.id.startsWith('floor/') || !Number.isFinite(r.admissionUs) ? '' : r.admissionUs.toFixed(0));

function spreadText(values: number[]): string {
  return `±${pct(spread(values))}`;
}
