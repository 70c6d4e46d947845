/**
 * Before and after a change, in the same minutes: the webhook server child of two source trees (each its own
 * bench/http/server-child.ts, so each runs its own src/) takes the same fixed-rate load of each case in turn, the
 * trees alternating round by round (before, after; then after, before). The figure is the child's CPU per answered
 * request (process.cpuUsage() over the run): what a busy shared machine disturbs least, unlike req/s or a ratio to
 * a floor measured minutes apart.
 *   node bench/ab-cpu.ts --before=DIR [--after=DIR] [--rounds=3] [--duration=8] [--rate=2000] [--cases=a,b] [--log-level=info] [--ceiling]
 * DIR is a checkout of the other tree with node_modules (e.g. `git worktree add /tmp/before main && ln -s
 * "$PWD/node_modules" /tmp/before/`); --after defaults to this tree.
 * --ceiling adds a third server to the alternation, the after tree's ceiling (bench/http/cases.ts: the same server
 * answering with the core's answer computed once), and prints each tree's rules' cost in the server, its CPU per
 * request less the ceiling's: what a change to the rules must move, as it holds what the rules cost outside their own
 * time too (garbage collection, docs/performance.md, round 37).
 * The admission column is the webhook's own account of the same runs: its epp_webhook_admission_duration_seconds per
 * request, the time from a parsed AdmissionReview to its verdict (the rules, inside the server, on the clock).
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchCertificates, checkOnce, load, startServerChild } from './http/bench-http.ts';
import { benchCase, type WebhookCaseId } from './http/cases.ts';
import { haltPolling, loadAverage, ms, progress, table } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string', default: new URL('..', import.meta.url).pathname },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    rate: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '8' },
    cases: { type: 'string', default: 'mutate-envoyfilter,validate-envoyfilter,mutate-httproute' },
    'log-level': { type: 'string', default: 'info' },
    ceiling: { type: 'boolean', default: false },
  },
});
if (values.before === undefined) throw new Error('--before=DIR: the tree to compare with (a checkout with node_modules)');
const trees = { before: resolve(values.before), after: resolve(values.after) };
const caseIds = values.cases.split(',') as WebhookCaseId[];
const cases = caseIds.map((id) => benchCase(id, '--cases'));
const ceilingCase = (id: string) => benchCase(`ceiling/${id}`);
const settings = { duration: Number(values.duration), connections: Number(values.connections), overallRate: Number(values.rate) };

const { dir: work, ca } = benchCertificates('ab');

type Side = keyof typeof trees | 'ceiling';
interface Sample {
  cpuUs: number;
  /** Time inside admissions per request by the webhook's own duration metric (NaN: that tree's child does not say). */
  admissionUs: number;
  p99: number;
}
const samples = new Map<string, Sample[]>();
const loads: string[] = [];

async function measure(side: Side, round: number): Promise<void> {
  const tree = side === 'ceiling' ? trees.after : trees[side];
  const child = await startServerChild(side === 'ceiling' ? 'ceiling' : 'webhook', work, { cpuProfDir: undefined, logLevel: values['log-level'], serverChild: join(tree, 'bench/http/server-child.ts') });
  try {
    for (const webhookCase of cases) {
      const benchCase = side === 'ceiling' ? ceilingCase(webhookCase.id) : webhookCase;
      await checkOnce(child.port, ca, benchCase);
      await load(child.port, benchCase, { ...settings, duration: Number(values.warmup) });
      const before = await child.usage();
      const run = await load(child.port, benchCase, settings);
      const after = await child.usage();
      if (run.errors > 0) throw new Error(`${side} ${benchCase.id}: ${run.errors} requests failed`);
      const answered = Math.max(1, run.answered);
      const cpuUs = (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / answered;
      const admissionUs = ((after.admissionSeconds - before.admissionSeconds) * 1e6) / answered;
      const key = `${side} ${webhookCase.id}`;
      samples.set(key, [...(samples.get(key) ?? []), { cpuUs, admissionUs, p99: run.latency.p99 }]);
      progress(`A/B round ${round} ${side} ${webhookCase.id}: ${cpuUs.toFixed(0)} µs CPU/req, p99 ${ms(run.latency.p99)} ms`);
    }
  } finally {
    await child.stop();
  }
}

const loadAtStart = loadAverage();
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    const forward: Side[] = values.ceiling ? ['before', 'after', 'ceiling'] : ['before', 'after'];
    const order = round % 2 === 1 ? forward : [...forward].reverse();
    for (const side of order) await measure(side, round);
    loads.push(loadAverage());
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
};
/** --ceiling's columns: the ceiling's rounds, each tree's CPU per request less the ceiling's median, and the change of that. */
function rulesCostCells(ceiling: Sample[], cpuBefore: number, cpuAfter: number): string[] {
  const cpuCeiling = median(ceiling.map((s) => s.cpuUs));
  return [
    ceiling.map((s) => s.cpuUs.toFixed(0)).join(', '),
    `${(cpuBefore - cpuCeiling).toFixed(0)} / ${(cpuAfter - cpuCeiling).toFixed(0)}`,
    `${(((cpuAfter - cpuBefore) / (cpuBefore - cpuCeiling)) * 100).toFixed(1)}%`,
  ];
}
const microseconds = (us: number): string => (Number.isFinite(us) ? us.toFixed(0) : '-');
const rows = caseIds.map((id) => {
  const before = samples.get(`before ${id}`)!;
  const after = samples.get(`after ${id}`)!;
  const cpuBefore = median(before.map((s) => s.cpuUs));
  const cpuAfter = median(after.map((s) => s.cpuUs));
  const ceiling = samples.get(`ceiling ${id}`);
  return [
    id,
    before.map((s) => s.cpuUs.toFixed(0)).join(', '),
    after.map((s) => s.cpuUs.toFixed(0)).join(', '),
    `${(((cpuAfter - cpuBefore) / cpuBefore) * 100).toFixed(1)}%`,
    ...(ceiling === undefined ? [] : rulesCostCells(ceiling, cpuBefore, cpuAfter)),
    `${microseconds(median(before.map((s) => s.admissionUs)))} / ${microseconds(median(after.map((s) => s.admissionUs)))}`,
    `${ms(median(before.map((s) => s.p99)))} / ${ms(median(after.map((s) => s.p99)))}`,
  ];
});
const ceilingColumns = values.ceiling ? ['ceiling µs/req (rounds)', "rules' cost µs/req before / after (medians less the ceiling's)", "change of the rules' cost"] : [];
process.stdout.write(
  `webhook server CPU per request at ${values.rate} req/s over ${values.connections} connections, ${values.duration} s per run (+${values.warmup} s warm-up), ` +
    `log level ${values['log-level']}, ${values.rounds} rounds alternating the trees${values.ceiling ? " and the after tree's ceiling" : ''}; before = ${trees.before}, after = ${trees.after}\n` +
    `load at start ${loadAtStart}; after each round: ${loads.join(' / ')}; ${haltPolling()}\n\n` +
    `${table(['case', 'before µs/req (rounds)', 'after µs/req (rounds)', 'change of the median', ...ceilingColumns, 'admission µs/req before / after (median; its own duration metric)', 'p99 ms before / after (median)'], rows)}\n`,
);
