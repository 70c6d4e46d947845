/** What a Map holds for a reading that is undefined, so that a miss and an undefined reading differ in one lookup. */
const UNDEFINED = Symbol('undefined reading');

/** Readings one reader keeps at most before it lets them all go: bounds a path that never starts a new admission. */
export const MAX_READINGS = 4_096;

/** Each reader's way to let its readings go. */
const forgetters: (() => void)[] = [];

/**
 * Lets go of every reading made so far: the core calls it as it begins an admission (admit-object.ts), so an object's
 * readings are kept no longer than the admission that made them, or at most until the next one begins.
 */
export function beginReadings(): void {
  for (const forget of forgetters) forget();
}

/**
 * A reading of an object computed on its first call and handed back for the same object after that: several rules
 * share one reading of a cluster or an ext_proc config instead of each reading its JSON again (some two hundred
 * field reads per EnvoyFilter, each one or two name lookups). Sound because nothing writes to an object once it has
 * been read: every admission reads a freshly parsed object, the core never writes to what it is given, and a mutation
 * writes to copies (copy-on-write.ts) that are read only once it is done. An object changed after a reading (a test
 * editing what it has already checked) would keep the old reading until the next admission: build a new object
 * instead. For the few objects many rules read, not for whole walks.
 *
 * The readings are in a Map of the current admission, replaced by a new one as each admission begins (beginReadings)
 * and whenever it holds MAX_READINGS: a reading gone is read again, never wrong, as the keys are the objects
 * themselves. Why a Map per admission is the young-generation collector's (docs/performance.md, round 37): with a
 * long-lived WeakMap keyed by the objects, each scavenge took two and a half to four times as long; with a long-lived
 * Map emptied by clear(), whose table stays in the old generation, 5-8 ms. A Map made per admission is young and dies
 * young with what it holds.
 */
export function readOnce<K extends object, V>(read: (key: K) => V): (key: K) => V {
  let readings = new Map<K, V | typeof UNDEFINED>();
  forgetters.push(() => {
    if (readings.size > 0) readings = new Map();
  });
  return (key) => {
    const known = readings.get(key);
    if (known === UNDEFINED) return undefined as V;
    if (known !== undefined) return known;
    const reading = read(key);
    if (readings.size >= MAX_READINGS) readings = new Map();
    readings.set(key, reading === undefined ? UNDEFINED : reading);
    return reading;
  };
}
