/**
 * How long a fresh server takes to reach the cost it keeps: each server (floor, webhook, ceiling) is started fresh and
 * takes the bench's fixed-rate load of one case in windows of --window seconds, the servers taking turns window by
 * window (a drift of the machine's speed falls on all alike), for --seconds of load each. Per window: the server's CPU
 * per answered request (process.cpuUsage(), which counts V8's compiler and collector threads too) and the p99, and
 * the medians of the first and the last third of the windows: what a fresh process costs against what it settles at.
 *   node bench/warm-up.ts [--case=validate-envoyfilter] [--seconds=60] [--window=4] [--rate=2000]
 *                         [--rate-connections=8] [--log-level=info]
 * Why it exists: `npm run bench` measures each fresh process after a few seconds of load (docs/performance.md, round
 * 37); this says whether those seconds are enough, and what a restarted webhook costs before they have passed.
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { benchCertificates, checkOnce, load, startServerChild, type ServerChild } from './http/bench-http.ts';
import { benchCase, type BenchCase, type WebhookCaseId } from './http/cases.ts';
import { haltPolling, loadAverage, ms, progress, table } from './lib/report.ts';
import { percentile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'validate-envoyfilter' },
    seconds: { type: 'string', default: '60' },
    window: { type: 'string', default: '4' },
    rate: { type: 'string', default: '2000' },
    'rate-connections': { type: 'string', default: '8' },
    'log-level': { type: 'string', default: 'info' },
  },
});
const windowSeconds = Number(values.window);
const windows = Math.max(3, Math.round(Number(values.seconds) / windowSeconds));
const webhookCase = benchCase(values.case as WebhookCaseId, '--case');
const pair: BenchCase[] = [benchCase(`floor/${webhookCase.id}`), webhookCase, benchCase(`ceiling/${webhookCase.id}`)];
const settings = { duration: windowSeconds, connections: Number(values['rate-connections']), overallRate: Number(values.rate) };

interface Window {
  cpuUs: number;
  p99: number;
}

/** The median of one third of the windows (0: the first third, 2: the last). */
function thirdMedian(values: readonly number[], third: 0 | 2): number {
  const size = Math.max(1, Math.floor(values.length / 3));
  const part = third === 0 ? values.slice(0, size) : values.slice(values.length - size);
  return percentile(part.toSorted((a, b) => a - b), 0.5);
}

const startLoad = loadAverage();
const { dir: certDir, ca } = benchCertificates('warm-up');
const servers: ServerChild[] = [];
const measured: Window[][] = pair.map(() => []);
try {
  for (const benchCase of pair) {
    const server = await startServerChild(benchCase.server, certDir, { cpuProfDir: undefined, logLevel: values['log-level'] });
    servers.push(server);
    await checkOnce(server.port, ca, benchCase);
  }
  for (let i = 0; i < windows; i++) {
    // floor, webhook, ceiling; ceiling, webhook, floor; ...
    const order = i % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
    for (const side of order) {
      const { cpu: before } = await servers[side].usage();
      const run = await load(servers[side].port, pair[side], settings);
      const { cpu: after } = await servers[side].usage();
      const cpuUs = (after.user - before.user + after.system - before.system) / Math.max(1, run.answered);
      measured[side].push({ cpuUs, p99: run.latency.p99 });
    }
    progress(`warm-up window ${i + 1}/${windows}: ${pair.map((c, side) => `${c.server} ${measured[side][i].cpuUs.toFixed(0)} µs, p99 ${ms(measured[side][i].p99)} ms`).join('; ')}`);
  }
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  rmSync(certDir, { recursive: true, force: true });
}

const names = pair.map((c) => c.server);
console.log(`\n## Warm-up: ${webhookCase.id} at ${settings.overallRate} req/s over ${settings.connections} connections, fresh processes, ${windows} windows of ${windowSeconds} s each, the servers taking turns`);
console.log(`load at start ${startLoad}, at end ${loadAverage()}; ${haltPolling()}\n`);
console.log(
  table(
    ['seconds of load', ...names.flatMap((n) => [`${n} µs CPU/req`, `${n} p99 ms`])],
    measured[0].map((_, i) => [`${i * windowSeconds}-${(i + 1) * windowSeconds}`, ...measured.flatMap((side) => [side[i].cpuUs.toFixed(0), ms(side[i].p99)])]),
  ),
);
console.log();
console.log(
  table(
    ['server', 'first window µs CPU/req', 'first third µs (median)', 'last third µs (median)', 'first third / last third', 'p99 ms first third / last third (medians)'],
    measured.map((side, s) => {
      const cpu = side.map((w) => w.cpuUs);
      const p99 = side.map((w) => w.p99);
      return [names[s], cpu[0].toFixed(0), thirdMedian(cpu, 0).toFixed(0), thirdMedian(cpu, 2).toFixed(0), (thirdMedian(cpu, 0) / thirdMedian(cpu, 2)).toFixed(2), `${ms(thirdMedian(p99, 0))} / ${ms(thirdMedian(p99, 2))}`];
    }),
  ),
);
