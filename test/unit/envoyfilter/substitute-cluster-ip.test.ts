import t from 'tap';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config.ts';
import { substituteClusterIP } from '../../../src/envoyfilter/substitute-cluster-ip.ts';
import { formatFinding } from '../../../src/findings.ts';
import { findEachPlaceholder } from '../../../src/envoyfilter/find-placeholders.ts';
import { readConfigPatches } from '../../../src/envoyfilter/config-patches.ts';
import { MAX_PLACEHOLDER_PATH_CHARACTERS, MAX_PLACEHOLDER_TOKENS } from '../../../src/envoyfilter/placeholder-budget.ts';
import type { ServiceResolver } from '../../../src/cluster/service-resolver.ts';
import { StaticServiceResolver } from '../../../src/cluster/static-resolver.ts';
import { replaceAddress } from '../../../src/envoyfilter/address-in-text.ts';
import { isIP } from 'node:net';
import { EPP_CLUSTER_IP, fixtureResolver, manifest } from '../../helpers/fixtures.ts';

const NS = 'llm-d-inference-scheduler';
const ADDRESS_POINTER =
  '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address';

t.test("the guide's placeholder gets the EPP Service's ClusterIP and provenance", async (t) => {
  const input = manifest('guide-envoyfilter.yaml');
  const before = structuredClone(input);
  const { object, findings, substitutions } = await substituteClusterIP(input, NS, fixtureResolver(), DEFAULT_CONFIG);
  const result = object as any;
  t.same(findings, []);
  t.equal(substitutions, 1);
  t.equal(result.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, EPP_CLUSTER_IP);
  t.same(result.metadata.annotations, {
    'epp-webhook.io/resolved-service': `${NS}/gaie-inference-scheduling-epp`,
    'epp-webhook.io/resolved-cluster-ip': EPP_CLUSTER_IP,
    'epp-webhook.io/placeholder-paths': JSON.stringify([ADDRESS_POINTER]),
  });
  t.same(input, before, 'the request object is not modified');
});

t.test('embedded tokens, several strings, and a configurable token', async (t) => {
  const object = {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: 'f', namespace: NS, annotations: { team: 'a' } },
    spec: {
      configPatches: [
        { applyTo: 'CLUSTER', patch: { operation: 'ADD', value: { name: 'x', hosts: ['EPP_IP:9002', 'tcp://EPP_IP:9090/path'], note: 'no token' } } },
      ],
    },
  };
  const config = parseConfig({ placeholder: 'EPP_IP' });
  const { object: result, findings, substitutions } = await substituteClusterIP(object, NS, fixtureResolver(), config);
  const r = result as any;
  t.same(r.spec.configPatches[0].patch.value.hosts, [`${EPP_CLUSTER_IP}:9002`, `tcp://${EPP_CLUSTER_IP}:9090/path`]);
  t.equal(r.spec.configPatches[0].patch.value.note, 'no token');
  t.equal(substitutions, 2);
  t.equal(r.metadata.annotations.team, 'a', 'other annotations are kept');
  t.same(JSON.parse(r.metadata.annotations['epp-webhook.io/placeholder-paths']), [
    '/spec/configPatches/0/patch/value/hosts/0',
    '/spec/configPatches/0/patch/value/hosts/1',
  ]);
  t.same(findings, [], 'both ports 9002 and 9090 exist on the Service');
});

