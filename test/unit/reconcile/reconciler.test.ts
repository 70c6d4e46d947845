/**
 * The reconciler's I/O shell against an in-memory API that behaves like the apiserver where it matters:
 * JSON patches with test ops (a failed test is a 422), resourceVersions, and a second writer.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { ApiException } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import type { InferencePoolResolver } from '../../../src/cluster/inference-pool.ts';
import type { ServiceLookup, ServiceRecord, ServiceResolver } from '../../../src/cluster/service-resolver.ts';
import { StaticInferencePools } from '../../../src/cluster/static-inference-pools.ts';
import { substituteClusterIP } from '../../../src/envoyfilter/substitute-cluster-ip.ts';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import type { EnvoyFilterApi } from '../../../src/reconcile/envoyfilter-api.ts';
import { toEnvoyFilterRecord, type EnvoyFilterRecord } from '../../../src/reconcile/envoyfilter-record.ts';
import type { ObjectEvent } from '../../../src/reconcile/event-recorder.ts';
import { Reconciler, envoyFilterKey } from '../../../src/reconcile/reconciler.ts';
import { registerReconcilerMetrics } from '../../../src/reconcile/reconciler-metrics.ts';
import { manifest } from '../../helpers/fixtures.ts';

const NS = 'llm-d-inference-scheduler';
const EPP = 'gaie-inference-scheduling-epp';
const ADDRESS = '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address';

class Services implements ServiceResolver {
  readonly source = 'test';
  readonly records = new Map<string, ServiceRecord>();
  set(name: string, clusterIP: string | undefined): void {
    if (clusterIP === undefined) this.records.delete(name);
    else this.records.set(name, { namespace: NS, name, type: 'ClusterIP', clusterIP, ports: [{ port: 9002 }] });
  }
  lookup(namespace: string, name: string): ServiceLookup {
    const service = this.records.get(name);
    return service === undefined || namespace !== NS ? { kind: 'not-found' } : { kind: 'found', service };
  }
  ready = () => true;
  size = () => this.records.size;
}

const MANAGED_FIELDS = '/metadata/managedFields';
const USER_ENTRY = { manager: 'argocd-controller', operation: 'Apply', apiVersion: 'networking.istio.io/v1alpha3', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:configPatches': {} } } };

class FakeApiServer implements EnvoyFilterApi {
  readonly objects = new Map<string, any>();
  /** The patches that change the object (a second one per write gives field ownership back: `ownershipPatches`). */
  readonly patches: { key: string; operations: Operation[] }[] = [];
  readonly ownershipPatches: { key: string; operations: Operation[] }[] = [];
  gets = 0;
  #version = 100;
  /** Runs before the next patch is applied: a second writer's chance to get in first. */
  beforeNextPatch: (() => void) | undefined;

  put(object: any): any {
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(++this.#version);
    stored.metadata.uid ??= `uid-${stored.metadata.name}`;
    this.objects.set(envoyFilterKey(stored.metadata), stored);
    return structuredClone(stored);
  }
  async listPage() {
    return { items: [...this.objects.values()].map((o) => structuredClone(o)) };
  }
  async get(namespace: string, name: string) {
    this.gets++;
    const object = this.objects.get(`${namespace}/${name}`);
    return object === undefined ? undefined : structuredClone(object);
  }
  async patch(namespace: string, name: string, operations: Operation[]) {
    const hook = this.beforeNextPatch;
    this.beforeNextPatch = undefined;
    hook?.();
    const key = `${namespace}/${name}`;
    const ownershipOnly = operations.every((operation) => operation.op === 'test' || operation.path === MANAGED_FIELDS);
    (ownershipOnly ? this.ownershipPatches : this.patches).push({ key, operations });
    const object = this.objects.get(key);
    if (object === undefined) throw new ApiException(404, 'not found', { message: 'not found' }, {});
    try {
      const result = jsonpatch.applyPatch(structuredClone(object), operations, true, false).newDocument;
      if (ownershipOnly) {
        // `[{}]` clears managedFields; an empty list would be ignored.
        if (JSON.stringify(result.metadata.managedFields) === '[{}]') delete result.metadata.managedFields;
      } else {
        // As the API server's field manager: an Update takes the atomic list it changed from its owners.
        const others = (result.metadata.managedFields ?? []).filter((entry: any) => entry.manager !== 'epp-webhook');
        const taken = others.map(({ fieldsV1: { 'f:spec': _taken, ...kept }, ...entry }: any) => ({ ...entry, fieldsV1: kept }));
        result.metadata.managedFields = [...taken, { manager: 'epp-webhook', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:configPatches': {} } } }];
      }
      return this.put(result);
    } catch (error) {
      throw new ApiException(422, 'patch failed', { message: `the server rejected our request due to an error in our request: testing value failed: ${(error as Error).message}` }, {});
    }
  }
}

class Store {
  readonly records = new Map<string, EnvoyFilterRecord>();
  get = (key: string) => this.records.get(key);
  values = () => this.records.values();
  refresh(object: unknown) {
    const record = toEnvoyFilterRecord(object, DEFAULT_CONFIG.placeholder);
    if (record !== undefined) this.records.set(envoyFilterKey(record), record);
    return record;
  }
}

function substituted(name: string, clusterIP: string, namespace = NS): any {
  const object = manifest('guide-envoyfilter.yaml');
  object.metadata.name = name;
  object.metadata.namespace = namespace;
  jsonpatch.applyOperation(object, { op: 'replace', path: ADDRESS, value: clusterIP });
  object.metadata.managedFields = [structuredClone(USER_ENTRY)];
  object.metadata.annotations = {
    'epp-webhook.io/resolved-service': `${NS}/${EPP}`,
    'epp-webhook.io/resolved-cluster-ip': clusterIP,
    'epp-webhook.io/placeholder-paths': JSON.stringify([ADDRESS]),
  };
  return object;
}

function harness(options: { leader?: boolean; graceMs?: number; pools?: InferencePoolResolver } = {}) {
  const services = new Services();
  services.set(EPP, '10.0.0.5');
  const api = new FakeApiServer();
  const store = new Store();
  const events: ObjectEvent[] = [];
  const registry = new Registry();
  const metrics = registerReconcilerMetrics(registry, { envoyFilters: () => store.records.size });
  const logs: string[] = [];
  const log = { info: (_f: object, m: string) => logs.push(m), warn: (_f: object, m: string) => logs.push(m), debug: () => {} };
  let leader = options.leader ?? true;
  /** What the API server answers a GET with: the caches themselves, unless a test puts them behind it. */
  const truth: { services: ServiceResolver; pools: InferencePoolResolver | undefined; reads: number } = { services, pools: options.pools, reads: 0 };
  const reconciler = new Reconciler({
    config: DEFAULT_CONFIG,
    resolver: services,
    live: {
      service: async (namespace, name) => (truth.reads++, truth.services.lookup(namespace, name)),
      pool: async (namespace, name) => (truth.reads++, truth.pools!.lookupPool(namespace, name)),
    },
    pools: options.pools,
    store,
    api,
    events: { record: async (event) => void events.push(event) },
    metrics,
    log,
    isLeader: () => leader,
    writeIntervalMs: 50,
    serviceMissingGraceMs: options.graceMs ?? 0,
    initialBackoffMs: 5,
    maxBackoffMs: 20,
  });
  /** Creates or updates an object "through the apiserver", and delivers its watch event. */
  const write = (object: any) => {
    const stored = api.put(object);
    store.refresh(stored);
    reconciler.onEnvoyFilterChange({ type: 'MODIFIED', key: envoyFilterKey(stored.metadata) });
    return stored;
  };
  /** Delivers the watch events of the reconciler's own writes, as the watch would. */
  const deliverWatchEvents = () => {
    for (const object of api.objects.values()) {
      const record = store.get(envoyFilterKey(object.metadata));
      if (record?.resourceVersion !== object.metadata.resourceVersion) {
        store.refresh(structuredClone(object));
        reconciler.onEnvoyFilterChange({ type: 'MODIFIED', key: envoyFilterKey(object.metadata) });
      }
    }
  };
  const changeService = (clusterIP: string | undefined) => {
    const before = services.records.get(EPP);
    services.set(EPP, clusterIP);
    reconciler.onServiceChange({ type: 'service', namespace: NS, name: EPP, before, after: services.records.get(EPP), receivedAt: Date.now() });
  };
  const settle = async (ms = 30) => {
    for (let i = 0; i < 5; i++) {
      await sleep(ms);
      await reconciler.whenIdle();
      deliverWatchEvents();
    }
  };
  const metric = async (name: string) => (await registry.getSingleMetricAsString(name)).split('\n').filter((l) => !l.startsWith('#')).join('\n');
  return { services, truth, api, store, events, reconciler, write, changeService, settle, metric, logs, setLeader: (value: boolean) => (leader = value) };
}

/** Every patch is counted and refused with `error`, as an API server whose admission denies it would. */
function refusePatches(h: ReturnType<typeof harness>, error: Error): void {
  h.api.patch = async () => {
    h.api.patches.push({ key: 'x', operations: [] });
    throw error;
  };
}

const addressOf = (h: ReturnType<typeof harness>, name: string) => jsonpatch.getValueByPointer(h.api.objects.get(`${NS}/${name}`), ADDRESS);

t.test('a new ClusterIP is written to every dependent EnvoyFilter once; its own writes trigger no more writes', async (t) => {
  const h = harness();
  for (const name of ['a', 'b', 'c']) h.write(substituted(name, '10.0.0.5'));
  const unrelated = manifest('guide-envoyfilter.yaml');
  unrelated.metadata.name = 'unrelated';
  jsonpatch.applyOperation(unrelated, { op: 'replace', path: ADDRESS, value: '10.0.0.5' });
  h.write(unrelated);
  h.reconciler.start();
  await h.settle();
  t.equal(h.api.patches.length, 0, 'nothing to do while the ClusterIP is what was recorded');

  h.changeService('10.0.0.9');
  await h.settle();
  t.same(['a', 'b', 'c'].map((n) => addressOf(h, n)), ['10.0.0.9', '10.0.0.9', '10.0.0.9']);
  t.equal(h.api.patches.length, 3, 'one patch per EnvoyFilter');
  t.equal(h.truth.reads, 3, 'the Service read from the API once before each write');
  h.reconciler.enqueueAll();
  await h.settle();
  t.equal(h.api.patches.length, 3, 'a resync writes nothing');
  t.equal(h.truth.reads, 3, 'and reads nothing from the API: the cache says nothing is due');
  t.same(
    h.events.map((e) => [e.regarding.name, e.type, e.reason, e.note]),
    ['a', 'b', 'c'].map((n) => [n, 'Normal', 'ClusterIPUpdated', `EPP Service ${NS}/${EPP} ClusterIP 10.0.0.5 -> 10.0.0.9: rewrote 1 recorded path`]),
  );
  t.match(await h.metric('epp_webhook_reconciles_total'), /result="updated"} 3/);
  t.match(await h.metric('epp_webhook_reconcile_propagation_seconds'), /_count 3/);
  t.match(await h.metric('epp_webhook_reconcile_drift_detected_total'), /kind="cluster-ip-changed"} 3/);
});

