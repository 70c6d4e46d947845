import t from 'tap';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { InformerInferencePools, type PoolChange } from '../../src/cluster/informer-inference-pools.ts';
import { envoyFilterApi } from '../../src/reconcile/envoyfilter-api.ts';

const V1 = '/apis/inference.networking.k8s.io/v1/inferencepools';
const pool = (name: string, service: string, port: number, resourceVersion: string) => ({
  apiVersion: 'inference.networking.k8s.io/v1',
  kind: 'InferencePool',
  metadata: { name, namespace: 'llm-d', resourceVersion, annotations: { big: 'x'.repeat(500) } },
  spec: { selector: { matchLabels: { app: name } }, targetPorts: [{ number: 8000 }], endpointPickerRef: { name: service, port: { number: port } } },
});

/** A kubeconfig for a stand-in kube-apiserver listening on loopback. */
function kubeConfigOf(server: Server): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
  return kubeConfig;
}

/**
 * A stand-in kube-apiserver: the pools of `path` listed (by default two v1 pools) and watched; every other API not
 * installed (404), as the v1alpha2 one in a cluster without that CRD. The LIST answers in `pages` as kube-apiserver
 * answers a custom resource: the raw JSON, whose continue token is `metadata.continue` (the typed clients' `_continue`
 * is client-node's renaming); with the default page size of 500, a cluster of more than 500 pools or EnvoyFilters is
 * listed in more than one page.
 */
function fakeApi(path = V1, pages: unknown[][] = [[pool('pool-a', 'epp-a', 9002, '5'), pool('pool-b', 'epp-b', 9012, '6')]]) {
  const watches: ServerResponse[] = [];
  const paths: string[] = [];
  const continues: (string | null)[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    paths.push(`${url.pathname}${url.searchParams.get('watch') === 'true' ? '?watch' : ''}`);
    if (url.pathname !== path) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404, message: 'the server could not find the requested resource' }));
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      response.flushHeaders();
      watches.push(response);
      return;
    }
    const token = url.searchParams.get('continue');
    continues.push(token);
    const at = token === null ? 0 : Number(token.slice('page-'.length));
    const next = at + 1 < pages.length ? { continue: `page-${at + 1}`, remainingItemCount: pages.slice(at + 1).flat().length } : {};
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: '10', ...next }, items: pages[at] }));
  });
  return { server, watches, paths, continues };
}

