import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backoffDelay } from '../../src/cluster/backoff.ts';
import { InformerServiceResolver, type InformerEvent } from '../../src/cluster/informer-resolver.ts';
import type { ServiceCacheChange } from '../../src/cluster/service-change.ts';
import { scratchDir } from '../helpers/scratch-dir.ts';

/** One request that reached the fake API server, answered by the test when it chooses. */
class Arrival {
  readonly url: URL;
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly closed: Promise<void>;

  constructor(request: IncomingMessage, response: ServerResponse) {
    this.url = new URL(request.url ?? '/', 'http://fake');
    this.request = request;
    this.response = response;
    this.closed = new Promise((resolve) => response.on('close', () => resolve()));
  }

  query(name: string): string | null {
    return this.url.searchParams.get(name);
  }

  json(status: number, body: unknown): void {
    this.response.writeHead(status, { 'content-type': 'application/json' });
    this.response.end(JSON.stringify(body));
  }

  /** Starts a watch stream the way the API server does: headers at once, then newline-delimited JSON events. */
  openStream(): void {
    this.response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    this.response.flushHeaders();
  }

  write(chunk: string): void {
    this.response.write(chunk);
  }
}

/** A stand-in for kube-apiserver's /api/v1/services that queues each LIST and WATCH request for the test to answer. */
class FakeServicesApi {
  readonly server: Server;
  readonly #arrivals = { list: [] as Arrival[], watch: [] as Arrival[] };
  readonly #waiters = { list: [] as ((arrival: Arrival) => void)[], watch: [] as ((arrival: Arrival) => void)[] };
  readonly authorizations: (string | undefined)[] = [];

  constructor() {
    this.server = createServer((request, response) => {
      const arrival = new Arrival(request, response);
      this.authorizations.push(request.headers.authorization);
      if (arrival.url.pathname !== '/api/v1/services') {
        arrival.json(404, { kind: 'Status', code: 404, message: `unexpected path ${arrival.url.pathname}` });
        return;
      }
      const kind = arrival.query('watch') === 'true' ? 'watch' : 'list';
      const waiter = this.#waiters[kind].shift();
      if (waiter === undefined) this.#arrivals[kind].push(arrival);
      else waiter(arrival);
    });
  }