t.test("a rewrite gives the fields it took back to their owners: the owner's next server-side apply meets no conflict", async (t) => {
  const h = harness();
  const object = substituted('a', '10.0.0.5');
  const earlierVersionsWrite = { manager: 'epp-webhook', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:configPatches': {} } } };
  object.metadata.managedFields.push(earlierVersionsWrite);
  h.write(object);
  const bare = substituted('b', '10.0.0.5');
  delete bare.metadata.managedFields;
  h.write(bare);
  h.reconciler.start();
  await h.settle();
  h.changeService('10.0.0.9');
  await h.settle();
  t.same([addressOf(h, 'a'), addressOf(h, 'b')], ['10.0.0.9', '10.0.0.9'], 'rewritten');
  t.same(h.api.objects.get(`${NS}/a`).metadata.managedFields, [USER_ENTRY], "the applier owns .spec.configPatches again; an earlier version's epp-webhook entry is gone too");
  t.equal(h.api.objects.get(`${NS}/b`).metadata.managedFields, undefined, 'an object that had no managedFields has none again');
  t.same(
    h.api.ownershipPatches.map((p) => p.operations.map((o) => o.op)),
    [['test', 'add'], ['test', 'add']],
    'one more patch per write, guarded by the resourceVersion the write stored',
  );
  t.equal(h.api.patches.length, 2, 'the rewrites themselves');
});

t.test('a hand-back that another writer beats: the rewrite stands, and the log says what the next server-side apply will meet', async (t) => {
  const h = harness();
  h.write(substituted('a', '10.0.0.5'));
  h.reconciler.start();
  await h.settle();
  const patch = h.api.patch.bind(h.api);
  h.api.patch = async (namespace, name, operations) => {
    if (operations.some((o) => o.path === MANAGED_FIELDS)) h.api.put(h.api.objects.get(`${namespace}/${name}`));
    return patch(namespace, name, operations);
  };
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(addressOf(h, 'a'), '10.0.0.9');
  t.same(h.api.objects.get(`${NS}/a`).metadata.managedFields.map((e: any) => e.manager), ['argocd-controller', 'epp-webhook'], 'the fields stay epp-webhook\'s');
  t.match(h.logs.join('\n'), /fields stay owned by epp-webhook: the next server-side apply of this EnvoyFilter conflicts until --force-conflicts/);
  t.equal(h.api.patches.length, 1, 'the rewrite is not made again');
  t.match(await h.metric('epp_webhook_reconciles_total'), /result="updated"} 1/);
});

