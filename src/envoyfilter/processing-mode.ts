import { envoyField, envoyFieldKey, type JsonObject } from '../json-value.ts';

/** HeaderSendMode: request/response headers and trailers. */
const HEADER_MODES = ['DEFAULT', 'SEND', 'SKIP'] as const;
/** BodySendMode. GRPC is defined but not implemented by Envoy. */
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
  /** The key as written (snake_case or lowerCamelCase). */
  key: string;
  value: unknown;
  allowed: readonly string[];
}

export interface ProcessingModeRead {
  mode: EffectiveProcessingMode;
  /** Fields set in the config (snake_case names), to tell a deliberate value from a default. */
  explicit: Set<ModeField>;
  invalid: InvalidModeValue[];
}

const isBodyField = (field: ModeField) => field.endsWith('_body_mode');
const isTrailerField = (field: ModeField) => field.endsWith('_trailer_mode');

/** Envoy's defaults: headers SEND, bodies NONE, trailers SKIP (HeaderSendMode DEFAULT means the same). */
function defaultFor(field: ModeField): HeaderMode | BodyMode {
  if (isBodyField(field)) return 'NONE';
  return isTrailerField(field) ? 'SKIP' : 'SEND';
}

/** Reads a processing_mode as Envoy does: snake_case or lowerCamelCase keys, enum names or numbers. */
export function readProcessingMode(processingMode: JsonObject | undefined): ProcessingModeRead {
  const mode = {} as Record<ModeField, HeaderMode | BodyMode>;
  const explicit = new Set<ModeField>();
  const invalid: InvalidModeValue[] = [];
  for (const field of MODE_FIELDS) {
    mode[field] = defaultFor(field);
    const value = processingMode === undefined ? undefined : envoyField(processingMode, field);
    if (value === undefined || value === null) continue;
    const names: readonly string[] = isBodyField(field) ? BODY_MODES : HEADER_MODES;
    const name = typeof value === 'number' && Number.isInteger(value) ? names[value] : typeof value === 'string' && names.includes(value) ? value : undefined;
    if (name === undefined) {
      invalid.push({ field, key: envoyFieldKey(processingMode as JsonObject, field), value, allowed: names });
      continue;
    }
    explicit.add(field);
    mode[field] = name === 'DEFAULT' ? defaultFor(field) : (name as HeaderMode | BodyMode);
  }
  return { mode: mode as unknown as EffectiveProcessingMode, explicit, invalid };
}
