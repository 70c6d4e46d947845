import { camelCase, envoyField, envoyFieldKey, type JsonObject } from '../json-value.ts';

/**
 * Who turns a JSON ext_proc config into the proto Envoy runs. `istiod`: a typed config in `patch.value`, which
 * istiod converts (golang/protobuf jsonpb: the lowerCamelCase key wins, exact enum names, unknown keys dropped).
 * `envoy`: the value of a TypedStruct, which istiod passes on as a Struct and Envoy converts itself (protobuf's
 * JSON parser: enum names in any case or as numbers in strings, unknown keys rejected; which of two spellings it
 * keeps follows the Struct's map order, which is not defined, so that case is refused (EPP222) and the snake_case
 * one is read here).
 */
export type Reading = 'istiod' | 'envoy';

export function readField(object: JsonObject, snakeName: string, reading: Reading): unknown {
  if (reading === 'istiod') return envoyField(object, snakeName);
  if (Object.hasOwn(object, snakeName)) return object[snakeName];
  const camel = camelCase(snakeName);
  return Object.hasOwn(object, camel) ? object[camel] : undefined;
}

/** The spelling the reader takes a field from, for paths in messages. */
export function readFieldKey(object: JsonObject, snakeName: string, reading: Reading): string {
  if (reading === 'istiod') return envoyFieldKey(object, snakeName);
  return Object.hasOwn(object, snakeName) || !Object.hasOwn(object, camelCase(snakeName)) ? snakeName : camelCase(snakeName);
}

/** A bool field as the reader takes it: true, false, or undefined when unset or not a bool (Envoy also reads "true"/"false"). */
export function readBool(object: JsonObject, snakeName: string, reading: Reading): boolean | undefined {
  const value = readField(object, snakeName, reading);
  if (typeof value === 'boolean') return value;
  return reading === 'envoy' && (value === 'true' || value === 'false') ? value === 'true' : undefined;
}
