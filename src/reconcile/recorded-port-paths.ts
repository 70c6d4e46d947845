import type { EnvoyFilterRecord, Provenance } from './envoyfilter-record.ts';

/** The recorded port paths of an EnvoyFilter sorted for a move to port `to`. */
export interface RecordedPortPaths {
  /** Still the recorded port: to rewrite. */
  holding: string[];
  /** Neither the recorded port nor `to`: changed by hand, left alone. */
  edited: string[];
  /** Already `to`. */
  current: number;
}

export function recordedPortPaths(port: NonNullable<Provenance['port']>, record: EnvoyFilterRecord, to: number | undefined): RecordedPortPaths {
  const sorted: RecordedPortPaths = { holding: [], edited: [], current: 0 };
  for (const pointer of port.paths) {
    const value = record.valuesAtPortPaths[pointer];
    if (value === port.port) sorted.holding.push(pointer);
    else if (value === to) sorted.current++;
    else sorted.edited.push(pointer);
  }
  return sorted;
}
