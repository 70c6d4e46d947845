/**
 * Soak: a steady admission rate against the real server for minutes, with the server sampling its own memory,
 * event loop and handles (soak-server.ts, over IPC). Checks the bounds and exits 1 when one is exceeded.
 *
 *   node test/e2e/soak/soak.ts [--duration 180] [--rate 150] [--connections 8] [--warmup 30] [--out soak.json]
 *
 * Bounds (defaults; flags override): RSS and heap (after a forced GC) at the end within 10% of the end of the
 * warm-up; event-loop delay p99 under 50 ms in 95% of the seconds; no more active handles after the load than
 * after warm-up; zero errors, timeouts and unexpected statuses; at least 95% of the target rate achieved.
 */
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { parse } from 'yaml';
import { admissionReview, manifest } from '../../helpers/fixtures.ts';
import type { Sample } from './soak-server.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '180' },
    rate: { type: 'string', default: '150' },
    connections: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '30' },
    'max-rss-growth': { type: 'string', default: '0.10' },
    'max-delay-p99-ms': { type: 'string', default: '50' },
    out: { type: 'string' },
  },
});
const duration = Number(values.duration);
const rate = Number(values.rate);
const connections = Number(values.connections);
const warmup = Math.min(Number(values.warmup), Math.floor(duration / 3));
const maxGrowth = Number(values['max-rss-growth']);
const maxDelay = Number(values['max-delay-p99-ms']);

const child = fork(new URL('./soak-server.ts', import.meta.url).pathname, [], { execArgv: ['--expose-gc', ...deployedNodeOptions()], stdio: 'inherit' });
const samples: Sample[] = [];
const checkpoints: Sample[] = [];
let ready: { port: number } | undefined;
child.on('message', (message: { sample?: Sample; checkpoint?: Sample; ready?: { port: number } }) => {
  if (message.sample) samples.push(message.sample);
  if (message.checkpoint) checkpoints.push(message.checkpoint);
  if (message.ready) ready = message.ready;
});
while (ready === undefined) await new Promise((r) => setTimeout(r, 50));
const checkpoint = async (name: string) => {
  const count = checkpoints.length;
  child.send({ cmd: 'checkpoint', name });
  while (checkpoints.length === count) await new Promise((r) => setTimeout(r, 20));
  return checkpoints[checkpoints.length - 1];
};

const body = (object: Record<string, any>, uid: string) => JSON.stringify(admissionReview(object, 'CREATE', uid));
const headers = { 'content-type': 'application/json' };
// One cycle: a substitution, an injection, a denial by the rules, a missing Service, a body that is not a review (400).
const missing = manifest('guide-envoyfilter.yaml');
missing.metadata.namespace = 'tenant-x';
const requests = [
  { method: 'POST' as const, path: '/mutate', headers, body: body(manifest('guide-envoyfilter.yaml'), 'soak-ef') },
  { method: 'POST' as const, path: '/mutate', headers, body: body(manifest('guide-httproute.yaml'), 'soak-route') },
  { method: 'POST' as const, path: '/validate', headers, body: body(manifest('wild/operator-sample-envoyfilter-epp.yaml'), 'soak-deny') },
  { method: 'POST' as const, path: '/mutate', headers, body: body(missing, 'soak-missing') },
  // JSON that is not an AdmissionReview (400 on a kept connection; broken JSON would close it, which the apiserver never sends).
  { method: 'POST' as const, path: '/mutate', headers, body: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}' },
];

