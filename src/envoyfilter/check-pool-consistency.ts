import { canonicalIP } from '../canonical-ip.ts';
import type { InferencePoolRecord } from '../cluster/inference-pool.ts';
import type { ServiceRecord } from '../cluster/service-resolver.ts';
import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { envoyField, envoyFieldKey, isObject, quoteValue } from '../json-value.ts';
import { patchLocation, type ConfigPatch } from './config-patches.ts';
import { putsFilter } from './check-istiod-route-override.ts';
import { findExtProcConfigs, siteReading } from './ext-proc-configs.ts';
import { readField, readFieldKey } from './field-reading.ts';
import { isIstiodRouteOverride } from './istiod-route-overrides.ts';
import type { PlaceholderSite } from './find-placeholders.ts';
import { POOL_ANNOTATION_AT } from './inference-pool-reference.ts';
import { judgeExtProcSites } from './talks-to-epp.ts';

/**
 * What an EnvoyFilter wired to an InferencePool must agree on with the pool: the fail-open choice (failure_mode_allow
 * against failureMode) of the ext_proc filters that call the pool's EPP (another ext_proc server beside it, a WAF, fails
 * open or not as its team chose), the port it connects to (against endpointPickerRef.port), and that port being the
 * Service's. `addressSites` are the strings that held (or hold) the ClusterIP placeholder, with the port paired to each.
 */
/**
 * What failing open does (measured: EPP205-fail-open, -fail-open-headers-only, -stalled-epp-fail-open, EPP230-override-unset-*,
 * EPP305-cluster-nowhere-fail-open).
 */
const FAILS_OPEN =
  'where no stream to the EPP can open, or the EPP is down or times out with header-only modes (FULL_DUPLEX_STREAMED has no message_timeout), Envoy sends requests on without endpoint picking instead of failing them';
/** The other way round: what failing closed gives up (the same measurements; a down EPP gets FULL_DUPLEX_STREAMED requests 500 either way). */
const FAILS_CLOSED =
  'where no stream to the EPP can open, or the EPP is down or times out with header-only modes, Envoy fails the requests of <scope> instead of serving them unpicked (with FULL_DUPLEX_STREAMED a down EPP gets them 500 either way)';

export function checkPoolConsistency(
  object: unknown,
  patches: readonly ConfigPatch[],
  addressSites: readonly PlaceholderSite[],
  pool: InferencePoolRecord,
  service: ServiceRecord,
  config: WebhookConfig,
): Finding[] {
  const findings: Finding[] = [];
  const poolName = `InferencePool ${pool.namespace}/${pool.name}`;
  const picker = pool.endpointPicker;
  if (picker === undefined) return findings;

  const sites = findExtProcConfigs(patches);
  const poolEpp = { names: new Set([`${service.namespace}/${service.name}`]), clusterIPs: new Set([canonicalIP(service.clusterIP)]) };
  const { judgements } = judgeExtProcSites(object, patches, sites, config, poolEpp);
  const putsOwnFilter = patches.some(putsFilter);
  for (const [i, site] of sites.entries()) {
    if (!judgements[i].talksToEpp) continue;
    const failOpenWanted = picker.failureMode === 'FailOpen';
    if (site.kind === 'filter') {
      const allow = envoyField(site.config, 'failure_mode_allow');
      // A MERGE that does not set the field leaves the base filter's value, which is not in this object.
      if (allow === undefined && site.patch.operation === 'MERGE') continue;
      if ((allow === true) === failOpenWanted) continue;
      const at = { location: patchLocation(site.patch.index), path: formatPath([...site.segments, envoyFieldKey(site.config, 'failure_mode_allow')]) };
      findings.push(allow === true ? failsOpen(at, 'ext_proc failure_mode_allow: true') : failsClosed(at, `ext_proc failure_mode_allow is ${allow === undefined ? 'unset (false)' : quoteValue(allow)}`));
      continue;
    }
    // A route override's failure_mode_allow is the route's (ExtProcOverrides); where it sets none, the filter's applies.
    const reading = siteReading(site);
    const overrides = readField(site.config, 'overrides', reading);
    if (!isObject(overrides)) continue;
    const key = readFieldKey(overrides, 'failure_mode_allow', reading);
    const allow = overrides[key];
    const at = { location: patchLocation(site.patch.index), path: formatPath([...site.segments, envoyFieldKey(site.config, 'overrides'), key]) };
    if (typeof allow === 'boolean') {
      if (allow !== failOpenWanted) findings.push(allow ? failsOpen(at, 'ext_proc route override failure_mode_allow: true') : failsClosed(at, 'ext_proc route override failure_mode_allow: false', 'the routes it matches'));
    } else if (allow == null && !failOpenWanted && !putsOwnFilter && isIstiodRouteOverride(site)) {
      // Measured (measured-symptoms.json EPP230-override-unset-headers-only-epp-down): 200 from a Pod nobody picked.
      findings.push(failsOpen(at, `ext_proc route override under istiod's key sets no failure_mode_allow, so the route takes that of istiod's filter, true`, 'add failure_mode_allow: false to the override'));
    }
  }

  function failsOpen(at: { location: string; path: string }, what: string, fix = `remove failure_mode_allow (or set it false), or set the pool's failureMode: FailOpen if skipping the EPP is what you want`): Finding {
    return finding('EPP113', config.severities, at, `${what}, but ${poolName} asks for failureMode FailClose: ${FAILS_OPEN}`, fix);
  }
  function failsClosed(at: { location: string; path: string }, what: string, scope = 'this gateway'): Finding {
    return finding(
      'EPP113',
      config.severities,
      at,
      `${what}, but ${poolName} asks for failureMode FailOpen: ${FAILS_CLOSED.replace('<scope>', scope)}`,
      `set failure_mode_allow: true, or set the pool's failureMode: FailClose`,
    );
  }

  const port = picker.port;
  if (port === undefined) return findings;
  for (const site of addressSites) {
    if (site.port === undefined || site.port === port) continue;
    findings.push(
      finding(
        'EPP114',
        config.severities,
        { location: patchLocation(site.patchIndex), path: formatPath(site.segments) },
        // Measured (test/dataplane/measured-symptoms.json EPP114-port-not-the-pools, -fail-open): the connection to
        // ClusterIP:9003 fails, 500 on every request, with failure_mode_allow: true as without (the stream had started).
        `port ${site.port}: ${poolName} says its EPP listens on port ${port} of Service ${service.namespace}/${service.name}, so the gateway's ext_proc stream to port ${site.port} reaches no Endpoint Picker: the connection fails and every request gets 500, with failure_mode_allow: true too`,
        `write port_value: EPP_SERVICE_PORT and let the webhook fill in ${port}, or set port_value: ${port}`,
      ),
    );
  }
  const servicePorts = service.ports.map((p) => p.port);
  if (servicePorts.length > 0 && !servicePorts.includes(port)) {
    findings.push(
      finding(
        'EPP110',
        config.severities,
        POOL_ANNOTATION_AT,
        `${poolName}'s endpointPickerRef port ${port} is not a port of Service ${service.namespace}/${service.name} (it exposes ${servicePorts.join(', ')}), so the gateway cannot reach the EPP there`,
        `set the pool's endpointPickerRef.port.number to the Service port of the EPP's ext_proc (9002 in the charts)`,
      ),
    );
  }
  return findings;
}
