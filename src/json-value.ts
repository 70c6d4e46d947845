/** Type guards for JSON decoded from untrusted input: anything may be anything. */
export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value's JSON type for messages: `a list`, `the string "x"` (cut short: objects are never echoed whole). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `the ${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

/** Envoy reads both snake_case and lowerCamelCase field names; returns the value under either spelling. */
export function envoyField(object: JsonObject, snakeName: string): unknown {
  if (Object.hasOwn(object, snakeName)) return object[snakeName];
  const camel = camelCase(snakeName);
  return Object.hasOwn(object, camel) ? object[camel] : undefined;
}

/** The spelling under which a field is present, for precise paths in messages. */
export function envoyFieldKey(object: JsonObject, snakeName: string): string {
  if (Object.hasOwn(object, snakeName)) return snakeName;
  const camel = camelCase(snakeName);
  return Object.hasOwn(object, camel) ? camel : snakeName;
}

const camelNames = new Map<string, string>();

function camelCase(snakeName: string): string {
  let camel = camelNames.get(snakeName);
  if (camel === undefined) {
    camel = snakeName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    camelNames.set(snakeName, camel);
  }
  return camel;
}
