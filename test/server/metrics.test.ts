import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { EnvoyFilterIndexTable } from '../../src/cluster/envoyfilter-index.ts';
import type { InferencePoolResolver } from '../../src/cluster/inference-pool.ts';
import { StaticInferencePools } from '../../src/cluster/static-inference-pools.ts';
import type { ServiceLookup, ServiceResolver } from '../../src/cluster/service-resolver.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { admissionReview, fixtureResolver, manifest } from '../helpers/fixtures.ts';
import { httpsRequest, postJson } from '../helpers/https-client.ts';
import { startWebhookUnderTest, type WebhookUnderTest } from '../helpers/webhook-under-test.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Metric names in the `## Metrics` table of a Markdown file: every backticked `epp_webhook_…` of a row's first cell. */
function documentedMetrics(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const section = /^## Metrics\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(text)?.[1] ?? '';
  const names: string[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.split('|')[1];
    for (const [, name] of firstCell.matchAll(/`(epp_webhook_[a-z0-9_*]+)`/g)) names.push(name);
  }
  return names;
}

/** Names the reconciler registers on the same registry; they exist only where `serve` runs the reconciler. */
function reconcilerMetrics(): string[] {
  const file = `${ROOT}src/reconcile/reconciler-metrics.ts`;
  if (!existsSync(file)) return [];
  return [...readFileSync(file, 'utf8').matchAll(/name: '(epp_webhook_[a-z0-9_]+)'/g)].map((m) => m[1]);
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      let text = '';
      res.on('data', (c) => (text += c)).on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}

/** `name -> type` from the `# TYPE` lines of a Prometheus exposition. */
function exposed(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

let webhook: WebhookUnderTest;
let scrape: string;
t.before(async () => {
  webhook = await startWebhookUnderTest();
  const post = (path: string, body: unknown) => postJson(`${webhook.url}${path}`, webhook.ca, body);
  // One admission of each kind of outcome, so every labelled series has a child to show.
  await post('/mutate', admissionReview(manifest('guide-envoyfilter.yaml')));
  await post('/validate', admissionReview(manifest('wild/operator-sample-envoyfilter-epp.yaml')));
  await post('/mutate', admissionReview(manifest('guide-httproute.yaml')));
  await httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
  scrape = await get(`http://127.0.0.1:${webhook.server.metricsPort}/metrics`);
});
t.teardown(() => webhook.server.close());

/** A pool cache whose first list the test completes by hand, holding two pools once listed. */
function poolCacheListedWhen(listed: () => boolean): InferencePoolResolver {
  return {
    source: 'a pool cache still listing',
    lookupPool: () => ({ kind: 'unavailable', reason: 'not yet' }),
    endpointPickerServices: () => [],
    records: () => [],
    ready: listed,
    get size() {
      return listed() ? 2 : 0;
    },
  };
}

/** A server given all three caches, as `serve` always is: the InferencePool and EnvoyFilter gauges only exist there. */
async function scrapeWithAllCaches(): Promise<string> {
  const envoyFilters = new EnvoyFilterIndexTable('three EnvoyFilters', [1, 2, 3].map((i) => ({ namespace: 'llm-d', name: `ef-${i}`, inferencePool: undefined })));
  const other = await startWebhookUnderTest({ pools: poolCacheListedWhen(() => true), envoyFilters });
  try {
    return await get(`http://127.0.0.1:${other.server.metricsPort}/metrics`);
  } finally {
    await other.server.close();
  }
}

t.test('the kind label names each handled kind and `other` for what passes; substitutions count what an admitted, stored object got', async (t) => {
  const pools = StaticInferencePools.fromObjects(
    [{ apiVersion: 'inference.networking.k8s.io/v1', kind: 'InferencePool', metadata: { name: 'pool', namespace: 'llm-d-inference-scheduler' }, spec: { endpointPickerRef: { name: 'gaie-inference-scheduling-epp', port: { number: 9002 } } } }],
    'a test',
  );
  const other = await startWebhookUnderTest({ pools });
  t.teardown(() => other.server.close());
  const post = (path: string, body: unknown) => postJson(`${other.url}${path}`, other.ca, body);
  const scrapeOther = () => get(`http://127.0.0.1:${other.server.metricsPort}/metrics`);
  const guide = manifest('guide-envoyfilter.yaml');
  const cluster = (filter: any) => filter.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
  const bothTokens = structuredClone(guide);
  cluster(bothTokens).port_value = 'EPP_SERVICE_PORT';
  const wrongPort = structuredClone(guide);
  wrongPort.metadata.annotations = { 'epp-webhook.io/inference-pool': 'pool' };
  cluster(wrongPort).port_value = 9003;
  const rule = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'epp', namespace: 'llm-d-inference-scheduler' }, spec: { host: 'gaie-inference-scheduling-epp', trafficPolicy: { connectionPool: { http: { http2MaxRequests: 8 } } } } };
  const dryRun = admissionReview(guide);
  dryRun.request.dryRun = true;

  const answers = [
    await post('/mutate', admissionReview(bothTokens)),
    await post('/mutate', admissionReview(wrongPort)),
    await post('/mutate', dryRun),
    await post('/validate', admissionReview(rule)),
    await post('/validate', admissionReview(guide, 'DELETE')),
  ].map((answer) => answer.body.response);
  t.same(answers.map((a) => a.allowed), [true, false, true, true, true]);
  t.match(answers[1].status.message, 'EPP114', 'the wrong port is denied after its address was filled in');
  t.match(answers[3].warnings, [/EPP501/]);
  const text = await scrapeOther();
  t.equal(value(text, 'epp_webhook_substitutions_total'), 2, 'the address and the port of the admitted one; nothing of the denial or the dry run');
  t.equal(value(text, 'epp_webhook_admission_requests_total{endpoint="validate",kind="DestinationRule",operation="CREATE",verdict="allowed"}'), 1);
  t.equal(value(text, 'epp_webhook_admission_requests_total{endpoint="validate",kind="other",operation="DELETE",verdict="passed"}'), 1, 'a DELETE of an EnvoyFilter passes, as kind other');
  t.equal(value(text, 'epp_webhook_admission_duration_seconds_count{endpoint="validate",kind="DestinationRule"}'), 1);
});

