/**
 * `serve --reconcile` against a real kube-apiserver, as the webhook's service account with deploy/'s RBAC:
 * recreating the EPP Service (new ClusterIP) updates every dependent EnvoyFilter within moments; only the
 * Lease holder writes; killing it hands over after about the lease duration; hand edits are left alone; a raw
 * token stored while the webhook was unregistered gets resolved; a deleted Service leaves EnvoyFilters as they are;
 * a rewrite hands its fields back, so a server-side applier meets no conflict.
 * Measured times are printed as `# measured: ...` lines.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startControlPlane, type ControlPlane } from './harness/control-plane.ts';
import { createNamespace, createService, installCrdsAndRbac } from './harness/cluster-setup.ts';
import { waitFor } from './harness/processes.ts';
import { registerWebhooks, startWebhookProcess, unregisterWebhooks, waitUntilMutating, type WebhookProcess } from './harness/webhook-process.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const EPP_NS = 'recon-epp';
const TENANT_NS = 'recon-tenant';
const EPP = 'gaie-inference-scheduling-epp';
const ADDRESS = '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address';
const LEASE_PATH = '/apis/coordination.k8s.io/v1/namespaces/epp-webhook/leases/epp-webhook-reconciler';
const DEPENDENTS = [
  [EPP_NS, 'ef-one'],
  [EPP_NS, 'ef-two'],
  [TENANT_NS, 'ef-three'],
  [TENANT_NS, 'ef-four'],
] as const;

let cp: ControlPlane;
let configFile: string;
/** replica-a: started first, so it leads; not the registered webhook (it gets killed). */
let replicaA: WebhookProcess;
/** replica-b: the registered webhook, and the standby reconciler. */
let replicaB: WebhookProcess;
let clusterIP: string;
const measured: string[] = [];

const reconcilerArgs = (identity: string) => ['--reconcile', '--leader-election-namespace=epp-webhook', `--leader-election-identity=${identity}`];

function envoyFilter(namespace: string, name: string, annotations: Record<string, string> = {}): string {
  const manifest = parse(readFileSync(join(ROOT, 'test/fixtures/manifests/guide-envoyfilter.yaml'), 'utf8'));
  manifest.metadata = { name, namespace, annotations };
  return JSON.stringify(manifest);
}

async function apply(manifest: string): Promise<void> {
  const result = await cp.kubectl(['apply', '-f', '-'], { input: manifest });
  if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
}

async function getEnvoyFilter(namespace: string, name: string): Promise<any> {
  const { status, body } = await cp.api('GET', `/apis/networking.istio.io/v1alpha3/namespaces/${namespace}/envoyfilters/${name}`);
  if (status !== 200) throw new Error(`GET envoyfilter ${namespace}/${name}: ${status}`);
  return body;
}

function addressOf(object: any): string {
  return object.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address;
}

/**
 * The field managers of an EnvoyFilter once the reconciler's second patch, which gives its rewrite's fields back, has
 * landed (the rewrite itself is visible a moment before it); the managers as they are after 10 s otherwise.
 */
async function managersOnceHandedBack(namespace: string, name: string): Promise<string[]> {
  const managers = async () => (await getEnvoyFilter(namespace, name)).metadata.managedFields.map((f: any) => f.manager) as string[];
  return waitFor(`${namespace}/${name} without an epp-webhook field manager`, async () => ((await managers()).includes('epp-webhook') ? undefined : managers()), 10_000, 50).catch(() => managers());
}

async function leaseHolder(): Promise<string | undefined> {
  const { status, body } = await cp.api('GET', LEASE_PATH);
  return status === 200 ? body.spec?.holderIdentity : undefined;
}

