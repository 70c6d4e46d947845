import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runCheckCommand } from '../../src/commands/check.ts';
import { runRenderCommand } from '../../src/commands/render.ts';
import { lineOf, MANIFESTS, runCommand, tree } from './cli-harness.ts';

const DIR = join(MANIFESTS, 'two-pools');
const TWO_POOLS = join(DIR, 'two-pools.yaml');
const SERVICES = join(DIR, 'services.yaml');
const render = (argv: string[], stdin?: string) => runCommand(runRenderCommand, argv, stdin);
const check = (argv: string[], stdin?: string) => runCommand(runCheckCommand, argv, stdin);
const documents = (text: string) => parseAllDocuments(text).map((d) => d.toJS());
const socketOf = (filter: any) => filter.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;

t.test('render: the pools in the manifests give each EnvoyFilter its EPP address and port, and each rule its filter', async (t) => {
  const result = await render([TWO_POOLS, '--services', SERVICES]);
  t.equal(result.code, 0, result.stderr);
  t.same(result.stderr.match(/\[EPP\d+\]/g), ['[EPP402]'], 'only the Istio ExtensionRef warning: the two-pool fixture is otherwise clean');
  const [, , a, b, route] = documents(result.stdout);
  t.same(socketOf(a), { address: '10.96.10.1', port_value: 9002 });
  t.same(socketOf(b), { address: '10.96.10.2', port_value: 9012 });
  t.same(
    route.spec.rules.map((r: any) => r.filters.map((f: any) => f.extensionRef.name)),
    [['pool-a-ext-proc'], ['pool-b-ext-proc']],
  );
});

t.test('check: a pool that is neither in the manifests nor in a source is EPP109, and the fix says where pools come from', async (t) => {
  const manifests = readFileSync(TWO_POOLS, 'utf8').split('\n---\n').slice(2).join('\n---\n');
  const bare = await check(['-'], manifests);
  t.equal(bare.code, 1);
  t.match(bare.stdout, /\[EPP109\] epp-webhook\.io\/inference-pool llm-d\/pool-a: InferencePool not found in the manifests/);
  t.match(bare.stdout, /put the InferencePool in the manifests being checked .* or pass --kubeconfig FILE/);
  const withTable = await check(['-', '--services', join(MANIFESTS, 'services.yaml')], manifests);
  t.match(withTable.stdout, /InferencePool not found in the manifests and .*services\.yaml[^\n]*\n[^\n]*\n    fix: create the InferencePool llm-d\/pool-a first/, 'with a complete source the pool is really missing');
});

t.test('the --services file may hold the InferencePools and EnvoyFilters too (kubectl get svc,inferencepools,envoyfilters -A -o yaml)', async (t) => {
  const [poolA, poolB, filterA, filterB, route] = readFileSync(TWO_POOLS, 'utf8').split('\n---\n');
  const dir = tree({ 'table.yaml': [readFileSync(SERVICES, 'utf8'), poolA, poolB, filterA, filterB].join('\n---\n') });
  const table = join(dir, 'table.yaml');
  const filters = await render(['-', '--services', table], [filterA, filterB].join('\n---\n'));
  t.equal(filters.code, 0, filters.stderr);
  t.same(documents(filters.stdout).map(socketOf), [{ address: '10.96.10.1', port_value: 9002 }, { address: '10.96.10.2', port_value: 9012 }]);
  const routed = await render(['-', '--services', table], route);
  t.same(documents(routed.stdout)[0].spec.rules.map((r: any) => r.filters[0].extensionRef.name), ['pool-a-ext-proc', 'pool-b-ext-proc'], 'the EnvoyFilters of the table serve the pools');
  writeFileSync(join(dir, 'repointed.yaml'), poolA.replace('name: epp-a, port: {number: 9002}', 'name: epp-b, port: {number: 9012}'));
  const manifestsWin = await render([join(dir, 'repointed.yaml'), '-', '--services', table], filterA);
  t.same(socketOf(documents(manifestsWin.stdout)[1]), { address: '10.96.10.2', port_value: 9012 }, 'a pool in the manifests wins over the table');
});

