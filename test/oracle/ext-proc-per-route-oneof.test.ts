import t, { type Test } from 'tap';
import { envoyValidator } from './envoy/envoy-validate.ts';
import { gatewayBootstrap } from './envoy/gateway-bootstrap.ts';
import { askIstio } from './istio-oracle.ts';
import { toolPath } from './run-differential.ts';
import { StaticServiceResolver } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { claimOf } from './rule-claims.ts';
import { askWebhook } from './webhook-verdict.ts';

// ExtProcPerRoute's `disabled` and `overrides` are one oneof. EPP230 (src/envoyfilter/check-istiod-route-override.ts)
// reads an override carrying both as istiod pushes it: with `overrides`, `disabled` dropped. Inside a TypedStruct,
// Envoy converts the value itself: it reads "false" and lowercase modes, and refuses both members of the oneof (as it
// refuses envoy_grpc beside google_grpc, and two members of each oneof below forward_rules and google_grpc: see
// src/envoyfilter/ext-proc-oneofs.ts). Asked of istiod's own code, then of Envoy 1.40 (`--mode validate`) on what
// istiod pushes, then of the webhook: EPP221 must deny exactly what Envoy refuses. Fields the proto documents as
// exclusive but declares outside any oneof are asked too: Envoy's filter refuses them itself, in or out of a TypedStruct.
const CACHE = process.env.EPP_WEBHOOK_CACHE ?? `${process.env.HOME}/.cache/epp-webhook`;
const PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';
const OVERRIDES = { processing_mode: { request_header_mode: 'SEND' }, failure_mode_allow: false };
const EXT_PROC_FILTER = {
  applyTo: 'HTTP_FILTER',
  match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } } } },
  patch: {
    operation: 'INSERT_BEFORE',
    value: { name: 'envoy.filters.http.ext_proc', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', grpc_service: { envoy_grpc: { cluster_name: 'epp' } } } },
  },
};

function routeOverride(perRoute: object, typedStruct = false) {
  const entry = typedStruct ? { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: PER_ROUTE, value: perRoute } : { '@type': PER_ROUTE, ...perRoute };
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: 'per-route', namespace: 'ns' },
    spec: {
      configPatches: [
        EXT_PROC_FILTER,
        { applyTo: 'HTTP_ROUTE', match: { context: 'GATEWAY' }, patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': entry } } } },
      ],
    },
  };
}

t.test("disabled beside overrides: istiod pushes the overrides and drops disabled, in either order", async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const verdicts = await askIstio(oracle, [
    { id: 'disabled-first', object: routeOverride({ disabled: true, overrides: OVERRIDES }) },
    { id: 'overrides-first', object: routeOverride({ overrides: OVERRIDES, disabled: true }) },
    { id: 'disabled-alone', object: routeOverride({ disabled: true }) },
  ]);
  const pushed = (id: string) => {
    const verdict = verdicts.find((v) => v.id === id);
    t.ok(verdict?.admitted, `${id}: istiod admits it`);
    return (verdict?.patches[1]?.value as any)?.typed_per_filter_config?.['envoy.filters.http.ext_proc'];
  };
  for (const id of ['disabled-first', 'overrides-first']) {
    const perRoute = pushed(id);
    t.same(perRoute?.overrides, OVERRIDES, `${id}: the overrides are pushed`);
    t.notOk('disabled' in (perRoute ?? {}), `${id}: disabled is dropped`);
  }
  t.equal(pushed('disabled-alone')?.disabled, true, 'disabled alone is pushed: the oracle shows it where it stays');
});

