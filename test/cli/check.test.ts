import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { runCheckCommand } from '../../src/commands/check.ts';
import { runRenderCommand } from '../../src/commands/render.ts';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import { RULES } from '../../src/findings.ts';
import { EPP_SERVICE, fixture, lineOf, MANIFESTS, REPO, runCommand, SERVICES, spawnCli, tree, withoutKubeconfig } from './cli-harness.ts';

const check = (argv: string[], stdin?: string) => runCommand(runCheckCommand, argv, stdin);
const GUIDE = join(MANIFESTS, 'guide-envoyfilter.yaml');

/** check --kubeconfig with 30 s to list: it must give up within a few, exit 2 and say `said`; answers its stderr. */
async function givenUpAtOnce(t: Test, kubeconfig: string, said: string | RegExp): Promise<string> {
  const started = Date.now();
  const result = await check([GUIDE, '--kubeconfig', kubeconfig, '--kube-timeout', '30']);
  t.ok(Date.now() - started < 10_000, `at once (${Date.now() - started} ms)`);
  t.equal(result.code, 2);
  t.match(result.stderr, said);
  return result.stderr;
}

/** A kubeconfig file for one cluster at `server` (a bearer token), trusting it blindly where `skipTlsVerify`. */
function kubeconfigFile(server: string, skipTlsVerify: boolean): string {
  const file = join(tree({}), 'kubeconfig');
  writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}"${skipTlsVerify ? ', insecure-skip-tls-verify: true' : ''}}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`);
  return file;
}
const BUFFERED = join(MANIFESTS, 'guide-envoyfilter-buffered.yaml');
const WILD = join(MANIFESTS, 'wild');

/** `[EPP304]` codes in text output, by severity word. */
function codes(stdout: string, severity: 'error' | 'warning'): string[] {
  return [...stdout.matchAll(new RegExp(`: ${severity}: .*?\\[(EPP\\d{3})\\]`, 'g'))].map((m) => m[1]).sort();
}

/**
 * An EnvoyFilter as one YAML document, with the guide's cluster at `port` and extra typed_config lines, and the route
 * override that keeps its filter on epp-cluster where istiod overrides it per InferencePool route (no EPP230).
 */
function envoyFilter(name: string, { namespace = 'llm-d-inference-scheduler', port = 9002, typedConfig = '' } = {}): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: ${name}
${namespace ? `  namespace: ${namespace}\n` : ''}spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {name: envoy.filters.http.router}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.ext_proc
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
          grpc_service: {envoy_grpc: {cluster_name: epp-cluster}}
          processing_mode: {request_header_mode: SEND, request_body_mode: FULL_DUPLEX_STREAMED, request_trailer_mode: SEND, response_header_mode: SEND, response_body_mode: FULL_DUPLEX_STREAMED, response_trailer_mode: SEND}