async function events(namespace: string, name: string, reason?: string): Promise<any[]> {
  const { body } = await cp.api('GET', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`);
  return (body.items ?? []).filter((e: any) => e.regarding?.name === name && (reason === undefined || e.reason === reason));
}

async function deleteService(namespace: string, name: string): Promise<void> {
  const path = `/api/v1/namespaces/${namespace}/services/${name}`;
  await cp.api('DELETE', path);
  await waitFor(`Service ${namespace}/${name} gone`, async () => ((await cp.api('GET', path)).status === 404 ? true : undefined), 10_000, 50);
}

/** Creates the Service through the API (no kubectl start-up in the measurement); returns its new ClusterIP. */
async function postService(namespace: string, name: string): Promise<string> {
  const { status, body } = await cp.api('POST', `/api/v1/namespaces/${namespace}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { ports: [{ name: 'grpc', port: 9002, protocol: 'TCP' }], selector: { app: name } },
  });
  if (status !== 201) throw new Error(`creating Service ${namespace}/${name}: ${status} ${JSON.stringify(body)}`);
  return body.spec.clusterIP;
}

/** Delete + create: a new ClusterIP (the allocator is random; a repeat of the old one is retried). */
async function recreateEppService(): Promise<{ oldIP: string; newIP: string; createdAt: number }> {
  const oldIP = clusterIP;
  for (;;) {
    await deleteService(EPP_NS, EPP);
    const createdAt = Date.now();
    const newIP = await postService(EPP_NS, EPP);
    if (newIP !== oldIP) {
      clusterIP = newIP;
      return { oldIP, newIP, createdAt };
    }
  }
}

/** Polls the dependents every 25 ms until each holds `ip` at the recorded path and in the annotation; returns ms from `since`. */
async function allDependentsHold(ip: string, since: number, names: readonly (readonly [string, string])[] = DEPENDENTS): Promise<number> {
  await waitFor(
    `every dependent EnvoyFilter to hold ${ip}`,
    async () => {
      for (const [namespace, name] of names) {
        const object = await getEnvoyFilter(namespace, name);
        if (addressOf(object) !== ip || object.metadata.annotations['epp-webhook.io/resolved-cluster-ip'] !== ip) return undefined;
      }
      return true;
    },
    30_000,
    25,
  );
  return Date.now() - since;
}

