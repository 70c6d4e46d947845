import t from 'tap';
import { CIRCUIT_BREAKERS_FIELDS, CLUSTER_FIELDS, SOCKET_ADDRESS_FIELDS, THRESHOLDS_FIELDS } from '../../src/envoyfilter/cluster-schema.ts';
import { EXT_PROC_SCHEMA, type FieldKind, type MessageName } from '../../src/envoyfilter/ext-proc-schema.ts';
import { CATEGORIES, type Category } from './differential.ts';
import { istioFields } from './istio-oracle.ts';
import { KNOWN_DISAGREEMENTS } from './known-disagreements.ts';
import { byCategory, runDifferential, summary, toolPath } from './run-differential.ts';

// Every EnvoyFilter of the corpus through the webhook core and through istiod's own validation and
// translation, then Envoy 1.40 (`--mode validate`) on what istiod pushes. The webhook must agree.
const run = await runDifferential();
t.comment(summary(run));

t.test('the corpus is large and deterministic enough to mean something', async (t) => {
  t.ok(run.entries.length >= 1500, `${run.entries.length} EnvoyFilters`);
  const outcomes = new Set([...run.pipeline.values()].map((p) => p.outcome));
  t.same([...outcomes].sort(), ['accepted', 'dropped-by-istio', 'rejected-by-envoy', 'rejected-by-istio'], 'the corpus reaches every pipeline outcome');
});

const found = byCategory(run.disagreements);
for (const category of Object.keys(CATEGORIES) as Category[]) {
  t.test(`no config where ${CATEGORIES[category]}`, async (t) => {
    const known = KNOWN_DISAGREEMENTS[category] ?? {};
    const unexpected = (found.get(category) ?? []).filter((d) => !Object.hasOwn(known, d.id));
    t.same(unexpected.map((d) => `${d.id}: ${d.detail}`), [], `${unexpected.length} unexpected`);
    const stale = Object.keys(known).filter((id) => !(found.get(category) ?? []).some((d) => d.id === id));
    t.same(stale, [], 'every listed known disagreement still happens (else remove it from known-disagreements.ts)');
  });
}

t.test("the webhook's tables of ext_proc and Cluster fields are istiod's, field for field", async (t) => {
  const schemas = Object.entries(EXT_PROC_SCHEMA);
  const byFullName = new Map(schemas.map(([name, schema]) => [schema.fullName, name as MessageName]));
  const istio = istioFields(toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE'), schemas.map(([, s]) => s.fullName));
  // How the webhook's kind for a field follows from istiod's descriptor of it.
  const kindFor = (kind: string): FieldKind | string => {
    if (kind === 'repeated string') return 'list:string';
    if (kind === 'repeated message:google.protobuf.Any') return 'list:any';
    if (kind.startsWith('repeated message:')) return 'list:object';
    if (kind === 'bool') return 'bool';
    if (kind === 'message:google.protobuf.BoolValue') return 'bool-value';
    if (kind === 'string') return 'string';
    if (kind === 'message:google.protobuf.Duration') return 'duration';
    if (kind === 'message:google.protobuf.UInt32Value') return 'uint32';
    if (kind.startsWith('enum:')) return 'enum';
    if (!kind.startsWith('message:')) return `not in the webhook's kinds: ${kind}`;
    const message = byFullName.get(kind.slice('message:'.length));
    return message === undefined ? 'object' : `message:${message}`;
  };
  for (const [name, schema] of schemas) {
    const expected = Object.fromEntries(istio[schema.fullName].map(([field, , kind]) => [field, kindFor(kind)]));
    t.same(schema.fields, expected, name);
  }
  const cluster = istioFields(toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE'), [
    'envoy.config.cluster.v3.Cluster',
    'envoy.config.core.v3.SocketAddress',
    'envoy.config.cluster.v3.CircuitBreakers',
    'envoy.config.cluster.v3.CircuitBreakers.Thresholds',
  ]);
  const clusterKind = (kind: string) => (kind === 'map' ? 'object' : kind === 'uint32' ? 'uint32' : kindFor(kind));
  t.same(CLUSTER_FIELDS, Object.fromEntries(cluster['envoy.config.cluster.v3.Cluster'].map(([field, , kind]) => [field, clusterKind(kind)])), 'Cluster (cluster-schema.ts)');
  t.same(SOCKET_ADDRESS_FIELDS, Object.fromEntries(cluster['envoy.config.core.v3.SocketAddress'].map(([field, , kind]) => [field, clusterKind(kind)])), 'SocketAddress (cluster-schema.ts)');
  t.same(CIRCUIT_BREAKERS_FIELDS, Object.fromEntries(cluster['envoy.config.cluster.v3.CircuitBreakers'].map(([field, , kind]) => [field, clusterKind(kind)])), 'CircuitBreakers (cluster-schema.ts)');
  t.same(THRESHOLDS_FIELDS, Object.fromEntries(cluster['envoy.config.cluster.v3.CircuitBreakers.Thresholds'].map(([field, , kind]) => [field, clusterKind(kind)])), 'CircuitBreakers.Thresholds (cluster-schema.ts)');
});

t.test('observability_mode: Envoy loads it with every body mode and beside the stream-handling fields; EPP233 warns, never denies', async (t) => {
  // A JSON bool (a string "true" istiod refuses, as for every bool field: EPP214); STREAMED and BUFFERED are denied for
  // the EPP's sake (EPP202), not Envoy's.
  const observing = run.entries.filter((e) => e.family === 'observability' && /=true\/|with-/.test(e.id));
  t.equal(observing.length, 12, 'observability_mode true with 4 body modes in 2 spellings, and beside 4 other fields');
  for (const entry of observing) {
    const pipeline = run.pipeline.get(entry.id)!;
    const findings = run.webhook.get(entry.id)!.findings;
    t.equal(pipeline.outcome, 'accepted', `${entry.id}: Envoy loads it${pipeline.envoy?.message ? ` (${pipeline.envoy.message})` : ''}`);
    t.ok(findings.some((f) => f.code === 'EPP233' && f.severity === 'warn'), `${entry.id}: EPP233 warns`);
    t.same(findings.filter((f) => f.severity === 'deny').map((f) => f.code).filter((c) => c !== 'EPP202'), [], `${entry.id}: nothing denies it but the EPP's body modes`);
  }
  const perRoute = run.pipeline.get('observability/per-route')!;
  t.same(perRoute.dropped, ['observability_mode'], 'in an ExtProcPerRoute it is no field: istiod drops it');
  t.ok(run.webhook.get('observability/per-route')!.findings.some((f) => f.code === 'EPP213'), 'EPP213 names it');
});