${typedConfig}  - applyTo: CLUSTER
    patch:
      operation: ADD
      value:
        name: epp-cluster
        type: STATIC
        http2_protocol_options: {}
        circuit_breakers: {thresholds: [{max_requests: 4294967295}]}
        transport_socket: {name: envoy.transport_sockets.tls, typed_config: {"@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext}}
        load_assignment:
          cluster_name: epp-cluster
          endpoints:
          - lb_endpoints:
            - endpoint: {address: {socket_address: {address: EPP_SERVICE_CLUSTER_IP, port_value: ${port}}}}
  - applyTo: HTTP_ROUTE
    match: {context: GATEWAY, routeConfiguration: {vhost: {route: {name: llm-d-inference-scheduler.llm-d-inference-scheduling.0}}}}
    patch:
      operation: MERGE
      value:
        typed_per_filter_config:
          envoy.filters.http.ext_proc:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute
            overrides: {grpc_service: {envoy_grpc: {cluster_name: epp-cluster}}}
`;
}

t.test("the guide's EnvoyFilter is admitted with warnings, each at the line of its field", async (t) => {
  const result = await check([GUIDE, '--services', SERVICES]);
  t.equal(result.code, 0, result.stderr);
  t.same(codes(result.stdout, 'warning'), ['EPP206', 'EPP230', 'EPP304', 'EPP306', 'EPP322']);
  t.same(codes(result.stdout, 'error'), []);
  const text = fixture('guide-envoyfilter.yaml');
  t.match(
    result.stdout,
    `${GUIDE}:${lineOf(text, 'operation: REPLACE')}: warning: [EPP304] REPLACE on subFilter envoy.filters.http.ext_proc`,
    'the code and the reason first',
  );
  t.match(
    result.stdout,
    /\[EPP304\] [^\n]*\n    in EnvoyFilter llm-d-inference-scheduler\/epp-ext-proc-poc \(document 1\) at spec\.configPatches\[0\]\.patch\.operation\n    fix: use operation: INSERT_BEFORE/,
    'then where, then the fix, indented',
  );
  t.match(result.stdout, `${GUIDE}:${lineOf(text, 'typed_config:')}: warning: `, 'EPP206 points at typed_config');
  t.match(result.stdout, /\n1 object checked: 1 admitted, 0 denied, 5 warnings\n$/);
  t.equal(result.stderr, '');
});

t.test('the EnvoyFilters from the wild name every problem, denying only what is known to talk to an EPP; their HTTPRoute passes', async (t) => {
  const result = await check([WILD]);
  t.equal(result.code, 1);
  t.same(codes(result.stdout, 'error'), ['EPP201', 'EPP202']);
  t.same(codes(result.stdout, 'warning'), ['EPP202', 'EPP202', 'EPP205', 'EPP230', 'EPP304', 'EPP306', 'EPP306', 'EPP322', 'EPP322']);
  t.match(
    result.stdout,
    'operator-sample-envoyfilter-epp.yaml:24: note: EnvoyFilter llm-d-inference-scheduler/epp-ext-proc (document 1) configPatches[0]: ext_proc judged an EPP: cluster epp-cluster connects to EPP Service llm-d-inference-scheduler/gaie-inference-scheduling-epp',
  );
  t.match(result.stdout, "configPatches[2]: ext_proc judged an EPP on a hint (EPP rules warn at most): cluster epp-cluster looks like an EPP's");
  t.match(
    result.stdout,
    /operator-sample-envoyfilter-epp\.yaml:34: error: \[EPP201\] [^\n]*\n    in EnvoyFilter llm-d-inference-scheduler\/epp-ext-proc \(document 1\) at spec\.configPatches\[0\]\.patch\.value\.typed_config\.processing_mode\.response_body_mode\n/,
  );
  const routeOverride = fixture('wild/operator-envoyfilter-route-override.yaml');
  const overrideLine = lineOf(routeOverride, 'overrides:') + lineOf(routeOverride.split('\n').slice(lineOf(routeOverride, 'overrides:')).join('\n'), 'request_body_mode');
  t.match(
    result.stdout,
    `operator-envoyfilter-route-override.yaml:${overrideLine}: warning: [EPP202]`,
    'a quoted path segment is followed to its line',
  );
  t.match(
    result.stdout,
    'in EnvoyFilter llm-d-inference-scheduler/epp-ext-proc-poc (document 1) at spec.configPatches[2].patch.value.typed_per_filter_config["envoy.filters.http.ext_proc"].overrides.processing_mode.request_body_mode\n',
    'a quoted path segment is followed to its line',
  );
  t.notMatch(
    result.stdout,
    /operator-envoyfilter-route-override\.yaml:\d+: warning: \[EPP230\]/,
    "its HTTP_ROUTE MERGE under envoy.filters.http.ext_proc replaces istiod's override whole: the REPLACEd filter keeps epp-cluster",
  );
  t.notMatch(result.stdout, 'operator-httproute-ab.yaml');
  t.match(result.stdout, /3 objects checked: 2 admitted, 1 denied, 9 warnings\n$/);
});

t.test('the shared reference copy of the wild manifests gives the same answer', { skip: !existsSync('/work/shared/reference/wild') }, async (t) => {
  const result = await check(['/work/shared/reference/wild']);
  t.equal(result.code, 1);
  t.match(result.stdout, /3 objects checked: 2 admitted, 1 denied, 9 warnings\n$/);
});

t.test('the BUFFERED variant of the guide is denied (EPP202)', async (t) => {
  const result = await check([BUFFERED, '--services', SERVICES]);
  t.equal(result.code, 1);
  t.same(codes(result.stdout, 'error'), ['EPP202']);
  t.match(result.stdout, `${BUFFERED}:${lineOf(fixture('guide-envoyfilter-buffered.yaml'), 'request_body_mode: BUFFERED')}: error: `);
  t.match(result.stdout, /1 object checked: 0 admitted, 1 denied, 4 warnings/);
});

t.test('a config the EPP works with passes without findings: the example, with the route override under istiod', async (t) => {
  const file = join(REPO, 'examples/envoyfilter-placeholder.yaml');
  const result = await check([file, '--services', SERVICES]);
  t.equal(result.code, 0);
  const judged = ': ext_proc judged an EPP: EPP_SERVICE_CLUSTER_IP filled in with EPP Service llm-d-inference-scheduler/gaie-inference-scheduling-epp\'s ClusterIP';
  t.equal(
    result.stdout,
    `${file}:${lineOf(readFileSync(file, 'utf8'), 'envoy.filters.http.ext_proc:')}: note: EnvoyFilter llm-d-inference-scheduler/epp-ext-proc (document 1) configPatches[0]${judged}\n` +
      '1 object checked: 1 admitted, 0 denied, 0 warnings\n',
  );
  const alone = await check([join(MANIFESTS, 'full-duplex-envoyfilter.yaml'), '--services', SERVICES]);
  t.same(codes(alone.stdout, 'warning'), ['EPP230'], 'its own filter without that override: EPP230 only');
});

t.test("another team's ext_proc filter passes clean; annotated as an EPP, its BUFFERED request body is denied", async (t) => {
  const waf = join(MANIFESTS, 'waf-envoyfilter.yaml');
  const result = await check([waf, '--services', SERVICES]);
  t.equal(result.code, 0, result.stdout);
  t.equal(
    result.stdout,
    `${waf}:${lineOf(fixture('waf-envoyfilter.yaml'), 'typed_config:')}: note: EnvoyFilter llm-d-inference-scheduler/waf-ext-proc (document 1) configPatches[0]: ext_proc judged no EPP (EPP rules skipped): cluster waf_cluster is no EPP Service\n` +
      '1 object checked: 1 admitted, 0 denied, 0 warnings\n',
  );
  const annotated = fixture('waf-envoyfilter.yaml').replace('metadata:\n', 'metadata:\n  annotations: {epp-webhook.io/epp: "true"}\n');
  const asEpp = await check(['-', '--services', SERVICES], annotated);
  t.equal(asEpp.code, 1);
  t.same(codes(asEpp.stdout, 'error'), ['EPP202'], 'the BUFFERED request body');
  t.same(codes(asEpp.stdout, 'warning'), ['EPP205', 'EPP220', 'EPP306', 'EPP322'], 'the BUFFERED response body holds a streamed completion back; no EPP230: the classic istio: ingressgateway gets no filter from istiod');
  t.match(asEpp.stdout, 'ext_proc judged an EPP: annotation epp-webhook.io/epp: "true"');
});

t.test('without a Service source every placeholder is EPP101, and the fix says how to give one', async (t) => {
  const result = await check([GUIDE, join(MANIFESTS, 'full-duplex-envoyfilter.yaml')]);
  t.equal(result.code, 1);
  t.same(codes(result.stdout, 'error'), ['EPP101', 'EPP101']);
  t.match(result.stdout, 'not found in the Services given on the command line (none: no --services, --kubeconfig or --cluster-ip)');
  t.match(result.stdout, /\[EPP101\] [^\n]*\n[^\n]*\n    fix: tell epp-webhook where Services come from: --services FILE .*--kubeconfig FILE .*--cluster-ip NAMESPACE\/NAME=CLUSTER_IP/);
  const pools = await check([join(MANIFESTS, 'two-pools', 'two-pools.yaml')]);
  t.match(pools.stdout, /\[EPP110\] [^\n]*which is not found in [^\n]*\n[^\n]*\n    fix: tell epp-webhook where Services come from/, "a pool's EPP Service not found without a Service source: the same fix");
  t.notMatch(result.stdout, 'EPP106', 'the leftover token is not reported a second time');
  t.match(result.stdout, `${GUIDE}:${lineOf(fixture('guide-envoyfilter.yaml'), 'address: EPP_SERVICE_CLUSTER_IP')}: error: `, 'at the token');
});

t.test("kubectl's habits: -f FILE (repeatable, - for standard input) beside the paths, and -o=json", async (t) => {
  const positional = await check([BUFFERED, GUIDE, '--services', SERVICES, '-o', 'json', '-n', 'team-a']);
  for (const argv of [
    ['-f', BUFFERED, '--filename', GUIDE, '--services', SERVICES, '-o=json', '-n=team-a'],
    [`-f=${BUFFERED}`, GUIDE, '--services', SERVICES, '-o', 'json', '-n', 'team-a'],
    [`--filename=${BUFFERED}`, '-f', GUIDE, '--services', SERVICES, '--output=json', '--namespace=team-a'],
  ]) {
    const withF = await check(argv);
    t.equal(withF.code, positional.code);
    t.same(JSON.parse(withF.stdout), JSON.parse(positional.stdout), `the same report, in the order given: ${argv.join(' ')}`);
  }
  t.match((await check([GUIDE, '-f'])).stderr, '-f needs a file, a directory or - for standard input');
  const mixed = await check([GUIDE, '-f', '-', '--services', SERVICES, '-o=json'], readFileSync(BUFFERED, 'utf8'));
  t.same(JSON.parse(mixed.stdout).summary.objects, 2, 'a path and -f - together');
  const twice = await check(['-', '-f', '-'], '');
  t.equal(twice.code, 2);
  t.match(twice.stderr, '- (standard input) may be given once');
});

t.test('--services given twice: the Services of both files, as kubectl takes repeated -f', async (t) => {
  const table = (namespace: string, clusterIP: string) =>
    `apiVersion: v1\nkind: Service\nmetadata: {name: gaie-inference-scheduling-epp, namespace: ${namespace}}\nspec: {clusterIP: ${clusterIP}, ports: [{name: grpc-ext-proc, port: 9002}]}\n`;
  const folder = tree({ 'a.yaml': table('team-a', '10.96.1.1'), 'b.yaml': table('team-b', '10.96.2.2'), 'filters.yaml': `${envoyFilter('f', { namespace: 'team-a' })}---\n${envoyFilter('f', { namespace: 'team-b' })}` });
  const [a, b, filters] = ['a.yaml', 'b.yaml', 'filters.yaml'].map((file) => join(folder, file));
  const both = await check([filters, '--services', a, '--services', b]);
  t.equal(both.code, 0, both.stdout);
  const rendered = await runCommand(runRenderCommand, [filters, '--services', a, '--services', b]);
  t.match(rendered.stdout, /address: 10\.96\.1\.1[\s\S]*address: 10\.96\.2\.2/, 'each EnvoyFilter gets the ClusterIP of its own file');
  const onlyB = await check([filters, '--services', b]);
  t.equal(onlyB.code, 1);
  t.match(onlyB.stdout, `Service team-a/gaie-inference-scheduling-epp (chosen by the webhook default (config eppService)) not found in ${b}`);
  const neither = await check([filters, '--services', b, '--services', b]);
  t.match(neither.stdout, `not found in ${b}, ${b}`);
});

t.test('a Service among the manifests is no Service source, and the fix says where it is and which flag gives it', async (t) => {
  const folder = join(MANIFESTS, 'two-pools');
  const table = join(folder, 'services.yaml');
  const pools = await check([folder]);
  t.equal(pools.code, 1);
  t.match(pools.stdout, `[EPP110] InferencePool llm-d/pool-a's endpointPickerRef names Service llm-d/epp-a, which is not found in the Services given on the command line`);
  t.match(pools.stdout, `fix: Service llm-d/epp-a is in ${table} among the manifests, but check reads Services only from --services, --kubeconfig or --cluster-ip: pass --services ${table}`);
  t.equal((await check([folder, '--services', table])).code, 0, 'the fix, followed, admits them');

  const service = (namespace: string, clusterIP?: string) =>
    `apiVersion: v1\nkind: Service\nmetadata: {name: gaie-inference-scheduling-epp, namespace: ${namespace}}\nspec:\n${clusterIP === undefined ? '' : `  clusterIP: ${clusterIP}\n`}  ports: [{name: grpc-ext-proc, port: 9002}]\n`;
  const unapplied = tree({ 'filter.yaml': envoyFilter('f'), 'svc.yaml': service('llm-d-inference-scheduler') });
  const notYet = await check([unapplied]);
  t.match(
    notYet.stdout,
    `[EPP101] EPP_SERVICE_CLUSTER_IP: Service ${EPP_SERVICE} (chosen by the webhook default (config eppService)) not found in the Services given on the command line`,
  );
  t.match(
    notYet.stdout,
    `fix: Service ${EPP_SERVICE} is in ${join(unapplied, 'svc.yaml')} among the manifests, but check reads Services only from --services, --kubeconfig or --cluster-ip, and a Service has no ClusterIP until the cluster creates it: once it is applied, pass --kubeconfig FILE, or --cluster-ip ${EPP_SERVICE}=CLUSTER_IP with the ClusterIP it got`,
    'a manifest with no ClusterIP cannot be a --services table',
  );

  const piped = await check(['-'], `${envoyFilter('f', { namespace: 'team-x' })}---\n${service('team-x', '10.96.7.7')}`);
  t.match(piped.stdout, 'fix: Service team-x/gaie-inference-scheduling-epp is in <stdin> among the manifests, but check reads Services only from --services, --kubeconfig or --cluster-ip: pass --cluster-ip team-x/gaie-inference-scheduling-epp=10.96.7.7', 'standard input cannot be read twice: its ClusterIP, given');
  const besideTable = tree({ 'filter.yaml': envoyFilter('f', { namespace: 'team-x' }), 'svc.yaml': service('team-x', '10.96.7.7') });
  const another = await check([besideTable, '--services', SERVICES]);
  t.match(another.stdout, `fix: Service team-x/gaie-inference-scheduling-epp is in ${join(besideTable, 'svc.yaml')} among the manifests, but check reads Services only from --services, --kubeconfig or --cluster-ip: pass --cluster-ip team-x/gaie-inference-scheduling-epp=10.96.7.7`, 'a Service source given already: its ClusterIP, given');
  t.equal((await check([besideTable, '--services', SERVICES, '--cluster-ip', 'team-x/gaie-inference-scheduling-epp=10.96.7.7'])).code, 0, 'the fix, followed');

  const headless = await check(['-'], `${envoyFilter('f', { namespace: 'team-x' })}---
${service('team-x', 'None')}`);
  t.match(headless.stdout, 'fix: Service team-x/gaie-inference-scheduling-epp in <stdin> is headless (clusterIP: None): it has no ClusterIP to substitute', 'no flag can give a headless Service a ClusterIP');
  const unappliedBesideTable = await check([tree({ 'filter.yaml': envoyFilter('f', { namespace: 'team-y' }), 'svc.yaml': service('team-y') }), '--services', SERVICES]);
  t.match(unappliedBesideTable.stdout, 'a Service has no ClusterIP until the cluster creates it: once it is applied, in the cluster you check against, or --cluster-ip team-y/gaie-inference-scheduling-epp=CLUSTER_IP', 'a Service source given already: not told to pass one');
  const knative = `apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: gaie-inference-scheduling-epp, namespace: team-x}\nspec: {}\n`;
  const other = await check(['-'], `${envoyFilter('f', { namespace: 'team-x' })}---\n${knative}`);
  t.notMatch(other.stdout, 'among the manifests', "a Knative Service is not the core group's");
});

