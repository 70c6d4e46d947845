import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { patchLocation } from './config-patches.ts';
import type { ExtProcSite } from './ext-proc-configs.ts';

/**
 * A type URL names its message after a `/` (`type.googleapis.com/envoy...`); whatever stands before it is not read.
 * istiod resolves `@type` by the name after the last `/`, or the whole string when there is none, and passes the URL
 * on as written; Envoy cannot unpack an Any whose type URL has no `/` at all and rejects the update.
 */
export function checkTypeUrl(site: ExtProcSite, severities: SeverityOverrides): Finding[] {
  if (site.via !== undefined) return [];
  const type = site.config['@type'];
  if (typeof type !== 'string' || type.includes('/')) return [];
  return [
    finding(
      'EPP224',
      severities,
      { location: patchLocation(site.patch.index), path: formatPath([...site.segments, '@type']) },
      `ext_proc "@type" ${JSON.stringify(type)} has no "/": istiod passes the type URL on as written, and Envoy cannot unpack it and rejects the ${site.kind === 'filter' ? 'listener' : 'route'} update: the gateway keeps its old config`,
      `write "@type": type.googleapis.com/${type}`,
    ),
  ];
}