  next(kind: 'list' | 'watch'): Promise<Arrival> {
    const waiting = this.#arrivals[kind].shift();
    if (waiting !== undefined) return Promise.resolve(waiting);
    return new Promise((resolve) => this.#waiters[kind].push(resolve));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function kubeconfigFor(server: string): string {
  const dir = scratchDir('epp-kubeconfig-');
  const path = join(dir, 'kubeconfig');
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {server: "${server}", insecure-skip-tls-verify: true}
users:
- name: tester
  user: {token: fake-token}
contexts:
- name: fake
  context: {cluster: fake, user: tester}
current-context: fake
`,
  );
  return path;
}

function service(namespace: string, name: string, clusterIP: string, resourceVersion: string): Record<string, unknown> {
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: { namespace, name, resourceVersion, labels: { app: name }, annotations: { note: 'x'.repeat(1000) } },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'grpc', port: 9002, protocol: 'TCP', targetPort: 9002 }] },
    status: { loadBalancer: {} },
  };
}

function serviceList(resourceVersion: string, items: Record<string, unknown>[], continueToken?: string): Record<string, unknown> {
  // The API server omits kind and apiVersion on the items of a list.
  const bare = items.map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest);
  return { kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion, ...(continueToken ? { continue: continueToken } : {}) }, items: bare };
}

function line(type: string, object: unknown): string {
  return `${JSON.stringify({ type, object })}\n`;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function setUp(t: Test, options: { initialBackoffMs?: number; listPageTimeoutMs?: number } = {}) {
  const api = new FakeServicesApi();
  const server = await api.listen();
  const events: InformerEvent[] = [];
  const changes: ServiceCacheChange[] = [];
  const resolver = new InformerServiceResolver({
    kubeconfig: kubeconfigFor(server),
    onEvent: (event) => events.push(event),
    onServiceChange: (change) => changes.push(change),
    initialBackoffMs: options.initialBackoffMs ?? 10,
    maxBackoffMs: 50,
    ...(options.listPageTimeoutMs ? { listPageTimeoutMs: options.listPageTimeoutMs } : {}),
  });
  t.teardown(async () => {
    await resolver.stop();
    await api.close();
  });
  return { api, resolver, events, changes, server };
}

t.test('lists page by page, follows watch events, re-watches, relists on 410 and stops cleanly', async (t) => {
  const { api, resolver, events, server } = await setUp(t);
  t.match(resolver.source, server);
  t.equal(resolver.ready(), false);
  let started = false;
  const starting = resolver.start().then(() => (started = true));

  const firstPage = await api.next('list');
  t.equal(firstPage.query('limit'), '500');
  t.equal(firstPage.query('continue'), null);
  t.equal(resolver.ready(), false, 'not ready while the first list is in flight');
  const before = resolver.lookup('llm', 'a');
  t.equal(before.kind, 'unavailable');
  if (before.kind === 'unavailable') t.match(before.reason, /has not finished its first list from the API server.*temporary/);
  firstPage.json(200, serviceList('100', [service('llm', 'a', '10.0.0.1', '90'), service('llm', 'b', '10.0.0.2', '91')], 'page-2'));

  const secondPage = await api.next('list');
  t.equal(secondPage.query('continue'), 'page-2', 'the continue token of page 1 is sent back');
  t.equal(secondPage.query('limit'), '500');
  t.equal(resolver.ready(), false, 'not ready after only the first page');
  t.equal(started, false);
  secondPage.json(200, serviceList('100', [service('other', 'c', '10.0.0.3', '95')]));

  await starting;
  t.equal(resolver.ready(), true);
  t.equal(resolver.size(), 3);
  t.ok(resolver.lastSyncTime instanceof Date);
  t.strictSame(resolver.lookup('llm', 'a'), {
    kind: 'found',
    service: { namespace: 'llm', name: 'a', type: 'ClusterIP', clusterIP: '10.0.0.1', ports: [{ name: 'grpc', port: 9002, protocol: 'TCP' }] },
  });
  t.strictSame(resolver.lookup('llm', 'c'), { kind: 'not-found' });
  t.equal(api.authorizations[0], 'Bearer fake-token', 'the kubeconfig credentials are used');

  const firstWatch = await api.next('watch');
  t.equal(firstWatch.query('resourceVersion'), '100', 'the watch starts at the list resourceVersion');
  t.equal(firstWatch.query('allowWatchBookmarks'), 'true');
  firstWatch.openStream();
  const added = line('ADDED', service('llm', 'd', '10.0.0.4', '101'));
  // An event split across chunks, then several events in one chunk.
  firstWatch.write(added.slice(0, 40));
  firstWatch.write(added.slice(40) + line('MODIFIED', service('llm', 'a', '10.0.0.11', '102')));
  firstWatch.write(line('DELETED', service('llm', 'b', '10.0.0.2', '103')));
  firstWatch.write(line('BOOKMARK', { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: '104' } }));
  await waitFor('the watch events', () => resolver.resourceVersion === '104');
  t.match(resolver.lookup('llm', 'd'), { kind: 'found', service: { clusterIP: '10.0.0.4' } });
  t.match(resolver.lookup('llm', 'a'), { kind: 'found', service: { clusterIP: '10.0.0.11' } });
  t.strictSame(resolver.lookup('llm', 'b'), { kind: 'not-found' });
  t.equal(resolver.size(), 3);

  firstWatch.response.end();
  const secondWatch = await api.next('watch');
  t.equal(secondWatch.query('resourceVersion'), '104', 'the re-watch resumes from the last resourceVersion seen (a bookmark)');
  t.equal(resolver.watchRestarts, 1);
  secondWatch.openStream();
  secondWatch.write(
    line('ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 104 (150)', reason: 'Expired', code: 410 }),
  );

  const relist = await api.next('list');
  t.equal(relist.query('continue'), null, 'a relist starts from scratch');
  await secondWatch.closed;
  t.pass('the expired watch is closed by the client');
  t.equal(resolver.ready(), true, 'still ready while relisting');
  t.match(resolver.lookup('llm', 'd'), { kind: 'found' }, 'lookups answer from the old cache during the relist');
  relist.json(200, serviceList('200', [service('llm', 'a', '10.0.0.21', '180'), service('llm', 'e', '10.0.0.5', '190')]));

  const thirdWatch = await api.next('watch');
  t.equal(thirdWatch.query('resourceVersion'), '200', 'the watch after a relist starts at the relist resourceVersion');
  t.strictSame(resolver.lookup('llm', 'd'), { kind: 'not-found' }, 'the relist replaced the cache');
  t.match(resolver.lookup('llm', 'e'), { kind: 'found', service: { clusterIP: '10.0.0.5' } });
  t.match(resolver.lookup('llm', 'a'), { kind: 'found', service: { clusterIP: '10.0.0.21' } });
  t.equal(resolver.size(), 2);
  thirdWatch.openStream();
  await waitFor('the third watch answered', () => events.at(-1)?.type === 'answered');

  await resolver.stop();
  await thirdWatch.closed;
  t.pass('stop() closes the open watch');

  t.match(events, [
    { type: 'synced', initial: true, services: 3, resourceVersion: '100' },
    { type: 'answered', resourceVersion: '100' },
    { type: 'watch-restart', cause: 'ended', reason: /ended the watch/, resourceVersion: '104' },
    { type: 'relist', reason: /104.*410 Gone/ },
    { type: 'synced', initial: false, services: 2, resourceVersion: '200' },
    { type: 'answered', resourceVersion: '200' },
  ]);
  t.equal(events.length, 6);
});

t.test('each watch event is told as a Service change from the record held before it, each full list as a resync', async (t) => {
  const { api, resolver, changes } = await setUp(t);
  const starting = resolver.start();
  (await api.next('list')).json(200, serviceList('10', [service('llm', 'a', '10.0.0.1', '5')]));
  await starting;
  t.match(changes, [{ type: 'resynced', receivedAt: Number }]);
  const watch = await api.next('watch');
  watch.openStream();
  watch.write(line('MODIFIED', service('llm', 'a', '10.0.0.2', '11')));
  watch.write(line('ADDED', service('llm', 'b', '10.0.0.3', '12')));
  watch.write(line('DELETED', service('llm', 'a', '10.0.0.8', '13')));
  watch.write(line('DELETED', service('llm', 'unknown', '10.0.0.9', '14')));
  watch.write(line('BOOKMARK', { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: '15' } }));
  await waitFor('the watch events', () => resolver.resourceVersion === '15');
  t.match(changes.slice(1), [
    { type: 'service', namespace: 'llm', name: 'a', before: { clusterIP: '10.0.0.1' }, after: { clusterIP: '10.0.0.2' }, receivedAt: Number },
    { type: 'service', namespace: 'llm', name: 'b', before: undefined, after: { clusterIP: '10.0.0.3' } },
    { type: 'service', namespace: 'llm', name: 'a', before: { clusterIP: '10.0.0.2' }, after: undefined },
    { type: 'service', namespace: 'llm', name: 'unknown', before: undefined, after: undefined },
  ]);
  t.equal(changes.length, 5, 'a bookmark changes no Service');
});

t.test('an HTTP 410 on the watch request relists too', async (t) => {
  const { api, resolver, events } = await setUp(t);
  const starting = resolver.start();
  (await api.next('list')).json(200, serviceList('7', [service('llm', 'a', '10.0.0.1', '5')]));
  await starting;
  (await api.next('watch')).json(410, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 });
  (await api.next('list')).json(200, serviceList('9', [service('llm', 'b', '10.0.0.2', '8')]));
  const watch = await api.next('watch');
  t.equal(watch.query('resourceVersion'), '9');
  t.strictSame(resolver.lookup('llm', 'a'), { kind: 'not-found' });
  t.match(events, [{ type: 'synced' }, { type: 'relist' }, { type: 'synced', initial: false }]);
});

t.test('failures are reported, retried with backoff, and a failing first list keeps lookups unavailable', async (t) => {
  const { api, resolver, events } = await setUp(t);
  const starting = resolver.start();
  (await api.next('list')).json(500, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'etcd is down', code: 500 });
  const secondTry = await api.next('list');
  const lookup = resolver.lookup('llm', 'a');
  t.equal(lookup.kind, 'unavailable');
  if (lookup.kind === 'unavailable') t.match(lookup.reason, /\(last error: listing Services failed: HTTP 500: etcd is down\)$/);
  t.match(events[0], { type: 'error', error: { message: 'listing Services failed: HTTP 500: etcd is down' } });
  secondTry.json(200, serviceList('3', [service('llm', 'a', '10.0.0.1', '2')]));
  await starting;

  (await api.next('watch')).json(500, { kind: 'Status', code: 500, message: 'internal error' });
  const rewatch = await api.next('watch');
  t.equal(rewatch.query('resourceVersion'), '3', 'a failed watch is retried from the same resourceVersion');
  t.match(events.slice(1), [
    { type: 'synced', initial: true },
    { type: 'error', error: { message: 'watching Services failed: HTTP 500 Internal Server Error' }, retryInMs: Number },
    { type: 'watch-restart', cause: 'failed', reason: /^watching Services failed: HTTP 500/ },
  ]);
  t.match(resolver.lookup('llm', 'a'), { kind: 'found' }, 'lookups keep answering from the cache while the watch fails');
  t.notOk(events.some((e) => e.type === 'answered'), 'no watch was answered yet');
  rewatch.openStream();
  await waitFor('the answered watch to be told', () => events.at(-1)?.type === 'answered');
  t.match(events.at(-1), { type: 'answered', resourceVersion: '3' }, 'the retried watch stayed open: the cache is current again');
});

t.test('a watch answered 200 whose stream fails at once is no answer: the failures run on without one', async (t) => {
  // What an API server whose watch cache is behind does, again and again (504, too large resource version).
  const { api, resolver, events } = await setUp(t);
  const starting = resolver.start();
  (await api.next('list')).json(200, serviceList('7', []));
  await starting;
  for (let i = 0; i < 3; i++) {
    const watch = await api.next('watch');
    watch.openStream();
    watch.write(line('ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Too large resource version: 7, current: 5', reason: 'Timeout', code: 504 }));
  }
  await api.next('watch');
  t.equal(events.filter((e) => e.type === 'error').length, 3, 'three failures');
  t.notOk(events.some((e) => e.type === 'answered'), 'and no answer among them');
  await resolver.stop();
});

t.test('an unreachable API server is named in the unavailable reason', async (t) => {
  const closed = new FakeServicesApi();
  const server = await closed.listen();
  await closed.close();
  const events: InformerEvent[] = [];
  const resolver = new InformerServiceResolver({ kubeconfig: kubeconfigFor(server), onEvent: (event) => events.push(event), initialBackoffMs: 10, maxBackoffMs: 20 });
  t.teardown(() => resolver.stop());
  void resolver.start();
  await waitFor('a connection error', () => events.length > 0);
  const lookup = resolver.lookup('llm', 'a');
  t.equal(lookup.kind, 'unavailable');
  if (lookup.kind === 'unavailable') t.match(lookup.reason, /ECONNREFUSED/);
});

t.test('stop() before the first list completes aborts the list and resolves start()', async (t) => {
  const { api, resolver } = await setUp(t);
  const starting = resolver.start();
  const list = await api.next('list');
  await resolver.stop();
  await list.closed;
  await starting;
  t.equal(resolver.ready(), false);
});

t.test('stop() during a retry wait returns at once', async (t) => {
  const { api, resolver } = await setUp(t, { initialBackoffMs: 60_000 });
  void resolver.start();
  (await api.next('list')).json(500, { kind: 'Status', code: 500 });
  await waitFor('the retry to be scheduled', () => resolver.lookup('x', 'y').kind === 'unavailable' && /last error/.test(JSON.stringify(resolver.lookup('x', 'y'))));
  const stoppedAt = Date.now();
  await resolver.stop();
  t.ok(Date.now() - stoppedAt < 1_000);
});

t.test('after stop() nothing keeps the process alive', async (t) => {
  // A separate process, so the fake server's own sockets cannot hide a handle the resolver leaks.
  const api = new FakeServicesApi();
  const server = await api.listen();
  t.teardown(() => api.close());
  const resolverModule = fileURLToPath(new URL('../../src/cluster/informer-resolver.ts', import.meta.url));
  const script = `
    import { InformerServiceResolver } from ${JSON.stringify(resolverModule)};
    const resolver = new InformerServiceResolver({ kubeconfig: ${JSON.stringify(kubeconfigFor(server))} });
    await resolver.start();
    process.stdin.once('data', async () => {
      process.stdin.destroy();
      await resolver.stop();
      setTimeout(() => console.error('resolver stopped but the process is still alive, kept by', process.getActiveResourcesInfo()), 2000).unref();
    });
    process.stdout.write('synced\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  (await api.next('list')).json(200, serviceList('1', [service('llm', 'a', '10.0.0.1', '1')]));
  const watch = await api.next('watch');
  watch.openStream();
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.stdin.write('stop\n');
  const timer = setTimeout(() => child.kill(), 5_000);
  t.equal(await exited, 0, 'the process exits by itself once stop() is called');
  clearTimeout(timer);
  await watch.closed;
});

t.test('backoff grows from the initial delay to the cap, with jitter', async (t) => {
  t.equal(backoffDelay(1, 250, 30_000, () => 1), 250);
  t.equal(backoffDelay(1, 250, 30_000, () => 0), 125);
  t.equal(backoffDelay(3, 250, 30_000, () => 1), 1_000);
  t.equal(backoffDelay(20, 250, 30_000, () => 1), 30_000);
  t.equal(backoffDelay(20, 250, 30_000, () => 0), 15_000);
});

t.test('a kubeconfig that cannot be read is named', async (t) => {
  t.throws(() => new InformerServiceResolver({ kubeconfig: '/nonexistent/kubeconfig' }), /cannot load kubeconfig \/nonexistent\/kubeconfig/);
});

t.test('a LIST that never answers is abandoned after the page timeout and retried', async (t) => {
  const { api, resolver, events } = await setUp(t, { listPageTimeoutMs: 200 });
  void resolver.start();
  const hung = await api.next('list');
  const retried = await api.next('list');
  t.ok(events.some((e) => e.type === 'error'), 'the stalled list is reported as a failure');
  t.equal(resolver.ready(), false, 'not ready while nothing was listed');
  retried.json(200, serviceList('3', [service('llm', 'a', '10.0.0.1', '2')]));
  await waitFor('the retry to sync', () => resolver.ready());
  t.equal(resolver.lookup('llm', 'a').kind, 'found');
  void hung;
});

t.test('a watch that delivers nothing for 30 s is ended by client-node and started again from its resourceVersion, as cause idle', async (t) => {
  // What every quiet cluster sees twice a minute (bookmarks come about every 60 s): the metric tells it apart from failures.
  const { api, resolver, events } = await setUp(t);
  const starting = resolver.start();
  (await api.next('list')).json(200, serviceList('40', [service('llm', 'a', '10.0.0.1', '39')]));
  await starting;
  (await api.next('watch')).openStream();
  const again = await api.next('watch');
  t.equal(again.query('resourceVersion'), '40', 'resumed from where it was');
  t.match(events.slice(1), [{ type: 'answered', resourceVersion: '40' }, { type: 'watch-restart', cause: 'idle', reason: /idle for 30 s/, resourceVersion: '40' }]);
  t.notOk(events.some((e) => e.type === 'error'), 'not reported as an error');
  await resolver.stop();
});
