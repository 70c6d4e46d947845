import { isIP } from 'node:net';
import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { envoyField, envoyFieldKey, isObject, type JsonObject } from '../json-value.ts';
import { matchedSubFilter, patchLocation, type ConfigPatch } from './config-patches.ts';
import { discoveryType } from './check-cluster-fields.ts';
import { EXT_PROC_FILTER_NAME, lacksTypedConfig, siteReading, unwrapAny, type ClusterSite, type ExtProcSite } from './ext-proc-configs.ts';
import { readBool } from './field-reading.ts';
import { ISTIOD_FILTER } from './merge-into-istiod-filter.ts';
import { EPP_MODE } from './processing-mode.ts';
import { socketAddresses } from './socket-addresses.ts';
import { parseIstioClusterName } from './istio-cluster-name.ts';
import { targetCluster } from './target-cluster.ts';
import { checkRequestLimit } from './check-request-limit.ts';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HTTP2_FIX = `add typed_extension_protocol_options: {${HTTP_PROTOCOL_OPTIONS}: {"@type": type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}, explicit_http_config: {http2_protocol_options: {}}}}`;

/**
 * grpc_service xor http_service, and the cluster behind it: defined here, HTTP/2 for gRPC, TLS to the EPP.
 * `judged` keeps of a site's findings what applies to its ext_proc server (EPP rules only where it is an EPP).
 * `intoIstiodFilter`: the MERGEs into istiod's InferencePool filter (merge-into-istiod-filter.ts), which has a
 * grpc_service of its own that the merged filter keeps unless the MERGE writes another.
 * `unnamedCluster`: this EnvoyFilter adds a cluster without a name, which EPP312 says to give the name the ext_proc
 * config uses; a cluster missing by that name is then that one, not one to add (a second of that name: Envoy rejects).
 */
