/**
 * Where the webhook's CPU goes beyond the floor's, per request. The floor and the webhook (bench/http/server-child.ts,
 * each in its own process under `--cpu-prof`) take the same fixed-rate load of one case's body; each function's self
 * time is divided by the requests that server answered, and the table lists the functions by the difference. Each
 * server is profiled twice, in the order floor, webhook, webhook, floor: a process started later in a run measured
 * up to 15% slower JSON.parse than an identical one started before it, and the order cancels such a drift.
 *   node bench/profile-diff.ts [--case=mutate-envoyfilter] [--duration=10] [--rate=2000] [--top=30] [--log-level=info]
 * The profiler slows small JavaScript functions more than native code: read the figures as shares, not as timings.
 * On this project's VM about a fifth of the samples land at the next system call, so `writeString` (a log line's write)
 * and `writeUtf8String` (the answer's) also hold JavaScript time from before them (docs/performance.md, round 21).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchCertificates, load, startServerChild } from './http/bench-http.ts';
import { benchCase, type WebhookCaseId } from './http/cases.ts';
import { readProfile, selfTimes } from './lib/cpu-profile.ts';
import { haltPolling, loadAverage, table } from './lib/report.ts';

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'mutate-envoyfilter' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '2000' },
    top: { type: 'string', default: '30' },
    'log-level': { type: 'string', default: 'info' },
  },
});
const caseId = values.case as WebhookCaseId;
const { dir: work } = benchCertificates('profile-diff');

interface Measured {
  /** Microseconds of self time per function, summed over the runs. */
  self: Map<string, number>;
  requests: number;
}

/** Profiles one server process under the load and adds its self times and answered requests to `into`. */
async function profile(kind: 'floor' | 'webhook', into: Measured): Promise<void> {
  const dir = mkdtempSync(join(work, `${kind}-`));
  const child = await startServerChild(kind, work, { cpuProfDir: dir, logLevel: values['log-level'] });
  const measured = benchCase(kind === 'floor' ? `floor/${caseId}` : caseId);
  let requests = 0;
  try {
    // The warm-up's requests are in the profile too, so they count.
    for (const duration of [2, Number(values.duration)]) {
      const result = await load(child.port, measured, { duration, connections: 8, overallRate: Number(values.rate) });
      if (result.errors > 0) throw new Error(`${measured.id}: ${result.errors} requests failed; a profile of failures would mislead`);
      requests += result.answered;
    }
  } finally {
    await child.stop();
  }
  for (const [name, us] of selfTimes(readProfile(join(dir, readdirSync(dir)[0])))) {
    if (name !== '(idle)') into.self.set(name, (into.self.get(name) ?? 0) + us);
  }
  into.requests += requests;
}

const loadAtStart = loadAverage();
const floor: Measured = { self: new Map(), requests: 0 };
const webhook: Measured = { self: new Map(), requests: 0 };
for (const kind of ['floor', 'webhook', 'webhook', 'floor'] as const) await profile(kind, kind === 'floor' ? floor : webhook);
const perRequest = (side: Measured, name: string) => (side.self.get(name) ?? 0) / side.requests;
const names = new Set([...floor.self.keys(), ...webhook.self.keys()]);
const rows = [...names]
  .map((name) => ({ name, floor: perRequest(floor, name), webhook: perRequest(webhook, name) }))
  .sort((a, b) => b.webhook - b.floor - (a.webhook - a.floor));
const sum = (side: 'floor' | 'webhook') => rows.reduce((total, row) => total + row[side], 0);
rmSync(work, { recursive: true, force: true });

process.stdout.write(
  `${caseId} at ${values.rate} req/s for ${values.duration} s (+2 s warm-up), each server twice, webhook log level ${values['log-level']}; load ${loadAtStart} → ${loadAverage()}; ${haltPolling()}\n` +
    `requests answered: floor ${floor.requests}, webhook ${webhook.requests}; profiled CPU per request (not idle): floor ${sum('floor').toFixed(1)} µs, webhook ${sum('webhook').toFixed(1)} µs (floor / webhook ${((sum('floor') / sum('webhook')) * 100).toFixed(1)}%)\n\n`,
);
process.stdout.write(
  `${table(
    ['webhook − floor µs/req', 'floor µs/req', 'webhook µs/req', 'function'],
    rows.slice(0, Number(values.top)).map((r) => [(r.webhook - r.floor).toFixed(1), r.floor.toFixed(1), r.webhook.toFixed(1), r.name]),
  )}\n`,
);
