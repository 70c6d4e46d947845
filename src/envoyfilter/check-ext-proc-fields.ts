import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { camelCase, describe, envoyField, isObject, isSet, quoteValue, type JsonObject } from '../json-value.ts';
import { patchLocation } from './config-patches.ts';
import { EXT_PROC_SCHEMA, type FieldKind, type MessageName } from './ext-proc-schema.ts';
import { parseGoDuration } from './go-duration.ts';
import { closestName } from './closest-name.ts';
import { checkOneofsBelow } from './check-ext-proc-oneofs.ts';
import { ONEOFS_BELOW, type OneofField } from './ext-proc-oneofs.ts';
import { readBool, readField, readFieldKey, type Reading } from './field-reading.ts';
import { readEnum } from './proto-enum.ts';
import { envoyRefuses, EXPECTED, istiodRefuses } from './json-type-refusal.ts';
import { defaultFor, isModeField, readProcessingMode } from './processing-mode.ts';
import { celSyntaxError } from './cel-syntax.ts';
import { rejectsUpdate } from './envoy-rejects-update.ts';
import { keptGrpcTarget } from './target-cluster.ts';
import { missingRequired, type Requirement } from './required-fields.ts';

const ONE_HOUR_NANOS = 3_600_000_000_000n;
/** Envoy's proto rule on these: `duration = {lte {seconds: 3600} gte {}}`. */
const AT_MOST_ONE_HOUR = new Set(['message_timeout', 'max_message_timeout']);
/** A field of a schema message, with what reading it needs. */
interface SchemaField {
  field: string;
  camel: string;
  kind: FieldKind;
  /** The oneofs below it (ext-proc-oneofs.ts), checked in a TypedStruct. */
  below: OneofField | undefined;
}
/** Each message's fields under both spellings istiod reads (snake_case and lowerCamelCase), built once. */
const FIELD_BY_KEY = Object.fromEntries(
  Object.entries(EXT_PROC_SCHEMA).map(([name, { fields }]) => [
    name,
    new Map(Object.entries(fields).flatMap(([field, kind]) => {
      const schemaField: SchemaField = { field, camel: camelCase(field), kind, below: ONEOFS_BELOW[name as MessageName]?.[field] };
      return [[field, schemaField], [schemaField.camel, schemaField]];
    })),
  ]),
) as Record<MessageName, Map<string, SchemaField>>;
const ISTIO_REFUSES = 'istiod refuses this at kubectl apply';

interface Walk {
  location: string;
  /** Where the ext_proc config starts in the segments, for names in messages. */
  rootDepth: number;
  reading: Reading;
  /** What Envoy does with a value it refuses here, after "Envoy" (envoy-rejects-update.ts). */
  rejectsUpdate: string;
  /** A MERGE: what it leaves out keeps the values of the filter it merges into. */
  partial: boolean;
  severities: SeverityOverrides;
  findings: Finding[];
}

export interface ExtProcFieldsInput {
  /** The ExternalProcessor (kind filter) or the ExtProcPerRoute (kind per-route), as written. */
  config: JsonObject;
  kind: 'filter' | 'per-route';
  segments: PathSegments;
  patchIndex: number;
  /** `envoy` for a TypedStruct's value (field-reading.ts). */
  reading?: Reading;
  /** A MERGE patch's filter config: fields it leaves out keep the values of the filter it merges into. */
  partial?: boolean;
  severities: SeverityOverrides;
}

/**
 * Reads an ext_proc config field by field as istiod converts it (see ext-proc-schema.ts): names the fields it
 * drops and the values it refuses, then checks what Envoy's own validation rejects in the result.
 */
export function checkExtProcFields({ config, kind, segments, patchIndex, reading = 'istiod', partial = false, severities }: ExtProcFieldsInput): Finding[] {
  const walk: Walk = { location: patchLocation(patchIndex), rootDepth: segments.length, reading, rejectsUpdate: rejectsUpdate(kind), partial, severities, findings: [] };
  const message = kind === 'filter' ? 'ExternalProcessor' : 'ExtProcPerRoute';
  readMessage(walk, config, message, segments);
  if (kind === 'filter') {
    checkHttpServiceModes(walk, config, segments);
    checkRouteCacheChoice(walk, config, segments);
    checkFilterFieldRules(walk, config, segments);
  } else {
    checkPerRouteChoice(walk, config, segments);
    const overrides = readField(config, 'overrides', walk.reading);
    if (isObject(overrides)) checkOverridesFieldRules(walk, overrides, [...segments, readFieldKey(config, 'overrides', walk.reading)]);
  }
  return walk.findings;
}

