/**
 * Memory and lookup time of the Service cache at one size, in a fresh process (run with --expose-gc):
 *   node --expose-gc bench/resolver/resolver-child.ts static|informer|objects COUNT LOOKUPS
 * static:   StaticServiceResolver.fromRecords(records of generated Service objects)
 * informer: the store of InformerServiceResolver (serviceListWatch), given each object freshly JSON.parse'd as
 *           client-node's Watch hands it over, then dropped (only the ServiceRecord may survive); client-node is
 *           loaded before the baseline is measured
 * objects:  the whole Service objects kept in a Map, as a cache of full objects (client-node's informer) would
 * Prints one JSON line.
 */
import type { ResourceListWatch } from '../../src/cluster/resource-list-watch.ts';
import { serviceKey, toServiceRecord, type ServiceRecord } from '../../src/cluster/service-resolver.ts';
import { StaticServiceResolver } from '../../src/cluster/static-resolver.ts';
import { fullService, serviceKeyOf } from './services.ts';

const [mode, countText, lookupsText] = process.argv.slice(2);
const count = Number(countText);
const lookups = Number(lookupsText);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function settled(): NodeJS.MemoryUsage {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage();
}

let eventBytes = 0;

/**
 * InformerServiceResolver's own store, never started (no API server here). Only this mode loads client-node (about
 * 23 MiB of heap on its own), as only a process watching a cluster does.
 */
async function informerStore(): Promise<ResourceListWatch<ServiceRecord>> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { serviceListWatch } = await import('../../src/cluster/informer-resolver.ts');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return serviceListWatch({ kubeConfig, listPage: () => Promise.reject(new Error('not started')) });
}
const store = mode === 'informer' ? await informerStore() : undefined;

const before = settled();
let holder: { lookup(namespace: string, name: string): unknown; size(): number };
if (mode === 'static') {
  const records: ServiceRecord[] = [];
  for (let i = 0; i < count; i++) records.push(toServiceRecord(fullService(i))!);
  const resolver = StaticServiceResolver.fromRecords(records);
  holder = {
    lookup(namespace, name) {
      const answer = resolver.lookup(namespace, name);
      return answer.kind === 'found' ? answer.service : undefined;
    },
    size: () => resolver.size(),
  };
} else if (mode === 'informer') {
  for (let i = 0; i < count; i++) {
    const text = JSON.stringify(fullService(i));
    eventBytes += text.length;
    store!.refresh(JSON.parse(text));
  }
  holder = { lookup: (namespace, name) => store!.get(serviceKey(namespace, name)), size: () => store!.size };
} else if (mode === 'objects') {
  const objects = new Map<string, unknown>();
  for (let i = 0; i < count; i++) {
    const text = JSON.stringify(fullService(i));
    eventBytes += text.length;
    const object = JSON.parse(text);
    objects.set(`${object.metadata.namespace}/${object.metadata.name}`, object);
  }
  holder = { lookup: (namespace, name) => objects.get(`${namespace}/${name}`), size: () => objects.size };
} else {
  throw new Error(`unknown mode ${mode}`);
}
const after = settled();
if (holder.size() !== count) throw new Error(`expected ${count} Services, the cache holds ${holder.size()}`);

// The lookup keys are made after the heap was measured, so the figure is the cache's alone (plus the modules loaded).
const keys = Array.from({ length: count }, (_, i) => serviceKeyOf(i));
const order = new Uint32Array(1 << 20);
for (let i = 0; i < order.length; i++) order[i] = Math.floor(Math.random() * keys.length);

// Lookups of existing Services in random order; the result is used so the loop cannot be optimised away.
let found = 0;
const warm = Math.min(order.length, 100_000);
for (let i = 0; i < warm; i++) {
  const key = keys[order[i]];
  if (holder.lookup(key.namespace, key.name) !== undefined) found++;
}
const started = process.hrtime.bigint();
for (let i = 0; i < lookups; i++) {
  const key = keys[order[i & (order.length - 1)]];
  if (holder.lookup(key.namespace, key.name) !== undefined) found++;
}
const lookupNs = Number(process.hrtime.bigint() - started) / lookups;
if (found !== warm + lookups) throw new Error(`only ${found} of ${warm + lookups} lookups found their Service`);

process.stdout.write(
  `${JSON.stringify({
    mode,
    count,
    heapUsedBefore: before.heapUsed,
    heapUsed: after.heapUsed,
    heapDelta: after.heapUsed - before.heapUsed,
    rssBefore: before.rss,
    rss: after.rss,
    rssDelta: after.rss - before.rss,
    bytesPerService: (after.heapUsed - before.heapUsed) / count,
    eventBytesPerService: eventBytes / count,
    lookupNs,
    lookups,
  })}\n`,
);