t.test('a hand-back the API fails transiently is tried again; the fields go back', async (t) => {
  const h = harness();
  h.write(substituted('a', '10.0.0.5'));
  h.reconciler.start();
  await h.settle();
  const patch = h.api.patch.bind(h.api);
  let failures = 2;
  h.api.patch = async (namespace, name, operations) => {
    if (operations.some((o) => o.path === MANAGED_FIELDS) && failures-- > 0) throw new ApiException(503, 'unavailable', { message: 'etcd leader changed' }, {});
    return patch(namespace, name, operations);
  };
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(addressOf(h, 'a'), '10.0.0.9');
  t.same(h.api.objects.get(`${NS}/a`).metadata.managedFields, [USER_ENTRY], 'given back on the third try');
  t.notMatch(h.logs.join('\n'), /stay owned by epp-webhook/);
});

t.test('a conflict (someone wrote first): re-read, retry, then write on the new version', async (t) => {
  const h = harness();
  h.write(substituted('a', '10.0.0.5'));
  h.reconciler.start();
  await h.settle();
  h.api.beforeNextPatch = () => {
    const object = h.api.objects.get(`${NS}/a`);
    object.metadata.labels = { touched: 'by-someone' };
    h.api.put(object);
  };
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(addressOf(h, 'a'), '10.0.0.9');
  t.same(h.api.objects.get(`${NS}/a`).metadata.labels, { touched: 'by-someone' }, 'their change is kept');
  t.equal(h.api.patches.length, 2);
  t.match(await h.metric('epp_webhook_reconciles_total'), /result="conflict"} 1/);
  t.ok(h.api.gets >= 1, 're-read after the conflict');
});