function readMessage(walk: Walk, object: JsonObject, name: MessageName, segments: PathSegments): void {
  const fieldByKey = FIELD_BY_KEY[name];
  for (const key of Object.keys(object)) {
    // The Any's own type, at the root of a typed_config istiod converts; anywhere else no message has it.
    if (key === '@type' && walk.reading === 'istiod' && segments.length === walk.rootDepth) continue;
    const schemaField = fieldByKey.get(key);
    if (schemaField === undefined) {
      unknownField(walk, object, name, key, segments);
      continue;
    }
    const { field, camel, kind, below } = schemaField;
    // `key` is one spelling; written twice when the other one is there too.
    if (camel !== field && Object.hasOwn(object, key === field ? camel : field)) {
      // istiod's jsonpb keeps the lowerCamelCase spelling; in a TypedStruct which one Envoy keeps is not defined
      // (EPP222), and the snake_case one is the one checked further.
      const kept = walk.reading === 'istiod' ? camel : field;
      if (key === field) duplicate(walk, object, field, camel, kept, segments);
      if (key !== kept) continue;
    }
    // null leaves the field unset.
    const value = object[key];
    if (value === null || value === undefined) continue;
    if (below !== undefined && walk.reading === 'envoy') {
      const at = [...segments, key];
      walk.findings.push(...checkOneofsBelow({ value, field: below, label: formatPath(at.slice(walk.rootDepth)), segments: at, location: walk.location, rejectsUpdate: walk.rejectsUpdate, severities: walk.severities }));
    }
    if (kind === 'enum') {
      // ProcessingMode's: processing-mode.ts (EPP201/EPP210)
      if (name !== 'ProcessingMode') readOtherEnum(walk, field, key, value, segments);
      continue;
    }
    readValue(walk, field, key, value, kind, segments);
  }
  if (name === 'GrpcService') checkGrpcTarget(walk, object, segments);
  if (name === 'GoogleGrpc' || name === 'HttpService') checkRequiredFields(walk, object, REQUIRED_IN[name], segments);
  if (name === 'HttpService') checkHeadersToAdd(walk, object, segments);
  if (name === 'HttpUri') checkHttpUri(walk, object, segments);
}

/** The path of field `key` of the object at `segments`, for a finding: written out only when there is one. */
function fieldAt(walk: Walk, segments: PathSegments, key: string): { location: string; path: string } {
  return { location: walk.location, path: formatPath([...segments, key]) };
}

function refuse(walk: Walk, segments: PathSegments, key: string | number, value: unknown, expected: string, label: string = String(key)): void {
  walk.findings.push(
    finding('EPP214', walk.severities, { location: walk.location, path: formatPath([...segments, key]) }, `ext_proc ${label} is ${describe(value)}: ${ISTIO_REFUSES} (it takes ${expected})`, `write ${label} as ${expected}`),
  );
}

/** The enums outside ProcessingMode, by field: their value names, indexed by number. */
const OTHER_ENUMS: Record<string, readonly string[]> = { route_cache_action: ['DEFAULT', 'CLEAR', 'RETAIN'] };

/** An enum outside ProcessingMode as istiod reads it (a number no value has, Envoy takes: these enums are open). */
function readOtherEnum(walk: Walk, field: string, key: string, value: unknown, segments: PathSegments): void {
  const names = OTHER_ENUMS[field];
  if (names === undefined) return;
  const listed = `one of ${names.map((name, i) => `${name} (${i})`).join(', ')}`;
  if (walk.reading === 'istiod') {
    if (readEnum(value, names).kind === 'refused-by-istio') refuse(walk, segments, key, value, listed);
    return;
  }
  // Envoy's reader: a name in any case, or an int32 (one no value has too: the enum is open).
  const read = readEnum(value, names, 'envoy');
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (read.kind === 'name' || (typeof number === 'number' && Number.isInteger(number) && Math.abs(number) <= 2 ** 31 - (number < 0 ? 0 : 1))) return;
  walk.findings.push(
    finding('EPP221', walk.severities, fieldAt(walk, segments, key), `ext_proc ${key} is ${describe(value)} in a TypedStruct: Envoy converts the value itself, reads only a name (${names.join(', ')}) or a number there and ${walk.rejectsUpdate}`, `write ${key} as ${listed}`),
  );
}