t.test('an IPv6 ClusterIP is bracketed where a port follows it or it is a URL host, and follows a later change of address', async (t) => {
  const ipv6 = 'fd00:10:96::a1b2';
  const resolver = StaticServiceResolver.fromObjects(
    [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'gaie-inference-scheduling-epp', namespace: NS }, spec: { type: 'ClusterIP', clusterIP: ipv6, ports: [{ name: 'grpc-ext-proc', port: 9002 }] } }],
    'test',
  );
  const texts = ['EPP_SERVICE_CLUSTER_IP', 'EPP_SERVICE_CLUSTER_IP:9002', 'EPP_SERVICE_CLUSTER_IP:EPP_SERVICE_PORT', 'http://EPP_SERVICE_CLUSTER_IP/v1', '[EPP_SERVICE_CLUSTER_IP]:9002', 'EPP_SERVICE_CLUSTER_IP.nip.io'];
  const object = {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: 'f', namespace: NS },
    spec: { configPatches: [{ applyTo: 'CLUSTER', patch: { operation: 'ADD', value: { name: 'x', texts } } }] },
  };
  const { object: result, findings } = await substituteClusterIP(object, NS, resolver, DEFAULT_CONFIG);
  const written = (result as any).spec.configPatches[0].patch.value.texts as string[];
  t.same(written, [ipv6, `[${ipv6}]:9002`, `[${ipv6}]:9002`, `http://[${ipv6}]/v1`, `[${ipv6}]:9002`, `${ipv6}.nip.io`]);
  t.equal(isIP(`${ipv6}:9002`), 6, 'unbracketed, address and port read as one longer IPv6 address');
  t.same(findings, []);
  const again = await substituteClusterIP(result, NS, resolver, DEFAULT_CONFIG);
  t.same(again.patch, [], 'idempotent');
  const moved = 'fd00:10:96::c3d4';
  t.same(written.map((text) => replaceAddress(text, ipv6, moved)).slice(1, 4), [`[${moved}]:9002`, `[${moved}]:9002`, `http://[${moved}]/v1`], 'the reconciler finds the bracketed address and moves it');
});

/** The guide's EnvoyFilter (one address token) with `extra` more strings holding `token`, under a key of `keyLength` characters. */
function withTokens(extra: number, token = 'EPP_SERVICE_CLUSTER_IP', keyLength = 5) {
  const object = manifest('guide-envoyfilter.yaml');
  object.spec.configPatches[1].patch.value.metadata = { filter_metadata: { ['k'.repeat(keyLength)]: { list: Array.from({ length: extra }, () => token) } } };
  return object;
}

t.test(`up to ${MAX_PLACEHOLDER_TOKENS.toLocaleString('en-US')} tokens are substituted; one more, or paths too long in all, is a denial, with no lookup and no patch`, async (t) => {
  let lookups = 0;
  const counting: ServiceResolver = { source: 'test', lookup: (ns, name) => (lookups++, fixtureResolver().lookup(ns, name)), ready: () => true, size: () => 1 };

  const atLimit = await substituteClusterIP(withTokens(MAX_PLACEHOLDER_TOKENS - 1), NS, counting, DEFAULT_CONFIG);
  t.same(atLimit.findings, []);
  t.equal(atLimit.substitutions, MAX_PLACEHOLDER_TOKENS);
  t.equal(JSON.parse((atLimit.object as any).metadata.annotations['epp-webhook.io/placeholder-paths']).length, MAX_PLACEHOLDER_TOKENS);

  // Paths of about 90 characters: 1,000 of them fit the path budget; under a key of 130 more characters they do not.
  const longKey = 130;
  const subject = `EnvoyFilter ${NS}/epp-ext-proc-poc holds`;
  lookups = 0;
  for (const [what, object, message] of [
    ['one more address token', withTokens(MAX_PLACEHOLDER_TOKENS), `${subject} more than 1,000 EPP_SERVICE_CLUSTER_IP and EPP_SERVICE_PORT tokens (one per string and token); the webhook substitutes at most 1,000 tokens in one EnvoyFilter, at paths of 131,072 characters in all`],
    ['one more port token', withTokens(MAX_PLACEHOLDER_TOKENS, 'EPP_SERVICE_PORT'), `${subject} more than 1,000`],
    ['a flood of 100,000', withTokens(100_000), `${subject} more than 1,000`],
    [`999 under a key of ${longKey} characters`, withTokens(MAX_PLACEHOLDER_TOKENS - 1, 'EPP_SERVICE_CLUSTER_IP', longKey), `${subject} tokens at paths of more than 131,072 characters in all`],
    ['2 under a key as long as the budget', withTokens(2, 'EPP_SERVICE_CLUSTER_IP', MAX_PLACEHOLDER_PATH_CHARACTERS), `${subject} tokens at paths of more than 131,072 characters in all`],
  ] as const) {
    const over = await substituteClusterIP(object, NS, counting, DEFAULT_CONFIG);
    t.equal(over.object, object, `${what}: the object is returned as is`);
    t.same(over.patch, [], `${what}: no patch`);
    t.equal(over.substitutions, 0);
    t.same(over.findings.map((f) => [f.code, f.severity]), [['EPP115', 'deny']], what);
    t.match(over.findings[0].message, message, what);
    t.equal(over.findings[0].location, 'configPatches[1]');
  }
  t.equal(lookups, 0, 'no Service is looked up for an object that is denied anyway');

  const fits = await substituteClusterIP(withTokens(MAX_PLACEHOLDER_TOKENS - 1, 'EPP_SERVICE_CLUSTER_IP', 30), NS, counting, DEFAULT_CONFIG);
  t.same(fits.findings, [], '1,000 tokens under a key of 30 characters fit both limits');
});