export function checkWiring(
  sites: readonly ExtProcSite[],
  clusters: Map<string, ClusterSite>,
  severities: SeverityOverrides,
  judged: (site: ExtProcSite, findings: Finding[]) => Finding[],
  intoIstiodFilter: ReadonlySet<ExtProcSite> = new Set(),
  unnamedCluster = false,
): Finding[] {
  const findings: Finding[] = [];
  // Each cluster an ext_proc config calls, with every config that calls it, in order.
  const callers = new Map<string, { site: ExtProcSite; via: 'grpc' | 'http'; location: string; segments: PathSegments; failOpen: boolean }[]>();
  for (const site of sites) {
    const location = patchLocation(site.patch.index);
    const config = site.kind === 'filter' ? site.config : envoyField(site.config, 'overrides');
    if (!isObject(config)) continue;
    const segments = site.kind === 'filter' ? site.segments : [...site.segments, envoyFieldKey(site.config, 'overrides')];

    if (site.kind === 'filter') {
      // null leaves a field unset in istiod's conversion.
      const hasGrpc = envoyField(config, 'grpc_service') != null;
      const hasHttp = envoyField(config, 'http_service') != null;
      const merging = site.patch.operation === 'MERGE';
      if (hasHttp && !hasGrpc && intoIstiodFilter.has(site)) {
        findings.push(
          finding(
            'EPP301',
            severities,
            { location, path: formatPath(segments) },
            `ext_proc http_service in a MERGE into ${ISTIOD_FILTER}, which has a grpc_service: the merged filter has both, and Envoy accepts exactly one and rejects the filter`,
            "write grpc_service: {envoy_grpc: {cluster_name: <ext_proc server cluster>}} in this MERGE in place of http_service (it replaces istiod's; an EPP speaks gRPC on port 9002)",
          ),
        );
      } else if ((hasGrpc && hasHttp) || (!hasGrpc && !hasHttp && !merging)) {
        findings.push(
          finding(
            'EPP301',
            severities,
            { location, path: formatPath(segments) },
            hasGrpc
              ? 'ext_proc has both grpc_service and http_service: Envoy accepts exactly one and rejects the filter'
              : 'ext_proc has neither grpc_service nor http_service: Envoy rejects the filter, so it never reaches its ext_proc server',
            hasGrpc
              ? 'keep the one your ext_proc server speaks (an EPP speaks gRPC on port 9002: grpc_service) and remove the other'
              : lacksTypedConfig(site)
                ? // No typed_config to add it to: one without "@type" is EPP219.
                  `add typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor, grpc_service: {envoy_grpc: {cluster_name: <ext_proc server cluster>}}} (an EPP speaks gRPC on port 9002, with processing_mode: {${EPP_MODE}})`
                : 'add grpc_service: {envoy_grpc: {cluster_name: <ext_proc server cluster>}} (an EPP speaks gRPC on port 9002)',
          ),
        );
      }
    }

    const target = targetCluster(config);
    // An empty cluster name is EPP216's (Envoy rejects the filter): no cluster of that name is to be added.
    if (target === undefined || target.name === '') continue;
    const calls = callers.get(target.name) ?? callers.set(target.name, []).get(target.name)!;
    // A filter that fails open (istiod's, merged into, sets true, which a MERGE cannot make false); a per-route override
    // naming the cluster is judged as failing closed: what its route then gets is not measured.
    const failOpen = site.kind === 'filter' && (intoIstiodFilter.has(site) || readBool(config, 'failure_mode_allow', siteReading(site)) === true);
    calls.push({ site, via: target.via, location, segments, failOpen });
  }
  for (const [name, calls] of callers) {
    const defined = clusters.get(name);
    if (defined === undefined) {
      // outbound|port||host clusters are generated by Istio from Services; they exist without a CLUSTER patch.
      if (parseIstioClusterName(name) !== undefined || unnamedCluster) continue;
      const failOpen = calls.every((c) => c.failOpen);
      findings.push(
        finding(
          'EPP305',
          severities,
          { location: calls[0].location, path: formatPath(calls[0].segments) },
          // Measured (test/dataplane/measured-symptoms.json EPP305-cluster-in-another-envoyfilter, EPP305-cluster-nowhere, -fail-open;
          // a route override naming a cluster that exists: EPP230-merge-override-with-grpc-service).
          `ext_proc cluster ${name} is not defined in this EnvoyFilter: if another EnvoyFilter of the gateway adds it, this works as if it were here; if none does, Envoy loads the filter on a cluster it does not have, no ext_proc stream opens, ${
            failOpen
              ? 'and, as failure_mode_allow is true, every request bypasses the ext_proc server, except on routes whose per-route override names a cluster that exists'
              : 'and every request gets 500 (with failure_mode_allow: true, bypasses the ext_proc server)'
          }`,
          `add an applyTo: CLUSTER patch (operation: ADD) named ${name}, or use Istio's cluster of the server's Service, outbound|<port>||<service>.<namespace>.svc.cluster.local${failOpen ? `; if ${name} is a placeholder that per-route overrides replace, set EPP305 to off` : ''}`,
        ),
      );
      continue;
    }
    // Judged once for all its callers: each rule at the strongest any caller's judgement keeps (a gRPC caller's
    // HTTP/2 rule, the most EPP caller's EPP rules), the first caller's where they tie.
    const strongest = new Map<string, Finding>();
    for (const { site, via } of calls) {
      for (const f of judged(site, checkEppCluster(name, via, defined, severities))) {
        const kept = strongest.get(f.code);
        if (kept === undefined || SEVERITY_ORDER[f.severity] > SEVERITY_ORDER[kept.severity]) strongest.set(f.code, f);
      }
    }
    findings.push(...strongest.values());
  }
  return findings;
}

const SEVERITY_ORDER: Record<Finding['severity'], number> = { off: 0, warn: 1, deny: 2 };