/** Field `key` (proto field `field`) of the object at `segments`. */
function readValue(walk: Walk, field: string, key: string, value: unknown, kind: Exclude<FieldKind, 'enum'>, segments: PathSegments): void {
  if (kind.startsWith('message:') || kind === 'object') {
    if (!isObject(value)) {
      // processing_mode's own shape is EPP307 (check-processing-mode.ts), status_on_error's checkStatusOnError's
      if (field === 'status_on_error') return;
      if (walk.reading === 'envoy') {
        walk.findings.push(
          finding('EPP221', walk.severities, fieldAt(walk, segments, key), `ext_proc ${key} is ${describe(value)} in a TypedStruct: istiod passes it on unconverted, and Envoy reads only an object there and ${walk.rejectsUpdate}`, `write ${key} as ${EXPECTED.message}`),
        );
      } else if (field !== 'processing_mode') refuse(walk, segments, key, value, EXPECTED.message);
      return;
    }
    if (kind !== 'object') readMessage(walk, value, kind.slice('message:'.length) as MessageName, [...segments, key]);
    return;
  }
  if (walk.reading === 'envoy') {
    // Envoy's own JSON reader, which takes "true" for a bool and an object for a Duration (asked of Envoy 1.40).
    const wrong = envoyRefuses(kind, value);
    if (wrong !== undefined) {
      const [at, label, expected] = wrong.index === undefined ? [segments, key, wrong.expected] : [[...segments, key], `${key}[${wrong.index}]`, wrong.expected];
      walk.findings.push(
        finding('EPP221', walk.severities, { location: walk.location, path: formatPath([...at, wrong.index ?? key]) }, `ext_proc ${label} is ${describe(wrong.value)} in a TypedStruct: Envoy converts the value itself, reads only ${expected} there and ${walk.rejectsUpdate}`, `write ${label} as ${expected}`),
      );
      return;
    }
    if (kind !== 'duration' || isObject(value)) return;
    const nanos = typeof value === 'string' ? secondsToNanos(value) : undefined;
    if (nanos === undefined || nanos > MAX_DURATION_NANOS || nanos < -MAX_DURATION_NANOS) {
      walk.findings.push(
        finding('EPP221', walk.severities, fieldAt(walk, segments, key), `ext_proc ${key} ${quoteValue(value)} in a TypedStruct: Envoy reads durations only in seconds with at most nine decimals ("0.2s"), up to 315576000000s, and ${walk.rejectsUpdate}`, `write ${key} in seconds, e.g. "0.2s"`),
      );
      return;
    }
  } else {
    const refused = istiodRefuses(kind, value);
    if (refused !== undefined) {
      if (refused.index === undefined) return refuse(walk, segments, key, refused.value, refused.expected);
      return refuse(walk, [...segments, key], refused.index, refused.value, refused.expected, `${key}[${refused.index}]`);
    }
  }
  if (kind !== 'duration') return;
  const nanos = typeof value === 'string' ? (walk.reading === 'envoy' ? secondsToNanos(value) : parseGoDuration(value)) : undefined;
  if (nanos === undefined) return;
  if (nanos < 0n) {
    walk.findings.push(
      finding('EPP215', walk.severities, fieldAt(walk, segments, key), `ext_proc ${key} ${quoteValue(value)} is negative: Istio accepts it and Envoy ${walk.rejectsUpdate}`, `write a duration of 0s or more for ${key}`),
    );
  } else if (AT_MOST_ONE_HOUR.has(field) && nanos > ONE_HOUR_NANOS) {
    walk.findings.push(
      finding('EPP215', walk.severities, fieldAt(walk, segments, key), `ext_proc ${key} ${quoteValue(value)} is above Envoy's limit of 1h: Istio accepts it and Envoy ${walk.rejectsUpdate}`, `set ${key} between 0s and 3600s`),
    );
  }
}

function unknownField(walk: Walk, object: JsonObject, message: MessageName, key: string, segments: PathSegments): void {
  const fields = Object.keys(EXT_PROC_SCHEMA[message].fields);
  const written = (field: string) => isSet(object, field);
  // A field written already is no rename target (the manifest would hold it twice): the fix then says to remove the key.
  // Not the nearest field left unwritten instead: a second copy of message_timeout is no max_message_timeout, nor one of
  // response_trailer_mode a response_header_mode (req/resp are read as request/response by closestName itself).
  const guess = closestName(key, fields);
  const guessSet = guess !== undefined && written(guess);
  const outcome =
    guess !== undefined && !guessSet && isModeField(guess)
      ? `${guess} stays ${defaultFor(guess)}`
      : guess !== undefined && !guessSet
        ? `${guess} stays unset`
        : 'Envoy never sees it';
  const didYouMean = guess ? ` (did you mean ${guess}?)` : '';
  const fix = guess && guessSet ? `remove ${key} (${guess} is written already)` : guess ? `rename ${key} to ${guess}` : `remove ${key}; the fields of ${message} are ${fields.join(', ')}`;
  const at = { location: walk.location, path: formatPath([...segments, key]) };
  walk.findings.push(
    walk.reading === 'envoy'
      ? finding('EPP221', walk.severities, at, `ext_proc ${key} is not a field of ${message}${didYouMean}: in a TypedStruct Envoy converts the value itself, refuses unknown fields, and so it ${walk.rejectsUpdate}`, fix)
      : finding('EPP213', walk.severities, at, `ext_proc ${key} is not a field of ${message}${didYouMean}: Istio drops it with only a warning at kubectl apply, so ${outcome}`, fix),
  );
}

function duplicate(walk: Walk, object: JsonObject, snake: string, camel: string, kept: string, segments: PathSegments): void {
  if (JSON.stringify(object[snake]) === JSON.stringify(object[camel])) return;
  const dropped = kept === camel ? snake : camel;
  const at = { location: walk.location, path: formatPath([...segments, snake]) };
  if (walk.reading === 'envoy') {
    walk.findings.push(
      finding(
        'EPP222',
        walk.severities,
        at,
        `ext_proc sets both ${snake} ${quoteValue(object[snake])} and ${camel} ${quoteValue(object[camel])} in a TypedStruct: Envoy converts it itself and which one it keeps is not defined (the Struct is a map), so what runs cannot be known`,
        `write the field once (${snake}) with the value you mean`,
      ),
    );
    return;
  }
  walk.findings.push(
    finding(
      'EPP212',
      walk.severities,
      at,
      // Asked of istiod's conversion by the differential (processing_mode fields) and measured on the data plane
      // (test/dataplane/measured-symptoms.json EPP212-snake-and-camel: mode, message_timeout, failure_mode_allow).
      `ext_proc sets both ${snake} ${quoteValue(object[snake])} and ${camel} ${quoteValue(object[camel])}: Istio keeps ${kept} and drops ${dropped}, so Envoy runs ${quoteValue(object[kept])}`,
      `write the field once (${camel} or ${snake}) with the value you mean`,
    ),
  );
}

/** protobuf's Duration range: ±10,000 years. */
const MAX_DURATION_NANOS = 315_576_000_000n * 1_000_000_000n;

/** Envoy's own JSON duration: seconds with an `s`, up to nine decimals. */
function secondsToNanos(text: string): bigint | undefined {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (m === null) return undefined;
  const nanos = BigInt(m[2]) * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0') || '0');
  return m[1] === '-' ? -nanos : nanos;
}

