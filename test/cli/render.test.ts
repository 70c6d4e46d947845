import t from 'tap';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ANNOTATIONS } from '../../src/annotations.ts';
import { runCheckCommand } from '../../src/commands/check.ts';
import { runRenderCommand } from '../../src/commands/render.ts';
import { KUBECTL_YAML } from '../../src/manifests/read-manifests.ts';
import { EPP_SERVICE, fixture, MANIFESTS, runCommand, SERVICES, spawnCli, tree } from './cli-harness.ts';

const render = (argv: string[], stdin?: string) => runCommand(runRenderCommand, argv, stdin);
const EPP_IP = '10.96.183.7';

/** Documents as kubectl would read them. */
function documents(yaml: string): Record<string, any>[] {
  return parseAllDocuments(yaml, KUBECTL_YAML).map((d) => {
    if (d.errors.length > 0) throw new Error(`not valid YAML: ${d.errors[0].message}`);
    return d.toJS();
  });
}

/** Every key path of an object in order, so key order is compared, not only content. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, `${prefix}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}.${k}`, ...keyPaths(v, `${prefix}.${k}`)]);
}

const CONFIG_MAP = `# kept as written
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: llm-d-inference-scheduler}
data:
  enabled: "on"   # a string, quoted so kubectl does not read a boolean
  zeta: z
  alpha: a
`;
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: epp
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: epp
        image: ghcr.io/llm-d/llm-d-inference-scheduler:v0.2.1
`;
const STREAM = [CONFIG_MAP, fixture('guide-envoyfilter.yaml'), fixture('services.yaml'), fixture('guide-httproute.yaml'), DEPLOYMENT].join('\n---\n');

t.test('renders what the API server would store: token substituted, route injected, other kinds untouched and in order', async (t) => {
  const result = await render(['-', '--services', SERVICES], STREAM);
  t.equal(result.code, 0, result.stderr);
  const input = documents(STREAM);
  const output = documents(result.stdout);
  t.same(
    output.map((d) => d.kind),
    ['ConfigMap', 'EnvoyFilter', 'List', 'HTTPRoute', 'Deployment'],
  );
  t.same(output[0], input[0], 'the ConfigMap is untouched');
  t.same(output[2], input[2], 'the List of Services is untouched');
  t.same(output[4], input[4], 'the Deployment is untouched');
  t.match(result.stdout, /^---\n# kept as written\n/, 'comments of untouched documents survive');
  t.match(result.stdout, 'enabled: "on" # a string, quoted so kubectl does not read a boolean');

  const filter = output[1];
  const address = filter.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address;
  t.equal(address, EPP_IP);
  t.notMatch(result.stdout, 'EPP_SERVICE_CLUSTER_IP');
  t.same(filter.metadata.annotations, {
    [ANNOTATIONS.resolvedService]: EPP_SERVICE,
    [ANNOTATIONS.resolvedClusterIP]: EPP_IP,
    [ANNOTATIONS.placeholderPaths]: '["/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address"]',
  });

  const route = output[3];
  t.same(route.spec.rules[0].filters, [
    input[3].spec.rules[0].filters[0],
    { type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'epp-ext-proc' } },
  ]);
  t.same(route.spec.rules[1], input[3].spec.rules[1], 'the rule without an InferencePool is untouched');

  t.match(result.stderr, /\[EPP304\]/, 'warnings go to stderr');
  t.notMatch(result.stdout, 'EPP304');
});

t.test('key order of the mutated objects is kept; the annotations come last in metadata', async (t) => {
  const result = await render(['-', '--services', SERVICES], STREAM);
  const [input] = documents(fixture('guide-envoyfilter.yaml'));
  const output = documents(result.stdout)[1];
  const added = keyPaths(output).filter((p) => p.startsWith('.metadata.annotations'));
  t.same(
    keyPaths(output).filter((p) => !added.includes(p)),
    keyPaths(input),
  );
  t.same(Object.keys(output.metadata), ['name', 'namespace', 'annotations']);

  const [inputRoute] = documents(fixture('guide-httproute.yaml'));
  const route = documents(result.stdout)[3];
  t.same(Object.keys(route), Object.keys(inputRoute));
  t.same(Object.keys(route.spec.rules[0]), Object.keys(inputRoute.spec.rules[0]));
});

t.test('comments of a mutated object survive too', async (t) => {
  const result = await render([join(MANIFESTS, 'guide-envoyfilter.yaml'), '--services', SERVICES]);
  t.match(result.stdout, '# The EnvoyFilter of the manual guide');
  t.match(result.stdout, '# Patch 2: Add the EPP cluster configuration');
  t.match(result.stdout, `address: ${EPP_IP}`);
});

t.test('--cluster-ip layers over --services', async (t) => {
  const result = await render([join(MANIFESTS, 'guide-envoyfilter.yaml'), '--services', SERVICES, '--cluster-ip', `${EPP_SERVICE}=10.0.0.7`]);
  t.equal(result.code, 0);
  t.match(result.stdout, 'address: 10.0.0.7');
  t.match(result.stdout, `${ANNOTATIONS.resolvedClusterIP}: 10.0.0.7`);
});

t.test('a denied object is left out with its denial on stderr; the rest is rendered', async (t) => {
  const stream = [CONFIG_MAP, fixture('guide-envoyfilter-buffered.yaml'), DEPLOYMENT].join('\n---\n');
  const result = await render(['-', '--services', SERVICES], stream);
  t.equal(result.code, 1);
  t.same(documents(result.stdout).map((d) => d.kind), ['ConfigMap', 'Deployment']);
  t.match(result.stderr, /<stdin>:\d+: error: \[EPP202\] [^\n]*\n    in EnvoyFilter llm-d-inference-scheduler\/epp-ext-proc-buffered \(document 2\) at /);
  t.match(result.stderr, 'epp-webhook render: 1 object would be denied by the webhook and was left out');

  const noSource = await render([join(MANIFESTS, 'guide-envoyfilter.yaml')]);
  t.equal(noSource.code, 1, 'without Services the placeholder cannot be resolved');
  t.equal(noSource.stdout, '');
  t.match(noSource.stderr, /\[EPP101\] [^\n]*\n[^\n]*\n    fix: tell epp-webhook where Services come from/);
});

t.test('a directory holding a chart and its values: documents without apiVersion and kind are left out, with a note, so kubectl can apply the rendering', async (t) => {
  const dir = tree({
    'deploy/config.yaml': CONFIG_MAP,
    'deploy/filter.yaml': fixture('guide-envoyfilter.yaml'),
    'chart/Chart.yaml': 'apiVersion: v2\nname: chart\nversion: 0.1.0\n',
    'chart/values.yaml': 'replicaCount: 2\nkind: worker\n',
  });
  const result = await render([dir, '--services', SERVICES]);
  t.equal(result.code, 0, result.stderr);
  t.same(documents(result.stdout).map((d) => d.kind), ['ConfigMap', 'EnvoyFilter']);
  t.match(result.stderr, `${join(dir, 'chart/Chart.yaml')}:1: note: document 1 left out: no apiVersion and kind, not a Kubernetes object\n`);
  t.match(result.stderr, `${join(dir, 'chart/values.yaml')}:1: note: document 1 left out: no apiVersion and kind, not a Kubernetes object\n`);
});

t.test('a denied item of a List is dropped from the List', async (t) => {
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'first' } },
      { apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'broken', namespace: 'x' }, spec: { configPatches: 'oops' } },
      documents(fixture('guide-httproute.yaml'))[0],
    ],
  };
  const result = await render(['-'], JSON.stringify(list));
  t.equal(result.code, 1);
  const [output] = documents(result.stdout);
  t.same(output.items.map((i: { kind: string }) => i.kind), ['ConfigMap', 'HTTPRoute']);
  t.equal(output.items[1].spec.rules[0].filters.length, 2, 'the HTTPRoute item is mutated');
  t.match(result.stderr, 'EnvoyFilter x/broken (document 1, items[1])');
});

t.test('strings that YAML 1.1 would read as booleans or numbers stay strings for kubectl', async (t) => {
  const route = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'flags', namespace: 'ns', labels: { canary: 'on', tier: 'yes', build: '0777' } },
    spec: { rules: [{ backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'p' }] }] },
  };
  const result = await render(['-'], JSON.stringify(route));
  t.equal(result.code, 0);
  t.same(documents(result.stdout)[0].metadata.labels, { canary: 'on', tier: 'yes', build: '0777' });
});

t.test('a document whose anchors would carry the change elsewhere is written afresh, correctly', async (t) => {
  const text = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shared
  namespace: ns
  labels: &meta {team: inference}
  annotations: *meta
spec:
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: p}]
`;
  const result = await render(['-'], text);
  t.equal(result.code, 0, result.stderr);
  const [route] = documents(result.stdout);
  t.same(route.metadata.labels, { team: 'inference' });
  t.same(route.metadata.annotations, { team: 'inference' });
  t.equal(route.spec.rules[0].filters[0].type, 'ExtensionRef');

  const filter = fixture('guide-envoyfilter.yaml').replace('  namespace: llm-d-inference-scheduler\n', '  namespace: llm-d-inference-scheduler\n  labels: &meta {team: inference}\n  annotations: *meta\n');
  const rendered = await render(['-', '--services', SERVICES], filter);
  t.equal(rendered.code, 0, rendered.stderr);
  const [stored] = documents(rendered.stdout);
  t.same(stored.metadata.labels, { team: 'inference' }, 'the annotations added to the alias do not leak into the labels');
  t.equal(stored.metadata.annotations.team, 'inference');
  t.equal(stored.metadata.annotations[ANNOTATIONS.resolvedClusterIP], EPP_IP);
});

t.test('--output json: one JSON document per input document', async (t) => {
  const result = await render(['-', '--services', SERVICES, '--output', 'json'], STREAM);
  t.equal(result.code, 0);
  const parsed = result.stdout
    .trimEnd()
    .split(/\n(?=\{)/)
    .map((text) => JSON.parse(text));
  t.same(parsed.map((d) => d.kind), ['ConfigMap', 'EnvoyFilter', 'List', 'HTTPRoute', 'Deployment']);
  t.equal(parsed[1].metadata.annotations[ANNOTATIONS.resolvedClusterIP], EPP_IP);
  t.same(parsed[0], documents(CONFIG_MAP)[0]);
});

t.test('a rendering is stable: rendered again it comes out the same, and check admits it', async (t) => {
  const first = await render(['-', '--services', SERVICES], STREAM);
  const second = await render(['-', '--services', SERVICES], first.stdout);
  t.equal(second.code, 0);
  t.equal(second.stdout, first.stdout);
  const checked = await runCommand(runCheckCommand, ['-'], first.stdout);
  t.equal(checked.code, 0, 'no Service source needed once the token is gone');
  t.notMatch(checked.stdout, 'EPP101');
});

t.test('unusable input renders nothing and exits 2', async (t) => {
  const result = await render(['-', '--services', SERVICES], `${CONFIG_MAP}---\nbroken: [1,\n`);
  t.equal(result.code, 2);
  t.equal(result.stdout, '');
  t.match(result.stderr, /<stdin>:\d+:\d+: error: YAML syntax/);
  t.match(result.stderr, 'nothing rendered');

  const usage = await render(['--output', 'sarif']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, '--output must be yaml or json (got "sarif")');
  t.equal(usage.stderr, 'epp-webhook render: --output must be yaml or json (got "sarif")\nRun "epp-webhook render --help" for usage.\n');
});

t.test('empty input: nothing on stdout, exit 0, and a warning that nothing was rendered', async (t) => {
  const empty = await render(['-', '--services', SERVICES], '');
  t.equal(empty.code, 0, 'an empty rendering is valid output');
  t.equal(empty.stdout, '');
  t.equal(empty.stderr, 'epp-webhook render: warning: nothing rendered: no Kubernetes document in the input (1 file read)\n');
  const some = await render(['-', '--services', SERVICES], CONFIG_MAP);
  t.equal(some.stderr, '', 'no warning once a document is rendered');
  const help = await render(['--help']);
  t.match(help.stdout, 'kustomize build | epp-webhook render -', "the help's example is render's own");
});

t.test('the real CLI renders manifests piped to standard input', async (t) => {
  const result = await spawnCli(['render', '--services', 'test/fixtures/manifests/services.yaml'], STREAM);
  t.equal(result.code, 0, result.stderr);
  t.same(documents(result.stdout).map((d) => d.kind), ['ConfigMap', 'EnvoyFilter', 'List', 'HTTPRoute', 'Deployment']);
  t.match(result.stdout, `address: ${EPP_IP}`);
  t.match(result.stderr, '[EPP304]');
});
