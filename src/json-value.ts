/** Type guards for JSON decoded from untrusted input: anything may be anything. */
export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object or a list: what a walk over a JSON value steps into. */
export function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** A value's JSON type for messages: `missing`, `a list`, `the string "x"` (cut short: objects are never echoed whole). */
export function describe(value: unknown): string {
  if (value === undefined || value === null || typeof value === 'object') return jsonType(value);
  return `the ${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

/** A written value as a message quotes it: a scalar as its JSON, an object as `{…}` and a list as `[…]` (never echoed). */
export function quoteValue(value: unknown): string {
  if (Array.isArray(value)) return '[…]';
  return typeof value === 'object' && value !== null ? '{…}' : JSON.stringify(value);
}

/** A value's JSON type alone (`a string`, `a list`, `missing`), for where not even a piece of the value may be echoed. */
export function jsonType(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * A field of an Envoy message in `patch.value`, read as istiod converts it (golang/protobuf jsonpb): under its
 * snake_case or its lowerCamelCase name, and when both are present the lowerCamelCase one wins.
 */
export function envoyField(object: JsonObject, snakeName: string): unknown {
  const camel = camelCase(snakeName);
  if (Object.hasOwn(object, camel)) return object[camel];
  return camel !== snakeName && Object.hasOwn(object, snakeName) ? object[snakeName] : undefined;
}

/** Whether a field is set, under either spelling (null leaves a proto field unset). */
export function isSet(object: JsonObject, snakeName: string): boolean {
  const value = envoyField(object, snakeName);
  return value !== undefined && value !== null;
}

/** The spelling istiod reads a field under (see envoyField), for precise paths in messages. */
export function envoyFieldKey(object: JsonObject, snakeName: string): string {
  const camel = camelCase(snakeName);
  if (Object.hasOwn(object, camel)) return camel;
  return snakeName;
}

const camelNames = new Map<string, string>();

/** The lowerCamelCase JSON name of a snake_case proto field name, as protoc derives it. */
export function camelCase(snakeName: string): string {
  let camel = camelNames.get(snakeName);
  if (camel === undefined) {
    // As a property key: V8 then hands back the internalized string, which property lookups take without hashing it.
    camel = Object.keys({ [snakeName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())]: true })[0];
    camelNames.set(snakeName, camel);
  }
  return camel;
}

/** `spec.rules[0] must be an object but is the number 1`; of the object itself (path ''): `must be an object but is missing`. */
export function mustBe(path: string, what: string, got: unknown): string {
  return `${path === '' ? '' : `${path} `}must be ${what} but is ${describe(got)}`;
}