t.test('--cluster-ip gives a ClusterIP whose ports are unknown, so no port warning', async (t) => {
  const dir = tree({ 'port.yaml': envoyFilter('odd-port', { port: 9999 }) });
  const file = join(dir, 'port.yaml');

  const withTable = await check([file, '--services', SERVICES]);
  t.same(codes(withTable.stdout, 'warning'), ['EPP105'], 'the Service table knows the ports: 9999 is not one');

  const overridden = await check([file, '--cluster-ip', `${EPP_SERVICE}=10.0.0.7`, '--output', 'json']);
  t.equal(overridden.code, 0, overridden.stdout);
  const report = JSON.parse(overridden.stdout);
  t.equal(report.objects[0].substitutions, 1);
  t.same(report.objects[0].findings, []);

  const layered = await check([file, '--services', SERVICES, '--cluster-ip', `${EPP_SERVICE}=10.0.0.7`]);
  t.equal(layered.code, 0, 'the override wins over the table for that Service');
  t.notMatch(layered.stdout, 'EPP105');

  const portToken = join(dir, 'port-token.yaml');
  writeFileSync(portToken, envoyFilter('port-token', { port: 'EPP_SERVICE_PORT' as unknown as number }));
  const unknownPort = await check([portToken, '--cluster-ip', `${EPP_SERVICE}=10.0.0.7`]);
  t.equal(unknownPort.code, 1, 'EPP_SERVICE_PORT needs a port the override does not give');
  t.same(codes(unknownPort.stdout, 'error'), ['EPP112'], "and only that: no EPP310 restating the token istiod would get, as the webhook stops at the mutation's denial");
  t.match(unknownPort.stdout, `fix: give the port with the ClusterIP (--cluster-ip ${EPP_SERVICE}=IP:PORT)`);
  const bracketedNoPort = await check([file, '--cluster-ip', `${EPP_SERVICE}=[fd00:10:96::7]`]);
  t.equal(bracketedNoPort.code, 0, `an IPv6 address in brackets without a port: ${bracketedNoPort.stdout}`);
  for (const given of ['10.0.0.7:9002', '[fd00:10:96::7]:9002']) {
    const withPort = await check([portToken, '--cluster-ip', `${EPP_SERVICE}=${given}`]);
    t.equal(withPort.code, 0, `${given}: ${withPort.stdout}`);
  }
  const rendered = await runCommand(runRenderCommand, [portToken, '--cluster-ip', `${EPP_SERVICE}=[fd00:10:96::7]:9002`]);
  t.match(rendered.stdout, /address: fd00:10:96::7, port_value: 9002/, 'the address and the port each where its token was');

  const other = await check([file, '--cluster-ip', 'elsewhere/epp=10.0.0.8']);
  t.equal(other.code, 1, 'an override for another Service does not help');
  t.match(other.stdout, 'not found in the --cluster-ip overrides');
  t.match(other.stdout, /fix: tell epp-webhook where Services come from/);
});

t.test('broken YAML exits 2 naming file, line and column; the other documents are still checked', async (t) => {
  const dir = tree({ 'broken.yaml': `${envoyFilter('fine')}---\nkind: ConfigMap\ndata:\n  list: [1,\n  key: value\n` });
  const file = join(dir, 'broken.yaml');
  const result = await check([file, BUFFERED, '--services', SERVICES]);
  t.equal(result.code, 2);
  t.match(result.stdout, new RegExp(`${file}:\\d+:\\d+: error: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a \\]`));
  t.match(result.stdout, '[EPP202]', 'the other file is still reported');
  t.match(result.stdout, /2 objects checked: 1 admitted, 1 denied, \d+ warnings?; 1 unusable input\n$/);

  const duplicate = await check(['-'], 'kind: ConfigMap\nkind: Secret\n');
  t.equal(duplicate.code, 2);
  t.match(duplicate.stdout, '<stdin>:2:1: error: YAML syntax: Map keys must be unique');
});

t.test('an EnvoyFilter or HTTPRoute with a misspelt kind or API group is unusable input, not passed over in silence', async (t) => {
  const misspelt = envoyFilter('typo').replace('kind: EnvoyFilter', 'kind: Envoyfilter');
  const result = await check(['-', '--services', SERVICES], misspelt);
  t.equal(result.code, 2, 'kubectl apply would fail on it');
  t.match(result.stdout, 'error: apiVersion networking.istio.io/v1alpha3, kind Envoyfilter looks like a misspelt EnvoyFilter (kind EnvoyFilter?): the API server serves no such kind, so kubectl apply fails on it');
  const group = await check(['-', '--services', SERVICES], envoyFilter('typo').replace('networking.istio.io/', 'networking.istio/'));
  t.equal(group.code, 2);
  t.match(group.stdout, 'looks like a misspelt EnvoyFilter (API group networking.istio.io?)');
  const route = 'apiVersion: gateway.networking.k8s.io/v1\nkind: HttpRoute\nmetadata: {name: r, namespace: ns}\nspec: {}\n';
  t.match((await check(['-'], route)).stdout, 'kind HttpRoute looks like a misspelt HTTPRoute (kind HTTPRoute?)');
  const list = `apiVersion: v1\nkind: List\nitems:\n- apiVersion: gateway.networking.k8s.io/v1\n  kind: httproute\n  metadata: {name: r, namespace: ns}\n`;
  t.equal((await check(['-'], list)).code, 2, 'in a List too');
  // Kinds a few letters off HTTPRoute are real ones of the same group: passed over as any other kind.
  for (const kind of ['TCPRoute', 'UDPRoute', 'TLSRoute', 'GRPCRoute']) {
    const other = await check(['-'], `apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: ${kind}\nmetadata: {name: r, namespace: ns}\nspec: {}\n`);
    t.equal(other.code, 0, kind);
    t.notMatch(other.stdout, 'misspelt', kind);
  }
});

