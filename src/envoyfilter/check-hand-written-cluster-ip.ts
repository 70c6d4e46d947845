import { ANNOTATIONS, annotationsOf } from '../annotations.ts';
import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, toJsonPointer } from '../json-path.ts';
import { canonicalIP } from '../canonical-ip.ts';
import { envoyFieldKey } from '../json-value.ts';
import { provenanceOf } from '../reconcile/envoyfilter-record.ts';
import { patchLocation } from './config-patches.ts';
import type { ClusterSite } from './ext-proc-configs.ts';
import { socketAddresses } from './socket-addresses.ts';
import { EPP_ANNOTATION, type EppServices } from './talks-to-epp.ts';

/**
 * EPP117: an added cluster's endpoint address that is, as written, the ClusterIP of a known EPP Service the object may
 * reference: copied by hand, as the manual procedure does, so it holds only until that Service is recreated. An address
 * the webhook wrote (a path in placeholder-paths) is its own to keep true; an object that says it talks to no EPP is
 * taken at its word.
 */
export function checkHandWrittenClusterIP(object: unknown, clusters: Map<string, ClusterSite>, known: EppServices, token: string, severities: SeverityOverrides): Finding[] {
  const referable = known.referable;
  if (referable === undefined || referable.size === 0 || annotationsOf(object)[EPP_ANNOTATION] === 'false') return [];
  let written: ReadonlySet<string> | undefined;
  const findings: Finding[] = [];
  for (const [name, site] of clusters) {
    for (const { segments, socket, address } of socketAddresses(site.cluster)) {
      const service = typeof address === 'string' ? referable.get(canonicalIP(address)) : undefined;
      if (service === undefined) continue;
      const path = [...site.patch.valuePath, ...segments, envoyFieldKey(socket, 'address')];
      // Read only for a match: the annotations' JSON is parsed for the few objects that hold an EPP's address.
      written ??= new Set(provenanceOf(object)?.paths ?? []);
      if (written.has(toJsonPointer(path))) continue;
      findings.push(
        finding(
          'EPP117',
          severities,
          { location: patchLocation(site.patch.index), path: formatPath(path) },
          `cluster ${name} reaches the EPP at ${address}, Service ${service}'s ClusterIP written by hand: a recreated Service gets a new ClusterIP, and this address then leads to no EPP until someone edits it again`,
          `write ${token} there with annotation ${ANNOTATIONS.eppService}: ${service} (or ${ANNOTATIONS.inferencePool} naming the InferencePool whose EPP it is): the webhook writes the ClusterIP at every apply, and serve --reconcile rewrites it when the Service changes`,
        ),
      );
    }
  }
  return findings;
}