function metricValue(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

t.before(async () => {
  cp = await startControlPlane();
  await installCrdsAndRbac(cp);
  configFile = join(cp.dir, 'reconciler-config.yaml');
  writeFileSync(configFile, `allowedServiceNamespaces: [${EPP_NS}]\n`);
  await createNamespace(cp, EPP_NS);
  await createNamespace(cp, TENANT_NS);
  clusterIP = await createService(cp, EPP_NS, EPP);

  replicaA = await startWebhookProcess(cp, { config: configFile, extraArgs: reconcilerArgs('replica-a') });
  await waitFor('replica-a to hold the Lease', async () => ((await leaseHolder()) === 'replica-a' ? true : undefined), 30_000);
  replicaB = await startWebhookProcess(cp, { config: configFile, extraArgs: reconcilerArgs('replica-b') });
  await registerWebhooks(cp, replicaB.url, replicaB.caPem);
  await waitUntilMutating(cp, EPP_NS);

  for (const [namespace, name] of DEPENDENTS) {
    await apply(envoyFilter(namespace, name, namespace === TENANT_NS ? { 'epp-webhook.io/epp-service': `${EPP_NS}/${EPP}` } : {}));
  }
  await apply(envoyFilter(EPP_NS, 'ef-hand-edited'));
  const serverSide = await cp.kubectl(['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], { input: envoyFilter(EPP_NS, 'ef-server-side') });
  if (serverSide.code !== 0) throw new Error(`kubectl apply --server-side failed: ${serverSide.stderr}`);
});

t.teardown(async () => {
  if (measured.length > 0) process.stdout.write(measured.map((m) => `# measured: ${m}\n`).join(''));
  await Promise.all([replicaA?.stop(), replicaB?.stop()]);
  await cp?.stop();
});

t.test('the webhook substituted the ClusterIP at admission and recorded where', async (t) => {
  for (const [namespace, name] of DEPENDENTS) {
    const object = await getEnvoyFilter(namespace, name);
    t.equal(addressOf(object), clusterIP, `${namespace}/${name}`);
    t.equal(object.metadata.annotations['epp-webhook.io/resolved-service'], `${EPP_NS}/${EPP}`);
    t.same(JSON.parse(object.metadata.annotations['epp-webhook.io/placeholder-paths']), [ADDRESS]);
  }
});

t.test('recreating the EPP Service (new ClusterIP) updates every dependent EnvoyFilter, in both namespaces, within seconds', async (t) => {
  // A user's hand edit first: the recreate must leave it alone (next test).
  const edited = await cp.kubectl(['patch', 'envoyfilter', '-n', EPP_NS, 'ef-hand-edited', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: ADDRESS, value: '192.0.2.10' }])]);
  t.equal(edited.code, 0, edited.stderr);
  const substitutionsBefore = metricValue(await replicaB.metrics(), 'epp_webhook_substitutions_total');

  const { oldIP, newIP, createdAt } = await recreateEppService();
  const ms = await allDependentsHold(newIP, createdAt);
  measured.push(`propagation: Service recreated (${oldIP} -> ${newIP}) to all ${DEPENDENTS.length} EnvoyFilters updated: ${ms} ms`);
  t.ok(ms < 5_000, `all ${DEPENDENTS.length} EnvoyFilters updated ${ms} ms after the new Service was created`);

  for (const [namespace, name] of DEPENDENTS) {
    const object = await getEnvoyFilter(namespace, name);
    t.same(await managersOnceHandedBack(namespace, name), ['kubectl-client-side-apply'], `${name}: the fields the rewrite took are handed back to kubectl`);
    t.same(JSON.parse(object.metadata.annotations['epp-webhook.io/placeholder-paths']), [ADDRESS], 'the recorded paths are kept');
    const updated = await waitFor(`a ClusterIPUpdated Event on ${name}`, async () => ((await events(namespace, name, 'ClusterIPUpdated')).at(-1) ?? undefined), 10_000);
    t.equal(updated.type, 'Normal');
    t.equal(updated.reportingController, 'epp-webhook.io/reconciler');
    t.equal(updated.reportingInstance, 'replica-a', 'written by the leader');
    t.match(updated.note, `${oldIP} -> ${newIP}`);
    t.same(await events(namespace, name, 'EPPServiceMissing'), [], 'a delete+recreate within the grace period is not reported as missing');
  }
  t.equal(
    metricValue(await replicaB.metrics(), 'epp_webhook_substitutions_total'),
    substitutionsBefore,
    'the mutating webhook saw the reconciler\'s PATCHes (no token left) and substituted nothing',
  );
  const leaderMetrics = await replicaA.metrics();
  const count = metricValue(leaderMetrics, 'epp_webhook_reconcile_propagation_seconds_count') ?? 0;
  const sum = metricValue(leaderMetrics, 'epp_webhook_reconcile_propagation_seconds_sum') ?? 0;
  t.ok(count >= DEPENDENTS.length, 'the propagation histogram observed each update');
  measured.push(`propagation histogram on the leader (watch event received -> patched): ${count} updates, mean ${((sum / count) * 1000).toFixed(1)} ms`);
});

