export const UINT32_MAX = 4_294_967_295;

/** istiod's JSON reading of a uint32 written as a string: decimal digits without leading zeros, spaces around allowed. */
const ISTIOD_DECIMAL = /^[ \t\r\n]*(0|[1-9]\d*)[ \t\r\n]*$/;
const PLAIN_DIGITS = /^(\d+)$/;

/**
 * A uint32 field's value as istiod reads a patch (a JSON integer, or its decimal string), or as Envoy reads a
 * TypedStruct's value: 'unreadable' where that reader refuses it, 'unsure' for a string Envoy may read in a form the
 * webhook does not follow (`1e2`, `0x10`, `+100`: asked of Envoy 1.40, it takes them).
 */
export function readUint32(value: unknown, reader: 'istiod' | 'envoy'): number | 'unreadable' | 'unsure' {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= UINT32_MAX ? value : 'unreadable';
  if (typeof value !== 'string') return 'unreadable';
  const digits = (reader === 'istiod' ? ISTIOD_DECIMAL : PLAIN_DIGITS).exec(value);
  if (digits === null) return reader === 'envoy' ? 'unsure' : 'unreadable';
  const n = Number(digits[1]);
  return n <= UINT32_MAX ? n : 'unreadable';
}
