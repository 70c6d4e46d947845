import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import type { JsonObject } from '../json-value.ts';
import { patchLocation } from './config-patches.ts';
import { readBool, readFieldKey, type Reading } from './field-reading.ts';

export interface ObservabilityCheckInput {
  /** The filter's ExternalProcessor (ExtProcOverrides has no observability_mode: a per-route one is EPP213's). */
  config: JsonObject;
  segments: readonly (string | number)[];
  patchIndex: number;
  reading: Reading;
  severities: SeverityOverrides;
}

/**
 * `observability_mode: true` on an ext_proc filter: Envoy sends the server what the mode sends without waiting, and
 * drops every answer (ext_proc.cc onReceiveMessage), so an EPP's pick is never applied. The caller drops this for a
 * filter that does not talk to an EPP: a logging sidecar is what the mode is for. Measured: EPP233-* in test/dataplane.
 */
export function checkObservabilityMode({ config, segments, patchIndex, reading, severities }: ObservabilityCheckInput): Finding[] {
  if (readBool(config, 'observability_mode', reading) !== true) return [];
  const key = readFieldKey(config, 'observability_mode', reading);
  return [
    finding(
      'EPP233',
      severities,
      { location: patchLocation(patchIndex), path: formatPath([...segments, key]) },
      `ext_proc ${key} true: Envoy sends the EPP the request without waiting and ignores every answer (a FULL_DUPLEX_STREAMED body it does not send at all, so the EPP picks nothing): the EPP's pick is never applied, and requests get 200 from whichever Pod Envoy's own load balancing chooses, the one the EPP avoids too (measured; on an InferencePool route where istiod's filter also calls the EPP, that filter's pick still routes)`,
      `remove ${key}`,
    ),
  ];
}