t.test("a DestinationRule capping an InferencePool's EPP (as GAIE's inferencepool chart renders it, with connectionPool values) is warned about at its line", async (t) => {
  const manifests = `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool, namespace: llm-d}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: pool-epp, port: {number: 9002}}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: pool-epp, namespace: llm-d}
spec:
  host: pool-epp.llm-d.svc.cluster.local
  trafficPolicy:
    tls: {mode: SIMPLE, insecureSkipVerify: true}
    connectionPool:
      http:
        http2MaxRequests: 100
`;
  const result = await check(['-'], manifests);
  t.equal(result.code, 0, 'a warning');
  t.match(result.stdout, "<stdin>:18: warning: [EPP501] http2MaxRequests 100 becomes the circuit-breaker max_requests of istiod's cluster of the EPP Service llm-d/pool-epp port 9002");
  t.equal((await check(['-', '--warnings-as-errors'], manifests)).code, 1);
  const sized = await check(['-'], manifests.replace('http2MaxRequests: 100', 'http2MaxRequests: 256000'));
  t.match(sized.stdout, /1 object checked: 1 admitted, 0 denied, 0 warnings/, "llm-d's guides' sizing passes, and the DestinationRule counts as checked");
  t.match((await check(['-'], manifests.replace('kind: DestinationRule', 'kind: Destinationrule'))).stdout, 'looks like a misspelt DestinationRule (kind DestinationRule?)');
});

t.test('check: a pool backendRef without a group is EPP410 at its line; the v1alpha2 group is EPP411', async (t) => {
  const route = (ref: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: models, namespace: llm-d}
spec:
  parentRefs: [{name: gateway}]
  rules:
  - backendRefs:
    - ${ref}
`;
  const groupless = await check(['-'], route('{kind: InferencePool, name: pool}'));
  t.equal(groupless.code, 1, 'a denial');
  t.match(groupless.stdout, '<stdin>:8: error: [EPP410] sends traffic to InferencePool pool with no group: Gateway API reads an empty group as the core API group');
  t.match(groupless.stdout, 'fix: add group: inference.networking.k8s.io to the backendRef');
  const older = await check(['-'], route('{group: inference.networking.x-k8s.io, kind: InferencePool, name: pool}'));
  t.match(older.stdout, '<stdin>:8: warning: [EPP411] sends traffic to InferencePool pool of group inference.networking.x-k8s.io (v1alpha2)');
  t.equal(older.stdout.match(/\[EPP411\]/g)?.length, 1, 'once, though check asks both webhooks');
  const optedOut = route('{kind: InferencePool, name: pool}').replace('namespace: llm-d}', "namespace: llm-d, annotations: {epp-webhook.io/inject: 'false'}}");
  t.equal((await check(['-'], optedOut)).stdout.match(/\[EPP410\]/g)?.length, 1, 'an opted-out route too, once');
});

t.test('a __proto__ or constructor.prototype key in an EnvoyFilter is unusable input, as the server refuses it; elsewhere it is not ours', async (t) => {
  const prototypeKeys = `apiVersion: v1
kind: ConfigMap
metadata: {name: other}
data:
  __proto__: the webhook never sees a ConfigMap
---
${fixture('guide-envoyfilter.yaml').replace('        load_assignment:\n', '        metadata: {filter_metadata: {constructor: {prototype: EPP_SERVICE_CLUSTER_IP}}}\n        load_assignment:\n')}---
kind: List
apiVersion: v1
items:
- {apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: {name: r, __proto__: {admin: true}}, spec: {}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d, namespace: llm-d}
spec: {host: x, trafficPolicy: {connectionPool: {http: {__proto__: {http2MaxRequests: 1}}}}}
`;
  const message = 'a __proto__ key, or a constructor key holding a prototype key, in an object the webhook checks: its server answers such a request with HTTP 400, not an admission (README "HTTP behaviour")';
  const checked = await check(['-', '--services', SERVICES], prototypeKeys);
  t.equal(checked.code, 2, 'check: unusable input, not a crash');
  t.equal(checked.stdout.split(message).length - 1, 2, "the EnvoyFilter and the List are reported; the ConfigMap is not, nor the DestinationRule, whose webhook's 400 the apiserver ignores (failurePolicy Ignore)");
  t.notMatch(checked.stdout + checked.stderr, /\n\s+at /, 'no stack trace');
  const rendered = await runCommand(runRenderCommand, ['-', '--services', SERVICES], prototypeKeys);
  t.equal(rendered.code, 2, 'render: the same');
  t.match(rendered.stderr, message);
});

t.test('empty and null documents are skipped silently', async (t) => {
  const result = await check(['-', '--services', SERVICES], `---\n---\n# only a comment\n---\nnull\n---\n~\n---\n${fixture('guide-envoyfilter.yaml')}\n---\n`);
  t.equal(result.code, 0, result.stdout);
  t.match(result.stdout, '<stdin>:');
  t.match(result.stdout, '(document 5)', 'documents are counted as an editor shows them, empty ones too');
  t.match(result.stdout, /1 object checked: 1 admitted, 0 denied, 5 warnings\n$/);
});

t.test('a document that is a scalar or a plain list is not ours; a plain list of Kubernetes objects is unusable', async (t) => {
  const notOurs = await check(['-', '--output', 'json'], 'kind: ConfigMap\n---\n- a\n- b\n---\njust text\n---\n42\n');
  t.equal(notOurs.code, 0, 'nothing there is a Kubernetes object kubectl would send');
  t.same(
    JSON.parse(notOurs.stdout).skipped.map((s: { line: number; message: string }) => `${s.line} ${s.message}`),
    ['3 document 2 is a list, not a Kubernetes object', '6 document 3 is the string "just text", not a Kubernetes object', '8 document 4 is the number 42, not a Kubernetes object'],
  );
  const objects = await check(['-'], `- ${JSON.stringify({ apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'a' } })}\n`);
  t.equal(objects.code, 2);
  t.match(objects.stdout, '<stdin>:1: error: document 1 is a plain list of Kubernetes objects, which kubectl does not read: put each object in its own document (---) or the list in the items of a kind: List');
});

t.test('mappings that are not Kubernetes objects (values files, kustomization.yaml) pass silently', async (t) => {
  const result = await check(['-'], 'resources: [a.yaml]\n---\nreplicaCount: 2\n');
  t.equal(result.code, 0);
});

t.test('a directory tree: nested directories, *.yaml/*.yml/*.json, dotfiles and other files skipped', async (t) => {
  const denied = fixture('guide-envoyfilter-buffered.yaml');
  const root = tree({
    'top.yaml': fixture('guide-envoyfilter.yaml'),
    'a/b/c/deep.yml': fixture('guide-httproute.yaml'),
    'a/route.json': JSON.stringify({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'json-route' }, spec: {} }),
    'a/.hidden.yaml': denied,
    '.git/config.yaml': denied,
    'a/.github/workflow.yaml': denied,
    'a/notes.txt': denied,
    'a/b/kustomization.yaml': 'resources: [c/deep.yml]\n',
  });
  const result = await check([root, '--services', SERVICES]);
  t.equal(result.code, 0, result.stdout);
  t.match(result.stdout, /3 objects checked: 3 admitted, 0 denied, 6 warnings\n$/);
  t.match(result.stdout, `${join(root, 'a/b/c/deep.yml')}:`);

  const order = [...result.stdout.matchAll(/^(\S+?):\d+:/gm)].map((m) => relative(root, m[1]));
  t.same([...new Set(order)], ['a/b/c/deep.yml', 'top.yaml'], 'files in name order, depth first');

  const missing = await check([join(root, 'nope'), root, '--services', SERVICES]);
  t.equal(missing.code, 2);
  t.match(missing.stdout, `${join(root, 'nope')}: error: cannot read ${join(root, 'nope')}: no such file or directory`);
});

t.test('a directory of 500 files', async (t) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 500; i++) {
    files[`team-${i % 10}/filter-${i}.yaml`] = envoyFilter(`filter-${i}`);
  }
  const root = tree(files);
  const started = Date.now();
  const result = await check([root, '--services', SERVICES, '--output', 'json']);
  t.equal(result.code, 0);
  const report = JSON.parse(result.stdout);
  t.same(report.summary, { objects: 500, admitted: 500, denied: 0, warnings: 0, unusableInputs: 0, files: 500, helmTemplates: 0, notKubernetes: 0 });
  t.equal(new Set(report.objects.map((o: { name: string }) => o.name)).size, 500);
  t.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
});

