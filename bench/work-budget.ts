/**
 * A target in microseconds of work. The floor (bench/http/server-child.ts) answers one case's body with K µs of busy
 * work added to every request, for each K in --work, in the same alternating slices as the webhook and its ceiling
 * (the webhook with the core's answer computed once). Two figures follow, on this machine:
 *   - the budget: the K at which the floor falls to --target of its own closed-loop throughput (or, with --rate, at
 *     which its p99 at that fixed rate rises by --p99-ms), i.e. how much work per request, on top of a bare Fastify
 *     answer, the target leaves room for;
 *   - each server's equivalent work: the K at which the floor answers as many requests as that server does (with
 *     --rate: has the p99 that server has).
 * Both are read off the floor's own curve, measured in the same minutes, so a machine that is slow today moves the
 * curve and the servers together. Fresh processes every round (two processes of the same code can differ by a
 * quarter here).
 *   node bench/work-budget.ts [--case=mutate-envoyfilter] [--work=5,10,20,30,45,60,90] [--target=0.7] [--rounds=2]
 *                             [--slices=3] [--duration=2] [--warmup=3] [--connections=24] [--log-level=info]
 *                             [--rate=2000 [--p99-ms=2] [--rate-connections=8]]
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { benchCertificates, checkOnce, load, startServerChild, type ServerChild } from './http/bench-http.ts';
import { benchCase, type WebhookCaseId } from './http/cases.ts';
import { haltPolling, int, loadAverage, ms, pct, progress, table } from './lib/report.ts';
import { LatencyRecorder, mean } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'mutate-envoyfilter' },
    work: { type: 'string', default: '5,10,20,30,45,60,90' },
    target: { type: 'string', default: '0.7' },
    rounds: { type: 'string', default: '2' },
    slices: { type: 'string', default: '3' },
    duration: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '24' },
    rate: { type: 'string' },
    'p99-ms': { type: 'string', default: '2' },
    'rate-connections': { type: 'string', default: '8' },
    'log-level': { type: 'string', default: 'info' },
  },
});
const caseId = values.case as WebhookCaseId;
// Ascending: the floor's curve is read between neighbouring points.
const works = [...new Set(values.work.split(',').map(Number))].sort((a, b) => a - b);
if (works.some((w) => !(w > 0))) throw new Error('--work: positive microseconds, comma-separated');
const target = Number(values.target);
const rate = values.rate === undefined ? undefined : Number(values.rate);
if (rate !== undefined && !(rate > 0)) throw new Error('--rate: requests per second, positive');
const p99Allowance = Number(values['p99-ms']);
const settings = rate === undefined ? { duration: Number(values.duration), connections: Number(values.connections) } : { duration: Number(values.duration), connections: Number(values['rate-connections']), overallRate: rate };
const cases = { floor: benchCase(`floor/${caseId}`), webhook: benchCase(caseId), ceiling: benchCase(`ceiling/${caseId}`) };

/** One measured server setting: the floor with `work` µs added, or the webhook or its ceiling. */
interface Entry {
  label: string;
  server: keyof typeof cases;
  work: number;
}
const SERVERS = ['floor', 'webhook', 'ceiling'] as const;
const entries: Entry[] = [
  ...[0, ...works].map((work): Entry => ({ label: work === 0 ? 'floor' : `floor + ${work} µs`, server: 'floor', work })),
  { label: 'webhook', server: 'webhook', work: 0 },
  { label: 'ceiling', server: 'ceiling', work: 0 },
];

interface Measured {
  answered: number;
  seconds: number;
  cpuUs: number;
  /** Every answer's latency over the round's slices (read with --rate). */
  latencies: LatencyRecorder;
}

const rps = (m: Measured) => m.answered / m.seconds;
const p99 = (m: Measured) => m.latencies.summary().p99;

