/**
 * Faults on the real control plane, with `epp-webhook serve` as its own process:
 * - kube-apiserver killed while the webhook runs: /mutate keeps answering from the cache while the apiserver is
 *   down, the watch resumes after it is back, and a Service created after the restart is seen;
 * - the Service list not synced at start (an apiserver that swallows connections, then one that is down):
 *   /readyz 503, lookups denied at once as temporary (EPP104, 503), and ready once the API answers.
 */
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from './harness/control-plane.ts';
import { createNamespace, createService, installCrdsAndRbac } from './harness/cluster-setup.ts';
import { waitFor } from './harness/processes.ts';
import { launchWebhookProcess, startWebhookProcess, WEBHOOK_IDENTITY, type WebhookProcess } from './harness/webhook-process.ts';

const NS = 'llm-d-inference-scheduler';
const ROOT = new URL('../../', import.meta.url).pathname;
const { parse } = await import('yaml');
const guide = parse(readFileSync(join(ROOT, 'test/fixtures/manifests/guide-envoyfilter.yaml'), 'utf8'));

let cp: ControlPlane;
let clusterIP: string;
const figures: Record<string, unknown> = {};

t.before(async () => {
  cp = await startControlPlane();
  await installCrdsAndRbac(cp);
  await createNamespace(cp, NS);
  clusterIP = await createService(cp, NS, 'gaie-inference-scheduling-epp', [9002]);
});
t.teardown(async () => {
  t.comment(`fault figures: ${JSON.stringify(figures)}`);
  await cp?.stop();
});

function envoyFilter(service?: string) {
  const object = structuredClone(guide);
  if (service) object.metadata.annotations = { 'epp-webhook.io/epp-service': service };
  return object;
}

