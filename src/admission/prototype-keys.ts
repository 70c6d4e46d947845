import secureJson from 'secure-json-parse';

/**
 * What the server's JSON parser refuses (src/server/app.ts): a `__proto__` key, or a `constructor` key holding a
 * `prototype` key, anywhere in a body. `check` and `render` hold manifests to the same rule.
 */
export const PROTOTYPE_KEYS_REFUSED = { protoAction: 'error', constructorAction: 'error' } as const;

/** Whether `object` holds a key the server's parser refuses. */
export function hasPrototypeKey(object: unknown): boolean {
  try {
    secureJson.scan(object as Record<string, unknown>, PROTOTYPE_KEYS_REFUSED);
    return false;
  } catch {
    return true;
  }
}