const { dir: work, ca } = benchCertificates('work-budget');
const perRound: Measured[][] = [];
progress(`work budget: ${caseId}, ${rate === undefined ? 'closed loop' : `${rate} req/s`}, ${values.rounds} round(s) of ${values.slices} slices of ${values.duration} s per setting; machine: ${haltPolling()}`);
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    const servers = {} as Record<Entry['server'], ServerChild>;
    try {
      for (const server of SERVERS) {
        servers[server] = await startServerChild(server, work, { cpuProfDir: undefined, logLevel: values['log-level'] });
        await checkOnce(servers[server].port, ca, cases[server]);
        await load(servers[server].port, cases[server], { ...settings, duration: Number(values.warmup) });
      }
      const measured = entries.map((): Measured => ({ answered: 0, seconds: 0, cpuUs: 0, latencies: new LatencyRecorder() }));
      for (let slice = 0; slice < Number(values.slices); slice++) {
        // Forward, then backward: a drift during the round weighs on every setting alike.
        const order = slice % 2 === 0 ? entries.map((_, i) => i) : entries.map((_, i) => entries.length - 1 - i);
        for (const i of order) {
          const entry = entries[i];
          const server = servers[entry.server];
          if (entry.server === 'floor') await server.setWork(entry.work);
          const { cpu: before } = await server.usage();
          const run = await load(server.port, cases[entry.server], settings, measured[i].latencies);
          const { cpu: after } = await server.usage();
          measured[i].answered += run.answered;
          measured[i].seconds += run.seconds;
          measured[i].cpuUs += after.user - before.user + (after.system - before.system);
        }
      }
      perRound.push(measured);
      progress(`round ${round}: ${entries.map((e, i) => `${e.label} ${rate === undefined ? `${int(rps(measured[i]))} req/s` : `p99 ${ms(p99(measured[i]))} ms`}`).join(', ')}`);
    } finally {
      await Promise.all(Object.values(servers).map((server) => server.stop()));
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * What the budget reads off the floor's curve: closed-loop req/s, falling as work is added; or, with --rate, the p99
 * at that rate, rising. Both as a "goodness" that falls with work: the p99 enters negated.
 */
const goodness = (m: Measured) => (rate === undefined ? rps(m) : -p99(m));
/** The floor's curve in one round: (work µs, goodness), work ascending. */
const curve = (round: Measured[]) => entries.flatMap((e, i) => (e.server === 'floor' ? [{ work: e.work, value: goodness(round[i]) }] : []));
/** The work at which the curve first falls to `goal`, interpolated between measured points; undefined outside them. */
function workAt(points: { work: number; value: number }[], goal: number): number | undefined {
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    if (goal <= a.value && goal >= b.value) return a.value === b.value ? a.work : a.work + ((a.value - goal) / (a.value - b.value)) * (b.work - a.work);
  }
  return undefined;
}
const us = (values: (number | undefined)[]) => {
  const known = values.filter((x): x is number => x !== undefined);
  return known.length === 0 ? `outside 0-${works.at(-1)} µs` : `${mean(known).toFixed(1)} µs${known.length < values.length ? ` (${known.length} of ${values.length} rounds)` : ''}`;
};
const perRoundText = (xs: (number | undefined)[]) => xs.map((x) => (x === undefined ? '-' : x.toFixed(1))).join(', ');

const mode = rate === undefined ? 'closed loop' : `${rate} req/s over ${values['rate-connections']} connections`;
console.log(`### Work budget: \`${caseId}\`, ${mode}, ${perRound.length} round(s) (load ${loadAverage()}; ${haltPolling()})`);
console.log('');
const floors = perRound.map((round) => round[0]);
console.log(
  table(
    ['server', 'req/s (mean)', 'vs floor', ...(rate === undefined ? [] : ['p99 ms (mean)', 'p99 Δ vs floor ms']), 'server CPU µs/req', rate === undefined ? 'req/s per round' : 'p99 ms per round'],
    entries.map((e, i) => {
      const all = perRound.map((round) => round[i]);
      return [
        e.label,
        int(mean(all.map(rps))),
        i === 0 ? '' : pct(mean(all.map((m, r) => rps(m) / rps(floors[r])))),
        ...(rate === undefined ? [] : [ms(mean(all.map(p99))), i === 0 ? '' : ms(mean(all.map((m, r) => p99(m) - p99(floors[r]))))]),
        mean(all.map((m) => m.cpuUs / Math.max(1, m.answered))).toFixed(0),
        all.map((m) => (rate === undefined ? int(rps(m)) : ms(p99(m)))).join(', '),
      ];
    }),
  ),
);
console.log('');
// The goal on the floor's curve: `target` of its throughput, or its own p99 plus the allowance.
const budgets = perRound.map((round) => workAt(curve(round), rate === undefined ? target * rps(round[0]) : -(p99(round[0]) + p99Allowance)));
const equivalent = (server: 'webhook' | 'ceiling') => perRound.map((round) => workAt(curve(round), goodness(round[entries.findIndex((e) => e.server === server)])));
const budgetText = rate === undefined ? `keep ${pct(target)} of its throughput` : `keep its p99 at ${rate} req/s within +${p99Allowance} ms`;
console.log(
  table(
    ['figure', 'mean', 'per round'],
    [
      [`budget: work the floor can add and ${budgetText}`, us(budgets), perRoundText(budgets)],
      ["webhook's work beyond the floor, as the floor's equivalent", us(equivalent('webhook')), perRoundText(equivalent('webhook'))],
      ["ceiling's work beyond the floor (the core's answer computed once)", us(equivalent('ceiling')), perRoundText(equivalent('ceiling'))],
    ],
  ),
);