t.test('the walk keeps no site past its limit, however many strings hold a token', async (t) => {
  const { patches } = readConfigPatches(withTokens(5_000), {});
  t.same(findEachPlaceholder(patches, ['EPP_SERVICE_CLUSTER_IP', 'EPP_SERVICE_PORT'], 3).map((sites) => sites.length), [4, 0]);
  t.same(findEachPlaceholder(patches, ['EPP_SERVICE_CLUSTER_IP', 'EPP_SERVICE_PORT']).map((sites) => sites.length), [5_001, 0], 'no limit: every site');
});

t.test('an object without the token is returned as is, without a lookup', async (t) => {
  const input = manifest('wild/operator-envoyfilter-route-override.yaml');
  let lookups = 0;
  const resolver: ServiceResolver = { source: 'test', lookup: () => (lookups++, { kind: 'not-found' }), ready: () => true, size: () => 0 };
  const result = await substituteClusterIP(input, NS, resolver, DEFAULT_CONFIG);
  t.equal(result.object, input);
  t.same(result.findings, []);
  t.equal(lookups, 0);
});

t.test('mutating the result again changes nothing (idempotent)', async (t) => {
  const once = await substituteClusterIP(manifest('guide-envoyfilter.yaml'), NS, fixtureResolver(), DEFAULT_CONFIG);
  const twice = await substituteClusterIP(once.object, NS, fixtureResolver(), DEFAULT_CONFIG);
  t.equal(twice.object, once.object);
  const again = await substituteClusterIP(manifest('guide-envoyfilter.yaml'), NS, fixtureResolver(), DEFAULT_CONFIG);
  t.same(again.object, once.object, 'the placeholder manifest resubmitted gives the same stored object');
});

t.test('a token added later keeps the earlier recorded paths', async (t) => {
  const once = (await substituteClusterIP(manifest('guide-envoyfilter.yaml'), NS, fixtureResolver(), DEFAULT_CONFIG)).object as any;
  once.spec.configPatches[1].patch.value.metadata = { filter_metadata: { epp: { addr: 'EPP_SERVICE_CLUSTER_IP' } } };
  const result = (await substituteClusterIP(once, NS, fixtureResolver(), DEFAULT_CONFIG)).object as any;
  t.same(JSON.parse(result.metadata.annotations['epp-webhook.io/placeholder-paths']), [
    ADDRESS_POINTER,
    '/spec/configPatches/1/patch/value/metadata/filter_metadata/epp/addr',
  ]);
});

