/**
 * Where a request's time goes on the clock, kernel included: the floor and the webhook (bench/http/server-child.ts)
 * each take the same closed-loop load of one case's body while Linux `perf record -e cpu-clock` samples the server
 * process, every thread, user and kernel alike. Samples are divided by the requests answered meanwhile, so each
 * figure is microseconds per request. Callgrind (server-instructions.ts) counts user-space instructions only, and
 * V8's --cpu-prof sees no kernel and interrupts the code it times; this one sees what the machine charges a request.
 *   node bench/clock-profile.ts [--case=mutate-envoyfilter] [--duration=8] [--warmup=4] [--connections=24] [--top=25]
 * Needs `perf` (Debian's linux-perf) and a kernel that lets it sample (perf_event_paranoid <= 1, or root).
 */
import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchCertificates, checkOnce, load, startServerChild } from './http/bench-http.ts';
import { benchCase, type WebhookCaseId } from './http/cases.ts';
import { JIT_NAMING_FLAGS, perfMapPath } from './lib/callgrind.ts';
import { haltPolling, loadAverage, progress, table } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'mutate-envoyfilter' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '4' },
    connections: { type: 'string', default: '24' },
    top: { type: 'string', default: '25' },
    'log-level': { type: 'string', default: 'info' },
  },
});
const caseId = values.case as WebhookCaseId;
const FREQUENCY = 4999;
try {
  execFileSync('perf', ['--version'], { stdio: 'ignore' });
} catch {
  throw new Error('clock-profile needs perf on the PATH (Debian: apt-get install linux-perf)');
}

/** Microseconds per request, by the key perf sorted on (a shared object, a thread or a symbol). */
type PerRequest = Map<string, number>;
interface Profile {
  answered: number;
  byPart: PerRequest;
  byThread: PerRequest;
  bySymbol: PerRequest;
}

const { dir: work, ca } = benchCertificates('clock-profile');
const profiles = new Map<'floor' | 'webhook', Profile>();
try {
  for (const server of ['floor', 'webhook'] as const) {
    const measured = benchCase(server === 'floor' ? `floor/${caseId}` : caseId);
    const child = await startServerChild(server, work, { cpuProfDir: undefined, logLevel: values['log-level'], nodeFlags: JIT_NAMING_FLAGS });
    try {
      const settings = { connections: Number(values.connections), duration: Number(values.warmup) };
      await checkOnce(child.port, ca, measured);
      await load(child.port, measured, settings);
      const data = join(work, `${server}.data`);
      const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', String(FREQUENCY), '-o', data, '-p', String(child.child.pid), '--', 'sleep', values.duration], { stdio: ['ignore', 'ignore', 'pipe'] });
      let perfErrors = '';
      perf.stderr.on('data', (chunk) => (perfErrors += chunk));
      const exited = new Promise<number | null>((resolve) => perf.once('exit', resolve));
      const run = await load(child.port, measured, { ...settings, duration: Number(values.duration) });
      if ((await exited) !== 0) throw new Error(`perf record failed: ${perfErrors.trim()}`);
      const perRequest = (sort: string) => samplesBy(data, sort, run.answered);
      profiles.set(server, { answered: run.answered, byPart: perRequest('dso'), byThread: perRequest('comm'), bySymbol: perRequest('sym') });
      progress(`${server}: ${run.answered} requests sampled (${Math.round(run.rps)} req/s)`);
    } finally {
      await child.stop();
      rmSync(perfMapPath(child.child.pid!), { force: true });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** perf report's self samples per key, as µs per request. JIT code is one part, whichever thread perf named it by. */
function samplesBy(data: string, sort: string, requests: number): PerRequest {
  const report = execFileSync('perf', ['report', '-i', data, '--no-children', '--sort', sort, '--stdio', '-n', '-g', 'none', '--percent-limit', '0'], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  const result: PerRequest = new Map();
  for (const line of report.split('\n')) {
    const match = /^\s+[\d.]+%\s+(\d+)\s+(.*\S)\s*$/.exec(line);
    if (match === null) continue;
    const key = match[2].replace(/^\[JIT\] tid \d+$/, '[JIT] (V8 compiled JavaScript)');
    result.set(key, (result.get(key) ?? 0) + (Number(match[1]) / FREQUENCY / requests) * 1e6);
  }
  return result;
}

function comparison(pick: (p: Profile) => PerRequest, limit: number): (string | number)[][] {
  const floor = pick(profiles.get('floor')!);
  const webhook = pick(profiles.get('webhook')!);
  const rows = [...new Set([...floor.keys(), ...webhook.keys()])].map((key) => ({ key, floor: floor.get(key) ?? 0, webhook: webhook.get(key) ?? 0 }));
  rows.sort((a, b) => b.webhook - b.floor - (a.webhook - a.floor));
  const total = (m: PerRequest) => [...m.values()].reduce((a, b) => a + b, 0);
  return [
    ['all', total(floor).toFixed(1), total(webhook).toFixed(1), (total(webhook) - total(floor)).toFixed(1)],
    ...rows.slice(0, limit).map((r) => [r.key.length > 110 ? `${r.key.slice(0, 107)}...` : r.key, r.floor.toFixed(2), r.webhook.toFixed(2), (r.webhook - r.floor).toFixed(2)]),
  ];
}

const header = (what: string) => [what, 'floor µs/req', 'webhook µs/req', 'webhook − floor'];
console.log(`### Clock profile: \`${caseId}\`, ${values.duration} s of ${values.connections}-connection closed loop per server (load ${loadAverage()}; ${haltPolling()})`);
console.log('');
console.log('By part of the process (`[kernel.kallsyms]` is the kernel working for it: system calls, TCP, waking the client):');
console.log('');
console.log(table(header('part'), comparison((p) => p.byPart, 12)));
console.log('');
console.log('By thread:');
console.log('');
console.log(table(header('thread'), comparison((p) => p.byThread, 6)));
console.log('');
console.log(`The ${values.top} functions whose self time grows most (\`[k]\` kernel, \`[.]\` user space; JS: names from V8's perf map):`);
console.log('');
console.log(table(header('function'), comparison((p) => p.bySymbol, Number(values.top))));
