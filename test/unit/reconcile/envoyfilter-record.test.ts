import t from 'tap';
import { toEnvoyFilterRecord, provenanceOf } from '../../../src/reconcile/envoyfilter-record.ts';
import { manifest } from '../../helpers/fixtures.ts';
import { MAX_ANNOTATIONS_BYTES } from '../../../src/annotations.ts';

const ADDRESS = '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address';

function substituted(): any {
  const object = manifest('guide-envoyfilter.yaml');
  object.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = '10.0.0.5';
  object.metadata = {
    ...object.metadata,
    uid: 'u-1',
    resourceVersion: '7',
    managedFields: [{ manager: 'kubectl' }],
    annotations: {
      'epp-webhook.io/resolved-service': 'llm-d-inference-scheduler/gaie-inference-scheduling-epp',
      'epp-webhook.io/resolved-cluster-ip': '10.0.0.5',
      'epp-webhook.io/placeholder-paths': JSON.stringify([ADDRESS, '/spec/gone']),
      'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(10_000),
    },
  };
  return object;
}

t.test('keeps the names, versions, provenance and the strings at the recorded paths; nothing else', async (t) => {
  t.same(toEnvoyFilterRecord(substituted(), 'EPP_SERVICE_CLUSTER_IP'), {
    namespace: 'llm-d-inference-scheduler',
    name: 'epp-ext-proc-poc',
    uid: 'u-1',
    resourceVersion: '7',
    provenance: { service: 'llm-d-inference-scheduler/gaie-inference-scheduling-epp', clusterIP: '10.0.0.5', paths: [ADDRESS, '/spec/gone'], port: undefined },
    eppService: undefined,
    inferencePool: undefined,
    valuesAtPaths: { [ADDRESS]: '10.0.0.5', '/spec/gone': undefined },
    valuesAtPortPaths: {},
    hasPlaceholder: false,
  });
});

t.test('the raw token is noticed anywhere in a patch value; malformed objects are no one\'s', async (t) => {
  const raw = manifest('guide-envoyfilter.yaml');
  t.match(toEnvoyFilterRecord(raw, 'EPP_SERVICE_CLUSTER_IP'), { hasPlaceholder: true, provenance: undefined });
  raw.metadata.annotations = { 'epp-webhook.io/epp-service': 'other-epp' };
  t.match(toEnvoyFilterRecord(raw, 'EPP_SERVICE_CLUSTER_IP'), { eppService: 'other-epp' });
  t.equal(toEnvoyFilterRecord({ metadata: { name: 'x' } }, 'T'), undefined, 'no namespace');
  t.equal(toEnvoyFilterRecord('nope', 'T'), undefined);
  t.match(toEnvoyFilterRecord({ metadata: { name: 'x', namespace: 'y' }, spec: { configPatches: 'bad' } }, 'T'), { hasPlaceholder: false });
});

t.test('provenance needs all three annotations, well formed', async (t) => {
  const object = substituted();
  t.ok(provenanceOf(object));
  for (const [key, value] of [
    ['epp-webhook.io/resolved-service', 'no-slash'],
    ['epp-webhook.io/resolved-cluster-ip', ''],
    ['epp-webhook.io/placeholder-paths', undefined],
  ] as const) {
    const broken = structuredClone(object);
    if (value === undefined) delete broken.metadata.annotations[key];
    else broken.metadata.annotations[key] = value;
    t.equal(provenanceOf(broken), undefined, `${key}=${value}`);
  }
  const garbage = structuredClone(object);
  garbage.metadata.annotations['epp-webhook.io/placeholder-paths'] = 'not json';
  t.same(provenanceOf(garbage)?.paths, [], 'unparsable paths: none recorded');
  // Valid JSON, but longer than any annotation the apiserver stores: not parsed (see annotationJson).
  const long = structuredClone(object);
  const pointers = JSON.parse(long.metadata.annotations['epp-webhook.io/placeholder-paths']);
  long.metadata.annotations['epp-webhook.io/placeholder-paths'] = JSON.stringify([...pointers, `/spec/${'x'.repeat(MAX_ANNOTATIONS_BYTES)}`]);
  t.same(provenanceOf(long)?.paths, [], 'paths longer than 256 KiB: none recorded');
});