/** Unset or empty; a value of the wrong type is EPP214's, not a missing one. */
const missingOrEmpty = (object: JsonObject, field: string) => {
  const value = envoyField(object, field);
  return value === undefined || value === null || value === '';
};

/**
 * GrpcService: Envoy requires envoy_grpc (with cluster_name) or google_grpc (with target_uri and stat_prefix). In a
 * MERGE the target (and envoy_grpc's cluster_name) may be left to the filter it merges into: istiod's proto merge
 * keeps them (measured with istiod's own InferencePool filter: test/oracle/corpus/merge-families.ts).
 */
function checkGrpcTarget(walk: Walk, grpc: JsonObject, segments: PathSegments): void {
  const at = (path: PathSegments) => ({ location: walk.location, path: formatPath(path) });
  let envoyGrpc = envoyField(grpc, 'envoy_grpc');
  let googleGrpc = envoyField(grpc, 'google_grpc');
  if (!isObject(envoyGrpc) && !isObject(googleGrpc)) {
    if (walk.partial) return;
    walk.findings.push(
      finding(
        'EPP216',
        walk.severities,
        at(segments),
        `ext_proc grpc_service names no server (neither envoy_grpc nor google_grpc): Istio accepts it and Envoy ${walk.rejectsUpdate}`,
        'write grpc_service: {envoy_grpc: {cluster_name: <EPP cluster>}}',
      ),
    );
    return;
  }
  if (isObject(googleGrpc) && isObject(envoyGrpc)) {
    // One oneof: Envoy's own conversion of a TypedStruct refuses the second.
    if (walk.reading === 'envoy') {
      walk.findings.push(
        finding(
          'EPP221',
          walk.severities,
          at(segments),
          `ext_proc grpc_service sets both envoy_grpc and google_grpc in a TypedStruct: they are one oneof, and Envoy, converting the value itself, refuses the second and ${walk.rejectsUpdate}`,
          'keep one of the two: envoy_grpc with the EPP cluster',
        ),
      );
      return;
    }
    // istiod keeps one and Envoy gets it alone.
    if (keptGrpcTarget(grpc) === 'google_grpc') envoyGrpc = undefined;
    else googleGrpc = undefined;
  }
  const authority = isObject(envoyGrpc) ? envoyField(envoyGrpc, 'authority') : undefined;
  if (typeof authority === 'string' && /[\0\n\r]/.test(authority)) {
    walk.findings.push(
      finding('EPP216', walk.severities, at([...segments, 'envoy_grpc', 'authority']), `ext_proc grpc_service.envoy_grpc.authority holds a NUL, CR or LF, which Envoy's rule for header values forbids: Istio accepts it and Envoy ${walk.rejectsUpdate}`, 'write the authority as a plain host name, or remove it'),
    );
  }
  const metadata = readField(grpc, 'initial_metadata', walk.reading);
  if (metadata !== undefined && metadata !== null) checkHeaderValues(walk, metadata, [...segments, readFieldKey(grpc, 'initial_metadata', walk.reading)], 'grpc_service.initial_metadata');
  if (isObject(envoyGrpc) && missingOrEmpty(envoyGrpc, 'cluster_name') && !walk.partial) {
    walk.findings.push(
      finding('EPP216', walk.severities, at([...segments, 'envoy_grpc']), `ext_proc grpc_service.envoy_grpc has no cluster_name: Istio accepts it and Envoy ${walk.rejectsUpdate}`, 'set envoy_grpc.cluster_name to the EPP cluster'),
    );
  }
  if (isObject(googleGrpc)) {
    const missing = ['target_uri', 'stat_prefix'].filter((f) => missingOrEmpty(googleGrpc, f));
    if (missing.length > 0) {
      walk.findings.push(
        finding(
          'EPP216',
          walk.severities,
          at([...segments, 'google_grpc']),
          `ext_proc grpc_service.google_grpc has no ${missing.join(' and no ')}: Istio accepts it and Envoy ${walk.rejectsUpdate}`,
          `set google_grpc.${missing.join(' and google_grpc.')}, or use envoy_grpc with the EPP cluster`,
        ),
      );
    }
  }
}

/** What Envoy's proto rules require of the messages in these GoogleGrpc and HttpService fields (asked of Envoy 1.40). */
const REQUIRED_IN: Record<'GoogleGrpc' | 'HttpService', Record<string, Requirement>> = {
  GoogleGrpc: {
    channel_credentials: { oneOf: ['ssl_credentials', 'google_default', 'local_credentials'], single: true },
    call_credentials: { oneOf: ['access_token', 'google_compute_engine', 'google_refresh_token', 'service_account_jwt_access', 'google_iam', 'from_plugin', 'sts_service'] },
  },
  HttpService: {
    request_headers_to_add: { all: ['header'] },
    formatters: { all: ['name', 'typed_config'] },
  },
};

function checkRequiredFields(walk: Walk, object: JsonObject, requirements: Readonly<Record<string, Requirement>>, segments: PathSegments): void {
  for (const { key, index, lacking, wanted, needs } of missingRequired(object, requirements, walk.reading === 'envoy')) {
    const label = index === undefined ? key : `${key}[${index}]`;
    walk.findings.push(
      finding(
        'EPP216',
        walk.severities,
        { location: walk.location, path: formatPath(index === undefined ? [...segments, key] : [...segments, key, index]) },
        `ext_proc ${label} sets ${lacking}: Envoy requires ${needs}; Istio accepts it and Envoy ${walk.rejectsUpdate}`,
        `write ${label} with ${wanted}, or remove it`,
      ),
    );
  }
}

