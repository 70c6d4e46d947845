import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { askIstio } from './istio-oracle.ts';
import { toolPath } from './run-differential.ts';
import { StaticServiceResolver } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { askWebhook } from './webhook-verdict.ts';

// EPP_SERVICE_PORT as the whole of a string field (a header value of the EPP's gRPC metadata) is stored as the port's
// digits, a string, and under port_value as a number: asked of istiod's own validation of what the webhook stores, with
// the number written into the string field beside it (what the webhook stored before) for contrast.

const NS = 'llm-d-inference-scheduler';
const deps = {
  config: DEFAULT_CONFIG,
  resolver: StaticServiceResolver.fromRecords([{ namespace: NS, name: 'gaie-inference-scheduling-epp', type: 'ClusterIP', clusterIP: '10.96.0.50', ports: [{ name: 'grpc-ext-proc', port: 9002 }] }]),
};

/** The example with the port token under port_value and as a header value of the override's gRPC metadata. */
function example(): any {
  const object = parse(readFileSync(new URL('../../examples/envoyfilter-placeholder.yaml', import.meta.url), 'utf8'));
  object.spec.configPatches[0].patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'].overrides.grpc_service.initial_metadata = [{ key: 'x-epp-port', value: 'EPP_SERVICE_PORT' }];
  object.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 'EPP_SERVICE_PORT';
  return object;
}

t.test('the port token in a string field stays a string, which istiod accepts; a number there istiod refuses', async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const { stored, allowed } = await askWebhook(example(), NS, deps);
  t.ok(allowed);
  const metadata = (stored as any).spec.configPatches[0].patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'].overrides.grpc_service.initial_metadata;
  t.strictSame(metadata, [{ key: 'x-epp-port', value: '9002' }]);
  t.equal((stored as any).spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 9002);
  const asNumber = structuredClone(stored) as any;
  asNumber.spec.configPatches[0].patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'].overrides.grpc_service.initial_metadata[0].value = 9002;
  const [ours, number] = await askIstio(oracle, [
    { id: 'as stored', object: stored },
    { id: 'a number in the string field', object: asNumber },
  ]);
  t.ok(ours.admitted, `istiod accepts what the webhook stores: ${ours.error ?? ''}`);
  t.notOk(number.admitted, 'istiod refuses a number in a string field');
  t.match(number.error, 'cannot unmarshal number into Go value of type string');
});