t.test('every metric the README documents is exposed on the metrics port', async (t) => {
  const documented = [...new Set(documentedMetrics(`${ROOT}README.md`))];
  const onlyWithReconciler = new Set(reconcilerMetrics());
  t.ok(documented.length >= 12, `the Metrics tables list the metrics (found ${documented.length})`);
  const names = new Map([...exposed(scrape), ...exposed(await scrapeWithAllCaches())]);
  for (const name of documented) {
    if (onlyWithReconciler.has(name)) continue;
    if (name.endsWith('*')) {
      const prefix = name.slice(0, -1);
      t.ok([...names.keys()].some((n) => n.startsWith(prefix)), `${name}: some metric starts with ${prefix}`);
    } else {
      t.ok(names.has(name), `${name} is exposed`);
    }
  }
});

t.test('the metrics the issue asks for are there with their labels, whatever the docs say', async (t) => {
  const names = exposed(scrape);
  const expected: Record<string, string> = {
    epp_webhook_admission_requests_total: 'counter',
    epp_webhook_admission_duration_seconds: 'histogram',
    epp_webhook_admission_in_flight: 'gauge',
    epp_webhook_findings_total: 'counter',
    epp_webhook_substitutions_total: 'counter',
    epp_webhook_bad_requests_total: 'counter',
    epp_webhook_service_cache_size: 'gauge',
    epp_webhook_service_cache_synced: 'gauge',
    epp_webhook_service_cache_last_sync_timestamp_seconds: 'gauge',
    epp_webhook_service_watch_restarts_total: 'counter',
    epp_webhook_tls_certificate_expiry_timestamp_seconds: 'gauge',
    epp_webhook_process_cpu_user_seconds_total: 'counter',
    epp_webhook_nodejs_eventloop_lag_seconds: 'gauge',
  };
  for (const [name, type] of Object.entries(expected)) t.equal(names.get(name), type, `${name} is a ${type}`);

  t.equal(value(scrape, 'epp_webhook_admission_requests_total{endpoint="mutate",kind="EnvoyFilter",operation="CREATE",verdict="allowed"}'), 1);
  t.equal(value(scrape, 'epp_webhook_admission_requests_total{endpoint="validate",kind="EnvoyFilter",operation="CREATE",verdict="denied"}'), 1);
  t.equal(value(scrape, 'epp_webhook_admission_requests_total{endpoint="mutate",kind="HTTPRoute",operation="CREATE",verdict="allowed"}'), 1);
  t.match(scrape, /^epp_webhook_admission_duration_seconds_bucket\{le="0.00025",endpoint="mutate",kind="EnvoyFilter"\} \d+$/m, 'latency buckets start at 0.25 ms');
  t.equal(value(scrape, 'epp_webhook_admission_duration_seconds_count{endpoint="mutate",kind="EnvoyFilter"}'), 1);
  t.equal(value(scrape, 'epp_webhook_admission_in_flight{endpoint="mutate"}'), 0, 'in flight goes back to 0');
  t.equal(value(scrape, 'epp_webhook_findings_total{code="EPP201",severity="deny"}'), 1, 'findings by code and severity');
  t.equal(value(scrape, 'epp_webhook_substitutions_total'), 1);
  t.equal(value(scrape, 'epp_webhook_bad_requests_total{endpoint="mutate",status="415"}'), 1);
  t.equal(value(scrape, 'epp_webhook_service_cache_size'), 4, 'the fixture table holds 4 Services');
  t.equal(value(scrape, 'epp_webhook_service_cache_synced'), 1);
  for (const cause of ['idle', 'ended', 'failed', 'gone']) t.equal(value(scrape, `epp_webhook_service_watch_restarts_total{cause="${cause}"}`), 0, `watch restarts by cause (${cause}), 0 from the start`);
  const lastSync = value(scrape, 'epp_webhook_service_cache_last_sync_timestamp_seconds')!;
  t.ok(Math.abs(lastSync - Date.now() / 1000) < 120, 'a Service file counts as synced when the server started');
  const expiry = value(scrape, 'epp_webhook_tls_certificate_expiry_timestamp_seconds')!;
  t.ok(expiry > Date.now() / 1000 + 300 * 86400, 'the serving certificate expiry (a year ahead for dev certificates)');
});