t.test("an EnvoyFilter applied server-side: after the reconciler's rewrite, the owner's next server-side apply meets no conflict", async (t) => {
  await allDependentsHold(clusterIP, Date.now(), [[EPP_NS, 'ef-server-side']]);
  await managersOnceHandedBack(EPP_NS, 'ef-server-side');
  const rewritten = await getEnvoyFilter(EPP_NS, 'ef-server-side');
  const owner = rewritten.metadata.managedFields.find((f: any) => f.fieldsV1?.['f:spec']?.['f:configPatches'] !== undefined);
  t.equal(owner?.manager, 'argocd-controller', '.spec.configPatches is still the applier\'s');
  t.equal(rewritten.metadata.managedFields.filter((f: any) => f.manager === 'epp-webhook').length, 0, 'no entry for epp-webhook');
  // The manifest still holds the token: the live list differs, as after every substitution, and it is the applier's own.
  const again = await cp.kubectl(['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], { input: envoyFilter(EPP_NS, 'ef-server-side') });
  t.equal(again.code, 0, again.code === 0 ? 'no conflict' : again.stderr);
  t.equal(addressOf(await getEnvoyFilter(EPP_NS, 'ef-server-side')), clusterIP, 'and the webhook substitutes the ClusterIP again');
});

t.test('a hand-edited address is not overwritten, an Event says so, and the path is no longer recorded', async (t) => {
  const reported = await waitFor('a PathEditedByHand Event', async () => (await events(EPP_NS, 'ef-hand-edited', 'PathEditedByHand'))[0], 10_000);
  t.equal(reported.type, 'Warning');
  t.match(reported.note, `${ADDRESS} no longer holds`);
  t.match(reported.note, 'left as it is, and no longer recorded');
  // Recorded, the path would be reported again at every recreation of the Service.
  const object = await waitFor(
    'placeholder-paths emptied',
    async () => {
      const current = await getEnvoyFilter(EPP_NS, 'ef-hand-edited');
      return current.metadata.annotations['epp-webhook.io/placeholder-paths'] === '[]' ? current : undefined;
    },
    10_000,
  );
  t.equal(addressOf(object), '192.0.2.10', 'the hand-edited address stays');
  t.same((await managersOnceHandedBack(EPP_NS, 'ef-hand-edited')).sort(), ['kubectl-client-side-apply', 'kubectl-patch'], 'the annotation written, its ownership handed back');
  t.match(await replicaA.metrics(), /epp_webhook_reconciles_total\{result="edited-by-hand"\} [1-9]/);
});

t.test('only the Lease holder writes: one identity in the Lease, the Events and the metrics', async (t) => {
  t.equal(await leaseHolder(), 'replica-a');
  const a = await replicaA.metrics();
  const b = await replicaB.metrics();
  t.equal(metricValue(a, 'epp_webhook_reconciler_leader', '{identity="replica-a"}'), 1);
  t.equal(metricValue(b, 'epp_webhook_reconciler_leader', '{identity="replica-b"}'), 0);
  t.ok((metricValue(a, 'epp_webhook_reconciles_total', '{result="updated"}') ?? 0) >= DEPENDENTS.length);
  t.equal(metricValue(b, 'epp_webhook_reconciles_total', '{result="updated"}'), undefined, 'the standby reconciled nothing');
  for (const namespace of [EPP_NS, TENANT_NS]) {
    const { body } = await cp.api('GET', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`);
    const ours = body.items.filter((e: any) => e.reportingController === 'epp-webhook.io/reconciler');
    t.ok(ours.length > 0);
    t.same([...new Set(ours.map((e: any) => e.reportingInstance))], ['replica-a'], `${namespace}: every Event from replica-a`);
  }
  t.match(readFileSync(replicaB.process.logFile, 'utf8'), /another replica leads the reconciler/);
  t.notMatch(readFileSync(replicaB.process.logFile, 'utf8'), /EnvoyFilter updated/);
});

t.test('an EnvoyFilter stored with the raw token while the webhook was unregistered gets resolved', async (t) => {
  await unregisterWebhooks(cp);
  const probe = envoyFilter(TENANT_NS, 'probe', { 'epp-webhook.io/epp-service': `${EPP_NS}/${EPP}` });
  await waitFor(
    'the webhook registration to be gone',
    async () => {
      const dry = await cp.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: probe });
      return dry.code === 0 && addressOf(JSON.parse(dry.stdout)) === 'EPP_SERVICE_CLUSTER_IP' ? true : undefined;
    },
    30_000,
  );
  const createdAt = Date.now();
  await apply(envoyFilter(TENANT_NS, 'ef-raw', { 'epp-webhook.io/epp-service': `${EPP_NS}/${EPP}` }));
  const ms = await allDependentsHold(clusterIP, createdAt, [[TENANT_NS, 'ef-raw']]);
  measured.push(`raw token created without the webhook -> resolved by the reconciler: ${ms} ms`);
  const object = await getEnvoyFilter(TENANT_NS, 'ef-raw');
  t.equal(addressOf(object), clusterIP);
  t.same(JSON.parse(object.metadata.annotations['epp-webhook.io/placeholder-paths']), [ADDRESS], 'provenance recorded as admission would have');
  t.equal(object.metadata.annotations['epp-webhook.io/resolved-service'], `${EPP_NS}/${EPP}`);
  // The Event is recorded after the patch lands: wait for it rather than race it.
  const resolvedEvent = await waitFor('a ClusterIPUpdated Event on ef-raw', async () => (await events(TENANT_NS, 'ef-raw', 'ClusterIPUpdated'))[0], 10_000);
  t.match(resolvedEvent.note, `EPP_SERVICE_CLUSTER_IP -> ${clusterIP}`);
  await registerWebhooks(cp, replicaB.url, replicaB.caPem);
  await waitUntilMutating(cp, EPP_NS);
});

t.test('a deleted Service leaves its EnvoyFilters untouched, with a Warning Event and the missing gauge', async (t) => {
  await postService(TENANT_NS, 'epp-doomed');
  await apply(envoyFilter(TENANT_NS, 'ef-doomed', { 'epp-webhook.io/epp-service': 'epp-doomed' }));
  const before = await getEnvoyFilter(TENANT_NS, 'ef-doomed');
  await deleteService(TENANT_NS, 'epp-doomed');
  const warning = await waitFor('an EPPServiceMissing Event', async () => (await events(TENANT_NS, 'ef-doomed', 'EPPServiceMissing'))[0], 20_000);
  t.equal(warning.type, 'Warning');
  t.match(warning.note, `Service ${TENANT_NS}/epp-doomed not found`);
  const after = await getEnvoyFilter(TENANT_NS, 'ef-doomed');
  t.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'the EnvoyFilter is not written');
  t.equal(addressOf(after), addressOf(before));
  t.equal(metricValue(await replicaA.metrics(), 'epp_webhook_envoyfilters_service_missing'), 1);

  // Still missing after the next edit: the same Event again becomes a series on the first one (events patch).
  t.equal((await cp.kubectl(['label', 'envoyfilter', '-n', TENANT_NS, 'ef-doomed', 'touched=yes'])).code, 0);
  const repeated = await waitFor('the Warning to count a repeat', async () => (await events(TENANT_NS, 'ef-doomed', 'EPPServiceMissing')).find((e) => e.series?.count === 2), 10_000);
  t.equal(repeated.metadata.name, warning.metadata.name, 'one Event, with series.count 2');
  t.equal((await events(TENANT_NS, 'ef-doomed', 'EPPServiceMissing')).length, 1);
});

t.test('an EnvoyFilter whose only token is EPP_SERVICE_PORT follows its Service\'s port', async (t) => {
  const { status } = await cp.api('POST', `/api/v1/namespaces/${TENANT_NS}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'epp-by-name', namespace: TENANT_NS },
    spec: { ports: [{ name: 'grpc-ext-proc', port: 9002 }, { name: 'metrics', port: 9090 }], selector: { app: 'epp-by-name' } },
  });
  t.equal(status, 201);
  const manifest = JSON.parse(envoyFilter(TENANT_NS, 'ef-port-only', { 'epp-webhook.io/epp-service': 'epp-by-name' }));
  const cluster = manifest.spec.configPatches[1].patch.value;
  cluster.type = 'STRICT_DNS';
  cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address = { address: `epp-by-name.${TENANT_NS}.svc.cluster.local`, port_value: 'EPP_SERVICE_PORT' };
  await apply(JSON.stringify(manifest));
  const portOf = (object: any) => object.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value;
  const admitted = await getEnvoyFilter(TENANT_NS, 'ef-port-only');
  t.equal(portOf(admitted), 9002);
  t.equal(admitted.metadata.annotations['epp-webhook.io/resolved-service'], `${TENANT_NS}/epp-by-name`);
  t.equal(admitted.metadata.annotations['epp-webhook.io/resolved-cluster-ip'], undefined, 'no address was written');

  const since = Date.now();
  const patched = await cp.kubectl(['patch', 'service', '-n', TENANT_NS, 'epp-by-name', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: 9012 }])]);
  t.equal(patched.code, 0, patched.stderr);
  const followed = await waitFor('ef-port-only to follow the port', async () => {
    const object = await getEnvoyFilter(TENANT_NS, 'ef-port-only');
    return portOf(object) === 9012 ? object : undefined;
  }, 20_000, 25);
  measured.push(`Service port changed -> port-only EnvoyFilter rewritten: ${Date.now() - since} ms`);
  t.equal(followed.metadata.annotations['epp-webhook.io/resolved-port'], '9012');
  t.equal(followed.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, `epp-by-name.${TENANT_NS}.svc.cluster.local`);
  const event = await waitFor('an EPPPortUpdated Event', async () => (await events(TENANT_NS, 'ef-port-only', 'EPPPortUpdated'))[0], 10_000);
  t.match(event.note, `EPP Service ${TENANT_NS}/epp-by-name port 9002 -> 9012: rewrote 1 recorded path`);
});