t.test('SARIF 2.1.0: rules from the catalogue, results at the offending line', async (t) => {
  const result = await runCommand(runCheckCommand, [relative(process.cwd(), WILD), '--output', 'sarif']);
  t.equal(result.code, 1);
  const sarif = JSON.parse(result.stdout);
  t.equal(sarif.version, '2.1.0');
  t.match(sarif.$schema, /sarif-2\.1\.0/);
  t.equal(sarif.runs.length, 1);
  const run = sarif.runs[0];
  const rules = run.tool.driver.rules;
  t.equal(run.tool.driver.name, 'epp-webhook');
  t.equal(run.tool.driver.version, JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version, "the package's version, so a result says which rules judged");
  t.same(rules.map((r: { id: string }) => r.id), Object.keys(RULES));
  t.equal(rules.find((r: { id: string }) => r.id === 'EPP202').shortDescription.text, RULES.EPP202.title);
  t.same(rules.find((r: { id: string }) => r.id === 'EPP304').defaultConfiguration, { level: 'warning' });
  t.equal(run.invocations[0].executionSuccessful, true);

  t.equal(run.results.length, 11, '2 errors, 9 warnings, as the text output');
  for (const r of run.results) {
    t.equal(rules[r.ruleIndex].id, r.ruleId, `${r.ruleId} ruleIndex`);
    t.ok(['error', 'warning'].includes(r.level));
    t.match(r.message.text, /\. Fix: /);
    const location = r.locations[0].physicalLocation;
    t.notOk(location.artifactLocation.uri.startsWith('/'), 'a relative URI');
    t.ok(Number.isInteger(location.region.startLine) && location.region.startLine > 0);
  }
  const body = run.results.find((r: { ruleId: string }) => r.ruleId === 'EPP201');
  t.equal(body.level, 'error');
  t.equal(body.locations[0].physicalLocation.artifactLocation.uri, `${relative(process.cwd(), WILD)}/operator-sample-envoyfilter-epp.yaml`);
  t.equal(body.locations[0].physicalLocation.region.startLine, lineOf(fixture('wild/operator-sample-envoyfilter-epp.yaml'), 'response_body_mode: SKIP'));
  t.match(body.message.text, /^ext_proc response_body_mode "SKIP": .*\. Fix: use NONE/);

  const hinted = run.results.find((r: { ruleId: string; level: string }) => r.ruleId === 'EPP202' && r.level === 'warning');
  t.match(hinted.properties.extProc, { talksToEpp: true, evidence: 'name-hint' }, 'a finding carries the judgement of its ext_proc config');
  t.same(
    run.properties.extProc.map((j: { evidence: string; line: number }) => j.evidence),
    ['name-hint', 'name-hint', 'epp-service'],
    'every ext_proc config is listed with its judgement, in file order',
  );
});

t.test('SARIF reports unusable input as a failed execution, and says why on stderr', async (t) => {
  const result = await check(['-', '--output', 'sarif'], 'apiVersion: v1\nkind: [1,\n');
  t.equal(result.code, 2);
  const run = JSON.parse(result.stdout).runs[0];
  t.equal(run.invocations[0].executionSuccessful, false);
  const [notification] = run.invocations[0].toolExecutionNotifications;
  t.equal(notification.level, 'error');
  t.match(notification.message.text, 'YAML syntax');
  t.same(notification.locations[0].physicalLocation.artifactLocation, { uri: 'stdin', description: { text: 'standard input' } });
  t.match(result.stderr, /^<stdin>:\d+:\d+: error: YAML syntax/);
});

t.test('JSON output', async (t) => {
  const result = await check([BUFFERED, GUIDE, '--services', SERVICES, '--output', 'json']);
  t.equal(result.code, 1);
  const report = JSON.parse(result.stdout);
  t.same(report.summary, { objects: 2, admitted: 1, denied: 1, warnings: 9, unusableInputs: 0, files: 2, helmTemplates: 0, notKubernetes: 0 });
  const [buffered, guide] = report.objects;
  t.match(buffered, { file: BUFFERED, document: 1, line: lineOf(fixture('guide-envoyfilter-buffered.yaml'), 'apiVersion:'), kind: 'EnvoyFilter', namespace: 'llm-d-inference-scheduler', name: 'epp-ext-proc-buffered', admitted: false, substitutions: 0 });
  t.match(buffered.findings.find((f: { code: string }) => f.code === 'EPP202'), {
    severity: 'deny',
    location: 'configPatches[0]',
    path: 'spec.configPatches[0].patch.value.typed_config.processing_mode.request_body_mode',
    line: lineOf(fixture('guide-envoyfilter-buffered.yaml'), 'request_body_mode: BUFFERED'),
  });
  t.match(guide, { admitted: true, substitutions: 1 });
  t.same(guide.extProc, [
    {
      line: lineOf(fixture('guide-envoyfilter.yaml'), 'typed_config:'),
      location: 'configPatches[0]',
      path: 'spec.configPatches[0].patch.value.typed_config',
      talksToEpp: true,
      evidence: 'epp-webhook',
      reason: "EPP_SERVICE_CLUSTER_IP filled in with EPP Service llm-d-inference-scheduler/gaie-inference-scheduling-epp's ClusterIP",
    },
  ]);
  t.same(report.problems, []);
});

t.test('--warnings-as-errors turns an admitted-with-warnings run into exit 1', async (t) => {
  t.equal((await check([GUIDE, '--services', SERVICES])).code, 0);
  t.equal((await check([GUIDE, '--services', SERVICES, '--warnings-as-errors'])).code, 1);
  t.equal((await check([join(REPO, 'examples/envoyfilter-placeholder.yaml'), '--services', SERVICES, '--warnings-as-errors'])).code, 0);
});

t.test('--config severities apply: a warning turned off disappears, one turned to deny denies', async (t) => {
  const dir = tree({ 'config.yaml': 'severities:\n  EPP304: off\n  EPP306: deny\n', 'bad.yaml': 'severities: {EPP101: warn}\n' });
  const result = await check([GUIDE, '--services', SERVICES, '--config', join(dir, 'config.yaml')]);
  t.equal(result.code, 1);
  t.same(codes(result.stdout, 'warning'), ['EPP206', 'EPP230', 'EPP322']);
  t.same(codes(result.stdout, 'error'), ['EPP306']);

  const bad = await check([GUIDE, '--config', join(dir, 'bad.yaml')]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, 'severities.EPP101 cannot be relaxed');
});

t.test('objects without a namespace are checked in --namespace', async (t) => {
  const file = join(tree({ 'f.yaml': envoyFilter('no-ns', { namespace: '' }) }), 'f.yaml');
  const inDefault = await check([file, '--services', SERVICES]);
  t.equal(inDefault.code, 1);
  t.match(inDefault.stdout, 'EnvoyFilter default/no-ns');
  t.match(inDefault.stdout, 'Service default/gaie-inference-scheduling-epp');
  const inTeam = await check([file, '--services', SERVICES, '--namespace', 'team-b']);
  t.equal(inTeam.code, 0, inTeam.stdout);
  t.same(await check([file, '--services', SERVICES, '-n', 'team-b']), inTeam, '-n, as kubectl spells it');
});

t.test('a problem that mutation and validation both see is reported once', async (t) => {
  const text = 'apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: m, namespace: x}\nspec:\n  configPatches: oops\n';
  const result = await check(['-'], text);
  t.equal(result.code, 1);
  t.equal([...result.stdout.matchAll(/\[EPP307\]/g)].length, 1);
  t.match(result.stdout, '<stdin>:5: error: [EPP307]');
  t.match(result.stdout, 'in EnvoyFilter x/m (document 1) at spec.configPatches\n');
});

