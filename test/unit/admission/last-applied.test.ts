import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { mutateObject } from '../../../src/admission/admit-object.ts';
import { LAST_APPLIED } from '../../../src/admission/last-applied.ts';
import { StaticServiceResolver } from '../../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import { MAX_ANNOTATIONS_BYTES } from '../../../src/annotations.ts';

const NS = 'llm-d-inference-scheduler';
const manifest = parse(readFileSync(new URL('../../../examples/envoyfilter-placeholder.yaml', import.meta.url), 'utf8'));
const resolver = StaticServiceResolver.fromObjects(
  [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'gaie-inference-scheduling-epp', namespace: NS }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.50', ports: [{ port: 9002 }] } }],
  'test',
);
const deps = { config: DEFAULT_CONFIG, resolver };
const address = (o: any) => o.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address;

/** What `kubectl apply` (client-side) sends on create: the manifest, with itself as the annotation. */
function asKubectlSendsIt(object: any): any {
  return { ...object, metadata: { ...object.metadata, annotations: { [LAST_APPLIED]: `${JSON.stringify(object)}\n` } } };
}

t.test('the last-applied annotation gets the substitution the spec got, and nothing else', async (t) => {
  const sent = asKubectlSendsIt(manifest);
  const { object } = await mutateObject('EnvoyFilter', sent, NS, deps);
  const stored = object as any;
  t.equal(address(stored), '10.96.0.50');
  const lastApplied = JSON.parse(stored.metadata.annotations[LAST_APPLIED]);
  t.same(lastApplied.spec, stored.spec, 'the annotation agrees with the live spec: server-side apply can take it over');
  t.same(lastApplied.metadata, manifest.metadata, "its metadata stays the user's: none of the webhook's annotations");
  t.equal(address(JSON.parse(sent.metadata.annotations[LAST_APPLIED])), 'EPP_SERVICE_CLUSTER_IP', 'the request is not written to');
});

t.test('the stored object resubmitted gets no change; an object without the annotation is left as it was', async (t) => {
  const { object: stored } = await mutateObject('EnvoyFilter', asKubectlSendsIt(manifest), NS, deps);
  t.equal((await mutateObject('EnvoyFilter', stored, NS, deps)).object, stored);
  const plain = (await mutateObject('EnvoyFilter', manifest, NS, deps)).object as any;
  t.notOk(LAST_APPLIED in (plain.metadata.annotations ?? {}));
});

t.test('an annotation that is not this object as JSON is left alone', async (t) => {
  for (const text of ['not json', '[]', JSON.stringify({ ...manifest, kind: 'ConfigMap' })]) {
    const sent = { ...manifest, metadata: { ...manifest.metadata, annotations: { [LAST_APPLIED]: text } } };
    const stored = (await mutateObject('EnvoyFilter', sent, NS, deps)).object as any;
    t.equal(address(stored), '10.96.0.50', 'the object is still substituted');
    t.equal(stored.metadata.annotations[LAST_APPLIED], text);
  }
});

t.test('the returned JSON patch carries the annotation: applied to the request it gives the stored object', async (t) => {
  const sent = asKubectlSendsIt(manifest);
  const outcome = await mutateObject('EnvoyFilter', sent, NS, deps);
  const { default: jsonpatch } = await import('fast-json-patch');
  const patched = jsonpatch.applyPatch(structuredClone(sent), outcome.patch as any).newDocument;
  t.same(patched, outcome.object);
  t.equal(address(JSON.parse(patched.metadata.annotations[LAST_APPLIED])), '10.96.0.50');
});

t.test('an annotation longer than the apiserver lets an object keep is not parsed: the object is mutated, the annotation left', async (t) => {
  // Valid JSON that would be aligned if it were read: the manifest, padded past 256 KiB inside its metadata.
  const padded = { ...manifest, metadata: { ...manifest.metadata, labels: { padding: 'x'.repeat(MAX_ANNOTATIONS_BYTES) } } };
  const sent = { ...manifest, metadata: { ...manifest.metadata, annotations: { [LAST_APPLIED]: JSON.stringify(padded) } } };
  const { object, patch } = await mutateObject('EnvoyFilter', sent, NS, deps);
  t.equal(address(object), '10.96.0.50', 'the object itself is mutated');
  t.equal((object as any).metadata.annotations[LAST_APPLIED], sent.metadata.annotations[LAST_APPLIED], 'the annotation is left as sent');
  t.notOk(patch.some((op) => op.path.endsWith('last-applied-configuration')), 'and not in the patch');

  // Just under the limit, the same annotation is aligned.
  const under = { ...padded, metadata: { ...padded.metadata, labels: { padding: 'x'.repeat(MAX_ANNOTATIONS_BYTES - 2_000) } } };
  const aligned = await mutateObject('EnvoyFilter', { ...sent, metadata: { ...sent.metadata, annotations: { [LAST_APPLIED]: JSON.stringify(under) } } }, NS, deps);
  t.equal(address(JSON.parse((aligned.object as any).metadata.annotations[LAST_APPLIED])), '10.96.0.50', 'under the limit it is aligned');
});

t.test('integers beyond 2^53 in the annotation are written back exactly as kubectl wrote them', async (t) => {
  const big = structuredClone(manifest);
  big.spec.configPatches[1].patch.value.per_connection_buffer_limit_bytes = 1;
  const sent = asKubectlSendsIt(big);
  // As kubectl writes an int64: its digits, which JSON.parse would round to 9007199254740992.
  const text = sent.metadata.annotations[LAST_APPLIED].replace('"per_connection_buffer_limit_bytes":1', '"per_connection_buffer_limit_bytes":9007199254740993,"neg":-12345678901234567890');
  sent.metadata.annotations[LAST_APPLIED] = text;
  const stored = (await mutateObject('EnvoyFilter', sent, NS, deps)).object as any;
  const written: string = stored.metadata.annotations[LAST_APPLIED];
  t.match(written, '"per_connection_buffer_limit_bytes":9007199254740993,"neg":-12345678901234567890', 'the digits as written');
  t.equal(address(JSON.parse(written)), '10.96.0.50', 'and the substitution made');
  t.equal(written, `${text.replace('"EPP_SERVICE_CLUSTER_IP"', '"10.96.0.50"').trimEnd()}\n`, 'nothing else of the text changed');
});
