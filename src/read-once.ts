/** What the WeakMap holds for a reading that is undefined, so that a miss and an undefined reading differ in one lookup. */
const UNDEFINED = Symbol('undefined reading');

/**
 * A reading of an object computed on its first call and handed back for the same object after that: several rules
 * share one reading of a cluster or an ext_proc config instead of each reading its JSON again (some two hundred
 * field reads per EnvoyFilter, each one or two name lookups). Sound because nothing writes to an object once it has
 * been read: every admission reads a freshly parsed object, the core never writes to what it is given, and a mutation
 * writes to copies (copy-on-write.ts) that are read only once it is done. An object changed after a reading (a test
 * editing what it has already checked) would keep the old reading: build a new object instead. Keyed weakly, so an
 * admission's objects take their readings with them. For the few objects many rules read, not for whole walks: V8
 * gives each key an identity hash.
 */
export function readOnce<K extends object, V>(read: (key: K) => V): (key: K) => V {
  const readings = new WeakMap<K, V | typeof UNDEFINED>();
  return (key) => {
    const known = readings.get(key);
    if (known === UNDEFINED) return undefined as V;
    if (known !== undefined) return known;
    const reading = read(key);
    readings.set(key, reading === undefined ? UNDEFINED : reading);
    return reading;
  };
}
