/**
 * Where the webhook's CPU goes beyond the floor's, per request. The floor and the webhook (bench/http/server-child.ts,
 * each in its own process under `--cpu-prof`) take the same fixed-rate load of one case's body; each function's self
 * time is divided by the requests that server answered, and the table lists the functions by the difference.
 *   node bench/profile-diff.ts [--case=mutate-envoyfilter] [--duration=10] [--rate=2000] [--top=30] [--log-level=info]
 * The profiler slows small JavaScript functions more than native code: read the figures as shares, not as timings.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { writeServingBundle } from '../src/certs/serving-bundle.ts';
import { startServerChild } from './http/bench-http.ts';
import { benchCases, type WebhookCaseId } from './http/cases.ts';
import { readProfile, selfTimes } from './lib/cpu-profile.ts';
import { loadAverage, table } from './lib/report.ts';

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
const work = mkdtempSync(join(tmpdir(), 'epp-webhook-profile-diff-'));
writeServingBundle(work, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });

/** Profiles one server under the load; returns µs of self time per function per answered request. */
async function profile(kind: 'floor' | 'webhook'): Promise<{ perRequest: Map<string, number>; requests: number }> {
  const dir = mkdtempSync(join(work, `${kind}-`));
  const child = await startServerChild(kind, work, { cpuProfDir: dir, logLevel: values['log-level'] });
  const benchCase = benchCases().find((c) => c.id === (kind === 'floor' ? `floor/${caseId}` : caseId));
  if (benchCase === undefined) throw new Error(`--case: unknown case ${caseId}`);
  let requests = 0;
  try {
    // The warm-up's requests are in the profile too, so they count.
    for (const duration of [2, Number(values.duration)]) {
      const result = await autocannon({
        url: `https://127.0.0.1:${child.port}${benchCase.path}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: benchCase.body,
        connections: 8,
        duration,
        overallRate: Number(values.rate),
        tlsOptions: { rejectUnauthorized: false },
      });
      requests += result.requests.total;
    }
  } finally {
    await child.stop();
  }
  const self = selfTimes(readProfile(join(dir, readdirSync(dir)[0])));
  self.delete('(idle)');
  return { perRequest: new Map([...self].map(([name, us]) => [name, us / requests])), requests };
}

const loadAtStart = loadAverage();
const floor = await profile('floor');
const webhook = await profile('webhook');
const names = new Set([...floor.perRequest.keys(), ...webhook.perRequest.keys()]);
const rows = [...names]
  .map((name) => ({ name, floor: floor.perRequest.get(name) ?? 0, webhook: webhook.perRequest.get(name) ?? 0 }))
  .sort((a, b) => b.webhook - b.floor - (a.webhook - a.floor));
const sum = (side: 'floor' | 'webhook') => rows.reduce((total, row) => total + row[side], 0);
rmSync(work, { recursive: true, force: true });

process.stdout.write(
  `${caseId} at ${values.rate} req/s for ${values.duration} s (+2 s warm-up), webhook log level ${values['log-level']}; load ${loadAtStart} → ${loadAverage()}\n` +
    `requests answered: floor ${floor.requests}, webhook ${webhook.requests}; profiled CPU per request (not idle): floor ${sum('floor').toFixed(1)} µs, webhook ${sum('webhook').toFixed(1)} µs (floor / webhook ${((sum('floor') / sum('webhook')) * 100).toFixed(1)}%)\n\n`,
);
process.stdout.write(
  `${table(
    ['webhook − floor µs/req', 'floor µs/req', 'webhook µs/req', 'function'],
    rows.slice(0, Number(values.top)).map((r) => [(r.webhook - r.floor).toFixed(1), r.floor.toFixed(1), r.webhook.toFixed(1), r.name]),
  )}\n`,
);