t.test('the annotation picks the Service; other namespaces need permission', async (t) => {
  const input = manifest('guide-envoyfilter.yaml');
  input.metadata.annotations = { 'epp-webhook.io/epp-service': 'team-b/gaie-inference-scheduling-epp' };
  const denied = await substituteClusterIP(input, NS, fixtureResolver(), DEFAULT_CONFIG);
  t.equal(denied.object, input, 'nothing substituted');
  t.equal(denied.findings[0].code, 'EPP103');
  t.equal(denied.findings[0].severity, 'deny');
  t.match(denied.findings[0].message, /may not reference Services in namespace team-b/);
  t.match(denied.findings[0].fix, /allowedServiceNamespaces/);

  const allowed = await substituteClusterIP(input, NS, fixtureResolver(), parseConfig({ allowedServiceNamespaces: ['team-b'] }));
  t.same(allowed.findings, []);
  t.equal((allowed.object as any).metadata.annotations['epp-webhook.io/resolved-cluster-ip'], '10.96.44.12');
  t.equal((allowed.object as any).metadata.annotations['epp-webhook.io/resolved-service'], 'team-b/gaie-inference-scheduling-epp');

  const wildcard = await substituteClusterIP(input, NS, fixtureResolver(), parseConfig({ allowedServiceNamespaces: ['*'] }));
  t.same(wildcard.findings, []);
});

t.test('a name-only annotation stays in the object namespace', async (t) => {
  const input = manifest('guide-envoyfilter.yaml');
  input.metadata.annotations = { 'epp-webhook.io/epp-service': 'epp-headless' };
  const { findings } = await substituteClusterIP(input, NS, fixtureResolver(), DEFAULT_CONFIG);
  t.equal(findings[0].code, 'EPP102');
  t.match(findings[0].message, /llm-d-inference-scheduler\/epp-headless is a headless Service \(clusterIP: None\)/);
});

t.test('a configured default namespace is trusted', async (t) => {
  const config = parseConfig({ eppService: { name: 'gaie-inference-scheduling-epp', namespace: 'team-b' } });
  const { findings, object } = await substituteClusterIP(manifest('guide-envoyfilter.yaml'), NS, fixtureResolver(), config);
  t.same(findings, []);
  t.equal((object as any).metadata.annotations['epp-webhook.io/resolved-cluster-ip'], '10.96.44.12');
});

t.test('each resolution failure is a denial that names the object, the Service and the fix', async (t) => {
  const cases: [string, unknown, string, RegExp][] = [
    ['missing', 'no-such-epp', 'EPP101', /Service llm-d-inference-scheduler\/no-such-epp \(chosen by annotation epp-webhook.io\/epp-service\) not found in .*services\.yaml, so EnvoyFilter llm-d-inference-scheduler\/epp-ext-proc-poc cannot get its ClusterIP/],
    ['ExternalName', 'epp-external', 'EPP102', /is an ExternalName Service/],
    ['headless', 'epp-headless', 'EPP102', /headless/],
    ['bad reference', 'a/b/c', 'EPP107', /not a Service reference/],
    ['not a string', 42, 'EPP107', /not a Service reference/],
    ['uppercase', 'EPP', 'EPP107', /not a Service reference/],
  ];
  for (const [label, annotation, code, message] of cases) {
    const input = manifest('guide-envoyfilter.yaml');
    input.metadata.annotations = { 'epp-webhook.io/epp-service': annotation };
    const { findings, object } = await substituteClusterIP(input, NS, fixtureResolver(), DEFAULT_CONFIG);
    t.equal(findings.length, 1, label);
    t.equal(findings[0].code, code, label);
    t.equal(findings[0].severity, 'deny', label);
    t.match(findings[0].message, message, label);
    t.ok(findings[0].fix.length > 10, `${label} has a fix`);
    t.equal(object, input, `${label}: the token is not let through`);
  }
});