/** HttpService.request_headers_to_add: each entry's header is a HeaderValue, under the same rules as gRPC metadata. */
function checkHeadersToAdd(walk: Walk, service: JsonObject, segments: PathSegments): void {
  const headers = fieldOf(walk, service, 'request_headers_to_add');
  if (headers === undefined) return;
  for (const { entry, at } of entriesOf(walk, headers.value)) {
    const header = isObject(entry) ? fieldOf(walk, entry, 'header') : undefined;
    if (header !== undefined) checkHeaderValue(walk, header.value, [...segments, headers.key, ...at, header.key], `${entryLabel(headers.key, at)}.${header.key}`);
  }
}

/** HttpUri: Envoy requires uri, cluster and timeout. */
function checkHttpUri(walk: Walk, uri: JsonObject, segments: PathSegments): void {
  const missing = ['uri', 'cluster'].filter((f) => missingOrEmpty(uri, f));
  if (!isSet(uri, 'timeout')) missing.push('timeout');
  if (missing.length === 0) return;
  walk.findings.push(
    finding(
      'EPP216',
      walk.severities,
      { location: walk.location, path: formatPath(segments) },
      `ext_proc http_service.http_uri has no ${missing.join(', no ')}: Istio accepts it and Envoy ${walk.rejectsUpdate}`,
      `set http_uri.${missing.join(', http_uri.')}`,
    ),
  );
}

/** Envoy (ext_proc config.cc): with http_service, no body is sent and no trailer mode is SEND. */
function checkHttpServiceModes(walk: Walk, config: JsonObject, segments: PathSegments): void {
  if (!isSet(config, 'http_service') || isSet(config, 'grpc_service')) return;
  const mode = readField(config, 'processing_mode', walk.reading);
  if (!isObject(mode)) return;
  // Read as the mode checks read it (names, numbers, a TypedStruct's any-case names); a value no mode has is EPP201/EPP210.
  const { mode: effective, explicit } = readProcessingMode(mode, walk.reading);
  const sending = [...explicit].filter((field) => (field.endsWith('_body_mode') ? effective[field] !== 'NONE' : field.endsWith('_trailer_mode') && effective[field] === 'SEND'));
  if (sending.length === 0) return;
  walk.findings.push(
    finding(
      'EPP218',
      walk.severities,
      { location: walk.location, path: formatPath([...segments, 'processing_mode']) },
      `ext_proc with http_service sets ${sending.join(', ')}: Envoy sends neither bodies nor trailers to an HTTP service; Istio accepts it and Envoy ${walk.rejectsUpdate}`,
      'use grpc_service (the EPP speaks gRPC on port 9002), or keep body modes NONE and trailer modes SKIP',
    ),
  );
}

/**
 * Envoy's filter (ext_proc config) refuses disable_clear_route_cache: true beside a route_cache_action other than DEFAULT
 * ("can not be set to none-default at the same time"), typed or in a TypedStruct; the proto declares the two outside any
 * oneof, so istiod passes both on. A value istiod refuses or Envoy cannot read is not judged here.
 */
function checkRouteCacheChoice(walk: Walk, config: JsonObject, segments: PathSegments): void {
  if (readBool(config, 'disable_clear_route_cache', walk.reading) !== true) return;
  const action = readEnum(readField(config, 'route_cache_action', walk.reading), OTHER_ENUMS.route_cache_action, walk.reading);
  if (action.kind !== 'name' || action.name === 'DEFAULT') return;
  const key = readFieldKey(config, 'route_cache_action', walk.reading);
  walk.findings.push(
    finding(
      'EPP316',
      walk.severities,
      { location: walk.location, path: formatPath([...segments, key]) },
      `ext_proc sets both disable_clear_route_cache: true and route_cache_action ${action.name}: Envoy's filter takes one of the two only and refuses them together; Istio accepts it and Envoy ${walk.rejectsUpdate}`,
      `remove disable_clear_route_cache (deprecated) and keep route_cache_action ${action.name}, or set route_cache_action: DEFAULT`,
    ),
  );
}

/** ExtProcPerRoute: Envoy requires overrides, or disabled: true. */
function checkPerRouteChoice(walk: Walk, perRoute: JsonObject, segments: PathSegments): void {
  if (isSet(perRoute, 'overrides')) {
    // One oneof: istiod's jsonpb keeps overrides (EPP230 reads it so); Envoy's own conversion refuses the second member.
    if (walk.reading === 'envoy' && isSet(perRoute, 'disabled')) {
      walk.findings.push(
        finding(
          'EPP221',
          walk.severities,
          { location: walk.location, path: formatPath([...segments, 'disabled']) },
          `ExtProcPerRoute sets both disabled ${quoteValue(envoyField(perRoute, 'disabled'))} and overrides in a TypedStruct: they are one oneof, and Envoy, converting the value itself, refuses the second and ${walk.rejectsUpdate}`,
          'keep one of the two: overrides to change ext_proc on these routes, or disabled: true to turn it off there',
        ),
      );
    }
    return;
  }
  const disabled = readBool(perRoute, 'disabled', walk.reading);
  if (disabled === true || (disabled === undefined && isSet(perRoute, 'disabled'))) return; // not a bool: EPP214
  walk.findings.push(
    finding(
      'EPP217',
      walk.severities,
      { location: walk.location, path: formatPath(disabled === false ? [...segments, 'disabled'] : segments) },
      disabled === false
        ? `ExtProcPerRoute disabled: false: Envoy accepts only disabled: true (write overrides to change the filter per route); Istio accepts it and Envoy ${walk.rejectsUpdate}`
        : `ExtProcPerRoute sets neither overrides nor disabled: Istio accepts it and Envoy ${walk.rejectsUpdate}`,
      'write overrides: {processing_mode: {...}} to change ext_proc on these routes, or disabled: true to turn it off there',
    ),
  );
}