process.stderr.write(`soak: ${duration} s at ${rate} req/s over ${connections} connections (warm-up ${warmup} s); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
let warm: Sample | undefined;
const warmTimer = setTimeout(() => void checkpoint('warm').then((s) => (warm = s)), warmup * 1000);
// autocannon's typings omit `requests` (a cycle of requests per connection) and `reconnectRate`, which it supports.
const options: Record<string, unknown> = { url: `https://127.0.0.1:${ready.port}`, connections, overallRate: rate, duration, requests, reconnectRate: 500, timeout: 10 };
const result = await autocannon(options as unknown as Parameters<typeof autocannon>[0]);
clearTimeout(warmTimer);
await new Promise((r) => setTimeout(r, 2000));
const end = await checkpoint('end');
child.send({ cmd: 'stop' });
await new Promise((r) => child.once('exit', r));
if (warm === undefined) throw new Error('the warm-up checkpoint was not taken (duration too short)');

const afterWarm = samples.filter((s) => s.at >= warm!.at && s.at <= warm!.at + (duration - warmup) * 1000);
const delays = afterWarm.map((s) => s.delayP99Ms).sort((a, b) => a - b);
const p95OfP99 = delays[Math.floor(delays.length * 0.95)] ?? 0;
const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, (stat as { count: number }).count]));
const achieved = result.requests.total / duration;
const checks = [
  { what: `RSS after GC within ${maxGrowth * 100}% of warm-up`, ok: end.rssMB <= warm.rssMB * (1 + maxGrowth), figure: `${warm.rssMB} -> ${end.rssMB} MB` },
  { what: `heap after GC within ${maxGrowth * 100}% of warm-up`, ok: end.heapUsedMB <= warm.heapUsedMB * (1 + maxGrowth), figure: `${warm.heapUsedMB} -> ${end.heapUsedMB} MB` },
  { what: `event-loop delay p99 under ${maxDelay} ms in 95% of the seconds`, ok: p95OfP99 < maxDelay, figure: `${p95OfP99} ms (worst second's max ${Math.max(...afterWarm.map((s) => s.delayMaxMs))} ms)` },
  { what: 'no more active handles after the load than after warm-up', ok: end.handleCount <= warm.handleCount, figure: `${warm.handleCount} -> ${end.handleCount} (${JSON.stringify(end.handles)})` },
  { what: 'no errors or timeouts', ok: result.errors === 0 && result.timeouts === 0, figure: `${result.errors} errors, ${result.timeouts} timeouts` },
  { what: 'only 200s and the non-review body\'s 400s', ok: Object.keys(statuses).every((c) => c === '200' || c === '400') && (statuses['400'] ?? 0) > 0, figure: JSON.stringify(statuses) },
  { what: 'at least 95% of the target rate', ok: achieved >= rate * 0.95, figure: `${achieved.toFixed(1)} req/s of ${rate}` },
];
const report = {
  parameters: { duration, rate, connections, warmup },
  loadAverageAtEnd: loadavg(),
  requests: result.requests.total,
  latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  statuses,
  warm,
  end,
  peakRssMB: Math.max(...samples.map((s) => s.rssMB)),
  meanEventLoopUtilization: Math.round((afterWarm.reduce((a, s) => a + s.eventLoopUtilization, 0) / Math.max(1, afterWarm.length)) * 1000) / 1000,
  checks,
  samples,
};
if (values.out) writeFileSync(values.out, JSON.stringify(report, null, 2));
for (const check of checks) process.stdout.write(`${check.ok ? 'ok    ' : 'FAILED'} ${check.what}: ${check.figure}\n`);
process.stdout.write(
  `soak: ${result.requests.total} requests in ${duration} s, latency p50 ${result.latency.p50} ms p99 ${result.latency.p99} ms, peak RSS ${report.peakRssMB} MB, mean ELU ${report.meanEventLoopUtilization}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`,
);
process.exitCode = checks.every((c) => c.ok) ? 0 : 1;

/** The V8 caps the pod runs with (deploy/base's NODE_OPTIONS), so the soak's memory bounds are the deployed ones. */
function deployedNodeOptions(): string[] {
  const deployment = parse(readFileSync(new URL('../../../deploy/base/deployment.yaml', import.meta.url), 'utf8'));
  const env: { name: string; value?: string }[] = deployment.spec.template.spec.containers[0].env;
  const options = env.find((e) => e.name === 'NODE_OPTIONS')?.value;
  if (options === undefined) throw new Error('deploy/base/deployment.yaml sets no NODE_OPTIONS');
  return options.split(/\s+/);
}
