/**
 * The throughput target in microseconds of work. The floor (bench/http/server-child.ts) answers one case's body with
 * K µs of busy work added to every request, for each K in --work, in the same alternating slices as the webhook and
 * its ceiling (the webhook with the core's answer computed once). Two figures follow, on this machine:
 *   - the budget: the K at which the floor falls to --target of its own closed-loop throughput, i.e. how much work per
 *     request, on top of a bare Fastify answer, the target leaves room for;
 *   - each server's equivalent work: the K at which the floor answers as many requests as that server does.
 * Both are read off the floor's own curve, measured in the same minutes, so a machine that is slow today moves the
 * curve and the servers together. Fresh processes every round (two processes of the same code can differ by a
 * quarter here). Closed loop only: the target is stated for closed-loop throughput.
 *   node bench/work-budget.ts [--case=mutate-envoyfilter] [--work=5,10,20,30,45,60,90] [--target=0.7] [--rounds=2]
 *                             [--slices=3] [--duration=2] [--warmup=3] [--connections=24] [--log-level=info]
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { benchCertificates, checkOnce, load, startServerChild, type ServerChild } from './http/bench-http.ts';
import { benchCase, type WebhookCaseId } from './http/cases.ts';
import { haltPolling, int, loadAverage, pct, progress, table } from './lib/report.ts';
import { mean } from './lib/stats.ts';

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
    'log-level': { type: 'string', default: 'info' },
  },
});
const caseId = values.case as WebhookCaseId;
// Ascending: the floor's curve is read between neighbouring points.
const works = [...new Set(values.work.split(',').map(Number))].sort((a, b) => a - b);
if (works.some((w) => !(w > 0))) throw new Error('--work: positive microseconds, comma-separated');
const target = Number(values.target);
const settings = { duration: Number(values.duration), connections: Number(values.connections) };
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
}

const { dir: work, ca } = benchCertificates('work-budget');
const perRound: Measured[][] = [];
progress(`work budget: ${caseId}, ${values.rounds} round(s) of ${values.slices} slices of ${values.duration} s per setting; machine: ${haltPolling()}`);
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    const servers = {} as Record<Entry['server'], ServerChild>;
    try {
      for (const server of SERVERS) {
        servers[server] = await startServerChild(server, work, { cpuProfDir: undefined, logLevel: values['log-level'] });
        await checkOnce(servers[server].port, ca, cases[server]);
        await load(servers[server].port, cases[server], { ...settings, duration: Number(values.warmup) });
      }
      const measured = entries.map((): Measured => ({ answered: 0, seconds: 0, cpuUs: 0 }));
      for (let slice = 0; slice < Number(values.slices); slice++) {
        // Forward, then backward: a drift during the round weighs on every setting alike.
        const order = slice % 2 === 0 ? entries.map((_, i) => i) : entries.map((_, i) => entries.length - 1 - i);
        for (const i of order) {
          const entry = entries[i];
          const server = servers[entry.server];
          if (entry.server === 'floor') await server.setWork(entry.work);
          const before = await server.cpu();
          const run = await load(server.port, cases[entry.server], settings);
          const after = await server.cpu();
          measured[i].answered += run.answered;
          measured[i].seconds += run.seconds;
          measured[i].cpuUs += after.user - before.user + (after.system - before.system);
        }
      }
      perRound.push(measured);
      progress(`round ${round}: ${entries.map((e, i) => `${e.label} ${int(measured[i].answered / measured[i].seconds)}`).join(', ')} req/s`);
    } finally {
      await Promise.all(Object.values(servers).map((server) => server.stop()));
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const rps = (m: Measured) => m.answered / m.seconds;
/** The floor's curve in one round: (work µs, req/s), work ascending. */
const curve = (round: Measured[]) => entries.flatMap((e, i) => (e.server === 'floor' ? [{ work: e.work, rps: rps(round[i]) }] : []));
/** The work at which the curve reaches `goal` req/s, interpolated between measured points; undefined outside them. */
function workAt(points: { work: number; rps: number }[], goal: number): number | undefined {
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    if (goal <= a.rps && goal >= b.rps) return a.rps === b.rps ? a.work : a.work + ((a.rps - goal) / (a.rps - b.rps)) * (b.work - a.work);
  }
  return undefined;
}
const us = (values: (number | undefined)[]) => {
  const known = values.filter((x): x is number => x !== undefined);
  return known.length === 0 ? `outside 0-${works.at(-1)} µs` : `${mean(known).toFixed(1)} µs${known.length < values.length ? ` (${known.length} of ${values.length} rounds)` : ''}`;
};
const perRoundText = (xs: (number | undefined)[]) => xs.map((x) => (x === undefined ? '-' : x.toFixed(1))).join(', ');

console.log(`### Work budget: \`${caseId}\`, ${perRound.length} round(s) (load ${loadAverage()}; ${haltPolling()})`);
console.log('');
console.log(
  table(
    ['server', 'req/s (mean)', 'vs floor', 'server CPU µs/req', 'req/s per round'],
    entries.map((e, i) => {
      const all = perRound.map((round) => round[i]);
      const floors = perRound.map((round) => round[0]);
      return [
        e.label,
        int(mean(all.map(rps))),
        i === 0 ? '' : pct(mean(all.map((m, r) => rps(m) / rps(floors[r])))),
        mean(all.map((m) => m.cpuUs / Math.max(1, m.answered))).toFixed(0),
        all.map((m) => int(rps(m))).join(', '),
      ];
    }),
  ),
);
console.log('');
const budgets = perRound.map((round) => workAt(curve(round), target * rps(round[0])));
const equivalent = (server: 'webhook' | 'ceiling') => perRound.map((round) => workAt(curve(round), rps(round[entries.findIndex((e) => e.server === server)])));
console.log(
  table(
    ['figure', 'mean', 'per round'],
    [
      [`budget: work the floor can add and keep ${pct(target)} of its throughput`, us(budgets), perRoundText(budgets)],
      ["webhook's work beyond the floor, as the floor's equivalent", us(equivalent('webhook')), perRoundText(equivalent('webhook'))],
      ["ceiling's work beyond the floor (the core's answer computed once)", us(equivalent('ceiling')), perRoundText(equivalent('ceiling'))],
    ],
  ),
);

