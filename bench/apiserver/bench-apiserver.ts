import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { randomUUID } from 'node:crypto';
import { admissionResponseJson } from '../../src/admission/admission-response.ts';
import { admitRequest } from '../../src/admission/admit-request.ts';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import { StaticServiceResolver } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { startServerChild, type ServerChild } from '../http/bench-http.ts';
import { createNamespace, createService, installCrdsAndRbac } from '../../test/e2e/harness/cluster-setup.ts';
import { startControlPlane, type ControlPlane } from '../../test/e2e/harness/control-plane.ts';
import { waitFor } from '../../test/e2e/harness/processes.ts';
import { registerWebhooks, startWebhookProcess, unregisterWebhooks, waitUntilMutating } from '../../test/e2e/harness/webhook-process.ts';
import { int, loadAverage, ms, pct, progress, table } from '../lib/report.ts';
import { mean, summarize, type LatencySummary } from '../lib/stats.ts';
import { ApiClient, pooled } from './apply-client.ts';
import { describeBuckets, difference, histogram, parseSamples, shareAtOrBelow } from './prometheus-text.ts';

const NAMESPACE = 'epp-bench';
const RESOURCE = `/apis/networking.istio.io/v1alpha3/namespaces/${NAMESPACE}/envoyfilters`;
const MANIFESTS = new URL('../../test/fixtures/manifests/', import.meta.url).pathname;
export const OUR_WEBHOOKS = ['envoyfilters.mutate.epp-webhook.io', 'envoyfilters.validate.epp-webhook.io'];
/** The apiserver metrics the alert rules in deploy/monitoring use; the bench reports which this apiserver exposes. */
export const APISERVER_METRICS = [
  'apiserver_admission_webhook_admission_duration_seconds',
  'apiserver_admission_webhook_request_total',
  'apiserver_admission_webhook_rejection_count',
  'apiserver_admission_webhook_fail_open_count',
];

export interface ApiserverOptions {
  applies: number;
  /** Applies in flight; each level is measured in full (1: `kubectl apply -f dir`, one object after another). */
  concurrencies: number[];
  rounds: number;
  /** Extra `epp-webhook serve` flags, e.g. --log-level=warn. */
  webhookArgs: string[];
  /**
   * Diagnosis: also register the bench's own server child (the same app via startWebhookServer, a Service table file
   * instead of the informer, logging off) to tell the app's cost from the `serve` process around it.
   */
  staticPhase: boolean;
}

/**
 * No webhook registered; the floor (a canned allow, bench/http/server-child.ts) registered as our webhooks; the floor
 * answering /mutate with the very patch epp-webhook returns (the apiserver's own cost of applying that change); ours.
 */
export type PhaseKind = 'without' | 'floor' | 'floor-patch' | 'webhook' | 'static';
const PHASE_TITLES: Record<PhaseKind, string> = {
  without: 'no webhook',
  floor: 'floor webhook (canned allow)',
  'floor-patch': 'floor webhook (canned allow + the same patch)',
  webhook: 'epp-webhook',
  static: 'epp-webhook app, Service file, no log (diagnosis)',
};

export interface PhaseResult {
  concurrency: number;
  round: number;
  kind: PhaseKind;
  applies: number;
  failures: number;
  seconds: number;
  latency: LatencySummary;
  load: string;
  /** Per webhook name: the apiserver's admission duration histogram over this phase (cumulative by le). */
  apiserverBuckets?: Record<string, [number, number][]>;
  /** The webhook's own admission duration over this phase, per endpoint. */
  ownBuckets?: Record<string, [number, number][]>;
}

export interface ApiserverResult {
  phases: PhaseResult[];
  exposed: Record<string, boolean>;
  /** Raw apiserver metric lines after the webhook was stopped and a denial was provoked: the label values alerts match. */
  failureLines: string[];
  apiserverVersion: string;
}

function placeholderFilter(name: string): Record<string, any> {
  const object = parse(readFileSync(`${MANIFESTS}full-duplex-envoyfilter.yaml`, 'utf8'));
  object.metadata = { name, namespace: NAMESPACE };
  return object;
}

async function waitUntilNotMutating(cp: ControlPlane): Promise<void> {
  const probe = JSON.stringify(placeholderFilter('epp-bench-probe'));
  await waitFor(
    'the webhooks to be gone (dry-run probe stored unchanged)',
    async () => {
      const result = await cp.kubectl(['create', '--dry-run=server', '-o', 'jsonpath={.metadata.annotations.epp-webhook\\.io/resolved-cluster-ip}', '-f', '-'], { input: probe });
      return result.code === 0 && result.stdout.trim() === '' ? true : undefined;
    },
    30_000,
    300,
  );
}

