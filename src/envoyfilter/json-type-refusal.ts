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

/**
 * What Envoy's JSON reader refuses in a TypedStruct's value, by kind: where, and what it reads there. Left to Envoy:
 * strings other than "true"/"false" for a bool, a string for a list of strings (its one entry), UInt32Values in a form
 * the webhook does not follow (`1e2`).
 */
export function envoyRefuses(kind: FieldKind, value: unknown): TypeRefusal | undefined {
  const scalar = (v: unknown) => typeof v === 'number' || typeof v === 'boolean';
  switch (kind) {
    case 'bool':
      return typeof value === 'number' || typeof value === 'object' ? { value, expected: EXPECTED.bool } : undefined;
    case 'bool-value':
      return typeof value === 'number' || Array.isArray(value) ? { value, expected: EXPECTED.bool } : undefined;
    case 'string':
      return scalar(value) || typeof value === 'object' ? { value, expected: EXPECTED.string } : undefined;
    case 'list:string':
    case 'list:object': {
      const listed = kind === 'list:string' ? (v: unknown) => typeof v === 'string' : isObject;
      if (!Array.isArray(value)) {
        // An object for a list of messages Envoy takes as its one entry (asked of Envoy 1.40).
        const refused = kind === 'list:object' ? scalar(value) || typeof value === 'string' : isObject(value) || scalar(value);
        return refused ? { value, expected: EXPECTED.list } : undefined;
      }
      // A list in a list Envoy takes too.
      const index = value.findIndex((element) => element !== null && !Array.isArray(element) && !listed(element));
      return index < 0 ? undefined : { index, value: value[index], expected: kind === 'list:string' ? EXPECTED.string : EXPECTED.message };
    }
    case 'uint32': {
      // A UInt32Value: an object it takes too; a string in a number's form it may read (`1e2`, `0x10`), no other.
      if (isObject(value)) return undefined;
      const read = readUint32(value, 'envoy');
      const numberLike = typeof value === 'string' && /^\+?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)$/.test(value);
      return read === 'unreadable' || (read === 'unsure' && !numberLike) ? { value, expected: EXPECTED.uint32 } : undefined;
    }
    default:
      return undefined;
  }
}