function mutate(webhook: WebhookProcess, object: unknown, uid = 'fault'): Promise<{ status: number; response: any; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${webhook.url}/mutate`, { method: 'POST', ca: webhook.caPem, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, response: JSON.parse(text).response, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, kind: { group: 'networking.istio.io', version: 'v1alpha3', kind: 'EnvoyFilter' }, operation: 'CREATE', namespace: NS, object } }));
  });
}

const substituted = (response: any) => (response.patch ? Buffer.from(response.patch, 'base64').toString() : '');
const probe = async (webhook: WebhookProcess, path: '/readyz' | '/healthz') => (await fetch(`http://127.0.0.1:${webhook.metricsPort}${path}`)).status;
const CACHES = ['Services', 'InferencePools', 'EnvoyFilters'];
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

t.test('the apiserver killed and restarted while the webhook runs', async (t) => {
  const webhook = await startWebhookProcess(cp);
  t.teardown(() => webhook.stop());
  const restartsBefore = metric(await webhook.metrics(), 'epp_webhook_service_watch_restarts_total\\{cause="failed"\\}');

  const stopping = performance.now();
  await cp.stopApiserver();
  const down = performance.now();
  let answered = 0;
  while (performance.now() - down < 6000) {
    const { status, response, ms } = await mutate(webhook, envoyFilter(), `down-${answered}`);
    t.equal(status, 200);
    t.equal(response.allowed, true, 'admitted from the cache while the apiserver is down');
    t.ok(substituted(response).includes(clusterIP), `with the cached ClusterIP ${clusterIP} (${Math.round(ms)} ms)`);
    answered++;
    await new Promise((r) => setTimeout(r, 400));
  }
  t.equal(await probe(webhook, '/readyz'), 200, 'still ready: the cache stays valid while the watch retries');
  figures.answeredWhileApiserverDown = answered;
  const during = await webhook.metrics();
  for (const cache of CACHES) {
    const failing = metric(during, `epp_webhook_cache_failing_seconds\\{cache="${cache}"\\}`);
    const sinceStopping = (performance.now() - stopping) / 1000;
    t.ok(failing > 0 && failing <= sinceStopping, `${cache}: failing for ${failing} s, since the apiserver began to stop ${sinceStopping.toFixed(1)} s ago`);
    t.ok(metric(during, `epp_webhook_cache_list_watch_failures_total\\{cache="${cache}"\\}`) > 0, `${cache}: its failures counted`);
  }

  await cp.startApiserver();
  const up = performance.now();
  const later = await createService(cp, NS, 'epp-after-restart', [9002]);
  const seen = await waitFor(
    'the Service created after the restart to be resolved',
    async () => {
      const { response } = await mutate(webhook, envoyFilter('epp-after-restart'), 'after-restart');
      return response.allowed && substituted(response).includes(later) ? true : undefined;
    },
    60_000,
    250,
  );
  t.ok(seen, `the new Service ${later} is resolved ${Math.round(performance.now() - up)} ms after the apiserver came back`);
  figures.newServiceSeenAfterRestartMs = Math.round(performance.now() - up);
  const metrics = await webhook.metrics();
  t.ok(metric(metrics, 'epp_webhook_service_watch_restarts_total\\{cause="failed"\\}') > restartsBefore, 'the watch was restarted (and counted as failed)');
  t.match(readFileSync(webhook.process.logFile, 'utf8'), /Service list\/watch failed; retrying/, 'the failures were logged as retries');
  const current = await waitFor(
    'every cache current again',
    async () => {
      const text = await webhook.metrics();
      return CACHES.every((cache) => metric(text, `epp_webhook_cache_failing_seconds\\{cache="${cache}"\\}`) === 0) ? true : undefined;
    },
    // Two retries at the backoff's 30 s ceiling, and a list: a retry that falls after the apiserver is back but
    // before it serves the custom resources again fails once more (seen once in a cold CI run, where 30 s was short).
    75_000,
    250,
  );
  t.ok(current, 'epp_webhook_cache_failing_seconds is back to 0 for every cache once its watch is answered');
});

/** A TCP front for the apiserver that first swallows connections (accepts, never answers), then forwards. */
function blackholeProxy(target: number): Promise<{ server: Server; port: number; forward(): void; close(): void }> {
  let forwarding = false;
  const held = new Set<Socket>();
  const server = createServer((socket) => {
    socket.on('error', () => {});
    if (!forwarding) {
      held.add(socket);
      socket.once('close', () => held.delete(socket));
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    upstream.on('error', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        port: (server.address() as { port: number }).port,
        forward: () => (forwarding = true),
        close: () => {
          for (const socket of held) socket.destroy();
          server.close();
        },
      }),
    ),
  );
}

async function expectUnsynced(t: Test, webhook: WebhookProcess, what: string) {
  t.equal(await probe(webhook, '/healthz'), 200, `${what}: alive`);
  t.equal(await probe(webhook, '/readyz'), 503, `${what}: not ready`);
  const { status, response, ms } = await mutate(webhook, envoyFilter(), 'unsynced');
  t.equal(status, 200);
  t.equal(response.allowed, false, `${what}: the token is not let through`);
  t.equal(response.status.code, 503, `${what}: denied as temporary, so kubectl and controllers retry`);
  t.match(response.status.message, /cannot be admitted right now \(temporary; retry\)\n\[EPP104\].*has not finished its first list/);
  t.ok(ms < 1000, `${what}: answered in ${Math.round(ms)} ms, not held on the API`);
  return ms;
}

t.test('not synced at start: an apiserver that swallows connections, then answers', async (t) => {
  const apiPort = Number(new URL(cp.server).port);
  const proxy = await blackholeProxy(apiPort);
  t.teardown(() => proxy.close());
  const own = readFileSync(cp.kubeconfigFor(WEBHOOK_IDENTITY, ['system:serviceaccounts', 'system:serviceaccounts:epp-webhook']), 'utf8');
  const kubeconfig = join(cp.dir, 'webhook-via-blackhole.kubeconfig');
  writeFileSync(kubeconfig, own.replace(`server: ${cp.server}`, `server: https://127.0.0.1:${proxy.port}`), { mode: 0o600 });
  const webhook = await launchWebhookProcess(cp, { waitFor: 'alive', kubeconfig, logName: 'webhook-blackhole.log' });
  t.teardown(() => webhook.stop());

  figures.blackholeDenialMs = Math.round(await expectUnsynced(t, webhook, 'blackholed'));
  await new Promise((r) => setTimeout(r, 3000));
  t.equal(await probe(webhook, '/readyz'), 503, 'still not ready 3 s later');

  proxy.forward();
  const opened = performance.now();
  await waitFor('ready once the apiserver answers', async () => ((await probe(webhook, '/readyz')) === 200 ? true : undefined), 90_000, 250);
  figures.readyAfterBlackholeOpensMs = Math.round(performance.now() - opened);
  t.ok(true, `ready ${figures.readyAfterBlackholeOpensMs} ms after the apiserver became reachable`);
  const { response } = await mutate(webhook, envoyFilter(), 'after-blackhole');
  t.equal(response.allowed, true);
  t.ok(substituted(response).includes(clusterIP));
});

t.test('not synced at start: the webhook started while the apiserver is down', async (t) => {
  await cp.stopApiserver();
  t.teardown(() => cp.startApiserver());
  const webhook = await launchWebhookProcess(cp, { waitFor: 'alive', logName: 'webhook-before-apiserver.log' });
  t.teardown(() => webhook.stop());
  figures.apiserverDownDenialMs = Math.round(await expectUnsynced(t, webhook, 'apiserver down'));

  await cp.startApiserver();
  const up = performance.now();
  await waitFor('ready once the apiserver is up', async () => ((await probe(webhook, '/readyz')) === 200 ? true : undefined), 90_000, 250);
  figures.readyAfterApiserverUpMs = Math.round(performance.now() - up);
  t.ok(true, `ready ${figures.readyAfterApiserverUpMs} ms after the apiserver was ready`);
  const { response } = await mutate(webhook, envoyFilter(), 'after-start');
  t.equal(response.allowed, true);
  t.ok(substituted(response).includes(clusterIP));
});