t.test('a hand-edited address is not overwritten; reported once, even when the Service is recreated again', async (t) => {
  const h = harness();
  const object = substituted('a', '10.0.0.5');
  jsonpatch.applyOperation(object, { op: 'replace', path: ADDRESS, value: '192.168.7.7' });
  h.write(object);
  h.reconciler.start();
  h.changeService('10.0.0.9');
  await h.settle();
  h.reconciler.enqueueAll();
  await h.settle();
  t.equal(addressOf(h, 'a'), '192.168.7.7');
  t.same(h.events.map((e) => [e.type, e.reason]), [['Warning', 'PathEditedByHand']]);
  t.match(h.events[0].note, `${ADDRESS} no longer holds 10.0.0.5 (edited by hand): left as it is, and no longer recorded`);
  t.equal(h.api.patches.length, 1, 'one write: the path dropped from placeholder-paths');
  t.same(h.api.patches[0].operations.filter((op: any) => op.op === 'replace').map((op: any) => [op.path, op.value]), [['/metadata/annotations/epp-webhook.io~1placeholder-paths', '[]']]);
  h.changeService('10.0.0.13');
  await h.settle();
  t.equal(addressOf(h, 'a'), '192.168.7.7', 'the next recreation leaves it too');
  t.equal(h.events.length, 1, 'and is not reported: the path is no longer the webhook\'s');
  t.equal(h.api.patches.length, 1);
  t.match(await h.metric('epp_webhook_reconciles_total'), /result="edited-by-hand"\} 1$/m);
});

