import t from 'tap';
import { envoyValidator } from './envoy/envoy-validate.ts';
import { gatewayBootstrap, type JsonObject } from './envoy/gateway-bootstrap.ts';
import { askIstio } from './istio-oracle.ts';
import { toolPath } from './run-differential.ts';
import { StaticServiceResolver } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { askWebhook } from './webhook-verdict.ts';
import { envoyFilter, EXTERNAL_PROCESSOR, externalProcessor, filterPatch, NAMESPACE, type JsonMap } from './corpus/building-blocks.ts';

// An ext_proc filter whose config comes from discovery (ECDS: `config_discovery`, the other member of typed_config's
// oneof) has no grpc_service or http_service where it is inserted: the ExternalProcessor is an EXTENSION_CONFIG patch.
// EPP301 ("neither grpc_service nor http_service: Envoy rejects the filter") must not read the inserted filter as an
// empty config. Asked of istiod's own code, then of Envoy 1.40 (`--mode validate`) on what istiod pushes, with the ADS
// source every istio-proxy has (the oracle gateway has none, so discovery is added here), then of the webhook.
const CACHE = process.env.EPP_WEBHOOK_CACHE ?? `${process.env.HOME}/.cache/epp-webhook`;

/** The ExternalProcessor as an EXTENSION_CONFIG, and the ext_proc filter put before the router as `filter` writes it. */
function ecdsFilter(filter: JsonMap) {
  const extension = externalProcessor({ grpc_service: { envoy_grpc: { cluster_name: 'outbound|9000||waf.istio-ingress.svc.cluster.local' } }, processing_mode: { request_header_mode: 'SEND', response_header_mode: 'SKIP' } });
  return envoyFilter('ext-proc-ecds', [{ applyTo: 'EXTENSION_CONFIG', patch: { operation: 'ADD', value: { name: 'waf-ext-proc', typed_config: extension } } }, filter]);
}

const discovered = filterPatch(undefined, { filterFields: { config_discovery: { config_source: { ads: {}, initial_fetch_timeout: '0s' }, type_urls: [EXTERNAL_PROCESSOR] } } });
const noService = filterPatch({ '@type': EXTERNAL_PROCESSOR });

/** The oracle gateway with the node identity and ADS source istio-proxy's bootstrap gives Envoy. */
function withAds(bootstrap: JsonObject): JsonObject {
  const resources = bootstrap.static_resources as { clusters: JsonObject[] };
  const xds = {
    name: 'xds-grpc',
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } },
    },
    load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 15010 } } } }] }] },
  };
  return {
    ...bootstrap,
    node: { id: 'router~10.0.0.1~gateway.istio-ingress~istio-ingress.svc.cluster.local', cluster: 'gateway.istio-ingress' },
    static_resources: { ...resources, clusters: [...resources.clusters, xds] },
    dynamic_resources: { ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] } },
  };
}

t.test('an ext_proc filter configured by discovery: Istio and Envoy accept it, and so does the webhook', async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const envoy = await envoyValidator(toolPath('scripts/install-envoy.sh', 'ENVOY'), `${CACHE}/oracle`);
  const deps = { config: DEFAULT_CONFIG, resolver: StaticServiceResolver.fromRecords([]) };
  const cases = [
    { id: 'config_discovery', object: ecdsFilter(discovered), envoyAccepts: true },
    { id: 'typed_config without a service (the control)', object: ecdsFilter(noService), envoyAccepts: false },
  ];
  const istio = await askIstio(oracle, cases.map(({ id, object }) => ({ id, object })));
  const envoyVerdicts = await envoy.validate(istio.map((verdict) => withAds(gatewayBootstrap(verdict.patches).bootstrap)));
  for (const [i, { id, object, envoyAccepts }] of cases.entries()) {
    t.ok(istio[i].admitted, `${id}: istiod admits it`);
    t.equal(envoyVerdicts[i].ok, envoyAccepts, `${id}: Envoy ${envoyAccepts ? 'accepts' : 'rejects'} it${envoyVerdicts[i].ok ? '' : ` (${envoyVerdicts[i].message})`}`);
    const webhook = await askWebhook(object, NAMESPACE, deps);
    t.equal(webhook.allowed, envoyAccepts, `${id}: the webhook ${envoyAccepts ? 'admits' : 'denies'} it`);
    if (!envoyAccepts) t.ok(webhook.findings.some((f) => f.code === 'EPP301'), `${id}: with EPP301`);
  }
});
