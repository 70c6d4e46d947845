import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { describe, envoyFieldKey, isObject, isSet, quoteValue, type JsonObject } from '../json-value.ts';
import { meantField } from './closest-name.ts';
import { discoveryType, ENDPOINT_ADDRESS_FIX, ENVOY_REJECTS, ISTIO_REFUSES } from './check-cluster-fields.ts';
import { CLUSTER_MESSAGES, ROUTING_PRIORITIES, SOCKET_ADDRESS_FIELDS, type ClusterMessage } from './cluster-schema.ts';
import { addsCluster, patchLocation, type ConfigPatch } from './config-patches.ts';
import { parseGoDuration } from './go-duration.ts';
import { istiodRefuses } from './json-type-refusal.ts';
import { readEnum } from './proto-enum.ts';
import type { FieldKind } from './ext-proc-schema.ts';
import { missingRequired, type Requirement } from './required-fields.ts';
import { socketAddresses } from './socket-addresses.ts';

/** Read by check-cluster-fields.ts with messages of their own. */
const CHECKED_ELSEWHERE = new Set(['type', 'lb_policy', 'connect_timeout']);


type Add = (code: 'EPP310' | 'EPP311' | 'EPP312' | 'EPP321', segments: PathSegments, message: string, fix: string) => void;

/** EPP321: a key istiod does not know in a Cluster or SocketAddress, dropped with only a warning at kubectl apply. */
function unknownField(
  add: Add,
  subject: string,
  message: string,
  object: JsonObject,
  key: string,
  fields: Readonly<Record<string, unknown>>,
  segments: PathSegments,
): void {
  if (key === '@type') {
    // Only an Any takes it (a cluster copied from a config_dump carries one).
    add('EPP321', [...segments, key], `${subject} @type is not a field of ${message}: Istio drops it with only a warning at kubectl apply (only an Any takes @type)`, 'remove @type');
    return;
  }
  const guess = meantField(key, Object.keys(fields));
  const written = guess !== undefined && isSet(object, guess);
  const outcome = guess !== undefined && !written ? `${guess} stays unset` : 'Envoy never sees it';
  const fix = guess === undefined ? `remove ${key}` : written ? `remove ${key} (${guess} is written already)` : `rename ${key} to ${guess}`;
  add('EPP321', [...segments, key], `${subject} ${key} is not a field of ${message}${guess === undefined ? '' : ` (did you mean ${guess}?)`}: Istio drops it with only a warning at kubectl apply, so ${outcome}`, fix);
}

/** A table by field name with no prototype: a field named like an Object.prototype member finds nothing in it. */
function byField<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
}

/**
 * The enums of those messages other than type and lb_policy, by message and field, with their values by number;
 * `definedOnly`: Envoy's rules refuse a number no value has; `what` a value is called in a message.
 */