t.test('objects inside a kind: List are checked as items, at their own lines', async (t) => {
  const list = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: c}
${fixture('guide-envoyfilter-buffered.yaml')
  .split('\n')
  .filter((line) => !line.startsWith('#'))
  .map((line, i) => (i === 0 ? `- ${line}` : `  ${line}`))
  .join('\n')}
`;
  const result = await check(['-', '--services', SERVICES], list);
  t.equal(result.code, 1);
  t.match(result.stdout, `<stdin>:${lineOf(list, 'request_body_mode: BUFFERED')}: error: [EPP202]`);
  t.match(result.stdout, 'in EnvoyFilter llm-d-inference-scheduler/epp-ext-proc-buffered (document 1, items[1]) at spec.configPatches[0]');
  t.match(result.stdout, '1 object checked: 0 admitted, 1 denied');
});

t.test('the items of a typed list (an EnvoyFilterList, as the API returns it) take its apiVersion and kind, as kubectl gives them', async (t) => {
  const item = fixture('guide-envoyfilter-buffered.yaml')
    .split('\n')
    .filter((line) => !line.startsWith('#') && !/^(apiVersion|kind):/.test(line))
    .map((line, i) => (i === 0 ? `- ${line}` : `  ${line}`))
    .join('\n');
  const list = `apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilterList\nmetadata: {resourceVersion: "7"}\nitems:\n${item}\n`;
  const result = await check(['-', '--services', SERVICES], list);
  t.equal(result.code, 1, 'checked, and denied');
  t.match(result.stdout, `<stdin>:${lineOf(list, 'request_body_mode: BUFFERED')}: error: [EPP202]`);
  t.match(result.stdout, 'in EnvoyFilter llm-d-inference-scheduler/epp-ext-proc-buffered (document 1, items[0])');
  const plain = await check(['-', '--services', SERVICES, '--fail-on-empty'], list.replace('kind: EnvoyFilterList', 'kind: List'));
  t.equal(plain.code, 2, 'in a kind: List an item without a kind is nothing kubectl could send');
});

t.test('an EPP Service not found for an object that names no namespace: the fix says the namespace was defaulted, and how to check a kustomization', async (t) => {
  const withoutNamespace = fixture('guide-envoyfilter.yaml').replace(/^  namespace: .*\n/m, '');
  t.notMatch(withoutNamespace, /namespace: llm-d-inference-scheduler\n/);
  const defaulted = await check(['-', '--services', SERVICES], withoutNamespace);
  t.equal(defaulted.code, 1);
  t.match(defaulted.stdout, /\[EPP101\] EPP_SERVICE_CLUSTER_IP: Service default\/gaie-inference-scheduling-epp/);
  t.match(defaulted.stdout, /fix: [^\n]*; this object names no namespace, so it was checked in default \(--namespace\); where a kustomization sets its namespace, check the built output: kustomize build DIR \| epp-webhook check -\n/);
  const named = await check(['-', '--services', SERVICES, '--namespace', 'llm-d-inference-scheduler'], withoutNamespace);
  t.equal(named.code, 0, '--namespace is where it would be created');
  const own = await check(['-', '--services', SERVICES], fixture('guide-envoyfilter.yaml').replace(/namespace: llm-d-inference-scheduler/, 'namespace: elsewhere'));
  t.equal(own.code, 1);
  t.notMatch(own.stdout, 'names no namespace', 'an object with its own namespace: nothing defaulted');
});

t.test('YAML is read as kubectl reads it: failure_mode_allow: yes is true', async (t) => {
  const text = envoyFilter('fail-open', { typedConfig: '          failure_mode_allow: yes\n' });
  const result = await check(['-', '--services', SERVICES], text);
  t.equal(result.code, 0);
  t.same(codes(result.stdout, 'warning'), ['EPP205']);
});

t.test('--kubeconfig lists the Services once from the cluster', async (t) => {
  let lists = 0;
  const api = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://api');
    if (url.pathname !== '/api/v1/services') {
      response.writeHead(404).end();
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.flushHeaders();
      return;
    }
    lists++;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        kind: 'ServiceList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '7' },
        items: [
          {
            metadata: { name: 'gaie-inference-scheduling-epp', namespace: 'llm-d-inference-scheduler' },
            spec: { type: 'ClusterIP', clusterIP: '10.43.0.99', ports: [{ port: 9002 }] },
          },
        ],
      }),
    );
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    api.closeAllConnections();
    api.close();
  });
  const server = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const kubeconfig = kubeconfigFile(server, true);

  const result = await check([GUIDE, '--kubeconfig', kubeconfig, '--kube-timeout', '10', '--output', 'json']);
  t.equal(result.code, 0, result.stderr);
  t.equal(JSON.parse(result.stdout).objects[0].substitutions, 1);
  t.equal(lists, 1);

  // As kubectl: KUBECONFIG (a list, merged) names the cluster when no flag names a Service source.
  const fromEnvironment = await spawnCli(['check', GUIDE, '--kube-timeout', '10', '--output', 'json'], '', { ...withoutKubeconfig(), KUBECONFIG: `${join(REPO, 'no-such-kubeconfig')}:${kubeconfig}` });
  t.equal(fromEnvironment.code, 0, fromEnvironment.stderr);
  t.equal(JSON.parse(fromEnvironment.stdout).objects[0].substitutions, 1);
  t.equal(lists, 2);
  const offline = await spawnCli(['check', GUIDE, '--cluster-ip', `${EPP_SERVICE}=10.0.0.7`, '--output', 'json'], '', { ...withoutKubeconfig(), KUBECONFIG: kubeconfig });
  t.equal(offline.code, 0, offline.stderr);
  t.equal(lists, 2, 'with --cluster-ip (or --services) the check stays offline');

  api.closeAllConnections();
  await new Promise((resolve) => api.close(resolve));
  const started = Date.now();
  const unreachable = await check([GUIDE, '--kubeconfig', kubeconfig, '--kube-timeout', '30']);
  t.ok(Date.now() - started < 10_000, `nothing listens there: it gives up at once, as kubectl does, not after --kube-timeout (${Date.now() - started} ms)`);
  t.equal(unreachable.code, 2);
  t.match(unreachable.stderr, `epp-webhook check: cannot list Services from ${server} (kubeconfig ${kubeconfig}): listing Services failed: fetch failed: connect ECONNREFUSED 127.0.0.1:`);
  t.equal(unreachable.stdout, '');

  const missing = await check([GUIDE, '--kubeconfig', join(REPO, 'no-such-kubeconfig')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, 'cannot load kubeconfig');
});

t.test('--kubeconfig to an API server whose certificate the kubeconfig does not trust: given up at once, saying why', async (t) => {
  const bundle = writeServingBundle(tree({}), { serviceName: 'kubernetes', namespace: 'default' });
  const api = createHttpsServer({ cert: readFileSync(bundle.certFile), key: readFileSync(bundle.keyFile) }, (_request, response) => response.end('{}'));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  t.teardown(() => api.close());
  // The server's certificate is for kubernetes.default.svc, signed by a CA this kubeconfig does not name.
  await givenUpAtOnce(t, kubeconfigFile(`https://127.0.0.1:${(api.address() as AddressInfo).port}`, false), /cannot list Services from https:\/\/127\.0\.0\.1:\d+ \(kubeconfig [^)]+\): listing Services failed: fetch failed: .*(certificate|self-signed|self signed)/);
});

t.test('--kubeconfig whose server cannot be spoken to as written (https to a plain-HTTP port, http:// without skipping TLS): given up at once', async (t) => {
  const plain = createServer((_request, response) => response.end('{}'));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  t.teardown(() => plain.close());
  const port = (plain.address() as AddressInfo).port;
  for (const [server, said] of [
    [`https://127.0.0.1:${port}`, /wrong version number|WRONG_VERSION_NUMBER/i],
    [`http://127.0.0.1:${port}`, /HTTP protocol is not allowed/],
  ] as const) {
    await givenUpAtOnce(t, kubeconfigFile(server, false), said);
  }
});

