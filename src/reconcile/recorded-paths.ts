import type { Operation } from 'fast-json-patch';
import { replaceAddress } from '../envoyfilter/address-in-text.ts';
import { holdsPort, rewritePort } from '../envoyfilter/port-in-text.ts';
import { annotationPointer } from './annotation-pointer.ts';
import type { EnvoyFilterRecord, Provenance } from './envoyfilter-record.ts';

/**
 * The paths an EnvoyFilter's provenance records, as the reconciler rewrites them: which still hold what the webhook
 * wrote, what each becomes, and the JSON patch operations that write them.
 */

/** A recorded path that still holds what the webhook wrote, and what it becomes. */
export interface PathRewrite {
  pointer: string;
  value: unknown;
  next: unknown;
}

/** The recorded port paths of an EnvoyFilter sorted for a move to port `to`. */
export interface RecordedPortPaths {
  /** Still the recorded port (the number, or its digits in a string): to rewrite. */
  holding: PathRewrite[];
  /** Neither the recorded port nor `to`: changed by hand, left alone. */
  edited: string[];
  /** Already `to`. */
  current: number;
}

export function recordedPortPaths(port: NonNullable<Provenance['port']>, record: EnvoyFilterRecord, to: number): RecordedPortPaths {
  const sorted: RecordedPortPaths = { holding: [], edited: [], current: 0 };
  for (const pointer of port.paths) {
    const value = record.valuesAtPortPaths[pointer];
    const next = rewritePort(value, port.port, to);
    if (next !== undefined) sorted.holding.push({ pointer, value, next });
    else if (holdsPort(value, to)) sorted.current++;
    else sorted.edited.push(pointer);
  }
  return sorted;
}

/** The recorded address paths that hold `from`, each with `to` written over it. */
export function addressRewrites(record: EnvoyFilterRecord, pointers: readonly string[], from: string, to: string): PathRewrite[] {
  return pointers.map((pointer) => {
    const value = record.valuesAtPaths[pointer] as string;
    return { pointer, value, next: replaceAddress(value, from, to) };
  });
}

/**
 * The `test` and `replace` pairs of the paths to rewrite, and which paths they are. A string that holds both the
 * address and the port (`10.0.0.5:9002`, recorded under both) is written once, with both changes (two pairs on one
 * path would have the second `test` fail against the first `replace`): the port first, found beside the old address,
 * then the address.
 */
export function rewriteOperations(addresses: readonly PathRewrite[], ports: readonly PathRewrite[], address: { from: string; to: string } | undefined): { operations: Operation[]; pointers: string[] } {
  const byPointer = new Map(addresses.map((a) => [a.pointer, a]));
  for (const p of ports) {
    const both = byPointer.has(p.pointer) && address !== undefined;
    byPointer.set(p.pointer, both ? { ...p, next: replaceAddress(p.next as string, address.from, address.to) } : p);
  }
  const operations = [...byPointer.values()].flatMap(({ pointer, value, next }): Operation[] => [
    { op: 'test', path: pointer, value },
    { op: 'replace', path: pointer, value: next },
  ]);
  return { operations, pointers: [...byPointer.keys()] };
}

/** Recorded paths edited by hand are dropped from their annotation, so they are never reported again. */
export function keepUnedited(operations: Operation[], annotation: string, paths: readonly string[], edited: readonly string[]): void {
  if (edited.length === 0) return;
  operations.push({ op: 'replace', path: annotationPointer(annotation), value: JSON.stringify(paths.filter((p) => !edited.includes(p)).sort()) });
}