t.test('a deleted Service: nothing written, a Warning after the grace period, the gauge; back: the gauge clears', async (t) => {
  const h = harness({ graceMs: 60 });
  h.write(substituted('a', '10.0.0.5'));
  h.write(substituted('b', '10.0.0.5'));
  h.reconciler.start();
  h.changeService(undefined);
  await sleep(20);
  t.equal(h.events.length, 0, 'a Service gone for a moment (delete+recreate) is not reported');
  await h.settle(40);
  t.equal(h.api.patches.length, 0);
  // One Warning per EnvoyFilter; the two grace periods end independently, so in either order.
  const warned = h.events.map((e) => [e.regarding.name, e.type, e.reason]).sort((x, y) => x[0].localeCompare(y[0]));
  t.same(warned, [['a', 'Warning', 'EPPServiceMissing'], ['b', 'Warning', 'EPPServiceMissing']]);
  t.match(await h.metric('epp_webhook_envoyfilters_service_missing'), / 2$/);
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(addressOf(h, 'a'), '10.0.0.9');
  t.match(await h.metric('epp_webhook_envoyfilters_service_missing'), / 0$/);
});

t.test('recreated within the grace period: updated, no Warning', async (t) => {
  const h = harness({ graceMs: 200 });
  h.write(substituted('a', '10.0.0.5'));
  h.reconciler.start();
  h.changeService(undefined);
  await sleep(80);
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(addressOf(h, 'a'), '10.0.0.9');
  await sleep(250);
  t.same(h.events.map((e) => e.reason), ['ClusterIPUpdated']);
  const histogram = await h.metric('epp_webhook_reconcile_propagation_seconds');
  t.match(histogram, /_count 1/);
  t.ok(Number(/_sum (\S+)/.exec(histogram)![1]) < 0.05, 'latency counts from the event that brought the new ClusterIP, not from the deletion');
});

t.test('stored with the raw token: substituted with the core, as admission would have', async (t) => {
  const h = harness();
  const raw = manifest('guide-envoyfilter.yaml');
  h.write(raw);
  h.reconciler.start();
  await h.settle();
  const stored = h.api.objects.get(`${NS}/epp-ext-proc-poc`);
  t.equal(jsonpatch.getValueByPointer(stored, ADDRESS), '10.0.0.5');
  t.equal(stored.metadata.annotations['epp-webhook.io/resolved-cluster-ip'], '10.0.0.5');
  t.same(h.events.map((e) => [e.reason, e.note]), [['ClusterIPUpdated', `EPP_SERVICE_CLUSTER_IP -> 10.0.0.5 (EPP Service ${NS}/${EPP}) at 1 path: stored with the raw token while the webhook was not admitting`]]);
  t.equal(h.api.patches.length, 1);
  t.match(await h.metric('epp_webhook_reconcile_drift_detected_total'), /kind="placeholder"} 1/);
});

t.test('only the leader writes', async (t) => {
  const h = harness({ leader: false });
  h.write(substituted('a', '10.0.0.5'));
  h.reconciler.start();
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(h.api.patches.length, 0);
  h.setLeader(true);
  h.reconciler.start();
  await h.settle();
  t.equal(addressOf(h, 'a'), '10.0.0.9', 'on becoming leader it looks at everything');
});

t.test('a refusal (a webhook denies the patch) is reported and not retried in a loop', async (t) => {
  const h = harness();
  h.write(substituted('a', '10.0.0.5'));
  refusePatches(h, new ApiException(403, 'denied', { message: 'admission webhook "x" denied the request' }, {}));
  h.reconciler.start();
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(h.api.patches.length, 1);
  t.same(h.events.map((e) => e.reason), ['ReconcileFailed']);
  t.match(h.events[0].note, 'patching failed: HTTP 403: admission webhook "x" denied the request');
});

