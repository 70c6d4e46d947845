/**
 * /readyz waits for every cache the admissions are answered from: Services, InferencePools (both APIs) and
 * EnvoyFilters, listed from a stand-in API server that holds each first list until the test lets it go. Until the
 * EnvoyFilter cache has listed, a pool route is denied as temporary (EPP104): a replica that said it was ready then
 * would fail applies that another replica admits. Each cache's `_synced` gauge on /metrics says what /readyz says.
 */
import t from 'tap';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { informerEnvoyFilterIndex } from '../../src/cluster/informer-envoyfilter-index.ts';
import { InformerInferencePools } from '../../src/cluster/informer-inference-pools.ts';
import { InformerServiceResolver } from '../../src/cluster/informer-resolver.ts';
import { admissionReview, manifest } from '../helpers/fixtures.ts';
import { httpsRequest, postJson } from '../helpers/https-client.ts';
import { startWebhookUnderTest } from '../helpers/webhook-under-test.ts';

const LISTS: Record<string, string> = {
  '/api/v1/services': 'ServiceList',
  '/apis/inference.networking.k8s.io/v1/inferencepools': 'InferencePoolList',
  '/apis/networking.istio.io/v1alpha3/envoyfilters': 'EnvoyFilterList',
};

/** Lists answer (empty) only once released; v1alpha2 pools are not installed (404), which counts as synced. */
function fakeApi() {
  const held = new Map<string, ServerResponse[]>();
  const released = new Set<string>();
  const answer = (path: string, response: ServerResponse) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: LISTS[path], apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }));
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    if (LISTS[url.pathname] === undefined) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404, message: 'the server could not find the requested resource' }));
    } else if (url.searchParams.get('watch') === 'true') {
      response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      response.flushHeaders();
    } else if (released.has(url.pathname)) {
      answer(url.pathname, response);
    } else {
      held.set(url.pathname, [...(held.get(url.pathname) ?? []), response]);
    }
  });
  return {
    server,
    release(path: string) {
      released.add(path);
      for (const response of held.get(path) ?? []) answer(path, response);
      held.delete(path);
    },
  };
}

t.test('/readyz is 503 naming each cache that has not listed, and 200 only once all have', async (t) => {
  const api = fakeApi();
  await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
  const server = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
  const resolver = new InformerServiceResolver({ kubeConfig, initialBackoffMs: 20, maxBackoffMs: 50 });
  const pools = new InformerInferencePools({ kubeConfig, initialBackoffMs: 20, maxBackoffMs: 50 });
  const envoyFilters = informerEnvoyFilterIndex({ kubeConfig, initialBackoffMs: 20, maxBackoffMs: 50 });
  const { server: webhook, url, ca } = await startWebhookUnderTest({ resolver, pools, envoyFilters: envoyFilters.index, envoyFiltersComplete: true });
  void resolver.start();
  void pools.start();
  void envoyFilters.start();
  t.teardown(async () => {
    resolver.stop();
    await pools.stop();
    await envoyFilters.stop();
    await webhook.close();
    api.server.closeAllConnections();
    api.server.close();
  });
  /** The HTTPS port's answer, after checking the metrics port gives the same one. */
  const readyz = async () => {
    const onHttps = await httpsRequest(`${url}/readyz`, { ca });
    const plain = await fetch(`http://127.0.0.1:${webhook.metricsPort}/readyz`);
    t.same({ status: plain.status, body: await plain.json() }, { status: onHttps.status, body: onHttps.body }, 'the metrics port answers the same');
    const scrape = await (await fetch(`http://127.0.0.1:${webhook.metricsPort}/metrics`)).text();
    const synced = (cache: string) => new RegExp(`^epp_webhook_${cache}_cache_synced (\\d)$`, 'm').exec(scrape)?.[1];
    const gauges = { Services: synced('service'), InferencePools: synced('inference_pool'), EnvoyFilters: synced('envoyfilter') };
    const notSynced = onHttps.body.notSynced ?? [];
    t.same(gauges, Object.fromEntries(Object.keys(gauges).map((what) => [what, notSynced.includes(what) ? '0' : '1'])), 'each cache\'s _synced gauge says what /readyz says');
    return onHttps;
  };
  /** The answer once the caches not synced are `expected` (a released list lands within moments). */
  const readyzWhen = async (expected: string[] | undefined) => {
    for (let i = 0; i < 100; i++) {
      const answer = await httpsRequest(`${url}/readyz`, { ca });
      if (JSON.stringify(answer.body.notSynced) === JSON.stringify(expected)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Stable from here on (nothing else is released), so both ports must agree.
    return readyz();
  };

  await new Promise((resolve) => setTimeout(resolve, 200));
  let ready = await readyz();
  t.equal(ready.status, 503);
  t.same(ready.body.notSynced, ['Services', 'InferencePools', 'EnvoyFilters']);
  t.equal(ready.body.reason, `the Service cache of ${server}, the InferencePool cache of ${server}, the EnvoyFilter cache of ${server} have not synced yet`);

  api.release('/api/v1/services');
  ready = await readyzWhen(['InferencePools', 'EnvoyFilters']);
  t.equal(ready.status, 503, 'the Service cache alone is not enough');
  t.same(ready.body.notSynced, ['InferencePools', 'EnvoyFilters']);

  api.release('/apis/inference.networking.k8s.io/v1/inferencepools');
  ready = await readyzWhen(['EnvoyFilters']);
  t.equal(ready.status, 503);
  t.same(ready.body.notSynced, ['EnvoyFilters']);
  t.equal(ready.body.reason, `the EnvoyFilter cache of ${server} has not synced yet`);
  // What a replica that said it was ready here would do with a pool route: deny it as temporary.
  const route = manifest('guide-httproute.yaml');
  const early = await postJson(`${url}/mutate`, ca, admissionReview(route));
  t.equal(early.body.response.allowed, false);
  t.equal(early.body.response.status.code, 503);
  t.match(early.body.response.status.message, /\[EPP104\].*the EnvoyFilter cache has not finished its first list/);

  api.release('/apis/networking.istio.io/v1alpha3/envoyfilters');
  ready = await readyzWhen(undefined);
  t.equal(ready.status, 200);
  t.same(ready.body, { status: 'ready', services: 0 });
  const admitted = await postJson(`${url}/mutate`, ca, admissionReview(route));
  t.equal(admitted.body.response.allowed, true, 'ready: the same route is admitted');
  t.ok(admitted.body.response.patch, 'with its ExtensionRef injected');

  t.equal((await httpsRequest(`${url}/healthz`, { ca })).status, 200, 'alive throughout');
});
