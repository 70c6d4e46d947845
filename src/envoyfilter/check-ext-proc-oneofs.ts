import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { isObject } from '../json-value.ts';
import type { OneofField, OneofMessage } from './ext-proc-oneofs.ts';
import { readField, readFieldKey } from './field-reading.ts';

export interface OneofsInput {
  /** The value of the field as written in the TypedStruct, under `label` (its key). */
  value: unknown;
  field: OneofField;
  label: string;
  segments: PathSegments;
  location: string;
  /** What Envoy does with the config, after "Envoy" (envoy-rejects-update.ts). */
  rejectsUpdate: string;
  severities: SeverityOverrides;
}

/** In a TypedStruct: each object below `value` that sets two members of one oneof, which Envoy refuses (EPP221). */
export function checkOneofsBelow({ value, field, label, segments, location, rejectsUpdate, severities }: OneofsInput): Finding[] {
  const findings: Finding[] = [];
  const visit = (item: unknown, message: OneofMessage, at: string, path: PathSegments, inList: string | undefined): void => {
    if (!isObject(item)) return; // not an object: Envoy's conversion says so itself, not this check's claim
    for (const members of message.oneofs ?? []) {
      const set = members.filter((member) => {
        const v = readField(item, member, 'envoy');
        return v !== undefined && v !== null;
      });
      if (set.length < 2) continue;
      const names = set.map((member) => readFieldKey(item, member, 'envoy'));
      const listed = names.length === 2 ? `both ${names[0]} and ${names[1]}` : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
      const fix = `keep one of ${names.join(', ')}${inList ? ` (another can be its own entry of ${inList})` : ''}`;
      findings.push(
        finding(
          'EPP221',
          severities,
          { location, path: formatPath(path) },
          `ext_proc ${at} sets ${listed} in a TypedStruct: they are one oneof, and Envoy, converting the value itself, refuses the second and ${rejectsUpdate}`,
          fix,
        ),
      );
    }
    for (const [name, child] of Object.entries(message.fields ?? {})) {
      const key = readFieldKey(item, name, 'envoy');
      walk(item[key], child, `${at}.${key}`, [...path, key], key);
    }
  };
  const walk = (item: unknown, { message, repeated }: OneofField, at: string, path: PathSegments, key: string): void => {
    if (repeated === 'list') {
      if (Array.isArray(item)) item.forEach((entry, i) => visit(entry, message, `${at}[${i}]`, [...path, i], key));
    } else if (repeated === 'map') {
      if (isObject(item)) for (const [name, entry] of Object.entries(item)) visit(entry, message, at + mapKey(name), [...path, name], undefined);
    } else visit(item, message, at, path, undefined);
  };
  walk(value, field, label, segments, label);
  return findings;
}

/** `.name`, or `["grpc.x"]` for a key that is not a plain name, as formatPath writes a segment after the first. */
const mapKey = (name: string) => formatPath(['_', name]).slice(1);