t.test('a 422 that is no failed test op (an admission policy\'s denial naming an EnvoyFilter epp-test) is a refusal, not a conflict retried forever', async (t) => {
  const h = harness();
  h.write(substituted('epp-test', '10.0.0.5'));
  refusePatches(h, new ApiException(422, 'invalid', { message: "envoyfilters.networking.istio.io \"epp-test\" is forbidden: ValidatingAdmissionPolicy 'frozen' with binding 'frozen' denied request: spec is frozen in test" }, {}));
  h.reconciler.start();
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(h.api.patches.length, 1, 'tried once');
  t.same(h.events.map((e) => e.reason), ['ReconcileFailed']);
});

t.test("provenance written by hand naming another namespace's Service is not followed: allowedServiceNamespaces holds for the reconciler too", async (t) => {
  const h = harness();
  // In team-a, annotated as if the webhook had substituted NS's Service there: admission would have refused that (EPP103).
  h.write(substituted('borrowed', '192.0.2.1', 'team-a'));
  h.write(substituted('own', '10.0.0.5'));
  h.reconciler.start();
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(jsonpatch.getValueByPointer(h.api.objects.get('team-a/borrowed'), ADDRESS), '192.0.2.1', "team-a's EnvoyFilter keeps its address");
  t.equal(addressOf(h, 'own'), '10.0.0.9', "the Service's own namespace is followed");
  const refused = h.events.filter((e) => e.reason === 'ReferenceNotAllowed');
  t.equal(refused.length, 1, 'reported once');
  t.equal(refused[0].regarding.namespace, 'team-a');
  t.equal(refused[0].note, `EPP Service ${NS}/${EPP} is in another namespace, which allowedServiceNamespaces does not list (EPP103 at admission): not followed`);
});

t.test('a Service change that moves no address or port (labels, annotations) wakes nothing', async (t) => {
  const h = harness();
  h.store.refresh(h.api.put(substituted('a', '10.0.0.5')));
  const queued = h.reconciler.queued;
  t.equal(queued, 0);
  const record = h.services.records.get(EPP)!;
  // The cache keeps name, namespace, type, ClusterIP and ports: a label change arrives as an equal record.
  h.reconciler.onServiceChange({ type: 'service', namespace: NS, name: EPP, before: record, after: { ...record }, receivedAt: 0 });
  t.equal(h.reconciler.queued, queued);
  h.reconciler.onServiceChange({ type: 'service', namespace: NS, name: 'another', before: undefined, after: { ...record, name: 'another' }, receivedAt: 0 });
  t.equal(h.reconciler.queued, queued, 'a Service no EnvoyFilter resolved against wakes nothing either');
  h.reconciler.onServiceChange({ type: 'service', namespace: NS, name: EPP, before: record, after: { ...record, ports: [{ port: 9012 }] }, receivedAt: 0 });
  t.equal(h.reconciler.queued, 1, 'a changed port wakes its EnvoyFilters (EPP_SERVICE_PORT may hold it)');
});

/** Pools that can be repointed, as the InferencePool cache sees them. */
class Pools implements InferencePoolResolver {
  readonly source = 'test pools';
  #table = StaticInferencePools.fromObjects([], 'test pools');
  point(service: string, port: number): void {
    this.#table = StaticInferencePools.fromObjects(
      [{ apiVersion: 'inference.networking.k8s.io/v1', kind: 'InferencePool', metadata: { name: 'pool', namespace: NS }, spec: { endpointPickerRef: { name: service, port: { number: port } } } }],
      'test pools',
    );
  }
  lookupPool = (namespace: string, name: string) => this.#table.lookupPool(namespace, name);
  endpointPickerServices = () => this.#table.endpointPickerServices();
  records = () => this.#table.records();
  ready = () => true;
}

const PORT = '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/port_value';

async function poolFilter(h: ReturnType<typeof harness>, pools: Pools): Promise<any> {
  const object = manifest('guide-envoyfilter.yaml');
  object.metadata.name = 'pooled';
  object.metadata.annotations = { 'epp-webhook.io/inference-pool': 'pool' };
  jsonpatch.applyOperation(object, { op: 'replace', path: PORT, value: 'EPP_SERVICE_PORT' });
  const admitted = await substituteClusterIP(object, NS, h.services, DEFAULT_CONFIG, pools);
  t.same(admitted.findings, []);
  return admitted.object;
}