/** The patch epp-webhook answers for every bench EnvoyFilter (they differ only in name), from the core itself. */
async function webhookPatch(clusterIP: string): Promise<string> {
  const resolver = StaticServiceResolver.fromRecords([{ namespace: NAMESPACE, name: 'gaie-inference-scheduling-epp', type: 'ClusterIP', clusterIP, ports: [{ name: 'p0-9002', port: 9002, protocol: 'TCP' }] }]);
  const object = placeholderFilter('epp-bench-patch');
  const request = { uid: randomUUID(), kind: { group: 'networking.istio.io', version: 'v1alpha3', kind: 'EnvoyFilter' }, operation: 'CREATE' as const, namespace: NAMESPACE, name: 'epp-bench-patch', object };
  const admission = await admitRequest('mutate', request, { config: DEFAULT_CONFIG, resolver });
  const { response } = JSON.parse(admissionResponseJson(request.uid, admission.verdict)) as { response: { patch?: string } };
  if (response.patch === undefined) throw new Error('the core returned no patch for the bench EnvoyFilter');
  return response.patch;
}

async function runPhase(api: ApiClient, prefix: string, count: number, concurrency: number, clusterIP: string | undefined): Promise<{ latencies: number[]; failures: number; seconds: number; firstFailure?: string }> {
  let failures = 0;
  let firstFailure: string | undefined;
  const started = process.hrtime.bigint();
  const latencies = await pooled(count, concurrency, async (i) => {
    const response = await api.apply(`${RESOURCE}/${prefix}-${i}`, placeholderFilter(`${prefix}-${i}`));
    const ok = (response.status === 200 || response.status === 201) && (clusterIP === undefined || response.text.includes(`"epp-webhook.io/resolved-cluster-ip":"${clusterIP}"`));
    if (!ok) {
      failures++;
      firstFailure ??= `HTTP ${response.status}: ${response.text.slice(0, 300)}`;
    }
    return response.ms;
  });
  return { latencies, failures, seconds: Number(process.hrtime.bigint() - started) / 1e9, firstFailure };
}