t.test('--kubeconfig whose credentials may not list Services: given up at once with the API server\'s own words, as kubectl does', async (t) => {
  const api = createServer((_request, response) => {
    response.writeHead(403, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'services is forbidden: User "u" cannot list resource "services" in API group "" at the cluster scope', reason: 'Forbidden', code: 403 }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  t.teardown(() => api.close());
  const stderr = await givenUpAtOnce(t, kubeconfigFile(`http://127.0.0.1:${(api.address() as AddressInfo).port}`, true), 'listing Services failed: HTTP 403: services is forbidden: User "u" cannot list resource "services"');
  t.match(stderr, 'Check that the cluster is reachable and that the credentials may list Services in all namespaces');
});

t.test('bad usage exits 2 with a message and the usage', async (t) => {
  const cases: [string[], RegExp | string][] = [
    [[GUIDE, '--bogus'], "Unknown option '--bogus'"],
    [[GUIDE, '--output', 'xml'], '--output must be text, json or sarif (got "xml")'],
    [[GUIDE, '--services', SERVICES, '--kubeconfig', 'k'], '--services and --kubeconfig are alternatives'],
    [[GUIDE, '--cluster-ip', 'epp=10.0.0.1'], 'write NAMESPACE/NAME=CLUSTER_IP'],
    [[GUIDE, '--cluster-ip', 'ns/epp=10.0.0.300'], '"10.0.0.300" is not an IPv4 or IPv6 address'],
    [[GUIDE, '--cluster-ip', 'ns/epp=10.0.0.1', '--cluster-ip', 'ns/epp=10.0.0.2'], '--cluster-ip ns/epp is given twice'],
    [[GUIDE, '--cluster-ip', 'ns/epp=10.0.0.1:9002', '--cluster-ip', 'ns/epp=10.0.0.1:9003'], 'given twice, as 10.0.0.1:9002 and 10.0.0.1:9003'],
    [[GUIDE, '--cluster-ip', 'ns/epp=10.0.0.1:70000'], 'port 70000 is not between 1 and 65535'],
    [[GUIDE, '--cluster-ip', 'ns/epp=[10.0.0.1]:9002'], 'only an IPv6 address is written in brackets'],
    [[GUIDE, '--namespace', 'Bad_NS'], '--namespace "Bad_NS" is not a Kubernetes namespace name'],
    [[GUIDE, '--kube-timeout', '0'], '--kube-timeout must be a positive number of seconds'],
    [['-', '-'], '- (standard input) may be given once'],
    [[GUIDE, '--warnings-as-errors=yes'], "Option '--warnings-as-errors' does not take an argument"],
  ];
  for (const [argv, message] of cases) {
    const result = await check(argv);
    t.equal(result.code, 2, argv.join(' '));
    t.match(result.stderr, message);
    t.equal(result.stdout, '');
  }
  for (const help of [await check(['--help']), await check(['-h'])]) {
    t.equal(help.code, 0);
    t.match(help.stdout, 'Usage: epp-webhook check');
  }
  const unknown = await check([GUIDE, '--bogus']);
  t.equal(unknown.stderr, `epp-webhook check: Unknown option '--bogus'\nRun "epp-webhook check --help" for usage.\n`, 'one line and a pointer to --help, not the whole help');
  const short = await check([GUIDE, '-o', 'json', '--services', SERVICES]);
  t.equal(short.code, 0, short.stderr);
  t.equal(JSON.parse(short.stdout).summary.objects, 1, '-o is --output');
});

/** UTF-16 with its byte order mark, as Windows PowerShell 5.1's `kubectl get -o yaml > file` writes it. */
function utf16(text: string, order: 'le' | 'be'): Buffer {
  const little = Buffer.from(`\uFEFF${text}`, 'utf16le');
  return order === 'le' ? little : little.swap16();
}

t.test('UTF-16 files, Services and standard input are read as kubectl reads them (by their byte order mark)', async (t) => {
  const buffered = fixture('guide-envoyfilter-buffered.yaml');
  const dir = tree({});
  for (const order of ['le', 'be'] as const) {
    writeFileSync(join(dir, `buffered-${order}.yaml`), utf16(buffered, order));
    writeFileSync(join(dir, `services-${order}.yaml`), utf16(readFileSync(SERVICES, 'utf8'), order));
    const result = await check([join(dir, `buffered-${order}.yaml`), '--services', join(dir, `services-${order}.yaml`)]);
    t.equal(result.code, 1, `UTF-16${order.toUpperCase()}: denied as the UTF-8 file is`);
    t.same(codes(result.stdout, 'error'), ['EPP202'], 'and for the same reason: the Service was found in the UTF-16 table');
    t.match(result.stdout, `buffered-${order}.yaml:${lineOf(buffered, 'request_body_mode: BUFFERED')}: error: `, 'at the same line');
  }
  const piped = await spawnCli(['check', '-', '--services', 'test/fixtures/manifests/services.yaml'], utf16(buffered, 'le'));
  t.equal(piped.code, 1, piped.stderr);
  t.match(piped.stdout, /1 object checked: 0 admitted, 1 denied/);
});

t.test('a byte order mark opening a later document (cat or helm template of files saved with one) is skipped, as kubectl skips it', async (t) => {
  const buffered = fixture('guide-envoyfilter-buffered.yaml');
  const stream = `---\n# Source: chart/templates/a.yaml\n${fixture('guide-httproute.yaml')}---\n# Source: chart/templates/b.yaml\n\uFEFF${buffered}`;
  const result = await check(['-', '--services', SERVICES, '--fail-on-empty'], stream);
  t.equal(result.code, 1, 'the EnvoyFilter after the mark is checked, and denied');
  t.same(codes(result.stdout, 'error'), ['EPP202']);
  t.match(result.stdout, /2 objects checked: 1 admitted, 1 denied/);
  const firstLine = stream.split('\n').findIndex((line) => line.includes('request_body_mode: BUFFERED')) + 1;
  t.match(result.stdout, `<stdin>:${firstLine}: error: [EPP202]`, 'at its line in the stream');
});

t.test('a stream of JSON documents, as render -o json, jq -c and kubectl read it, is checked document by document', async (t) => {
  const rendered = await runCommand(runRenderCommand, ['-', '--services', SERVICES, '-o', 'json'], `${fixture('guide-envoyfilter.yaml')}\n---\n${fixture('guide-httproute.yaml')}`);
  t.equal(rendered.code, 0, rendered.stderr);
  const checked = await check(['-', '--services', SERVICES, '--fail-on-empty'], rendered.stdout);
  t.equal(checked.code, 0, `render -o json | check -: ${checked.stderr}`);
  t.match(checked.stdout, /2 objects checked: 2 admitted, 0 denied/);

  const denied = structuredClone(JSON.parse(rendered.stdout.slice(0, rendered.stdout.indexOf('\n}\n') + 2)));
  denied.spec.configPatches[0].patch.value.typed_config.processing_mode.request_body_mode = 'BUFFERED';
  const compact = [JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }), JSON.stringify(denied)].join('\n');
  const jq = await check(['-', '--services', SERVICES], compact);
  t.equal(jq.code, 1, 'one object per line, as jq -c prints them: the second is denied');
  t.match(jq.stdout, /^<stdin>:2: error: \[EPP202\]/m, 'on its own line');
  t.match(jq.stdout, /\(document 2\)/);

  const broken = await check(['-'], `${JSON.stringify(denied)}\n{"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1",,}}`);
  t.equal(broken.code, 2, 'a broken value is unusable input, not a pass');
  t.match(broken.stdout, /^<stdin>:2:61: error: YAML syntax: /m, 'at its line and column in the stream');
});

t.test('--exclude applies to files named on the command line too (check $(git diff --name-only) --exclude test/fixtures)', async (t) => {
  const dir = tree({ 'deploy/filter.yaml': fixture('guide-envoyfilter.yaml'), 'test/fixtures/unsafe.yaml': fixture('guide-envoyfilter-buffered.yaml') });
  const named = ['deploy/filter.yaml', 'test/fixtures/unsafe.yaml'];
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  for (const pattern of ['test/fixtures', 'fixtures', 'test/fixtures/*.yaml', 'unsafe.yaml', `${dir}/test`]) {
    const result = await check([...named, '--services', SERVICES, '--exclude', pattern]);
    t.equal(result.code, 0, `--exclude ${pattern}`);
    t.match(result.stdout, /1 object checked: 1 admitted, 0 denied/);
  }
  const kept = await check([...named, '--services', SERVICES, '--exclude', 'deploy/fixtures']);
  t.equal(kept.code, 1, 'a pattern that matches nothing on the way excludes nothing');
  process.chdir(join(dir, 'test'));
  const above = await check([join(dir, 'deploy/filter.yaml'), '--services', SERVICES, '--exclude', dir.split('/').filter(Boolean)[0], '--fail-on-empty']);
  t.equal(above.code, 0, 'outside the working directory, the directories above a named file are not matched by name');
  t.match(above.stdout, /1 object checked: 1 admitted/);
});