t.test('in a TypedStruct, Envoy converts the ExtProcPerRoute: "false" and lowercase modes load, both oneof members do not, and the webhook says so', async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const envoy = await envoyValidator(toolPath('scripts/install-envoy.sh', 'ENVOY'), `${CACHE}/oracle`);
  const cases = [
    { id: 'string-false', object: routeOverride({ overrides: { processing_mode: { request_header_mode: 'SEND' }, failure_mode_allow: 'false' } }, true), loads: true },
    { id: 'lowercase-modes', object: routeOverride({ overrides: { processing_mode: { request_header_mode: 'skip', response_header_mode: 'skip' }, failure_mode_allow: false } }, true), loads: true },
    { id: 'overrides-alone', object: routeOverride({ overrides: OVERRIDES }, true), loads: true },
    { id: 'both', object: routeOverride({ disabled: true, overrides: OVERRIDES }, true), loads: false },
    { id: 'both-disabled-false', object: routeOverride({ disabled: false, overrides: OVERRIDES }, true), loads: false },
    { id: 'both-disabled-string', object: routeOverride({ overrides: OVERRIDES, disabled: 'true' }, true), loads: false },
  ];
  const verdicts = await askIstio(oracle, cases);
  for (const verdict of verdicts) t.ok(verdict.admitted, `${verdict.id}: istiod admits it and passes the TypedStruct on`);
  const loaded = await envoy.validate(verdicts.map((v) => gatewayBootstrap(v.patches).bootstrap));
  await webhookDeniesWhatEnvoyRefuses(t, cases, loaded);
});

t.test("in a TypedStruct, Envoy refuses both members of GrpcService's oneof too (envoy_grpc and google_grpc), and the webhook says so", async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const envoy = await envoyValidator(toolPath('scripts/install-envoy.sh', 'ENVOY'), `${CACHE}/oracle`);
  const filter = (grpc_service: object) => {
    const typed_config = { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: EXT_PROC_FILTER.patch.value.typed_config['@type'], value: { grpc_service } };
    const patch = { ...EXT_PROC_FILTER, patch: { ...EXT_PROC_FILTER.patch, value: { name: EXT_PROC_FILTER.patch.value.name, typed_config } } };
    return { ...routeOverride({}), metadata: { name: 'filter', namespace: 'ns' }, spec: { configPatches: [patch] } };
  };
  const envoyGrpc = { envoy_grpc: { cluster_name: 'epp' } };
  const cases = [
    { id: 'envoy-grpc', object: filter(envoyGrpc), loads: true },
    { id: 'both-grpc', object: filter({ ...envoyGrpc, google_grpc: { target_uri: 'epp:9002', stat_prefix: 'epp' } }), loads: false },
  ];
  const verdicts = await askIstio(oracle, cases);
  const loaded = await envoy.validate(verdicts.map((v) => gatewayBootstrap(v.patches).bootstrap));
  for (const verdict of verdicts) t.ok(verdict.admitted, `${verdict.id}: istiod admits it and passes the TypedStruct on`);
  await webhookDeniesWhatEnvoyRefuses(t, cases, loaded);
});

const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const GOOGLE_GRPC = { target_uri: 'epp:9002', stat_prefix: 'epp' };

/** An EnvoyFilter inserting an ExternalProcessor `config`, typed or (`typedStruct`) in a TypedStruct. */
function extProcFilter(config: object, typedStruct: boolean) {
  const type = EXT_PROC_FILTER.patch.value.typed_config['@type'];
  const typed_config = typedStruct ? { '@type': TYPED_STRUCT, type_url: type, value: config } : { '@type': type, ...config };
  const patch = { ...EXT_PROC_FILTER, patch: { ...EXT_PROC_FILTER.patch, value: { name: EXT_PROC_FILTER.patch.value.name, typed_config } } };
  return { ...routeOverride({}), metadata: { name: 'filter', namespace: 'ns' }, spec: { configPatches: [patch] } };
}