export async function benchApiserver(options: ApiserverOptions): Promise<ApiserverResult> {
  const cp = await startControlPlane({ log: (line) => progress(`control plane: ${line}`) });
  const api = new ApiClient(cp, Math.max(...options.concurrencies));
  const phases: PhaseResult[] = [];
  let floor: ServerChild | undefined;
  const extraChildren: ServerChild[] = [];
  try {
    const version = JSON.parse((await api.request('GET', '/version')).text).gitVersion as string;
    await installCrdsAndRbac(cp);
    await createNamespace(cp, NAMESPACE);
    const clusterIP = await createService(cp, NAMESPACE, 'gaie-inference-scheduling-epp', [9002]);
    const webhook = await startWebhookProcess(cp, { extraArgs: options.webhookArgs });
    const floorCerts = mkdtempSync(join(cp.dir, 'floor-certs-'));
    const floorBundle = writeServingBundle(floorCerts, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
    const floorChild = await startServerChild('floor', floorCerts, { logLevel: 'off', cpuProfDir: undefined });
    floor = floorChild;
    let staticChild: ServerChild | undefined;
    if (options.staticPhase) {
      const servicesFile = join(cp.dir, 'services.json');
      const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'gaie-inference-scheduling-epp', namespace: NAMESPACE }, spec: { type: 'ClusterIP', clusterIP, ports: [{ name: 'p0-9002', port: 9002, protocol: 'TCP' }] } };
      writeFileSync(servicesFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [service] }));
      staticChild = await startServerChild('webhook', floorCerts, { logLevel: 'off', cpuProfDir: undefined, servicesFile });
      extraChildren.push(staticChild);
    }
    const floorUrl = `https://127.0.0.1:${floorChild.port}`;
    const floorCa = readFileSync(floorBundle.caCertFile, 'utf8');
    progress(`apiserver ${version} up; EPP Service ${NAMESPACE}/gaie-inference-scheduling-epp at ${clusterIP}; webhook on ${webhook.url}, floor on ${floorUrl}`);
    const warmup = Math.min(100, options.applies);
    const patch = await webhookPatch(clusterIP);

    for (const concurrency of options.concurrencies) for (let round = 1; round <= options.rounds; round++) {
      // Odd rounds run the phases in this order, even rounds reversed, so a drift over the run does not favour one.
      const kinds: PhaseKind[] = ['without', 'floor', 'floor-patch', 'webhook', ...(staticChild ? ['static' as const] : [])];
      const order = round % 2 === 1 ? kinds : [...kinds].reverse();
      for (const kind of order) {
        const withWebhook = kind === 'webhook' || kind === 'static' || kind === 'floor-patch';
        await unregisterWebhooks(cp);
        await waitUntilNotMutating(cp);
        await floorChild.setCannedPatch(kind === 'floor-patch' ? patch : null);
        if (kind === 'webhook') {
          await registerWebhooks(cp, webhook.url, webhook.caPem);
          await waitUntilMutating(cp, NAMESPACE);
        } else if (kind === 'static') {
          await registerWebhooks(cp, `https://127.0.0.1:${staticChild!.port}`, floorCa);
          await waitUntilMutating(cp, NAMESPACE);
        } else if (kind === 'floor' || kind === 'floor-patch') {
          await registerWebhooks(cp, floorUrl, floorCa);
          const seen = await floorChild.floorRequests();
          await waitFor(
            'the floor webhook to be called',
            async () => {
              await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(placeholderFilter('epp-bench-probe')) });
              return (await floorChild.floorRequests()) > seen ? true : undefined;
            },
            30_000,
            300,
          );
        }
        const tag = `${kind}-c${concurrency}-${round}`;
        await runPhase(api, `warm-${tag}`, warmup, concurrency, withWebhook ? clusterIP : undefined);
        const apiserverBefore = parseSamples((await api.request('GET', '/metrics')).text);
        const ownBefore = parseSamples(await webhook.metrics());
        const phase = await runPhase(api, `ef-${tag}`, options.applies, concurrency, withWebhook ? clusterIP : undefined);
        const apiserverAfter = parseSamples((await api.request('GET', '/metrics')).text);
        const ownAfter = parseSamples(await webhook.metrics());
        if (phase.failures > 0) throw new Error(`${phase.failures} of ${options.applies} applies failed ${tag}; first: ${phase.firstFailure}`);
        const result: PhaseResult = { concurrency, round, kind, applies: options.applies, failures: phase.failures, seconds: phase.seconds, latency: summarize(phase.latencies), load: loadAverage() };
        if (kind !== 'without') {
          result.apiserverBuckets = Object.fromEntries(
            OUR_WEBHOOKS.map((name) => {
              const metric = 'apiserver_admission_webhook_admission_duration_seconds';
              return [name, [...difference(histogram(apiserverAfter, metric, { name }), histogram(apiserverBefore, metric, { name })).entries()]];
            }),
          );
        }
        if (kind === 'webhook') {
          result.ownBuckets = Object.fromEntries(
            ['mutate', 'validate'].map((endpoint) => {
              const metric = 'epp_webhook_admission_duration_seconds';
              return [endpoint, [...difference(histogram(ownAfter, metric, { endpoint, kind: 'EnvoyFilter' }), histogram(ownBefore, metric, { endpoint, kind: 'EnvoyFilter' })).entries()]];
            }),
          );
        }
        phases.push(result);
        progress(`apiserver ${tag}: ${options.applies} applies in ${phase.seconds.toFixed(1)} s, p50 ${ms(result.latency.p50)} ms, p99 ${ms(result.latency.p99)} ms`);
      }
    }

    // What the alert rules match when things go wrong: a denial, then the webhook down (failurePolicy Fail).
    const denied = parse(readFileSync(`${MANIFESTS}guide-envoyfilter-buffered.yaml`, 'utf8'));
    denied.metadata = { name: 'epp-bench-denied', namespace: NAMESPACE };
    await unregisterWebhooks(cp);
    await waitUntilNotMutating(cp);
    await floorChild.stop();
    await registerWebhooks(cp, webhook.url, webhook.caPem);
    await waitUntilMutating(cp, NAMESPACE);
    const denial = await api.apply(`${RESOURCE}/epp-bench-denied`, denied);
    await webhook.stop();
    const down = await api.apply(`${RESOURCE}/epp-bench-webhook-down`, placeholderFilter('epp-bench-webhook-down'));
    progress(`denial answered HTTP ${denial.status}; with the webhook stopped an apply answered HTTP ${down.status}`);
    const text = (await api.request('GET', '/metrics')).text;
    const failureLines = text
      .split('\n')
      .filter((line) => /^apiserver_admission_webhook_(rejection_count|fail_open_count|request_total)\{/.test(line) && OUR_WEBHOOKS.some((n) => line.includes(`name="${n}"`)));
    const exposed = Object.fromEntries(APISERVER_METRICS.map((name) => [name, text.includes(`\n${name}`) || text.includes(`# TYPE ${name} `)]));
    return { phases, exposed, failureLines, apiserverVersion: version };
  } finally {
    await floor?.stop();
    for (const child of extraChildren) await child.stop();
    api.close();
    await cp.stop();
    // etcd's data and the logs: ~60 MiB per run.
    if (!process.env.EPP_BENCH_KEEP) rmSync(cp.dir, { recursive: true, force: true });
  }
}

