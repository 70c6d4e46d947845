/**
 * fast-check arbitraries for AdmissionReviews: well-formed EnvoyFilters and HTTPRoutes built from the rules'
 * vocabulary, the fixtures, and mutations of both that put a wrong type, a hostile key or unicode anywhere.
 */
import fc from 'fast-check';
import { manifest, manifests } from '../helpers/fixtures.ts';

export const TOKEN = 'EPP_SERVICE_CLUSTER_IP';

/** How many cases each property runs: EPP_PROPERTY_SCALE=10 for a long run (the docs' figures state theirs). */
export const SCALE = Number(process.env.EPP_PROPERTY_SCALE ?? 1);
export const runs = (base: number) => Math.max(1, Math.round(base * SCALE));

/** fast-check's settings for every property: a printed seed on failure; EPP_PROPERTY_SEED replays one. */
export const params = (base: number): fc.Parameters<unknown> => ({
  numRuns: runs(base),
  ...(process.env.EPP_PROPERTY_SEED ? { seed: Number(process.env.EPP_PROPERTY_SEED) } : {}),
});

/** Keys that reach the core (the parser refuses only `__proto__` and `constructor.prototype`). */
const TRICKY_KEYS = ['prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'then', 'length', 'constructor', ''];
/** Keys the parser refuses; they are sent in their own cases and handed to the core directly. */
export const PROTO_KEYS = ['__proto__', 'constructor'];
const ENVOY_KEYS = [
  '@type', 'typed_config', 'typedConfig', 'name', 'processing_mode', 'processingMode', 'request_body_mode', 'response_body_mode',
  'request_header_mode', 'request_trailer_mode', 'response_trailer_mode', 'grpc_service', 'envoy_grpc', 'cluster_name', 'http_service',
  'failure_mode_allow', 'allow_mode_override', 'type', 'load_assignment', 'endpoints', 'lb_endpoints', 'endpoint', 'address',
  'socket_address', 'port_value', 'transport_socket', 'http2_protocol_options', 'typed_extension_protocol_options', 'overrides',
  'value', 'type_url', 'disabled', 'cluster', 'http_uri',
];
const ENVOY_STRINGS = [
  TOKEN, `${TOKEN}:9002`, `${TOKEN}:9090`, `dns:///${TOKEN}:9002`, `${TOKEN}${TOKEN}`, 'BUFFERED', 'BUFFERED_PARTIAL', 'STREAMED', 'GRPC',
  'FULL_DUPLEX_STREAMED', 'NONE', 'SEND', 'SKIP', 'DEFAULT', 'STATIC', 'STRICT_DNS', 'ADD', 'MERGE', 'REPLACE', 'REMOVE', 'INSERT_BEFORE',
  'envoy.filters.http.ext_proc', 'envoy.filters.http.router', 'epp-cluster', 'outbound|9002||epp.ns.svc.cluster.local',
  'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
  'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute',
  'type.googleapis.com/udpa.type.v1.TypedStruct', 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  'envoy.transport_sockets.tls', '10.96.183.7', 'gaie-inference-scheduling-epp', 'team-b/gaie-inference-scheduling-epp',
];

/** Unicode of every kind (lone surrogates, NUL, RTL, emoji), plus the words the rules look for. */
export const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 4, arbitrary: fc.constantFrom(...ENVOY_STRINGS) },
);
export const key = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ENVOY_KEYS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constantFrom(...TRICKY_KEYS) },
);
export const scalar = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(0, 9002, 9090, -1, 1e21, 2 ** 53, Number.MAX_VALUE) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

/** An own property, even for `__proto__` (an assignment would set the prototype instead). */
export function withKey(object: Record<string, unknown>, name: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

/** Any JSON value, keys from the Envoy vocabulary and beyond. */
export const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('node'), { maxLength: 4 }),
    fc.array(fc.tuple(key, tie('node')), { maxLength: 5 }).map((entries) => entries.reduce((o, [k, v]) => withKey(o, k, v), {} as Record<string, unknown>)),
  ),
})).node;