t.test('the oneofs below forward_rules and google_grpc, and an override\'s grpc_service: istiod keeps one member and Envoy loads it; in a TypedStruct Envoy refuses the second, and the webhook says so', async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const envoy = await envoyValidator(toolPath('scripts/install-envoy.sh', 'ENVOY'), `${CACHE}/oracle`);
  const grpc = { grpc_service: { envoy_grpc: { cluster_name: 'epp' } } };
  const google = (more: object) => ({ grpc_service: { google_grpc: { ...GOOGLE_GRPC, ...more } } });
  const shapes: { id: string; make: (typedStruct: boolean) => unknown; twice: boolean }[] = [
    { id: 'grpc-both', make: (ts) => extProcFilter({ grpc_service: { ...grpc.grpc_service, google_grpc: GOOGLE_GRPC } }, ts), twice: true },
    { id: 'pattern-exact-prefix', make: (ts) => extProcFilter({ ...grpc, forward_rules: { allowed_headers: { patterns: [{ exact: 'x-a', prefix: 'x-' }] } } }, ts), twice: true },
    { id: 'pattern-camel-case', make: (ts) => extProcFilter({ ...grpc, forwardRules: { disallowedHeaders: { patterns: [{ exact: 'x-a' }, { exact: 'x-b', suffix: '-b' }] } } }, ts), twice: true },
    { id: 'pattern-one-each', make: (ts) => extProcFilter({ ...grpc, forward_rules: { allowed_headers: { patterns: [{ exact: 'x-a' }, { prefix: 'x-' }] } } }, ts), twice: false },
    { id: 'channel-credentials', make: (ts) => extProcFilter(google({ channel_credentials: { google_default: {}, local_credentials: {} } }), ts), twice: true },
    { id: 'channel-credentials-null', make: (ts) => extProcFilter(google({ channel_credentials: { google_default: {}, local_credentials: null } }), ts), twice: false },
    { id: 'ssl-data-source', make: (ts) => extProcFilter(google({ channel_credentials: { ssl_credentials: { root_certs: { filename: '/etc/ca.pem', inline_string: 'x' } } } }), ts), twice: true },
    { id: 'ssl-data-source-one', make: (ts) => extProcFilter(google({ channel_credentials: { ssl_credentials: { root_certs: { filename: '/etc/ca.pem' } } } }), ts), twice: false },
    { id: 'call-credentials', make: (ts) => extProcFilter(google({ call_credentials: [{ access_token: 't', google_compute_engine: {} }] }), ts), twice: true },
    { id: 'channel-arg', make: (ts) => extProcFilter(google({ channel_args: { args: { 'grpc.x': { string_value: 'a', int_value: '1' } } } }), ts), twice: true },
    { id: 'override-grpc-both', make: (ts) => routeOverride({ overrides: { grpc_service: { ...grpc.grpc_service, google_grpc: GOOGLE_GRPC } } }, ts), twice: true },
    { id: 'override-channel-credentials', make: (ts) => routeOverride({ overrides: google({ channel_credentials: { google_default: {}, local_credentials: {} } }) }, ts), twice: true },
  ];
  const cases = shapes.flatMap(({ id, make, twice }) => [
    { id: `${id} (typed)`, object: make(false), loads: true },
    { id: `${id} (TypedStruct)`, object: make(true), loads: !twice },
  ]);
  const verdicts = await askIstio(oracle, cases);
  // Typed, istiod pushes a proto, which holds one member of a oneof at most: it keeps one.
  for (const verdict of verdicts) t.ok(verdict.admitted, `${verdict.id}: istiod admits it`);
  const loaded = await envoy.validate(verdicts.map((v) => gatewayBootstrap(v.patches).bootstrap));
  await webhookDeniesWhatEnvoyRefuses(t, cases, loaded);
});

