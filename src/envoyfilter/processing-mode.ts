import { camelCase, type JsonObject } from '../json-value.ts';
import { readField, readFieldKey, type Reading } from './field-reading.ts';
import { readEnum } from './proto-enum.ts';

/** HeaderSendMode: request/response headers and trailers. */
const HEADER_MODES = ['DEFAULT', 'SEND', 'SKIP'] as const;
/** BodySendMode. GRPC: Envoy 1.40 loads it (the EPP does not answer GRPC request bodies; response ones pass: measured). */
const BODY_MODES = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED', 'GRPC'] as const;

export type HeaderMode = 'SEND' | 'SKIP';
export type BodyMode = (typeof BODY_MODES)[number];

export const MODE_FIELDS = [
  'request_header_mode',
  'response_header_mode',
  'request_body_mode',
  'response_body_mode',
  'request_trailer_mode',
  'response_trailer_mode',
] as const;
export type ModeField = (typeof MODE_FIELDS)[number];

/** A processing_mode with every field resolved to its effective value (Envoy's defaults where absent). */
export interface EffectiveProcessingMode {
  request_header_mode: HeaderMode;
  response_header_mode: HeaderMode;
  request_body_mode: BodyMode;
  response_body_mode: BodyMode;
  request_trailer_mode: HeaderMode;
  response_trailer_mode: HeaderMode;
}

export interface InvalidModeValue {
  field: ModeField;
  /** The key istiod reads it under (snake_case or lowerCamelCase; see envoyField). */
  key: string;
  value: unknown;
  allowed: readonly string[];
  /**
   * `istio`: istiod's conversion refuses it (not an exact value name, not a JSON integer), so kubectl apply fails;
   * `envoy`: an integer that names no value, which istiod passes on and Envoy rejects (enum defined_only);
   * `unknowable`: in a TypedStruct, written in both spellings with different values: which one Envoy keeps is not
   * defined (the Struct is a map), so the field is not judged.
   */
  refusedBy: 'istio' | 'envoy' | 'unknowable';
}

export interface ProcessingModeRead {
  mode: EffectiveProcessingMode;
  /** Fields set in the config (snake_case names), to tell a deliberate value from a default. */
  explicit: Set<ModeField>;
  invalid: InvalidModeValue[];
}

const isBodyField = (field: ModeField) => field.endsWith('_body_mode');
const isTrailerField = (field: ModeField) => field.endsWith('_trailer_mode');

export const isModeField = (name: string): name is ModeField => (MODE_FIELDS as readonly string[]).includes(name);

/** Envoy's defaults: headers SEND, bodies NONE, trailers SKIP (HeaderSendMode DEFAULT means the same). */
export function defaultFor(field: ModeField): HeaderMode | BodyMode {
  if (isBodyField(field)) return 'NONE';
  return isTrailerField(field) ? 'SKIP' : 'SEND';
}

/** The value that sends the EPP nothing: headers and trailers SKIP, bodies NONE. */
export function silentFor(field: ModeField): HeaderMode | BodyMode {
  return isBodyField(field) ? 'NONE' : 'SKIP';
}

/** What one mode field of a processing_mode holds, as the reader takes it. */
export type ModeFieldRead =
  | { kind: 'unset' }
  /** `name`: the enum value as written (DEFAULT before it reads as the mode it stands for). */
  | { kind: 'mode'; mode: HeaderMode | BodyMode; name: string }
  | { kind: 'invalid'; invalid: InvalidModeValue };

/** Each mode field with its lowerCamelCase spelling and the names its enum has, worked out once. */
const FIELD_SPELLINGS = new Map(MODE_FIELDS.map((field) => [field, { camel: camelCase(field), names: isBodyField(field) ? BODY_MODES : HEADER_MODES }]));

/**
 * Reads one mode field as istiod converts it before Envoy sees it (golang/protobuf jsonpb): the lowerCamelCase key
 * wins over the snake_case one, null means unset, and an enum is its exact upper-case name or a JSON integer. Envoy
 * itself would also take `send` or `"1"`, but istiod refuses them first. With reading `envoy` (a TypedStruct's
 * value) it reads as Envoy does (field-reading.ts). DEFAULT reads as the mode it stands for.
 */
export function readModeField(processingMode: JsonObject, field: ModeField, reading: Reading = 'istiod'): ModeFieldRead {
  const { camel, names } = FIELD_SPELLINGS.get(field)!;
  const value = readField(processingMode, field, reading);
  if (reading === 'envoy' && Object.hasOwn(processingMode, field) && Object.hasOwn(processingMode, camel)) {
    if (JSON.stringify(processingMode[field]) !== JSON.stringify(processingMode[camel])) {
      return { kind: 'invalid', invalid: { field, key: field, value, allowed: names, refusedBy: 'unknowable' } };
    }
  }
  const read = readEnum(value, names, reading);
  if (read.kind === 'unset') return read;
  if (read.kind !== 'name') {
    const key = readFieldKey(processingMode, field, reading);
    return { kind: 'invalid', invalid: { field, key, value, allowed: names, refusedBy: read.kind === 'refused-by-istio' ? 'istio' : 'envoy' } };
  }
  return { kind: 'mode', mode: read.name === 'DEFAULT' ? defaultFor(field) : (read.name as HeaderMode | BodyMode), name: read.name };
}

/** A processing_mode read field by field (readModeField), every field resolved to its effective value. */
export function readProcessingMode(processingMode: JsonObject | undefined, reading: Reading = 'istiod'): ProcessingModeRead {
  const explicit = new Set<ModeField>();
  const invalid: InvalidModeValue[] = [];
  const effective = (field: ModeField): HeaderMode | BodyMode => {
    const read = processingMode === undefined ? undefined : readModeField(processingMode, field, reading);
    if (read?.kind === 'mode') {
      explicit.add(field);
      return read.mode;
    }
    if (read?.kind === 'invalid') invalid.push(read.invalid);
    return defaultFor(field);
  };
  // A literal, so the object has its final shape from the start; `satisfies` keeps it in step with MODE_FIELDS.
  const mode = processingModeOf(effective);
  return { mode, explicit, invalid };
}

/** A processing_mode from the mode of each field. */
export function processingModeOf(modeOf: (field: ModeField) => HeaderMode | BodyMode): EffectiveProcessingMode {
  return {
    request_header_mode: modeOf('request_header_mode'),
    response_header_mode: modeOf('response_header_mode'),
    request_body_mode: modeOf('request_body_mode'),
    response_body_mode: modeOf('response_body_mode'),
    request_trailer_mode: modeOf('request_trailer_mode'),
    response_trailer_mode: modeOf('response_trailer_mode'),
  } satisfies Record<ModeField, HeaderMode | BodyMode> as EffectiveProcessingMode;
}

/** What an EPP needs, as a fix writes it out: FULL_DUPLEX_STREAMED bodies need their trailer modes SEND (EPP203). */
export const EPP_MODE =
  'request_header_mode: SEND, request_body_mode: FULL_DUPLEX_STREAMED, request_trailer_mode: SEND, response_body_mode: FULL_DUPLEX_STREAMED, response_trailer_mode: SEND';