t.test("check: a DestinationRule is judged against the pools of the --services table and the manifests, the manifests' winning", async (t) => {
  const [poolA, poolB] = readFileSync(TWO_POOLS, 'utf8').split('\n---\n');
  const dir = tree({ 'table.yaml': [readFileSync(SERVICES, 'utf8'), poolA, poolB].join('\n---\n') });
  const table = join(dir, 'table.yaml');
  const rule = (host: string) => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: epp, namespace: llm-d}\nspec:\n  host: ${host}\n  trafficPolicy: {connectionPool: {http: {http2MaxRequests: 64}}}\n`;
  const fromTable = await check(['-', '--services', table], rule('epp-a'));
  t.match(fromTable.stdout, 'of the EPP Service llm-d/epp-a port 9002 (named by an InferencePool)', "the table's pool-a");
  writeFileSync(join(dir, 'repointed.yaml'), poolA.replace('name: epp-a, port: {number: 9002}', 'name: epp-b, port: {number: 9012}'));
  const repointed = await check([join(dir, 'repointed.yaml'), '-', '--services', table], rule('epp-a'));
  t.notMatch(repointed.stdout, 'EPP501', "pool-a of the manifests, repointed at epp-b, replaces the table's: epp-a is no EPP Service any more");
  const both = await check([join(dir, 'repointed.yaml'), '-', '--services', table], rule('epp-b.llm-d.svc.cluster.local'));
  t.match(both.stdout, 'of the EPP Service llm-d/epp-b port 9012 (named by an InferencePool)', 'both pools now name epp-b: it is named once');
});

t.test("a v1alpha2 pool in the manifests leaves the cluster's v1 pool of the same name in charge, as the cluster would", async (t) => {
  const [poolA, poolB] = readFileSync(TWO_POOLS, 'utf8').split('\n---\n');
  const dir = tree({ 'table.yaml': [readFileSync(SERVICES, 'utf8'), poolA, poolB].join('\n---\n') });
  const table = join(dir, 'table.yaml');
  const older = `apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferencePool\nmetadata: {name: pool-a, namespace: llm-d}\nspec:\n  selector: {app: model-a}\n  targetPortNumber: 8000\n  extensionRef: {name: epp-b, portNumber: 9012}\n`;
  writeFileSync(join(dir, 'older.yaml'), older);
  const rule = `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: epp, namespace: llm-d}\nspec:\n  host: epp-a\n  trafficPolicy: {connectionPool: {http: {http2MaxRequests: 64}}}\n`;
  const judged = await check([join(dir, 'older.yaml'), '-', '--services', table], rule);
  t.match(judged.stdout, 'of the EPP Service llm-d/epp-a port 9002 (named by an InferencePool)', "the table's v1 pool-a still names epp-a");
  const [, , filterA] = readFileSync(TWO_POOLS, 'utf8').split('\n---\n');
  const rendered = await render([join(dir, 'older.yaml'), '-', '--services', table], filterA);
  t.equal(rendered.code, 0, rendered.stderr);
  t.same(socketOf(documents(rendered.stdout)[1]), { address: '10.96.10.1', port_value: 9002 }, "pool-a's EnvoyFilter gets epp-a, the v1 pool's EPP");
  const newer = poolA.replace('name: epp-a, port: {number: 9002}', 'name: epp-b, port: {number: 9012}');
  writeFileSync(join(dir, 'newer.yaml'), newer);
  const replaced = await render([join(dir, 'newer.yaml'), '-', '--services', table], filterA);
  t.same(socketOf(documents(replaced.stdout)[1]), { address: '10.96.10.2', port_value: 9012 }, 'a v1 pool in the manifests replaces the v1 pool of the table');
});

t.test('check: mixing the two pools in one rule is EPP404 at the line of the backendRef', async (t) => {
  const mixed = readFileSync(TWO_POOLS, 'utf8').replace(
    "backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-b}]",
    "backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-b}, {group: inference.networking.k8s.io, kind: InferencePool, name: pool-a}]",
  );
  const result = await check(['-', '--services', SERVICES], mixed);
  t.equal(result.code, 1);
  const line = lineOf(mixed, 'name: pool-b}, {group');
  t.match(result.stdout, new RegExp(`<stdin>:${line}: error: \\[EPP404\\] sends traffic to InferencePools served by different EnvoyFilters`));
  t.match(result.stdout, '    in HTTPRoute llm-d/models (document 5) at spec.rules[1].backendRefs[1]\n');
});

t.test("a manifest copied from the live object with another pool's filter: check warns EPP408 at its line, render writes the pool's", async (t) => {
  const copied = readFileSync(TWO_POOLS, 'utf8').replace(
    "backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-b}]",
    "backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-b}]\n    filters: [{type: ExtensionRef, extensionRef: {group: networking.istio.io, kind: EnvoyFilter, name: pool-a-ext-proc}}]",
  );
  t.not(copied, readFileSync(TWO_POOLS, 'utf8'));
  const checked = await check(['-', '--services', SERVICES], copied);
  t.equal(checked.code, 0, 'a warning: the exit code says nothing is denied');
  const line = lineOf(copied, 'name: pool-a-ext-proc}}]');
  t.match(checked.stdout, new RegExp(`<stdin>:${line}: warning: \\[EPP408\\] references EnvoyFilter pool-a-ext-proc, the ext_proc filter of InferencePool llm-d/pool-a .*: the webhook replaces it with pool-b-ext-proc`));
  const rendered = await render(['-', '--services', SERVICES], copied);
  t.equal(rendered.code, 0, rendered.stderr);
  t.match(rendered.stderr, /\[EPP408\]/);
  const route = documents(rendered.stdout).at(-1);
  t.same(route.spec.rules.map((r: any) => r.filters.map((f: any) => f.extensionRef.name)), [['pool-a-ext-proc'], ['pool-b-ext-proc']], 'what serve would store');
});

t.test("check: a Service some pool's endpointPickerRef names is an EPP Service, whatever its name", async (t) => {
  const pool = `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool-s, namespace: llm-d}