t.test('documented as exclusive, in no oneof: Envoy\'s filter refuses grpc_service beside http_service, and disable_clear_route_cache beside a route_cache_action, typed or in a TypedStruct; EPP221 claims neither, EPP301 and EPP316 deny them', async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const envoy = await envoyValidator(toolPath('scripts/install-envoy.sh', 'ENVOY'), `${CACHE}/oracle`);
  const grpc = { grpc_service: { envoy_grpc: { cluster_name: 'epp' } } };
  const http = { http_service: { http_service: { http_uri: { uri: 'http://epp', cluster: 'epp', timeout: '1s' } } } };
  const routeCache = { refusal: 'can not be set to none-default at the same time', denial: 'EPP316' as const };
  // typedStructOnly: values only Envoy's own conversion reads ("true", lowercase names); istiod refuses them typed.
  const shapes: { id: string; config: object; refusal?: string; denial?: 'EPP301' | 'EPP316'; typedStructOnly?: boolean }[] = [
    { id: 'grpc-and-http', config: { ...grpc, ...http }, refusal: 'One and only one of grpc_service or http_service must be configured', denial: 'EPP301' },
    { id: 'route-cache-clear', config: { ...grpc, disable_clear_route_cache: true, route_cache_action: 'CLEAR' }, ...routeCache },
    { id: 'route-cache-retain', config: { ...grpc, disable_clear_route_cache: true, route_cache_action: 'RETAIN' }, ...routeCache },
    { id: 'route-cache-retain-number', config: { ...grpc, disable_clear_route_cache: true, route_cache_action: 2 }, ...routeCache },
    { id: 'route-cache-camel-case', config: { ...grpc, disableClearRouteCache: true, routeCacheAction: 'CLEAR' }, ...routeCache },
    { id: 'route-cache-strings', config: { ...grpc, disable_clear_route_cache: 'true', route_cache_action: 'retain' }, ...routeCache, typedStructOnly: true },
    { id: 'route-cache-default', config: { ...grpc, disable_clear_route_cache: true, route_cache_action: 'DEFAULT' } },
    { id: 'route-cache-default-number', config: { ...grpc, disable_clear_route_cache: true, route_cache_action: 0 } },
    { id: 'route-cache-not-disabled', config: { ...grpc, disable_clear_route_cache: false, route_cache_action: 'CLEAR' } },
    { id: 'route-cache-disabled-alone', config: { ...grpc, disable_clear_route_cache: true } },
  ];
  const cases = shapes.flatMap((shape) =>
    (shape.typedStructOnly ? [true] : [false, true]).map((ts) => ({ ...shape, id: `${shape.id} (${ts ? 'TypedStruct' : 'typed'})`, object: extProcFilter(shape.config, ts) })),
  );
  const verdicts = await askIstio(oracle, cases);
  for (const verdict of verdicts) t.ok(verdict.admitted, `${verdict.id}: istiod admits it`);
  const loaded = await envoy.validate(verdicts.map((v) => gatewayBootstrap(v.patches).bootstrap));
  const deps = { config: DEFAULT_CONFIG, resolver: StaticServiceResolver.fromRecords([]) };
  for (const [i, { id, object, refusal, denial }] of cases.entries()) {
    const denials = (await askWebhook(object, 'ns', deps)).findings.filter((f) => f.severity === 'deny');
    t.notOk(denials.some((f) => f.code === 'EPP221'), `${id}: no EPP221, as Envoy refuses no oneof here`);
    if (refusal === undefined) {
      t.ok(loaded[i].ok, `${id}: Envoy loads it ${loaded[i].message}`);
      t.notOk(denials.some((f) => claimOf(f.code) === 'envoy-rejects'), `${id}: the webhook claims no rejection`);
      continue;
    }
    t.notOk(loaded[i].ok, `${id}: Envoy refuses it`);
    t.match(loaded[i].message, refusal, `${id}: its filter's own check`);
    t.ok(denials.some((f) => f.code === denial), `${id}: the webhook denies it with ${denial}`);
  }
});

/** Each case as Envoy took it (`loaded`, in order): what Envoy loads draws no Envoy-rejection claim, what it refuses for the oneof is EPP221. */
async function webhookDeniesWhatEnvoyRefuses(
  t: Test,
  cases: readonly { id: string; object: unknown; loads: boolean }[],
  loaded: readonly { ok: boolean; message: string }[],
): Promise<void> {
  const deps = { config: DEFAULT_CONFIG, resolver: StaticServiceResolver.fromRecords([]) };
  for (const [i, { id, object, loads }] of cases.entries()) {
    const denials = (await askWebhook(object, 'ns', deps)).findings.filter((f) => f.severity === 'deny');
    if (loads) {
      t.ok(loaded[i].ok, `${id}: Envoy loads it ${loaded[i].message}`);
      t.notOk(denials.some((f) => claimOf(f.code) === 'envoy-rejects'), `${id}: the webhook claims no rejection`);
    } else {
      t.notOk(loaded[i].ok, `${id}: Envoy refuses it`);
      t.match(loaded[i].message, 'already', `${id}: because the oneof is already set`);
      t.ok(denials.some((f) => f.code === 'EPP221' && f.message.includes('one oneof')), `${id}: the webhook denies it with EPP221, an Envoy rejection`);
    }
  }
}