t.test('last sync time and sync state follow an informer-like resolver', async (t) => {
  let synced = false;
  let lastSyncTime: Date | undefined;
  const resolver: ServiceResolver & { lastSyncTime: Date | undefined } = {
    source: 'a fake informer',
    lookup: (): ServiceLookup => ({ kind: 'unavailable', reason: 'not yet' }),
    ready: () => synced,
    size: () => (synced ? 7 : 0),
    get lastSyncTime() {
      return lastSyncTime;
    },
  };
  const metrics = createMetrics({ resolver });
  const read = async () => {
    const json = await metrics.registry.getMetricsAsJSON();
    const of = (name: string) => json.find((m) => m.name === name)?.values[0]?.value;
    return { synced: of('epp_webhook_service_cache_synced'), last: of('epp_webhook_service_cache_last_sync_timestamp_seconds'), size: of('epp_webhook_service_cache_size') };
  };
  t.same(await read(), { synced: 0, last: 0, size: 0 }, 'before the first list: not synced, never synced');
  synced = true;
  lastSyncTime = new Date('2025-11-26T04:00:00Z');
  t.same(await read(), { synced: 1, last: lastSyncTime.getTime() / 1000, size: 7 }, 'after it: the time of the list');
});

t.test('the InferencePool and EnvoyFilter caches: synced and size on the metrics port, in step with /readyz', async (t) => {
  let poolsListed = false;
  let envoyFiltersListed = false;
  const envoyFilters = new EnvoyFilterIndexTable('an EnvoyFilter cache still listing', [], () => envoyFiltersListed);
  const other = await startWebhookUnderTest({ pools: poolCacheListedWhen(() => poolsListed), envoyFilters, envoyFiltersComplete: true });
  t.teardown(() => other.server.close());
  const state = async () => {
    const text = await get(`http://127.0.0.1:${other.server.metricsPort}/metrics`);
    const readyz = await fetch(`http://127.0.0.1:${other.server.metricsPort}/readyz`);
    return {
      readyz: readyz.status,
      notSynced: (await readyz.json()).notSynced,
      pools: [value(text, 'epp_webhook_inference_pool_cache_synced'), value(text, 'epp_webhook_inference_pool_cache_size')],
      envoyFilters: [value(text, 'epp_webhook_envoyfilter_cache_synced'), value(text, 'epp_webhook_envoyfilter_cache_size')],
      services: value(text, 'epp_webhook_service_cache_synced'),
    };
  };

  t.same(await state(), { readyz: 503, notSynced: ['InferencePools', 'EnvoyFilters'], pools: [0, 0], envoyFilters: [0, 0], services: 1 }, 'neither listed: both gauges 0, as /readyz says');
  poolsListed = true;
  t.same(await state(), { readyz: 503, notSynced: ['EnvoyFilters'], pools: [1, 2], envoyFilters: [0, 0], services: 1 }, 'the stuck cache is the one at 0');
  envoyFilters.put({ namespace: 'llm-d', name: 'ef', inferencePool: 'llm-d/pool' });
  envoyFiltersListed = true;
  t.same(await state(), { readyz: 200, notSynced: undefined, pools: [1, 2], envoyFilters: [1, 1], services: 1 }, 'both listed: 1 and 1, and ready');
});

