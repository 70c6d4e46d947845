import type { WebhookConfig } from '../config.ts';
import { finding, formatCount, type Finding } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { describe, envoyField, envoyFieldKey } from '../json-value.ts';
import { checkClusterFields } from './check-cluster-fields.ts';
import { checkClusterTypes } from './check-cluster-types.ts';
import { checkDuplicateClusters, checkIstiodClusterNames } from './check-duplicate-clusters.ts';
import { checkExtProcFields } from './check-ext-proc-fields.ts';
import { checkFilterConfigs } from './check-filter-config.ts';
import { checkFilterAfterRouter } from './check-filter-placement.ts';
import { checkFilterType } from './check-filter-type.ts';
import { checkHandWrittenClusterIP } from './check-hand-written-cluster-ip.ts';
import { checkRegexes } from './check-regex.ts';
import { checkSidecarContext } from './check-sidecar-context.ts';
import { checkTypeUrl } from './check-type-url.ts';
import { checkIstiodRouteOverride } from './check-istiod-route-override.ts';
import { checkOverrideOnEveryRoute } from './check-override-on-every-route.ts';
import { checkOverrideSendsNothing } from './check-override-sends-nothing.ts';
import { checkOverrideMode, checkProcessingMode, sendsNothing } from './check-processing-mode.ts';
import { checkReplaceOfExtProc, checkStaticAddresses, checkWiring } from './check-wiring.ts';
import { addsCluster, patchLocation, readConfigPatches } from './config-patches.ts';
import { collectExtProcConfigs, findAddedClusters, holdingFilter, lacksTypedConfig, siteReading, type ExtProcSite } from './ext-proc-configs.ts';
import { applyJudgement } from './epp-protocol-rules.ts';
import { findEachPlaceholder } from './find-placeholders.ts';
import { checkMergeType } from './check-merge-type.ts';
import { checkNeverReadConfig } from './check-never-read-config.ts';
import { checkObservabilityMode } from './check-observability-mode.ts';
import { mergedIstiodFilter, mergesIntoIstiodFilter } from './merge-into-istiod-filter.ts';
import { MAX_PLACEHOLDER_TOKENS } from './placeholder-budget.ts';
import { judgeExtProcSites, NO_KNOWN_EPP_SERVICES, type EppServices } from './talks-to-epp.ts';
import { PORT_PLACEHOLDER } from './epp-service-port.ts';
import { enablesDisabledFilter, turnsOn } from './per-route-turns-on.ts';
import { readFieldKey } from './field-reading.ts';
import { EPP_MODE } from './processing-mode.ts';

/**
 * The ext_proc safety rules over an EnvoyFilter as it will be stored (after every mutation): what Envoy and Istio
 * enforce on every ext_proc config, what the EPP speaks only on those judged to talk to an EPP.
 */