spec:
  selector: {matchLabels: {app: s}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: scheduler-s, port: {number: 9012}}
`;
  const filter = `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: buffered, namespace: llm-d}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: GATEWAY, listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.router}}}}}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.ext_proc
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
          grpc_service: {envoy_grpc: {cluster_name: "outbound|9012||scheduler-s.llm-d.svc.cluster.local"}}
          processing_mode: {request_header_mode: SEND, request_body_mode: BUFFERED, response_header_mode: SEND, response_body_mode: NONE}
`;
  const withPool = await check(['-'], `${pool}---\n${filter}`);
  t.match(withPool.stdout, /\[EPP202\]/, 'judged an EPP: its body mode is refused');
  t.equal(withPool.code, 1);
  const alone = await check(['-'], filter);
  t.notMatch(alone.stdout, /\[EPP202\]/, 'without the pool nothing says scheduler-s is an EPP');
  t.equal(alone.code, 0);
});

t.test("check: the pools' route overrides with their route names taken out reach every route: EPP231 on each EnvoyFilter", async (t) => {
  const unnamed = readFileSync(TWO_POOLS, 'utf8').replace(/, routeConfiguration: \{vhost: \{route: \{name: llm-d\.models\.\d\}\}\}/g, '');
  const result = await check(['-', '--services', SERVICES], unnamed);
  t.equal(result.code, 0, 'a warning: admitted');
  const lines = result.stdout.split('\n').filter((l) => l.includes('[EPP231]'));
  t.equal(lines.length, 2, result.stdout);
  t.match(lines[0], 'names ext_proc cluster pool-a-epp in an HTTP_ROUTE MERGE that matches no route by name');
  t.match(lines[0], 'InferencePools of 2 EPP Services (llm-d/epp-a, llm-d/epp-b)');
  t.match(lines[1], 'names ext_proc cluster pool-b-epp');
});

t.test("check: the HTTPRoute's rules swapped between the pools keep each other's route overrides: EPP409 on each rule", async (t) => {
  const swapped = readFileSync(TWO_POOLS, 'utf8').replace(/name: pool-a\}\]\n(.*\n.*)name: pool-b\}\]/, 'name: pool-b}]\n$1name: pool-a}]');
  t.not(swapped, readFileSync(TWO_POOLS, 'utf8'), 'the fixture changed');
  const result = await check(['-', '--services', SERVICES], swapped);
  t.equal(result.code, 0, 'a warning: admitted');
  const line = lineOf(swapped, 'value: model-a}]}]') + 1;
  t.match(result.stdout, `<stdin>:${line}: warning: [EPP409] sends traffic to InferencePool llm-d/pool-b, and EnvoyFilter llm-d/pool-a-ext-proc, annotated with InferencePool llm-d/pool-a, overrides this rule's Envoy route llm-d.models.0`);
  t.match(result.stdout, `<stdin>:${line + 2}: warning: [EPP409] sends traffic to InferencePool llm-d/pool-a, and EnvoyFilter llm-d/pool-b-ext-proc`);
  t.match(result.stdout, '    in HTTPRoute llm-d/models (document 5) at spec.rules[1].backendRefs\n');
  t.equal(result.stdout.split('\n').filter((l) => l.includes('[EPP409]')).length, 2, 'once each: /mutate says it for this route, /validate does not');
});

t.test('check: the same swap on a route opted out of the ExtensionRef (Istio\'s own InferencePool support): EPP409 once per rule, as the validating webhook says it', async (t) => {
  const swapped = readFileSync(TWO_POOLS, 'utf8')
    .replace(/name: pool-a\}\]\n(.*\n.*)name: pool-b\}\]/, 'name: pool-b}]\n$1name: pool-a}]')
    .replace('metadata: {name: models, namespace: llm-d}', 'metadata: {name: models, namespace: llm-d, annotations: {epp-webhook.io/inject: "false"}}');
  t.match(swapped, 'epp-webhook.io/inject: "false"', 'the fixture changed');
  t.match(swapped, /value: model-a\}\]\}\]\n.*name: pool-b\}\]/, 'and its rules swapped');
  const result = await check(['-', '--services', SERVICES], swapped);
  t.equal(result.code, 0, 'a warning: admitted');
  const lines = result.stdout.split('\n').filter((l) => l.includes('[EPP409]'));
  t.equal(lines.length, 2, result.stdout);
  t.match(lines[0], 'sends traffic to InferencePool llm-d/pool-b, and EnvoyFilter llm-d/pool-a-ext-proc', 'rule 0, once');
  t.match(lines[1], 'sends traffic to InferencePool llm-d/pool-a, and EnvoyFilter llm-d/pool-b-ext-proc', 'rule 1, once');
});