t.test('an EnvoyFilter wired to a pool follows the pool to another EPP Service and port, once', async (t) => {
  const pools = new Pools();
  pools.point(EPP, 9002);
  const h = harness({ pools });
  h.services.set('epp-2', '10.0.0.7');
  h.write(await poolFilter(h, pools));
  h.reconciler.start();
  await h.settle();
  t.equal(h.api.patches.length, 0, 'nothing to do while the pool names the recorded Service and port');

  pools.point('epp-2', 9012);
  h.reconciler.onPoolChange({ namespace: NS, name: 'pool', before: undefined, after: undefined, receivedAt: Date.now() });
  await h.settle();
  t.equal(h.api.patches.length, 1, 'one write, and its own result needs nothing more');
  const stored = h.api.objects.get(`${NS}/pooled`);
  t.equal(jsonpatch.getValueByPointer(stored, ADDRESS), '10.0.0.7');
  t.equal(jsonpatch.getValueByPointer(stored, PORT), 9012);
  t.match(stored.metadata.annotations, { 'epp-webhook.io/resolved-service': `${NS}/epp-2`, 'epp-webhook.io/resolved-cluster-ip': '10.0.0.7', 'epp-webhook.io/resolved-port': '9012' });
  t.same(h.events.map((e) => e.reason), ['EndpointPickerFollowed']);
  t.match(h.events[0].note, `InferencePool ${NS}/pool now names EPP Service ${NS}/epp-2 (was ${NS}/${EPP}): ClusterIP 10.0.0.5 -> 10.0.0.7, port 9002 -> 9012: rewrote 2 recorded paths`);

  h.services.set('epp-2', '10.0.0.8');
  h.reconciler.onServiceChange({ type: 'service', namespace: NS, name: 'epp-2', before: undefined, after: h.services.records.get('epp-2'), receivedAt: Date.now() });
  await h.settle();
  t.equal(jsonpatch.getValueByPointer(h.api.objects.get(`${NS}/pooled`), ADDRESS), '10.0.0.8', 'the new Service is then followed like any recorded Service');
});

t.test('following a pool never overwrites a hand-edited port; a pool pointing at a missing Service is reported', async (t) => {
  const pools = new Pools();
  pools.point(EPP, 9002);
  const h = harness({ pools });
  h.services.set('epp-2', '10.0.0.7');
  const object = await poolFilter(h, pools);
  jsonpatch.applyOperation(object, { op: 'replace', path: PORT, value: 9443 });
  h.write(object);
  h.reconciler.start();
  pools.point('epp-2', 9012);
  h.reconciler.onPoolChange({ namespace: NS, name: 'pool', before: undefined, after: undefined, receivedAt: Date.now() });
  await h.settle();
  const stored = h.api.objects.get(`${NS}/pooled`);
  t.equal(jsonpatch.getValueByPointer(stored, ADDRESS), '10.0.0.7', 'the address follows');
  t.equal(jsonpatch.getValueByPointer(stored, PORT), 9443, 'the hand-edited port stays');
  t.same(JSON.parse(stored.metadata.annotations['epp-webhook.io/port-placeholder-paths']), [], 'and is no longer recorded');
  t.same(h.events.map((e) => e.reason).sort(), ['EndpointPickerFollowed', 'PathEditedByHand']);

  pools.point('epp-gone', 9002);
  h.reconciler.onPoolChange({ namespace: NS, name: 'pool', before: undefined, after: undefined, receivedAt: Date.now() });
  await h.settle();
  t.equal(jsonpatch.getValueByPointer(h.api.objects.get(`${NS}/pooled`), ADDRESS), '10.0.0.7', 'left as it is');
  const missing = h.events.find((e) => e.reason === 'EPPServiceMissing');
  t.match(missing?.note, `InferencePool ${NS}/pool now names Service ${NS}/epp-gone, which is not found`);
});