export function checkEnvoyFilter(object: unknown, config: WebhookConfig, eppServices: EppServices = NO_KNOWN_EPP_SERVICES): Finding[] {
  const severities = config.severities;
  const { patches, findings } = readConfigPatches(object, severities);

  const [addressLeft, portLeft] = findEachPlaceholder(patches, [config.placeholder, PORT_PLACEHOLDER], MAX_PLACEHOLDER_TOKENS);
  const leftovers = [...addressLeft, ...portLeft];
  if (leftovers.length > 0) {
    const first = leftovers[0];
    const tokens = [...(addressLeft.length > 0 ? [config.placeholder] : []), ...(portLeft.length > 0 ? [PORT_PLACEHOLDER] : [])];
    findings.push(
      finding(
        'EPP106',
        severities,
        { location: patchLocation(first.patchIndex), path: formatPath(first.segments) },
        `${tokens.join(' and ')} still present in ${leftovers.length > MAX_PLACEHOLDER_TOKENS ? `more than ${formatCount(MAX_PLACEHOLDER_TOKENS)}` : leftovers.length} place(s): the mutating webhook did not run (not registered, or skipped by failurePolicy Ignore), and Envoy would get the token as ${tokens.length === 1 && tokens[0] === PORT_PLACEHOLDER ? 'a port' : 'an address'}`,
        'check that the MutatingWebhookConfiguration of epp-webhook is installed and its pods are ready, then apply the manifest again',
      ),
    );
  }

  const { sites, neverRead } = collectExtProcConfigs(patches);
  for (const site of neverRead) findings.push(...checkNeverReadConfig(site, severities));
  const clusters = findAddedClusters(patches);
  const judged = judgeExtProcSites(object, patches, sites, config, eppServices, addressLeft.length > 0);
  findings.push(...judged.findings);
  const judgementOf = new Map(sites.map((site, i) => [site, judged.judgements[i]]));
  const gate = (site: ExtProcSite, siteFindings: Finding[]) => applyJudgement(siteFindings, judgementOf.get(site)!);
  const mergesIntoIstiod = sites.filter((site) => mergesIntoIstiodFilter(object, site));
  const intoIstiodFilter = new Set(mergesIntoIstiod);
  // Envoy gets istiod's filter once every MERGE into it has been applied, in patch order.
  const istiodFilter = mergedIstiodFilter(mergesIntoIstiod);
  for (const site of sites) {
    // istiod converts typed configs field by field; a TypedStruct's value Envoy converts itself; an unrecognized
    // typed_config is for checkFilterType.
    const reading = siteReading(site);
    // A MERGE's filter config: what it leaves out keeps the values of the filter it merges into.
    const partial = site.kind === 'filter' && site.patch.operation === 'MERGE';
    if (site.via !== 'filter-name') {
      findings.push(...checkExtProcFields({ config: site.config, kind: site.kind, segments: site.segments, patchIndex: site.patch.index, reading, partial, severities }));
    }
    findings.push(...checkFilterType(site, severities), ...checkTypeUrl(site, severities), ...checkRegexes(site, severities));
    // A filter with no typed_config at all has no mode to judge: Envoy rejects it (EPP301), and that fix writes one.
    if (site.kind === 'filter' && !lacksTypedConfig(site)) {
      findings.push(
        ...gate(
          site,
          checkProcessingMode({
            config: site.config,
            segments: site.segments,
            patchIndex: site.patch.index,
            partial,
            merged: intoIstiodFilter.has(site) ? { ...istiodFilter, judgesMode: site === mergesIntoIstiod.at(-1) } : undefined,
            site: 'filter',
            reading,
            severities,
          }),
        ),
      );
      findings.push(...gate(site, checkObservabilityMode({ config: site.config, segments: site.segments, patchIndex: site.patch.index, reading, severities })));
      // Not for a MERGE: istiod's own filter sends nothing by design, turned on by istiod's override on each InferencePool route.
      const holding = holdingFilter(site);
      const filterName = holding === undefined ? undefined : envoyField(holding.filter, 'name');
      // Any JSON may stand there: String() of an object whose toString is no function throws.
      const shownName = typeof filterName === 'string' ? filterName : describe(filterName);
      if (!partial && holding !== undefined && envoyField(holding.filter, 'disabled') === true && !enablesDisabledFilter(patches, filterName)) {
        findings.push(...gate(site, [
          finding(
            'EPP206',
            severities,
            { location: patchLocation(site.patch.index), path: formatPath([...holding.segments, envoyFieldKey(holding.filter, 'disabled')]) },
            `ext_proc filter ${shownName} is disabled: true, which turns it off on every route without a per-route config of its own, and no typed_per_filter_config["${shownName}"] in this EnvoyFilter turns it on: the EPP is never consulted`,
            'remove disabled: true, or turn the filter on for the inference routes with an ExtProcPerRoute under its name (an HTTP_ROUTE patch of typed_per_filter_config)',
          ),
        ]));
      } else if (!partial && sendsNothing(site.config, reading) && !sites.some((s) => turnsOn(s, filterName))) {
        findings.push(...gate(site, [
          finding(
            'EPP206',
            severities,
            { location: patchLocation(site.patch.index), path: formatPath(site.segments) },
            `ext_proc sends nothing to the EPP (headers SKIP, bodies NONE) and no ExtProcPerRoute override under its name (${shownName}) in this EnvoyFilter turns it on with a processing_mode: the EPP is never consulted`,
            // FULL_DUPLEX_STREAMED without its trailer mode SEND is a denial (EPP203): the mode is written out whole.
            `set ${readFieldKey(site.config, 'processing_mode', reading)}: {${EPP_MODE}} here, or that processing_mode in ExtProcPerRoute overrides for the inference routes (an HTTP_ROUTE patch of typed_per_filter_config)`,
          ),
        ]));
      }
    } else {
      findings.push(...gate(site, checkOverrideMode(site, reading, severities)));
    }
  }
  const unnamedCluster = patches.some((p) => addsCluster(p) && (p.valueName ?? '') === '');
  // A cluster EPP318 denies is judged on its settings too: renamed as its fix says, they are what Envoy gets.
  findings.push(...checkWiring(sites, clusters, severities, gate, intoIstiodFilter, unnamedCluster));
  findings.push(...checkClusterFields(patches, config.placeholder, severities));
  findings.push(...checkClusterTypes(patches, severities));
  findings.push(...checkDuplicateClusters(patches, severities));
  findings.push(...checkIstiodClusterNames(patches, severities));
  findings.push(...checkStaticAddresses(clusters, config.placeholder, severities));
  findings.push(...checkHandWrittenClusterIP(object, clusters, eppServices, config.placeholder, severities));
  findings.push(...checkReplaceOfExtProc(patches, severities));
  findings.push(...checkFilterAfterRouter(sites, severities));
  findings.push(...checkFilterConfigs(patches, sites, severities));
  findings.push(...checkSidecarContext(object, sites, severities));
  findings.push(...checkMergeType(object, patches, severities));
  for (const taken of checkIstiodRouteOverride(object, sites, severities, eppServices)) findings.push(...gate(taken.site, [taken.finding]));
  for (const taken of checkOverrideOnEveryRoute(object, sites, config, eppServices)) findings.push(...gate(taken.site, [taken.finding]));
  for (const taken of checkOverrideSendsNothing(object, sites, istiodFilter.mode, severities)) findings.push(...gate(taken.site, [taken.finding]));
  return findings;
}