const ENUMS: Partial<Record<ClusterMessage, Readonly<Record<string, { names: readonly string[]; definedOnly: boolean; what?: string }>>>> = {
  Cluster: byField({
    dns_lookup_family: { names: ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'], definedOnly: true },
    protocol_selection: { names: ['USE_CONFIGURED_PROTOCOL', 'USE_DOWNSTREAM_PROTOCOL'], definedOnly: false },
  }),
  'CircuitBreakers.Thresholds': byField({ priority: { names: ROUTING_PRIORITIES, definedOnly: true, what: 'priority' } }),
};
/** Envoy's rules on durations beyond "not negative": each one's exclusive lower bound in nanoseconds, by message and field. */
const ABOVE: Partial<Record<ClusterMessage, Readonly<Record<string, { nanos: bigint; text: string }>>>> = {
  Cluster: byField({ dns_refresh_rate: { nanos: 1_000_000n, text: '1ms' }, cleanup_interval: { nanos: 0n, text: '0s' } }),
};
/** What Envoy's proto rules require of the messages in these fields (each asked of Envoy 1.40). */
const REQUIRED: Record<string, Requirement> = {
  transport_socket_matches: { all: ['name', 'transport_socket'] },
  filters: { all: ['name', 'typed_config'] },
  dns_resolvers: { oneOf: ['socket_address', 'pipe', 'envoy_internal_address'] },
  dns_failure_refresh_rate: { all: ['base_interval'], single: true },
  dns_resolution_config: { all: ['resolvers'], single: true },
  typed_dns_resolver_config: { all: ['name', 'typed_config'], single: true },
  upstream_config: { all: ['name', 'typed_config'], single: true },
  lrs_server: { oneOf: ['path', 'path_config_source', 'api_config_source', 'ads', 'self'], single: true },
  load_balancing_policy: { all: ['policies'], single: true },
};

/**
 * The fields of one message of the cluster (the Cluster itself at `segments` [], or one inside it), read as istiod
 * converts them: a key it does not know (EPP321), a JSON type it refuses (EPP310), an enum name or number, a duration
 * below its bound (EPP312). Each is named by its path in the cluster (`circuit_breakers.thresholds[0].priority`).
 */
function checkFields(add: Add, subject: string, message: ClusterMessage, object: JsonObject, segments: PathSegments, skip?: ReadonlySet<string>): void {
  const { fields, keys } = CLUSTER_MESSAGES[message];
  const enums = ENUMS[message];
  const bounds = ABOVE[message];
  for (const key in object) {
    const value = object[key];
    const field = keys.get(key);
    if (field === undefined) {
      unknownField(add, segments.length === 0 ? subject : `${subject} ${formatPath(segments)}:`, message, object, key, fields, segments);
      continue;
    }
    // Written in both spellings, istiod reads the lowerCamelCase one alone.
    if (key !== envoyFieldKey(object, field)) continue;
    if (value === null || skip?.has(field)) continue;
    const kind = (fields as Readonly<Record<string, FieldKind>>)[field];
    const refused = istiodRefuses(kind, value);
    const enumeration = enums?.[field];
    // Most fields pass every test: their path is built only for a finding. A test added below widens this guard.
    if (refused === undefined && enumeration === undefined && (kind !== 'duration' || typeof value !== 'string')) continue;
    const at = [...segments, key];
    const label = formatPath(at);
    if (refused !== undefined) {
      const where = refused.index === undefined ? label : formatPath([...at, refused.index]);
      add('EPP310', refused.index === undefined ? at : [...at, refused.index], `${subject} ${where} is ${describe(refused.value)}: ${ISTIO_REFUSES} (it takes ${refused.expected})`, `write ${where} as ${refused.expected}`);
      continue;
    }
    if (enumeration !== undefined) {
      const read = readEnum(value, enumeration.names);
      const listed = `one of ${enumeration.names.map((n, i) => `${n} (${i})`).join(', ')}`;
      if (read.kind === 'refused-by-istio') add('EPP310', at, `${subject} ${label} ${quoteValue(value)}: ${ISTIO_REFUSES}: it takes the exact upper-case name or its number, ${listed.slice('one of '.length)}`, `write ${label} as ${listed}`);
      else if (read.kind === 'rejected-by-envoy' && enumeration.definedOnly) add('EPP312', at, `${subject} ${label} ${quoteValue(value)}: no ${enumeration.what ?? 'value'} has this number; ${ENVOY_REJECTS}`, `write ${label} as ${listed}`);
      continue;
    }
    if (kind === 'duration' && typeof value === 'string') {
      const nanos = parseGoDuration(value)!;
      const bound = bounds?.[field];
      if (bound !== undefined && nanos <= bound.nanos) add('EPP312', at, `${subject} ${label} ${quoteValue(value)}: Envoy requires more than ${bound.text}; ${ENVOY_REJECTS}`, `write ${label}: 5s`);
      else if (nanos < 0n) add('EPP312', at, `${subject} ${label} ${quoteValue(value)} is negative: ${ENVOY_REJECTS}`, `write a duration of 0s or more for ${label}`);
    }
  }
}

/** circuit_breakers and each entry of its two lists of thresholds. */
function checkCircuitBreakers(add: Add, subject: string, cluster: JsonObject): void {
  const key = envoyFieldKey(cluster, 'circuit_breakers');
  const breakers = cluster[key];
  if (!isObject(breakers)) return;
  checkFields(add, subject, 'CircuitBreakers', breakers, [key]);
  for (const list of ['thresholds', 'per_host_thresholds']) {
    const listKey = envoyFieldKey(breakers, list);
    const entries = breakers[listKey];
    if (!Array.isArray(entries)) continue;
    entries.forEach((entry, index) => {
      if (isObject(entry)) checkFields(add, subject, 'CircuitBreakers.Thresholds', entry, [key, listKey, index]);
    });
  }
}

/**
 * Every field of a cluster an EnvoyFilter adds, read as istiod converts it (the JSON type each takes) and checked
 * against the rules Envoy puts on it: durations not negative and above their bounds, enum numbers it defines, the
 * messages it requires a name or a choice in, eds_cluster_config only on an EDS cluster.
 */
export function checkClusterTypes(patches: readonly ConfigPatch[], severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  for (const patch of patches) {
    // A MERGE's value is a Cluster too, read the same way; what a whole cluster needs is judged on an ADD only.
    const adds = addsCluster(patch);
    if (!adds && !(patch.applyTo === 'CLUSTER' && patch.operation === 'MERGE' && patch.value !== undefined)) continue;
    const cluster = patch.value!;
    const name = cluster.name;
    const subject = typeof name === 'string' && name !== '' ? `cluster ${name}` : 'cluster';
    const add: Add = (code, segments, message, fix) =>
      findings.push(finding(code, severities, { location: patchLocation(patch.index), path: formatPath([...patch.valuePath, ...segments]) }, message, fix));

    checkFields(add, subject, 'Cluster', cluster, [], CHECKED_ELSEWHERE);
    checkCircuitBreakers(add, subject, cluster);

    if (!adds) continue;
    for (const { key, index, lacking, wanted, needs } of missingRequired(cluster, REQUIRED, false)) {
      const label = index === undefined ? key : `${key}[${index}]`;
      add('EPP312', index === undefined ? [key] : [key, index], `${subject} ${label} sets ${lacking}: Envoy requires ${needs}; ${ENVOY_REJECTS}`, `write ${label} with ${wanted}, or remove it`);
    }

    const type = discoveryType(cluster);
    for (const { segments, socket } of socketAddresses(cluster)) {
      for (const key of Object.keys(socket)) {
        if (!CLUSTER_MESSAGES.SocketAddress.keys.has(key)) unknownField(add, subject, 'SocketAddress', socket, key, SOCKET_ADDRESS_FIELDS, segments);
      }
      if (!isSet(socket, 'address')) {
        add('EPP312', [...segments, envoyFieldKey(socket, 'address')], `${subject} has an endpoint without an address: ${ENVOY_REJECTS}`, ENDPOINT_ADDRESS_FIX);
      }
      if (!isSet(socket, 'port_value') && !isSet(socket, 'named_port')) {
        add('EPP312', [...segments, envoyFieldKey(socket, 'port_value')], `${subject} has an endpoint without a port (port_value): ${ENVOY_REJECTS}`, 'write port_value: the port the server listens on (9002 for an EPP)');
      } else if (isSet(socket, 'named_port') && type === 'STATIC' && !isSet(socket, 'resolver_name')) {
        // A oneof with port_value: istiod keeps named_port, the last of the two by name.
        const key = envoyFieldKey(socket, 'named_port');
        add('EPP312', [...segments, key], `${subject} is STATIC and its endpoint names its port (${key}): Envoy's IP resolver takes a port_value only; ${ENVOY_REJECTS}`, `replace ${key} with port_value: 9002`);
      }
      if (isSet(socket, 'resolver_name') && (type === 'STRICT_DNS' || type === 'LOGICAL_DNS')) {
        const key = envoyFieldKey(socket, 'resolver_name');
        add('EPP312', [...segments, key], `${subject} is ${type} and its endpoint sets ${key}: Envoy allows no custom resolver on a DNS cluster; ${ENVOY_REJECTS}`, `remove ${key}`);
      }
    }

    const edsKey = ['eds_cluster_config', 'edsClusterConfig'].find((k) => cluster[k] !== undefined && cluster[k] !== null);
    if (edsKey !== undefined && type !== undefined && type !== 'EDS') {
      add('EPP311', [edsKey], `${subject} sets ${edsKey} but is ${type}: Envoy takes it only on an EDS cluster; ${ENVOY_REJECTS}`, `remove ${edsKey}`);
    }
  }
  return findings;
}