t.test('the default Service missing names the config as the chooser', async (t) => {
  const { findings } = await substituteClusterIP(manifest('guide-envoyfilter.yaml'), 'elsewhere', fixtureResolver(), DEFAULT_CONFIG);
  t.equal(findings[0].code, 'EPP101');
  t.match(findings[0].message, /Service elsewhere\/gaie-inference-scheduling-epp \(chosen by the webhook default/);
});

t.test('a resolver that cannot answer yet denies as temporary', async (t) => {
  const resolver: ServiceResolver = {
    source: 'the Service cache',
    lookup: () => ({ kind: 'unavailable', reason: 'the Service cache has not finished its first list' }),
    ready: () => false,
    size: () => 0,
  };
  const { findings, object } = await substituteClusterIP(manifest('guide-envoyfilter.yaml'), NS, resolver, DEFAULT_CONFIG);
  t.equal(findings[0].code, 'EPP104');
  t.match(findings[0].message, /temporary; the token was not stored/);
  t.match((object as any).spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, 'EPP_SERVICE_CLUSTER_IP');
});

t.test('a port_value the Service does not expose is a warning', async (t) => {
  const input = manifest('guide-envoyfilter.yaml');
  input.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 9003;
  const { findings, substitutions } = await substituteClusterIP(input, NS, fixtureResolver(), DEFAULT_CONFIG);
  t.equal(substitutions, 1, 'still substituted');
  t.equal(findings.length, 1);
  t.equal(findings[0].code, 'EPP105');
  t.equal(findings[0].severity, 'warn');
  t.match(findings[0].message, /port 9003: Service llm-d-inference-scheduler\/gaie-inference-scheduling-epp exposes only port 9002, 9090/);
  const silenced = await substituteClusterIP(input, NS, fixtureResolver(), parseConfig({ severities: { EPP105: 'off' } }));
  t.equal(silenced.findings[0].severity, 'off');
});

t.test('camelCase portValue and an embedded port are read too', async (t) => {
  const object = {
    metadata: { name: 'f', namespace: NS },
    spec: { configPatches: [{ applyTo: 'CLUSTER', patch: { operation: 'ADD', value: { socketAddress: { address: 'EPP_SERVICE_CLUSTER_IP', portValue: 1234 }, uri: 'EPP_SERVICE_CLUSTER_IP:4321' } } }] },
  };
  const { findings } = await substituteClusterIP(object, NS, fixtureResolver(), DEFAULT_CONFIG);
  t.same(findings.map((f) => f.message.slice(0, 9)), ['port 1234', 'port 4321']);
});

t.test('malformed EnvoyFilters are denied with the path, never thrown', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ spec: 'x' }, /spec must be an object but is the string "x"/],
    [{ spec: { configPatches: {} } }, /spec\.configPatches must be a list but is an object/],
    [{ spec: { configPatches: [7] } }, /spec\.configPatches\[0\] must be an object but is the number 7/],
    [{ spec: { configPatches: [{ patch: [] }] } }, /spec\.configPatches\[0\]\.patch must be an object but is a list/],
    [{ spec: { configPatches: [{ patch: { value: 'EPP_SERVICE_CLUSTER_IP' } }] } }, /patch\.value must be an object/],
    [{ spec: { configPatches: [{ applyTo: 5, patch: { operation: {} } }] } }, /applyTo must be a string/],
    ['not an object', /^must be an object but is the string "not an object"$/],
    [undefined, /^must be an object but is missing$/],
  ];
  for (const [object, message] of cases) {
    const { findings } = await substituteClusterIP(object, NS, fixtureResolver(), DEFAULT_CONFIG);
    t.ok(findings.length > 0, `denied: ${message}`);
    t.ok(findings.every((f) => f.code === 'EPP307' && f.severity === 'deny'));
    t.match(findings[0].message, message);
  }
  const [root] = (await substituteClusterIP(undefined, NS, fixtureResolver(), DEFAULT_CONFIG)).findings;
  t.equal(formatFinding(root), '[EPP307] object must be an object but is missing. Fix: write the object as an object, as the EnvoyFilter schema requires');
});

t.test('a Service whose ports nobody listed (an override) draws no port warning', async (t) => {
  const input = manifest('guide-envoyfilter.yaml');
  input.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 9003;
  const resolver: ServiceResolver = {
    source: 'overrides',
    lookup: (namespace, name) => ({ kind: 'found', service: { namespace, name, type: 'ClusterIP', clusterIP: '10.0.0.7', ports: [] } }),
    ready: () => true,
    size: () => 1,
  };
  const { findings, substitutions } = await substituteClusterIP(input, NS, resolver, DEFAULT_CONFIG);
  t.equal(substitutions, 1);
  t.same(findings, []);
});