/** envoy.type.v3.StatusCode, indexed by number (holes undefined); Envoy refuses 0, Empty. */
const STATUS_CODES: (string | undefined)[] = [];
for (const entry of (
  '0:Empty 100:Continue 200:OK 201:Created 202:Accepted 203:NonAuthoritativeInformation 204:NoContent 205:ResetContent 206:PartialContent 207:MultiStatus ' +
  '208:AlreadyReported 226:IMUsed 300:MultipleChoices 301:MovedPermanently 302:Found 303:SeeOther 304:NotModified 305:UseProxy 307:TemporaryRedirect ' +
  '308:PermanentRedirect 400:BadRequest 401:Unauthorized 402:PaymentRequired 403:Forbidden 404:NotFound 405:MethodNotAllowed 406:NotAcceptable ' +
  '407:ProxyAuthenticationRequired 408:RequestTimeout 409:Conflict 410:Gone 411:LengthRequired 412:PreconditionFailed 413:PayloadTooLarge 414:URITooLong ' +
  '415:UnsupportedMediaType 416:RangeNotSatisfiable 417:ExpectationFailed 421:MisdirectedRequest 422:UnprocessableEntity 423:Locked 424:FailedDependency ' +
  '426:UpgradeRequired 428:PreconditionRequired 429:TooManyRequests 431:RequestHeaderFieldsTooLarge 500:InternalServerError 501:NotImplemented ' +
  '502:BadGateway 503:ServiceUnavailable 504:GatewayTimeout 505:HTTPVersionNotSupported 506:VariantAlsoNegotiates 507:InsufficientStorage 508:LoopDetected ' +
  '510:NotExtended 511:NetworkAuthenticationRequired'
).split(' ')) {
  const [number, name] = entry.split(':');
  STATUS_CODES[Number(number)] = name;
}
const STRING_MATCHES = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex', 'custom'];

/** EPP225: a field outside the ones walked above that Envoy's proto rules, or its loading of the filter, refuse. */
function rejects(walk: Walk, path: PathSegments, message: string, fix: string): void {
  walk.findings.push(finding('EPP225', walk.severities, { location: walk.location, path: formatPath(path) }, `${message}; Istio accepts it and Envoy ${walk.rejectsUpdate}`, fix));
}

/**
 * The entries of a list field as the walk's reader takes them, each with its path below the field: istiod a list only
 * (anything else is EPP214's); Envoy's own reader a list, lists inside it, and a lone value as the one entry (asked of
 * Envoy 1.40). null stays null: each caller reads it as its empty entry ("" or {}).
 */
function entriesOf(walk: Walk, value: unknown): { entry: unknown; at: PathSegments }[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) return walk.reading === 'envoy' ? [{ entry: value, at: [] }] : [];
  const out: { entry: unknown; at: PathSegments }[] = [];
  const walkList = (list: unknown[], at: PathSegments) => {
    for (const [i, entry] of list.entries()) {
      if (Array.isArray(entry) && walk.reading === 'envoy') walkList(entry, [...at, i]);
      else out.push({ entry, at: [...at, i] });
    }
  };
  walkList(value, []);
  return out;
}

/** `key` followed by an entry's path below it, as a label: `request_attributes[1]`. */
const entryLabel = (key: string, at: PathSegments) => `${key}${at.map((i) => `[${String(i)}]`).join('')}`;

/** The field `field` of `object` as the walk reads it, with its key; undefined when unset (null included). */
function fieldOf(walk: Walk, object: JsonObject, field: string): { key: string; value: unknown } | undefined {
  const value = readField(object, field, walk.reading);
  return value === undefined || value === null ? undefined : { key: readFieldKey(object, field, walk.reading), value };
}

/**
 * What Envoy checks on an ExternalProcessor's other fields, each read only where written: status_on_error's code,
 * forward_rules' and mutation_rules' matchers, the attributes it parses as CEL when it loads the filter, the modes of
 * allowed_override_modes and the extensions it is given (all asked of Envoy 1.40 by the differential corpus,
 * test/oracle/corpus/pgv-families.ts).
 */