t.test('a server without InferencePool or EnvoyFilter caches exports no gauge for them, and /readyz does not wait for them', async (t) => {
  const names = exposed(scrape);
  for (const name of ['epp_webhook_inference_pool_cache_synced', 'epp_webhook_inference_pool_cache_size', 'epp_webhook_envoyfilter_cache_synced', 'epp_webhook_envoyfilter_cache_size']) {
    t.notOk(names.has(name), `${name} is not exported`);
  }
  t.equal((await fetch(`http://127.0.0.1:${webhook.server.metricsPort}/readyz`)).status, 200);
});

t.test('admission counts add up across scrapes, and in-flight shows an admission held by a pending Service lookup', async (t) => {
  const base = fixtureResolver();
  let release: () => void = () => {};
  let hold = false;
  const resolver: ServiceResolver = {
    ...base,
    source: 'a resolver that can hold its answer',
    ready: () => base.ready(),
    size: () => base.size(),
    lookup: (namespace, name) => {
      if (!hold) return base.lookup(namespace, name);
      return new Promise<ServiceLookup>((resolve) => (release = () => resolve(base.lookup(namespace, name) as ServiceLookup)));
    },
  };
  const other = await startWebhookUnderTest({ resolver });
  t.teardown(() => other.server.close());
  const scrapeOther = () => get(`http://127.0.0.1:${other.server.metricsPort}/metrics`);
  const post = (path: string, body: unknown) => postJson(`${other.url}${path}`, other.ca, body);
  const allowedEnvoyFilters = 'epp_webhook_admission_requests_total{endpoint="mutate",kind="EnvoyFilter",operation="CREATE",verdict="allowed"}';
  const denials = 'epp_webhook_findings_total{code="EPP201",severity="deny"}';

  await post('/mutate', admissionReview(manifest('guide-envoyfilter.yaml')));
  await post('/validate', admissionReview(manifest('wild/operator-sample-envoyfilter-epp.yaml')));
  const first = await scrapeOther();
  t.same([value(first, allowedEnvoyFilters), value(first, denials), value(first, 'epp_webhook_substitutions_total')], [1, 1, 1], 'after one of each');
  for (let i = 0; i < 3; i++) await post('/mutate', admissionReview(manifest('guide-envoyfilter.yaml')));
  await post('/validate', admissionReview(manifest('wild/operator-sample-envoyfilter-epp.yaml')));
  const second = await scrapeOther();
  t.same([value(second, allowedEnvoyFilters), value(second, denials), value(second, 'epp_webhook_substitutions_total')], [4, 2, 4], 'totals since start, not since the last scrape');
  t.same(value(await scrapeOther(), allowedEnvoyFilters), 4, 'a scrape with nothing new in between shows the same total');

  hold = true;
  const held = post('/mutate', admissionReview(manifest('guide-envoyfilter.yaml')));
  let during = await scrapeOther();
  for (let i = 0; i < 50 && value(during, 'epp_webhook_admission_in_flight{endpoint="mutate"}') !== 1; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    during = await scrapeOther();
  }
  t.equal(value(during, 'epp_webhook_admission_in_flight{endpoint="mutate"}'), 1, 'one admission waiting on its lookup');
  release();
  await held;
  const after = await scrapeOther();
  t.same([value(after, 'epp_webhook_admission_in_flight{endpoint="mutate"}'), value(after, allowedEnvoyFilters)], [0, 5], 'answered: back to 0, and counted');
});

t.test('the metrics port answers as the HTTPS port does: a query string is ignored and HEAD is answered like GET, without a body', async (t) => {
  const plain = `http://127.0.0.1:${webhook.server.metricsPort}`;
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    for (const query of ['', '?verbose', '?x=1']) {
      for (const method of ['GET', 'HEAD']) {
        const [onMetricsPort, onHttpsPort] = [await fetch(`${plain}${path}${query}`, { method }), await httpsRequest(`${webhook.url}${path}${query}`, { ca: webhook.ca, method })];
        const body = await onMetricsPort.text();
        // /metrics is on the metrics port alone.
        t.equal(onMetricsPort.status, 200, `${method} ${path}${query}: 200${path === '/metrics' ? '' : `, as on the HTTPS port (${onHttpsPort.status})`}`);
        if (path !== '/metrics') t.equal(onHttpsPort.status, 200);
        if (method === 'HEAD') t.equal(body, '', `HEAD ${path}${query}: no body`);
        else if (path === '/metrics') t.match(body, /epp_webhook_admission_requests_total/);
        else t.match(JSON.parse(body), { status: path === '/healthz' ? 'ok' : 'ready' });
      }
    }
  }
  t.equal((await fetch(`${plain}/metricsx`)).status, 404, 'another path is still 404');
  t.equal((await fetch(`${plain}/metrics`, { method: 'POST' })).status, 404, 'as is another method');
});
