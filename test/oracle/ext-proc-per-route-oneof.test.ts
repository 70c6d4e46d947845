import t from 'tap';
import { envoyValidator } from './envoy/envoy-validate.ts';
import { gatewayBootstrap } from './envoy/gateway-bootstrap.ts';
import { askIstio } from './istio-oracle.ts';
import { toolPath } from './run-differential.ts';

// ExtProcPerRoute's `disabled` and `overrides` are one oneof. EPP230 (src/envoyfilter/check-istiod-route-override.ts)
// reads an override carrying both as istiod pushes it: with `overrides`, `disabled` dropped. Inside a TypedStruct,
// Envoy converts the value itself: it reads "false" and lowercase modes, and refuses both members of the oneof.
// Asked of istiod's own code, then of Envoy 1.40 (`--mode validate`) on what istiod pushes.
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

t.test('in a TypedStruct, Envoy converts the ExtProcPerRoute: "false" and lowercase modes load, both oneof members do not', async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const envoy = await envoyValidator(toolPath('scripts/install-envoy.sh', 'ENVOY'), `${CACHE}/oracle`);
  const cases = [
    { id: 'string-false', object: routeOverride({ overrides: { processing_mode: { request_header_mode: 'SEND' }, failure_mode_allow: 'false' } }, true) },
    { id: 'lowercase-modes', object: routeOverride({ overrides: { processing_mode: { request_header_mode: 'skip', response_header_mode: 'skip' }, failure_mode_allow: false } }, true) },
    { id: 'both', object: routeOverride({ disabled: true, overrides: OVERRIDES }, true) },
  ];
  const verdicts = await askIstio(oracle, cases);
  for (const verdict of verdicts) t.ok(verdict.admitted, `${verdict.id}: istiod admits it and passes the TypedStruct on`);
  const loaded = await envoy.validate(verdicts.map((v) => gatewayBootstrap(v.patches).bootstrap));
  t.ok(loaded[0].ok, `failure_mode_allow "false": Envoy loads it ${loaded[0].message}`);
  t.ok(loaded[1].ok, `lowercase skip: Envoy loads it ${loaded[1].message}`);
  t.notOk(loaded[2].ok, 'disabled beside overrides: Envoy refuses the route');
  t.match(loaded[2].message, 'already');
});