const NAMESPACES = ['llm-d-inference-scheduler', 'team-b', 'tenant-x', ''];
const SERVICE_REFS = [
  'gaie-inference-scheduling-epp', 'llm-d-inference-scheduler/gaie-inference-scheduling-epp', 'team-b/gaie-inference-scheduling-epp',
  'epp-headless', 'epp-external', 'missing', 'a/b/c', '/x', 'UPPER', '',
];
const POINTERS = [
  '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address',
  '/spec/configPatches/0/patch/value/name', '/spec/configPatches/9/x', '', '/', '/~2', 'not-a-pointer', '/metadata/annotations',
];

const annotations = fc
  .record(
    {
      'epp-webhook.io/epp-service': fc.oneof(fc.constantFrom(...SERVICE_REFS), scalar),
      'epp-webhook.io/resolved-service': fc.oneof(fc.constantFrom('llm-d-inference-scheduler/gaie-inference-scheduling-epp', 'team-b/gaie-inference-scheduling-epp'), scalar),
      'epp-webhook.io/placeholder-paths': fc.oneof(fc.subarray(POINTERS).map((p) => JSON.stringify(p)), text, fc.jsonValue().map((v) => JSON.stringify(v))),
      'epp-webhook.io/inject': fc.oneof(fc.constantFrom('false', 'true', 'False'), scalar),
      'epp-webhook.io/ext-proc-filter': fc.oneof(fc.constantFrom('epp-ext-proc', 'other-filter', 'Not_A_Name', '-x', 'a'.repeat(260)), scalar),
      other: text,
    },
    { requiredKeys: [] },
  );

