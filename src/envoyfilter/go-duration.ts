// A Map, not an object literal: a unit is user text, and `1valueOf` must find nothing, not Object.prototype's function.
const UNIT_NANOS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['µs', 1_000n], // U+00B5
  ['μs', 1_000n], // U+03BC
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);
const MAX_NANOS = (1n << 63n) - 1n;
const TERM = /^(\d*)(?:\.(\d*))?([^\d.]+)/;

/**
 * Reads a duration as istiod's conversion does (golang/protobuf jsonpb hands the string to Go's
 * time.ParseDuration): `1.5s`, `200ms`, `1h30m`, `-1s`, `0`. Returns nanoseconds, or undefined where Go fails
 * (no unit, unknown unit, empty, beyond about 292 years).
 */
export function parseGoDuration(text: string): bigint | undefined {
  let rest = text;
  let sign = 1n;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1n : 1n;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') return undefined;
  let total = 0n;
  while (rest !== '') {
    const m = TERM.exec(rest);
    if (m === null) return undefined;
    const [whole, integer, fraction = '', unit] = m;
    if (integer === '' && fraction === '') return undefined;
    const nanos = UNIT_NANOS.get(unit);
    if (nanos === undefined) return undefined;
    total += BigInt(integer || '0') * nanos;
    if (fraction !== '') total += (BigInt(fraction) * nanos) / 10n ** BigInt(fraction.length);
    if (total > MAX_NANOS + (sign < 0n ? 1n : 0n)) return undefined;
    rest = rest.slice(whole.length);
  }
  return sign * total;
}
