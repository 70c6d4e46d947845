import type { PathSegments } from '../json-path.ts';
import { readUint32, UINT32_MAX } from './proto-uint32.ts';
import { describe, envoyField, envoyFieldKey, isObject, quoteValue, type JsonObject } from '../json-value.ts';
import { parseGoDuration } from './go-duration.ts';

const INT32_MAX = 2_147_483_647;
/** envoy.config.core.v3.Http2ProtocolOptions' proto rules on its numbers (UInt32Value): [field, least, most]. */
const RANGES: [string, number, number][] = [
  ['hpack_table_size', 0, UINT32_MAX],
  ['max_concurrent_streams', 1, INT32_MAX],
  ['initial_stream_window_size', 65535, INT32_MAX],
  ['initial_connection_window_size', 65535, INT32_MAX],
  ['max_outbound_frames', 1, UINT32_MAX],
  ['max_outbound_control_frames', 1, UINT32_MAX],
  ['max_consecutive_inbound_frames_with_empty_payload', 0, UINT32_MAX],
  ['max_inbound_priority_frames_per_stream', 0, UINT32_MAX],
  ['max_inbound_window_update_frames_per_data_frame_sent', 1, UINT32_MAX],
  ['max_header_field_size_kb', 64, 256],
];
/** HTTP/2 SETTINGS identifiers Envoy sets from a named field, which a custom parameter may not set too. */
const NAMED_SETTINGS = new Map([
  [1, 'hpack_table_size'],
  [3, 'max_concurrent_streams'],
  [4, 'initial_stream_window_size'],
]);
const ONE_MS = 1_000_000n;

export interface Http2Problem {
  /** `istiod`: istiod refuses the value at kubectl apply; `envoy`: Envoy rejects the cluster. */
  by: 'istiod' | 'envoy';
  segments: PathSegments;
  message: string;
  fix: string;
}

/**
 * What Envoy refuses in an Http2ProtocolOptions (the cluster's own http2_protocol_options, or the one of its
 * HttpProtocolOptions): a number outside its proto rule's range, a keepalive without timeout or below 1ms, a custom
 * SETTINGS parameter without identifier or value, above 65535, enabling server push or CONNECT, setting what a named
 * field sets too, or twice with different values (asked of Envoy 1.40 by the differential corpus). `label` names the
 * options in messages. Values read as istiod reads them (a number, or its decimal string); in a TypedStruct
 * (`envoyReads`) Envoy reads them, and what it cannot read it rejects.
 */
export function http2OptionProblems(options: JsonObject, segments: PathSegments, label: string, envoyReads: boolean): Http2Problem[] {
  const problems: Http2Problem[] = [];
  const unreadable = envoyReads ? ('envoy' as const) : ('istiod' as const);
  const number = (value: unknown) => readUint32(value, unreadable);
  const notANumber = (key: string, value: unknown, at: PathSegments, least: number, most: number, name = `${label}.${key}`) =>
    problems.push({ by: unreadable, segments: at, message: `${name} is ${describe(value)}, not a number from 0 to ${UINT32_MAX}`, fix: `set ${key} between ${least} and ${most}` });

  for (const [field, least, most] of RANGES) {
    const key = envoyFieldKey(options, field);
    const value = options[key];
    if (value === undefined || value === null) continue;
    const n = number(value);
    if (n === 'unsure') continue;
    if (n === 'unreadable') notANumber(key, value, [...segments, key], least, most);
    else if (n < least || n > most) {
      problems.push({
        by: 'envoy',
        segments: [...segments, key],
        message: `${label}.${key} ${quoteValue(value)} is outside the range Envoy allows, ${least} to ${most}`,
        fix: `set ${key} between ${least} and ${most}`,
      });
    }
  }

  const keepaliveKey = envoyFieldKey(options, 'connection_keepalive');
  const keepalive = options[keepaliveKey];
  if (isObject(keepalive)) {
    if (envoyField(keepalive, 'timeout') == null) {
      problems.push({ by: 'envoy', segments: [...segments, keepaliveKey], message: `${label}.${keepaliveKey} has no timeout: Envoy requires one`, fix: `add ${keepaliveKey}.timeout, e.g. 5s, or remove ${keepaliveKey}` });
    }
    for (const field of ['interval', 'timeout', 'connection_idle_interval']) {
      const key = envoyFieldKey(keepalive, field);
      const value = keepalive[key];
      const nanos = typeof value === 'string' ? parseGoDuration(value) : undefined;
      if (nanos !== undefined && nanos < ONE_MS) {
        problems.push({ by: 'envoy', segments: [...segments, keepaliveKey, key], message: `${label}.${keepaliveKey}.${key} ${quoteValue(value)} is below Envoy's least, 1ms`, fix: `set ${key} to 1ms or more, e.g. 5s` });
      }
    }
  }

  const customKey = envoyFieldKey(options, 'custom_settings_parameters');
  const custom = options[customKey];
  if (Array.isArray(custom)) {
    const values = new Map<number, number>();
    for (const [i, parameter] of custom.entries()) {
      if (!isObject(parameter)) continue;
      const at = [...segments, customKey, i];
      const name = `${label}.${customKey}[${i}]`;
      const idValue = envoyField(parameter, 'identifier');
      const valueValue = envoyField(parameter, 'value');
      const missing = [...(idValue == null ? ['identifier'] : []), ...(valueValue == null ? ['value'] : [])];
      if (missing.length > 0) {
        problems.push({ by: 'envoy', segments: at, message: `${name} has no ${missing.join(' and no ')}: Envoy requires both`, fix: 'give the parameter an identifier and a value, or remove it' });
        continue;
      }
      const id = number(idValue);
      const value = number(valueValue);
      if (id === 'unsure' || value === 'unsure') continue;
      if (id === 'unreadable' || value === 'unreadable') {
        if (id === 'unreadable') notANumber('identifier', idValue, [...at, envoyFieldKey(parameter, 'identifier')], 0, 65535, `${name}.identifier`);
        if (value === 'unreadable') notANumber('value', valueValue, [...at, envoyFieldKey(parameter, 'value')], 0, UINT32_MAX, `${name}.value`);
        continue;
      }
      const named = NAMED_SETTINGS.get(id);
      const problem =
        id > 65535
          ? { message: `identifier ${id} is above 65535, the largest Envoy allows`, fix: 'use an identifier from 0 to 65535, or remove the parameter' }
          : id === 2 && value === 1
            ? { message: 'enables server push (identifier 2, ENABLE_PUSH), which Envoy does not support', fix: 'remove the parameter' }
            : id === 8
              ? { message: 'sets ENABLE_CONNECT_PROTOCOL (identifier 8), which Envoy takes only from the named field allow_connect', fix: 'remove the parameter, and set allow_connect instead' }
              : named !== undefined && envoyField(options, named) != null
                ? { message: `sets identifier ${id}, which ${named} sets too: Envoy takes it from one or the other`, fix: `remove the parameter, or ${named}` }
                : values.has(id) && values.get(id) !== value
                  ? { message: `sets identifier ${id} to ${value} where an earlier parameter sets it to ${values.get(id)}`, fix: 'remove the parameter (one value per identifier)' }
                  : undefined;
      values.set(id, values.get(id) ?? value);
      if (problem !== undefined) problems.push({ by: 'envoy', segments: at, message: `${name} ${problem.message}`, fix: problem.fix });
    }
  }
  return problems;
}
