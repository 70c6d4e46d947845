import { isIP } from 'node:net';
import { readUint32 } from './proto-uint32.ts';
import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { describe, envoyField, envoyFieldKey, isObject, quoteValue, type JsonObject } from '../json-value.ts';
import { addsCluster, patchLocation, type ConfigPatch } from './config-patches.ts';
import { closestName } from './closest-name.ts';
import { unwrapAny } from './ext-proc-configs.ts';
import { parseGoDuration } from './go-duration.ts';
import { readEnum } from './proto-enum.ts';
import { socketAddresses } from './socket-addresses.ts';
import { http2OptionProblems } from './http2-option-rules.ts';
import { readOnce } from '../read-once.ts';

/** envoy.config.cluster.v3.Cluster.DiscoveryType, by number. */
export const DISCOVERY_TYPES = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'];
/** envoy.config.cluster.v3.Cluster.LbPolicy, by number (4 is reserved). */
const LB_POLICIES = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', undefined, 'MAGLEV', 'CLUSTER_PROVIDED', 'LOAD_BALANCING_POLICY_CONFIG'];
const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
/** Protocol options Envoy registers under their message's own name, which is then the key it looks them up by. */
const NAMED_BY_TYPE = [HTTP_PROTOCOL_OPTIONS, 'envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions'];
export const ISTIO_REFUSES = 'istiod refuses this at kubectl apply';
/** For any cluster an EnvoyFilter adds, the EPP's or another team's. */
export const ENDPOINT_ADDRESS_FIX = "write the endpoint's address: for the EPP, the placeholder token (the webhook fills in the ClusterIP)";
export const ENVOY_REJECTS = 'Istio accepts it and Envoy rejects the cluster, so it is never added and every call to it fails';
/** HttpProtocolOptions' upstream_protocol_options oneof: the protocol it chooses. */
const PROTOCOL_CHOICES = ['explicit_http_config', 'use_downstream_protocol_config', 'auto_config'] as const;
const HEALTH_CHECKERS = ['grpc_health_check', 'http_health_check', 'tcp_health_check', 'custom_health_check'];
const HEALTH_CHECK_FIX = 'give the health check what it lacks, e.g. timeout: 1s, interval: 10s, unhealthy_threshold: 3, healthy_threshold: 1, grpc_health_check: {}; or remove it';

/**
 * The fields of clusters this EnvoyFilter adds that decide whether the EPP cluster exists at all: read as
 * istiod converts them (exact enum names or numbers, Go durations), then checked as Envoy checks them.
 */
