import type { Operation } from 'fast-json-patch';
import { holdsPort, rewritePort } from '../envoyfilter/port-in-text.ts';
import type { EnvoyFilterRecord, Provenance } from './envoyfilter-record.ts';

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

export function recordedPortPaths(port: NonNullable<Provenance['port']>, record: EnvoyFilterRecord, to: number | undefined): RecordedPortPaths {
  const sorted: RecordedPortPaths = { holding: [], edited: [], current: 0 };
  for (const pointer of port.paths) {
    const value = record.valuesAtPortPaths[pointer];
    const next = to === undefined ? undefined : rewritePort(value, port.port, to);
    if (next !== undefined) sorted.holding.push({ pointer, value, next });
    else if (to !== undefined && holdsPort(value, to)) sorted.current++;
    else sorted.edited.push(pointer);
  }
  return sorted;
}

/**
 * The `test` and `replace` pairs of the paths to rewrite. A string that holds both the address and the port
 * (`10.0.0.5:9002`, recorded under both) is written once, with both changes: two pairs on one path would have the
 * second `test` fail against the first `replace`.
 */
export function rewriteOperations(addresses: readonly PathRewrite[], ports: readonly PathRewrite[], port: { from: number; to: number } | undefined): Operation[] {
  const byPointer = new Map(addresses.map((a) => [a.pointer, { ...a }]));
  for (const p of ports) {
    const address = byPointer.get(p.pointer);
    if (address === undefined) byPointer.set(p.pointer, { ...p });
    // The port's digits found again after the address changed; where they are not, the address change alone.
    else if (port !== undefined) address.next = rewritePort(address.next, port.from, port.to) ?? address.next;
  }
  return [...byPointer.values()].flatMap(({ pointer, value, next }): Operation[] => [
    { op: 'test', path: pointer, value },
    { op: 'replace', path: pointer, value: next },
  ]);
}