function checkFilterFieldRules(walk: Walk, config: JsonObject, segments: PathSegments): void {
  const status = fieldOf(walk, config, 'status_on_error');
  if (status !== undefined) checkStatusOnError(walk, status.key, status.value, segments);

  const rules = fieldOf(walk, config, 'forward_rules');
  if (rules !== undefined && isObject(rules.value)) {
    for (const list of ['allowed_headers', 'disallowed_headers']) {
      const matcher = fieldOf(walk, rules.value, list);
      if (matcher === undefined || !isObject(matcher.value)) continue;
      const at = [...segments, rules.key, matcher.key];
      const label = `${rules.key}.${matcher.key}`;
      const patterns = fieldOf(walk, matcher.value, 'patterns');
      if (patterns === undefined || (Array.isArray(patterns.value) && patterns.value.length === 0)) {
        rejects(walk, at, `ext_proc ${label} has no patterns: Envoy requires at least one`, `list the headers in ${label}.patterns (e.g. {exact: x-gateway-model-name}), or remove ${matcher.key}`);
        continue;
      }
      for (const { entry, at: below } of entriesOf(walk, patterns.value)) {
        // null in the list is an empty pattern.
        const pattern = entry === null ? {} : entry;
        if (isObject(pattern)) checkStringMatcher(walk, pattern, [...at, patterns.key, ...below], `${label}.${entryLabel(patterns.key, below)}`);
      }
    }
  }

  const mutation = fieldOf(walk, config, 'mutation_rules');
  if (mutation !== undefined && isObject(mutation.value)) {
    for (const field of ['allow_expression', 'disallow_expression']) {
      const matcher = fieldOf(walk, mutation.value, field);
      if (matcher !== undefined && isObject(matcher.value)) checkRegexMatcher(walk, matcher.value, [...segments, mutation.key, matcher.key], `${mutation.key}.${matcher.key}`);
    }
  }

  // Envoy parses these as CEL when it loads the filter (an ExtProcOverrides' are parsed per request, not at load).
  for (const field of ['request_attributes', 'response_attributes']) {
    const attributes = fieldOf(walk, config, field);
    if (attributes === undefined) continue;
    for (const { entry: written, at } of entriesOf(walk, attributes.value)) {
      // istiod and Envoy read null in the list as "".
      const attribute = written === null ? '' : written;
      if (typeof attribute !== 'string') continue;
      const error = celSyntaxError(attribute);
      if (error === undefined) continue;
      rejects(
        walk,
        [...segments, attributes.key, ...at],
        `ext_proc ${entryLabel(attributes.key, at)} ${JSON.stringify(written)}${written === null ? ' (read as "")' : ''} is not a CEL expression Envoy can build (${error}): Envoy parses each attribute as CEL when it loads the filter and fails`,
        `write the attribute as Envoy names it (request.path, request.headers['x-name'], source.address), calling only functions Envoy's CEL has (size, contains, startsWith, endsWith, matches, int, uint, double, bytes, bool, timestamp, duration, dyn, type, the get… time parts, re.extract, re.capture, re.captureN), or remove it`,
      );
    }
  }

  const overrideModes = fieldOf(walk, config, 'allowed_override_modes');
  if (overrideModes !== undefined) {
    for (const { entry: mode, at: below } of entriesOf(walk, overrideModes.value)) {
      if (!isObject(mode)) continue;
      for (const bad of readProcessingMode(mode, walk.reading).invalid) {
        if (bad.refusedBy === 'unknowable') continue;
        const at = { location: walk.location, path: formatPath([...segments, overrideModes.key, ...below, bad.key]) };
        const names = bad.allowed.map((name, number) => `${name} (${number})`).join(', ');
        const label = `${entryLabel(overrideModes.key, below)}.${bad.key}`;
        walk.findings.push(
          bad.refusedBy === 'istio'
            ? finding('EPP201', walk.severities, at, `ext_proc ${label} ${quoteValue(bad.value)}: ${ISTIO_REFUSES}: it takes a mode's exact upper-case name or its number, ${names}`, `write one of ${bad.allowed.join(', ')}`)
            : finding('EPP210', walk.severities, at, `ext_proc ${label} ${quoteValue(bad.value)}: no mode has this (${names}); Istio accepts it and Envoy ${walk.rejectsUpdate}`, `write one of ${bad.allowed.join(', ')}`),
        );
      }
    }
  }

  for (const field of ['processing_request_modifier', 'on_processing_response']) checkExtension(walk, config, field, segments);
}

/** ExtProcOverrides: the gRPC metadata and extension Envoy checks when it loads the route's config. */
function checkOverridesFieldRules(walk: Walk, overrides: JsonObject, segments: PathSegments): void {
  const metadata = fieldOf(walk, overrides, 'grpc_initial_metadata');
  if (metadata !== undefined) checkHeaderValues(walk, metadata.value, [...segments, metadata.key], metadata.key);
  checkExtension(walk, overrides, 'processing_request_modifier', segments);
}

function checkStatusOnError(walk: Walk, key: string, status: unknown, segments: PathSegments): void {
  const fix = `set ${key}: {code: 503}, or remove ${key}`;
  if (!isObject(status)) {
    if (walk.reading === 'istiod') walk.findings.push(finding('EPP214', walk.severities, fieldAt(walk, segments, key), `ext_proc ${key} is ${describe(status)}: ${ISTIO_REFUSES} (it takes ${EXPECTED.message})`, fix));
    else rejects(walk, [...segments, key], `ext_proc ${key} is ${describe(status)} in a TypedStruct: Envoy reads only an object there`, fix);
    return;
  }
  const code = fieldOf(walk, status, 'code');
  const read = readEnum(code?.value, STATUS_CODES, walk.reading);
  if (read.kind === 'refused-by-istio') {
    const codeKey = code?.key ?? 'code';
    walk.findings.push(
      finding(
        'EPP214',
        walk.severities,
        fieldAt(walk, [...segments, key], codeKey),
        `ext_proc ${key}.${codeKey} ${quoteValue(code?.value)}: ${ISTIO_REFUSES}: it takes the number of an HTTP status Envoy defines (503) or its exact name (ServiceUnavailable)`,
        fix,
      ),
    );
  } else if (read.kind === 'unset') {
    rejects(walk, [...segments, key], `ext_proc ${key} has no code: Envoy requires an HTTP status code, and not 0`, fix);
  } else if (read.kind === 'rejected-by-envoy' || read.name === 'Empty') {
    const what = read.kind === 'name' ? 'is 0 (Empty), which Envoy refuses' : 'is no HTTP status Envoy defines';
    rejects(walk, [...segments, key, code?.key ?? 'code'], `ext_proc ${key}.${code?.key ?? 'code'} ${quoteValue(code?.value)} ${what}`, fix);
  }
}