export function checkClusterFields(patches: readonly ConfigPatch[], placeholder: string, severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  for (const patch of patches) {
    if (!addsCluster(patch)) continue;
    const cluster = patch.value;
    const add = (code: 'EPP310' | 'EPP311' | 'EPP312' | 'EPP313' | 'EPP314' | 'EPP315' | 'EPP320', segments: PathSegments, message: string, fix: string) =>
      findings.push(finding(code, severities, { location: patchLocation(patch.index), path: formatPath([...patch.valuePath, ...segments]) }, message, fix));
    const name = patch.valueName;
    const subject = typeof name === 'string' && name !== '' ? `cluster ${name}` : 'cluster';

    if (name === undefined || name === null || name === '') {
      add('EPP312', [], `${subject} has no name: ${ENVOY_REJECTS}`, 'give the cluster the name the ext_proc grpc_service.envoy_grpc.cluster_name uses');
    }

    const typeKey = envoyFieldKey(cluster, 'type');
    const type = readEnum(cluster[typeKey], DISCOVERY_TYPES);
    const lbKey = envoyFieldKey(cluster, 'lb_policy');
    const lb = readEnum(cluster[lbKey], LB_POLICIES);
    const typeName = discoveryType(cluster);
    const lbName = lb.kind === 'name' ? lb.name : lb.kind === 'unset' ? 'ROUND_ROBIN' : undefined;
    for (const [key, read, names] of [[typeKey, type, DISCOVERY_TYPES], [lbKey, lb, LB_POLICIES]] as const) {
      if (read.kind !== 'refused-by-istio' && read.kind !== 'rejected-by-envoy') continue;
      const written = quoteValue(cluster[key]);
      const valid = names.flatMap((n, i) => (n === undefined ? [] : [`${n} (${i})`])).join(', ');
      // Not every value is a fix: EDS and ORIGINAL_DST need more than an EnvoyFilter's cluster has (EPP311), STATIC needs
      // IP addresses (EPP303), CLUSTER_PROVIDED only goes with ORIGINAL_DST or a cluster_type extension.
      const fix = key === typeKey ? typeFix(key, cluster, placeholder) : lbFix(key, cluster, typeName);
      if (read.kind === 'refused-by-istio') {
        add('EPP310', [key], `${subject} ${key} ${written}: ${ISTIO_REFUSES}: it takes the exact upper-case name or its number, ${valid}`, fix);
      } else {
        add('EPP311', [key], `${subject} ${key} ${written}: no value has this number (${valid}); ${ENVOY_REJECTS}`, fix);
      }
    }
    if (typeName === 'EDS' && envoyField(cluster, 'eds_cluster_config') == null) {
      add('EPP311', [typeKey], `${subject} is EDS without eds_cluster_config: Envoy has no EDS source for a cluster an EnvoyFilter adds; ${ENVOY_REJECTS}`, 'use type STATIC with the placeholder token (the webhook fills in the ClusterIP), or STRICT_DNS with the Service name');
    }
    if (typeName === 'ORIGINAL_DST' && lbName !== undefined && lbName !== 'CLUSTER_PROVIDED') {
      add('EPP311', [typeKey], `${subject} is ORIGINAL_DST with lb_policy ${lbName}: Envoy allows only CLUSTER_PROVIDED with ORIGINAL_DST; ${ENVOY_REJECTS}`, 'use type STATIC with the placeholder token, or STRICT_DNS with the Service name');
    }
    if (lbName === 'LOAD_BALANCING_POLICY_CONFIG' && envoyField(cluster, 'load_balancing_policy') == null) {
      // Envoy 1.40: "cluster: field load_balancing_policy need to be set" (asked of it by the differential corpus).
      add('EPP311', [lbKey], `${subject} lb_policy LOAD_BALANCING_POLICY_CONFIG without load_balancing_policy, the policy it defers to; ${ENVOY_REJECTS}`, `remove ${lbKey} (ROUND_ROBIN is the default)`);
    }
    if (lbName === 'CLUSTER_PROVIDED' && typeName !== undefined && typeName !== 'ORIGINAL_DST') {
      add('EPP311', [lbKey], `${subject} lb_policy CLUSTER_PROVIDED with type ${typeName}: this type provides no load balancer; ${ENVOY_REJECTS}`, `remove ${lbKey} (ROUND_ROBIN is the default)`);
    }

    const timeoutKey = envoyFieldKey(cluster, 'connect_timeout');
    const timeout = cluster[timeoutKey];
    if (timeout !== undefined && timeout !== null) {
      const nanos = typeof timeout === 'string' ? parseGoDuration(timeout) : undefined;
      if (nanos === undefined) {
        add('EPP310', [timeoutKey], `${subject} ${timeoutKey} is ${describe(timeout)}: ${ISTIO_REFUSES} (it takes a duration string such as "2s")`, `write ${timeoutKey}: 2s`);
      } else if (nanos <= 0n) {
        add('EPP312', [timeoutKey], `${subject} ${timeoutKey} ${quoteValue(timeout)}: Envoy requires more than 0s; ${ENVOY_REJECTS}`, `write ${timeoutKey}: 2s`);
      }
    }

    for (const { segments, socket, address } of socketAddresses(cluster)) {
      if (address === '') add('EPP312', [...segments, 'address'], `${subject} has an empty endpoint address: ${ENVOY_REJECTS}`, ENDPOINT_ADDRESS_FIX);
      const portKey = envoyFieldKey(socket, 'port_value');
      const value = socket[portKey];
      if (value === undefined || value === null) continue;
      const number = readUint32(value, 'istiod');
      if (typeof number !== 'number') {
        add('EPP310', [...segments, portKey], `${subject} ${portKey} is ${describe(value)}: ${ISTIO_REFUSES} (it takes a port number)`, `write ${portKey}: 9002`);
      } else if (number > 65535) {
        add('EPP312', [...segments, portKey], `${subject} ${portKey} ${number} is above 65535: ${ENVOY_REJECTS}`, `write ${portKey}: 9002`);
      }
    }

    // Envoy's HealthCheck requires a timeout, an interval, both thresholds and a checker (its proto's validation rules).
    const checksKey = envoyFieldKey(cluster, 'health_checks');
    const checks = cluster[checksKey];
    for (const [i, written] of (Array.isArray(checks) ? checks : []).entries()) {
      // null in the list is read as an empty entry.
      const check = written === null ? {} : written;
      if (!isObject(check)) continue;
      const missing = ['timeout', 'interval', 'unhealthy_threshold', 'healthy_threshold'].filter((field) => envoyField(check, field) == null);
      if (!HEALTH_CHECKERS.some((checker) => envoyField(check, checker) != null)) missing.push('health checker (grpc_health_check, http_health_check or tcp_health_check)');
      if (missing.length === 0) continue;
      add('EPP320', [checksKey, i], `${subject} health check has no ${missing.join(', no ')}: Envoy requires each; ${ENVOY_REJECTS}`, HEALTH_CHECK_FIX);
    }

    const socketKey = envoyFieldKey(cluster, 'transport_socket');
    const socket = cluster[socketKey];
    if (isObject(socket)) {
      const socketName = envoyField(socket, 'name');
      const typed = envoyField(socket, 'typed_config');
      const missing = [...(typeof socketName === 'string' && socketName !== '' ? [] : ['name']), ...(isObject(typed) ? [] : ['typed_config'])];
      if (missing.length > 0) {
        add(
          'EPP313',
          [socketKey],
          `${subject} ${socketKey} has no ${missing.join(' and no ')}: Envoy needs both to pick the transport socket; ${ENVOY_REJECTS}`,
          `write ${socketKey}: {name: envoy.transport_sockets.tls, typed_config: {"@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext}}`,
        );
      }
    }
    const optionsKey = envoyFieldKey(cluster, 'typed_extension_protocol_options');
    const typedOptions = cluster[optionsKey];
    const optionsByName = isObject(typedOptions) ? typedOptions : {};
    const held = optionsByName[HTTP_PROTOCOL_OPTIONS];
    // A TypedStruct holds the options as its value (Envoy converts it).
    const unwrapped = isObject(held) ? unwrapAny(held) : undefined;
    const options = unwrapped?.message ?? held;
    const optionsPath = [optionsKey, HTTP_PROTOCOL_OPTIONS, ...(unwrapped?.key === undefined ? [] : [unwrapped.key])];
    for (const [key, value] of Object.entries(optionsByName)) {
      // A misspelling of the name of the options it holds (by @type): another extension's name may be as close.
      const type = isObject(value) ? unwrapAny(value).type : undefined;
      const meant = type !== undefined && NAMED_BY_TYPE.includes(type) && key !== type ? closestName(key, [type]) : undefined;
      if (meant !== undefined) {
        add('EPP315', [optionsKey, key], `${subject} ${optionsKey} key ${JSON.stringify(key)} names no Envoy extension (did you mean ${meant}?): ${ENVOY_REJECTS}`, `rename the key to ${meant}`);
      }
    }
    // Each protocol choice of HttpProtocolOptions, under the key istiod reads it from.
    const choices = isObject(options) ? PROTOCOL_CHOICES.map((choice) => envoyFieldKey(options, choice)) : [];
    if (isObject(options) && !choices.some((key) => options[key] != null)) {
      add(
        'EPP315',
        optionsPath,
        `${subject} ${HTTP_PROTOCOL_OPTIONS} chooses no protocol (explicit_http_config, use_downstream_protocol_config or auto_config): ${ENVOY_REJECTS}`,
        'add explicit_http_config: {http2_protocol_options: {}}',
      );
    }
    // The HTTP/2 options Envoy checks: the cluster's own, and those of its HttpProtocolOptions (in a TypedStruct, Envoy reads them).
    const http2Key = envoyFieldKey(cluster, 'http2_protocol_options');
    const http2Sites: [unknown, PathSegments, string, boolean][] = [[cluster[http2Key], [http2Key], http2Key, false]];
    if (isObject(options)) {
      for (const choiceKey of choices) {
        const holder = options[choiceKey];
        if (!isObject(holder)) continue;
        const key = envoyFieldKey(holder, 'http2_protocol_options');
        http2Sites.push([holder[key], [...optionsPath, choiceKey, key], `${choiceKey}.${key}`, unwrapped?.key !== undefined]);
      }
    }
    for (const [http2, segments, label, envoyReads] of http2Sites) {
      if (!isObject(http2)) continue;
      for (const problem of http2OptionProblems(http2, segments, label, envoyReads)) {
        if (problem.by === 'istiod') add('EPP310', problem.segments, `${subject} ${problem.message}: ${ISTIO_REFUSES}`, problem.fix);
        else add('EPP312', problem.segments, `${subject} ${problem.message}; ${ENVOY_REJECTS}`, problem.fix);
      }
    }
    if (isObject(options) && envoyField(options, 'auto_config') != null && !isTlsSocket(socket)) {
      add(
        'EPP314',
        [optionsKey],
        `${subject} negotiates HTTP/2 by ALPN (auto_config) but its transport_socket is not TLS, so there is no ALPN: ${ENVOY_REJECTS}`,
        'use explicit_http_config: {http2_protocol_options: {}}, or add a TLS transport_socket',
      );
    }
  }
  return findings;
}

