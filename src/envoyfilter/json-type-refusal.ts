import { isObject } from '../json-value.ts';
import type { FieldKind } from './ext-proc-schema.ts';
import { parseGoDuration } from './go-duration.ts';
import { readUint32 } from './proto-uint32.ts';

/** What each kind takes, as a fix and a message say it. */
export const EXPECTED = {
  bool: 'true or false, unquoted',
  string: 'a string',
  duration: 'a duration string such as "0.2s", "1s" or "200ms"',
  list: 'a list',
  message: 'an object',
  uint32: 'a whole number from 0 to 4294967295',
  any: 'an object with its "@type"',
} as const;

/** A value a reader refuses for a field's kind: the value (or the list entry at `index`) and what it takes there. */
export interface TypeRefusal {
  index?: number;
  value: unknown;
  expected: string;
}

const isString = (v: unknown) => typeof v === 'string';
const isTypedAny = (v: unknown) => isObject(v) && typeof v['@type'] === 'string';

/**
 * Whether istiod's conversion (golang/protobuf jsonpb) refuses `value` for a field of `kind`, failing kubectl apply.
 * An enum is read elsewhere (its value names); null anywhere leaves a field unset, and in a list is the entry's empty
 * value ("" or {}).
 */
export function istiodRefuses(kind: FieldKind, value: unknown): TypeRefusal | undefined {
  if (value === null || value === undefined || kind === 'enum') return undefined;
  if (kind.startsWith('message:') || kind === 'object') return isObject(value) ? undefined : { value, expected: EXPECTED.message };
  switch (kind) {
    case 'bool':
    case 'bool-value':
      return typeof value === 'boolean' ? undefined : { value, expected: EXPECTED.bool };
    case 'string':
      return typeof value === 'string' ? undefined : { value, expected: EXPECTED.string };
    case 'uint32':
      return readUint32(value, 'istiod') === 'unreadable' ? { value, expected: EXPECTED.uint32 } : undefined;
    case 'duration':
      return typeof value === 'string' && parseGoDuration(value) !== undefined ? undefined : { value, expected: EXPECTED.duration };
    default: {
      if (!Array.isArray(value)) return { value, expected: EXPECTED.list };
      const [fits, expected] = kind === 'list:string' ? [isString, EXPECTED.string] : kind === 'list:any' ? [isTypedAny, EXPECTED.any] : [isObject, EXPECTED.message];
      const index = value.findIndex((entry) => entry !== null && !fits(entry));
      return index < 0 ? undefined : { index, value: value[index], expected };
    }
  }
}