/** envoy.type.matcher.v3.StringMatcher: one match, and prefix, suffix, contains not empty. */
function checkStringMatcher(walk: Walk, pattern: JsonObject, path: PathSegments, label: string): void {
  const written = STRING_MATCHES.flatMap((field) => fieldOf(walk, pattern, field) ?? []);
  if (written.length === 0) {
    rejects(walk, path, `ext_proc ${label} names no match (exact, prefix, suffix, contains, safe_regex or custom): Envoy requires one`, 'write the pattern as {exact: <header name>} or {prefix: <start of the names>}');
    return;
  }
  for (const { key, value } of written) {
    const message = key === 'safe_regex' || key === 'safeRegex' || key === 'custom';
    if (message && !isObject(value)) {
      // A RegexMatcher or an extension written as a scalar: the reader refuses it before any rule of Envoy's applies.
      const fix = 'write the pattern as {exact: <header name>} or {prefix: <start of the names>}';
      if (walk.reading === 'istiod') walk.findings.push(finding('EPP214', walk.severities, { location: walk.location, path: formatPath(path) }, `ext_proc ${label}.${key} is ${describe(value)}: ${ISTIO_REFUSES} (it takes an object)`, fix));
      else rejects(walk, path, `ext_proc ${label}.${key} is ${describe(value)} in a TypedStruct: Envoy reads only an object there`, fix);
    } else if (value === '' && !message && key !== 'exact') {
      rejects(walk, [...path, key], `ext_proc ${label}.${key} is empty: Envoy requires at least one character`, `write at least one character in ${key}`);
    } else if (isObject(value) && (key === 'safe_regex' || key === 'safeRegex')) {
      checkRegexMatcher(walk, value, [...path, key], `${label}.${key}`);
    }
  }
}

/** envoy.type.matcher.v3.RegexMatcher: a regex of at least one character (its RE2 syntax is EPP226's). */
function checkRegexMatcher(walk: Walk, matcher: JsonObject, path: PathSegments, label: string): void {
  const regex = fieldOf(walk, matcher, 'regex');
  if (regex !== undefined && regex.value !== '') return;
  rejects(walk, regex === undefined ? path : [...path, regex.key], `ext_proc ${label} has ${regex === undefined ? 'no regex' : 'an empty regex'}: Envoy requires one of at least one character`, 'write a regex of at least one character (RE2 syntax)');
}

/** A TypedExtensionConfig: Envoy requires a name and a typed_config. */
function checkExtension(walk: Walk, object: JsonObject, field: string, segments: PathSegments): void {
  const extension = fieldOf(walk, object, field);
  if (extension === undefined || !isObject(extension.value)) return;
  const missing = [...(missingOrEmpty(extension.value, 'name') ? ['name'] : []), ...(isSet(extension.value, 'typed_config') ? [] : ['typed_config'])];
  if (missing.length === 0) return;
  rejects(walk, [...segments, extension.key], `ext_proc ${extension.key} has no ${missing.join(' and no ')}: Envoy requires both to load the extension`, `remove ${extension.key}, or give it a name and a typed_config`);
}

/** HeaderValues of gRPC metadata: a key of at least one character; key and value without NUL, CR or LF. */
function checkHeaderValues(walk: Walk, list: unknown, path: PathSegments, label: string): void {
  for (const { entry, at } of entriesOf(walk, list)) checkHeaderValue(walk, entry, [...path, ...at], entryLabel(label, at));
}

/** One HeaderValue (null is an empty one). */
function checkHeaderValue(walk: Walk, written: unknown, path: PathSegments, label: string): void {
  const header = written === null ? {} : written;
  if (!isObject(header)) return;
  const key = fieldOf(walk, header, 'key');
  const value = fieldOf(walk, header, 'value');
  const at = { location: walk.location, path: formatPath(path) };
  const fix = 'give each entry a key (a lower-case header name, e.g. x-epp) and a value on one line';
  if (key === undefined || key.value === '') {
    walk.findings.push(finding('EPP216', walk.severities, at, `ext_proc ${label} has no key: Envoy requires one; Istio accepts it and Envoy ${walk.rejectsUpdate}`, fix));
  } else if ([key, value].some((field) => typeof field?.value === 'string' && /[\0\n\r]/.test(field.value))) {
    walk.findings.push(finding('EPP216', walk.severities, at, `ext_proc ${label} holds a NUL, CR or LF in its key or value, which Envoy's rule for headers forbids; Istio accepts it and Envoy ${walk.rejectsUpdate}`, fix));
  }
}