t.test('a raw token is retried only when the Service it resolves against changes, not on every Service anywhere', async (t) => {
  const h = harness();
  const raw = manifest('guide-envoyfilter.yaml');
  raw.metadata.annotations = { 'epp-webhook.io/epp-service': 'epp-to-come' }; // not created yet: EPP101 for now
  h.reconciler.start();
  h.write(raw);
  await h.settle();
  t.same(h.events.map((e) => e.reason), ['EPPServiceMissing']);
  const before = h.api.gets;
  for (let i = 0; i < 20; i++) {
    h.reconciler.onServiceChange({ type: 'service', namespace: 'unrelated', name: `svc-${i}`, before: undefined, after: { namespace: 'unrelated', name: `svc-${i}`, type: 'ClusterIP', clusterIP: '10.1.0.1', ports: [] }, receivedAt: Date.now() });
  }
  await h.settle(5);
  t.equal(h.api.gets - before, 0, 'twenty Services created elsewhere: no read of the EnvoyFilter');
  h.services.set('epp-to-come', '10.0.0.8');
  h.reconciler.onServiceChange({ type: 'service', namespace: NS, name: 'epp-to-come', before: undefined, after: h.services.records.get('epp-to-come'), receivedAt: Date.now() });
  await h.settle();
  t.equal(addressOf(h, 'epp-ext-proc-poc'), '10.0.0.8', 'the Service its annotation names, created: read and resolved');

  const byDefault = manifest('guide-envoyfilter.yaml');
  byDefault.metadata.name = 'by-default';
  h.services.set(EPP, undefined);
  h.write(byDefault);
  await h.settle();
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(addressOf(h, 'by-default'), '10.0.0.9', 'without an annotation, the configured default Service appearing resolves it');
});

t.test('a leader whose Service cache is behind the API writes no old ClusterIP back over a newer replica\'s admission', async (t) => {
  const h = harness();
  const api = new Services();
  api.set(EPP, '10.0.0.9');
  h.truth.services = api;
  h.write(substituted('a', '10.0.0.9')); // admitted by a replica whose cache already has the recreated Service
  h.reconciler.start();
  await h.settle();
  t.equal(addressOf(h, 'a'), '10.0.0.9');
  t.equal(h.api.patches.length, 0, 'the cache says 10.0.0.5, the API 10.0.0.9: nothing written');
  t.same(h.events, []);
  h.changeService('10.0.0.9'); // the cache catches up
  await h.settle();
  t.equal(h.api.patches.length, 0, 'and nothing to undo when it catches up');

  api.set(EPP, '10.0.0.11'); // recreated again: the cache is behind once more, and the object is the stale one
  h.changeService('10.0.0.10');
  await h.settle();
  t.equal(addressOf(h, 'a'), '10.0.0.11', 'what is written is the API\'s answer, not the cache\'s');
  t.same(h.events.map((e) => e.note), [`EPP Service ${NS}/${EPP} ClusterIP 10.0.0.9 -> 10.0.0.11: rewrote 1 recorded path`]);
});

t.test('a leader whose InferencePool cache is behind the API does not follow the pool back to its old EPP', async (t) => {
  const pools = new Pools();
  pools.point(EPP, 9002);
  const h = harness({ pools });
  h.services.set('epp-2', '10.0.0.7');
  const api = new Pools();
  api.point('epp-2', 9002);
  h.truth.pools = api;
  h.write(await poolFilter(h, api)); // admitted by a replica that has seen the pool repointed
  h.reconciler.start();
  await h.settle();
  const stored = h.api.objects.get(`${NS}/pooled`);
  t.equal(h.api.patches.length, 0, 'the cache says the pool names the old EPP, the API the new one: nothing written');
  t.equal(jsonpatch.getValueByPointer(stored, ADDRESS), '10.0.0.7');
  t.equal(stored.metadata.annotations['epp-webhook.io/resolved-service'], `${NS}/epp-2`);
});

t.test('the API refusing the confirming read (RBAC without get on Services) is reported, nothing written', async (t) => {
  const h = harness();
  h.truth.services = {
    ...h.services,
    lookup: () => {
      throw new ApiException(403, 'forbidden', { message: 'services "gaie-inference-scheduling-epp" is forbidden: User "system:serviceaccount:x:epp-webhook" cannot get resource "services"' }, {});
    },
  };
  h.write(substituted('a', '10.0.0.5'));
  h.reconciler.start();
  h.changeService('10.0.0.9');
  await h.settle();
  t.equal(h.api.patches.length, 0);
  t.same(h.events.map((e) => e.reason), ['ReconcileFailed']);
  t.match(h.events[0].note, /^reading the EPP Service or InferencePool from the API failed: .*cannot get resource "services"/);
});