function checkEppCluster(name: string, via: 'grpc' | 'http', site: ClusterSite, severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  // Most clusters are fine: the path is written out only for a finding.
  const at = () => ({ location: patchLocation(site.patch.index), path: formatPath(site.patch.valuePath) });
  if (via === 'grpc' && !speaksHttp2(site.cluster)) {
    findings.push(
      finding('EPP302', severities, at(), `cluster ${name} carries ext_proc gRPC but does not speak HTTP/2: every call to the ext_proc server fails`, HTTP2_FIX),
    );
  }
  if (!hasTls(site.cluster)) {
    findings.push(
      finding(
        'EPP306',
        severities,
        at(),
        `cluster ${name} connects to the EPP in plaintext, but the EPP serves TLS by default (--secure-serving=true), so the connection fails`,
        'add transport_socket {name: envoy.transport_sockets.tls, typed_config: {"@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext}}, or run the EPP with --secure-serving=false',
      ),
    );
  }
  findings.push(...checkRequestLimit(name, via, site, severities));
  return findings;
}

function speaksHttp2(cluster: JsonObject): boolean {
  if (envoyField(cluster, 'http2_protocol_options') !== undefined) return true;
  const typed = envoyField(cluster, 'typed_extension_protocol_options');
  // Under a misspelt key (EPP315, whose fix renames it) the options are read by their @type: else this fix would add
  // a second entry, and EPP315's rename would then write a key the map already has.
  const held = isObject(typed) ? (typed[HTTP_PROTOCOL_OPTIONS] ?? Object.values(typed).find((o) => isObject(o) && unwrapAny(o).type === HTTP_PROTOCOL_OPTIONS)) : undefined;
  if (!isObject(held)) return false;
  const options = unwrapAny(held).message;
  const explicit = envoyField(options, 'explicit_http_config');
  if (isObject(explicit) && envoyField(explicit, 'http2_protocol_options') !== undefined) return true;
  // auto_config negotiates HTTP/2 by ALPN, which needs TLS.
  return envoyField(options, 'auto_config') !== undefined && hasTls(cluster);
}

function hasTls(cluster: JsonObject): boolean {
  if (envoyField(cluster, 'transport_socket_matches') !== undefined) return true;
  const socket = envoyField(cluster, 'transport_socket');
  if (!isObject(socket)) return false;
  const name = envoyField(socket, 'name');
  const typed = envoyField(socket, 'typed_config');
  const type = isObject(typed) ? typed['@type'] : undefined;
  return (typeof name === 'string' && name.includes('tls')) || (typeof type === 'string' && type.endsWith('UpstreamTlsContext'));
}

/** STATIC clusters (Envoy's default type) need IP literals; a hostname makes Envoy reject the cluster. */
export function checkStaticAddresses(clusters: Map<string, ClusterSite>, token: string, severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  for (const [name, site] of clusters) {
    if (discoveryType(site.cluster) !== 'STATIC') continue;
    for (const { segments, address } of socketAddresses(site.cluster)) {
      if (typeof address !== 'string') continue;
      if (isIP(address) !== 0 || address.includes(token) || address === '') continue; // '' is EPP312
      findings.push(
        finding(
          'EPP303',
          severities,
          { location: patchLocation(site.patch.index), path: formatPath([...site.patch.valuePath, ...segments, 'address']) },
          `cluster ${name} is STATIC but its address ${JSON.stringify(address)} is not an IP: Envoy rejects the cluster`,
          `use type: STRICT_DNS for a hostname, or (for an EPP) write ${token} and let the webhook fill in the EPP Service's ClusterIP`,
        ),
      );
    }
  }
  return findings;
}

/** REPLACE on subFilter ext_proc matches only a filter Istio itself inserted; otherwise it silently does nothing. */
export function checkReplaceOfExtProc(patches: readonly ConfigPatch[], severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  for (const patch of patches) {
    if (patch.applyTo !== 'HTTP_FILTER' || patch.operation !== 'REPLACE') continue;
    if (matchedSubFilter(patch) !== EXT_PROC_FILTER_NAME) continue;
    findings.push(
      finding(
        'EPP304',
        severities,
        { location: patchLocation(patch.index), path: formatPath(['spec', 'configPatches', patch.index, 'patch', 'operation']) },
        `REPLACE on subFilter ${EXT_PROC_FILTER_NAME} is a silent no-op unless Istio inserted that filter itself (InferencePool routes with ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true)`,
        'use operation: INSERT_BEFORE with subFilter envoy.filters.http.router to add the filter',
      ),
    );
  }
  return findings;
}