const addressObject = fc.record({
  address: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(TOKEN, `${TOKEN}:9002`, '10.1.2.3', 'epp.svc') }, { weight: 1, arbitrary: scalar }),
  port_value: fc.oneof(fc.constantFrom(9002, 9090, '9002', 1), scalar),
});
const clusterValue = fc.record(
  {
    name: fc.constantFrom('epp-cluster', 'other'),
    type: fc.oneof(fc.constantFrom('STATIC', 'STRICT_DNS', 0, 1), scalar),
    http2_protocol_options: fc.constant({}),
    transport_socket: fc.constant({ name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' } }),
    load_assignment: fc.record({
      cluster_name: fc.constant('epp-cluster'),
      endpoints: fc.array(fc.record({ lb_endpoints: fc.array(fc.record({ endpoint: fc.record({ address: fc.record({ socket_address: addressObject }) }) }), { maxLength: 3 }) }), { maxLength: 2 }),
    }),
  },
  { requiredKeys: ['name'] },
);
const modes = fc.record(
  {
    request_header_mode: fc.constantFrom('SEND', 'SKIP', 'DEFAULT', 'BOGUS', 1),
    response_header_mode: fc.constantFrom('SEND', 'SKIP', 'DEFAULT'),
    request_body_mode: fc.constantFrom('NONE', 'FULL_DUPLEX_STREAMED', 'BUFFERED', 'STREAMED', 'GRPC', 'SKIP', 6, 99),
    response_body_mode: fc.constantFrom('NONE', 'FULL_DUPLEX_STREAMED', 'BUFFERED_PARTIAL', 'SKIP'),
    request_trailer_mode: fc.constantFrom('SEND', 'SKIP'),
    response_trailer_mode: fc.constantFrom('SEND', 'SKIP'),
  },
  { requiredKeys: [] },
);
const extProcValue = fc.record(
  {
    name: fc.constant('envoy.filters.http.ext_proc'),
    typed_config: fc.record(
      {
        '@type': fc.constantFrom(
          'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
          'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute',
        ),
        grpc_service: fc.record({ envoy_grpc: fc.record({ cluster_name: fc.oneof(fc.constantFrom('epp-cluster', 'outbound|9002||epp.ns.svc.cluster.local', 'nope'), scalar) }) }),
        processing_mode: modes,
        failure_mode_allow: fc.boolean(),
        allow_mode_override: fc.boolean(),
        overrides: fc.record({ processing_mode: modes }, { requiredKeys: [] }),
      },
      { requiredKeys: ['@type'] },
    ),
  },
  { requiredKeys: ['name'] },
);
const configPatch = fc.record(
  {
    applyTo: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('CLUSTER', 'HTTP_FILTER', 'HTTP_ROUTE', 'LISTENER') }, { weight: 1, arbitrary: scalar }),
    match: fc.oneof(fc.constant({ context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.ext_proc' } } } } }), jsonValue),
    patch: fc.record(
      {
        operation: fc.oneof(fc.constantFrom('ADD', 'MERGE', 'REPLACE', 'INSERT_BEFORE', 'REMOVE'), scalar),
        value: fc.oneof({ weight: 3, arbitrary: clusterValue }, { weight: 3, arbitrary: extProcValue }, { weight: 2, arbitrary: jsonValue }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

export const envoyFilter = fc
  .record({
    apiVersion: fc.constantFrom('networking.istio.io/v1alpha3', 'networking.istio.io/v1'),
    namespace: fc.constantFrom(...NAMESPACES),
    name: fc.oneof(fc.constantFrom('epp-ext-proc', 'x'), text),
    annotations: fc.option(annotations, { nil: undefined }),
    patches: fc.array(configPatch, { maxLength: 4 }),
  })
  .map(({ apiVersion, namespace, name, annotations, patches }) => ({
    apiVersion,
    kind: 'EnvoyFilter',
    metadata: { name, ...(namespace ? { namespace } : {}), ...(annotations ? { annotations } : {}) },
    spec: { configPatches: patches },
  }));

const POOL_GROUPS = ['inference.networking.k8s.io', 'inference.networking.x-k8s.io', 'example.com', ''];
const backendRef = fc.oneof(
  fc.record({ group: fc.constantFrom(...POOL_GROUPS), kind: fc.constant('InferencePool'), name: fc.constant('pool') }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constant('Service'), name: fc.constant('svc'), port: fc.constant(80) }),
  jsonValue,
);
const filter = fc.oneof(
  fc.record({ type: fc.constant('ExtensionRef'), extensionRef: fc.record({ group: fc.constantFrom('networking.istio.io', 'other.io'), kind: fc.constantFrom('EnvoyFilter', 'Other'), name: fc.constantFrom('epp-ext-proc', 'mine') }) }),
  fc.constant({ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'y' }] } }),
  jsonValue,
);
export const httpRoute = fc
  .record({
    namespace: fc.constantFrom(...NAMESPACES),
    annotations: fc.option(annotations, { nil: undefined }),
    rules: fc.array(
      fc.record({ backendRefs: fc.array(backendRef, { maxLength: 3 }), filters: fc.array(filter, { maxLength: 17 }) }, { requiredKeys: [] }),
      { maxLength: 4 },
    ),
  })
  .map(({ namespace, annotations, rules }) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'route', ...(namespace ? { namespace } : {}), ...(annotations ? { annotations } : {}) },
    spec: { parentRefs: [{ name: 'gw' }], rules },
  }));

const FIXTURES = [
  manifest('guide-envoyfilter.yaml'),
  manifest('guide-envoyfilter-buffered.yaml'),
  manifest('full-duplex-envoyfilter.yaml'),
  manifest('guide-httproute.yaml'),
  ...manifests('wild/operator-sample-envoyfilter-epp.yaml'),
  ...manifests('wild/operator-envoyfilter-route-override.yaml'),
  ...manifests('wild/operator-httproute-ab.yaml'),
  // As the inferencepool chart renders it for Istio, with a connection pool and a port-level entry (EPP501).
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'gaie-inference-scheduling-epp', namespace: 'llm-d-inference-scheduler' },
    spec: {
      host: 'gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local',
      exportTo: ['.', 'gateways'],
      trafficPolicy: {
        tls: { mode: 'SIMPLE', insecureSkipVerify: true },
        connectionPool: { http: { http2MaxRequests: 100, http1MaxPendingRequests: 10 }, tcp: { maxConnections: 100 } },
        portLevelSettings: [{ port: { number: 9090 }, connectionPool: { http: { http2MaxRequests: 5 } } }],
      },
    },
  },
].filter((o) => o && typeof o === 'object' && (o.kind === 'EnvoyFilter' || o.kind === 'HTTPRoute' || o.kind === 'DestinationRule'));
export const fixtureObject = fc.constantFrom(...FIXTURES).map((o) => structuredClone(o));