t.test('bytes and values kubectl refuses, or reads otherwise, are read as kubectl reads them', async (t) => {
  const dir = tree({});
  const latin1 = join(dir, 'latin1.yaml');
  writeFileSync(latin1, Buffer.concat([Buffer.from('apiVersion: v1\nkind: ConfigMap\n# caf'), Buffer.from([0xe9]), Buffer.from('\nmetadata: {name: x}\n')]));
  const notUtf8 = await check([latin1]);
  t.equal(notUtf8.code, 2, 'a manifest that is not UTF-8 is unusable input, as kubectl refuses it');
  t.match(notUtf8.stdout, `${latin1}: error: cannot read ${latin1}: not UTF-8 (line 3): kubectl refuses it too; save it as UTF-8`);
  writeFileSync(join(dir, 'notes.yaml'), Buffer.concat([Buffer.from('title: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  const other = await check([join(dir, 'notes.yaml'), '--output', 'json']);
  t.equal(other.code, 0, 'a file that names no apiVersion or kind is some other file, passed over');
  t.same(JSON.parse(other.stdout).skipped.map((s: { reason: string }) => s.reason), ['not-kubernetes']);

  const piped = await spawnCli(['check', '-'], Buffer.concat([Buffer.from('apiVersion: v1\nkind: ConfigMap\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  t.equal(piped.code, 2, 'standard input too');
  t.match(piped.stdout, '<stdin>: error: cannot read <stdin>: not UTF-8 (line 3)');

  const infinite = await check(['-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  limit: .inf\n');
  t.equal(infinite.code, 2, 'a manifest with .inf is unusable input: JSON has no infinity, and kubectl refuses it');
  t.match(infinite.stdout, 'key "limit" is Infinity, which JSON cannot hold: kubectl refuses it; quote it if it is meant as a string');
  t.equal((await check(['-'], 'limit: .nan\n')).code, 0, 'in a values file it is not ours to refuse');
  const dot = await runCommand(runRenderCommand, ['-', '-o', 'json'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  delimiter: .\n  half: .5\n');
  t.strictSame(JSON.parse(dot.stdout).data, { delimiter: '.', half: 0.5 }, 'a lone dot (kustomize\'s delimiter: .) is the string go-yaml reads, not NaN');

  const binary = await runCommand(runRenderCommand, ['-', '-o', 'json'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  greeting: !!binary aGVsbG8=\n');
  t.equal(binary.code, 0, binary.stderr);
  t.strictSame(JSON.parse(binary.stdout).data, { greeting: 'hello' }, '!!binary is its decoded text, as kubectl sends it, not a byte array');
});

t.test('a file reached through a link, and by its own path, is checked once', async (t) => {
  const dir = tree({ 'a/filter.yaml': fixture('guide-envoyfilter-buffered.yaml') });
  mkdirSync(join(dir, 'links'));
  symlinkSync(join(dir, 'a/filter.yaml'), join(dir, 'links/filter.yaml'));
  const result = await check([join(dir, 'a'), join(dir, 'links'), '--services', SERVICES]);
  t.match(result.stdout, /1 object checked: 0 admitted, 1 denied/);
});

t.test('the real CLI reads manifests piped to standard input (kustomize build | epp-webhook check -)', async (t) => {
  const piped = `${fixture('guide-envoyfilter.yaml')}\n---\n${fixture('guide-httproute.yaml')}`;
  const admitted = await spawnCli(['check', '-', '--services', 'test/fixtures/manifests/services.yaml'], piped);
  t.equal(admitted.code, 0, admitted.stderr);
  t.match(admitted.stdout, /^<stdin>:\d+: warning: \[EPP\d{3}\] /m);
  t.match(admitted.stdout, /^    in EnvoyFilter /m);
  t.match(admitted.stdout, '<stdin>:');
  t.match(admitted.stdout, /2 objects checked: 2 admitted, 0 denied, 6 warnings\n$/);

  const denied = await spawnCli(['check', '--output', 'sarif'], fixture('guide-envoyfilter-buffered.yaml'));
  t.equal(denied.code, 1, denied.stderr);
  t.same(JSON.parse(denied.stdout).runs[0].results.map((r: { ruleId: string }) => r.ruleId).sort(), ['EPP101', 'EPP202', 'EPP230', 'EPP304', 'EPP306', 'EPP322']);
});

t.test('a whole repository: node_modules, --exclude, non-manifests and Helm templates are not errors', async (t) => {
  const root = tree({
    'deploy/filter.yaml': fixture('guide-envoyfilter.yaml'),
    'node_modules/pkg/broken.yaml': fixture('guide-envoyfilter-buffered.yaml'),
    'node_modules/pkg/table.json': '[[1, 2], [3, 4]]',
    'test/fixtures/unsafe.yaml': fixture('guide-envoyfilter-buffered.yaml'),
    'package.json': '{"name": "x", "scripts": {}}',
    'tsconfig.json': '// JSONC, not JSON\n{ "compilerOptions": {} }\n',
    'data/ids.json': '["MIT", "Apache-2.0"]',
    'chart/Chart.yaml': 'apiVersion: v2\nname: chart\nversion: 0.1.0\n',
    'chart/values.yaml': 'ip: 10.0.0.1\n',
    // Parses as YAML ({{ .Values.ip }} reads as a mapping), yet is not what Helm would render.
    'chart/templates/filter.yaml': fixture('guide-envoyfilter.yaml').replace('EPP_SERVICE_CLUSTER_IP', '{{ .Values.ip }}'),
    // Outside a chart, a template is recognised by the YAML it breaks.
    'loose/route.yaml': '{{- if .Values.enabled }}\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n{{- end }}\n',
  });
  const all = await check([root, '--services', SERVICES]);
  t.equal(all.code, 1, 'the unsafe fixture is denied; nothing is unusable input');
  t.notMatch(all.stdout, 'node_modules');
  t.notMatch(all.stdout, 'unusable');
  t.match(all.stdout, `${join(root, 'chart/templates/filter.yaml')}:`);
  t.match(all.stdout, /filter\.yaml:\d+: note: looks like a Helm template \(\{\{ \}\} at line \d+\): render it first, e.g\. helm template RELEASE CHART \| epp-webhook check -/);
  t.match(all.stdout, `${join(root, 'loose/route.yaml')}:1: note: looks like a Helm template`);
  t.match(all.stdout, /2 objects checked: 1 admitted, 1 denied, \d+ warnings; 2 Helm templates not checked\n$/);

  const excluded = await check([root, '--services', SERVICES, '--exclude', 'test/fixtures', '--exclude', 'templates', '--output', 'json']);
  t.equal(excluded.code, 0, 'a repository of safe manifests passes');
  const report = JSON.parse(excluded.stdout);
  t.same(report.objects.map((o: { file: string }) => relative(root, o.file)), ['deploy/filter.yaml']);
  t.same(report.skipped.map((s: { file: string; reason: string }) => `${relative(root, s.file)} ${s.reason}`).sort(), [
    'data/ids.json not-kubernetes',
    'loose/route.yaml helm-template',
    'tsconfig.json not-kubernetes',
  ]);
});

t.test('nothing checked is a warning on stderr; --fail-on-empty makes it exit 2', async (t) => {
  const root = tree({ 'package.json': '{"name": "x"}', 'values.yaml': 'replicas: 2\n' });
  const warned = await check([root]);
  t.equal(warned.code, 0);
  t.equal(warned.stderr, 'epp-webhook check: warning: nothing checked: no EnvoyFilter, HTTPRoute or DestinationRule in the input (2 files read); --fail-on-empty makes this an error\n');
  for (const output of ['text', 'json', 'sarif']) {
    const failed = await check([root, '--fail-on-empty', '--output', output]);
    t.equal(failed.code, 2, output);
    t.match(failed.stderr, 'epp-webhook check: error: nothing checked');
  }
  const empty = await check(['-', '--fail-on-empty'], '');
  t.equal(empty.code, 2, 'empty standard input');
  t.match(empty.stderr, '(1 file read)');
});

t.test('input that could not be used is an error already: no nothing-checked warning after it', async (t) => {
  const root = tree({ 'broken.yaml': 'apiVersion: v1\nkind: [\n' });
  for (const argv of [[join(root, 'nope.yaml')], [join(root, 'broken.yaml')], [join(root, 'nope.yaml'), '--fail-on-empty'], [join(root, 'broken.yaml'), '--output', 'json']]) {
    const result = await check(argv);
    t.equal(result.code, 2, argv.join(' '));
    t.match(result.stdout + result.stderr, /: error: (cannot read|YAML syntax)/, argv.join(' '));
    t.notMatch(result.stderr, 'nothing checked', argv.join(' '));
  }
});

t.test('this repository: its deliberately unsafe fixtures are denied, nothing is unusable, its own manifests pass', async (t) => {
  const repository = await check([REPO, '--services', join(REPO, 'examples/services.yaml'), '--output', 'json']);
  t.equal(repository.code, 1, repository.stderr);
  const report = JSON.parse(repository.stdout);
  t.equal(report.summary.unusableInputs, 0, JSON.stringify(report.problems));
  t.ok(report.objects.filter((o: { admitted: boolean }) => !o.admitted).every((o: { file: string }) => relative(REPO, o.file).startsWith('test/fixtures/')), 'only fixtures are denied');
  const own = await check([join(REPO, 'examples'), join(REPO, 'deploy'), '--cluster-ip', `${EPP_SERVICE}=10.96.0.50`]);
  t.equal(own.code, 0, own.stdout);
});
