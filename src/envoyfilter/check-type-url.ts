import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { isObject } from '../json-value.ts';
import { patchLocation, valueInPatch } from './config-patches.ts';
import type { ExtProcSite } from './ext-proc-configs.ts';
import { rejectsUpdate } from './envoy-rejects-update.ts';

/**
 * A type URL names its message after a `/` (`type.googleapis.com/envoy...`); whatever stands before it is not read.
 * istiod resolves `@type` by the name after the last `/`, or the whole string when there is none, and passes the URL
 * on as written; Envoy cannot unpack an Any whose type URL has no `/` at all and rejects the update.
 */
export function checkTypeUrl(site: ExtProcSite, severities: SeverityOverrides): Finding[] {
  if (site.via === 'filter-name') return [];
  // A TypedStruct's value is the config: the Any is the wrapper around it.
  const anySegments = site.via === 'typed-struct' ? site.segments.slice(0, -1) : site.segments;
  const any = site.via === 'typed-struct' ? valueInPatch(site.patch, anySegments) : site.config;
  const type = isObject(any) ? any['@type'] : undefined;
  if (typeof type !== 'string' || type.includes('/')) return [];
  return [
    finding(
      'EPP224',
      severities,
      { location: patchLocation(site.patch.index), path: formatPath([...anySegments, '@type']) },
      `ext_proc "@type" ${JSON.stringify(type)} has no "/": istiod passes the type URL on as written, and Envoy cannot unpack it and ${rejectsUpdate(site.kind)}`,
      `write "@type": type.googleapis.com/${type}`,
    ),
  ];
}
