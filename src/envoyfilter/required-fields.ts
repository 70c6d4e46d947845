import { envoyField, envoyFieldKey, isObject, isSet, type JsonObject } from '../json-value.ts';

/**
 * What Envoy's proto rules require of a message written in a field: one of `oneOf` (a oneof marked required), or each
 * of `all` (a name of at least one character, a list of at least one entry). `single`: the field holds one message,
 * not a list of them.
 */
export interface Requirement {
  oneOf?: readonly string[];
  all?: readonly string[];
  single?: true;
}

export interface MissingRequired {
  /** The field as written, and the entry's index in it when it is a list. */
  key: string;
  index?: number;
  /** What the message lacks, for a message: `none of a, b` or `no name and no typed_config`. */
  lacking: string;
  /** For a fix: `one of a, b` or `name and typed_config`. */
  wanted: string;
  /** What Envoy requires, as a message says it after "Envoy requires": `one`, `it` or `them`. */
  needs: 'one' | 'it' | 'them';
}

const filled = (object: JsonObject, field: string) => {
  const value = envoyField(object, field);
  return isSet(object, field) && value !== '' && !(Array.isArray(value) && value.length === 0);
};

/**
 * The messages in `object`'s fields that lack what `requirements` says Envoy requires. null in a list is an empty
 * entry; a list field holding an object is left to the type check (`objectForList` says whether the reader takes it as
 * the one entry, as Envoy's own reader does).
 */
export function missingRequired(object: JsonObject, requirements: Readonly<Record<string, Requirement>>, objectForList: boolean): MissingRequired[] {
  const out: MissingRequired[] = [];
  for (const [field, { oneOf, all, single }] of Object.entries(requirements)) {
    if (!isSet(object, field)) continue;
    const key = envoyFieldKey(object, field);
    const value = object[key];
    if (!single && !Array.isArray(value) && !objectForList) continue;
    const entries = Array.isArray(value) ? value.map((entry, i) => [entry, i] as const) : [[value, undefined] as const];
    for (const [entry, index] of entries) {
      const message = entry === null ? {} : entry;
      if (!isObject(message)) continue;
      if (oneOf !== undefined && !oneOf.some((f) => isSet(message, f))) out.push({ key, index, lacking: `none of ${oneOf.join(', ')}`, wanted: `one of ${oneOf.join(', ')}`, needs: 'one' });
      const lacking = (all ?? []).filter((f) => !filled(message, f));
      if (lacking.length > 0) out.push({ key, index, lacking: `no ${lacking.join(' and no ')}`, wanted: lacking.join(' and '), needs: lacking.length > 1 ? 'them' : 'it' });
    }
  }
  return out;
}
