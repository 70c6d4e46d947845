import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { matchedSubFilter, patchLocation } from './config-patches.ts';
import { extProcFilterPatches, type ExtProcSite } from './ext-proc-configs.ts';

const ROUTER = 'envoy.filters.http.router';

/**
 * Where istiod puts an added HTTP filter (pilot/pkg/networking/core/envoyfilter/listener_patch.go patchHTTPFilters):
 * ADD appends it to the chain, and so does INSERT_AFTER without a subFilter ("same as ADD in the end"); INSERT_AFTER
 * the router puts it right behind it. Every connection manager's chain ends with the router, a terminal filter, and
 * Envoy rejects a chain in which another filter follows it. Measured: test/oracle/filter-placement.test.ts.
 */
export function checkFilterAfterRouter(sites: readonly ExtProcSite[], severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  for (const patch of extProcFilterPatches(sites)) {
    const subFilter = matchedSubFilter(patch);
    const where =
      patch.operation === 'ADD'
        ? 'ADD appends it to the HTTP filter chain'
        : patch.operation === 'INSERT_AFTER' && subFilter === undefined
          ? 'INSERT_AFTER with no subFilter appends it to the HTTP filter chain, as ADD does'
          : patch.operation === 'INSERT_AFTER' && subFilter === ROUTER
            ? `INSERT_AFTER subFilter ${ROUTER} puts it right behind the router`
            : undefined;
    if (where === undefined) continue;
    findings.push(
      finding(
        'EPP319',
        severities,
        { location: patchLocation(patch.index), path: formatPath(['spec', 'configPatches', patch.index, 'patch', 'operation']) },
        `${where}, after ${ROUTER}, which ends every chain: Envoy rejects the listener ("terminal filter named ${ROUTER} ... must be the last filter in a http filter chain"): running gateway Pods keep their old config, and one that starts has no listener`,
        `use operation: INSERT_BEFORE with subFilter ${ROUTER} to add the filter`,
      ),
    );
  }
  return findings;
}