t.test('lists and watches v1 pools, keeps the Endpoint Picker only, and counts an absent v1alpha2 API as synced and empty', async (t) => {
  const api = fakeApi();
  await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = kubeConfigOf(api.server);
  const changes: (PoolChange | { type: 'resynced' })[] = [];
  const errors: string[] = [];
  const pools = new InformerInferencePools({
    kubeConfig,
    onPoolChange: (change) => changes.push(change),
    onEvent: (event) => void (event.type === 'error' && errors.push(event.error.message)),
    initialBackoffMs: 20,
    maxBackoffMs: 50,
  });
  t.same(pools.lookupPool('llm-d', 'pool-a').kind, 'unavailable', 'unavailable before the first list');
  await pools.start();
  t.teardown(async () => {
    await pools.stop();
    api.server.closeAllConnections();
    api.server.close();
  });
  t.ok(pools.ready());
  t.same(pools.lookupPool('llm-d', 'pool-a'), {
    kind: 'found',
    pool: { group: 'inference.networking.k8s.io', namespace: 'llm-d', name: 'pool-a', endpointPicker: { kind: 'Service', name: 'epp-a', port: 9002, failureMode: 'FailClose' } },
  });
  t.same(pools.lookupPool('llm-d', 'nope'), { kind: 'not-found' });
  t.same([...pools.endpointPickerServices()].sort(), ['llm-d/epp-a', 'llm-d/epp-b']);

  const watch = await new Promise<ServerResponse>((resolve) => {
    const poll = setInterval(() => {
      if (api.watches.length > 0) {
        clearInterval(poll);
        resolve(api.watches[0]);
      }
    }, 10);
  });
  watch.write(`${JSON.stringify({ type: 'MODIFIED', object: pool('pool-b', 'epp-c', 9022, '11') })}\n`);
  watch.write(`${JSON.stringify({ type: 'MODIFIED', object: { ...pool('pool-a', 'epp-a', 9002, '12'), metadata: { name: 'pool-a', namespace: 'llm-d', resourceVersion: '12', labels: { only: 'a label' } } } })}\n`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const repointed = changes.filter((c): c is PoolChange => !('type' in c));
  t.equal(repointed.length, 1, 'a change that leaves the Endpoint Picker as it was is not reported');
  t.equal(repointed[0].name, 'pool-b');
  t.equal(repointed[0].before?.endpointPicker?.name, 'epp-b');
  t.equal(repointed[0].after?.endpointPicker?.name, 'epp-c');
  t.same([...pools.endpointPickerServices()].sort(), ['llm-d/epp-a', 'llm-d/epp-c'], 'the old EPP Service is no longer one');
  t.same([...pools.records()].map((r) => `${r.name}->${r.endpointPicker?.name}:${r.endpointPicker?.port}`).sort(), ['pool-a->epp-a:9002', 'pool-b->epp-c:9022'], 'every pool as lookups see it, once');
  t.same(errors, [], 'the absent v1alpha2 API is not reported as a failure');
  t.ok(api.paths.includes('/apis/inference.networking.x-k8s.io/v1alpha2/inferencepools?watch'), 'and it is watched for, in case its CRD is installed later');
});

t.test('a CRD installed after start is picked up by the watch, and its later failures are reported, not taken for absence', async (t) => {
  const V1ALPHA2 = '/apis/inference.networking.x-k8s.io/v1alpha2/inferencepools';
  let installed = false;
  let forbidden = false;
  const alphaWatches: ServerResponse[] = [];
  const v1Watches: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const watching = url.searchParams.get('watch') === 'true';
    const known = url.pathname === V1 || (url.pathname === V1ALPHA2 && installed);
    if (!known || (url.pathname === V1ALPHA2 && forbidden)) {
      const code = known ? 403 : 404;
      response.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code, message: known ? 'forbidden' : 'the server could not find the requested resource' }));
      return;
    }
    if (watching) {
      response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      response.flushHeaders();
      (url.pathname === V1ALPHA2 ? alphaWatches : v1Watches).push(response);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'InferencePoolList', metadata: { resourceVersion: '10' }, items: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = kubeConfigOf(server);
  const errors: string[] = [];
  const pools = new InformerInferencePools({ kubeConfig, onEvent: (event) => void (event.type === 'error' && errors.push(event.error.message)), initialBackoffMs: 20, maxBackoffMs: 50 });
  await pools.start();
  t.teardown(async () => {
    await pools.stop();
    server.closeAllConnections();
    server.close();
  });
  const until = async (condition: () => boolean) => {
    for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(errors, [], 'the v1alpha2 CRD missing is not a failure');

  installed = true;
  await until(() => alphaWatches.length > 0);
  const alphaPool = { apiVersion: 'inference.networking.x-k8s.io/v1alpha2', kind: 'InferencePool', metadata: { name: 'old-pool', namespace: 'llm-d', resourceVersion: '20' }, spec: { extensionRef: { name: 'epp-old' } } };
  alphaWatches[0].write(`${JSON.stringify({ type: 'ADDED', object: alphaPool })}\n`);
  await until(() => pools.lookupPool('llm-d', 'old-pool').kind === 'found');
  t.match(pools.lookupPool('llm-d', 'old-pool'), { kind: 'found', pool: { endpointPicker: { name: 'epp-old', port: 9002 } } }, 'the pool of the newly installed CRD is found');
  t.equal(pools.size, 1, 'the cache holds one pool');
  await until(() => v1Watches.length > 0);
  v1Watches[0].write(`${JSON.stringify({ type: 'ADDED', object: { ...pool('old-pool', 'epp-new', 9002, '21'), metadata: { name: 'old-pool', namespace: 'llm-d', resourceVersion: '21' } } })}\n`);
  await until(() => pools.lookupPool('llm-d', 'old-pool').kind === 'found' && (pools.lookupPool('llm-d', 'old-pool') as { pool: { group: string } }).pool.group === 'inference.networking.k8s.io');
  t.match(pools.lookupPool('llm-d', 'old-pool'), { kind: 'found', pool: { endpointPicker: { name: 'epp-new' } } }, 'the v1 pool of the same name wins');
  t.equal(pools.size, 1, 'and a name both versions serve counts once');
  t.same([...pools.records()].map((r) => r.endpointPicker?.name), ['epp-new'], 'and is the one record the DestinationRule rule reads');

  forbidden = true;
  alphaWatches[0].end();
  await until(() => errors.length > 0);
  t.match(errors[0] ?? '', /watching InferencePools \(inference\.networking\.x-k8s\.io\/v1alpha2\) failed: HTTP 403/, 'a failure once the CRD is there is reported');
});


t.test('pools past the first page of the LIST are cached: the continue token of a custom resource list is followed', async (t) => {
  const api = fakeApi(V1, [[pool('pool-a', 'epp-a', 9002, '5')], [pool('pool-b', 'epp-b', 9012, '6')], [pool('pool-c', 'epp-c', 9022, '7')]]);
  await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
  const pools = new InformerInferencePools({ kubeConfig: kubeConfigOf(api.server), initialBackoffMs: 20, maxBackoffMs: 50 });
  await pools.start();
  t.teardown(async () => {
    await pools.stop();
    api.server.closeAllConnections();
    api.server.close();
  });
  t.same(api.continues, [null, 'page-1', 'page-2'], 'each page asked for with the token of the one before');
  t.same([...pools.endpointPickerServices()].sort(), ['llm-d/epp-a', 'llm-d/epp-b', 'llm-d/epp-c'], 'every page cached');
  t.equal(pools.lookupPool('llm-d', 'pool-c').kind, 'found', 'a pool of the last page is found');
});

t.test("the reconciler's EnvoyFilter LIST carries the continue token of the raw answer", async (t) => {
  const filter = (name: string) => ({ apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name, namespace: 'llm-d' }, spec: {} });
  const api = fakeApi('/apis/networking.istio.io/v1alpha3/envoyfilters', [[filter('a')], [filter('b')]]);
  await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    api.server.closeAllConnections();
    api.server.close();
  });
  const filters = envoyFilterApi(kubeConfigOf(api.server));
  const first = await filters.listPage({ limit: 1, _continue: undefined }, AbortSignal.timeout(5_000));
  t.same(first.metadata, { _continue: 'page-1', resourceVersion: '10' });
  const last = await filters.listPage({ limit: 1, _continue: first.metadata?._continue }, AbortSignal.timeout(5_000));
  t.same(last.metadata, { resourceVersion: '10' }, 'no token on the last page');
  t.same(last.items.map((item) => (item as { metadata: { name: string } }).metadata.name), ['b']);
});