/** Every path in a JSON value, the root included (bounded: the first 400). */
export function pathsOf(value: unknown): (string | number)[][] {
  const paths: (string | number)[][] = [[]];
  const visit = (v: unknown, at: (string | number)[]) => {
    if (paths.length >= 400 || typeof v !== 'object' || v === null) return;
    for (const [k, child] of Array.isArray(v) ? v.entries() : Object.entries(v)) {
      paths.push([...at, k]);
      visit(child, [...at, k]);
    }
  };
  visit(value, []);
  return paths;
}

export type Mutation = { pick: number; how: 'replace' | 'delete' | 'wrap' | 'stringify' | 'numberize' | 'add-key'; value: unknown; key: string };
export const mutation: fc.Arbitrary<Mutation> = fc.record({
  pick: fc.nat(),
  how: fc.constantFrom('replace', 'replace', 'delete', 'wrap', 'stringify', 'numberize', 'add-key'),
  value: jsonValue,
  key,
});

/** A deep copy through JSON: what goes on the wire, and safe to mutate (generated values may be shared). */
export function jsonCopy<T>(value: T): T {
  const text = JSON.stringify(value);
  return text === undefined ? (null as T) : JSON.parse(text);
}

/** Applies a mutation at one of the value's paths; returns the (possibly new) root. */
export function applyMutation(root: unknown, m: Mutation): unknown {
  const paths = pathsOf(root);
  const path = paths[m.pick % paths.length];
  const replaceWith = (old: unknown): unknown => {
    switch (m.how) {
      case 'replace':
        return m.value;
      case 'wrap':
        return [old];
      case 'stringify':
        return JSON.stringify(old) ?? 'undefined';
      case 'numberize':
        return typeof old === 'string' ? old.length : 42;
      case 'add-key':
        return typeof old === 'object' && old !== null && !Array.isArray(old) ? withKey({ ...old }, m.key, m.value) : m.value;
      default:
        return undefined;
    }
  };
  if (path.length === 0) return m.how === 'delete' ? null : replaceWith(root);
  let holder = root as any;
  for (const segment of path.slice(0, -1)) holder = holder[segment];
  const last = path[path.length - 1];
  if (m.how === 'delete') {
    if (Array.isArray(holder)) holder.splice(last as number, 1);
    else delete holder[last];
  } else {
    const next = replaceWith(holder[last]);
    if (Array.isArray(holder)) holder[last as number] = next;
    else withKey(holder, String(last), next);
  }
  return root;
}

/** A structured object or a fixture, then 0-3 mutations anywhere in it. */
export const admittedObject = fc
  .tuple(fc.oneof({ weight: 2, arbitrary: envoyFilter }, { weight: 2, arbitrary: httpRoute }, { weight: 2, arbitrary: fixtureObject }), fc.array(mutation, { maxLength: 3 }))
  .map(([object, mutations]) => mutations.reduce<unknown>((o, m) => applyMutation(o, m), jsonCopy(object)));

/** Names of Object.prototype, Array.prototype and Function.prototype, to detect pollution. */
export function prototypeSnapshot(): string {
  const describe = (o: object) => Object.getOwnPropertyNames(o).sort().join(',');
  return [describe(Object.prototype), describe(Array.prototype), describe(Function.prototype), String(({} as any).polluted), String(({} as any).x)].join('|');
}
