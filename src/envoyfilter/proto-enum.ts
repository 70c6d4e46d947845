import type { Reading } from './field-reading.ts';

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

/** An enum value read as istiod converts it: a name, or why it is not one. */
export type EnumRead =
  | { kind: 'unset' }
  | { kind: 'name'; name: string }
  /** istiod's conversion refuses it: not an exact value name, not a JSON integer (kubectl apply fails). */
  | { kind: 'refused-by-istio' }
  /** An integer that names no value: istiod passes it, Envoy rejects it (defined_only). */
  | { kind: 'rejected-by-envoy' };

/**
 * Reads a proto enum field as golang/protobuf jsonpb does: null is unset, a string must be a value's exact
 * name, a JSON integer (int32) is taken as a number. `names` is indexed by value number; holes are undefined.
 * With reading `envoy` (a TypedStruct's value, converted by Envoy), names match in any case and integers may
 * be written in a string; what Envoy cannot read, it rejects.
 */
export function readEnum(value: unknown, names: readonly (string | undefined)[], reading: Reading = 'istiod'): EnumRead {
  if (value === undefined || value === null) return { kind: 'unset' };
  if (reading === 'envoy') {
    if (typeof value === 'string' && !/^-?\d+$/.test(value)) {
      const name = names.find((n) => n !== undefined && n.toLowerCase() === value.toLowerCase());
      return name === undefined ? { kind: 'rejected-by-envoy' } : { kind: 'name', name };
    }
    const number = typeof value === 'string' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < INT32.min || number > INT32.max) return { kind: 'rejected-by-envoy' };
    const name = names[number];
    return name === undefined ? { kind: 'rejected-by-envoy' } : { kind: 'name', name };
  }
  if (typeof value === 'string') return names.includes(value) ? { kind: 'name', name: value } : { kind: 'refused-by-istio' };
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32.min || value > INT32.max) return { kind: 'refused-by-istio' };
  const name = names[value];
  return name === undefined ? { kind: 'rejected-by-envoy' } : { kind: 'name', name };
}