/**
 * The discovery type to write for a cluster whose type istiod or Envoy refuses: STATIC for IPs, STRICT_DNS for hostnames.
 * The placeholder token (config.placeholder) is an IP address to be: it is left where no Service resolved it.
 */
function typeFix(key: string, cluster: JsonObject, placeholder: string): string {
  const addresses = socketAddresses(cluster).flatMap(({ address }) => (typeof address === 'string' && address !== '' ? [address] : []));
  // A token spelt otherwise is left to EPP303.
  const isAddress = (address: string) => isIP(address) !== 0 || address === placeholder;
  if (addresses.length > 0 && addresses.every(isAddress)) return `write ${key}: STATIC (its endpoints are IP addresses)`;
  if (addresses.length > 0 && !addresses.some(isAddress)) return `write ${key}: STRICT_DNS (its endpoints are hostnames)`;
  return `write ${key}: STATIC with IP addresses (for an EPP, the ${placeholder} token), or STRICT_DNS with hostnames`;
}

/** The lb_policy to write for a cluster whose lb_policy istiod or Envoy refuses. */
function lbFix(key: string, cluster: JsonObject, typeName: string | undefined): string {
  if (typeName === 'ORIGINAL_DST') return `write ${key}: CLUSTER_PROVIDED (the only one ORIGINAL_DST takes)`;
  if (envoyField(cluster, 'cluster_type') != null) return `write ${key}: CLUSTER_PROVIDED (what a cluster_type extension provides)`;
  return `write ${key} as one of ROUND_ROBIN (0), LEAST_REQUEST (1), RING_HASH (2), RANDOM (3), MAGLEV (5), or remove it (ROUND_ROBIN is the default)`;
}

/**
 * The DiscoveryType a cluster runs as istiod converts it (unset: STATIC); undefined for a value no type has, and for a
 * cluster_type (an extension: aggregate, dynamic_forward_proxy, ...), the other member of `type`'s oneof, which is
 * none of them and usually needs lb_policy CLUSTER_PROVIDED. Read once per cluster (read-once.ts).
 */
export const discoveryType: (cluster: JsonObject) => string | undefined = readOnce(readDiscoveryType);

function readDiscoveryType(cluster: JsonObject): string | undefined {
  if (envoyField(cluster, 'cluster_type') != null) return undefined;
  const type = readEnum(envoyField(cluster, 'type'), DISCOVERY_TYPES);
  return type.kind === 'name' ? type.name : type.kind === 'unset' ? 'STATIC' : undefined;
}

function isTlsSocket(socket: unknown): boolean {
  if (!isObject(socket)) return false;
  const typed = envoyField(socket, 'typed_config');
  const type = isObject(typed) ? typed['@type'] : undefined;
  return typeof type === 'string' && type.endsWith('.UpstreamTlsContext');
}