t.test('the leader killed: the standby takes over after about the lease duration, and reconciles', async (t) => {
  t.equal(await leaseHolder(), 'replica-a');
  const killedAt = Date.now();
  replicaA.process.child.kill('SIGKILL');
  await waitFor('replica-b to take the Lease', async () => ((await leaseHolder()) === 'replica-b' ? true : undefined), 40_000, 100);
  const takeoverMs = Date.now() - killedAt;
  measured.push(`takeover after SIGKILL of the leader (lease 15 s, retry 2 s): ${takeoverMs} ms`);
  // Expiry is judged on the standby's clock from when it last saw a renewal, then its next try (2 s, jittered): 13-20 s.
  t.ok(takeoverMs > 5_000 && takeoverMs < 25_000, `took over after ${takeoverMs} ms (lease duration 15 s)`);
  const lease = (await cp.api('GET', LEASE_PATH)).body;
  t.ok(lease.spec.leaseTransitions >= 1, 'a transition is counted');
  t.equal(lease.spec.leaseDurationSeconds, 15);

  const { oldIP, newIP, createdAt } = await recreateEppService();
  const ms = await allDependentsHold(newIP, createdAt);
  measured.push(`propagation after takeover (${oldIP} -> ${newIP}): ${ms} ms`);
  for (const [namespace, name] of DEPENDENTS) {
    const updated = await waitFor(`an Event by replica-b on ${name}`, async () => (await events(namespace, name, 'ClusterIPUpdated')).find((e) => e.note.includes(newIP)), 10_000);
    t.equal(updated.reportingInstance, 'replica-b', `${name}: written by the new leader`);
  }
  t.equal(metricValue(await replicaB.metrics(), 'epp_webhook_reconciler_leader', '{identity="replica-b"}'), 1);
});

t.test('a leader shut down gracefully releases the Lease: the standby takes over within a retry period', async (t) => {
  const replicaC = await startWebhookProcess(cp, { config: configFile, extraArgs: reconcilerArgs('replica-c') });
  try {
    await waitFor('replica-c to see the leader', async () => (/another replica leads the reconciler/.test(readFileSync(replicaC.process.logFile, 'utf8')) ? true : undefined), 10_000);
    const stoppedAt = Date.now();
    // Measured from the signal, not from the exit: the process may still be draining admission connections.
    replicaB.process.child.kill('SIGTERM');
    await waitFor('replica-c to take the Lease', async () => ((await leaseHolder()) === 'replica-c' ? true : undefined), 20_000, 50);
    const ms = Date.now() - stoppedAt;
    measured.push(`takeover after SIGTERM of the leader (Lease released): ${ms} ms`);
    t.ok(ms < 5_000, `took over ${ms} ms after SIGTERM`);
    await replicaB.stop();
    t.match(readFileSync(replicaB.process.logFile, 'utf8'), /released the reconciler Lease/);
  } finally {
    await replicaC.stop();
  }
});