const toMap = (entries: [number, number][] | undefined) => new Map((entries ?? []).map(([le, c]) => [le === null ? Infinity : le, c] as [number, number]));

export function formatApiserver(result: ApiserverResult): string {
  const out: string[] = [];
  const { phases } = result;
  out.push(`kube-apiserver ${result.apiserverVersion} and etcd on loopback (test/e2e/harness), the webhook as its own \`epp-webhook serve\` process watching Services;`);
  out.push(`server-side applies (PATCH application/apply-patch+yaml, fieldManager, keep-alive, ${phases[0]?.applies ?? 0} per phase) of distinct placeholder EnvoyFilters (test/fixtures/manifests/full-duplex-envoyfilter.yaml), 100 warm-up applies before each phase.`);
  out.push('The apiserver\'s `apiserver_admission_webhook_admission_duration_seconds` (its lowest bucket is 5 ms) is taken for the two EnvoyFilter webhook names over each phase (the floor phases register the canned-allow server under the same names); the webhook\'s own `epp_webhook_admission_duration_seconds` beside it.');
  out.push('');
  for (const concurrency of [...new Set(phases.map((p) => p.concurrency))]) {
    const level = phases.filter((p) => p.concurrency === concurrency);
    out.push(`### ${concurrency === 1 ? 'One apply at a time (as `kubectl apply -f DIR` sends them)' : `${concurrency} applies in flight (a GitOps controller syncing in parallel)`}`);
    out.push('');
    out.push(
      table(
        ['phase', 'round', 'applies/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'load avg (1, 5, 15 min)'],
        level.map((p) => [PHASE_TITLES[p.kind], p.round, int(p.applies / p.seconds), ms(p.latency.p50), ms(p.latency.p99), ms(p.latency.p999), ms(p.latency.max), p.load]),
      ),
    );
    out.push('');
    const rounds = [...new Set(level.map((p) => p.round))];
    const ratio = (kind: PhaseKind, key: 'p50' | 'p99') =>
      rounds.map((round) => {
        const w = level.find((p) => p.round === round && p.kind === kind)!;
        const wo = level.find((p) => p.round === round && p.kind === 'without')!;
        return w.latency[key] / wo.latency[key];
      });
    for (const kind of ['webhook', 'floor-patch', 'floor', 'static'] as const) {
      if (!level.some((p) => p.kind === kind)) continue;
      const line = (key: 'p50' | 'p99') => `${key} ${ratio(kind, key).map((r) => `${r.toFixed(2)}×`).join(', ')} (mean ${mean(ratio(kind, key)).toFixed(2)}×)`;
      out.push(`End-to-end apply latency, ${PHASE_TITLES[kind]} / no webhook, per round: ${line('p50')}; ${line('p99')}.`);
      out.push('');
    }
    const rows: string[][] = [];
    for (const p of level.filter((x) => x.kind !== 'without')) {
      for (const name of OUR_WEBHOOKS) {
        const b = toMap(p.apiserverBuckets?.[name]);
        rows.push([`${p.round}`, `apiserver → ${name} (${PHASE_TITLES[p.kind]})`, int(b.get(Infinity) ?? 0), pct(shareAtOrBelow(b, 0.005)), describeBuckets(b)]);
      }
      for (const endpoint of p.ownBuckets ? ['mutate', 'validate'] : []) {
        const b = toMap(p.ownBuckets?.[endpoint]);
        rows.push([`${p.round}`, `webhook's own /${endpoint}`, int(b.get(Infinity) ?? 0), pct(shareAtOrBelow(b, 0.005)), describeBuckets(b, 0.005)]);
      }
    }
    out.push(table(['round', 'histogram', 'calls', '≤ 5 ms', 'cumulative buckets'], rows));
    out.push('');
  }
  out.push(`Apiserver metrics the alert rules use, exposed by this apiserver: ${Object.entries(result.exposed).map(([n, e]) => `\`${n}\` ${e ? 'yes' : 'NO'}`).join(', ')}.`);
  out.push('');
  out.push('After one denial (the BUFFERED guide variant) and one apply with the webhook stopped:');
  out.push('');
  out.push('```');
  out.push(...result.failureLines);
  out.push('```');
  return out.join('\n');
}
