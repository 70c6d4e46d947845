/** The performance harness; USAGE below says what it runs and its flags. */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { HttpOptions } from './http/bench-http.ts';
import type { WebhookCaseId } from './http/cases.ts';
import { haltPolling, loadAverage, progress } from './lib/report.ts';

const USAGE = `The performance harness (\`npm run bench\`; not part of \`npm test\`). Each section prints Markdown tables with the
load average beside every figure. Flags:
  --only=http,resolver,apiserver   sections to run (default: all three)
  --duration=S        seconds per measured HTTP run, closed-loop and fixed-rate (default 10)
  --warmup=S          seconds of discarded load before each HTTP run (default 2)
  --connections=N     closed-loop connections (default 24)
  --rate=R            fixed-rate req/s (default 2000) --rate-connections=N (default 8)
  --rounds=N          repeat every HTTP measurement N times (default 2)
  --slices=N          each HTTP run in N slices per server, floor and case alternating (default 5)
  --cases=a,b         HTTP cases (each runs with its floor): mutate-envoyfilter,validate-envoyfilter,mutate-httproute
  --log-level=L       the webhook child's log level (default info, as deployed; "off" for none)
  --ceiling           also measure each case's ceiling: the webhook server with the core's answer computed once (same
                      app, TLS, parser, metrics, log line and answer), in the same slices: what the rules themselves cost
  --cpu-prof=DIR      write V8 CPU profiles of the server children into DIR (summarise: node bench/profile-summary.ts FILE)
  --services=1000,10000,50000   resolver sizes   --lookups=N   random lookups timed per size (default 2000000)
  --applies=N         server-side applies per apiserver phase (default 1000)  --concurrency=1,4 applies in flight, each level measured (default 1,4)
  --apiserver-rounds=N   rounds of the phases: no webhook, canned-allow floor, floor with epp-webhook's patch, epp-webhook (default 2)
  --webhook-args='...'  extra flags for the apiserver section's epp-webhook serve, e.g. --log-level=warn
  --apiserver-static-phase   diagnosis: also register the bench's server child (same app, Service file, no log)
  --json=FILE         also write every result as JSON
  --help              this text
`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    only: { type: 'string', default: 'http,resolver,apiserver' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '24' },
    rate: { type: 'string', default: '2000' },
    'rate-connections': { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    slices: { type: 'string', default: '5' },
    cases: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    ceiling: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    services: { type: 'string', default: '1000,10000,50000' },
    lookups: { type: 'string', default: '2000000' },
    applies: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '1,4' },
    'apiserver-rounds': { type: 'string', default: '2' },
    'webhook-args': { type: 'string', default: '' },
    'apiserver-static-phase': { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const number = (name: string, text: string): number => {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number (got ${text})`);
  return value;
};
const sections = values.only.split(',').map((s) => s.trim());
for (const section of sections) {
  if (!['http', 'resolver', 'apiserver'].includes(section)) throw new Error(`--only: unknown section ${section} (http, resolver, apiserver)`);
}

const args = process.argv.slice(2).join(' ');
const command = `node bench/run.ts${args ? ` ${args}` : ''}\` (= \`npm run bench${args ? ` -- ${args}` : ''}`;
const header = [
  `# epp-webhook bench: ${new Date().toISOString()}`,
  '',
  `command: \`${command}\` (node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}); load average at start: ${loadAverage()}; ${haltPolling()}`,
  '',
].join('\n');
process.stdout.write(`${header}\n`);

const report: Record<string, unknown> = { command, node: process.version, startedAt: new Date().toISOString(), loadAtStart: loadAverage() };

if (sections.includes('http')) {
  const options: HttpOptions = {
    duration: number('duration', values.duration),
    warmup: number('warmup', values.warmup),
    connections: number('connections', values.connections),
    rate: number('rate', values.rate),
    rateConnections: number('rate-connections', values['rate-connections']),
    rounds: number('rounds', values.rounds),
    slices: number('slices', values.slices),
    logLevel: values['log-level'],
    cpuProfDir: values['cpu-prof'],
    only: values.cases?.split(',') as WebhookCaseId[] | undefined,
    ceiling: values.ceiling,
  };
  progress('HTTP section: floor vs the real server, each in its own child process');
  const { benchHttp, formatHttp } = await import('./http/bench-http.ts');
  const results = await benchHttp(options);
  report.http = results;
  process.stdout.write(`## HTTP: the floor and the webhook over TLS on loopback (load at end: ${loadAverage()})\n\n${formatHttp(results, options)}\n\n`);
}

if (sections.includes('resolver')) {
  progress('resolver section: Service cache memory and lookup time, each size in a fresh child with --expose-gc');
  const sizes = values.services.split(',').map((s) => number('services', s));
  const { benchResolver, formatResolver } = await import('./resolver/bench-resolver.ts');
  const results = await benchResolver(sizes, number('lookups', values.lookups));
  report.resolver = results;
  process.stdout.write(`## Resolver: Service cache scale (load at end: ${loadAverage()})\n\n${formatResolver(results)}\n\n`);
}

if (sections.includes('apiserver')) {
  progress('apiserver section: server-side applies through a real kube-apiserver, without and with the webhook');
  const { benchApiserver, formatApiserver } = await import('./apiserver/bench-apiserver.ts');
  const results = await benchApiserver({
    applies: number('applies', values.applies),
    concurrencies: values.concurrency.split(',').map((c) => number('concurrency', c)),
    rounds: number('apiserver-rounds', values['apiserver-rounds']),
    webhookArgs: values['webhook-args'].split(' ').filter((a) => a !== ''),
    staticPhase: values['apiserver-static-phase'],
  });
  report.apiserver = results;
  process.stdout.write(`## Through the real kube-apiserver (load at end: ${loadAverage()})\n\n${formatApiserver(results)}\n\n`);
}

report.loadAtEnd = loadAverage();
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
process.stdout.write(`load average at end: ${loadAverage()}\n`);
